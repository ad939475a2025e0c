"""Individual device attestation (both api-versions): ``/devices/{deviceId}/attestation``.

GET, PUT (create or replace), PATCH (``application/json`` or ``application/merge-patch+json``, the two
media types the spec declares) and DELETE, with the spec's ``Attestation`` shapes:

* ``symmetricKey``: ``{"primaryKey", "secondaryKey"}``, returned in full (``SymmetricKey`` requires both
  keys in a response). Given keys must be base64 of 16 to 64 bytes (the Device Provisioning Service rule);
  keys that are not given (``symmetricKey`` missing or ``null``, or a key set to ``null`` in a patch)
  are generated: 64 random bytes, like an enrollment group's.
* ``tpm``: ``{"endorsementKey"}`` (base64), returned as given.
* ``x509``: ``clientCertificates.primary`` (required) and ``.secondary``; each ``certificate`` is parsed
  for real (base64 of PEM or DER, :mod:`emulator.certs`) and shown only as ``info.sha1Thumbprint``, never
  echoed. In a patch an entry set to ``null`` removes it (the primary cannot be removed) and an entry
  without ``certificate`` (e.g. only ``info``) leaves it as it is.

The attestation is stored on the device record (``_attestation``), so deleting the device removes it and a
replace (PUT) of the device keeps it. A device without an individual attestation answers 404 to GET, PATCH
and DELETE. A PUT, or a PATCH with another ``type``, replaces the attestation with a fresh one of that type.
``Attestation`` has no etag in either version, so nothing here takes one. While a device has an individual
attestation, its ``/credentials`` show it (keys, TPM endorsement key or certificate thumbprints) instead of
the device's own generated keys.
"""

import base64
import binascii
import copy

from ..common import JSON, MERGE_PATCH, fetch, json_object, json_type, no_content, ok
from ..errors import ApiError
from .devices import COLLECTION as DEVICES, validate_device_id
from .enrollmentgroups import parse_certificate, symmetric_attestation

PRIORITY = 40
SYMMETRIC_KEY = "symmetricKey"
TPM = "tpm"
X509 = "x509"
TYPES = (SYMMETRIC_KEY, TPM, X509)
ENTRIES = ("primary", "secondary")
STORED = "_attestation"
_MISSING = object()


def render(attestation):
    """The spec's Attestation shape of a stored attestation (certificates as thumbprints only)."""
    kind = attestation["type"]
    if kind == SYMMETRIC_KEY:
        return {"type": kind, "symmetricKey": dict(attestation["symmetricKey"])}
    if kind == TPM:
        return {"type": kind, "tpm": dict(attestation["tpm"])}
    certificates = attestation["certificates"]
    return {"type": kind, "x509": {"clientCertificates": {
        entry: {"info": {"sha1Thumbprint": certificates[entry]["thumbprint"]}} for entry in ENTRIES
        if entry in certificates}}}


def credential_fields(device):
    """What ``/devices/{id}/credentials`` shows of the device's individual attestation ({} without one)."""
    attestation = device.get(STORED)
    if not attestation:
        return {}
    shown = render(attestation)
    return {attestation["type"]: shown[attestation["type"]]}


def _object(value, where):
    if not isinstance(value, dict):
        raise ApiError(422, "Field '%s' must be an object, not %s." % (where, json_type(value)))
    return value


def _symmetric_key(body, current, partial):
    return symmetric_attestation(body, current, partial, prefix="")


def _tpm(body, current, partial):
    value = body.get(TPM, _MISSING)
    if value is _MISSING and partial:
        return {"type": TPM, "tpm": dict(current)}
    if value is _MISSING or value is None:
        raise ApiError(422, "Field 'tpm' is required for a tpm attestation.")
    key = _object(value, TPM).get("endorsementKey")
    if key is None and partial and "endorsementKey" not in value:
        return {"type": TPM, "tpm": dict(current)}
    if not isinstance(key, str):
        raise ApiError(422, "Field 'tpm.endorsementKey' is required and must be a string, not %s." % json_type(key))
    compact = "".join(key.split())
    try:
        valid = bool(compact) and bool(base64.b64decode(compact.encode("ascii"), validate=True))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        valid = False
    if not valid:
        raise ApiError(422, "Field 'tpm.endorsementKey' must be the base64 encoding of the TPM's endorsement key.")
    return {"type": TPM, "tpm": {"endorsementKey": compact}}


