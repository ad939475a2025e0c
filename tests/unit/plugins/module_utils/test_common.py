"""Unit tests of the comparison and module-wrapper helpers shared by every module."""

from __future__ import annotations

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import diff_view, differences
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
