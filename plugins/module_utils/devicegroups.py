# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Device groups: desired-state logic for the device_group and device_group_info modules."""

from __future__ import annotations

import re

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import (
    PREVIEW_API_VERSION,
    IoTCentralClient,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import converge_resource, differences, validate_id
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import check_organizations, with_status

# The spec's DeviceGroupId: pattern ^[a-zA-Z0-9_-]*$, maxLength 255 (an empty id cannot name a resource).
GROUP_ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")

GROUP_FIELDS = (
    ("display_name", "displayName"),
    ("description", "description"),
    ("filter", "filter"),
    ("organizations", "organizations"),
)
DIFF_KEYS = ("id", "displayName", "description", "filter", "organizations")
# The device properties a device group query can name ($-prefixed, case-insensitive); capability references
# (without "$") are left to the service.
QUERY_FIELDS = ("$id", "$displayName", "$template", "$provisioned", "$simulated", "$enabled", "$organizations")
_QUERY_TOKEN = re.compile(r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|(\$[A-Za-z_][A-Za-z0-9_]*)""")


def check_group_query(query, field="filter"):
    """Refuse, before any write, a query that names a ``$`` field the query language does not have."""
    known = dict((name.lower(), name) for name in QUERY_FIELDS)
    for match in _QUERY_TOKEN.finditer(query or ""):
        name = match.group(1)
        if name is not None and name.lower() not in known:
            raise ValueError("%s: the device query names %s, which is not a field of the query language (at position "
                             "%d); use one of %s" % (field, name[:50], match.start(1), ", ".join(QUERY_FIELDS)))
    return query


def validate_group_id(group_id, field="id"):
    return validate_id(group_id, GROUP_ID_PATTERN, "device group id", "1 to 255 letters, digits, '_' and '-'", field)


def group_path(group_id, *rest):
    return IoTCentralClient.path("deviceGroups", group_id, *rest)


def desired_group_fields(spec):
    check_organizations(spec.get("organizations"))
    check_group_query(spec.get("filter"))
    body = {}
    for option, field in GROUP_FIELDS:
        value = spec.get(option)
        if value is not None:
            body[field] = value
    return body


def compare_group(desired, current):
    return differences(desired, current, list_as_set=("organizations",))


def get_group(client, group_id):
    return client.get(group_path(group_id), allow_404=True)


def ensure_device_group(client, spec, check_mode=False):
    """Converge one device group. Returns ``(action, group, diff)``; action created/updated/deleted/unchanged."""
    group_id = validate_group_id(spec["id"])
    desired = desired_group_fields(spec)

    def create_body():
        if "filter" not in desired:
            # The service requires it: refusing here names the option instead of a 4xx after the fact.
            raise ValueError("device group %s does not exist; filter is needed to create it" % group_id)
        # displayName is required by the service too; like a device, a group is named after its id by default.
        return dict(desired, displayName=desired.get("displayName") or group_id)

    return converge_resource(client, group_path(group_id), group_id, spec.get("state") or "present",
                             get_group(client, group_id), desired, compare_group, create_body, DIFF_KEYS,
                             "Device group %s" % group_id, check_mode=check_mode,
                             put_defaults={"description": None, "organizations": None})


def list_device_groups(client):
    return list(client.paged("/deviceGroups"))


def list_group_members(client, group_id, page_size=None):
    """Devices of a group (every page), each with its computed status.

    Page size is a preview-only parameter of this operation, so it is only sent with that version.
    """
    version = client.list_api_version()
    params = {}
    if page_size is not None and version == PREVIEW_API_VERSION:
        params = client.list_params(page_size=page_size, api_version=version)
    return [with_status(device) for device in client.paged(group_path(group_id, "devices"), params=params, api_version=version)]