def _x509(body, current, partial):
    certificates = copy.deepcopy(current or {})
    value = body.get(X509, _MISSING)
    if not (partial and value is _MISSING):
        if value is _MISSING or value is None:
            raise ApiError(422, "Field 'x509.clientCertificates.primary' is required for an x509 attestation.")
        client = _object(value, X509).get("clientCertificates", _MISSING)
        if client is not _MISSING or not partial:
            if client is _MISSING or client is None:
                raise ApiError(422, "Field 'x509.clientCertificates.primary' is required for an x509 attestation.")
            for name, entry in _object(client, "x509.clientCertificates").items():
                where = "x509.clientCertificates." + name
                if name not in ENTRIES:
                    raise ApiError(422, "Field '%s' is not a certificate entry; use primary or secondary." % where)
                if entry is None:
                    certificates.pop(name, None)
                    continue
                certificate = _object(entry, where).get("certificate")
                if certificate is None:
                    # Only the read-only info (or nothing): the entry stays as it is.
                    if name not in certificates:
                        raise ApiError(422, "Field '%s.certificate' is required to add a certificate." % where)
                    continue
                der, thumbprint = parse_certificate(certificate, where + ".certificate")
                certificates[name] = {"certificate": der, "thumbprint": thumbprint}
    if "primary" not in certificates:
        raise ApiError(422, "Field 'x509.clientCertificates.primary' is required for an x509 attestation.")
    return {"type": X509, "certificates": certificates}


BUILDERS = {SYMMETRIC_KEY: (_symmetric_key, SYMMETRIC_KEY), TPM: (_tpm, TPM), X509: (_x509, "certificates")}


def build(body, current):
    """The attestation ``body`` makes of ``current`` (a stored attestation, or None for a replace)."""
    kind = body.get("type")
    if kind is None and current is not None:
        kind = current["type"]
    if kind not in TYPES:
        raise ApiError(422, "Field 'type' must be one of %s, not %s." % (
            ", ".join(TYPES), repr(kind) if isinstance(kind, str) else json_type(kind)))
    builder, part = BUILDERS[kind]
    same = current is not None and current["type"] == kind
    return builder(body, current.get(part) if same else None, same)


def register(emulator):
    store = emulator.store
    devices = store.collection(DEVICES)

    def device_of(ctx):
        return fetch(devices, validate_device_id(ctx.params["deviceId"]), "device")

    def existing(ctx):
        device = device_of(ctx)
        if not device.get(STORED):
            raise ApiError(404, "Device %r has no individual attestation." % device["id"])
        return device

    def save(device, attestation):
        devices.put(device["id"], dict(device, **{STORED: attestation}))

    def get_attestation(ctx):
        return ok(render(existing(ctx)[STORED]))

    def put_attestation(ctx):
        device = device_of(ctx)
        attestation = build(json_object(ctx.json_body()), None)
        save(device, attestation)
        return ok(render(attestation))

    def patch_attestation(ctx):
        device = existing(ctx)
        attestation = build(json_object(ctx.json_body(allowed=(JSON, MERGE_PATCH))), device[STORED])
        save(device, attestation)
        return ok(render(attestation))

    def delete_attestation(ctx):
        save(existing(ctx), None)
        return no_content()

    path = "/api/devices/{deviceId}/attestation"
    emulator.api_router.add("GET", path, get_attestation)
    emulator.api_router.add("PUT", path, put_attestation)
    emulator.api_router.add("PATCH", path, patch_attestation)
    emulator.api_router.add("DELETE", path, delete_attestation)
