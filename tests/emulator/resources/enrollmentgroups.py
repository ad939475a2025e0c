"""Enrollment groups and their X.509 signing certificates (both api-versions).

``/enrollmentGroups``: list, get, create-or-replace, merge-patch, delete.
``/enrollmentGroups/{id}/certificates/{entry}`` (entry ``primary`` | ``secondary``): get, set, delete,
``generateVerificationCode`` and ``verify`` (real proof of possession, :mod:`emulator.certs`).

Stored record = the public fields plus ``_certificates``: per entry the DER
(base64), the SHA-1 thumbprint, ``verified``, the entry's etag and the current
verification code. :func:`render` builds ``attestation.x509.signingCertificates``
from it, in the ``SigningX509Certificate`` shape the certificate endpoints return
(``verified``, ``info.sha1Thumbprint``, ``etag``; the certificate itself is never
echoed). ``idScope`` is only part of the 2022-10-31-preview shape.

Attestation rules (the spec is silent; see README.md):

* symmetricKey: keys the caller gives are kept (base64 of 16 to 64 bytes, the
  Device Provisioning Service rule); missing keys are generated (64 random
  bytes). A replace (PUT) without ``symmetricKey`` keeps the current keys;
  ``null`` (or a ``null`` key in a merge patch) generates new ones.
* x509: ``signingCertificates`` entries in a PUT/PATCH body are applied like the
  certificate endpoint (an entry with ``certificate`` sets it, ``null`` removes
  it, an entry without ``certificate`` may only change ``verified`` of an
  existing one); entries not mentioned are kept.
* Changing ``attestation.type`` (PUT or PATCH) starts a fresh attestation of the
  new type: certificates are dropped, keys are taken from the body or generated.
"""

import base64
import binascii
import copy
import os
import re
import secrets

from cryptography.hazmat.primitives.serialization import Encoding

from ..certs import parse_uploaded_certificate, sha1_thumbprint, verify_proof_of_possession
from ..common import (JSON, MERGE_PATCH, check_body_etag, check_id, check_preconditions, check_present, expect_type, fetch,
                      json_object, json_type, list_response, no_content, ok)
from ..errors import ApiError

PRIORITY = 30
COLLECTION = "enrollmentGroups"
GROUP_ID_RE = re.compile(r"^[a-zA-Z0-9-]{1,255}$")
GROUP_TYPES = ("iot", "iotEdge")
SYMMETRIC_KEY = "symmetricKey"
X509 = "x509"
ATTESTATION_TYPES = (SYMMETRIC_KEY, X509)
ENTRIES = ("primary", "secondary")
KEY_NAMES = ("primaryKey", "secondaryKey")
GENERATED_KEY_BYTES = 64
KEY_BYTES_RANGE = (16, 64)
_MISSING = object()


def new_group_key():
    return base64.b64encode(os.urandom(GENERATED_KEY_BYTES)).decode("ascii")


def validate_group_id(group_id):
    return check_id(group_id, GROUP_ID_RE, "enrollment group", "1 to 255 letters, digits and '-'")


def validate_entry(entry):
    if entry not in ENTRIES:
        raise ApiError(400, "Invalid certificate entry %r: use primary or secondary." % (entry[:100],))
    return entry


def render_certificate(entry):
    return {"verified": entry["verified"], "info": {"sha1Thumbprint": entry["thumbprint"]}, "etag": entry["etag"]}


def render_attestation(group):
    attestation = group["attestation"]
    if attestation["type"] == SYMMETRIC_KEY:
        return {"type": SYMMETRIC_KEY, "symmetricKey": dict(attestation["symmetricKey"])}
    certificates = group.get("_certificates") or {}
    return {"type": X509, "x509": {"signingCertificates": {
        name: render_certificate(certificates[name]) for name in ENTRIES if name in certificates}}}


def render(group, preview, id_scope):
    out = {
        "id": group["id"],
        "displayName": group["displayName"],
        "enabled": group["enabled"],
        "type": group["type"],
        "attestation": render_attestation(group),
        "etag": group["etag"],
    }
    if preview:
        out["idScope"] = id_scope
    return out


