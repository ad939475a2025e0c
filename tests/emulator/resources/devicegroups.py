"""Device groups: list, get, create-or-replace, patch, delete and the group's devices (both api-versions).

A group's ``filter`` is a device query (:mod:`emulator.groupquery`) that is
checked on every write and evaluated against the devices on every read of
``/deviceGroups/{id}/devices``, so membership follows device changes (a deleted
device simply stops matching).

List parameters are the ones each operation declares in the spec:
2022-10-31-preview ``DeviceGroups_List`` takes ``filter``/``maxpagesize``/
``orderby`` and ``DeviceGroups_GetDevices`` takes ``maxpagesize``; 2022-07-31
declares none, so there every list uses the default page size and other query
parameters are ignored.
"""

import copy
import re

from ..common import (JSON, MERGE_PATCH, check_body_etag, check_id, check_preconditions, check_present,
                      expect_string_list, expect_type, fetch, json_object, list_response, no_content, ok)
from ..errors import ApiError
from ..groupquery import check_query, compile_query
from ..odata import STRING, STRING_LIST, Field
from . import devices as device_resource
from .organizations import require_organizations

PRIORITY = 30
COLLECTION = "deviceGroups"
GROUP_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")

FILTER_FIELDS = [
    Field("id", STRING, lambda g: g["id"]),
    Field("displayName", STRING, lambda g: g.get("displayName")),
    Field("description", STRING, lambda g: g.get("description")),
    Field("scopes", STRING_LIST, lambda g: g.get("organizations")),
]
SORTABLE = {"displayName": lambda g: g.get("displayName") or g["id"]}
LIST_SUPPORT = {True: ("size", "filter", "orderby"), False: ()}
DEVICES_SUPPORT = {True: ("size",), False: ()}


def validate_group_id(group_id):
    return check_id(group_id, GROUP_ID_RE, "device group", "1 to 255 letters, digits, '_' and '-'")


def render(group):
    out = {"id": group["id"], "displayName": group["displayName"], "filter": group["filter"]}
    if group.get("description") is not None:
        out["description"] = group["description"]
    if group.get("organizations"):
        out["organizations"] = list(group["organizations"])
    out["etag"] = group["etag"]
    return out


def _validate_fields(body, partial):
    check_present(body, ("displayName", "filter"), partial)
    expect_type(body, "displayName", "string")
    expect_type(body, "filter", "string")
    expect_type(body, "description", "string", nullable=True)
    expect_type(body, "etag", "string", nullable=True)
    expect_string_list(body, "organizations", max_items=1)
    if body.get("filter") is not None:
        problem = check_query(body["filter"])
        if problem:
            raise ApiError(422, "Field 'filter' is not a device query the service understands: %s." % problem)


def register(emulator):
    store = emulator.store
    groups = store.collection(COLLECTION)
    devices = store.collection(device_resource.COLLECTION)
    emulator.id_fields[COLLECTION] = "id"

    def get_existing(ctx):
        return fetch(groups, validate_group_id(ctx.params["deviceGroupId"]), "device group")

    def list_groups(ctx):
        return list_response(ctx, groups, FILTER_FIELDS, SORTABLE, render, supported=LIST_SUPPORT[ctx.is_preview])

    def get_group(ctx):
        return ok(render(get_existing(ctx)))

    def put_group(ctx):
        group_id = validate_group_id(ctx.params["deviceGroupId"])
        body = json_object(ctx.json_body())
        _validate_fields(body, partial=False)
        require_organizations(store, body.get("organizations"))
        existing = groups.get(group_id)
        check_body_etag(body, existing["etag"] if existing else None, "device group %r" % group_id)
        group = {
            "id": group_id,
            "displayName": body["displayName"],
            "filter": body["filter"],
            "description": body.get("description"),
            "organizations": list(body.get("organizations") or []),
            "etag": store.new_etag(),
        }
        groups.put(group_id, group)
        return ok(render(group))

    def patch_group(ctx):
        group = get_existing(ctx)
        body = json_object(ctx.json_body(allowed=(JSON, MERGE_PATCH)))
        _validate_fields(body, partial=True)
        require_organizations(store, body.get("organizations"))
        check_preconditions(ctx, body, group["etag"], "device group %r" % group["id"])
        updated = copy.deepcopy(group)
        for name in ("displayName", "filter", "description"):
            if name in body:
                updated[name] = body[name]
        if "organizations" in body:
            updated["organizations"] = list(body["organizations"] or [])
        updated["etag"] = store.new_etag()
        groups.put(updated["id"], updated)
        return ok(render(updated))

    def delete_group(ctx):
        group = get_existing(ctx)
        groups.delete(group["id"])
        return no_content()

    def group_devices(ctx):
        group = get_existing(ctx)
        member = compile_query(group["filter"])
        return list_response(ctx, devices, device_resource.FILTER_FIELDS, device_resource.SORTABLE,
                             lambda d: device_resource.render(d, ctx.is_preview),
                             supported=DEVICES_SUPPORT[ctx.is_preview], where=member)

    router = emulator.api_router
    router.add("GET", "/api/deviceGroups", list_groups)
    router.add("GET", "/api/deviceGroups/{deviceGroupId}", get_group)
    router.add("PUT", "/api/deviceGroups/{deviceGroupId}", put_group)
    router.add("PATCH", "/api/deviceGroups/{deviceGroupId}", patch_group)
    router.add("DELETE", "/api/deviceGroups/{deviceGroupId}", delete_group)
    router.add("GET", "/api/deviceGroups/{deviceGroupId}/devices", group_devices)
