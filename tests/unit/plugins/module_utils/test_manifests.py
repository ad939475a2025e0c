"""Unit tests of deployment manifests and of assigning them to IoT Edge devices."""

from __future__ import annotations

import json

import pytest
from ansible_collections.fleetops.iotcentral.tests.unit.plugins.module_utils.test_devicegroups import (
    FakeApi,
)

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import (
    PREVIEW_API_VERSION,
    STABLE_API_VERSION,
    IoTCentralError,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import compare, desired_fields, ensure_device
from ansible_collections.fleetops.iotcentral.plugins.module_utils.manifests import (
    apply_body,
    ensure_edge_device,
    ensure_manifest,
    list_manifests,
    load_manifest_data,
    manifest_assigned,
    merge_patch_for,
    validate_manifest_id,
)
from ansible_collections.fleetops.iotcentral.tests.unit.plugins.module_utils.test_devicegroups import (
    merge,
)

PATH = "/deploymentManifests/envsensorv1"
DATA = {"modulesContent": {
    "$edgeAgent": {"properties.desired": {"schemaVersion": "1.1", "modules": {
        "SimulatedTemperatureSensor": {"type": "docker", "settings": {"image": "sensor:1.0"}}}}},
    "$edgeHub": {"properties.desired": {"schemaVersion": "1.1", "routes": {"up": "FROM /* INTO $upstream"}}},
}}
STORED = {"id": "envsensorv1", "displayName": "Env sensor", "data": DATA, "etag": "m0"}


def spec(**kwargs):
    base = {"id": "envsensorv1", "display_name": None, "organizations": None, "state": "present"}
    base.update(kwargs)
    return base


def device_spec(**kwargs):
    base = {"id": "gw-01", "display_name": None, "template": None, "simulated": None, "enabled": None,
            "organizations": None, "edge": None, "deployment_manifest": None, "state": "present"}
    base.update(kwargs)
    return base


def apply_manifest(api):
    """Like the service: the device keeps its own copy of the posted manifest (the request carries no id)."""
    def on_post(path, body):
        device_path = path.rsplit("/", 1)[0]
        device = api.objects[device_path]
        if "iotEdge" not in (device.get("type") or []):
            raise IoTCentralError("not an IoT Edge device", status=422)
        device["deploymentManifest"] = dict(body, etag=api.new_etag())
        device["etag"] = api.new_etag()
        return dict(device["deploymentManifest"])
    return on_post


def edge_api(device=None, with_manifest=True, **kwargs):
    objects = {}
    if with_manifest:
        objects[PATH] = dict(STORED)
    if device is not None:
        objects["/devices/gw-01"] = device
    api = FakeApi(objects, **kwargs)
    api.on_post = apply_manifest(api)
    return api


@pytest.mark.parametrize("good", ["envsensorv1", "dtmi:contoso:edge;1", "A" * 255])
def test_manifest_ids(good):
    assert validate_manifest_id(good) == good


@pytest.mark.parametrize("bad", ["env-sensor", "env_sensor", "", "a b", "x" * 256])
def test_bad_manifest_ids(bad):
    with pytest.raises(ValueError, match="not a valid deployment manifest id"):
        validate_manifest_id(bad)


def test_load_from_data_json_yaml_and_wrapped(tmp_path):
    assert load_manifest_data(data=DATA) == DATA
    as_json = tmp_path / "m.json"
    as_json.write_text(json.dumps(DATA))
    assert load_manifest_data(src=str(as_json)) == DATA
    as_yaml = tmp_path / "m.yml"
    as_yaml.write_text("modulesContent:\n  $edgeAgent:\n    properties.desired:\n      schemaVersion: '1.1'\n")
    assert load_manifest_data(src=str(as_yaml)) == {"modulesContent": {"$edgeAgent": {"properties.desired": {"schemaVersion": "1.1"}}}}
    wrapped = tmp_path / "exported.json"
    wrapped.write_text(json.dumps({"id": "x", "displayName": "X", "data": DATA}))
    assert load_manifest_data(src=str(wrapped)) == DATA


@pytest.mark.parametrize("content,message", [
    ("modulesContent: [unclosed\n", "neither valid JSON nor valid YAML"),
    ("- a\n- b\n", "must be a JSON/YAML object"),
])
def test_bad_src_is_one_line(tmp_path, content, message):
    path = tmp_path / "bad.yml"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        load_manifest_data(src=str(path))
    assert "\n" not in str(info.value)


def test_missing_src():
    with pytest.raises(ValueError, match="cannot read src"):
        load_manifest_data(src="/nonexistent/manifest.json")


def test_merge_patch_for_removes_what_is_gone_and_keeps_everything_wanted():
    current = {"a": {"b": 1, "c": 2}, "d": 3}
    desired = {"a": {"b": 5}, "e": 6}
    patch = merge_patch_for(current, desired)
    assert patch == {"a": {"b": 5, "c": None}, "e": 6, "d": None}
    assert merge(current, patch) == desired


def test_pinned_stable_version_is_refused_before_any_call():
    api = FakeApi(pinned=STABLE_API_VERSION)
    with pytest.raises(IoTCentralError, match="needs api_version 2022-10-31-preview"):
        ensure_manifest(api, spec(), data=DATA)
    with pytest.raises(IoTCentralError, match="pinned to 2022-07-31"):
        list_manifests(api)
    assert api.calls == []


def test_create_uses_the_preview_version_and_names_it_after_its_id():
    api = FakeApi()
    action, manifest, diff = ensure_manifest(api, spec(), data=DATA)
    assert action == "created"
    assert api.writes == [("PUT", PATH, {"displayName": "envsensorv1", "data": DATA},
                           {"api_version": PREVIEW_API_VERSION})]
    assert manifest["data"] == DATA and diff["before"] == {}


def test_create_needs_content():
    api = FakeApi()
    with pytest.raises(ValueError, match="data or src is needed"):
        ensure_manifest(api, spec(display_name="X"), data=None)
    assert api.writes == []


def test_same_content_is_unchanged_without_a_write():
    api = FakeApi({PATH: STORED})
    assert ensure_manifest(api, spec(display_name="Env sensor"), data=json.loads(json.dumps(DATA)))[0] == "unchanged"
    assert ensure_manifest(api, spec(), data=None)[0] == "unchanged"
    assert api.writes == []


def test_changed_content_is_a_merge_patch_that_removes_dropped_members():
    api = FakeApi({PATH: STORED})
    new = json.loads(json.dumps(DATA))
    del new["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["SimulatedTemperatureSensor"]
    new["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["filter"] = {"type": "docker"}

    action, manifest, diff = ensure_manifest(api, spec(), data=new, check_mode=True)
    assert action == "updated" and api.writes == [] and diff["after"]["data"] == new

    action, manifest, diff = ensure_manifest(api, spec(), data=new)
    assert action == "updated"
    method, path, body, extra = api.writes[0]
    assert (method, path, extra["content_type"], extra["api_version"]) == (
        "PATCH", PATH, "application/merge-patch+json", PREVIEW_API_VERSION)
    assert body["etag"] == "m0"
    modules = body["data"]["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]
    assert modules["SimulatedTemperatureSensor"] is None
    assert manifest["data"] == new
    assert ensure_manifest(api, spec(), data=new)[0] == "unchanged"


def test_display_name_and_organizations_only():
    api = FakeApi({PATH: dict(STORED, organizations=["b"])})
    ensure_manifest(api, spec(display_name="Renamed", organizations=["b"]), data=None)
    assert api.writes[0][2] == {"displayName": "Renamed", "etag": "m0"}


def test_delete():
    api = FakeApi({PATH: STORED})
    assert ensure_manifest(api, spec(state="absent"))[0] == "deleted"
    assert ensure_manifest(api, spec(state="absent"))[0] == "unchanged"
    assert [call[0] for call in api.writes] == ["DELETE"]


def test_edge_option_maps_to_the_device_type_compared_as_a_set():
    assert desired_fields({"edge": True}) == {"type": ["iotEdge"]}
    assert desired_fields({"edge": False}) == {"type": []}
    assert desired_fields({"enabled": True}) == {"enabled": True}
    assert compare({"type": ["iotEdge"]}, {"type": ["iotEdge"]}) == {}
    assert compare({"type": ["iotEdge"]}, {}) == {"type": ["iotEdge"]}


def test_edge_device_uses_the_preview_version_and_refuses_a_pinned_stable_one():
    api = FakeApi()
    action, device, _diff = ensure_device(api, device_spec(edge=True))
    assert action == "created" and device["type"] == ["iotEdge"]
    assert api.writes[0][3] == {"api_version": PREVIEW_API_VERSION}
    pinned = FakeApi(pinned=STABLE_API_VERSION)
    with pytest.raises(IoTCentralError, match="IoT Edge"):
        ensure_device(pinned, device_spec(edge=True))
    assert pinned.calls == []


def test_plain_devices_keep_the_client_version():
    api = FakeApi()
    ensure_device(api, device_spec(display_name="x"))
    assert api.writes[0][3] == {"api_version": None}


def test_manifest_assigned_by_id_and_content():
    manifest = dict(STORED)
    assert not manifest_assigned({}, manifest)
    assert manifest_assigned({"deploymentManifest": {"id": "envsensorv1"}}, manifest)
    assert not manifest_assigned({"deploymentManifest": {"id": "other", "data": DATA}}, manifest)
    assert manifest_assigned({"deploymentManifest": {"data": DATA}}, manifest)
    assert not manifest_assigned({"deploymentManifest": {"id": "envsensorv1", "data": {"modulesContent": {}}}}, manifest)
    assert apply_body(manifest) == {"data": DATA, "displayName": "Env sensor"}


def test_create_edge_device_and_assign_then_rerun_without_a_write():
    api = edge_api()
    action, device, diff = ensure_edge_device(api, device_spec(edge=True, deployment_manifest="envsensorv1"))
    assert action == "created"
    assert [(call[0], call[1]) for call in api.writes] == [
        ("PUT", "/devices/gw-01"), ("POST", "/devices/gw-01/applyDeploymentManifest")]
    assert api.writes[1][2] == {"data": DATA, "displayName": "Env sensor"}
    assert all(call[3].get("api_version") == PREVIEW_API_VERSION for call in api.calls)
    assert device["deploymentManifest"]["data"] == DATA
    assert diff["after"]["deploymentManifest"] == "envsensorv1" and "deploymentManifest" not in diff["before"]

    action, _device, _diff = ensure_edge_device(api, device_spec(edge=True, deployment_manifest="envsensorv1"))
    assert action == "unchanged" and len(api.writes) == 2


def test_edited_manifest_is_applied_again():
    api = edge_api({"id": "gw-01", "type": ["iotEdge"], "enabled": True, "deploymentManifest": {"data": {"old": 1}}})
    action, device, diff = ensure_edge_device(api, device_spec(deployment_manifest="envsensorv1"))
    assert action == "updated"
    assert [call[0] for call in api.writes] == ["POST"]
    assert device["deploymentManifest"]["data"] == DATA


def test_assignment_in_check_mode_writes_nothing():
    api = edge_api({"id": "gw-01", "type": ["iotEdge"], "enabled": True})
    action, device, _diff = ensure_edge_device(api, device_spec(deployment_manifest="envsensorv1"), check_mode=True)
    assert action == "updated" and api.writes == []
    assert device["deploymentManifest"]["id"] == "envsensorv1"


@pytest.mark.parametrize("device,kwargs,message", [
    (None, dict(edge=False), "is not an IoT Edge device"),
    ({"id": "gw-01", "type": [], "enabled": True}, {}, "set edge: true"),
])
def test_non_edge_devices_are_refused_before_any_write(device, kwargs, message):
    api = edge_api(device)
    with pytest.raises(ValueError, match=message):
        ensure_edge_device(api, device_spec(deployment_manifest="envsensorv1", **kwargs))
    assert api.writes == []


def test_unknown_manifest_is_refused_before_any_write():
    api = edge_api(with_manifest=False)
    with pytest.raises(ValueError, match="deployment manifest envsensorv1 does not exist"):
        ensure_edge_device(api, device_spec(edge=True, deployment_manifest="envsensorv1"))
    assert api.writes == []


def test_bad_manifest_id_on_a_device():
    api = edge_api()
    with pytest.raises(ValueError, match="deployment_manifest 'env-sensor'"):
        ensure_edge_device(api, device_spec(edge=True, deployment_manifest="env-sensor"))
    assert api.calls == []


def test_absent_ignores_the_manifest():
    api = edge_api({"id": "gw-01", "type": ["iotEdge"], "enabled": True})
    action, device, _diff = ensure_edge_device(api, device_spec(state="absent", deployment_manifest="envsensorv1"))
    assert (action, device) == ("deleted", None)
    assert [call[0] for call in api.writes] == ["DELETE"]


def test_a_manifest_shown_by_its_name_only_keeps_its_id_and_is_not_applied_again():
    api = edge_api({"id": "gw-01", "type": ["iotEdge"], "enabled": True})

    def name_only(path, body):
        device = api.objects[path.rsplit("/", 1)[0]]
        device["deploymentManifest"] = {"displayName": body["displayName"]}  # what the service may show
        return dict(device["deploymentManifest"])
    api.on_post = name_only
    action, device, diff = ensure_edge_device(api, device_spec(deployment_manifest="envsensorv1"))
    assert action == "updated"
    assert device["deploymentManifest"] == {"displayName": "Env sensor", "id": "envsensorv1"}
    assert diff["after"]["deploymentManifest"] == "envsensorv1"
    action, device, _diff = ensure_edge_device(api, device_spec(deployment_manifest="envsensorv1"))
    assert action == "unchanged" and len(api.writes) == 1
    assert device["deploymentManifest"]["id"] == "envsensorv1"
