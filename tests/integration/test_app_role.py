"""The role fleetops.iotcentral.app and app_export end to end: real ansible-playbook runs against emulators over HTTP.

The round trip: declare an application, export it, apply the export to the same application (no change, no write),
apply it to an empty application (rebuilt), export the copy (the same bytes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import yaml

from emulator.defaults import ADMIN_TOKEN

pytestmark = pytest.mark.integration

APP_FILES = Path(__file__).resolve().parent / "files" / "app"
VAULT = {"vault_iotcentral_deployment_manifests_envsensor_contosoacr_password": "not-a-real-password"}
THERMOSTAT = "dtmi:contoso:Thermostat;1"


@pytest.fixture(scope="module")
def emulator():
    """Overrides the session emulator for this module: same API, no server-side rate limit (the modules pace
    themselves to 20 requests/second), so the time of these tests does not depend on what ran before."""
    from emulator.server import start_emulator

    handle = start_emulator(port=0, rate_limit=0)
    yield handle
    handle.stop()


def api(emulator, method, path, body=None, version="2022-07-31"):
    response = requests.request(method, emulator.base_url + "/api" + path, params={"api-version": version}, json=body,
                                headers={"Authorization": ADMIN_TOKEN}, timeout=10)
    response.raise_for_status()
    return response.json() if response.content else None


def on(emulator):
    """Environment for run_playbook that points the modules at ``emulator``."""
    return {"IOTCENTRAL_BASE_URL": emulator.base_url}


def apply(run_playbook, variables_files, tmp_path, args=(), env=None, extra=None):
    """The role with the given variables files (and the test certificate directory and vault values)."""
    files = []
    for name in variables_files:
        files += ["-e", "@%s" % name]
    variables = {"app_cert_dir": str(tmp_path / "certs")}
    variables.update(VAULT)
    variables.update(extra or {})
    return run_playbook("app_role.yml", extra_vars=variables, args=files + list(args), env=env)


def export(run_playbook, dest, env=None):
    result = run_playbook("app_export.yml", extra_vars={"app_export_dest": str(dest)}, env=env)
    assert result.rc == 0, result.output
    return result


def report_lines(result):
    """The drift report's lines: the msg of the role's last task, printed once."""
    marker = "Report | what changed"
    assert result.stdout.count(marker) == 1, result.output
    block = result.stdout.split(marker, 1)[1].split("PLAY RECAP", 1)[0]
    start = block.index("{")
    return json.loads(block[start:block.rindex("}") + 1])["msg"]


@pytest.mark.all_cores
def test_round_trip_export_apply_rebuild(run_playbook, fresh_emulator, tmp_path):
    declared = apply(run_playbook, [APP_FILES / "declared.yml"], tmp_path)
    assert declared.rc == 0, declared.output

    first = tmp_path / "exported.yml"
    export(run_playbook, first)
    text = first.read_text(encoding="utf-8")
    keys = api(fresh_emulator, "GET", "/enrollmentGroups/store-sensors")["attestation"]["symmetricKey"]
    device_keys = api(fresh_emulator, "GET", "/devices/store-gateway-1/attestation")["symmetricKey"]
    for secret in ("not-a-real-password", keys["primaryKey"], keys["secondaryKey"], "PRIVATE KEY",
                   device_keys["primaryKey"], device_keys["secondaryKey"], "BEGIN CERTIFICATE"):
        assert secret not in text
    assert "vault_iotcentral_deployment_manifests_envsensor_contosoacr_password" in text
    exported = yaml.safe_load(text)
    devices = dict((device["id"], device) for device in exported["iotcentral_app_devices"])
    assert list(devices) == ["store-camera-1", "store-gateway-1", "store-sensor-1", "store-thermostat-1",
                             "store-thermostat-2", "store-thermostat-3"]
    assert devices["store-thermostat-1"]["properties"] == {"targetTemperature": 21.5}
    # IoT Edge settings and attestations: the type, the certificate's thumbprint, keys only named as vault variables.
    gateway = devices["store-gateway-1"]
    assert (gateway["edge"], gateway["deployment_manifest"], gateway["attestation"]) == (True, "envsensor", {"type": "symmetric_key"})
    assert "vault_iotcentral_devices_store_gateway_1_primary_key" in text
    thumbprint = api(fresh_emulator, "GET", "/devices/store-camera-1/attestation")["x509"]["clientCertificates"]["primary"]["info"]["sha1Thumbprint"]
    assert devices["store-camera-1"]["attestation"] == {"type": "x509", "primary_sha1_thumbprint": thumbprint.upper()}
    assert "attestation" not in devices["store-thermostat-1"] and "edge" not in devices["store-thermostat-1"]
    organizations = [organization["id"] for organization in exported["iotcentral_app_organizations"]]
    assert organizations.index("contoso-stores") < organizations.index("store-12")  # parents first
    assert "dtmi:contoso:StoreSensor;1" in [template["id"] for template in exported["iotcentral_app_device_templates"]]

    # The export applied to the application it came from: nothing changes, no write is sent.
    fresh_emulator.reset_stats()
    again = apply(run_playbook, [first], tmp_path)
    assert again.rc == 0, again.output
    assert again.recap()["changed"] == 0, again.output
    assert fresh_emulator.stats()["writes"] == 0
    assert report_lines(again) == "The application matches the declaration: nothing to create, change or remove."
    # Exporting again gives the same file (the module reports no change).
    assert '"changed": false' in export(run_playbook, first).stdout.replace('\\"', '"')
    assert first.read_text(encoding="utf-8") == text

    # The export applied to an empty application rebuilds it. The service never returns a certificate, so the
    # X.509 entries (of the enrollment group and of the device) get their files, as the comments in the export say.
    copy_emulator = _start_empty()
    try:
        groups = exported["iotcentral_app_enrollment_groups"]
        x509 = next(group for group in groups if group["id"] == "store-x509")
        x509["certificates"]["primary"]["certificate_path"] = str(tmp_path / "certs" / "approot_cert.pem")
        devices["store-camera-1"]["attestation"]["primary_certificate_path"] = str(tmp_path / "certs" / "store-camera-1_cert.pem")
        overlay = tmp_path / "certificates.yml"
        overlay.write_text(yaml.safe_dump({"iotcentral_app_enrollment_groups": groups,
                                           "iotcentral_app_devices": exported["iotcentral_app_devices"]}), encoding="utf-8")
        rebuilt = apply(run_playbook, [first, overlay], tmp_path, env=on(copy_emulator))
        assert rebuilt.rc == 0, rebuilt.output
        assert copy_emulator.stats()["spec_violations"] == []
        copy = tmp_path / "copy.yml"
        export(run_playbook, copy, env=on(copy_emulator))
        assert copy.read_text(encoding="utf-8") == text
    finally:
        copy_emulator.stop()
    assert fresh_emulator.stats()["spec_violations"] == []


def _start_empty():
    from emulator.server import start_emulator

    return start_emulator(port=0, rate_limit=0)


@pytest.mark.all_cores
def test_wrong_variables_fail_before_any_request(run_playbook, fresh_emulator):
    result = run_playbook("app_role_bad_input.yml")
    assert result.rc == 0, result.output
    assert result.recap()["rescued"] == 7
    assert "Traceback" not in result.output
    assert fresh_emulator.stats()["requests"] == 0


def test_check_mode_drift_report_tags_and_purge_inside_scope(run_playbook, fresh_emulator, tmp_path):
    declared = apply(run_playbook, [APP_FILES / "declared.yml"], tmp_path)
    assert declared.rc == 0, declared.output
    # Drift made behind the role's back: a declared group deleted, a device renamed, undeclared things added
    # inside and outside the purge scope.
    api(fresh_emulator, "DELETE", "/deviceGroups/simulated")
    api(fresh_emulator, "PATCH", "/devices/store-thermostat-1", {"displayName": "Renamed by hand"})
    api(fresh_emulator, "DELETE", "/devices/store-gateway-1/attestation")
    for group_id in ("store-old", "lab-old"):
        api(fresh_emulator, "PUT", "/deviceGroups/" + group_id, {"displayName": group_id, "filter": "SELECT * FROM devices"})
    api(fresh_emulator, "PUT", "/devices/store-thermostat-9", {"displayName": "Old", "template": THERMOSTAT})
    api(fresh_emulator, "PUT", "/devices/lab-controller", {"displayName": "Lab", "template": "dtmi:contoso:TemperatureController;1"})
    api(fresh_emulator, "PUT", "/enrollmentGroups/lab-enrollment",
        {"displayName": "Lab", "type": "iot", "attestation": {"type": "symmetricKey"}})
    api(fresh_emulator, "PUT", "/organizations/store-99", {"displayName": "Store 99", "parent": "contoso-stores"})
    api(fresh_emulator, "PUT", "/organizations/store-99-annex", {"displayName": "Annex", "parent": "store-99"})
    api(fresh_emulator, "PUT", "/organizations/lab", {"displayName": "Lab"})
    purge = {"iotcentral_app_purge": True,
             "iotcentral_app_purge_scope": {"organizations": "store-", "device_groups": "store-", "devices": THERMOSTAT}}

    fresh_emulator.reset_stats()
    check = apply(run_playbook, [APP_FILES / "declared.yml"], tmp_path, args=["--check"], extra=purge)
    assert check.rc == 0, check.output
    assert fresh_emulator.stats()["writes"] == 0
    assert report_lines(check) == [
        "organizations: 2 would be removed (store-99-annex, store-99)",
        "device_groups: 1 would be created (simulated)",
        "device_groups: 1 would be removed (store-old)",
        "devices: 2 would be changed (store-thermostat-1, store-gateway-1)",
        "devices: 1 would be removed (store-thermostat-9)",
        "device_attestations: 1 would be created (store-gateway-1)",
    ]

    # --tags devices converges only the devices section.
    devices_only = apply(run_playbook, [APP_FILES / "declared.yml"], tmp_path, args=["--tags", "devices"], extra=purge)
    assert devices_only.rc == 0, devices_only.output
    assert report_lines(devices_only) == [
        "devices: 2 changed (store-thermostat-1, store-gateway-1)",
        "devices: 1 removed (store-thermostat-9)",
        "device_attestations: 1 created (store-gateway-1)",
    ]
    assert api(fresh_emulator, "GET", "/devices/store-gateway-1/attestation")["type"] == "symmetricKey"
    group_ids = sorted(group["id"] for group in api(fresh_emulator, "GET", "/deviceGroups")["value"])
    assert group_ids == ["lab-old", "store-old", "thermostats"]

    applied = apply(run_playbook, [APP_FILES / "declared.yml"], tmp_path, extra=purge)
    assert applied.rc == 0, applied.output
    assert report_lines(applied) == [
        "organizations: 2 removed (store-99-annex, store-99)",
        "device_groups: 1 created (simulated)",
        "device_groups: 1 removed (store-old)",
    ]
    # Outside the scope nothing was removed: lab-old and the organization lab (not matching store-), lab-controller
    # (another template), lab-enrollment (enrollment groups are not in the scope at all).
    group_ids = sorted(group["id"] for group in api(fresh_emulator, "GET", "/deviceGroups")["value"])
    assert group_ids == ["lab-old", "simulated", "thermostats"]
    device_ids = sorted(device["id"] for device in api(fresh_emulator, "GET", "/devices")["value"])
    assert device_ids == ["lab-controller", "store-camera-1", "store-gateway-1", "store-sensor-1", "store-thermostat-1",
                          "store-thermostat-2", "store-thermostat-3"]
    organization_ids = [organization["id"] for organization in api(fresh_emulator, "GET", "/organizations")["value"]]
    assert "lab" in organization_ids and "store-12" in organization_ids and "store-99" not in organization_ids
    assert api(fresh_emulator, "GET", "/enrollmentGroups/lab-enrollment")["id"] == "lab-enrollment"
    assert fresh_emulator.stats()["spec_violations"] == []
