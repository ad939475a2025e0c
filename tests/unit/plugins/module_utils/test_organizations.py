"""Unit tests of organizations: ids, the parent check and the children check, before any write."""

from __future__ import annotations

import pytest
from ansible_collections.fleetops.iotcentral.tests.unit.plugins.module_utils.test_devicegroups import FakeApi

from ansible_collections.fleetops.iotcentral.plugins.module_utils.organizations import (
    ensure_organization,
    validate_organization_id,
)

HIERARCHY = {"/organizations/washington": {"id": "washington", "displayName": "Washington"},
             "/organizations/seattle": {"id": "seattle", "displayName": "Seattle", "parent": "washington"}}


def spec(**kwargs):
    base = {"id": "sales", "display_name": None, "parent": None, "state": "present"}
    base.update(kwargs)
    return base


def api():
    fake = FakeApi(HIERARCHY)
    for obj in fake.objects.values():
        obj.pop("etag")  # organizations have no etag
    return fake


@pytest.mark.parametrize("good", ["ab", "seattle", "sales-east", "a" * 48, "0a"])
def test_organization_ids(good):
    assert validate_organization_id(good) == good


@pytest.mark.parametrize("bad", ["a", "-ab", "ab-", "Seattle", "a_b", "a" * 49, None])
def test_bad_organization_ids(bad):
    with pytest.raises(ValueError, match="is not a valid organization id"):
        validate_organization_id(bad)


def test_create_under_a_parent_then_rerun_without_a_write():
    fake = api()
    action, org, _diff = ensure_organization(fake, spec(parent="seattle"), check_mode=True)
    assert action == "created" and fake.writes == [] and org == {"id": "sales", "displayName": "sales", "parent": "seattle"}
    action, _org, _diff = ensure_organization(fake, spec(parent="seattle", display_name="Sales"))
    assert action == "created" and fake.writes[0][2] == {"displayName": "Sales", "parent": "seattle"}
    assert ensure_organization(fake, spec(parent="seattle", display_name="Sales"))[0] == "unchanged"
    assert len(fake.writes) == 1
    # The parent was read by the check-mode run and the create; the re-run, with the parent unchanged, did not read it.
    assert [c[1] for c in fake.calls if c[0] == "GET"].count("/organizations/seattle") == 2


@pytest.mark.parametrize("kwargs, message", [
    (dict(parent="atlantis"), "^parent: organization atlantis does not exist in this application"),
    (dict(parent="sales"), "^parent: an organization cannot be its own parent"),
    (dict(parent="Bad_Parent"), "^parent 'Bad_Parent' is not a valid organization id"),
])
def test_a_bad_parent_is_refused_before_any_write(kwargs, message):
    fake = api()
    with pytest.raises(ValueError, match=message):
        ensure_organization(fake, spec(**kwargs))
    assert fake.writes == []


def test_an_organization_with_children_is_not_deleted():
    fake = api()
    with pytest.raises(ValueError, match=r"^organization washington still has 1 child organization\(s\): seattle; "):
        ensure_organization(fake, spec(id="washington", state="absent"))
    assert fake.writes == []
    assert ensure_organization(fake, spec(id="seattle", state="absent"))[0] == "deleted"
