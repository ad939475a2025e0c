"""Unit tests for tests/emulator/certs.py (the emulator's own certificate checks)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

TESTS = Path(__file__).resolve().parents[2]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from emulator import certs  # noqa: E402

NOW = datetime.datetime.now(datetime.timezone.utc)


# The certificates here are built directly with cryptography so that these tests do not depend on plugins/.

def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _sign(key):
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _cert(cn, subject_key, issuer_cn=None, issuer_key=None, ca=False, start=None, days=1):
    issuer_key = issuer_key or subject_key
    start = start or NOW - datetime.timedelta(minutes=1)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(issuer_cn or cn))
               .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days)))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(issuer_key, _sign(issuer_key))


def _b64_pem(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


def _b64_der(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


@pytest.fixture(scope="module")
def rsa_ca():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, _cert("mytestrootcert", key, ca=True)


@pytest.fixture(scope="module")
def ec_ca():
    key = ec.generate_private_key(ec.SECP256R1())
    return key, _cert("ec-root", key, ca=True)


def _proof(code, ca_key, ca_cn, **kwargs):
    leaf = ec.generate_private_key(ec.SECP256R1())
    return _cert(code, leaf, issuer_cn=ca_cn, issuer_key=ca_key, **kwargs)


# ---------------------------------------------------------------------------------------------------------------------

def test_parse_base64_pem_and_der(rsa_ca):
    _key, cert = rsa_ca
    assert certs.parse_uploaded_certificate(_b64_pem(cert)) == cert
    assert certs.parse_uploaded_certificate(_b64_der(cert)) == cert
    wrapped = base64.encodebytes(cert.public_bytes(serialization.Encoding.PEM)).decode()
    assert "\n" in wrapped and certs.parse_uploaded_certificate(wrapped) == cert
    assert certs.parse_uploaded_certificate(_b64_pem(cert).encode()) == cert


def test_raw_pem_is_rejected_unless_allowed(rsa_ca):
    _key, cert = rsa_ca
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    with pytest.raises(ValueError, match="must be base64-encoded"):
        certs.parse_uploaded_certificate(pem)
    assert certs.parse_uploaded_certificate(pem, allow_raw_pem=True) == cert


@pytest.mark.parametrize("value,match", [
    ("", "is empty"),
    ("   ", "is empty"),
    ("not base64!", "not valid base64"),
    ("abc", "not valid base64"),
    (base64.b64encode(b"hello world").decode(), "not a PEM or DER X.509 certificate"),
    (base64.b64encode(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").decode(),
     "not a PEM or DER X.509 certificate"),
    (base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").decode(),
     "not a PEM or DER X.509 certificate"),
    (None, "must be a string"),
    (42, "must be a string"),
    ("caf\u00e9", "must be base64 text"),
])
def test_parse_rejects(value, match):
    with pytest.raises(ValueError, match=match) as info:
        certs.parse_uploaded_certificate(value)
    if isinstance(value, str) and value.strip():
        assert value not in str(info.value)


def test_parse_uses_field_name():
    with pytest.raises(ValueError, match=r"^verification certificate is not valid base64$"):
        certs.parse_uploaded_certificate("!!", field="verification certificate")


def test_thumbprint_is_uppercase_sha1_of_der(rsa_ca):
    _key, cert = rsa_ca
    expected = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    assert certs.sha1_thumbprint(cert) == expected
    assert certs.sha1_thumbprint(certs.parse_uploaded_certificate(_b64_pem(cert))) == expected


@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_proof_of_possession_ok(which, rsa_ca, ec_ca):
    key, cert = rsa_ca if which == "rsa" else ec_ca
    code = "0A1B2C3D4E5F60718293A4B5C6D7E8F9"
    proof = _proof(code, key, certs.common_name(cert))
    assert certs.verify_proof_of_possession(cert, _b64_pem(proof), code) == (True, "verified")
    assert certs.verify_proof_of_possession(cert, _b64_der(proof), code) == (True, "verified")
    # The stored certificate may also be passed as the string that was uploaded.
    assert certs.verify_proof_of_possession(_b64_pem(cert), _b64_pem(proof), code) == (True, "verified")


def test_proof_signed_by_another_key_is_rejected(rsa_ca, ec_ca):
    _rsa_key, rsa_cert = rsa_ca
    ec_key, _ec_cert = ec_ca
    # Same issuer name as the uploaded certificate, but signed by a key that is not its key.
    forged = _proof("CODE1", ec_key, certs.common_name(rsa_cert))
    ok, reason = certs.verify_proof_of_possession(rsa_cert, _b64_pem(forged), "CODE1")
    assert not ok and "not signed by the private key of the uploaded certificate" in reason
    other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged_rsa = _proof("CODE1", other_rsa, certs.common_name(rsa_cert))
    assert certs.verify_proof_of_possession(rsa_cert, _b64_pem(forged_rsa), "CODE1")[0] is False


def test_proof_with_wrong_cn_is_rejected(rsa_ca):
    key, cert = rsa_ca
    proof = _proof("OLDCODE", key, certs.common_name(cert))
    ok, reason = certs.verify_proof_of_possession(cert, _b64_pem(proof), "NEWCODE")
    assert not ok and "subject CN does not match the verification code" in reason


def test_proof_without_cn_is_rejected(rsa_ca):
    key, cert = rsa_ca
    leaf = ec.generate_private_key(ec.SECP256R1())
    no_cn = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "org")]))
             .issuer_name(cert.subject).public_key(leaf.public_key()).serial_number(7)
             .not_valid_before(NOW - datetime.timedelta(minutes=1)).not_valid_after(NOW + datetime.timedelta(days=1))
             .sign(key, hashes.SHA256()))
    assert certs.verify_proof_of_possession(cert, _b64_pem(no_cn), "CODE")[0] is False


def test_uploaded_certificate_itself_is_not_a_proof(rsa_ca):
    _key, cert = rsa_ca
    ok, reason = certs.verify_proof_of_possession(cert, _b64_pem(cert), "mytestrootcert-code")
    assert not ok and "CN does not match" in reason


def test_expired_and_future_proofs(rsa_ca):
    key, cert = rsa_ca
    cn = certs.common_name(cert)
    expired = _proof("C", key, cn, start=NOW - datetime.timedelta(days=3), days=1)
    assert certs.verify_proof_of_possession(cert, _b64_pem(expired), "C") == (
        False, "the verification certificate has expired")
    future = _proof("C", key, cn, start=NOW + datetime.timedelta(days=2), days=1)
    assert certs.verify_proof_of_possession(cert, _b64_pem(future), "C") == (
        False, "the verification certificate is not valid yet")
    slightly_ahead = _proof("C", key, cn, start=NOW + datetime.timedelta(minutes=2), days=1)
    assert certs.verify_proof_of_possession(cert, _b64_pem(slightly_ahead), "C") == (True, "verified")


def test_proof_inputs_that_are_not_certificates(rsa_ca):
    _key, cert = rsa_ca
    ok, reason = certs.verify_proof_of_possession(cert, "%%%", "CODE")
    assert not ok and reason == "certificate is not valid base64"
    ok, reason = certs.verify_proof_of_possession(cert, base64.b64encode(b"junk").decode(), "CODE")
    assert not ok and "not a PEM or DER X.509 certificate" in reason
    ok, reason = certs.verify_proof_of_possession("junk", _b64_pem(cert), "CODE")
    assert not ok and reason.startswith("stored certificate:")
    assert certs.verify_proof_of_possession(cert, _b64_pem(cert), "") == (
        False, "no verification code has been generated for this certificate")
    assert certs.verify_proof_of_possession(cert, _b64_pem(cert), None)[0] is False


def test_ed25519_ca():
    key = ed25519.Ed25519PrivateKey.generate()
    ca = _cert("ed-root", key, ca=True)
    proof = _proof("EDCODE", key, "ed-root")
    assert certs.verify_proof_of_possession(ca, _b64_pem(proof), "EDCODE") == (True, "verified")
    assert certs.signature_verifies(ca, key.public_key())


def test_emulator_certs_does_not_import_plugins():
    source = (TESTS / "emulator" / "certs.py").read_text()
    assert "ansible_collections" not in source and "plugins" not in source.replace("plugins/", "")