def _check_key(value, where):
    if not isinstance(value, str):
        raise ApiError(422, "Field '%s' must be a string, not %s." % (where, json_type(value)))
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = None
    if raw is None or not KEY_BYTES_RANGE[0] <= len(raw) <= KEY_BYTES_RANGE[1]:
        raise ApiError(422, "Field '%s' must be the base64 encoding of %d to %d bytes."
                       % ((where,) + KEY_BYTES_RANGE))
    return value


def parse_certificate(value, where):
    """(DER as base64, upper-case SHA-1 thumbprint) of an uploaded certificate, or 422 naming the field."""
    if not isinstance(value, str):
        raise ApiError(422, "Field '%s' must be a string, not %s." % (where, json_type(value)))
    try:
        cert = parse_uploaded_certificate(value, field="field '%s'" % where)
    except ValueError as exc:
        message = str(exc)
        raise ApiError(422, message[0].upper() + message[1:] + ".") from None
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii"), sha1_thumbprint(cert)


def symmetric_attestation(body, current_keys, partial, prefix="attestation."):
    """``{type, symmetricKey}`` from ``body`` (an attestation object) applied to ``current_keys``: given keys are
    checked, keys left out of a replace are 422, ``null`` or missing keys are generated. ``prefix`` names fields."""
    keys = dict(current_keys or {})
    value = body.get("symmetricKey", _MISSING)
    if value is None:
        keys = {}
    elif value is not _MISSING:
        if not isinstance(value, dict):
            raise ApiError(422, "Field '%ssymmetricKey' must be an object, not %s." % (prefix, json_type(value)))
        for name in KEY_NAMES:
            where = prefix + "symmetricKey." + name
            if name not in value:
                # SymmetricKey requires both keys; a merge patch may leave one out.
                if not partial:
                    raise ApiError(422, "Field '%s' is required." % where)
                continue
            if value[name] is None:
                keys.pop(name, None)
            else:
                keys[name] = _check_key(value[name], where)
    for name in KEY_NAMES:
        keys.setdefault(name, new_group_key())
    return {"type": SYMMETRIC_KEY, "symmetricKey": keys}


def _check_fields(body, partial):
    check_present(body, ("displayName", "type", "attestation"), partial)
    # enabled is optional (default true) even in a replace, but never null.
    check_present(body, ("enabled",), partial=True)
    expect_type(body, "displayName", "string")
    expect_type(body, "enabled", "boolean")
    expect_type(body, "etag", "string", nullable=True)
    if "type" in body and body["type"] not in GROUP_TYPES:
        raise ApiError(422, "Field 'type' must be one of %s, not %s." % (
            ", ".join(GROUP_TYPES), repr(body["type"]) if isinstance(body["type"], str) else json_type(body["type"])))
    expect_type(body, "attestation", "object")


