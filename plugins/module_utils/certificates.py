# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""X.509 signing certificates of enrollment groups: upload, verification and removal.

A certificate entry is identified by its SHA-1 thumbprint: uploading the certificate already on the
entry is a no-op. Verification (proof that the uploader holds the CA key) happens one of three ways:
the user attests it (``verified`` sent with the upload), the user supplies a verification certificate,
or the module issues one itself from the CA private key. Every local check (certificate parses, key
matches, verification certificate was signed by the certificate) runs before the first API call.
"""

from __future__ import annotations

from ansible_collections.fleetops.iotcentral.plugins.module_utils import x509 as x509_utils
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient, quoted
from ansible_collections.fleetops.iotcentral.plugins.module_utils.enrollmentgroups import (
    ATTESTATION_OPTIONS,
    attestation_type,
    get_enrollment_group,
    validate_enrollment_group_id,
)

ENTRIES = ("primary", "secondary")


def validate_entry(entry):
    if entry not in ENTRIES:
        raise ValueError("entry must be primary or secondary, not %s" % quoted(entry))
    return entry


def certificate_path(group_id, entry, *rest):
    return IoTCentralClient.path("enrollmentGroups", group_id, "certificates", entry, *rest)


def normalize_thumbprint(value):
    return "".join(ch for ch in (value or "") if ch not in ": ").upper()


def thumbprint_of(entry_data):
    return normalize_thumbprint(((entry_data or {}).get("info") or {}).get("sha1Thumbprint"))


def public_view(entry_data):
    """The entry without the certificate body (public, but long and of no use in a result)."""
    if not entry_data:
        return None
    return dict((key, value) for key, value in entry_data.items() if key != "certificate")


def get_certificate_entry(client, group_id, entry):
    """The entry as the API shows it, or None when no certificate is set there."""
    data = client.get(certificate_path(group_id, entry), allow_404=True)
    if not data or not thumbprint_of(data):
        return None
    return data


class Inputs:
    """Everything read and checked locally, before any API call."""

    def __init__(self, certificate=None, ca_key=None, verification_certificate=None):
        self.certificate = certificate
        self.ca_key = ca_key
        self.verification_certificate = verification_certificate


def _load(loader, path, **kwargs):
    """Call an x509 loader; a failure names the file (which input is wrong), never its content."""
    error = None
    try:
        return loader(path=path, **kwargs)
    except ValueError as exc:
        error = str(exc)
    if path and path not in error:
        error = "%s: %s" % (path, error)
    raise ValueError(error)


def load_inputs(spec):
    """Parse and cross-check the certificate inputs. Raises ValueError (one line, no key material) on bad input."""
    state = spec.get("state") or "present"
    has_cert = spec.get("certificate") is not None or spec.get("certificate_path") is not None
    if state == "present" and not has_cert:
        raise ValueError("certificate or certificate_path is required with state=present")
    inputs = Inputs()
    if has_cert:
        inputs.certificate = _load(x509_utils.load_certificate, spec.get("certificate_path"),
                                   content=spec.get("certificate"), what="certificate")
    if state == "absent":
        return inputs

    ways = [name for name, given in (
        ("verified=true", bool(spec.get("verified"))),
        ("verification_certificate", spec.get("verification_certificate") is not None
         or spec.get("verification_certificate_path") is not None),
        ("ca_private_key", spec.get("ca_private_key") is not None or spec.get("ca_private_key_path") is not None),
    ) if given]
    if len(ways) > 1:
        raise ValueError("choose one way to verify the certificate, not %s" % " and ".join(ways))

    if spec.get("ca_private_key") is not None or spec.get("ca_private_key_path") is not None:
        key = _load(x509_utils.load_private_key, spec.get("ca_private_key_path"), content=spec.get("ca_private_key"),
                    passphrase=spec.get("ca_private_key_passphrase"), what="CA private key")
        if not x509_utils.key_matches_certificate(key, inputs.certificate):
            raise ValueError("the CA private key does not belong to the certificate (sha1 %s): give the private key "
                             "of the certificate being uploaded" % x509_utils.sha1_thumbprint(inputs.certificate))
        inputs.ca_key = key
    if spec.get("verification_certificate") is not None or spec.get("verification_certificate_path") is not None:
        proof = _load(x509_utils.load_certificate, spec.get("verification_certificate_path"),
                      content=spec.get("verification_certificate"), what="verification certificate")
        if not x509_utils.is_issued_by(proof, inputs.certificate):
            raise ValueError("the verification certificate was not signed by the key of the certificate (sha1 %s); "
                             "issue it with that certificate's private key" % x509_utils.sha1_thumbprint(inputs.certificate))
        inputs.verification_certificate = proof
    return inputs


def _require_x509_group(client, group_id):
    group = get_enrollment_group(client, group_id)
    if group is None:
        raise ValueError("enrollment group %s does not exist; create it with attestation=x509 first" % group_id)
    kind = attestation_type(group)
    if kind != "x509":
        raise ValueError("enrollment group %s uses %s attestation; certificates only apply to x509 groups"
                         % (group_id, ATTESTATION_OPTIONS.get(kind, kind)))
    return group


def _diff(before, after):
    def pick(data):
        if not data:
            return {}
        return {"sha1Thumbprint": thumbprint_of(data), "verified": bool(data.get("verified"))}
    return {"before": pick(before), "after": pick(after)}


def _proof_of_possession(client, group_id, entry, inputs):
    """A fresh verification code from the service, and a certificate for it signed with the CA key."""
    answer = client.post(certificate_path(group_id, entry, "generateVerificationCode"))
    code = (answer or {}).get("verificationCode")
    if not code:
        raise ValueError("IoT Central returned no verification code for the %s certificate of %s" % (entry, group_id))
    return x509_utils.load_certificate(
        content=x509_utils.make_verification_certificate(inputs.certificate, inputs.ca_key, code),
        what="verification certificate")


def ensure_certificate(client, spec, check_mode=False, inputs=None):
    """Converge one certificate entry of an enrollment group.

    Returns a dict with ``action`` (created/replaced/verified/deleted/unchanged), ``verified_by``
    (attested/verification_certificate/proof_of_possession or None), ``certificate`` (the entry without
    its body, None when absent), ``diff`` and, when asked for, ``verification_code``.
    """
    group_id = validate_enrollment_group_id(spec["enrollment_group"], field="enrollment_group")
    entry = validate_entry(spec["entry"])
    if inputs is None:
        inputs = load_inputs(spec)
    path = certificate_path(group_id, entry)
    result = {"action": "unchanged", "verified_by": None, "verification_code": None}

    if (spec.get("state") or "present") == "absent":
        current = get_certificate_entry(client, group_id, entry)
        wanted = x509_utils.sha1_thumbprint(inputs.certificate) if inputs.certificate is not None else None
        # With a certificate given, only that certificate is removed: another one on the entry is left alone.
        if current is None or (wanted is not None and thumbprint_of(current) != wanted):
            result.update(certificate=None, diff=_diff(current, current))
            return result
        if not check_mode:
            client.delete(path)
        result.update(action="deleted", certificate=None, diff=_diff(current, None))
        return result

    _require_x509_group(client, group_id)
    current = get_certificate_entry(client, group_id, entry)
    thumbprint = x509_utils.sha1_thumbprint(inputs.certificate)
    attest = bool(spec.get("verified"))
    after = current

    if current is None or thumbprint_of(current) != thumbprint:
        result["action"] = "created" if current is None else "replaced"
        body = {"certificate": x509_utils.api_certificate_payload(inputs.certificate), "verified": attest}
        if current is not None and current.get("etag"):
            body["etag"] = current["etag"]
        after = {"verified": attest, "info": {"sha1Thumbprint": thumbprint}} if check_mode else client.put(path, body)
        if attest:
            result["verified_by"] = "attested"
    elif attest and not current.get("verified"):
        # Same certificate, now attested by the user: the upload request is the only way to say so.
        result.update(action="verified", verified_by="attested")
        body = {"certificate": x509_utils.api_certificate_payload(inputs.certificate), "verified": True}
        if current.get("etag"):
            body["etag"] = current["etag"]
        after = dict(current, verified=True) if check_mode else client.put(path, body)

    if not (after or {}).get("verified") and not attest:
        proof = inputs.verification_certificate
        if proof is not None:
            result["verified_by"] = "verification_certificate"
        elif inputs.ca_key is not None:
            result["verified_by"] = "proof_of_possession"
        if result["verified_by"] is not None:
            if result["action"] == "unchanged":
                result["action"] = "verified"
            if check_mode:
                after = dict(after, verified=True)
            else:
                if proof is None:
                    proof = _proof_of_possession(client, group_id, entry, inputs)
                client.post(certificate_path(group_id, entry, "verify"),
                            {"certificate": x509_utils.api_certificate_payload(proof)})
                after = get_certificate_entry(client, group_id, entry) or after
        elif spec.get("generate_verification_code") and not check_mode:
            code = client.post(certificate_path(group_id, entry, "generateVerificationCode"))
            result["verification_code"] = (code or {}).get("verificationCode")

    result.update(certificate=dict(public_view(after), entry=entry), diff=_diff(current, after))
    return result


def read_certificates(client, group_id, entries=ENTRIES):
    """{entry: entry view or None} for an X.509 group; {} when the group does not exist or is not an X.509 group."""
    validate_enrollment_group_id(group_id, field="enrollment_group")
    group = get_enrollment_group(client, group_id)
    if group is None or attestation_type(group) != "x509":
        return {}
    result = {}
    for entry in entries:
        data = public_view(get_certificate_entry(client, group_id, validate_entry(entry)))
        if data is not None:
            data["sha1Thumbprint"] = thumbprint_of(data)
            data["verified"] = bool(data.get("verified"))
        result[entry] = data
    return result
