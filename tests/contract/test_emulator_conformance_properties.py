"""Contract tests for device properties and commands (root, components, modules, module components).

Same approach as test_emulator_conformance.py (whose helpers are reused): every response is validated by an
independent jsonschema pass over the spec's definitions, and after every test the emulator's own
``spec_violations`` must be empty.
"""

import json
import os
import sys

import pytest
import requests

from emulator.server import start_emulator
from emulator.testing import EDGE_TEMPLATES_FILE, PREVIEW, api_url

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# pylint: disable=wrong-import-position
from test_emulator_conformance import (ADMIN, PROPERTIES_PREFIXES, READER, SHARED, VERSIONS, Caller,  # noqa: E402
                                       deliberately_invalid_request, implemented_operations)

THERMOSTAT = "dtmi:contoso:Thermostat;1"
CONTROLLER = "dtmi:contoso:TemperatureController;1"
EDGE = "dtmi:fleetops:test:EdgeGateway;1"
MERGE = dict(ADMIN, **{"Content-Type": "application/merge-patch+json"})
SCOPES = {
    "": ("t1", {"targetTemperature": 21.5}),
    "/components/thermostat1": ("tc1", {"targetTemperature": 20}),
    "/modules/sensor": ("gw1", {"SendInterval": 10}),
    "/modules/sensor/components/config": ("gw1", {"mode": "comfort"}),
}


@pytest.fixture(scope="module")
def emu():
    """Overrides conftest.py's emulator: the same, plus a template with an IoT Edge module."""
    handle = start_emulator(port=0, rate_limit=0, templates_file=EDGE_TEMPLATES_FILE)
    yield handle
    handle.stop()


@pytest.fixture(params=VERSIONS)
def call(request, emu):
    caller = Caller(emu, request.param)
    for device_id, template in (("t1", THERMOSTAT), ("tc1", CONTROLLER), ("gw1", EDGE)):
        caller("PUT", "devices/" + device_id, 200, json={"template": template, "simulated": True})
    yield caller
    caller.session.close()


def test_every_property_operation_in_both_versions(call, emu):
    for scope, (device_id, values) in SCOPES.items():
        path = "devices/%s%s/properties" % (device_id, scope)
        assert call("GET", path, 200).json() == {} or scope.startswith("/modules")
        answer = call("PATCH", path, 202, json=values).json()
        assert answer == {"$metadata": {name: {"desiredValue": value} for name, value in values.items()}}
        call("PATCH", path, 202, data=json.dumps(values), headers=MERGE)
        call("PUT", path, 202, json=values)
        got = call("GET", path, 200).json()
        for name, value in values.items():
            assert got["$metadata"][name]["desiredValue"] == value
        if call.version == PREVIEW and "modules" not in scope:
            call("GET", path, 200, params={"unmodeled": "true"})
    requests.post(emu.base_url + "/__emulator__/properties/acknowledge", timeout=10).raise_for_status()
    synced = call("GET", "devices/tc1/properties", 200).json()
    assert synced["thermostat1"]["targetTemperature"] == 20
    assert synced["thermostat1"]["$metadata"]["targetTemperature"]["ackVersion"] == 3
    exercised = {(method, template) for method, template, status in call.covered if 200 <= status < 300}
    ours = {op for op in implemented_operations(emu, call.version)
            if op[1].startswith(PROPERTIES_PREFIXES) and op[1].endswith("/properties")}
    assert len(ours) == 12 and ours <= exercised


