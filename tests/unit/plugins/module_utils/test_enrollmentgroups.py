"""Unit tests of the enrollment group logic: key masking, merge-patch updates, attestation changes."""

from __future__ import annotations

import base64

import pytest
from ansible_collections.fleetops.iotcentral.tests.unit.plugins.module_utils.test_devicegroups import (
    FakeApi,
)

from ansible_collections.fleetops.iotcentral.plugins.module_utils.enrollmentgroups import (
    ensure_enrollment_group,
    list_enrollment_groups,
    mask_group,
    read_enrollment_group,
    validate_enrollment_group_id,
    validate_group_key,
)

PATH = "/enrollmentGroups/eg1"
KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()
KEY_C = base64.b64encode(b"c" * 64).decode()
GENERATED = (base64.b64encode(b"g" * 64).decode(), base64.b64encode(b"h" * 64).decode())


def generate_keys(path, body, current):
    """Like the service: a symmetric-key group without keys gets generated ones."""
    attestation = body.get("attestation") or {}
    if attestation.get("type") == "symmetricKey" and not attestation.get("symmetricKey"):
        attestation["symmetricKey"] = {"primaryKey": GENERATED[0], "secondaryKey": GENERATED[1]}
    if attestation.get("type") == "x509":
        attestation.setdefault("x509", {"signingCertificates": {}})
    return body


def sas_group(**extra):
    group = {"id": "eg1", "displayName": "EG1", "enabled": True, "type": "iot", "etag": "e0",
             "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": KEY_A, "secondaryKey": KEY_B}}}
    group.update(extra)
    return group


def api_with(group=None):
    return FakeApi({PATH: group} if group else None, on_put=generate_keys)


def spec(**kwargs):
    base = {"id": "eg1", "display_name": None, "enabled": None, "type": None, "attestation": None,
            "primary_key": None, "secondary_key": None, "recreate_on_attestation_change": False, "state": "present"}
    base.update(kwargs)
    return base


def no_secrets(*values):
    text = repr(values)
    return all(secret not in text for secret in (KEY_A, KEY_B, KEY_C) + GENERATED)


@pytest.mark.parametrize("bad", ["with_underscore", "", "sp ace", "x" * 256, None])
def test_enrollment_group_ids_refuse_underscores_and_the_rest(bad):
    with pytest.raises(ValueError, match="not a valid enrollment group id"):
        validate_enrollment_group_id(bad)


def test_valid_enrollment_group_id():
    assert validate_enrollment_group_id("my-x509-eg") == "my-x509-eg"


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"short").decode(), base64.b64encode(b"x" * 65).decode(), ""])
def test_bad_keys_are_refused_without_echoing_them(bad):
    with pytest.raises(ValueError) as info:
        validate_group_key(bad, "primary_key")
    assert "primary_key must be base64" in str(info.value)
    if bad:
        assert bad not in str(info.value)


def test_create_symmetric_key_group_lets_the_service_generate_keys_and_hides_them():
    api = api_with()
    action, group, diff = ensure_enrollment_group(api, spec(attestation="symmetric_key"))
    assert action == "created"
    assert api.writes[0][:3] == ("PUT", PATH, {"displayName": "eg1", "enabled": True, "type": "iot",
                                               "attestation": {"type": "symmetricKey"}})
    assert group["attestation"] == {"type": "symmetricKey"}
    assert diff["after"]["attestation"] == {"type": "symmetricKey"}
    assert no_secrets(group, diff)
    assert api.objects[PATH]["attestation"]["symmetricKey"]["primaryKey"] == GENERATED[0]


def test_create_with_own_keys_sends_them_and_hides_them():
    api = api_with()
    action, group, diff = ensure_enrollment_group(
        api, spec(attestation="symmetric_key", primary_key=KEY_A, secondary_key=KEY_B, enabled=False, type="iotEdge",
                  display_name="Gateways"))
    assert action == "created"
    body = api.writes[0][2]
    assert body["attestation"]["symmetricKey"] == {"primaryKey": KEY_A, "secondaryKey": KEY_B}
    assert (body["enabled"], body["type"], body["displayName"]) == (False, "iotEdge", "Gateways")
    assert no_secrets(group, diff)


def test_create_in_check_mode_writes_nothing_and_hides_keys():
    api = api_with()
    action, group, diff = ensure_enrollment_group(
        api, spec(attestation="symmetric_key", primary_key=KEY_A, secondary_key=KEY_B), check_mode=True)
    assert action == "created" and api.writes == []
    assert no_secrets(group, diff)


@pytest.mark.parametrize("kwargs,message", [
    (dict(attestation="symmetric_key", primary_key=KEY_A), "give both primary_key and secondary_key"),
    (dict(attestation="x509", primary_key=KEY_A), "only apply to attestation=symmetric_key"),
    (dict(display_name="No attestation"), "attestation .* is needed to create it"),
    (dict(attestation="tpm"), "attestation must be one of"),
])
def test_create_refusals_happen_before_any_write(kwargs, message):
    api = api_with()
    with pytest.raises(ValueError, match=message) as info:
        ensure_enrollment_group(api, spec(**kwargs))
    assert api.writes == []
    assert "\n" not in str(info.value) and KEY_A not in str(info.value)


