"""Device templates and organizations end to end: real ansible-playbook runs against the emulator over HTTP."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("playbook", ["device_template.yml", "organization.yml"])
def test_lifecycle(run_playbook, fresh_emulator, playbook):
    result = run_playbook(playbook)
    assert result.rc == 0, result.output
    assert result.recap()["failed"] == 0
    assert "Traceback" not in result.output
    assert fresh_emulator.stats()["spec_violations"] == []


def test_demo_publishes_the_thermostat_template_from_its_dtdl_file_and_a_second_run_writes_nothing(
        run_playbook, fresh_emulator):
    first = run_playbook("../../../demo/templates.yml")
    assert first.rc == 0, first.output
    assert first.recap()["changed"] == 1
    assert "created: Demo thermostat defines" in first.output and "targetTemperature" in first.output
    writes = fresh_emulator.stats()["writes"]
    assert writes == 1
    second = run_playbook("../../../demo/templates.yml")
    assert second.rc == 0, second.output
    assert second.recap()["changed"] == 0
    assert fresh_emulator.stats()["writes"] == writes
    assert fresh_emulator.stats()["spec_violations"] == []
