# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Enrollment groups: desired-state logic for the enrollment_group and enrollment_group_info modules.

Symmetric group keys grant every device of the group: they are compared and sent, but never returned
(results and diffs carry the group with its keys removed) unless a caller asks for them explicitly.
"""

from __future__ import annotations

import copy
import re

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient, quoted
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import (
    decode_base64,
    differences,
    guarded_patch,
    settle_write,
    validate_id,
)

# The spec's EnrollmentGroupId: ^[a-zA-Z0-9-]*$ (no underscore, unlike device group ids), maxLength 255.
ENROLLMENT_GROUP_ID_PATTERN = re.compile(r"^[a-zA-Z0-9-]{1,255}$")

# Module choice -> API attestation type.
ATTESTATIONS = {"symmetric_key": "symmetricKey", "x509": "x509"}
ATTESTATION_OPTIONS = dict((api, option) for option, api in ATTESTATIONS.items())
GROUP_TYPES = ("iot", "iotEdge")
# DPS accepts symmetric keys of 16 to 64 bytes, base64-encoded.
MIN_KEY_BYTES = 16
MAX_KEY_BYTES = 64

MERGE_PATCH = "application/merge-patch+json"
DIFF_KEYS = ("id", "displayName", "enabled", "type", "attestation")
KEY_FIELDS = (("primary_key", "primaryKey"), ("secondary_key", "secondaryKey"))


def validate_enrollment_group_id(group_id, field="id"):
    return validate_id(group_id, ENROLLMENT_GROUP_ID_PATTERN, "enrollment group id",
                       "1 to 255 letters, digits and '-' (no '_', spaces or dots)", field)


def validate_group_key(value, option):
    """A symmetric key must be base64 of 16 to 64 bytes. The message never repeats the value."""
    text, decoded = decode_base64(value)
    if decoded is None or not MIN_KEY_BYTES <= len(decoded) <= MAX_KEY_BYTES:
        raise ValueError("%s must be base64 of %d to %d bytes (a symmetric key such as IoT Central generates)"
                         % (option, MIN_KEY_BYTES, MAX_KEY_BYTES))
    return text


def enrollment_group_path(group_id, *rest):
    return IoTCentralClient.path("enrollmentGroups", group_id, *rest)


def get_enrollment_group(client, group_id):
    return client.get(enrollment_group_path(group_id), allow_404=True)


def attestation_type(group):
    attestation = (group or {}).get("attestation") or {}
    return attestation.get("type")


def group_keys(group):
    attestation = (group or {}).get("attestation") or {}
    return attestation.get("symmetricKey") or {}


def mask_group(group):
    """A copy of ``group`` without its symmetric keys, safe for results, diffs and logs."""
    if group is None:
        return None
    masked = copy.deepcopy(group)
    attestation = masked.get("attestation")
    if isinstance(attestation, dict):
        attestation.pop("symmetricKey", None)
    return masked


def group_diff_view(before, after, keys_changed=False):
    """--diff before/after without secrets; a key rotation shows as a marker, never as values."""
    def pick(group):
        if not group:
            return {}
        view = dict((key, group[key]) for key in DIFF_KEYS if key in group)
        if isinstance(view.get("attestation"), dict):
            view["attestation"] = {"type": view["attestation"].get("type")}
        return view
    result = {"before": pick(before), "after": pick(after)}
    if keys_changed and before and after:
        result["before"]["symmetricKeys"] = "(current keys, hidden)"
        result["after"]["symmetricKeys"] = "(new keys, hidden)"
    return result


def _check_spec(spec):
    """Option combinations that can be judged without the service; raises ValueError before any call."""
    group_id = validate_enrollment_group_id(spec["id"])
    attestation = spec.get("attestation")
    if attestation is not None and attestation not in ATTESTATIONS:
        raise ValueError("attestation must be one of %s, not %s" % (", ".join(sorted(ATTESTATIONS)), quoted(attestation)))
    if spec.get("type") is not None and spec["type"] not in GROUP_TYPES:
        raise ValueError("type must be one of %s, not %s" % (", ".join(GROUP_TYPES), quoted(spec["type"])))
    keys = {}
    for option, field in KEY_FIELDS:
        if spec.get(option) is not None:
            keys[field] = validate_group_key(spec[option], option)
    if keys and attestation == "x509":
        raise ValueError("primary_key and secondary_key only apply to attestation=symmetric_key, not x509")
    return group_id, keys


def _create_body(group_id, spec, keys, current=None):
    """Body of the PUT that creates the group; ``current`` (a group being recreated) fills in what is not set."""
    current = current or {}
    attestation = {"type": ATTESTATIONS[spec["attestation"]]}
    if keys:
        if len(keys) != len(KEY_FIELDS):
            raise ValueError("give both primary_key and secondary_key (or neither, and IoT Central generates them) "
                             "to create enrollment group %s" % group_id)
        attestation["symmetricKey"] = dict(keys)
    enabled = spec.get("enabled")
    if enabled is None:
        enabled = current.get("enabled", True)
    return {
        "displayName": spec.get("display_name") or current.get("displayName") or group_id,
        "enabled": enabled,
        "type": spec.get("type") or current.get("type") or "iot",
        "attestation": attestation,
    }


def compare_group(desired, current):
    return differences(desired, current)


def ensure_enrollment_group(client, spec, check_mode=False):
    """Converge one enrollment group.

    Returns ``(action, group, diff)``: action created/updated/recreated/deleted/unchanged; ``group`` and
    ``diff`` never contain the symmetric keys.
    """
    group_id, keys = _check_spec(spec)
    state = spec.get("state") or "present"
    path = enrollment_group_path(group_id)
    current = get_enrollment_group(client, group_id)
    what = "Enrollment group %s" % group_id

    def reread():
        return get_enrollment_group(client, group_id)

    def put(body):
        return settle_write(lambda: client.put(path, body), reread, lambda fresh: _shows_body(fresh, body), what)

    if state == "absent":
        if current is None:
            return "unchanged", None, group_diff_view(None, None)
        if not check_mode:
            settle_write(lambda: client.delete(path), reread, lambda fresh: fresh is None, what)
        return "deleted", None, group_diff_view(current, None)

    if current is None:
        if spec.get("attestation") is None:
            raise ValueError("enrollment group %s does not exist; attestation (symmetric_key or x509) is needed "
                             "to create it" % group_id)
        body = _create_body(group_id, spec, keys)
        if check_mode:
            after = dict(body, id=group_id)
            return "created", mask_group(after), group_diff_view(None, after)
        created = put(body)
        return "created", mask_group(created), group_diff_view(None, created)

    current_type = attestation_type(current)
    wanted_type = ATTESTATIONS.get(spec.get("attestation"))
    if wanted_type is not None and wanted_type != current_type:
        if not spec.get("recreate_on_attestation_change"):
            raise ValueError(
                "enrollment group %s uses %s attestation; IoT Central cannot change it to %s in place. Set "
                "recreate_on_attestation_change=true to delete and recreate the group (devices must then "
                "re-provision through the new group)"
                % (group_id, ATTESTATION_OPTIONS.get(current_type, current_type), spec["attestation"])
            )
        body = _create_body(group_id, spec, keys, current=current)
        if check_mode:
            after = dict(body, id=group_id)
            return "recreated", mask_group(after), group_diff_view(current, after)
        settle_write(lambda: client.delete(path), reread, lambda fresh: fresh is None, what)
        created = put(body)
        return "recreated", mask_group(created), group_diff_view(current, created)

    if keys and current_type != "symmetricKey":
        raise ValueError("enrollment group %s uses %s attestation; primary_key and secondary_key only apply to "
                         "symmetric_key groups" % (group_id, ATTESTATION_OPTIONS.get(current_type, current_type)))

    # Only what the user set is compared, and only what differs is sent: in particular enabled is never
    # sent unless asked for, so an update cannot re-enable a group that someone disabled.
    desired = {"displayName": spec.get("display_name"), "enabled": spec.get("enabled"), "type": spec.get("type")}
    delta = compare_group(desired, current)
    current_keys = group_keys(current)
    keys_changed = any(current_keys.get(field) != value for field, value in keys.items())
    if keys_changed:
        # Both keys go out together: absolute values read the same under merge-patch and replace semantics.
        new_keys = dict((field, keys.get(field, current_keys.get(field))) for _option, field in KEY_FIELDS)
        delta["attestation"] = {"type": "symmetricKey", "symmetricKey": new_keys}
    if not delta:
        return "unchanged", mask_group(current), group_diff_view(current, current)
    if check_mode:
        after = dict(current, **delta)
        return "updated", mask_group(after), group_diff_view(current, after, keys_changed)
    updated = settle_write(
        lambda: guarded_patch(client, path, delta, current, _compare_patch, what, content_type=MERGE_PATCH),
        reread, lambda fresh: fresh is not None and not _compare_patch(delta, fresh), what)
    return "updated", mask_group(updated), group_diff_view(current, updated, keys_changed)


def _shows_body(fresh, body):
    """True when a group read back shows what a PUT of ``body`` sets (its keys only when the body gave them)."""
    if fresh is None or attestation_type(fresh) != body["attestation"]["type"]:
        return False
    wanted = dict((key, body[key]) for key in ("displayName", "enabled", "type"))
    if compare_group(wanted, fresh):
        return False
    keys = body["attestation"].get("symmetricKey")
    return keys is None or group_keys(fresh) == keys


def _compare_patch(delta, fresh):
    """Recompute a delta (which may carry keys) against a group read again after a 412."""
    result = compare_group(dict((k, v) for k, v in delta.items() if k != "attestation"), fresh)
    if "attestation" in delta and group_keys(fresh) != delta["attestation"]["symmetricKey"]:
        result["attestation"] = delta["attestation"]
    return result


def list_enrollment_groups(client, include_keys=False):
    groups = list(client.paged("/enrollmentGroups"))
    return groups if include_keys else [mask_group(group) for group in groups]


def read_enrollment_group(client, group_id, include_keys=False):
    group = get_enrollment_group(client, validate_enrollment_group_id(group_id))
    return group if include_keys else mask_group(group)