def test_same_settings_and_keys_are_unchanged_without_a_write():
    api = api_with(sas_group())
    action, group, diff = ensure_enrollment_group(
        api, spec(display_name="EG1", enabled=True, type="iot", attestation="symmetric_key",
                  primary_key=KEY_A, secondary_key=KEY_B))
    assert action == "unchanged" and api.writes == []
    assert no_secrets(group, diff)


def test_update_never_sends_enabled_unless_asked_so_a_disabled_group_stays_disabled():
    api = api_with(sas_group(enabled=False))
    action, group, _diff = ensure_enrollment_group(api, spec(display_name="Renamed", attestation="symmetric_key"))
    assert action == "updated"
    method, path, body, extra = api.writes[0]
    assert (method, path) == ("PATCH", PATH)
    assert body == {"displayName": "Renamed", "etag": "e0"}
    assert extra["content_type"] == "application/merge-patch+json"
    assert group["enabled"] is False


def test_enabled_is_sent_when_asked_and_different():
    api = api_with(sas_group(enabled=False))
    ensure_enrollment_group(api, spec(enabled=True))
    assert api.writes[0][2] == {"enabled": True, "etag": "e0"}


def test_key_change_sends_both_keys_and_shows_only_a_marker():
    api = api_with(sas_group())
    action, group, diff = ensure_enrollment_group(api, spec(secondary_key=KEY_C), check_mode=True)
    assert action == "updated" and api.writes == []
    assert diff["after"]["symmetricKeys"] == "(new keys, hidden)"
    assert no_secrets(group, diff)

    action, group, diff = ensure_enrollment_group(api, spec(secondary_key=KEY_C))
    assert action == "updated"
    assert api.writes[0][2] == {"attestation": {"type": "symmetricKey",
                                                "symmetricKey": {"primaryKey": KEY_A, "secondaryKey": KEY_C}},
                                "etag": "e0"}
    assert no_secrets(group, diff)
    assert api.objects[PATH]["attestation"]["symmetricKey"]["secondaryKey"] == KEY_C


def test_attestation_change_is_refused_in_one_line_without_a_write():
    api = api_with(sas_group())
    for check_mode in (True, False):
        with pytest.raises(ValueError) as info:
            ensure_enrollment_group(api, spec(attestation="x509"), check_mode=check_mode)
        message = str(info.value)
        assert "uses symmetric_key attestation" in message and "recreate_on_attestation_change=true" in message
        assert "\n" not in message
    assert api.writes == []


def test_attestation_change_with_opt_in_recreates_keeping_current_settings():
    api = api_with(sas_group(enabled=False, displayName="Keep me", type="iotEdge"))
    action, group, diff = ensure_enrollment_group(
        api, spec(attestation="x509", recreate_on_attestation_change=True), check_mode=True)
    assert action == "recreated" and api.writes == []

    action, group, diff = ensure_enrollment_group(api, spec(attestation="x509", recreate_on_attestation_change=True))
    assert action == "recreated"
    assert [call[0] for call in api.writes] == ["DELETE", "PUT"]
    assert api.writes[1][2] == {"displayName": "Keep me", "enabled": False, "type": "iotEdge",
                                "attestation": {"type": "x509"}}
    assert group["attestation"]["type"] == "x509"
    assert diff["before"]["attestation"] == {"type": "symmetricKey"} and diff["after"]["attestation"] == {"type": "x509"}
    assert no_secrets(group, diff)


def test_keys_for_an_x509_group_are_refused():
    api = api_with({"id": "eg1", "displayName": "X", "enabled": True, "type": "iot", "etag": "e0",
                    "attestation": {"type": "x509", "x509": {"signingCertificates": {}}}})
    with pytest.raises(ValueError, match="uses x509 attestation"):
        ensure_enrollment_group(api, spec(primary_key=KEY_A))
    assert api.writes == []


def test_delete():
    api = api_with(sas_group())
    action, group, diff = ensure_enrollment_group(api, spec(state="absent"))
    assert (action, group) == ("deleted", None)
    assert no_secrets(diff)
    assert ensure_enrollment_group(api, spec(state="absent"))[0] == "unchanged"


def test_mask_and_read():
    group = sas_group()
    masked = mask_group(group)
    assert "symmetricKey" not in masked["attestation"]
    assert group["attestation"]["symmetricKey"]["primaryKey"] == KEY_A  # the original is untouched
    api = api_with(group)
    assert no_secrets(read_enrollment_group(api, "eg1"), list_enrollment_groups(api))
    assert read_enrollment_group(api, "eg1", include_keys=True)["attestation"]["symmetricKey"]["primaryKey"] == KEY_A
    assert list_enrollment_groups(api, include_keys=True)[0]["attestation"]["symmetricKey"]["secondaryKey"] == KEY_B
    assert read_enrollment_group(api, "missing") is None
