"""Device modules end to end: real ansible-playbook runs against the emulator over HTTP."""

from __future__ import annotations

import pytest
import requests


pytestmark = pytest.mark.integration


@pytest.mark.all_cores
def test_device_lifecycle(run_playbook, fresh_emulator):
    result = run_playbook("device.yml")
    assert result.rc == 0, result.output
    assert result.recap()["failed"] == 0
    assert fresh_emulator.stats()["spec_violations"] == []


def test_device_info_and_credentials(run_playbook, fresh_emulator):
    result = run_playbook("device_info.yml")
    assert result.rc == 0, result.output
    assert fresh_emulator.stats()["spec_violations"] == []


@pytest.mark.all_cores
def test_bad_input_fails_cleanly_and_changes_nothing(run_playbook):
    result = run_playbook("bad_input.yml")
    assert result.rc == 0, result.output
    assert "Traceback" not in result.output


@pytest.mark.all_cores
def test_secrets_never_reach_the_output_even_at_vvv(run_playbook, fresh_emulator):
    from emulator.defaults import ADMIN_TOKEN

    result = run_playbook("device_info.yml", args=["-vvv"])
    assert result.rc == 0, result.output
    creds = requests.get(
        fresh_emulator.base_url + "/api/devices/therm-b/credentials?api-version=2022-07-31",
        headers={"Authorization": ADMIN_TOKEN}, timeout=10).json()
    signature = ADMIN_TOKEN.split("sig=")[1].split("&")[0]
    for secret in (signature, creds["symmetricKey"]["primaryKey"], creds["symmetricKey"]["secondaryKey"]):
        assert secret not in result.output


def test_second_run_of_the_demo_playbook_is_idempotent(run_playbook, fresh_emulator):
    first = run_playbook("../../../demo/howto.yml")
    assert first.rc == 0, first.output
    before = fresh_emulator.stats()["writes"]
    second = run_playbook("../../../demo/howto.yml")
    assert second.rc == 0, second.output
    assert second.recap()["changed"] == 0
    assert fresh_emulator.stats()["writes"] == before


def test_hostile_environments_fail_with_one_line_naming_the_option(run_playbook):
    result = run_playbook("hostile_environment.yml")
    assert result.rc == 0, result.output[-5000:]
    assert "Traceback" not in result.output