def register(emulator):
    store = emulator.store
    groups = store.collection(COLLECTION)
    emulator.id_fields[COLLECTION] = "id"

    def get_existing(ctx):
        return fetch(groups, validate_group_id(ctx.params["enrollmentGroupId"]), "enrollment group")

    def respond(ctx, group):
        return ok(render(group, ctx.is_preview, store.id_scope))

    def require_unique(group_id, certificates):
        """One certificate (by thumbprint) may sign for one enrollment group only."""
        wanted = {entry["thumbprint"]: name for name, entry in certificates.items()}
        for other in groups.values():
            if other["id"] == group_id:
                continue
            for entry in (other.get("_certificates") or {}).values():
                if entry["thumbprint"] in wanted:
                    raise ApiError(422, "The %s certificate (thumbprint %s) is already used by enrollment group %r; a "
                                        "certificate can belong to one enrollment group only."
                                   % (wanted[entry["thumbprint"]], entry["thumbprint"], other["id"]))

    def certificate_entry(value, existing, where):
        if not isinstance(value, dict):
            raise ApiError(422, "Field '%s' must be an object, not %s." % (where, json_type(value)))
        expect_type(value, "verified", "boolean")
        if "etag" in value and value["etag"] is not None:
            check_body_etag(value, existing["etag"] if existing else None, "certificate %s" % where)
        if value.get("certificate") is not None:
            der, thumbprint = parse_certificate(value["certificate"], where + ".certificate")
            return {"certificate": der, "thumbprint": thumbprint, "verified": value.get("verified", False),
                    "etag": store.new_etag(), "verificationCode": None}
        if existing is None:
            raise ApiError(422, "Field '%s.certificate' is required to add a certificate." % where)
        updated = dict(existing)
        if "verified" in value and value["verified"] != existing["verified"]:
            updated.update(verified=value["verified"], etag=store.new_etag())
        return updated

    def x509_certificates(body, current):
        certificates = copy.deepcopy(current or {})
        x509 = body.get("x509", _MISSING)
        if x509 is None:
            return {}
        if x509 is _MISSING:
            return certificates
        if not isinstance(x509, dict):
            raise ApiError(422, "Field 'attestation.x509' must be an object, not %s." % json_type(x509))
        signing = x509.get("signingCertificates", _MISSING)
        if signing is None:
            return {}
        if signing is _MISSING:
            return certificates
        if not isinstance(signing, dict):
            raise ApiError(422, "Field 'attestation.x509.signingCertificates' must be an object, not %s."
                           % json_type(signing))
        for name, value in signing.items():
            where = "attestation.x509.signingCertificates." + name
            if name not in ENTRIES:
                raise ApiError(422, "Field '%s' is not a certificate entry; use primary or secondary." % where)
            if value is None:
                certificates.pop(name, None)
            else:
                certificates[name] = certificate_entry(value, certificates.get(name), where)
        return certificates

    def build_attestation(body, current, partial):
        """(attestation, certificates) from ``body['attestation']`` applied to the ``current`` group (or None)."""
        requested = body["attestation"]
        kind = requested.get("type")
        if kind is None and partial:
            kind = current["attestation"]["type"]
        if kind not in ATTESTATION_TYPES:
            raise ApiError(422, "Field 'attestation.type' must be one of %s, not %s." % (
                ", ".join(ATTESTATION_TYPES), repr(kind) if isinstance(kind, str) else json_type(kind)))
        same = current is not None and current["attestation"]["type"] == kind
        if kind == SYMMETRIC_KEY:
            keys = current["attestation"].get("symmetricKey") if same else None
            return symmetric_attestation(requested, keys, partial and same), {}
        return {"type": X509}, x509_certificates(requested, current.get("_certificates") if same else None)

    def list_groups(ctx):
        # EnrollmentGroups_List declares no query parameters in either api-version.
        return list_response(ctx, groups, [], {}, lambda g: render(g, ctx.is_preview, store.id_scope), supported=())

    def get_group(ctx):
        return respond(ctx, get_existing(ctx))

    def put_group(ctx):
        group_id = validate_group_id(ctx.params["enrollmentGroupId"])
        body = json_object(ctx.json_body())
        _check_fields(body, partial=False)
        existing = groups.get(group_id)
        check_body_etag(body, existing["etag"] if existing else None, "enrollment group %r" % group_id)
        attestation, certificates = build_attestation(body, existing, partial=False)
        require_unique(group_id, certificates)
        group = {
            "id": group_id,
            "displayName": body["displayName"],
            "enabled": body.get("enabled", True),
            "type": body["type"],
            "attestation": attestation,
            "_certificates": certificates,
            "etag": store.new_etag(),
        }
        groups.put(group_id, group)
        return respond(ctx, group)

    def patch_group(ctx):
        group = get_existing(ctx)
        body = json_object(ctx.json_body(allowed=(JSON, MERGE_PATCH)))
        _check_fields(body, partial=True)
        check_preconditions(ctx, body, group["etag"], "enrollment group %r" % group["id"])
        updated = copy.deepcopy(group)
        for name in ("displayName", "enabled", "type"):
            if name in body:
                updated[name] = body[name]
        if "attestation" in body:
            updated["attestation"], updated["_certificates"] = build_attestation(body, group, partial=True)
            require_unique(group["id"], updated["_certificates"])
        updated["etag"] = store.new_etag()
        groups.put(updated["id"], updated)
        return respond(ctx, updated)

    def delete_group(ctx):
        group = get_existing(ctx)
        groups.delete(group["id"])
        return no_content()

    router = emulator.api_router
    router.add("GET", "/api/enrollmentGroups", list_groups)
    router.add("GET", "/api/enrollmentGroups/{enrollmentGroupId}", get_group)
    router.add("PUT", "/api/enrollmentGroups/{enrollmentGroupId}", put_group)
    router.add("PATCH", "/api/enrollmentGroups/{enrollmentGroupId}", patch_group)
    router.add("DELETE", "/api/enrollmentGroups/{enrollmentGroupId}", delete_group)

    # X.509 certificates ----------------------------------------------------------------

    def x509_group(ctx):
        entry = validate_entry(ctx.params["entry"])
        return get_existing(ctx), entry

    def existing_entry(ctx):
        group, entry = x509_group(ctx)
        if group["attestation"]["type"] != X509:
            raise ApiError(404, "Enrollment group %r uses %s attestation and has no X.509 certificates."
                           % (group["id"], group["attestation"]["type"]))
        current = (group.get("_certificates") or {}).get(entry)
        if current is None:
            raise ApiError(404, "Enrollment group %r has no %s certificate." % (group["id"], entry))
        return group, entry, current

    def save_entry(group, entry, value, touch_group=True):
        updated = copy.deepcopy(group)
        certificates = updated.setdefault("_certificates", {})
        if value is None:
            certificates.pop(entry, None)
        else:
            certificates[entry] = value
        if touch_group:
            # The certificates are part of the group's attestation, so the group changes too.
            updated["etag"] = store.new_etag()
        groups.put(updated["id"], updated)
        return updated

    def get_certificate(ctx):
        dummy, dummy, current = existing_entry(ctx)
        return ok(render_certificate(current))

    def put_certificate(ctx):
        group, entry = x509_group(ctx)
        body = json_object(ctx.json_body())
        if group["attestation"]["type"] != X509:
            raise ApiError(422, "Enrollment group %r uses %s attestation; only x509 enrollment groups take "
                                "certificates." % (group["id"], group["attestation"]["type"]))
        if body.get("certificate") is None:
            raise ApiError(422, "Field 'certificate' is required.")
        expect_type(body, "verified", "boolean")
        current = (group.get("_certificates") or {}).get(entry)
        check_body_etag(body, current["etag"] if current else None, "the %s certificate" % entry)
        der, thumbprint = parse_certificate(body["certificate"], "certificate")
        value = {"certificate": der, "thumbprint": thumbprint, "verified": body.get("verified", False),
                 "etag": store.new_etag(), "verificationCode": None}
        require_unique(group["id"], {entry: value})
        save_entry(group, entry, value)
        return ok(render_certificate(value))

    def delete_certificate(ctx):
        group, entry, dummy = existing_entry(ctx)
        save_entry(group, entry, None)
        return no_content()

    def generate_code(ctx):
        group, entry, current = existing_entry(ctx)
        code = secrets.token_hex(24).upper()
        # The code is not part of any representation, so no etag changes.
        save_entry(group, entry, dict(current, verificationCode=code), touch_group=False)
        return ok({"verificationCode": code})

    def verify_certificate(ctx):
        group, entry, current = existing_entry(ctx)
        body = json_object(ctx.json_body())
        proof = body.get("certificate")
        if proof is None:
            raise ApiError(422, "Field 'certificate' is required.")
        if not isinstance(proof, str):
            raise ApiError(422, "Field 'certificate' must be a string, not %s." % json_type(proof))
        verified, reason = verify_proof_of_possession(current["certificate"], proof, current.get("verificationCode"))
        if not verified:
            raise ApiError(422, "The %s certificate of enrollment group %r was not verified: %s."
                           % (entry, group["id"], reason))
        # A verification code proves possession once.
        save_entry(group, entry, dict(current, verified=True, verificationCode=None, etag=store.new_etag()))
        return no_content()

    base = "/api/enrollmentGroups/{enrollmentGroupId}/certificates/{entry}"
    router.add("GET", base, get_certificate)
    router.add("PUT", base, put_certificate)
    router.add("DELETE", base, delete_certificate)
    router.add("POST", base + "/generateVerificationCode", generate_code)
    router.add("POST", base + "/verify", verify_certificate)
