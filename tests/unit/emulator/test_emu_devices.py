"""Device operations: CRUD, etags and preconditions, content types, validation, credentials, status."""

import base64
import json

import pytest
import requests

from emulator.testing import PREVIEW, STABLE, ApiClient, api_url, error_of

THERMOSTAT = "dtmi:contoso:Thermostat;1"
EDGE = "dtmi:contoso:EnvironmentalSensorEdge;1"
BOTH = pytest.mark.parametrize("version", [STABLE, PREVIEW])


@BOTH
def test_create_get_replace_delete(client_for, version):
    client = client_for(version)
    body = {"displayName": "CheckoutThermostat", "template": THERMOSTAT, "simulated": True, "enabled": True}
    created = client.put("devices/thermostat1", json=body)
    assert created.status_code == 200
    device = created.json()
    assert device == {"id": "thermostat1", "etag": device["etag"], "displayName": "CheckoutThermostat",
                      "template": THERMOSTAT, "simulated": True, "provisioned": False, "enabled": True}
    assert client.get("devices/thermostat1").json() == device
    replaced = client.put("devices/thermostat1", json={"displayName": "Other"}).json()
    # Replace: omitted fields go back to their defaults.
    assert replaced["displayName"] == "Other" and "template" not in replaced
    assert replaced["enabled"] is True and replaced["simulated"] is False
    assert replaced["etag"] != device["etag"]
    deleted = client.delete("devices/thermostat1")
    assert deleted.status_code == 204 and deleted.content == b""
    assert error_of(client.get("devices/thermostat1"), 404)["code"] == "NotFound"
    assert error_of(client.delete("devices/thermostat1"), 404)["code"] == "NotFound"


def test_defaults_when_body_is_empty(client_for):
    device = client_for(STABLE).put("devices/bare", json={}).json()
    assert device == {"id": "bare", "etag": device["etag"], "displayName": "bare", "enabled": True,
                      "provisioned": False, "simulated": False}


@BOTH
def test_read_only_fields_are_ignored(client_for, version):
    device = client_for(version).put("devices/ro-1", json={"id": "other", "provisioned": True}).json()
    assert device["id"] == "ro-1" and device["provisioned"] is False


@BOTH
def test_patch_merges_and_changes_etag(client_for, version):
    client = client_for(version)
    original = client.put("devices/p1", json={"displayName": "A", "template": THERMOSTAT,
                                              "organizations": ["seattle"]}).json()
    patched = client.patch("devices/p1", json={"enabled": False}).json()
    assert patched["enabled"] is False and patched["displayName"] == "A" and patched["template"] == THERMOSTAT
    assert patched["organizations"] == ["seattle"] and patched["etag"] != original["etag"]
    merge = client.patch("devices/p1", data=json.dumps({"displayName": "B", "organizations": None}),
                         headers={"Content-Type": "application/merge-patch+json"}).json()
    assert merge["displayName"] == "B" and "organizations" not in merge
    empty = client.patch("devices/p1", json={}).json()
    assert empty["etag"] != merge["etag"]
    assert error_of(client.patch("devices/nope", json={}), 404)["code"] == "NotFound"


@BOTH
def test_stale_body_etag_is_412_and_changes_nothing(client_for, version):
    client = client_for(version)
    first = client.put("devices/e1", json={"displayName": "one"}).json()
    second = client.patch("devices/e1", json={"displayName": "two", "etag": first["etag"]}).json()
    assert second["displayName"] == "two"
    for method in ("put", "patch"):
        response = getattr(client, method)("devices/e1", json={"displayName": "three", "etag": first["etag"]})
        assert error_of(response, 412)["code"] == "PreconditionFailed"
    assert client.get("devices/e1").json() == second
    # An etag for a device that does not exist cannot match either.
    assert error_of(client.put("devices/e2", json={"etag": first["etag"]}), 412)
    assert client.put("devices/e1", json={"displayName": "four", "etag": second["etag"]}).status_code == 200


