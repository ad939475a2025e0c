"""Unit tests of module_utils/properties.py and capabilities.py (comparison, template checks, views), and of
device_fleet's properties against an in-process emulator through the real client."""

from __future__ import annotations

import pytest

from ansible_collections.fleetops.iotcentral.plugins.module_utils.capabilities import template_model, value_problem
from ansible_collections.fleetops.iotcentral.plugins.module_utils.fleet import converge_fleet, plan_device, validate_fleet
from ansible_collections.fleetops.iotcentral.plugins.module_utils.properties import (
    ack_state,
    ensure_properties,
    merge_values,
    property_delta,
    property_view,
    same_value,
    template_problem,
    validate_values,
)
from ansible_collections.fleetops.iotcentral.tests.unit.plugins.module_utils.iotc_emulator_fixtures import (  # noqa: F401 pylint: disable=unused-import
    CONTROLLER,
    EDGE,
    TEMPLATES,
    THERMOSTAT,
    emulator,
    emulator_client,
)


@pytest.mark.parametrize("left, right, same", [
    (21, 21.0, True), (True, 1, False), (1, True, False), (False, False, True), ("a", "a", True),
    ({"a": 1}, {"a": 1.0}, True), ({"a": 1}, {"a": 1, "b": 2}, False), ([1, 2], [1, 2], True), ([1], 1, False),
    (None, None, True), ({"a": True}, {"a": 1}, False),
])
def test_same_value(left, right, same):
    assert same_value(left, right) is same


def test_delta_prefers_the_pending_desired_value_over_the_reported_one():
    body = {"targetTemperature": 18, "$metadata": {"targetTemperature": {"desiredValue": 21, "desiredVersion": 2}}}
    assert property_delta({"targetTemperature": 21}, body) == {}
    assert property_delta({"targetTemperature": 18}, body) == {"targetTemperature": 18}
    # No desired value shown: the reported value counts.
    assert property_delta({"serial": "x"}, {"serial": "x", "$metadata": {"serial": {"lastUpdateTime": "t"}}}) == {}
    assert property_delta({"new": 1}, {}) == {"new": 1}
    assert property_delta({"new": 1}, None) == {"new": 1}


def test_delta_of_components_is_per_component():
    body = {"thermostat1": {"$metadata": {"targetTemperature": {"desiredValue": 20}}}}
    wanted = {"thermostat1": {"targetTemperature": 20}, "thermostat2": {"targetTemperature": 23}}
    assert property_delta(wanted, body) == {"thermostat2": {"targetTemperature": 23}}
    wanted["thermostat1"]["targetTemperature"] = 19
    assert property_delta(wanted, body)["thermostat1"] == {"targetTemperature": 19}
    # An object-valued property (no $metadata of its own) is compared whole.
    assert property_delta({"schedule": {"hours": 8}}, {"schedule": {"hours": 8, "start": "x"}}) == {
        "schedule": {"hours": 8}}


@pytest.mark.parametrize("values, message", [
    ({}, "must be a non-empty mapping"),
    ([1], "must be a non-empty mapping"),
    ({"a": None}, "cannot set a to null"),
    ({"$metadata": {}}, "has '$metadata', which is not a property name"),
])
def test_validate_values(values, message):
    with pytest.raises(ValueError, match=message.replace("$", r"\$").replace("(", r"\(")):
        validate_values(values)


def test_merge_values_per_name_and_per_component():
    merged = merge_values({"a": 1, "c1": {"x": 1, "y": 2}}, {"b": 2, "c1": {"y": 3}})
    assert merged == {"a": 1, "b": 2, "c1": {"x": 1, "y": 3}}
    assert merge_values(None, {"a": 1}) == {"a": 1}


