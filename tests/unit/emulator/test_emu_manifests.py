"""Deployment manifests (2022-10-31-preview only) and applying one to an IoT Edge device."""

import json

import pytest

from emulator.testing import PREVIEW, STABLE, assert_no_spec_violations, error_of

EDGE = "dtmi:contoso:EnvironmentalSensorEdge;1"
THERMOSTAT = "dtmi:contoso:Thermostat;1"
MERGE = {"Content-Type": "application/merge-patch+json"}
DATA = {"modulesContent": {
    "$edgeAgent": {"properties.desired": {"schemaVersion": "1.1", "modules": {
        "SimulatedTemperatureSensor": {"version": "1.0", "type": "docker", "status": "running",
                                       "settings": {"image": "mcr.microsoft.com/sim:1.0", "createOptions": "{}"}}}}},
    "$edgeHub": {"properties.desired": {"schemaVersion": "1.1", "routes": {"all": "FROM /messages/* INTO $upstream"}}},
}}


def patch(client, path, body, headers=None):
    return client.patch(path, data=json.dumps(body), headers=dict(MERGE, **(headers or {})))


def test_lifecycle(client_for, fresh_emulator):
    client = client_for()
    created = client.put("deploymentManifests/envSensor", json={"displayName": "Env sensor", "data": DATA,
                                                                "organizations": ["seattle"]})
    assert created.status_code == 200
    manifest = created.json()
    assert manifest == {"id": "envSensor", "displayName": "Env sensor", "data": DATA, "organizations": ["seattle"],
                        "etag": manifest["etag"]}
    assert client.get("deploymentManifests/envSensor").json() == manifest
    replaced = client.put("deploymentManifests/envSensor", json={"data": {"modulesContent": {}}}).json()
    # Replace: displayName falls back to the id, organizations are gone.
    assert replaced == {"id": "envSensor", "displayName": "envSensor", "data": {"modulesContent": {}},
                        "etag": replaced["etag"]}
    assert replaced["etag"] != manifest["etag"]
    assert client.delete("deploymentManifests/envSensor").status_code == 204
    assert error_of(client.get("deploymentManifests/envSensor"), 404)["code"] == "NotFound"
    assert error_of(client.delete("deploymentManifests/envSensor"), 404)
    assert error_of(patch(client, "deploymentManifests/envSensor", {"displayName": "x"}), 404)
    assert_no_spec_violations(fresh_emulator)


def test_merge_patch_merges_data_deeply(client_for):
    client = client_for()
    first = client.put("deploymentManifests/m", json={"displayName": "M", "data": DATA}).json()
    changed = patch(client, "deploymentManifests/m", {"data": {"modulesContent": {
        "$edgeHub": None, "$edgeAgent": {"properties.desired": {"schemaVersion": "1.2"}}}}}).json()
    agent = changed["data"]["modulesContent"]["$edgeAgent"]["properties.desired"]
    assert agent["schemaVersion"] == "1.2" and "SimulatedTemperatureSensor" in agent["modules"]
    assert "$edgeHub" not in changed["data"]["modulesContent"]
    assert changed["displayName"] == "M" and changed["etag"] != first["etag"]
    orgs = patch(client, "deploymentManifests/m", {"organizations": ["redmond"], "displayName": "N"}).json()
    assert orgs["organizations"] == ["redmond"] and orgs["displayName"] == "N"
    assert "organizations" not in patch(client, "deploymentManifests/m", {"organizations": None}).json()
    for name in ("data", "displayName"):
        assert "cannot be removed" in error_of(patch(client, "deploymentManifests/m", {name: None}), 422)["message"]


def test_patch_is_merge_patch_only_and_honours_if_match(client_for, fresh_emulator):
    client = client_for()
    manifest = client.put("deploymentManifests/m", json={"data": DATA}).json()
    assert error_of(client.patch("deploymentManifests/m", json={"displayName": "x"}), 415)
    fresh_emulator.reset_stats()  # application/json breaks the spec on purpose.
    assert error_of(patch(client, "deploymentManifests/m", {"displayName": "x"}, {"If-Match": '"stale"'}), 412)
    assert error_of(patch(client, "deploymentManifests/m", {"displayName": "x", "etag": "stale"}), 412)
    assert client.get("deploymentManifests/m").json() == manifest
    ok = patch(client, "deploymentManifests/m", {"displayName": "x"}, {"If-Match": '"%s"' % manifest["etag"]})
    assert ok.status_code == 200
    assert error_of(client.put("deploymentManifests/m", json={"data": DATA, "etag": manifest["etag"]}), 412)
    assert client.put("deploymentManifests/m", json={"data": DATA, "etag": ok.json()["etag"]}).status_code == 200


@pytest.mark.parametrize("body, field", [
    ({}, "data"),
    ({"data": []}, "data"),
    ({"data": DATA, "displayName": ""}, "displayName"),
    ({"data": DATA, "displayName": 3}, "displayName"),
    ({"data": DATA, "organizations": []}, "organizations"),
    ({"data": DATA, "organizations": ["a", "b"]}, "organizations"),
    ({"data": DATA, "organizations": [1]}, "organizations"),
])
def test_validation(client_for, fresh_emulator, body, field):
    message = error_of(client_for().put("deploymentManifests/m", json=body), 422)["message"]
    assert "'%s'" % field in message
    fresh_emulator.reset_stats()


