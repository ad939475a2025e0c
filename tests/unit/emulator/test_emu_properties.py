"""Device properties in the emulator: writable properties from the template, 422s naming the property,
desired/acknowledged state, components and modules, the test-only device endpoints and write_properties()."""

import pytest
import requests

from emulator.errors import ApiError
from emulator.resources.properties import write_properties
from emulator.testing import PREVIEW, STABLE, ApiClient, assert_no_spec_violations, error_of

THERMOSTAT = "dtmi:contoso:Thermostat;1"
CONTROLLER = "dtmi:contoso:TemperatureController;1"
EDGE = "dtmi:fleetops:test:EdgeGateway;1"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def emu(edge_emulator):
    return edge_emulator


@pytest.fixture(params=(STABLE, PREVIEW))
def client(request, emu):
    emu.reset()
    emu.reset_stats()
    api = ApiClient(emu.base_url, request.param)
    for device_id, template in (("t1", THERMOSTAT), ("tc1", CONTROLLER), ("gw1", EDGE), ("bare", None)):
        body = {"template": template} if template else {}
        assert api.put("devices/" + device_id, json=body).status_code == 200
    yield api
    api.close()
    assert_no_spec_violations(emu)


def device_side(emu, device_id, body):
    response = requests.post("%s/__emulator__/devices/%s/properties" % (emu.base_url, device_id), json=body, timeout=10)
    return response


def test_write_then_read_pending_then_acknowledged(client, emu):
    assert client.get("devices/t1/properties").json() == {}
    written = client.patch("devices/t1/properties", json={"targetTemperature": 21.5})
    assert written.status_code == 202
    assert written.json() == {"$metadata": {"targetTemperature": {"desiredValue": 21.5}}}
    pending = client.get("devices/t1/properties").json()
    meta = pending["$metadata"]["targetTemperature"]
    assert "targetTemperature" not in pending  # the device has not reported it yet
    assert meta["desiredValue"] == 21.5 and meta["desiredVersion"] == 1 and "ackVersion" not in meta
    assert meta["lastUpdateTime"].endswith("Z")
    answer = device_side(emu, "t1", {"acknowledge": True, "reported": {"maxTempSinceLastReboot": 30.5}})
    assert answer.status_code == 200
    synced = client.get("devices/t1/properties").json()
    assert synced["targetTemperature"] == 21.5 and synced["maxTempSinceLastReboot"] == 30.5
    assert synced["$metadata"]["targetTemperature"]["ackVersion"] == 1
    assert synced["$metadata"]["targetTemperature"]["ackCode"] == 200
    # A second write bumps the desired version; the reported value stays until the device takes it.
    client.patch("devices/t1/properties", data='{"targetTemperature": 19}', headers=MERGE)
    again = client.get("devices/t1/properties").json()
    assert again["targetTemperature"] == 21.5
    assert again["$metadata"]["targetTemperature"]["desiredVersion"] == 2
    assert again["$metadata"]["targetTemperature"]["ackVersion"] == 1


def test_refusals_name_the_property_and_write_nothing(client, emu):
    cases = [
        ({"targetTemperature": "warm"}, "Property 'targetTemperature' must be a number"),
        ({"targetTemperature": True}, "must be a number"),
        ({"targetTemperature": None}, "cannot be set to null"),
        ({"nope": 1}, "Unknown property 'nope'"),
        ({"maxTempSinceLastReboot": 3}, "'maxTempSinceLastReboot' is not writable"),
        # the valid first value is not applied either
        ({"targetTemperature": 20, "colour": "red"}, "Unknown property 'colour'"),
    ]
    for body, message in cases:
        assert message in error_of(client.patch("devices/t1/properties", json=body), 422)["message"]
    assert client.get("devices/t1/properties").json() == {}
    assert "no writable property" in error_of(client.patch("devices/bare/properties", json={"x": 1}), 422)["message"]
    assert error_of(client.patch("devices/t1/properties", json=[1]), 422)
    emu.reset_stats()  # that body breaks the spec on purpose
    assert error_of(client.patch("devices/missing/properties", json={}), 404)
    assert error_of(client.get("devices/missing/properties"), 404)
    assert error_of(client.get("devices/not_valid/properties"), 400)
    assert client.get("devices/t1/properties").json() == {}


def test_components_directly_and_nested(client, emu):
    client.patch("devices/tc1/components/thermostat1/properties", json={"targetTemperature": 22})
    nested = client.patch("devices/tc1/properties", json={"thermostat2": {"targetTemperature": 23}})
    assert nested.json() == {"thermostat2": {"$metadata": {"targetTemperature": {"desiredValue": 23}}}}
    root = client.get("devices/tc1/properties").json()
    assert root["thermostat1"]["$metadata"]["targetTemperature"]["desiredValue"] == 22
    assert root["thermostat2"]["$metadata"]["targetTemperature"]["desiredVersion"] == 2
    one = client.get("devices/tc1/components/thermostat2/properties").json()
    assert one == root["thermostat2"]
    message = error_of(client.patch("devices/tc1/properties", json={"thermostat1": {"bad": 1}}), 422)["message"]
    assert "'thermostat1.bad'" in message
    assert "Component 'nope'" in error_of(client.get("devices/tc1/components/nope/properties"), 404)["message"]
    assert error_of(client.patch("devices/tc1/properties", json={"serialNumber": "x"}), 422)
    device_side(emu, "tc1", {"component": "thermostat1", "acknowledge": True})
    acked = client.get("devices/tc1/properties").json()
    assert acked["thermostat1"]["targetTemperature"] == 22 and "targetTemperature" not in acked["thermostat2"]


