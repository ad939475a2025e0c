"""Devices: list, get, create-or-replace, merge-patch, delete and credentials.

Also the test-only ``/__emulator__/seed`` and ``/__emulator__/devices/{id}/provision``.

Stored record = the 2022-10-31-preview Device plus ``_keys`` (the symmetric
keys, stable for the device's life). :func:`render` shapes it per api-version:
2022-07-31 never shows ``type`` or ``deploymentManifest``.

``POST /devices/{id}/applyDeploymentManifest`` (2022-10-31-preview only) stores
the manifest as the device's ``deploymentManifest``; only IoT Edge devices
(``type`` contains ``iotEdge``) take one, others get 422.
"""

import base64
import copy
import os
import re

from .. import defaults
from ..common import (JSON, MERGE_PATCH, check_body_etag, check_id, check_preconditions, expect_string_list,
                      expect_type, fetch, json_object, json_type, list_response, no_content, ok)
from ..errors import ApiError
from ..odata import BOOLEAN, STRING, STRING_LIST, Field
from . import devicetemplates
from .organizations import COLLECTION as ORGANIZATIONS, require_organizations

PRIORITY = 20
COLLECTION = "devices"
DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9-]{1,128}$")
EXPAND_RE = re.compile(r"^[a-zA-Z0-9-]*$")
DEVICE_TYPES = ("iotEdge",)
MAX_SEED = 100000

FILTER_FIELDS = [
    Field("id", STRING, lambda d: d["id"]),
    Field("displayName", STRING, lambda d: d.get("displayName")),
    Field("enabled", BOOLEAN, lambda d: d.get("enabled")),
    Field("provisioned", BOOLEAN, lambda d: d.get("provisioned")),
    Field("simulated", BOOLEAN, lambda d: d.get("simulated")),
    Field("template", STRING, lambda d: d.get("template")),
    Field("scopes", STRING_LIST, lambda d: d.get("organizations")),
]
SORTABLE = {"displayName": lambda d: d.get("displayName") or d["id"]}


def new_key():
    return base64.b64encode(os.urandom(32)).decode("ascii")


def validate_device_id(device_id):
    return check_id(device_id, DEVICE_ID_RE, "device", "1 to 128 letters, digits and '-'", shown=200)


def render(device, preview):
    out = {
        "id": device["id"],
        "etag": device["etag"],
        "displayName": device["displayName"],
        "enabled": device["enabled"],
        "provisioned": device["provisioned"],
        "simulated": device["simulated"],
    }
    if device.get("template") is not None:
        out["template"] = device["template"]
    if device.get("organizations"):
        out["organizations"] = list(device["organizations"])
    if preview:
        if device.get("type"):
            out["type"] = list(device["type"])
        if device.get("deploymentManifest") is not None:
            out["deploymentManifest"] = copy.deepcopy(device["deploymentManifest"])
    return out


def _validate_fields(body, preview, partial):
    """422 naming the first field whose JSON type is wrong (``null`` included, so a merge patch cannot
    remove a field). ``id``/``provisioned`` are read-only: ignored."""
    expect_type(body, "displayName", "string")
    expect_type(body, "template", "string", nullable=not partial)
    expect_type(body, "enabled", "boolean")
    expect_type(body, "simulated", "boolean")
    expect_type(body, "etag", "string", nullable=True)
    expect_string_list(body, "organizations", max_items=1)
    if not preview:
        return
    if "type" in body and body["type"] is not None:
        expect_type(body, "type", "array")
        for index, value in enumerate(body["type"]):
            if value not in DEVICE_TYPES:
                raise ApiError(422, "Field 'type[%d]' must be one of %s, not %s." % (
                    index, ", ".join(DEVICE_TYPES), repr(value) if isinstance(value, str) else json_type(value)))
    manifest = body.get("deploymentManifest")
    if manifest is not None:
        validate_manifest(manifest, "deploymentManifest.")


def validate_manifest(manifest, prefix="", partial=False):
    """422 naming the field unless ``manifest`` is a DeploymentManifest (``data`` object, optional
    non-empty ``displayName``, ``organizations`` of exactly one string). ``partial``: a merge patch,
    where ``data`` may be absent and ``organizations`` may be null."""
    if not isinstance(manifest, dict):
        where = prefix.rstrip(".") or "body"
        raise ApiError(422, "Field '%s' must be an object, not %s." % (where, json_type(manifest)))
    if not (partial and "data" not in manifest) and not isinstance(manifest.get("data"), dict):
        raise ApiError(422, "Field '%sdata' is required and must be an object." % prefix)
    if "displayName" in manifest and not (isinstance(manifest["displayName"], str) and manifest["displayName"]):
        raise ApiError(422, "Field '%sdisplayName' must be a non-empty string." % prefix)
    if "organizations" in manifest and not (partial and manifest["organizations"] is None):
        orgs = manifest["organizations"]
        if not (isinstance(orgs, list) and len(orgs) == 1 and isinstance(orgs[0], str)):
            raise ApiError(422, "Field '%sorganizations' must be a list of one string." % prefix)
    if "etag" in manifest and manifest["etag"] is not None and not isinstance(manifest["etag"], str):
        raise ApiError(422, "Field '%setag' must be a string, not %s." % (prefix, json_type(manifest["etag"])))


