"""Unit tests of the device desired-state logic, with a fake client that records calls."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralError
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import (
    device_status,
    ensure_device,
    validate_device_id,
)


class FakeClient:
    """Stores devices by id; records every write as (method, path, body)."""

    path = staticmethod(lambda *segments: "".join("/" + s for s in segments))

    def __init__(self, devices=None, fail_patch_with=None, templates=("dtmi:x;1", "dtmi:y;1")):
        self.devices = dict((k, dict(v)) for k, v in (devices or {}).items())
        self.templates = set(templates)
        self.reads = []
        self.writes = []
        self.fail_patch_with = list(fail_patch_with or [])
        self.etag = 0

    def _next_etag(self):
        self.etag += 1
        return "etag-%d" % self.etag

    def get(self, path, allow_404=False, **_kwargs):
        self.reads.append(path)
        if path.startswith("/deviceTemplates/"):
            template_id = unquote(path.rsplit("/", 1)[1])
            return {"@id": template_id} if template_id in self.templates else None
        device = self.devices.get(path.rsplit("/", 1)[1])
        if device is None and not allow_404:
            raise IoTCentralError("not found", status=404)
        return None if device is None else dict(device)

    def put(self, path, body, **_kwargs):
        self.writes.append(("PUT", path, body))
        device_id = path.rsplit("/", 1)[1]
        device = dict(body, id=device_id, provisioned=False, etag=self._next_etag())
        device.setdefault("enabled", True)
        self.devices[device_id] = device
        return dict(device)

    def patch(self, path, body, **_kwargs):
        self.writes.append(("PATCH", path, body))
        if self.fail_patch_with:
            raise self.fail_patch_with.pop(0)
        device_id = path.rsplit("/", 1)[1]
        self.devices[device_id].update(dict((k, v) for k, v in body.items() if k != "etag"))
        self.devices[device_id]["etag"] = self._next_etag()
        return dict(self.devices[device_id])

    def delete(self, path, **_kwargs):
        self.writes.append(("DELETE", path, None))
        return self.devices.pop(path.rsplit("/", 1)[1], None) is not None


EXISTING = {"id": "t1", "displayName": "T1", "template": "dtmi:x;1", "enabled": True, "simulated": False,
            "provisioned": True, "organizations": ["b", "a"], "etag": "e0"}


@pytest.mark.parametrize("enabled,provisioned,status", [
    (False, False, "blocked"),
    (True, False, "registered"),
    (True, True, "provisioned"),
    (False, True, "blocked"),
])
def test_every_disabled_device_is_blocked_like_the_az_cli(enabled, provisioned, status):
    assert device_status({"enabled": enabled, "provisioned": provisioned}) == status


@pytest.mark.parametrize("bad", ["bad_id", "has space", "dot.ted", "", "x" * 129, None, 12])
def test_invalid_ids_are_refused_with_the_rule(bad):
    with pytest.raises(ValueError, match="letters, digits and '-'"):
        validate_device_id(bad)


def test_valid_id():
    assert validate_device_id("Checkout-Thermostat-01") == "Checkout-Thermostat-01"


def test_create_sends_only_what_was_asked():
    client = FakeClient()
    action, device, diff = ensure_device(client, {"id": "t1", "display_name": "T1", "enabled": None})
    assert action == "created"
    assert client.writes == [("PUT", "/devices/t1", {"displayName": "T1"})]
    assert diff["before"] == {} and diff["after"]["displayName"] == "T1"


def test_check_mode_sends_nothing():
    client = FakeClient()
    action, device, _unused = ensure_device(client, {"id": "t1", "display_name": "T1"}, check_mode=True)
    assert action == "created" and device["displayName"] == "T1" and client.writes == []
    client = FakeClient({"t1": EXISTING})
    action, device, diff = ensure_device(client, {"id": "t1", "enabled": False}, check_mode=True)
    assert action == "updated" and device["enabled"] is False and client.writes == []
    assert diff["before"]["enabled"] is True and diff["after"]["enabled"] is False
    action, _device, _diff = ensure_device(client, {"id": "t1", "state": "absent"}, check_mode=True)
    assert action == "deleted" and client.writes == []


def test_unchanged_ignores_server_fields():
    client = FakeClient({"t1": dict(EXISTING, organizations=["a"])})
    spec = {"id": "t1", "display_name": "T1", "template": "dtmi:x;1", "organizations": ["a"], "enabled": True}
    action, _device, _diff = ensure_device(client, spec)
    assert action == "unchanged" and client.writes == []
    assert client.reads == ["/devices/t1"]  # an unchanged template is not read


def test_more_than_one_organization_is_refused_before_any_call():
    client = FakeClient({"t1": EXISTING})
    with pytest.raises(ValueError, match=r"^organizations: IoT Central allows at most one organization, got 2"):
        ensure_device(client, {"id": "t1", "organizations": ["a", "b"]})
    assert client.writes == [] and client.reads == []


@pytest.mark.parametrize("current", [None, EXISTING])
def test_a_template_that_does_not_exist_is_refused_before_any_write(current):
    client = FakeClient({"t1": current} if current else {})
    with pytest.raises(ValueError, match=r"^template: device template 'dtmi:nope;1' does not exist in this application"):
        ensure_device(client, {"id": "t1", "template": "dtmi:nope;1"})
    assert client.writes == []
    action, _device, _diff = ensure_device(client, {"id": "t1", "template": "dtmi:y;1"})
    assert action == ("created" if current is None else "updated")


def test_check_mode_create_shows_the_device_as_the_service_would_create_it():
    client = FakeClient()
    action, device, diff = ensure_device(client, {"id": "new1", "template": "dtmi:x;1"}, check_mode=True)
    assert action == "created" and client.writes == []
    assert device == {"id": "new1", "displayName": "new1", "template": "dtmi:x;1", "enabled": True, "simulated": False,
                      "provisioned": False}
    assert diff["after"] == device


def test_update_patches_only_the_difference_with_etag():
    client = FakeClient({"t1": EXISTING})
    action, device, _unused = ensure_device(client, {"id": "t1", "display_name": "T1", "enabled": False})
    assert action == "updated"
    assert client.writes == [("PATCH", "/devices/t1", {"enabled": False, "etag": "e0"})]
    assert device["enabled"] is False


def test_412_rereads_once_and_retries_only_what_still_differs():
    client = FakeClient({"t1": EXISTING}, fail_patch_with=[IoTCentralError("stale", status=412)])
    action, device, _unused = ensure_device(client, {"id": "t1", "enabled": False})
    assert action == "updated"
    assert [w[0] for w in client.writes] == ["PATCH", "PATCH"]
    assert device["enabled"] is False


def test_other_errors_propagate():
    client = FakeClient({"t1": EXISTING}, fail_patch_with=[IoTCentralError("bad", status=422)])
    with pytest.raises(IoTCentralError):
        ensure_device(client, {"id": "t1", "enabled": False})


def test_absent_deletes_and_is_idempotent():
    client = FakeClient({"t1": EXISTING})
    assert ensure_device(client, {"id": "t1", "state": "absent"})[0] == "deleted"
    assert ensure_device(client, {"id": "t1", "state": "absent"})[0] == "unchanged"
    assert client.writes == [("DELETE", "/devices/t1", None)]


def test_bulk_caller_can_pass_current_state_and_skip_the_get():
    client = FakeClient()
    action, _device, _diff = ensure_device(client, {"id": "t1", "enabled": True}, current=dict(EXISTING), current_known=True)
    assert action == "unchanged" and client.writes == []


def test_empty_organizations_match_a_device_the_api_shows_without_any():
    current = dict(EXISTING)
    del current["organizations"]
    client = FakeClient({"t1": current})
    action, _device, _diff = ensure_device(client, {"id": "t1", "organizations": []})
    assert action == "unchanged" and client.writes == []
    action, _device, _diff = ensure_device(client, {"id": "t1", "organizations": ["x"]})
    assert action == "updated"