def test_if_match_is_honoured_on_preview_only(client_for):
    preview = client_for(PREVIEW)
    stable = client_for(STABLE)
    device = preview.put("devices/im", json={"displayName": "x"}).json()
    stale = '"not-the-etag"'
    assert error_of(preview.patch("devices/im", json={"enabled": False}, headers={"If-Match": stale}), 412)
    assert preview.get("devices/im").json() == device
    # 2022-07-31 has no If-Match parameter: the header is ignored.
    ignored = stable.patch("devices/im", json={"enabled": False}, headers={"If-Match": stale})
    assert ignored.status_code == 200
    current = ignored.json()["etag"]
    for shape in ("%s", '"%s"', 'W/"%s"', "*", '"zzz", "%s"'):
        header = shape % current if "%s" in shape else shape
        response = preview.patch("devices/im", json={"displayName": shape}, headers={"If-Match": header})
        assert response.status_code == 200, header
        current = response.json()["etag"]


@BOTH
@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_415(client_for, version, content_type):
    client = client_for(version)
    client.put("devices/ct", json={})
    for method in ("put", "patch"):
        response = getattr(client, method)("devices/ct", data=b"{}", headers={"Content-Type": content_type})
        assert error_of(response, 415)["code"] == "UnsupportedMediaType"


