"""Unit tests of the device group logic, and home of FakeApi, the in-memory client the group, enrollment,
certificate and manifest tests share (they import it from here)."""

from __future__ import annotations

import copy
from urllib.parse import unquote

import pytest

# The fake applies PATCH bodies as the emulator does (RFC 7396), from the one implementation.
from emulator.common import merge_patch as merge

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import (
    PREVIEW_API_VERSION,
    STABLE_API_VERSION,
    IoTCentralClient,
    IoTCentralError,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devicegroups import (
    ensure_device_group,
    list_device_groups,
    list_group_members,
    validate_group_id,
)


class FakeApi:
    """Stands in for IoTCentralClient: objects by path, etags, merge-patch PATCH, recorded calls.

    ``on_put(path, body, current)`` / ``on_post(path, body)`` hooks give resources their own behaviour;
    ``fail_next`` holds errors to raise from the next call of a method, e.g. ``[("PATCH", error)]``.
    """

    path = staticmethod(IoTCentralClient.path)

    def __init__(self, objects=None, pinned=None, on_put=None, on_post=None, collections=None):
        self.counter = 0
        self.objects = {}
        for path, obj in (objects or {}).items():
            self.objects[path] = dict(obj, etag=obj.get("etag") or self.new_etag())
        self.collections = dict(collections or {})
        self.pinned = pinned
        self.on_put = on_put
        self.on_post = on_post
        self.calls = []
        self.fail_next = []

    # -- versions
    @property
    def api_version_pinned(self):
        return self.pinned is not None

    def require_preview(self, feature):
        if self.pinned and self.pinned != PREVIEW_API_VERSION:
            raise IoTCentralError("%s needs api_version %s, but api_version is pinned to %s"
                                  % (feature, PREVIEW_API_VERSION, self.pinned))
        return PREVIEW_API_VERSION

    def list_api_version(self):
        return self.pinned or PREVIEW_API_VERSION

    def list_params(self, filter=None, order_by=None, page_size=None, api_version=None):  # pylint: disable=redefined-builtin
        return IoTCentralClient.list_params(self, filter=filter, order_by=order_by, page_size=page_size,
                                            api_version=api_version)

    # -- bookkeeping
    def new_etag(self):
        self.counter += 1
        return "etag-%d" % self.counter

    @property
    def writes(self):
        return [call for call in self.calls if call[0] != "GET"]

    def _record(self, method, path, body=None, **extra):
        self.calls.append((method, path, copy.deepcopy(body), extra))
        for index, (failing_method, error) in enumerate(self.fail_next):
            if failing_method == method:
                del self.fail_next[index]
                raise error

    # -- HTTP verbs
    def get(self, path, params=None, api_version=None, allow_404=False):
        self._record("GET", path, api_version=api_version, params=params)
        obj = self.objects.get(path)
        if obj is None:
            if allow_404:
                return None
            raise IoTCentralError("not found", status=404)
        return copy.deepcopy(obj)

    def put(self, path, body, api_version=None, headers=None):
        self._record("PUT", path, body, api_version=api_version)
        current = self.objects.get(path)
        if body.get("etag") is not None and (current is None or current.get("etag") != body["etag"]):
            raise IoTCentralError("etag mismatch", status=412)
        obj = self.on_put(path, copy.deepcopy(body), current) if self.on_put else copy.deepcopy(body)
        obj.pop("etag", None)
        obj.setdefault("id", unquote(path.rsplit("/", 1)[1]))
        obj["etag"] = self.new_etag()
        self.objects[path] = obj
        return copy.deepcopy(obj)

    def patch(self, path, body, api_version=None, content_type="application/json", headers=None):
        self._record("PATCH", path, body, api_version=api_version, content_type=content_type)
        current = self.objects.get(path)
        if current is None:
            raise IoTCentralError("not found", status=404)
        if body.get("etag") is not None and current.get("etag") != body["etag"]:
            raise IoTCentralError("etag mismatch", status=412)
        updated = merge(current, dict((k, v) for k, v in body.items() if k != "etag"))
        updated["etag"] = self.new_etag()
        self.objects[path] = updated
        return copy.deepcopy(updated)

    def post(self, path, body=None, api_version=None):
        self._record("POST", path, body, api_version=api_version)
        return self.on_post(path, copy.deepcopy(body)) if self.on_post else None

    def delete(self, path, api_version=None, allow_404=True):
        self._record("DELETE", path, api_version=api_version)
        return self.objects.pop(path, None) is not None

    def paged(self, path, params=None, api_version=None, limit=None):
        self._record("GET", path, api_version=api_version, params=params)
        if path in self.collections:
            items = self.collections[path]
        else:
            depth = path.count("/") + 1
            items = [obj for key, obj in sorted(self.objects.items())
                     if key.startswith(path + "/") and key.count("/") == depth]
        for item in items[:limit]:
            yield copy.deepcopy(item)


QUERY = 'SELECT * FROM devices WHERE $template = "dtmi:contoso:Thermostat;1" AND $provisioned = true'
EXISTING = {"id": "g1", "displayName": "G1", "description": "d", "filter": QUERY, "organizations": ["a"],
            "etag": "e0"}


def spec(**kwargs):
    base = {"id": "g1", "display_name": None, "description": None, "filter": None, "organizations": None,
            "state": "present"}
    base.update(kwargs)
    return base


@pytest.mark.parametrize("good", ["g1", "with_underscore-and-dash", "x" * 255, "A_B-9"])
def test_group_ids_follow_the_spec_pattern(good):
    assert validate_group_id(good) == good


@pytest.mark.parametrize("bad", ["", "has space", "dot.ted", "x" * 256, "semi;colon", None, 5])
def test_bad_group_ids_are_refused(bad):
    with pytest.raises(ValueError, match="not a valid device group id"):
        validate_group_id(bad)


def test_create_in_check_mode_writes_nothing():
    api = FakeApi()
    action, group, diff = ensure_device_group(api, spec(filter=QUERY, display_name="G"), check_mode=True)
    assert action == "created"
    assert group == {"id": "g1", "displayName": "G", "filter": QUERY}
    assert diff["before"] == {} and diff["after"]["filter"] == QUERY
    assert api.writes == []


def test_create_puts_only_what_was_set_and_names_the_group_after_its_id():
    api = FakeApi()
    action, group, _diff = ensure_device_group(api, spec(filter=QUERY), check_mode=False)
    assert action == "created"
    assert api.writes == [("PUT", "/deviceGroups/g1", {"displayName": "g1", "filter": QUERY}, {"api_version": None})]
    assert group["etag"]


def test_create_without_filter_is_refused_before_any_write():
    api = FakeApi()
    with pytest.raises(ValueError, match="filter is needed to create it"):
        ensure_device_group(api, spec(display_name="G"))
    assert api.writes == []


@pytest.mark.parametrize("query, message", [
    ('SELECT * FROM devices WHERE $colour = "red"', r"^filter: the device query names \$colour, which is not a field "
                                                    r"of the query language \(at position 28\); use one of \$id, "),
    ("SELECT * FROM devices WHERE $template = 'x' OR $Provisioned = true AND $ts = 1", r"names \$ts, .*position 71"),
])
def test_a_query_naming_an_unknown_field_is_refused_before_any_call(query, message):
    api = FakeApi({"/deviceGroups/g1": EXISTING})
    with pytest.raises(ValueError, match=message):
        ensure_device_group(api, spec(filter=query))
    assert api.writes == [] and api.calls == []


def test_a_dollar_inside_a_string_is_not_a_field():
    api = FakeApi({"/deviceGroups/g1": EXISTING})
    query = 'SELECT * FROM devices WHERE $displayName = "costs $5" AND $ENABLED = true'
    action, _group, _diff = ensure_device_group(api, spec(filter=query))
    assert action == "updated"


def test_more_than_one_organization_is_refused_before_any_call():
    api = FakeApi({"/deviceGroups/g1": EXISTING})
    with pytest.raises(ValueError, match=r"^organizations: IoT Central allows at most one organization, got 2"):
        ensure_device_group(api, spec(organizations=["a", "b"]))
    assert api.calls == []


def test_same_settings_are_unchanged_and_send_nothing():
    api = FakeApi({"/deviceGroups/g1": EXISTING})
    action, group, diff = ensure_device_group(
        api, spec(display_name="G1", filter=QUERY, organizations=["a"]))
    assert action == "unchanged"
    assert api.writes == []
    assert diff["before"] == diff["after"]
    assert group["id"] == "g1"


def test_update_patches_only_changed_fields_with_the_etag():
    api = FakeApi({"/deviceGroups/g1": EXISTING})
    action, group, diff = ensure_device_group(api, spec(display_name="New", filter=QUERY))
    assert action == "updated"
    assert api.writes == [("PATCH", "/deviceGroups/g1", {"displayName": "New", "etag": "e0"},
                           {"api_version": None, "content_type": "application/json"})]
    assert group["displayName"] == "New" and group["description"] == "d"
    assert diff["before"]["displayName"] == "G1" and diff["after"]["displayName"] == "New"


def test_update_in_check_mode_shows_the_diff_and_writes_nothing():
    api = FakeApi({"/deviceGroups/g1": EXISTING})
    action, group, diff = ensure_device_group(api, spec(organizations=["seattle"]), check_mode=True)
    assert action == "updated"
    assert group["organizations"] == ["seattle"]
    assert diff["after"]["organizations"] == ["seattle"]
    assert api.writes == []


def test_412_rereads_once_and_skips_what_someone_else_already_did():
    api = FakeApi({"/deviceGroups/g1": EXISTING})
    api.fail_next.append(("PATCH", IoTCentralError("changed meanwhile", status=412)))
    original_patch = api.patch

    def concurrent_then_patch(path, body, **kwargs):
        api.objects[path]["displayName"] = "New"
        api.objects[path]["etag"] = "e-other"
        return original_patch(path, body, **kwargs)

    api.patch = concurrent_then_patch
    action, group, _diff = ensure_device_group(api, spec(display_name="New"))
    assert action == "updated"
    assert [call[0] for call in api.writes] == ["PATCH"]
    assert group["displayName"] == "New"


def test_412_then_retry_against_the_fresh_etag():
    api = FakeApi({"/deviceGroups/g1": EXISTING})
    api.fail_next.append(("PATCH", IoTCentralError("changed meanwhile", status=412)))
    action, _group, _diff = ensure_device_group(api, spec(description="new"))
    assert action == "updated"
    patches = [call for call in api.writes if call[0] == "PATCH"]
    assert len(patches) == 2
    assert patches[1][2] == {"description": "new", "etag": "e0"}


def test_other_errors_propagate():
    api = FakeApi({"/deviceGroups/g1": EXISTING})
    api.fail_next.append(("PATCH", IoTCentralError("bad", status=422)))
    with pytest.raises(IoTCentralError):
        ensure_device_group(api, spec(description="new"))


def test_delete_and_delete_again():
    api = FakeApi({"/deviceGroups/g1": EXISTING})
    assert ensure_device_group(api, spec(state="absent"), check_mode=True)[0] == "deleted"
    assert api.writes == []
    action, group, diff = ensure_device_group(api, spec(state="absent"))
    assert (action, group) == ("deleted", None)
    assert diff["before"]["id"] == "g1" and diff["after"] == {}
    assert ensure_device_group(api, spec(state="absent"))[0] == "unchanged"
    assert len(api.writes) == 1


def test_members_carry_status_and_page_size_only_with_the_preview_version():
    members = [{"id": "d1", "enabled": True, "provisioned": True}, {"id": "d2", "enabled": False, "provisioned": False}]
    api = FakeApi(collections={"/deviceGroups/g1/devices": members})
    result = list_group_members(api, "g1", page_size=100)
    assert [(d["id"], d["status"]) for d in result] == [("d1", "provisioned"), ("d2", "blocked")]
    assert api.calls[-1][3] == {"api_version": PREVIEW_API_VERSION, "params": {"maxpagesize": 100}}

    stable = FakeApi(pinned=STABLE_API_VERSION, collections={"/deviceGroups/g1/devices": members})
    list_group_members(stable, "g1", page_size=100)
    assert stable.calls[-1][3] == {"api_version": STABLE_API_VERSION, "params": {}}


def test_list_groups():
    api = FakeApi({"/deviceGroups/g1": EXISTING, "/deviceGroups/g2": dict(EXISTING, id="g2")})
    assert [group["id"] for group in list_device_groups(api)] == ["g1", "g2"]
