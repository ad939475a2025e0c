"""Enrollment groups and their X.509 certificates: CRUD, keys, attestation changes, real proof of possession."""

import base64
import datetime
import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from emulator.testing import PREVIEW, STABLE, ApiClient, assert_no_spec_violations, error_of

BOTH = pytest.mark.parametrize("version", [STABLE, PREVIEW])
MERGE = {"Content-Type": "application/merge-patch+json"}
SYMMETRIC = {"displayName": "My group", "enabled": True, "type": "iot", "attestation": {"type": "symmetricKey"}}
X509_GROUP = {"displayName": "My group", "enabled": True, "type": "iot", "attestation": {"type": "x509"}}
NOW = datetime.datetime.now(datetime.timezone.utc)


# Certificates are built here with cryptography, independently of plugins/ and of the emulator's certs.py.

def make_cert(cn, key, issuer_cn=None, issuer_key=None, ca=False, days=1):
    def name(value):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])

    builder = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(issuer_cn or cn))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(minutes=5))
               .not_valid_after(NOW + datetime.timedelta(days=days)))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(issuer_key or key, hashes.SHA256())


def b64_pem(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


def b64_der(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def thumbprint(cert):
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


class Root:
    def __init__(self, cn, key):
        self.cn = cn
        self.key = key
        self.cert = make_cert(cn, key, ca=True)

    def proof(self, code, signer=None):
        """A verification certificate with subject CN = code, signed by this root's key (or ``signer``)."""
        leaf = ec.generate_private_key(ec.SECP256R1())
        return b64_pem(make_cert(code, leaf, issuer_cn=self.cn, issuer_key=signer or self.key))


@pytest.fixture(scope="module")
def root():
    return Root("mytestrootcert", ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture(scope="module")
def other_root():
    return Root("otherroot", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def patch(client, path, body, **kwargs):
    headers = dict(MERGE, **kwargs.pop("headers", {}))
    return client.patch(path, data=json.dumps(body), headers=headers, **kwargs)


def decoded_length(key):
    return len(base64.b64decode(key, validate=True))


# Enrollment groups ------------------------------------------------------------------------------------------------

@BOTH
def test_symmetric_key_group_lifecycle(client_for, fresh_emulator, version):
    client = client_for(version)
    created = client.put("enrollmentGroups/mysymmetric", json=SYMMETRIC)
    assert created.status_code == 200
    group = created.json()
    keys = group["attestation"]["symmetricKey"]
    assert decoded_length(keys["primaryKey"]) == 64 and decoded_length(keys["secondaryKey"]) == 64
    assert keys["primaryKey"] != keys["secondaryKey"]
    expected = {"id": "mysymmetric", "displayName": "My group", "enabled": True, "type": "iot",
                "attestation": {"type": "symmetricKey", "symmetricKey": keys}, "etag": group["etag"]}
    if version == PREVIEW:
        expected["idScope"] = fresh_emulator.store.id_scope
    assert group == expected
    assert client.get("enrollmentGroups/mysymmetric").json() == group
    assert client.get("enrollmentGroups").json() == {"value": [group]}
    renamed = patch(client, "enrollmentGroups/mysymmetric", {"displayName": "My new group name"}).json()
    assert renamed == dict(group, displayName="My new group name", etag=renamed["etag"])
    assert renamed["etag"] != group["etag"]
    assert client.delete("enrollmentGroups/mysymmetric").status_code == 204
    assert error_of(client.get("enrollmentGroups/mysymmetric"), 404)["code"] == "NotFound"
    assert error_of(client.delete("enrollmentGroups/mysymmetric"), 404)
    assert_no_spec_violations(fresh_emulator)


def test_every_group_gets_its_own_keys_and_user_keys_are_kept(client_for):
    client = client_for(STABLE)
    first = client.put("enrollmentGroups/a", json=SYMMETRIC).json()["attestation"]["symmetricKey"]
    second = client.put("enrollmentGroups/b", json=SYMMETRIC).json()["attestation"]["symmetricKey"]
    assert not set(first.values()) & set(second.values())
    mine = {"primaryKey": base64.b64encode(b"p" * 32).decode(), "secondaryKey": base64.b64encode(b"s" * 16).decode()}
    body = dict(SYMMETRIC, attestation={"type": "symmetricKey", "symmetricKey": mine})
    assert client.put("enrollmentGroups/c", json=body).json()["attestation"]["symmetricKey"] == mine
    # A replace without keys keeps the current ones; null asks for new ones.
    assert client.put("enrollmentGroups/c", json=SYMMETRIC).json()["attestation"]["symmetricKey"] == mine
    regenerated = client.put("enrollmentGroups/c", json=dict(SYMMETRIC, attestation={
        "type": "symmetricKey", "symmetricKey": None})).json()["attestation"]["symmetricKey"]
    assert not set(regenerated.values()) & set(mine.values())


def test_merge_patch_of_keys(client_for):
    client = client_for(PREVIEW)
    keys = client.put("enrollmentGroups/k", json=SYMMETRIC).json()["attestation"]["symmetricKey"]
    new_primary = base64.b64encode(b"n" * 48).decode()
    patched = patch(client, "enrollmentGroups/k", {"attestation": {"symmetricKey": {"primaryKey": new_primary}}})
    assert patched.json()["attestation"]["symmetricKey"] == {"primaryKey": new_primary,
                                                             "secondaryKey": keys["secondaryKey"]}
    rotated = patch(client, "enrollmentGroups/k", {"attestation": {"symmetricKey": {"secondaryKey": None}}}).json()
    assert rotated["attestation"]["symmetricKey"]["primaryKey"] == new_primary
    assert rotated["attestation"]["symmetricKey"]["secondaryKey"] != keys["secondaryKey"]


@pytest.mark.parametrize("key", ["not base64!", base64.b64encode(b"short").decode(),
                                 base64.b64encode(b"x" * 65).decode(), 42])
def test_invalid_keys_are_422(client_for, key):
    body = dict(SYMMETRIC, attestation={"type": "symmetricKey", "symmetricKey": {
        "primaryKey": key, "secondaryKey": base64.b64encode(b"s" * 32).decode()}})
    message = error_of(client_for(STABLE).put("enrollmentGroups/bad", json=body), 422)["message"]
    assert "attestation.symmetricKey.primaryKey" in message


def test_put_needs_both_keys_when_it_gives_any(client_for):
    body = dict(SYMMETRIC, attestation={"type": "symmetricKey", "symmetricKey": {
        "primaryKey": base64.b64encode(b"p" * 32).decode()}})
    assert "secondaryKey" in error_of(client_for(STABLE).put("enrollmentGroups/bad", json=body), 422)["message"]


@BOTH
def test_x509_group_starts_without_certificates(client_for, version):
    group = client_for(version).put("enrollmentGroups/myx509eg", json=X509_GROUP).json()
    assert group["attestation"] == {"type": "x509", "x509": {"signingCertificates": {}}}


@pytest.mark.parametrize("body, field", [
    ({"enabled": True, "type": "iot", "attestation": {"type": "x509"}}, "displayName"),
    ({"displayName": "G", "attestation": {"type": "x509"}}, "type"),
    ({"displayName": "G", "type": "iot"}, "attestation"),
    ({"displayName": "G", "type": "edge", "attestation": {"type": "x509"}}, "type"),
    ({"displayName": "G", "type": "iot", "attestation": {}}, "attestation.type"),
    ({"displayName": "G", "type": "iot", "attestation": {"type": "tpm"}}, "attestation.type"),
    ({"displayName": "G", "type": "iot", "attestation": "x509"}, "attestation"),
    ({"displayName": "G", "type": "iot", "enabled": "yes", "attestation": {"type": "x509"}}, "enabled"),
    ({"displayName": 5, "type": "iot", "attestation": {"type": "x509"}}, "displayName"),
    ({"displayName": "G", "type": "iot", "attestation": {"type": "x509", "x509": {"signingCertificates": {
        "tertiary": {"certificate": "x"}}}}}, "attestation.x509.signingCertificates.tertiary"),
])
def test_required_fields_and_types(client_for, fresh_emulator, body, field):
    message = error_of(client_for(STABLE).put("enrollmentGroups/g", json=body), 422)["message"]
    assert "'%s" % field in message
    fresh_emulator.reset_stats()


def test_enabled_defaults_to_true_and_type_can_be_edge(client_for):
    client = client_for(STABLE)
    group = client.put("enrollmentGroups/edge", json={"displayName": "E", "type": "iotEdge",
                                                      "attestation": {"type": "symmetricKey"}}).json()
    assert group["enabled"] is True and group["type"] == "iotEdge"
    assert patch(client, "enrollmentGroups/edge", {"enabled": False, "type": "iot"}).json()["enabled"] is False
    assert "cannot be removed" in error_of(patch(client, "enrollmentGroups/edge", {"displayName": None}), 422)["message"]


@pytest.mark.parametrize("group_id", ["under_score", "has space", "x" * 256])
def test_invalid_group_ids(client_for, group_id):
    assert "Invalid enrollment group ID" in error_of(
        client_for(STABLE).put("enrollmentGroups/" + group_id, json=SYMMETRIC), 400)["message"]


def test_valid_long_id(client_for):
    assert client_for(STABLE).put("enrollmentGroups/" + "a" * 255, json=SYMMETRIC).status_code == 200


@BOTH
def test_patch_accepts_application_json_like_the_service(client_for, fresh_emulator, version):
    # The spec lists only merge-patch, but the service (and so the az CLI, which sends application/json) accepts both.
    client = client_for(version)
    client.put("enrollmentGroups/g", json=SYMMETRIC)
    patched = client.patch("enrollmentGroups/g", json={"displayName": "x"})
    assert patched.status_code == 200 and patched.json()["displayName"] == "x"
    assert client.get("enrollmentGroups/g").json()["displayName"] == "x"
    assert error_of(client.patch("enrollmentGroups/g", data=b"{}", headers={"Content-Type": "text/plain"}), 415)
    violations = fresh_emulator.stats()["spec_violations"]
    assert violations and all(v["side"] == "request" and v["method"] == "PATCH" for v in violations)
    fresh_emulator.reset_stats()  # application/json and text/plain break the spec on purpose.


@BOTH
def test_etags_and_if_match(client_for, version):
    client = client_for(version)
    first = client.put("enrollmentGroups/g", json=SYMMETRIC).json()
    second = patch(client, "enrollmentGroups/g", {"displayName": "B", "etag": first["etag"]}).json()
    assert error_of(patch(client, "enrollmentGroups/g", {"displayName": "C", "etag": first["etag"]}), 412)
    assert error_of(client.put("enrollmentGroups/g", json=dict(SYMMETRIC, etag=first["etag"])), 412)
    assert error_of(client.put("enrollmentGroups/new", json=dict(SYMMETRIC, etag=first["etag"])), 412)
    stale_if_match = patch(client, "enrollmentGroups/g", {"displayName": "D"}, headers={"If-Match": '"stale"'})
    if version == PREVIEW:
        assert error_of(stale_if_match, 412)
        assert client.get("enrollmentGroups/g").json() == second
        assert patch(client, "enrollmentGroups/g", {}, headers={"If-Match": second["etag"]}).status_code == 200
    else:
        assert stale_if_match.status_code == 200


def test_changing_the_attestation_type(client_for, root):
    client = client_for(PREVIEW)
    client.put("enrollmentGroups/g", json=X509_GROUP)
    client.put("enrollmentGroups/g/certificates/primary", json={"certificate": b64_pem(root.cert), "verified": True})
    to_keys = patch(client, "enrollmentGroups/g", {"attestation": {"type": "symmetricKey"}}).json()
    assert set(to_keys["attestation"]["symmetricKey"]) == {"primaryKey", "secondaryKey"}
    assert error_of(client.get("enrollmentGroups/g/certificates/primary"), 404)
    # The certificate went with the x509 attestation, so another group may use it now.
    client.put("enrollmentGroups/other", json=X509_GROUP)
    assert client.put("enrollmentGroups/other/certificates/primary",
                      json={"certificate": b64_pem(root.cert)}).status_code == 200
    back = patch(client, "enrollmentGroups/g", {"attestation": {"type": "x509"}}).json()
    assert back["attestation"] == {"type": "x509", "x509": {"signingCertificates": {}}}
    replaced = client.put("enrollmentGroups/g", json=SYMMETRIC).json()
    assert replaced["attestation"]["type"] == "symmetricKey"


# X.509 certificates -----------------------------------------------------------------------------------------------

@BOTH
def test_certificate_lifecycle_with_real_proof_of_possession(client_for, fresh_emulator, root, version):
    client = client_for(version)
    group_etag = client.put("enrollmentGroups/myx509eg", json=X509_GROUP).json()["etag"]
    base = "enrollmentGroups/myx509eg/certificates/primary"
    uploaded = client.put(base, json={"verified": False, "certificate": b64_pem(root.cert)})
    assert uploaded.status_code == 200
    entry = uploaded.json()
    assert entry == {"verified": False, "info": {"sha1Thumbprint": thumbprint(root.cert)}, "etag": entry["etag"]}
    assert client.get(base).json() == entry
    group = client.get("enrollmentGroups/myx509eg").json()
    assert group["attestation"] == {"type": "x509", "x509": {"signingCertificates": {"primary": entry}}}
    assert group["etag"] != group_etag
    code = client.post(base + "/generateVerificationCode").json()["verificationCode"]
    assert isinstance(code, str) and len(code) >= 16
    verified = client.post(base + "/verify", json={"certificate": root.proof(code)})
    assert verified.status_code == 204 and verified.content == b""
    after = client.get(base).json()
    assert after["verified"] is True and after["etag"] != entry["etag"]
    assert after["info"] == entry["info"]
    assert client.get("enrollmentGroups/myx509eg").json()["attestation"]["x509"]["signingCertificates"] == {
        "primary": after}
    assert client.delete(base).status_code == 204
    assert error_of(client.get(base), 404)
    assert error_of(client.delete(base), 404)
    assert client.get("enrollmentGroups/myx509eg").json()["attestation"]["x509"]["signingCertificates"] == {}
    assert_no_spec_violations(fresh_emulator)


def test_der_and_pem_give_the_same_thumbprint_and_verified_true_needs_no_proof(client_for, root, other_root):
    client = client_for(STABLE)
    client.put("enrollmentGroups/g", json=X509_GROUP)
    primary = client.put("enrollmentGroups/g/certificates/primary", json={"certificate": b64_der(root.cert),
                                                                          "verified": True}).json()
    assert primary["verified"] is True and primary["info"]["sha1Thumbprint"] == thumbprint(root.cert)
    secondary = client.put("enrollmentGroups/g/certificates/secondary",
                           json={"certificate": b64_pem(other_root.cert)}).json()
    assert secondary["verified"] is False
    signing = client.get("enrollmentGroups/g").json()["attestation"]["x509"]["signingCertificates"]
    assert signing == {"primary": primary, "secondary": secondary}
    # Same certificate again (as PEM this time): a replace, same thumbprint, new etag.
    again = client.put("enrollmentGroups/g/certificates/primary", json={"certificate": b64_pem(root.cert)}).json()
    assert again["info"] == primary["info"] and again["etag"] != primary["etag"] and again["verified"] is False


@pytest.mark.parametrize("value, words", [
    ("not base64 at all!", "not valid base64"),
    (base64.b64encode(b"hello world, not a certificate").decode(), "not a PEM or DER X.509 certificate"),
    (base64.b64encode(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").decode(), "not a PEM or DER"),
    ("", "empty"),
])
def test_what_is_not_a_certificate_is_refused(client_for, value, words):
    client = client_for(STABLE)
    client.put("enrollmentGroups/g", json=X509_GROUP)
    message = error_of(client.put("enrollmentGroups/g/certificates/primary", json={"certificate": value}),
                       422)["message"]
    assert "'certificate'" in message and words in message
    assert error_of(client.get("enrollmentGroups/g/certificates/primary"), 404)


def test_raw_pem_text_is_refused(client_for, root):
    client = client_for(STABLE)
    client.put("enrollmentGroups/g", json=X509_GROUP)
    pem = root.cert.public_bytes(serialization.Encoding.PEM).decode()
    assert "base64" in error_of(client.put("enrollmentGroups/g/certificates/primary", json={"certificate": pem}),
                                422)["message"]


def test_certificate_body_validation(client_for, fresh_emulator, root):
    client = client_for(STABLE)
    client.put("enrollmentGroups/g", json=X509_GROUP)
    base = "enrollmentGroups/g/certificates/primary"
    assert "required" in error_of(client.put(base, json={"verified": True}), 422)["message"]
    assert error_of(client.put(base, json={"certificate": 5}), 422)
    assert error_of(client.put(base, json={"certificate": b64_pem(root.cert), "verified": "yes"}), 422)
    fresh_emulator.reset_stats()  # wrong types break the spec on purpose.
    entry = client.put(base, json={"certificate": b64_pem(root.cert)}).json()
    assert error_of(client.put(base, json={"certificate": b64_pem(root.cert), "etag": "stale"}), 412)
    assert client.put(base, json={"certificate": b64_pem(root.cert), "etag": entry["etag"]}).status_code == 200
    assert error_of(client.put("enrollmentGroups/g/certificates/secondary",
                               json={"certificate": b64_pem(root.cert), "etag": entry["etag"]}), 412)


@pytest.mark.parametrize("entry", ["tertiary", "Primary", "0"])
def test_unknown_entry_is_400(client_for, root, entry):
    client = client_for(STABLE)
    client.put("enrollmentGroups/g", json=X509_GROUP)
    base = "enrollmentGroups/g/certificates/" + entry
    assert "primary or secondary" in error_of(client.put(base, json={"certificate": b64_pem(root.cert)}),
                                              400)["message"]
    assert error_of(client.get(base), 400)
    assert error_of(client.delete(base), 400)
    assert error_of(client.post(base + "/generateVerificationCode"), 400)


def test_certificates_only_on_x509_groups(client_for, root):
    client = client_for(STABLE)
    client.put("enrollmentGroups/sym", json=SYMMETRIC)
    base = "enrollmentGroups/sym/certificates/primary"
    assert "symmetricKey" in error_of(client.put(base, json={"certificate": b64_pem(root.cert)}), 422)["message"]
    assert "symmetricKey" in error_of(client.get(base), 404)["message"]
    assert error_of(client.post(base + "/generateVerificationCode"), 404)
    assert error_of(client.post(base + "/verify", json={"certificate": root.proof("x")}), 404)
    assert error_of(client.delete(base), 404)
    assert error_of(client.get("enrollmentGroups/missing/certificates/primary"), 404)
    assert error_of(client.put("enrollmentGroups/missing/certificates/primary",
                               json={"certificate": b64_pem(root.cert)}), 404)


def test_missing_entry_is_404(client_for):
    client = client_for(STABLE)
    client.put("enrollmentGroups/g", json=X509_GROUP)
    assert "no secondary certificate" in error_of(client.get("enrollmentGroups/g/certificates/secondary"),
                                                  404)["message"]
    assert error_of(client.post("enrollmentGroups/g/certificates/primary/generateVerificationCode"), 404)


def test_same_certificate_in_two_groups_is_refused(client_for, root):
    client = client_for(PREVIEW)
    client.put("enrollmentGroups/one", json=X509_GROUP)
    client.put("enrollmentGroups/two", json=X509_GROUP)
    client.put("enrollmentGroups/one/certificates/primary", json={"certificate": b64_pem(root.cert)})
    message = error_of(client.put("enrollmentGroups/two/certificates/secondary",
                                  json={"certificate": b64_der(root.cert)}), 422)["message"]
    assert "'one'" in message and thumbprint(root.cert) in message
    # Also through the group body.
    body = dict(X509_GROUP, attestation={"type": "x509", "x509": {"signingCertificates": {
        "primary": {"certificate": b64_pem(root.cert)}}}})
    assert error_of(client.put("enrollmentGroups/three", json=body), 422)
    assert error_of(client.get("enrollmentGroups/three"), 404)
    # Within one group, primary and secondary may hold the same certificate.
    assert client.put("enrollmentGroups/one/certificates/secondary",
                      json={"certificate": b64_pem(root.cert)}).status_code == 200
    # Once the first group lets go, the other may take it.
    client.delete("enrollmentGroups/one")
    assert client.put("enrollmentGroups/two/certificates/secondary",
                      json={"certificate": b64_pem(root.cert)}).status_code == 200


def test_certificates_in_the_group_body(client_for, root, other_root):
    client = client_for(PREVIEW)
    body = dict(X509_GROUP, attestation={"type": "x509", "x509": {"signingCertificates": {
        "primary": {"certificate": b64_pem(root.cert), "verified": True}}}})
    group = client.put("enrollmentGroups/g", json=body).json()
    primary = group["attestation"]["x509"]["signingCertificates"]["primary"]
    assert primary["verified"] is True and primary["info"]["sha1Thumbprint"] == thumbprint(root.cert)
    # A replace that does not mention the certificates keeps them.
    kept = client.put("enrollmentGroups/g", json=dict(X509_GROUP, displayName="renamed")).json()
    assert kept["attestation"]["x509"]["signingCertificates"] == {"primary": primary}
    # Merge patch: add the secondary, un-verify the primary without re-uploading, then remove the primary.
    patched = patch(client, "enrollmentGroups/g", {"attestation": {"x509": {"signingCertificates": {
        "secondary": {"certificate": b64_der(other_root.cert)}, "primary": {"verified": False}}}}}).json()
    signing = patched["attestation"]["x509"]["signingCertificates"]
    assert signing["primary"]["verified"] is False and signing["primary"]["etag"] != primary["etag"]
    assert signing["secondary"]["info"]["sha1Thumbprint"] == thumbprint(other_root.cert)
    removed = patch(client, "enrollmentGroups/g", {"attestation": {"x509": {"signingCertificates": {
        "primary": None}}}}).json()
    assert set(removed["attestation"]["x509"]["signingCertificates"]) == {"secondary"}
    message = error_of(patch(client, "enrollmentGroups/g", {"attestation": {"x509": {"signingCertificates": {
        "primary": {"verified": True}}}}}), 422)["message"]
    assert "primary.certificate' is required" in message
    garbage = patch(client, "enrollmentGroups/g", {"attestation": {"x509": {"signingCertificates": {
        "primary": {"certificate": "Zm9v"}}}}})
    assert "attestation.x509.signingCertificates.primary.certificate" in error_of(garbage, 422)["message"]


# Proof of possession ----------------------------------------------------------------------------------------------

@pytest.fixture
def pending(client_for, root):
    """An x509 group with an unverified primary certificate; returns (client, base path)."""
    client = client_for(STABLE)
    client.put("enrollmentGroups/g", json=X509_GROUP)
    base = "enrollmentGroups/g/certificates/primary"
    client.put(base, json={"certificate": b64_pem(root.cert)})
    return client, base


def new_code(client, base):
    return client.post(base + "/generateVerificationCode").json()["verificationCode"]


def test_each_request_gets_a_fresh_code(pending):
    client, base = pending
    codes = {new_code(client, base) for dummy in range(5)}
    assert len(codes) == 5


def test_verification_signed_by_another_key_fails(pending, root, other_root):
    client, base = pending
    code = new_code(client, base)
    message = error_of(client.post(base + "/verify", json={"certificate": root.proof(code, signer=other_root.key)}),
                       422)["message"]
    assert "not signed by the private key" in message
    assert client.get(base).json()["verified"] is False


def test_verification_with_the_wrong_cn_fails(pending, root):
    client, base = pending
    code = new_code(client, base)
    message = error_of(client.post(base + "/verify", json={"certificate": root.proof(code + "X")}), 422)["message"]
    assert "CN does not match" in message


def test_stale_code_fails_and_the_current_one_works(pending, root):
    client, base = pending
    stale = new_code(client, base)
    current = new_code(client, base)
    assert error_of(client.post(base + "/verify", json={"certificate": root.proof(stale)}), 422)
    assert client.post(base + "/verify", json={"certificate": root.proof(current)}).status_code == 204
    assert client.get(base).json()["verified"] is True


def test_code_is_single_use_and_reset_by_a_new_upload(pending, root):
    client, base = pending
    code = new_code(client, base)
    assert client.post(base + "/verify", json={"certificate": root.proof(code)}).status_code == 204
    message = error_of(client.post(base + "/verify", json={"certificate": root.proof(code)}), 422)["message"]
    assert "no verification code" in message
    code = new_code(client, base)
    client.put(base, json={"certificate": b64_pem(root.cert)})
    assert error_of(client.post(base + "/verify", json={"certificate": root.proof(code)}), 422)


def test_verify_without_a_code_or_with_garbage(pending, fresh_emulator, root):
    client, base = pending
    assert "no verification code" in error_of(client.post(base + "/verify", json={"certificate": root.proof("x")}),
                                              422)["message"]
    new_code(client, base)
    assert "not valid base64" in error_of(client.post(base + "/verify", json={"certificate": "%%%"}), 422)["message"]
    assert error_of(client.post(base + "/verify", json={}), 422)
    assert error_of(client.post(base + "/verify", json={"certificate": 3}), 422)
    fresh_emulator.reset_stats()  # missing/wrongly typed certificate breaks the spec on purpose.


def test_expired_verification_certificate_fails(pending, root):
    client, base = pending
    code = new_code(client, base)
    leaf = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, code)]))
               .issuer_name(root.cert.subject).public_key(leaf.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(NOW - datetime.timedelta(days=3)).not_valid_after(NOW - datetime.timedelta(days=1)))
    expired = b64_pem(builder.sign(root.key, hashes.SHA256()))
    assert "expired" in error_of(client.post(base + "/verify", json={"certificate": expired}), 422)["message"]


def test_rsa_root_verifies_too(client_for, other_root):
    client = client_for(PREVIEW)
    client.put("enrollmentGroups/rsa", json=X509_GROUP)
    base = "enrollmentGroups/rsa/certificates/secondary"
    client.put(base, json={"certificate": b64_der(other_root.cert)})
    code = new_code(client, base)
    assert client.post(base + "/verify", json={"certificate": other_root.proof(code)}).status_code == 204


def test_reader_cannot_generate_or_verify(pending, fresh_emulator, reader_headers):
    dummy, base = pending
    reader = ApiClient(fresh_emulator.base_url, STABLE, headers=reader_headers)
    try:
        assert reader.get(base).status_code == 200
        assert error_of(reader.post(base + "/generateVerificationCode"), 403)
    finally:
        reader.close()


def test_state_file_keeps_certificates_and_codes(tmp_path, root):
    from emulator.server import start_emulator

    state = tmp_path / "state.json"
    base = "enrollmentGroups/g/certificates/primary"
    with start_emulator(port=0, rate_limit=0, state_file=str(state)) as first:
        client = ApiClient(first.base_url, STABLE)
        client.put("enrollmentGroups/g", json=X509_GROUP)
        client.put(base, json={"certificate": b64_pem(root.cert)})
        code = new_code(client, base)
        client.close()
    with start_emulator(port=0, rate_limit=0, state_file=str(state)) as second:
        client = ApiClient(second.base_url, STABLE)
        assert client.post(base + "/verify", json={"certificate": root.proof(code)}).status_code == 204
        client.close()
