# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Organizations: desired-state logic for the organization and organization_info modules."""

from __future__ import annotations

import re

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import converge_resource, differences, listed, validate_id

# The spec's OrganizationId: ^(?!-)[a-z0-9-]{1,48}[a-z0-9]$ with maxLength 48.
ORGANIZATION_ID_PATTERN = re.compile(r"^(?!-)[a-z0-9-]{1,47}[a-z0-9]$")
ORGANIZATION_FIELDS = (("display_name", "displayName"), ("parent", "parent"))
DIFF_KEYS = ("id", "displayName", "parent")


def validate_organization_id(organization_id, field="id"):
    return validate_id(organization_id, ORGANIZATION_ID_PATTERN, "organization id",
                       "2 to 48 lower-case letters, digits and '-', not starting or ending with '-'", field)


def organization_path(organization_id):
    return IoTCentralClient.path("organizations", organization_id)


def get_organization(client, organization_id):
    return client.get(organization_path(organization_id), allow_404=True)


def list_organizations(client):
    return list(client.paged("/organizations"))


def children_of(organizations, organization_id):
    return sorted(org["id"] for org in organizations if org.get("parent") == organization_id)


def ensure_organization(client, spec, check_mode=False):
    """Converge one organization. ``spec``: id, display_name, parent, state. Returns ``(action, organization, diff)``.

    Before any write: a parent must exist (and not be the organization itself), and an organization that still has
    children is not deleted (the message names them).
    """
    organization_id = validate_organization_id(spec["id"])
    state = spec.get("state") or "present"
    desired = dict((field, spec[option]) for option, field in ORGANIZATION_FIELDS if spec.get(option) is not None)
    parent = desired.get("parent")
    if parent is not None:
        validate_organization_id(parent, field="parent")
        if parent == organization_id:
            raise ValueError("parent: an organization cannot be its own parent (%s)" % organization_id)
    current = get_organization(client, organization_id)

    if state == "absent" and current is not None:
        children = children_of(list_organizations(client), organization_id)
        if children:
            raise ValueError("organization %s still has %d child organization(s): %s; delete or move them first "
                             "(nothing was deleted)" % (organization_id, len(children), listed(children)))
    if state == "present" and parent is not None and (current is None or current.get("parent") != parent):
        if get_organization(client, parent) is None:
            raise ValueError("parent: organization %s does not exist in this application; create it first (nothing "
                             "was changed)" % parent)

    def create_body():
        # The service requires a display name; like devices, an organization is named after its id by default.
        return dict(desired, displayName=desired.get("displayName") or organization_id)

    return converge_resource(client, organization_path(organization_id), organization_id, state, current, desired,
                             differences, create_body, DIFF_KEYS, "Organization %s" % organization_id,
                             check_mode=check_mode)