def test_template_problems_name_the_property():
    thermostat = template_model(TEMPLATES[THERMOSTAT])
    assert template_problem(thermostat, {"targetTemperature": 21}) is None
    assert "properties.fanSpeed: device template 'dtmi:contoso:Thermostat;1' has no such property; its writable " \
           "properties: targetTemperature" == template_problem(thermostat, {"fanSpeed": 1})
    assert "read-only" in template_problem(thermostat, {"maxTempSinceLastReboot": 1})
    assert template_problem(thermostat, {"targetTemperature": "hot"}) == \
        "properties.targetTemperature must be a number (schema double), got str 'hot'"
    # The controller's components are only DTMI references: nothing is refused for them locally.
    controller = template_model(TEMPLATES[CONTROLLER])
    assert template_problem(controller, {"thermostat1": {"anything": "x"}}) is None
    assert "has no such property" in template_problem(controller, {"nope": 1})
    module = template_model(EDGE, module="sensor")
    assert template_problem(module, {"SendInterval": 5, "config": {"mode": "eco"}}) is None
    assert "properties.config.mode must be one of 'eco', 'comfort'" in template_problem(module, {"config": {"mode": "x"}})
    with pytest.raises(ValueError, match="module 'nope' is not defined by device template"):
        template_model(EDGE, module="nope")
    assert template_model(EDGE, module="sensor", component="config").writable().keys() == {"mode", "schedule"}


@pytest.mark.parametrize("schema, value, problem", [
    ("integer", 2.5, "x must be an integer"), ("long", True, "x must be an integer"), ("boolean", "yes", "boolean"),
    ("dateTime", "soon", "ISO 8601"), ("dateTime", "2024-05-01T10:00:00Z", None),
    ({"@type": "Map", "mapValue": {"name": "v", "schema": "integer"}}, {"a": "1"}, "x.a must be an integer"),
    ({"@type": "Array", "elementSchema": "string"}, ["a", 1], "x[1] must be a string"),
    ({"@type": "Object", "fields": [{"name": "a", "schema": "double"}]}, [], "x must be an object"),
    ("dtmi:unknown:Schema;1", object(), None),
])
def test_value_problems(schema, value, problem):
    found = value_problem(schema, value, "x")
    assert (found is None) if problem is None else (problem in found)


def test_view_and_ack_states():
    body = {
        "targetTemperature": 21,
        "maxTemp": 30,
        "$metadata": {
            "targetTemperature": {"desiredValue": 21, "desiredVersion": 2, "ackVersion": 2, "ackCode": 200},
            "mode": {"desiredValue": "eco", "desiredVersion": 3, "ackVersion": 3, "ackCode": 400},
            "maxTemp": {"lastUpdateTime": "t"},
        },
        "thermostat1": {"$metadata": {"targetTemperature": {"desiredValue": 19, "desiredVersion": 1}}},
    }
    view = property_view(body)
    assert view["reported"] == {"targetTemperature": 21, "maxTemp": 30}
    assert view["writable"]["targetTemperature"]["state"] == "in_sync"
    assert view["writable"]["targetTemperature"]["reported_value"] == 21
    assert view["writable"]["mode"]["state"] == "rejected"
    assert "maxTemp" not in view["writable"]
    assert view["components"]["thermostat1"]["writable"]["targetTemperature"]["state"] == "pending"
    assert ack_state({"desiredVersion": 2, "ackVersion": 1, "ackCode": 200}) == "pending"


def test_fleet_items_merge_default_properties():
    specs = validate_fleet([{"id": "a"}, {"id": "b", "properties": {"targetTemperature": 16}}, {"id": "c"}],
                           defaults={"properties": {"targetTemperature": 21, "mode": "eco"}})
    assert specs[0]["properties"] == {"targetTemperature": 21, "mode": "eco"}
    assert specs[1]["properties"] == {"targetTemperature": 16, "mode": "eco"}
    with pytest.raises(ValueError, match=r"devices\[0\] \(id 'a'\): properties must be a non-empty mapping"):
        validate_fleet([{"id": "a", "properties": "warm"}])


