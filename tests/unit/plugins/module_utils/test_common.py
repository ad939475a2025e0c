"""Unit tests of the comparison and module-wrapper helpers shared by every module."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import (
    IoTCentralModule,
    decode_base64,
    diff_view,
    differences,
    state_argspec,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devicegroups import compare_group
from ansible_collections.fleetops.iotcentral.plugins.module_utils.manifests import masked


def test_only_asked_fields_are_compared():
    current = {"displayName": "A", "etag": "e1", "provisioned": True}
    assert differences({"displayName": "A", "enabled": None}, current) == {}
    assert differences({"displayName": "B"}, current) == {"displayName": "B"}


def test_lists_as_sets_and_absent_list_is_empty():
    assert differences({"organizations": ["b", "a"]}, {"organizations": ["a", "b"]}, list_as_set=("organizations",)) == {}
    assert differences({"organizations": []}, {"id": "g"}, list_as_set=("organizations",)) == {}
    assert differences({"organizations": ["a"]}, {"id": "g"}, list_as_set=("organizations",)) == {"organizations": ["a"]}
    # A list not declared as a set keeps its order.
    assert differences({"tags": ["b", "a"]}, {"tags": ["a", "b"]}) == {"tags": ["b", "a"]}


def test_device_group_with_empty_organizations_is_unchanged_when_the_api_shows_none():
    assert compare_group({"organizations": [], "displayName": "G"}, {"id": "g", "displayName": "G"}) == {}


def test_diff_view_keeps_only_the_named_keys():
    view = diff_view({"id": "a", "etag": "e", "displayName": "A"}, None, ("id", "displayName"))
    assert view == {"before": {"id": "a", "displayName": "A"}, "after": {}}


def test_manifest_passwords_are_masked_at_any_depth():
    data = {"modulesContent": {"$edgeAgent": {"properties.desired": {"runtime": {"settings": {"registryCredentials": {
        "acr": {"username": "u", "password": "hunter2", "address": "acr.io"}}}}}}}}
    shown = masked(data)
    creds = shown["modulesContent"]["$edgeAgent"]["properties.desired"]["runtime"]["settings"]["registryCredentials"]["acr"]
    assert creds == {"username": "u", "password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER", "address": "acr.io"}
    assert "hunter2" not in repr(shown)
    assert data["modulesContent"]["$edgeAgent"]["properties.desired"]["runtime"]["settings"]["registryCredentials"]["acr"]["password"] == "hunter2"


def test_decode_base64_folds_white_space_and_refuses_what_is_not_base64():
    assert decode_base64(" aGVs\nbG8= ") == ("aGVsbG8=", b"hello")
    assert decode_base64("not base64!") == ("notbase64!", None)
    assert decode_base64("   ") == ("", None)
    assert decode_base64(None) == ("", None)


# ------------------------------------------------------------------------------------ the module wrapper
def wrapper(params, check_mode=False, diff_mode=False, calls=None):
    """An IoTCentralModule around a stand-in AnsibleModule; its client is a marker that records being asked for."""
    module = IoTCentralModule.__new__(IoTCentralModule)
    module.module = SimpleNamespace(params=params, check_mode=check_mode, _diff=diff_mode)
    module._client = "client"  # pylint: disable=protected-access
    if calls is not None:
        module.client_for = lambda: calls.append("client") or "client"
    return module


def test_state_argspec_puts_id_first_and_state_last():
    spec = state_argspec("group_id", display_name=dict(type="str"))
    assert list(spec) == ["id", "display_name", "state"]
    assert spec["id"] == dict(type="str", required=True, aliases=["group_id"])
    assert spec["state"] == dict(type="str", default="present", choices=["present", "absent"])


def test_converge_state_checks_local_input_before_connecting_then_shapes_the_result():
    calls = []

    def validate(value):
        calls.append("validate %s" % value)

    def local_inputs(module):
        calls.append("local inputs")
        return {"extra": 1}

    def ensure(client, params, check_mode=False, extra=None):
        calls.append("ensure %s %s %s" % (client, check_mode, extra))
        return "created", {"id": "a", "secret": "s"}, {"before": {}, "after": {"id": "a", "secret": "s"}}

    def hide(view):
        return dict(view, secret="***") if view else view

    module = wrapper({"id": "a", "state": "present"}, check_mode=True, diff_mode=True, calls=calls)
    result = module.converge_state(ensure, "thing", validate_id=validate, local_inputs=local_inputs,
                                   present_view=hide, diff_side_view=hide)
    assert calls == ["validate a", "local inputs", "client", "ensure client True 1"]
    assert result == {"changed": True, "action": "created", "thing": {"id": "a", "secret": "***"},
                      "diff": {"before": {}, "after": {"id": "a", "secret": "***"}}}


def test_converge_state_refuses_a_bad_id_before_anything_else():
    def refuse(value):
        raise ValueError("id %s is not valid" % value)

    def ensure(*args, **kwargs):
        raise AssertionError("must not be called")

    with pytest.raises(ValueError, match="id x is not valid"):
        wrapper({"id": "x", "state": "present"}).converge_state(ensure, "thing", validate_id=refuse, local_inputs=ensure)


def test_converge_state_absent_shows_no_resource_and_no_diff_outside_diff_mode():
    def ensure(client, params, check_mode=False):
        return "unchanged", None, {"before": {}, "after": {}}

    result = wrapper({"id": "a", "state": "absent"}).converge_state(ensure, "thing", diff_side_view=lambda view: 1 / 0)
    assert result == {"changed": False, "action": "unchanged"}


def test_read_one_or_all():
    def get_one(client, wanted):
        return {"id": wanted} if wanted == "there" else None

    def list_all(client):
        return [{"id": "there"}, {"id": "other"}]

    assert wrapper({"id": None}).read_one_or_all(get_one, list_all) == [{"id": "there"}, {"id": "other"}]
    assert wrapper({"id": "there"}).read_one_or_all(get_one, list_all) == [{"id": "there"}]
    assert wrapper({"id": "gone"}).read_one_or_all(get_one, list_all) == []
    checked = []
    wrapper({"id": "there"}).read_one_or_all(get_one, list_all, validate_id=checked.append)
    wrapper({"id": None}).read_one_or_all(get_one, list_all, validate_id=checked.append)
    assert checked == ["there"]
