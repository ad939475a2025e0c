# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Individual device attestation (``/devices/{id}/attestation``): logic of device_attestation(_info).

A device's individual enrollment is one of three types: ``symmetricKey`` (primary and secondary key),
``x509`` (primary and optional secondary client certificate) or ``tpm`` (the TPM's endorsement key).

How a run decides what to send (only what the user asked for is compared):

* No attestation yet, or one of another type: a ``PUT`` of the whole attestation (a type change replaces
  the old attestation; the result says ``replaced`` and the diff names what it replaces).
* Same type: a merge ``PATCH`` of only what differs - the keys given that differ, the certificate entries
  whose SHA-1 thumbprint differs (a certificate is never uploaded again when its thumbprint is shown), the
  endorsement key if it differs. Entries and keys not given are left as they are.
* Symmetric keys not given: any existing symmetric-key attestation satisfies the task. To create one the
  module generates two keys (64 random bytes each, the form IoT Central generates) because the API's
  ``SymmetricKeyAttestation`` requires both keys in the request.
* Secrets are compared with what the attestation shows, else with what ``/credentials`` shows. When neither
  shows them the module cannot compare and sends the given value (the task reports a change).

Results and diffs never carry keys: symmetric keys and the endorsement key are removed, and a change of them
shows as a marker. ``include_keys`` on the info module returns them. Every local check (option combinations,
base64 keys, certificates that parse) runs before the first request.
"""

from __future__ import annotations

import base64
import copy
import os

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import decode_base64
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import device_path, get_device, validate_device_id
from ansible_collections.fleetops.iotcentral.plugins.module_utils.enrollmentgroups import KEY_FIELDS, MERGE_PATCH, validate_group_key


def x509_utils():
    """module_utils/x509.py, imported on first use: it imports cryptography, a tenth of a second or more of a module
    process's start-up, which only X.509 attestations need (not device_fleet or the export without them)."""
    from ansible_collections.fleetops.iotcentral.plugins.module_utils import x509  # pylint: disable=import-outside-toplevel

    return x509


# Module choice -> API attestation type.
ATTESTATIONS = {"symmetric_key": "symmetricKey", "x509": "x509", "tpm": "tpm"}
ATTESTATION_OPTIONS = dict((api, option) for option, api in ATTESTATIONS.items())
ENTRIES = ("primary", "secondary")
# The options that belong to each attestation type (used to refuse options of another type).
TYPE_OPTIONS = {
    "symmetricKey": ("primary_key", "secondary_key"),
    "x509": ("primary_certificate", "primary_certificate_path", "secondary_certificate", "secondary_certificate_path",
             "primary_sha1_thumbprint", "secondary_sha1_thumbprint"),
    "tpm": ("endorsement_key",),
}
GENERATED_KEY_BYTES = 64


def attestation_path(device_id):
    return device_path(device_id, "attestation")


class Desired:
    """The attestation a task asks for, read and checked locally (no request made)."""

    def __init__(self, kind=None, keys=None, certificates=None, endorsement_key=None, expected_thumbprints=None):
        self.kind = kind
        self.keys = keys or {}
        self.certificates = certificates or {}
        self.endorsement_key = endorsement_key
        # Entries known only by thumbprint (as app_export writes them): checked, never uploaded.
        self.expected_thumbprints = expected_thumbprints or {}

    def thumbprints(self):
        return dict((entry, x509_utils().sha1_thumbprint(cert)) for entry, cert in self.certificates.items())


def validate_endorsement_key(value, option="endorsement_key"):
    """A TPM endorsement key is base64 text; returned without whitespace. The message never repeats the value."""
    compact, decoded = decode_base64(value)
    if not decoded:
        raise ValueError("%s must be the base64 text of the TPM's endorsement key (as the TPM tools print it)" % option)
    return compact


def load_certificate_option(spec, entry):
    """The certificate of ``entry`` from ``<entry>_certificate`` (PEM/DER/base64 text) or ``<entry>_certificate_path``."""
    option = "%s_certificate" % entry
    content, path = spec.get(option), spec.get(option + "_path")
    if content is not None and path is not None:
        raise ValueError("give %s or %s_path, not both" % (option, option))
    if content is None and path is None:
        return None
    return x509_utils().load_certificate(content=content, path=path, what=option)


def _given(spec, option):
    return spec.get(option) is not None


def load_desired(spec):
    """``(device_id, state, Desired)`` from module options; ValueError (one line, naming the option) on bad input."""
    device_id = validate_device_id(spec["id"])
    state = spec.get("state") or "present"
    option = spec.get("attestation")
    if option is not None and option not in ATTESTATIONS:
        raise ValueError("attestation must be one of %s, not %r" % (", ".join(sorted(ATTESTATIONS)), option))
    kind = ATTESTATIONS.get(option)
    if state == "absent":
        return device_id, state, Desired(kind)
    if kind is None:
        raise ValueError("attestation (symmetric_key, x509 or tpm) is required with state=present")
    for other, options in TYPE_OPTIONS.items():
        wrong = [name for name in options if other != kind and _given(spec, name)]
        if wrong:
            raise ValueError("%s only apply to attestation=%s, not %s"
                             % (" and ".join(wrong), ATTESTATION_OPTIONS[other], option))
    desired = Desired(kind)
    for key_option, field in KEY_FIELDS:
        if _given(spec, key_option):
            desired.keys[field] = validate_group_key(spec[key_option], key_option)
    for entry in ENTRIES:
        cert = load_certificate_option(spec, entry)
        if cert is not None:
            desired.certificates[entry] = cert
    for entry in ENTRIES:
        option = "%s_sha1_thumbprint" % entry
        if _given(spec, option) and entry not in desired.certificates:
            desired.expected_thumbprints[entry] = normal_thumbprint(spec[option], option)
    if _given(spec, "endorsement_key"):
        desired.endorsement_key = validate_endorsement_key(spec["endorsement_key"])
    return device_id, state, desired


def normal_thumbprint(value, option):
    """A SHA-1 thumbprint as upper-case hex without separators; ValueError naming ``option`` otherwise."""
    text = "".join(ch for ch in str(value) if ch not in ": ").upper()
    if len(text) != 40 or any(ch not in "0123456789ABCDEF" for ch in text):
        raise ValueError("%s must be a SHA-1 thumbprint (40 hex digits), got %r" % (option, str(value)[:60]))
    return text


def check_expected_thumbprints(device_id, desired, current):
    """Refuse an attestation whose certificates differ from the entries given only by thumbprint: they cannot be
    uploaded, so the run fails naming the entry and the fix."""
    shown = thumbprints_of(current) if (current or {}).get("type") == "x509" else {}
    for entry, thumbprint in sorted(desired.expected_thumbprints.items()):
        if shown.get(entry) != thumbprint:
            raise ValueError("device %s: the %s certificate is %s, but the declaration says %s: add "
                             "%s_certificate_path (the PEM with that thumbprint) to upload it"
                             % (device_id, entry, shown.get(entry) or "missing", thumbprint, entry))


def thumbprints_of(attestation):
    """{entry: upper-case SHA-1 thumbprint} of an X.509 attestation as the API shows it."""
    client_certificates = ((attestation or {}).get("x509") or {}).get("clientCertificates") or {}
    result = {}
    for entry in ENTRIES:
        info = (client_certificates.get(entry) or {}).get("info") or {}
        if info.get("sha1Thumbprint"):
            result[entry] = "".join(ch for ch in info["sha1Thumbprint"] if ch not in ": ").upper()
    return result


def public_view(attestation, include_keys=False):
    """An attestation safe for results: symmetric keys and the endorsement key removed (unless ``include_keys``),
    certificates reduced to their thumbprints."""
    if attestation is None:
        return None
    kind = attestation.get("type")
    view = {"type": kind}
    if kind == "x509":
        view["x509"] = {"clientCertificates": dict(
            (entry, {"info": {"sha1Thumbprint": thumbprint}}) for entry, thumbprint in thumbprints_of(attestation).items())}
    elif include_keys and isinstance(attestation.get(kind), dict):
        view[kind] = copy.deepcopy(attestation[kind])
    return view


def diff_view(before, after, secret_changed=False):
    """--diff before/after: type and certificate thumbprints; a key change is a marker, a type change says so."""
    def pick(attestation):
        if not attestation:
            return {}
        view = {"type": attestation.get("type")}
        for entry, thumbprint in thumbprints_of(attestation).items():
            view["%sThumbprint" % entry] = thumbprint
        return view
    result = {"before": pick(before), "after": pick(after)}
    if before and after and before.get("type") != after.get("type"):
        result["after"]["replaces"] = "the %s attestation (a type change replaces the attestation)" % before.get("type")
    elif secret_changed and before and after:
        result["before"]["keys"] = "(current, hidden)"
        result["after"]["keys"] = "(new, hidden)"
    return result


def new_key():
    return base64.b64encode(os.urandom(GENERATED_KEY_BYTES)).decode("ascii")


def create_body(device_id, desired):
    """The PUT body of a new attestation of ``desired.kind``; ValueError when it lacks what that type needs."""
    if desired.kind == "symmetricKey":
        keys = dict((field, desired.keys.get(field) or new_key()) for _option, field in KEY_FIELDS)
        return {"type": "symmetricKey", "symmetricKey": keys}
    if desired.kind == "tpm":
        if desired.endorsement_key is None:
            raise ValueError("endorsement_key is required to give device %s a tpm attestation" % device_id)
        return {"type": "tpm", "tpm": {"endorsementKey": desired.endorsement_key}}
    if "primary" not in desired.certificates:
        raise ValueError("primary_certificate or primary_certificate_path is required to give device %s an x509 "
                         "attestation" % device_id)
    return {"type": "x509", "x509": {"clientCertificates": dict(
        (entry, {"certificate": x509_utils().api_certificate_payload(cert)}) for entry, cert in desired.certificates.items())}}


def shown_secret(client, device_id, attestation):
    """The secret part of a symmetric-key or TPM attestation (``{primaryKey, secondaryKey}`` / ``{endorsementKey}``)
    from the attestation, else from the device's credentials; None when neither shows it."""
    kind = attestation.get("type")
    part = attestation.get(kind)
    if isinstance(part, dict) and part:
        return part
    credentials = client.get(device_path(device_id, "credentials"), allow_404=True) or {}
    part = credentials.get(kind)
    return part if isinstance(part, dict) and part else None


def _same_type_patch(client, device_id, current, desired):
    """The merge-patch body that brings ``current`` (same type) to ``desired``, or None when nothing differs."""
    kind = desired.kind
    if kind == "x509":
        shown = thumbprints_of(current)
        changed = dict((entry, {"certificate": x509_utils().api_certificate_payload(cert)})
                       for entry, cert in desired.certificates.items()
                       if x509_utils().sha1_thumbprint(cert) != shown.get(entry))
        return {"type": "x509", "x509": {"clientCertificates": changed}} if changed else None
    wanted = desired.keys if kind == "symmetricKey" else (
        {"endorsementKey": desired.endorsement_key} if desired.endorsement_key else {})
    if not wanted:
        # "Let IoT Central keep its keys": any attestation of this type will do.
        return None
    have = shown_secret(client, device_id, current) or {}
    changed = dict((field, value) for field, value in wanted.items() if "".join((have.get(field) or "").split()) != value)
    return {"type": kind, kind: changed} if changed else None


def _planned(current, body):
    """What the attestation would look like after ``body`` (check mode): type and thumbprints, never keys."""
    if current is None or current.get("type") != body["type"]:
        base = {"type": body["type"]}
    else:
        base = copy.deepcopy(current)
    if body["type"] == "x509":
        certificates = base.setdefault("x509", {}).setdefault("clientCertificates", {})
        for entry, value in body["x509"]["clientCertificates"].items():
            cert = x509_utils().load_certificate(content=value["certificate"], what="%s_certificate" % entry)
            certificates[entry] = {"info": {"sha1Thumbprint": x509_utils().sha1_thumbprint(cert)}}
    return base


def _device_id_warnings(device_id, desired):
    """The device presents its certificate's subject CN as its registration id: a different CN cannot connect."""
    warnings = []
    for entry, cert in sorted(desired.certificates.items()):
        name = x509_utils().common_name(cert)
        if name != device_id:
            warnings.append("the %s certificate's subject CN is %r, not the device id %r: the device registers with "
                            "its certificate's CN, so it will not connect as %s" % (entry, name, device_id, device_id))
    return warnings


def ensure_attestation(client, spec, check_mode=False, warn=None, loaded=None, current=None, current_known=False):
    """Converge one device's individual attestation.

    ``loaded`` is what :func:`load_desired` returned for ``spec`` when the caller checked it already.
    ``current``/``current_known`` let a bulk caller pass the attestation it already read (None: the device has
    none, or does not exist yet and is created first).
    Returns ``(action, attestation, diff)``: action created/updated/replaced/deleted/unchanged; ``attestation``
    and ``diff`` never carry keys.
    """
    device_id, state, desired = loaded or load_desired(spec)
    if warn is not None:
        for message in _device_id_warnings(device_id, desired):
            warn(message)
    path = attestation_path(device_id)
    if not current_known:
        current = client.get(path, allow_404=True)
    if current is None and not current_known and get_device(client, device_id) is None:
        if state == "absent":
            return "unchanged", None, diff_view(None, None)
        raise ValueError("device %s does not exist: create it (fleetops.iotcentral.device) before its attestation"
                         % device_id)

    if state == "absent":
        if current is None:
            return "unchanged", None, diff_view(None, None)
        if not check_mode:
            client.delete(path)
        return "deleted", None, diff_view(current, None)

    if desired.kind == "x509":
        check_expected_thumbprints(device_id, desired, current)
    if current is None or current.get("type") != desired.kind:
        body = create_body(device_id, desired)
        action = "created" if current is None else "replaced"
        after = _planned(current, body) if check_mode else client.put(path, body)
        return action, public_view(after), diff_view(current, after)

    body = _same_type_patch(client, device_id, current, desired)
    if body is None:
        return "unchanged", public_view(current), diff_view(current, current)
    after = _planned(current, body) if check_mode else client.patch(path, body, content_type=MERGE_PATCH)
    return "updated", public_view(after), diff_view(current, after, secret_changed=desired.kind != "x509")


def read_attestation(client, device_id, include_keys=False):
    """``{"attestation": view or None, "device_exists": bool}`` for one device."""
    device_id = validate_device_id(device_id)
    current = client.get(attestation_path(device_id), allow_404=True)
    if current is None:
        return {"attestation": None, "device_exists": get_device(client, device_id) is not None}
    view = public_view(current, include_keys=include_keys)
    if include_keys and current.get("type") in ("symmetricKey", "tpm") and current.get("type") not in view:
        secret = shown_secret(client, device_id, current)
        if secret is not None:
            view[current["type"]] = dict(secret)
    return {"attestation": view, "device_exists": True}
