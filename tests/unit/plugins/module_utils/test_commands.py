"""Unit tests of module_utils/commands.py: paths, timeouts, template checks; run and history against an in-process
emulator through the real client."""

from __future__ import annotations

import pytest

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralError
from ansible_collections.fleetops.iotcentral.plugins.module_utils.commands import (
    check_timeouts,
    command_history,
    command_path,
    command_problem,
    read_timeout,
    run_command,
)
from ansible_collections.fleetops.iotcentral.tests.unit.plugins.module_utils.iotc_emulator_fixtures import (  # noqa: F401 pylint: disable=unused-import
    EDGE,
    TEMPLATES,
    THERMOSTAT,
    emulator,
    emulator_client,
)


def test_paths():
    assert command_path("d1", "reboot") == "/devices/d1/commands/reboot"
    assert command_path("gw", "calibrate", component="config", module="sensor") == \
        "/devices/gw/modules/sensor/components/config/commands/calibrate"


def test_timeouts():
    assert read_timeout({"timeout": 30.0}) == 40.0  # the service's default response timeout (30) + margin
    assert read_timeout({"timeout": 100.0, "connection_timeout": 5, "response_timeout": 10}) == 100.0
    assert read_timeout({"timeout": 30.0, "connection_timeout": 30, "response_timeout": 30}) == 70.0
    check_timeouts({"connection_timeout": 0, "response_timeout": 5})
    with pytest.raises(ValueError, match="response_timeout must be from 5 to 30 seconds"):
        check_timeouts({"response_timeout": 4})
    with pytest.raises(ValueError, match="connection_timeout must be from 0 to 30 seconds"):
        check_timeouts({"connection_timeout": 31})


def test_template_checks():
    thermostat = TEMPLATES[THERMOSTAT]
    assert command_problem(thermostat, "t", "getMaxMinReport", None, None, "2024-05-01T00:00:00Z", True) is None
    assert command_problem(thermostat, "t", "nope", None, None, None, False) == \
        "device t: command 'nope' is not defined by device template 'dtmi:contoso:Thermostat;1'; its commands: " \
        "getMaxMinReport"
    assert "request must be a string" in command_problem(thermostat, "t", "getMaxMinReport", None, None, 5, True)
    assert command_problem(None, "t", "anything", None, None, None, False) is None
    assert command_problem(EDGE, "gw", "calibrate", "config", "sensor", 0.5, True) is None
    assert "module 'other' is not defined" in command_problem(EDGE, "gw", "reset", None, "other", None, False)
    # Components given only by a DTMI reference: the service judges.
    assert command_problem(TEMPLATES["dtmi:contoso:TemperatureController;1"], "tc", "x", "thermostat1", None, 1,
                           True) is None


@pytest.fixture
def client(emulator):
    """A client of the emulator that has a simulated thermostat (it answers commands) and an offline one."""
    def thermostats(api):
        api.put("/devices/sim", {"template": THERMOSTAT, "simulated": True})
        api.put("/devices/offline", {"template": THERMOSTAT})

    yield from emulator_client(emulator, seed=thermostats)


def test_run_check_mode_and_history(client, emulator):
    params = {"device_id": "sim", "command": "getMaxMinReport", "request": "2024-05-01T00:00:00Z"}
    writes = emulator.stats()["writes"]
    skipped = run_command(client, params, check_mode=True)
    assert skipped["skipped"] and not skipped["changed"] and "Check mode" in skipped["msg"]
    assert emulator.stats()["writes"] == writes
    done = run_command(client, dict(params, response_timeout=10))
    assert done["changed"] and done["response_code"] == 200 and "failed" not in done
    assert done["execution"]["responseTimeout"] == 10
    assert command_history(client, params)["history"] == [done["execution"]]


def test_an_offline_device_and_a_refusal(client, emulator):
    with pytest.raises(IoTCentralError) as raised:
        run_command(client, {"device_id": "offline", "command": "getMaxMinReport"})
    assert raised.value.status == 504 and "may or may not have run" in str(raised.value)
    writes = emulator.stats()["writes"]
    with pytest.raises(ValueError, match="the command was not sent"):
        run_command(client, {"device_id": "sim", "command": "selfDestruct"})
    assert emulator.stats()["writes"] == writes
