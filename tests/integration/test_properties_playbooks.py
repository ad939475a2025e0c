"""Device properties and commands end to end: real ansible-playbook runs against the emulator over HTTP.

These tests get their own emulator with an extra template (an IoT Edge gateway whose module has writable
properties, a component and commands: tests/integration/files/edge_templates.json).
"""

from __future__ import annotations

import pytest


pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def emulator():
    """Overrides the session emulator of conftest.py for this module: the same, plus the edge template."""
    from emulator.server import start_emulator
    from emulator.testing import EDGE_TEMPLATES_FILE

    handle = start_emulator(port=0, rate_limit=0, templates_file=EDGE_TEMPLATES_FILE)
    yield handle
    handle.stop()


@pytest.mark.all_cores
def test_device_properties_lifecycle(run_playbook, fresh_emulator):
    result = run_playbook("device_properties.yml")
    assert result.rc == 0, result.output
    assert result.recap()["failed"] == 0
    assert fresh_emulator.stats()["spec_violations"] == []


def test_device_properties_bad_input_fails_cleanly_and_writes_nothing(run_playbook, fresh_emulator):
    result = run_playbook("device_properties_bad_input.yml")
    assert result.rc == 0, result.output
    assert "Traceback" not in result.output
    assert fresh_emulator.stats()["spec_violations"] == []


def test_device_commands(run_playbook, fresh_emulator):
    result = run_playbook("device_command.yml")
    assert result.rc == 0, result.output
    assert result.recap()["failed"] == 0
    assert "Traceback" not in result.output
    assert fresh_emulator.stats()["spec_violations"] == []


def test_demo_fleet_settings_are_acknowledged_and_a_second_run_writes_nothing(run_playbook, fresh_emulator):
    size = {"demo_fleet_size": 20}
    assert run_playbook("../../../demo/fleet.yml", extra_vars=size).rc == 0
    first = run_playbook("../../../demo/properties.yml", extra_vars=size)
    assert first.rc == 0, first.output
    writes = fresh_emulator.stats()["writes"]
    assert writes == 20 + 20  # 20 devices created, then 20 property PATCHes
    second = run_playbook("../../../demo/properties.yml", extra_vars=size)
    assert second.rc == 0, second.output
    assert second.recap()["changed"] == 0
    assert fresh_emulator.stats()["writes"] == writes
    assert fresh_emulator.stats()["spec_violations"] == []
