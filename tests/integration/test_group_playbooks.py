"""Device groups, enrollment groups, X.509 certificates and deployment manifests end to end:
real ansible-playbook runs against the emulator over HTTP."""

from __future__ import annotations

import pytest
import requests


pytestmark = pytest.mark.integration


@pytest.mark.all_cores
def test_device_group_lifecycle(run_playbook, fresh_emulator):
    result = run_playbook("device_group.yml")
    assert result.rc == 0, result.output
    assert result.recap()["failed"] == 0
    assert fresh_emulator.stats()["spec_violations"] == []


def test_enrollment_group_lifecycle(run_playbook, fresh_emulator):
    result = run_playbook("enrollment_group.yml")
    assert result.rc == 0, result.output
    assert result.recap()["failed"] == 0
    assert fresh_emulator.stats()["spec_violations"] == []


def test_x509_walkthrough(run_playbook, fresh_emulator):
    result = run_playbook("x509_certificate.yml")
    assert result.rc == 0, result.output
    assert result.recap()["failed"] == 0
    assert fresh_emulator.stats()["spec_violations"] == []


def test_deployment_manifests_and_edge_devices(run_playbook, fresh_emulator):
    result = run_playbook("deployment_manifest.yml")
    assert result.rc == 0, result.output
    assert result.recap()["failed"] == 0
    assert fresh_emulator.stats()["spec_violations"] == []


def test_bad_input_fails_cleanly_and_changes_nothing(run_playbook, fresh_emulator):
    result = run_playbook("groups_bad_input.yml")
    assert result.rc == 0, result.output
    assert "Traceback" not in result.output
    assert fresh_emulator.stats()["spec_violations"] == []


@pytest.mark.all_cores
def test_secrets_never_reach_the_output_even_at_vvv(run_playbook, fresh_emulator, tmp_path):
    from emulator.defaults import ADMIN_TOKEN
    from ansible_collections.fleetops.iotcentral.plugins.filter.device_key import device_key

    groups = run_playbook("enrollment_group.yml", extra_vars={"keep_groups": True}, args=["-vvv"])
    assert groups.rc == 0, groups.output
    kept = requests.get(fresh_emulator.base_url + "/api/enrollmentGroups/kept-sas?api-version=2022-07-31",
                        headers={"Authorization": ADMIN_TOKEN}, timeout=10).json()
    keys = kept["attestation"]["symmetricKey"]
    secrets = [keys["primaryKey"], keys["secondaryKey"], device_key(keys["primaryKey"], "kept-device"),
               "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
               ADMIN_TOKEN.split("sig=")[1].split("&")[0]]
    for secret in secrets:
        assert secret not in groups.output

    certs = run_playbook("x509_certificate.yml", extra_vars={"cert_dir": str(tmp_path)}, args=["-vvv"])
    assert certs.rc == 0, certs.output
    key_files = sorted(tmp_path.glob("*_key.pem"))
    assert len(key_files) >= 3
    for key_file in key_files:
        body = [line for line in key_file.read_text().splitlines() if line and not line.startswith("-----")]
        assert body
        for line in body:
            assert line not in certs.output, key_file.name
    assert "PRIVATE KEY" not in certs.output
    assert fresh_emulator.stats()["spec_violations"] == []


def test_second_run_of_the_groups_demo_is_idempotent(run_playbook, fresh_emulator, tmp_path):
    extra = {"demo_cert_dir": str(tmp_path / "certs")}
    first = run_playbook("../../../demo/groups.yml", extra_vars=extra)
    assert first.rc == 0, first.output
    assert first.recap()["changed"] > 0
    before = fresh_emulator.stats()["writes"]
    second = run_playbook("../../../demo/groups.yml", extra_vars=extra)
    assert second.rc == 0, second.output
    assert second.recap()["changed"] == 0, second.output
    assert fresh_emulator.stats()["writes"] == before
    cleanup = run_playbook("../../../demo/groups.yml", extra_vars=dict(extra, demo_delete=True))
    assert cleanup.rc == 0, cleanup.output
    assert fresh_emulator.stats()["spec_violations"] == []