def _check_expand(ctx):
    # expand only exists in 2022-10-31-preview; elsewhere it is an unknown, ignored parameter.
    if not ctx.is_preview:
        return
    expand = ctx.arg("expand")
    if expand is not None and (len(expand) > 255 or not EXPAND_RE.match(expand)):
        raise ApiError(400, "Invalid expand %r: up to 255 letters, digits and '-'." % expand[:100])


def register(emulator):
    store = emulator.store
    devices = store.collection(COLLECTION)
    templates = store.collection(devicetemplates.COLLECTION, resettable=False)
    emulator.id_fields[COLLECTION] = "id"

    def require_template(template_id):
        if template_id is not None and template_id not in templates:
            raise ApiError(422, "Device template %r does not exist in this application." % template_id)

    def derived_type(template_id):
        template = templates.get(template_id) if template_id else None
        return ["iotEdge"] if template is not None and devicetemplates.is_edge_template(template) else []

    def get_existing(ctx):
        return fetch(devices, validate_device_id(ctx.params["deviceId"]), "device")

    def list_devices(ctx):
        _check_expand(ctx)
        return list_response(ctx, devices, FILTER_FIELDS, SORTABLE, lambda d: render(d, ctx.is_preview))

    def get_device(ctx):
        _check_expand(ctx)
        return ok(render(get_existing(ctx), ctx.is_preview))

    def put_device(ctx):
        device_id = validate_device_id(ctx.params["deviceId"])
        _check_expand(ctx)
        body = json_object(ctx.json_body())
        _validate_fields(body, ctx.is_preview, partial=False)
        require_template(body.get("template"))
        require_organizations(store, body.get("organizations"))
        existing = devices.get(device_id)
        check_body_etag(body, existing["etag"] if existing else None, "device %r" % device_id)
        device = {
            "id": device_id,
            "displayName": body.get("displayName", device_id),
            "template": body.get("template"),
            "enabled": body.get("enabled", True),
            "simulated": body.get("simulated", False),
            "provisioned": existing["provisioned"] if existing else False,
            "organizations": list(body.get("organizations") or []),
        }
        if ctx.is_preview:
            device["type"] = list(body["type"]) if body.get("type") is not None else derived_type(device["template"])
            device["deploymentManifest"] = copy.deepcopy(body.get("deploymentManifest"))
        else:
            # 2022-07-31 cannot express these fields, so a replace through it keeps them.
            device["type"] = existing.get("type") if existing else derived_type(device["template"])
            device["deploymentManifest"] = existing.get("deploymentManifest") if existing else None
        device["_keys"] = existing["_keys"] if existing else {"primaryKey": new_key(), "secondaryKey": new_key()}
        # The individual attestation (resources/attestation.py) is a resource of its own: a replace keeps it.
        device["_attestation"] = existing.get("_attestation") if existing else None
        device["etag"] = store.new_etag()
        devices.put(device_id, device)
        return ok(render(device, ctx.is_preview))

    def patch_device(ctx):
        device = get_existing(ctx)
        _check_expand(ctx)
        body = json_object(ctx.json_body(allowed=(JSON, MERGE_PATCH)))
        _validate_fields(body, ctx.is_preview, partial=True)
        check_preconditions(ctx, body, device["etag"], "device %r" % device["id"])
        require_template(body.get("template"))
        require_organizations(store, body.get("organizations"))
        updated = copy.deepcopy(device)
        for name in ("displayName", "enabled", "simulated"):
            if name in body:
                updated[name] = body[name]
        if "organizations" in body:
            updated["organizations"] = list(body["organizations"] or [])
        if "template" in body:
            updated["template"] = body["template"]
            if not (ctx.is_preview and "type" in body):
                updated["type"] = derived_type(body["template"])
        if ctx.is_preview:
            if "type" in body:
                updated["type"] = list(body["type"] or [])
            if "deploymentManifest" in body:
                updated["deploymentManifest"] = copy.deepcopy(body["deploymentManifest"])
        updated["etag"] = store.new_etag()
        devices.put(updated["id"], updated)
        return ok(render(updated, ctx.is_preview))

    def delete_device(ctx):
        device = get_existing(ctx)
        _check_expand(ctx)
        devices.delete(device["id"])
        for hook in emulator.device_delete_hooks:
            hook(device["id"])
        return no_content()

    def apply_manifest(ctx):
        device = get_existing(ctx)
        body = json_object(ctx.json_body())
        validate_manifest(body)
        if "iotEdge" not in (device.get("type") or ()):
            raise ApiError(422, "Device %r is not an IoT Edge device (its type has no 'iotEdge'); a deployment "
                                "manifest can only be applied to an IoT Edge device." % device["id"])
        # id and etag of the request are not kept: the device holds its own copy with a fresh etag.
        manifest = {name: copy.deepcopy(body[name]) for name in ("displayName", "data", "organizations")
                    if body.get(name) is not None}
        manifest["etag"] = store.new_etag()
        devices.put(device["id"], dict(device, deploymentManifest=manifest, etag=store.new_etag()))
        return ok(copy.deepcopy(manifest))

    def get_credentials(ctx):
        device = get_existing(ctx)
        # Imported here because resources/attestation.py imports this module.
        from .attestation import credential_fields  # pylint: disable=import-outside-toplevel
        shown = credential_fields(device) or {"symmetricKey": dict(device["_keys"])}
        return ok(dict({"idScope": store.id_scope}, **shown))

    router = emulator.api_router
    router.add("GET", "/api/devices", list_devices)
    router.add("GET", "/api/devices/{deviceId}", get_device)
    router.add("PUT", "/api/devices/{deviceId}", put_device)
    router.add("PATCH", "/api/devices/{deviceId}", patch_device)
    router.add("DELETE", "/api/devices/{deviceId}", delete_device)
    router.add("GET", "/api/devices/{deviceId}/credentials", get_credentials)
    router.add("POST", "/api/devices/{deviceId}/applyDeploymentManifest", apply_manifest,
               versions=[defaults.PREVIEW_VERSION])

    # Test-only endpoints --------------------------------------------------------------

    def seed(count, prefix=defaults.DEFAULT_SEED_PREFIX, template=defaults.DEFAULT_SEED_TEMPLATE,
             enabled=True, simulated=False, provisioned=False, organizations=None, start=1):
        """Create ``count`` devices ``<prefix>-<n>``; existing ids are left alone. Returns how many were created.

        A test seeds devices of any organization: one that does not exist yet is created (named after its id)."""
        require_template(template)
        known = store.collection(ORGANIZATIONS)
        for organization_id in organizations or ():
            if organization_id not in known:
                known.put(organization_id, {"id": organization_id, "displayName": organization_id, "parent": None})
        width = max(5, len(str(start + count - 1)))
        label = (templates.get(template) or {}).get("displayName", "Device") if template else "Device"
        device_type = derived_type(template)
        new = []
        for number in range(start, start + count):
            device_id = "%s-%0*d" % (prefix, width, number)
            if device_id in devices:
                continue
            new.append((device_id, {
                "id": device_id, "displayName": "%s - %s" % (label, device_id), "template": template,
                "enabled": enabled, "simulated": simulated, "provisioned": provisioned,
                "organizations": list(organizations or []), "type": list(device_type),
                "deploymentManifest": None, "etag": store.new_etag(),
                "_keys": {"primaryKey": new_key(), "secondaryKey": new_key()},
            }))
        if new:
            devices.bulk_put(new)
        return len(new)

    emulator.seed_devices = seed

    def seed_endpoint(ctx):
        body = json_object(ctx.json_body()) if ctx.body else {}
        count = body.get("count", 0)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_SEED:
            raise ApiError(422, "count must be an integer from 0 to %d." % MAX_SEED)
        prefix = body.get("prefix", emulator.config.seed_prefix)
        if not isinstance(prefix, str) or not re.match(r"^[A-Za-z0-9-]{1,100}$", prefix):
            raise ApiError(422, "prefix must be 1-100 letters, digits or '-'.")
        for name in ("enabled", "simulated", "provisioned"):
            expect_type(body, name, "boolean")
        expect_type(body, "template", "string", nullable=True)
        expect_string_list(body, "organizations", max_items=1)
        start = body.get("start", 1)
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ApiError(422, "start must be a non-negative integer.")
        created = seed(count, prefix=prefix, template=body.get("template", emulator.config.seed_template),
                       enabled=body.get("enabled", True), simulated=body.get("simulated", False),
                       provisioned=body.get("provisioned", False), organizations=body.get("organizations"),
                       start=start)
        return ok({"created": created, "devices": len(devices)})

    def provision_endpoint(ctx):
        device = get_existing(ctx)
        body = json_object(ctx.json_body()) if ctx.body else {}
        expect_type(body, "provisioned", "boolean")
        updated = dict(device, provisioned=body.get("provisioned", True), etag=store.new_etag())
        devices.put(device["id"], updated)
        return ok(render(updated, preview=False))

    emulator.admin_router.add("POST", "/__emulator__/seed", seed_endpoint)
    emulator.admin_router.add("POST", "/__emulator__/devices/{deviceId}/provision", provision_endpoint)

    config = emulator.config
    if config.seed_devices:
        emulator.startup_hooks.append(lambda: seed(config.seed_devices, prefix=config.seed_prefix,
                                                   template=config.seed_template or None))
