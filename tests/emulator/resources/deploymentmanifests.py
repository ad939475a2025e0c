"""Deployment manifests (IoT Edge): list, get, create-or-replace, merge-patch, delete.

2022-10-31-preview only: 2022-07-31 has no such paths, so they answer 404
there. ``DeploymentManifests_List`` declares ``maxpagesize`` and ``filter``
(fields ``id``, ``displayName``, ``scopes``); no ``orderby``. PATCH is an RFC 7396
merge patch (the only media type the spec accepts): objects inside ``data``
merge member by member and ``null`` removes a member, so replacing ``data``
wholesale is a PUT. Applying a manifest to a device is
``POST /devices/{id}/applyDeploymentManifest`` (in :mod:`.devices`).
"""

import copy
import re

from .. import defaults
from ..common import (MERGE_PATCH, check_body_etag, check_id, check_preconditions, check_present, fetch, json_object,
                      list_response, merge_patch, no_content, ok)
from ..odata import STRING, STRING_LIST, Field
from .devices import validate_manifest

PRIORITY = 30
COLLECTION = "deploymentManifests"
MANIFEST_ID_RE = re.compile(r"^[a-zA-Z0-9:;]{1,255}$")
PREVIEW_ONLY = [defaults.PREVIEW_VERSION]

FILTER_FIELDS = [
    Field("id", STRING, lambda m: m["id"]),
    Field("displayName", STRING, lambda m: m.get("displayName")),
    Field("scopes", STRING_LIST, lambda m: m.get("organizations")),
]


def validate_manifest_id(manifest_id):
    return check_id(manifest_id, MANIFEST_ID_RE, "deployment manifest", "1 to 255 letters, digits, ':' and ';'")


def render(manifest):
    out = {"id": manifest["id"], "displayName": manifest["displayName"], "data": copy.deepcopy(manifest["data"]),
           "etag": manifest["etag"]}
    if manifest.get("organizations"):
        out["organizations"] = list(manifest["organizations"])
    return out


def register(emulator):
    store = emulator.store
    manifests = store.collection(COLLECTION)
    emulator.id_fields[COLLECTION] = "id"

    def get_existing(ctx):
        return fetch(manifests, validate_manifest_id(ctx.params["deploymentManifestId"]), "deployment manifest")

    def list_manifests(ctx):
        return list_response(ctx, manifests, FILTER_FIELDS, {}, render, supported=("size", "filter"))

    def get_manifest(ctx):
        return ok(render(get_existing(ctx)))

    def put_manifest(ctx):
        manifest_id = validate_manifest_id(ctx.params["deploymentManifestId"])
        body = json_object(ctx.json_body())
        validate_manifest(body)
        existing = manifests.get(manifest_id)
        check_body_etag(body, existing["etag"] if existing else None, "deployment manifest %r" % manifest_id)
        manifest = {
            "id": manifest_id,
            "displayName": body.get("displayName", manifest_id),
            "data": copy.deepcopy(body["data"]),
            "organizations": list(body.get("organizations") or []),
            "etag": store.new_etag(),
        }
        manifests.put(manifest_id, manifest)
        return ok(render(manifest))

    def patch_manifest(ctx):
        manifest = get_existing(ctx)
        body = json_object(ctx.json_body(allowed=(MERGE_PATCH,)))
        check_present(body, ("data", "displayName"), partial=True)
        validate_manifest(body, partial=True)
        # Preview-only routes, so check_preconditions always honours If-Match here.
        check_preconditions(ctx, body, manifest["etag"], "deployment manifest %r" % manifest["id"])
        updated = copy.deepcopy(manifest)
        if "displayName" in body:
            updated["displayName"] = body["displayName"]
        if "data" in body:
            updated["data"] = merge_patch(manifest["data"], body["data"])
        if "organizations" in body:
            updated["organizations"] = list(body["organizations"] or [])
        updated["etag"] = store.new_etag()
        manifests.put(updated["id"], updated)
        return ok(render(updated))

    def delete_manifest(ctx):
        manifest = get_existing(ctx)
        manifests.delete(manifest["id"])
        return no_content()

    router = emulator.api_router
    router.add("GET", "/api/deploymentManifests", list_manifests, versions=PREVIEW_ONLY)
    router.add("GET", "/api/deploymentManifests/{deploymentManifestId}", get_manifest, versions=PREVIEW_ONLY)
    router.add("PUT", "/api/deploymentManifests/{deploymentManifestId}", put_manifest, versions=PREVIEW_ONLY)
    router.add("PATCH", "/api/deploymentManifests/{deploymentManifestId}", patch_manifest, versions=PREVIEW_ONLY)
    router.add("DELETE", "/api/deploymentManifests/{deploymentManifestId}", delete_manifest, versions=PREVIEW_ONLY)
