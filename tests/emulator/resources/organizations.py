"""Organizations: list, get, create-or-replace, merge-patch, delete (both api-versions).

The application starts with the hierarchy of Microsoft's organizations REST how-to
(``data/organizations.json``: washington with seattle and spokane under it,
redmond, bellevue); a reset brings back exactly that. ``parent`` must name an
existing organization and may not make a cycle (422); without one an
organization sits under the application's top level, which the API does not
show. An organization that still has children cannot be deleted (422 naming
them). Neither api-version declares list parameters or etags for organizations.

:func:`require_organizations` is what devices and device groups use to refuse
an organization that does not exist (422 naming it).
"""

import copy
import json
import os
import re

from ..common import (JSON, MERGE_PATCH, check_id, check_present, expect_type, fetch, json_object, list_response,
                      no_content, ok)
from ..errors import ApiError

PRIORITY = 5
COLLECTION = "organizations"
BUILTIN_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                            "organizations.json")
# The spec's OrganizationId: ^(?!-)[a-z0-9-]{1,48}[a-z0-9]$ with maxLength 48.
ORGANIZATION_ID_RE = re.compile(r"^(?!-)[a-z0-9-]{1,47}[a-z0-9]$")
FIELDS = ("displayName", "parent")


def validate_organization_id(organization_id):
    return check_id(organization_id, ORGANIZATION_ID_RE, "organization",
                    "2 to 48 lower-case letters, digits and '-', not starting or ending with '-'")


def require_organizations(store, ids, field="organizations"):
    """422 naming the first of ``ids`` that is not an organization of the application."""
    known = store.collection(COLLECTION)
    for index, organization_id in enumerate(ids or ()):
        if organization_id not in known:
            raise ApiError(422, "Field '%s[%d]': organization %r does not exist in this application."
                           % (field, index, organization_id[:100]))


def children_of(organizations, organization_id):
    return [org["id"] for org in organizations.values() if org.get("parent") == organization_id]


def render(organization):
    return {key: organization[key] for key in ("id",) + FIELDS if organization.get(key) is not None}


def _validate_fields(body, partial):
    check_present(body, ("displayName",), partial)
    expect_type(body, "displayName", "string")
    expect_type(body, "parent", "string", nullable=True)


def load_organizations(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def register(emulator):
    store = emulator.store
    organizations = store.collection(COLLECTION)
    emulator.id_fields[COLLECTION] = "id"
    configured = load_organizations(BUILTIN_FILE)

    def install():
        if not len(organizations):
            organizations.bulk_put((org["id"], copy.deepcopy(org)) for org in configured)

    emulator.startup_hooks.append(install)
    emulator.reset_hooks.append(install)

    def get_existing(ctx):
        return fetch(organizations, validate_organization_id(ctx.params["organizationId"]), "organization")

    def check_parent(organization_id, parent):
        if parent is None:
            return
        if parent not in organizations:
            raise ApiError(422, "Field 'parent': organization %r does not exist in this application." % parent[:100])
        ancestor = parent
        while ancestor is not None:
            if ancestor == organization_id:
                raise ApiError(422, "Field 'parent': %r is %s, which would make a cycle." % (
                    parent, "the organization itself" if parent == organization_id else "below this organization"))
            ancestor = (organizations.get(ancestor) or {}).get("parent")

    def list_organizations(ctx):
        return list_response(ctx, organizations, [], {}, render, supported=())

    def get_organization(ctx):
        return ok(render(get_existing(ctx)))

    def put_organization(ctx):
        organization_id = validate_organization_id(ctx.params["organizationId"])
        body = json_object(ctx.json_body())
        _validate_fields(body, partial=False)
        check_parent(organization_id, body.get("parent"))
        organization = {"id": organization_id, "displayName": body["displayName"], "parent": body.get("parent")}
        organizations.put(organization_id, organization)
        return ok(render(organization))

    def patch_organization(ctx):
        organization = get_existing(ctx)
        body = json_object(ctx.json_body(allowed=(JSON, MERGE_PATCH)))
        _validate_fields(body, partial=True)
        if "parent" in body:
            check_parent(organization["id"], body["parent"])
        updated = dict(organization)
        for name in FIELDS:
            if name in body:
                updated[name] = body[name]
        organizations.put(updated["id"], updated)
        return ok(render(updated))

    def delete_organization(ctx):
        organization = get_existing(ctx)
        children = children_of(organizations, organization["id"])
        if children:
            raise ApiError(422, "Organization %r has child organizations (%s); delete or move them first."
                           % (organization["id"], ", ".join(sorted(children)[:10])))
        organizations.delete(organization["id"])
        return no_content()

    emulator.api_router.add("GET", "/api/organizations", list_organizations)
    emulator.api_router.add("GET", "/api/organizations/{organizationId}", get_organization)
    emulator.api_router.add("PUT", "/api/organizations/{organizationId}", put_organization)
    emulator.api_router.add("PATCH", "/api/organizations/{organizationId}", patch_organization)
    emulator.api_router.add("DELETE", "/api/organizations/{organizationId}", delete_organization)
