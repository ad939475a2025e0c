"""Device commands in the emulator: declared by the template, answered by simulated devices or a set answer,
history of the most recent execution, 404/422/504 otherwise."""

import pytest
import requests

from emulator.testing import PREVIEW, STABLE, ApiClient, assert_no_spec_violations, error_of

THERMOSTAT = "dtmi:contoso:Thermostat;1"
CONTROLLER = "dtmi:contoso:TemperatureController;1"
EDGE = "dtmi:fleetops:test:EdgeGateway;1"


@pytest.fixture
def emu(edge_emulator):
    return edge_emulator


@pytest.fixture(params=(STABLE, PREVIEW))
def client(request, emu):
    emu.reset()
    emu.reset_stats()
    api = ApiClient(emu.base_url, request.param)
    for device_id, template, simulated in (("sim", THERMOSTAT, True), ("real", THERMOSTAT, False),
                                           ("tc", CONTROLLER, True), ("gw", EDGE, False)):
        assert api.put("devices/" + device_id, json={"template": template, "simulated": simulated}).status_code == 200
    yield api
    api.close()
    assert_no_spec_violations(emu)


def answer_with(emu, device_id, body):
    return requests.post("%s/__emulator__/devices/%s/commands" % (emu.base_url, device_id), json=body, timeout=10)


def test_simulated_device_answers_from_the_response_schema(client):
    assert client.get("devices/sim/commands/getMaxMinReport").json() == {"value": []}
    run = client.post("devices/sim/commands/getMaxMinReport", json={"request": "2024-05-01T00:00:00Z",
                                                                    "responseTimeout": 10})
    assert run.status_code == 201
    body = run.json()
    assert body["responseCode"] == 200 and body["request"] == "2024-05-01T00:00:00Z" and body["responseTimeout"] == 10
    assert set(body["response"]) == {"maxTemp", "minTemp", "avgTemp"} and body["id"]
    assert client.get("devices/sim/commands/getMaxMinReport").json() == {"value": [body]}
    again = client.post("devices/sim/commands/getMaxMinReport", json={}).json()
    assert client.get("devices/sim/commands/getMaxMinReport").json() == {"value": [again]}  # the most recent only


def test_refusals(client, emu):
    assert "Command 'nope' is not defined" in error_of(client.post("devices/sim/commands/nope", json={}), 404)["message"]
    assert error_of(client.get("devices/sim/commands/nope"), 404)
    assert error_of(client.post("devices/missing/commands/getMaxMinReport", json={}), 404)
    assert "'request' must be an ISO 8601" in error_of(
        client.post("devices/sim/commands/getMaxMinReport", json={"request": "yesterday"}), 422)["message"]
    assert "'request' must be a string" in error_of(
        client.post("devices/sim/commands/getMaxMinReport", json={"request": 5}), 422)["message"]
    assert "'connectionTimeout' must be an integer from 0 to 30" in error_of(
        client.post("devices/sim/commands/getMaxMinReport", json={"connectionTimeout": 31}), 422)["message"]
    emu.reset_stats()  # that body breaks the spec on purpose
    assert "did not connect" in error_of(client.post("devices/real/commands/getMaxMinReport", json={}), 504)["message"]
    assert client.get("devices/real/commands/getMaxMinReport").json() == {"value": []}


def test_set_answers_components_and_modules(client, emu):
    assert answer_with(emu, "real", {"command": "getMaxMinReport", "responseCode": 500,
                                     "response": {"error": "sensor"}}).status_code == 200
    failed = client.post("devices/real/commands/getMaxMinReport", json={}).json()
    assert failed["responseCode"] == 500 and failed["response"] == {"error": "sensor"}
    component = client.post("devices/tc/components/thermostat1/commands/getMaxMinReport", json={})
    assert component.status_code == 201 and component.json()["responseCode"] == 200
    assert client.get("devices/tc/components/thermostat2/commands/getMaxMinReport").json() == {"value": []}
    assert client.post("devices/tc/commands/reboot", json={"request": 5}).status_code == 201
    assert error_of(client.post("devices/tc/commands/reboot", json={"request": "now"}), 422)
    answer_with(emu, "gw", {"module": "sensor", "command": "reset"})
    answer_with(emu, "gw", {"module": "sensor", "component": "config", "command": "calibrate", "response": "done"})
    assert client.post("devices/gw/modules/sensor/commands/reset", json={}).json()["responseCode"] == 200
    calibrated = client.post("devices/gw/modules/sensor/components/config/commands/calibrate", json={"request": 0.5})
    assert calibrated.json()["response"] == "done"
    assert client.get("devices/gw/modules/sensor/components/config/commands/calibrate").json()["value"][0][
        "request"] == 0.5
    assert answer_with(emu, "gw", {"module": "sensor", "command": "nope"}).status_code == 422
    assert answer_with(emu, "gw", {"module": "sensor", "command": "reset", "responseCode": None}).status_code == 200
    assert error_of(client.post("devices/gw/modules/sensor/commands/reset", json={}), 504)