def test_modules_and_module_components(client, emu):
    assert client.patch("devices/gw1/modules/sensor/properties", json={"SendInterval": 5, "SendData": False}).json() \
        == {"$metadata": {"SendInterval": {"desiredValue": 5}, "SendData": {"desiredValue": False}}}
    assert "must be an integer" in error_of(
        client.patch("devices/gw1/modules/sensor/properties", json={"SendInterval": 2.5}), 422)["message"]
    path = "devices/gw1/modules/sensor/components/config/properties"
    assert client.patch(path, json={"mode": "eco", "schedule": {"start": "06:00:00", "hours": 8}}).status_code == 202
    assert "one of 'eco', 'comfort'" in error_of(client.patch(path, json={"mode": "turbo"}), 422)["message"]
    assert "no field 'days'" in error_of(client.patch(path, json={"schedule": {"days": 1}}), 422)["message"]
    assert "'config.schedule.hours' must be an integer" in error_of(
        client.patch(path, json={"schedule": {"hours": "8"}}), 422)["message"]
    module = client.get("devices/gw1/modules/sensor/properties").json()
    assert module["$metadata"]["SendInterval"]["desiredVersion"] == 1
    assert module["config"]["$metadata"]["mode"]["desiredVersion"] == 2
    # Module twins are separate from the device's: the root shows neither, and its own version starts at 1.
    assert client.get("devices/gw1/properties").json() == {}
    client.patch("devices/gw1/properties", json={"location": "dock"})
    assert client.get("devices/gw1/properties").json()["$metadata"]["location"]["desiredVersion"] == 1
    assert error_of(client.get("devices/gw1/modules/other/properties"), 404)
    assert error_of(client.get("devices/t1/modules/sensor/properties"), 404)
    device_side(emu, "gw1", {"module": "sensor", "acknowledge": ["SendInterval"]})
    module = client.get("devices/gw1/modules/sensor/properties").json()
    assert module["SendInterval"] == 5 and "SendData" not in module and "mode" not in module["config"]
    client.put("devices/gw1/modules/sensor/properties", json={"SendData": True})
    assert client.get("devices/gw1/modules/sensor/properties").json()["$metadata"]["SendData"]["desiredValue"] is True


def test_device_side_endpoint(client, emu):
    client.patch("devices/t1/properties", json={"targetTemperature": 30})
    failed = device_side(emu, "t1", {"acknowledge": True, "ackCode": 500, "ackDescription": "out of range"})
    meta = failed.json()["$metadata"]["targetTemperature"]
    assert meta["ackCode"] == 500 and meta["ackDescription"] == "out of range" and meta["ackVersion"] == 1
    assert "targetTemperature" not in failed.json()  # a failed acknowledgement does not take the value
    assert device_side(emu, "t1", {"reported": {"nope": 1}}).status_code == 422
    assert device_side(emu, "t1", {"reported": {"maxTempSinceLastReboot": "hot"}}).status_code == 422
    assert device_side(emu, "t1", {"acknowledge": "yes"}).status_code == 422
    assert device_side(emu, "t1", {"ackCode": "200"}).status_code == 422
    assert device_side(emu, "missing", {}).status_code == 404
    client.patch("devices/tc1/properties", json={"thermostat1": {"targetTemperature": 1}})
    client.patch("devices/gw1/modules/sensor/properties", json={"SendData": True})
    bulk = requests.post(emu.base_url + "/__emulator__/properties/acknowledge", json={"devices": ["tc1", "gw1"]},
                         timeout=10)
    assert bulk.json() == {"acknowledged": 2}
    assert requests.post(emu.base_url + "/__emulator__/properties/acknowledge", timeout=10).json() == {
        "acknowledged": 0}


def test_properties_go_with_the_device(client, emu):
    client.patch("devices/t1/properties", json={"targetTemperature": 30})
    assert client.delete("devices/t1").status_code == 204
    client.put("devices/t1", json={"template": THERMOSTAT})
    assert client.get("devices/t1/properties").json() == {}


def test_write_properties_is_the_patch_without_http(emu):
    emu.reset()
    emu.emulator.seed_devices(1, prefix="w", template=CONTROLLER)
    assert write_properties(emu.emulator, "w-00001", {"targetTemperature": 20}, component="thermostat1") == {
        "$metadata": {"targetTemperature": {"desiredValue": 20}}}
    with pytest.raises(ApiError) as raised:
        write_properties(emu.emulator, "w-00001", {"targetTemperature": "x"}, component="thermostat1")
    assert raised.value.status == 422 and "'thermostat1.targetTemperature'" in raised.value.message
    with pytest.raises(ApiError) as raised:
        write_properties(emu.emulator, "nobody", {"targetTemperature": 1})
    assert raised.value.status == 404
    stored = ApiClient(emu.base_url).get("devices/w-00001/components/thermostat1/properties").json()
    assert stored["$metadata"]["targetTemperature"]["desiredValue"] == 20
