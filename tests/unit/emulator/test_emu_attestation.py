"""Individual device attestation: the three types, generated keys, thumbprints, patches, type changes, credentials."""

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.testing import PREVIEW, STABLE, assert_no_spec_violations, error_of
from ansible_collections.fleetops.iotcentral.tests.unit.emulator.test_emu_enrollment import b64_pem, make_cert

BOTH = pytest.mark.parametrize("version", [STABLE, PREVIEW])
MERGE = {"Content-Type": "application/merge-patch+json"}
KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()
EK = base64.b64encode(b"endorsement-key-" * 8).decode()


def device_cert(cn):
    return make_cert(cn, ec.generate_private_key(ec.SECP256R1()))


def thumbprint(cert):
    return hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()


@pytest.fixture
def api(client_for):
    def make(version):
        client = client_for(version)
        assert client.put("devices/d1", json={"displayName": "D1"}).status_code == 200
        return client
    return make


@BOTH
def test_symmetric_key_attestation_given_generated_and_shown_by_credentials(api, version, fresh_emulator):
    client = api(version)
    assert error_of(client.get("devices/d1/attestation"), 404)["message"] == "Device 'd1' has no individual attestation."
    own = client.put("devices/d1/attestation", json={"type": "symmetricKey", "symmetricKey": {
        "primaryKey": KEY_A, "secondaryKey": KEY_B}})
    assert own.json() == {"type": "symmetricKey", "symmetricKey": {"primaryKey": KEY_A, "secondaryKey": KEY_B}}
    assert client.get("devices/d1/attestation").json() == own.json()
    assert client.get("devices/d1/credentials").json()["symmetricKey"] == own.json()["symmetricKey"]
    # A patch may change one key; null generates a new one.
    patched = client.patch("devices/d1/attestation", json={"symmetricKey": {"secondaryKey": None}}, headers=MERGE).json()
    assert patched["symmetricKey"]["primaryKey"] == KEY_A
    assert len(base64.b64decode(patched["symmetricKey"]["secondaryKey"])) == 64
    assert_no_spec_violations(fresh_emulator)


@BOTH
def test_bad_keys_and_types_are_422_naming_the_field(api, version, fresh_emulator):
    client = api(version)
    cases = [
        ({"type": "symmetricKey", "symmetricKey": {"primaryKey": "not base64!", "secondaryKey": KEY_B}},
         "symmetricKey.primaryKey"),
        ({"type": "symmetricKey", "symmetricKey": {"primaryKey": KEY_A}}, "symmetricKey.secondaryKey"),
        ({"type": "tpm", "tpm": {"endorsementKey": "@@@"}}, "tpm.endorsementKey"),
        ({"type": "tpm"}, "tpm"),
        ({"type": "x509", "x509": {"clientCertificates": {"primary": {"certificate": "bm90IGEgY2VydA=="}}}},
         "x509.clientCertificates.primary.certificate"),
        ({"type": "x509", "x509": {"clientCertificates": {}}}, "x509.clientCertificates.primary"),
        ({"type": "password"}, "type"),
    ]
    for body, field in cases:
        assert field in error_of(client.put("devices/d1/attestation", json=body), 422)["message"], body
    assert error_of(client.get("devices/d1/attestation"), 404)
    fresh_emulator.reset_stats()  # the invalid bodies were request-side violations on purpose


@BOTH
def test_x509_thumbprints_never_the_certificate_and_patch_keeps_other_entries(api, version, fresh_emulator):
    client = api(version)
    primary, secondary, newer = device_cert("d1"), device_cert("d1"), device_cert("d1")
    created = client.put("devices/d1/attestation", json={"type": "x509", "x509": {"clientCertificates": {
        "primary": {"certificate": b64_pem(primary)}, "secondary": {"certificate": b64_pem(secondary)}}}}).json()
    assert created == {"type": "x509", "x509": {"clientCertificates": {
        "primary": {"info": {"sha1Thumbprint": thumbprint(primary)}},
        "secondary": {"info": {"sha1Thumbprint": thumbprint(secondary)}}}}}
    patched = client.patch("devices/d1/attestation", json={"type": "x509", "x509": {"clientCertificates": {
        "primary": {"certificate": b64_pem(newer)}}}}, headers=MERGE).json()
    assert patched["x509"]["clientCertificates"]["primary"]["info"]["sha1Thumbprint"] == thumbprint(newer)
    assert patched["x509"]["clientCertificates"]["secondary"]["info"]["sha1Thumbprint"] == thumbprint(secondary)
    removed = client.patch("devices/d1/attestation", json={"x509": {"clientCertificates": {"secondary": None}}}).json()
    assert set(removed["x509"]["clientCertificates"]) == {"primary"}
    assert "primary" in error_of(client.patch("devices/d1/attestation", json={"x509": {"clientCertificates": {
        "primary": None}}}), 422)["message"]
    credentials = client.get("devices/d1/credentials").json()
    assert "symmetricKey" not in credentials and credentials["x509"] == removed["x509"]
    assert_no_spec_violations(fresh_emulator)


@BOTH
def test_type_change_replaces_delete_restores_the_device_keys_and_device_put_keeps_it(api, version, fresh_emulator):
    client = api(version)
    own_keys = client.get("devices/d1/credentials").json()["symmetricKey"]
    client.put("devices/d1/attestation", json={"type": "symmetricKey", "symmetricKey": {
        "primaryKey": KEY_A, "secondaryKey": KEY_B}})
    tpm = client.patch("devices/d1/attestation", json={"type": "tpm", "tpm": {"endorsementKey": EK}}).json()
    assert tpm == {"type": "tpm", "tpm": {"endorsementKey": EK}}
    assert client.put("devices/d1", json={"displayName": "Renamed"}).status_code == 200
    assert client.get("devices/d1/attestation").json() == tpm
    assert client.delete("devices/d1/attestation").status_code == 204
    assert error_of(client.delete("devices/d1/attestation"), 404)
    assert error_of(client.patch("devices/d1/attestation", json={"type": "tpm"}), 404)
    assert client.get("devices/d1/credentials").json()["symmetricKey"] == own_keys
    assert_no_spec_violations(fresh_emulator)


@BOTH
def test_attestation_of_a_missing_or_deleted_device_is_404(api, version, fresh_emulator):
    client = api(version)
    client.put("devices/d1/attestation", json={"type": "tpm", "tpm": {"endorsementKey": EK}})
    assert client.delete("devices/d1").status_code == 204
    assert client.put("devices/d1", json={}).status_code == 200
    assert error_of(client.get("devices/d1/attestation"), 404)
    for method in ("get", "delete"):
        assert "'nope'" in error_of(getattr(client, method)("devices/nope/attestation"), 404)["message"]
    assert error_of(client.put("devices/nope/attestation", json={"type": "tpm", "tpm": {"endorsementKey": EK}}), 404)
    client.put("devices/d1/attestation", json={"type": "tpm", "tpm": {"endorsementKey": EK}})
    assert error_of(client.patch("devices/d1/attestation", json={"type": "tpm"}, headers={
        "Content-Type": "text/plain"}), 415)
    fresh_emulator.reset_stats()