@pytest.mark.parametrize("manifest_id, status", [
    ("dtmi:contoso:Edge;1", 200), ("abc123", 200), ("x" * 255, 200),
    ("with-dash", 400), ("under_score", 400), ("x" * 256, 400), ("sp%20ace", 400)])
def test_ids_follow_the_spec_pattern(client_for, manifest_id, status):
    response = client_for().put("deploymentManifests/" + manifest_id, json={"data": DATA})
    assert response.status_code == status, response.text


def test_list_with_maxpagesize_and_filter(client_for, fresh_emulator):
    client = client_for()
    for number in range(1, 31):
        client.put("deploymentManifests/m%02d" % number, json={
            "displayName": "Manifest %d" % number, "data": {"n": number},
            "organizations": ["seattle"] if number <= 3 else ["redmond"]})
    page = client.get("deploymentManifests").json()
    assert len(page["value"]) == 25 and page["nextLink"]
    assert [m["id"] for m in client.list_all("deploymentManifests", params={"maxpagesize": 4})] == [
        "m%02d" % n for n in range(1, 31)]
    seattle = client.list_all("deploymentManifests", params={"filter": "scopes eq 'seattle'"})
    assert [m["id"] for m in seattle] == ["m01", "m02", "m03"]
    named = client.list_all("deploymentManifests", params={"filter": "contains(displayName, 'Manifest 2')"})
    assert len(named) == 11
    assert error_of(client.get("deploymentManifests", params={"filter": "data eq 'x'"}), 400)
    # orderby is not declared for this list: ignored.
    assert client.get("deploymentManifests", params={"orderby": "nonsense"}).status_code == 200
    assert_no_spec_violations(fresh_emulator)


def test_every_manifest_path_is_404_on_stable(client_for):
    preview, stable = client_for(PREVIEW), client_for(STABLE)
    preview.put("deploymentManifests/m", json={"data": DATA})
    preview.put("devices/edge1", json={"template": EDGE})
    for method, path, body in (("GET", "deploymentManifests", None), ("GET", "deploymentManifests/m", None),
                               ("PUT", "deploymentManifests/m", {"data": DATA}),
                               ("PATCH", "deploymentManifests/m", {"displayName": "x"}),
                               ("DELETE", "deploymentManifests/m", None),
                               ("POST", "devices/edge1/applyDeploymentManifest", {"data": DATA})):
        response = stable.request(method, path, json=body)
        assert error_of(response, 404)["code"] == "NotFound", (method, path)
    assert preview.get("deploymentManifests/m").status_code == 200


def test_apply_to_an_edge_device(client_for, fresh_emulator):
    preview, stable = client_for(PREVIEW), client_for(STABLE)
    before = preview.put("devices/edge1", json={"template": EDGE}).json()
    assert before["type"] == ["iotEdge"] and "deploymentManifest" not in before
    applied = preview.post("devices/edge1/applyDeploymentManifest", json={"displayName": "Env", "data": DATA})
    assert applied.status_code == 200
    manifest = applied.json()
    assert manifest == {"displayName": "Env", "data": DATA, "etag": manifest["etag"]}
    device = preview.get("devices/edge1").json()
    assert device["deploymentManifest"] == manifest and device["etag"] != before["etag"]
    assert "deploymentManifest" not in stable.get("devices/edge1").json()
    # Applying again replaces it.
    again = preview.post("devices/edge1/applyDeploymentManifest", json={"data": {"modulesContent": {}}}).json()
    assert preview.get("devices/edge1").json()["deploymentManifest"] == again
    assert again["etag"] != manifest["etag"]
    assert_no_spec_violations(fresh_emulator)


def test_apply_to_a_device_made_edge_by_type(client_for):
    client = client_for()
    client.put("devices/plain", json={"template": THERMOSTAT, "type": ["iotEdge"]})
    assert client.post("devices/plain/applyDeploymentManifest", json={"data": DATA}).status_code == 200


def test_apply_is_refused_for_non_edge_missing_or_bad_input(client_for, fresh_emulator):
    client = client_for()
    client.put("devices/thermo", json={"template": THERMOSTAT})
    message = error_of(client.post("devices/thermo/applyDeploymentManifest", json={"data": DATA}), 422)["message"]
    assert "not an IoT Edge device" in message
    assert "deploymentManifest" not in client.get("devices/thermo").json()
    assert error_of(client.post("devices/missing/applyDeploymentManifest", json={"data": DATA}), 404)
    assert error_of(client.post("devices/bad_id/applyDeploymentManifest", json={"data": DATA}), 400)
    client.put("devices/edge1", json={"template": EDGE})
    assert "'data'" in error_of(client.post("devices/edge1/applyDeploymentManifest", json={}), 422)["message"]
    assert error_of(client.post("devices/edge1/applyDeploymentManifest", data=b"{}",
                                headers={"Content-Type": "text/plain"}), 415)
    fresh_emulator.reset_stats()  # the last two break the spec on purpose.


def test_reader_cannot_apply(client_for, reader_headers):
    client_for().put("devices/edge1", json={"template": EDGE})
    reader = client_for(headers=reader_headers)
    assert error_of(reader.post("devices/edge1/applyDeploymentManifest", json={"data": DATA}), 403)
    assert error_of(reader.put("deploymentManifests/m", json={"data": DATA}), 403)