def test_property_errors(call, emu):
    call("PATCH", "devices/t1/properties", 422, json={"targetTemperature": "hot"})
    call("PATCH", "devices/t1/properties", 422, json={"unknown": 1})
    call("PUT", "devices/t1/properties", 422, json={"maxTempSinceLastReboot": 1})
    call("PATCH", "devices/gw1/modules/sensor/components/config/properties", 422, json={"mode": "turbo"})
    call("GET", "devices/missing/properties", 404)
    call("PATCH", "devices/missing/components/thermostat1/properties", 404, json={})
    call("GET", "devices/tc1/components/nope/properties", 404)
    call("GET", "devices/gw1/modules/nope/properties", 404)
    call("GET", "devices/gw1/modules/sensor/components/nope/properties", 404)
    call("PATCH", "devices/t1/properties", 403, json={"targetTemperature": 1}, headers=READER)
    call("GET", "devices/t1/properties", 200, headers=READER)
    with deliberately_invalid_request(emu):
        call("PATCH", "devices/t1/properties", 422, json=[])
    with deliberately_invalid_request(emu):
        call("PATCH", "devices/t1/properties", 415, data=b"{}", headers=dict(ADMIN, **{"Content-Type": "text/plain"}))


@pytest.mark.parametrize("version", VERSIONS)
def test_spec_property_examples(emu, version):
    """The spec's property examples: a reading shaped like devices_properties_get, a write answered like
    devices_properties_update (``$metadata.<name>.desiredValue`` per written value)."""
    with open(os.path.join(SHARED, version, "examples", "devices_properties_update.json"), encoding="utf-8") as handle:
        example = json.load(handle)
    expected = example["responses"]["202"]["body"]["settings"]
    requests.put(api_url(emu.base_url, "devices/tc9", version), headers=ADMIN, json={"template": CONTROLLER},
                 timeout=10).raise_for_status()
    body = {"thermostat1": {"targetTemperature": 25}}
    answer = requests.patch(api_url(emu.base_url, "devices/tc9/properties", version), headers=ADMIN, json=body,
                            timeout=10)
    assert answer.status_code == 202
    assert set(answer.json()["thermostat1"]) == set(expected) == {"$metadata"}
    with open(os.path.join(SHARED, version, "examples", "devices_properties_get.json"), encoding="utf-8") as handle:
        read_example = json.load(handle)
    desired_fields = set(read_example["responses"]["200"]["body"]["settings"]["$metadata"]["fanSpeed"])
    got = requests.get(api_url(emu.base_url, "devices/tc9/properties", version), headers=ADMIN, timeout=10).json()
    assert set(got["thermostat1"]["$metadata"]["targetTemperature"]) == desired_fields


COMMAND_SCOPES = {
    "": ("t1", "getMaxMinReport", "2024-05-01T00:00:00Z"),
    "/components/thermostat1": ("tc1", "getMaxMinReport", None),
    "/modules/sensor": ("gw1", "reset", None),
    "/modules/sensor/components/config": ("gw1", "calibrate", 0.5),
}


def test_every_command_operation_in_both_versions(call, emu):
    for scope, (device_id, command, request) in COMMAND_SCOPES.items():
        path = "devices/%s%s/commands/%s" % (device_id, scope, command)
        assert call("GET", path, 200).json() == {"value": []}
        body = {"connectionTimeout": 0, "responseTimeout": 30}
        if request is not None:
            body["request"] = request
        run = call("POST", path, 201, json=body).json()
        assert run["responseCode"] == 200 and run["id"]
        assert call("GET", path, 200).json() == {"value": [run]}
    exercised = {(method, template) for method, template, status in call.covered if 200 <= status < 300}
    ours = {op for op in implemented_operations(emu, call.version)
            if op[1].startswith(PROPERTIES_PREFIXES) and "/commands/" in op[1]}
    assert len(ours) == 8 and ours <= exercised


def test_command_errors(call, emu):
    call("PUT", "devices/offline", 200, json={"template": THERMOSTAT})
    call("POST", "devices/t1/commands/nope", 404, json={})
    call("GET", "devices/t1/commands/nope", 404)
    call("POST", "devices/missing/commands/getMaxMinReport", 404, json={})
    call("POST", "devices/t1/commands/getMaxMinReport", 422, json={"request": 42})
    call("POST", "devices/offline/commands/getMaxMinReport", 504, json={})
    call("POST", "devices/t1/commands/getMaxMinReport", 403, json={}, headers=READER)
    with deliberately_invalid_request(emu):
        call("POST", "devices/t1/commands/getMaxMinReport", 422, json={"responseTimeout": 1})