def test_plan_device_counts_a_property_change_as_an_update():
    spec = validate_fleet([{"id": "a", "properties": {"targetTemperature": 21}}])[0]
    device = {"id": "a", "etag": "e"}
    change = plan_device(spec, device, {"$metadata": {"targetTemperature": {"desiredValue": 20}}})
    assert change.action == "updated" and change.delta == {} and change.properties == {"targetTemperature": 21}
    assert change.properties_before == {"targetTemperature": 20}
    assert plan_device(spec, device, {"$metadata": {"targetTemperature": {"desiredValue": 21}}}).action == "unchanged"
    assert plan_device(spec, None).properties == {"targetTemperature": 21}


# ------------------------------------------------------------------------------------ against the emulator
@pytest.fixture
def client(emulator):
    yield from emulator_client(emulator)


def test_ensure_properties_reads_the_template_only_to_write(client, emulator):
    client.put("/devices/t1", {"template": THERMOSTAT})
    params = {"device_id": "t1", "properties": {"targetTemperature": 21}}
    emulator.reset_stats()
    assert ensure_properties(client, params, check_mode=True)["changed"]
    assert emulator.stats()["writes"] == 0
    result = ensure_properties(client, params)
    assert result["updated"] == {"targetTemperature": 21}
    stats = emulator.stats()
    assert stats["writes"] == 1
    emulator.reset_stats()
    assert not ensure_properties(client, params)["changed"]
    assert emulator.stats()["requests"] == 1 and emulator.stats()["writes"] == 0  # one GET, nothing else
    with pytest.raises(ValueError, match="device t1: properties.targetTemperature must be a number"):
        ensure_properties(client, {"device_id": "t1", "properties": {"targetTemperature": "x"}})


def test_fleet_properties_converge_and_a_rerun_reads_but_writes_nothing(client, emulator):
    emulator.emulator.seed_devices(3, prefix="old", template=THERMOSTAT)
    devices = [{"id": "old-%05d" % n} for n in (1, 2, 3)] + [{"id": "new-1"}, {"id": "plain", "template": None}]
    devices[1]["properties"] = {"targetTemperature": 16}
    devices[4] = {"id": "plain"}
    params = {"devices": devices[:4], "defaults": {"template": THERMOSTAT, "properties": {"targetTemperature": 21}}}
    planned = converge_fleet(client, params, check_mode=True, diff_mode=True)
    assert planned["counts"]["updated"] == 3 and planned["counts"]["created"] == 1
    assert "properties={\"targetTemperature\": 16}" in planned["diff"]["after"]
    assert emulator.stats()["writes"] == 0
    # 1 listing, 3 property reads (not the new device) and one template read, shared by the property check and,
    # for the new device, the template check.
    assert planned["requests"]["reads"] == 5
    done = converge_fleet(client, params)
    assert done["counts"] == {"created": 1, "updated": 3, "deleted": 0, "unchanged": 0, "failed": 0}
    assert done["requests"]["writes"] == 5  # 1 PUT + 4 PATCHes of properties
    body = client.get("/devices/new-1/properties")
    assert body["$metadata"]["targetTemperature"]["desiredValue"] == 21
    assert client.get("/devices/old-00002/properties")["$metadata"]["targetTemperature"]["desiredValue"] == 16
    emulator.reset_stats()
    again = converge_fleet(client, params)
    assert again["counts"]["unchanged"] == 4 and not again["changed"]
    assert again["requests"] == {"reads": 5, "writes": 0, "retries": 0, "throttled": 0}
    assert emulator.stats()["writes"] == 0


def test_fleet_refuses_wrong_properties_before_any_write(client, emulator):
    emulator.emulator.seed_devices(2, prefix="old", template=THERMOSTAT)
    params = {"devices": [{"id": "old-00001"}, {"id": "old-00002", "properties": {"fanSpeed": 1}}, {"id": "new-1"}],
              "defaults": {"template": THERMOSTAT, "properties": {"targetTemperature": "warm"}}}
    with pytest.raises(ValueError) as raised:
        converge_fleet(client, params)
    message = str(raised.value)
    assert message.startswith("device old-00001: properties.targetTemperature must be a number")
    assert "(and 2 more devices with invalid properties); nothing was changed" in message
    assert emulator.stats()["writes"] == 0