def test_merge_patch_content_type_only_for_patch(client_for):
    client = client_for(STABLE)
    response = client.put("devices/mp", data=b"{}", headers={"Content-Type": "application/merge-patch+json"})
    assert error_of(response, 415)
    client.put("devices/mp", json={})
    ok = client.patch("devices/mp", data=b"{}", headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 200


@BOTH
def test_invalid_json_and_missing_body(client_for, version):
    client = client_for(version)
    bad = client.put("devices/ij", data=b'{"displayName": ', headers={"Content-Type": "application/json"})
    assert "not valid JSON" in error_of(bad, 400)["message"]
    empty = client.put("devices/ij", data=b"", headers={"Content-Type": "application/json"})
    assert "required" in error_of(empty, 400)["message"]
    assert error_of(client.put("devices/ij", json=[1, 2]), 422)["code"] == "UnprocessableEntity"


@BOTH
@pytest.mark.parametrize("body, field", [
    ({"displayName": 5}, "displayName"),
    ({"enabled": "yes"}, "enabled"),
    ({"simulated": 1}, "simulated"),
    ({"template": ["x"]}, "template"),
    ({"organizations": "seattle"}, "organizations"),
    ({"organizations": [1]}, "organizations[0]"),
    ({"organizations": ["a", "b"]}, "organizations"),
    ({"etag": 12}, "etag"),
])
def test_wrong_field_types_name_the_field(client_for, version, body, field):
    client = client_for(version)
    client.put("devices/wt", json={})
    for method in ("put", "patch"):
        error = error_of(getattr(client, method)("devices/wt", json=body), 422)
        assert "'%s'" % field in error["message"]


def test_patch_cannot_null_required_fields(client_for):
    client = client_for(STABLE)
    client.put("devices/nl", json={})
    assert "displayName" in error_of(client.patch("devices/nl", json={"displayName": None}), 422)["message"]


@BOTH
def test_unknown_template_is_422(client_for, version):
    client = client_for(version)
    error = error_of(client.put("devices/ut", json={"template": "dtmi:nope:Missing;1"}), 422)
    assert "dtmi:nope:Missing;1" in error["message"]
    client.put("devices/ut", json={"template": THERMOSTAT})
    assert error_of(client.patch("devices/ut", json={"template": "dtmi:nope:Missing;1"}), 422)
    assert client.get("devices/ut").json()["template"] == THERMOSTAT


@pytest.mark.parametrize("device_id", ["bad_id", "has.dot", "a" * 129, "sp%20ace", "%C3%A9t%C3%A9"])
def test_invalid_device_ids(client_for, device_id):
    client = client_for(STABLE)
    assert "Invalid device ID" in error_of(client.put("devices/" + device_id, json={}), 400)["message"]
    assert error_of(client.get("devices/" + device_id), 400)


@pytest.mark.parametrize("device_id", ["a", "ABC-def-123", "-", "x" * 128, "CheckoutThermostat"])
def test_valid_device_ids(client_for, device_id):
    assert client_for(STABLE).put("devices/" + device_id, json={}).json()["id"] == device_id


@BOTH
def test_credentials(client_for, fresh_emulator, version):
    client = client_for(version)
    client.put("devices/cr1", json={})
    client.put("devices/cr2", json={})
    first = client.get("devices/cr1/credentials").json()
    assert set(first) == {"idScope", "symmetricKey"}
    assert first["idScope"].startswith("0ne") and len(first["idScope"]) == 11
    for key in first["symmetricKey"].values():
        assert len(base64.b64decode(key)) == 32
    assert first["symmetricKey"]["primaryKey"] != first["symmetricKey"]["secondaryKey"]
    # Stable for the device's life (replace and patch keep them), distinct per device, one scope per app.
    client.put("devices/cr1", json={"displayName": "again"})
    client.patch("devices/cr1", json={"enabled": False})
    assert client.get("devices/cr1/credentials").json() == first
    second = client.get("devices/cr2/credentials").json()
    assert second["idScope"] == first["idScope"]
    assert second["symmetricKey"] != first["symmetricKey"]
    assert error_of(client.get("devices/none/credentials"), 404)
    # A recreated device gets new keys.
    client.delete("devices/cr1")
    client.put("devices/cr1", json={})
    assert client.get("devices/cr1/credentials").json()["symmetricKey"] != first["symmetricKey"]


def test_all_four_ui_statuses(client_for, fresh_emulator):
    client = client_for(STABLE)
    base = fresh_emulator.base_url

    def status(device_id):
        d = client.get("devices/" + device_id).json()
        return d["provisioned"], d["enabled"]

    client.put("devices/waiting", json={"enabled": False})
    client.put("devices/registered", json={})
    client.put("devices/provisioned", json={})
    client.put("devices/blocked", json={})
    before = client.get("devices/provisioned").json()["etag"]
    response = requests.post(base + "/__emulator__/devices/provisioned/provision", json={"provisioned": True},
                             timeout=10)
    assert response.status_code == 200 and response.json()["provisioned"] is True
    assert response.json()["etag"] != before
    requests.post(base + "/__emulator__/devices/blocked/provision", timeout=10)
    client.patch("devices/blocked", json={"enabled": False})
    assert status("waiting") == (False, False)  # Waiting for approval
    assert status("registered") == (False, True)  # Registered
    assert status("provisioned") == (True, True)  # Provisioned
    assert status("blocked") == (True, False)  # Blocked
    assert requests.post(base + "/__emulator__/devices/ghost/provision", timeout=10).status_code == 404
    undo = requests.post(base + "/__emulator__/devices/provisioned/provision", json={"provisioned": False},
                         timeout=10)
    assert undo.json()["provisioned"] is False


def test_preview_only_fields(client_for):
    preview = client_for(PREVIEW)
    stable = client_for(STABLE)
    manifest = {"displayName": "m1", "data": {"modulesContent": {}}}
    edge = preview.put("devices/edge1", json={"template": EDGE, "deploymentManifest": manifest}).json()
    assert edge["type"] == ["iotEdge"] and edge["deploymentManifest"] == manifest
    plain = stable.get("devices/edge1").json()
    assert "type" not in plain and "deploymentManifest" not in plain
    # A stable replace cannot express them, so they survive it.
    stable.put("devices/edge1", json={"template": EDGE, "displayName": "renamed"})
    assert preview.get("devices/edge1").json()["deploymentManifest"] == manifest
    # Derived from an edge template even when created through 2022-07-31.
    stable.put("devices/edge2", json={"template": EDGE})
    assert preview.get("devices/edge2").json()["type"] == ["iotEdge"]
    assert "type" not in preview.put("devices/plain", json={"template": THERMOSTAT}).json()
    assert error_of(preview.put("devices/x", json={"type": ["toaster"]}), 422)
    assert error_of(preview.put("devices/x", json={"deploymentManifest": {"displayName": "no data"}}), 422)
    # On 2022-07-31 these are unknown fields and are ignored.
    ignored = stable.put("devices/x", json={"type": ["toaster"], "deploymentManifest": 5})
    assert ignored.status_code == 200
    patched = preview.patch("devices/edge1", json={"deploymentManifest": None}).json()
    assert "deploymentManifest" not in patched


def test_expand_only_validated_on_preview(client_for):
    preview = client_for(PREVIEW)
    stable = client_for(STABLE)
    preview.put("devices/ex", json={})
    assert preview.get("devices/ex", params={"expand": "deploymentManifest"}).status_code == 200
    assert error_of(preview.get("devices/ex", params={"expand": "bad value!"}), 400)
    assert stable.get("devices/ex", params={"expand": "bad value!"}).status_code == 200


def test_filter_over_http(client_for, fresh_emulator):
    fresh_emulator.emulator.seed_devices(5, prefix="f", template=THERMOSTAT)
    fresh_emulator.emulator.seed_devices(3, prefix="g", template=None, organizations=["redmond"], enabled=False)
    stable = client_for(STABLE)
    preview = client_for(PREVIEW)
    got = [d["id"] for d in preview.list_all("devices", params={"filter": "enabled eq false or id eq 'f-00002'"})]
    assert got == ["f-00002", "g-00001", "g-00002", "g-00003"]
    got = [d["id"] for d in stable.list_all("devices", params={"$filter": "contains(displayName, 'Thermo') ge 0",
                                                               "$top": 2})]
    assert got == ["f-%05d" % i for i in range(1, 6)]
    got = [d["id"] for d in preview.list_all("devices", params={"filter": "scopes eq 'redmond' and id ne 'g-00002'"})]
    assert got == ["g-00001", "g-00003"]
    error = error_of(preview.get("devices", params={"filter": "enabled eq maybe"}), 400)
    assert "position 11" in error["message"] and "filter" in error["message"]
    assert "$orderby" in error_of(stable.get("devices", params={"$orderby": "id"}), 400)["message"]


def test_reset_endpoint_keeps_templates(fresh_emulator):
    base = fresh_emulator.base_url
    fresh_emulator.emulator.seed_devices(4)
    assert requests.post(base + "/__emulator__/reset", timeout=10).status_code == 200
    assert len(fresh_emulator.store.collections["devices"]) == 0
    assert len(fresh_emulator.store.collections["deviceTemplates"]) >= 6


def test_seed_endpoint(fresh_emulator):
    base = fresh_emulator.base_url
    response = requests.post(base + "/__emulator__/seed", json={"count": 12, "prefix": "sd", "enabled": False,
                                                                "template": EDGE}, timeout=10)
    assert response.json() == {"created": 12, "devices": 12}
    again = requests.post(base + "/__emulator__/seed", json={"count": 14, "prefix": "sd"}, timeout=10).json()
    assert again == {"created": 2, "devices": 14}
    device = ApiClient(base, PREVIEW).get("devices/sd-00003").json()
    assert device["enabled"] is False and device["template"] == EDGE and device["type"] == ["iotEdge"]
    assert device["displayName"] == "Environmental Sensor (IoT Edge) - sd-00003"
    for bad in ({"count": -1}, {"count": "3"}, {"count": 1, "prefix": "bad prefix"},
                {"count": 1, "template": "dtmi:none;1"}):
        assert requests.post(base + "/__emulator__/seed", json=bad, timeout=10).status_code == 422, bad
    assert fresh_emulator.stats()["requests"] == 1  # only the GET above; /__emulator__ is not counted


def test_concurrent_writes_are_consistent(fresh_emulator):
    from concurrent.futures import ThreadPoolExecutor

    def work(n):
        client = ApiClient(fresh_emulator.base_url, PREVIEW)
        try:
            for i in range(10):
                assert client.put("devices/c%02d-%02d" % (n, i), json={"displayName": "d"}).status_code == 200
                assert client.patch("devices/c%02d-%02d" % (n, i), json={"enabled": False}).status_code == 200
        finally:
            client.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    devices = ApiClient(fresh_emulator.base_url, PREVIEW).list_all("devices", params={"maxpagesize": 100})
    assert len(devices) == 80 and all(d["enabled"] is False for d in devices)
    assert len({d["etag"] for d in devices}) == 80


def test_url_helper_and_raw_api_url(fresh_emulator, admin_headers):
    url = api_url(fresh_emulator.base_url, "/api/devices", PREVIEW)
    assert url == fresh_emulator.base_url + "/api/devices?api-version=" + PREVIEW
    assert requests.get(url, headers=admin_headers, timeout=10).status_code == 200
