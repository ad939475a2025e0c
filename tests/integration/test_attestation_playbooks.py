"""device_attestation(_info) end to end: real ansible-playbook runs against the emulator over HTTP, in both
api-versions."""

from __future__ import annotations

import base64
import json

import pytest


pytestmark = pytest.mark.integration
STABLE, PREVIEW = "2022-07-31", "2022-10-31-preview"


def test_attestation_lifecycle(run_playbook, fresh_emulator):
    result = run_playbook("device_attestation.yml", env={"IOTCENTRAL_API_VERSION": STABLE})
    assert result.rc == 0, result.output
    assert result.recap()["failed"] == 0
    assert fresh_emulator.stats()["spec_violations"] == []


def test_bad_input_fails_in_one_line_and_writes_nothing(run_playbook, fresh_emulator):
    result = run_playbook("device_attestation_bad_input.yml")
    assert result.rc == 0, result.output
    assert "Traceback" not in result.output
    assert fresh_emulator.stats()["spec_violations"] == []


@pytest.mark.all_cores
def test_keys_never_reach_the_output_even_at_vvv(run_playbook, fresh_emulator, tmp_path):
    """Also the lifecycle in the other api-version (one playbook run less on a busy machine)."""
    secrets_file = tmp_path / "generated.json"
    result = run_playbook("device_attestation.yml", extra_vars={"secrets_file": str(secrets_file)}, args=["-vvv"],
                          env={"IOTCENTRAL_API_VERSION": PREVIEW})
    assert result.rc == 0, result.output
    assert result.recap()["failed"] == 0
    generated = json.loads(secrets_file.read_text())
    secrets = [generated["primaryKey"], generated["secondaryKey"],
               "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
               base64.b64encode(b"fleetops-test-endorsement-key-" * 10).decode()[:40]]
    for secret in secrets:
        assert secret not in result.output
    assert "PRIVATE KEY" not in result.output
    assert fresh_emulator.stats()["spec_violations"] == []
