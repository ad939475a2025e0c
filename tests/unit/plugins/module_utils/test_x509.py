"""Unit tests for plugins/module_utils/x509.py and the x509_test_certificates module built on it."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest


# tests/conftest.py makes ansible_collections.fleetops.iotcentral importable.
REPO = Path(__file__).resolve().parents[4]

from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.fleetops.iotcentral.plugins.module_utils import x509 as X


# ----------------------------------------------------------------------------------------------------------------------
# Fixtures: a few keys and certificates shared by the whole module (RSA key generation is the slow part)
# ----------------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rsa_root():
    return X.create_root_certificate("mytestrootcert", key_type="rsa")


@pytest.fixture(scope="module")
def ec_root():
    return X.create_root_certificate("ec-test-root", key_type="ec")


@pytest.fixture(scope="module")
def rsa_root_key(rsa_root):
    return X.load_private_key(rsa_root.key_pem)


@pytest.fixture(scope="module")
def ec_root_key(ec_root):
    return X.load_private_key(ec_root.key_pem)


@pytest.fixture(scope="module")
def device(rsa_root, rsa_root_key):
    return X.create_device_certificate("sample-device-01", rsa_root.certificate, rsa_root_key, key_type="ec")


def _independent_signature_check(cert, issuer_cert):
    """Signature check written against cryptography directly, not through the code under test."""
    cert.verify_directly_issued_by(issuer_cert)


# ----------------------------------------------------------------------------------------------------------------------
# Import guard
# ----------------------------------------------------------------------------------------------------------------------

def test_has_cryptography():
    assert X.HAS_CRYPTOGRAPHY is True
    assert X.CRYPTOGRAPHY_IMPORT_ERROR is None


def test_import_without_cryptography_sets_flags():
    path = REPO / "plugins" / "module_utils" / "x509.py"
    code = (
        "import sys, importlib.util\n"
        "sys.modules['cryptography'] = None\n"
        f"spec = importlib.util.spec_from_file_location('x509_nocrypto', {str(path)!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "print(mod.HAS_CRYPTOGRAPHY, 'cryptography' in mod.CRYPTOGRAPHY_IMPORT_ERROR)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


# ----------------------------------------------------------------------------------------------------------------------
# Loading certificates
# ----------------------------------------------------------------------------------------------------------------------

def test_load_certificate_all_encodings(rsa_root, tmp_path):
    cert = rsa_root.certificate
    der = cert.public_bytes(serialization.Encoding.DER)
    pem = rsa_root.cert_pem
    forms = {
        "pem text": pem,
        "pem bytes": pem.encode(),
        "der bytes": der,
        "base64 of pem": base64.b64encode(pem.encode()).decode(),
        "base64 of der": base64.b64encode(der).decode(),
        "wrapped base64 of der": "\n".join(base64.encodebytes(der).decode().split()),
        "base64 bytes of pem": base64.b64encode(pem.encode()),
    }
    for label, value in forms.items():
        assert X.load_certificate(value) == cert, label
    pem_file = tmp_path / "c.pem"
    pem_file.write_text(pem)
    der_file = tmp_path / "c.der"
    der_file.write_bytes(der)
    assert X.load_certificate(path=str(pem_file)) == cert
    assert X.load_certificate(path=str(der_file)) == cert


def test_load_certificate_chain_keeps_order(rsa_root, device):
    chain = X.load_certificate_chain(device.fullchain_pem)
    assert [X.common_name(c) for c in chain] == ["sample-device-01", "mytestrootcert"]
    assert X.load_certificate(device.fullchain_pem) == device.certificate


def test_load_certificate_ignores_other_pem_blocks(rsa_root):
    combined = rsa_root.key_pem + rsa_root.cert_pem
    assert X.load_certificate(combined) == rsa_root.certificate


@pytest.mark.parametrize("value", [
    "hello", "", b"\x30\x82\x01\x00garbage", "aGVsbG8gd29ybGQ=",
    "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
])
def test_not_a_certificate(value):
    with pytest.raises(ValueError, match="is not a PEM or DER X.509 certificate"):
        X.load_certificate(value, what="certificate")


def test_private_key_as_certificate_is_rejected_without_echo(rsa_root):
    with pytest.raises(ValueError) as info:
        X.load_certificate(rsa_root.key_pem, what="CA certificate")
    message = str(info.value)
    assert message.startswith("the CA certificate is not a PEM or DER X.509 certificate")
    assert "private key" in message
    body = "".join(rsa_root.key_pem.splitlines()[1:-1])
    assert body[:20] not in message and "BEGIN" not in message
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_certificate_source_errors(tmp_path):
    with pytest.raises(ValueError, match="exactly one of content or path"):
        X.load_certificate()
    with pytest.raises(ValueError, match="exactly one of content or path"):
        X.load_certificate("x", path="y")
    with pytest.raises(ValueError, match="cannot read the certificate file .*missing.pem"):
        X.load_certificate(path=str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="must be text or bytes"):
        X.load_certificate(12)


# ----------------------------------------------------------------------------------------------------------------------
# Thumbprint, summary, API payload
# ----------------------------------------------------------------------------------------------------------------------

def test_sha1_thumbprint_matches_hashlib(rsa_root):
    der = rsa_root.certificate.public_bytes(serialization.Encoding.DER)
    thumb = X.sha1_thumbprint(rsa_root.certificate)
    assert thumb == hashlib.sha1(der).hexdigest().upper()
    assert len(thumb) == 40 and thumb == thumb.upper()


def test_api_payload_is_base64_of_pem_text(rsa_root, tmp_path):
    payload = X.api_certificate_payload(rsa_root.certificate)
    # What convert.js prints: base64 of the PEM file's bytes.
    pem_file = tmp_path / "mytestrootcert_cert.pem"
    pem_file.write_text(rsa_root.cert_pem)
    assert payload == base64.b64encode(pem_file.read_bytes()).decode()
    assert base64.b64decode(payload).decode().startswith("-----BEGIN CERTIFICATE-----")
    assert X.load_certificate(payload) == rsa_root.certificate


def test_certificate_info(rsa_root, device):
    info = X.certificate_info(device.certificate)
    assert info["subject"] == "CN=sample-device-01"
    assert info["issuer"] == "CN=mytestrootcert"
    assert info["common_name"] == "sample-device-01"
    assert info["is_ca"] is False and info["self_signed"] is False and info["expired"] is False
    assert info["public_key_type"] == "ec"
    assert info["sha1_thumbprint"] == X.sha1_thumbprint(device.certificate)
    assert info["not_before"].endswith("Z") and info["not_after"].endswith("Z")
    root_info = X.certificate_info(rsa_root.certificate)
    assert root_info["is_ca"] is True and root_info["self_signed"] is True
    json.dumps(info)


# ----------------------------------------------------------------------------------------------------------------------
# Private keys
# ----------------------------------------------------------------------------------------------------------------------

def test_load_private_key_forms(rsa_root, rsa_root_key, tmp_path):
    der = rsa_root_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
    traditional = rsa_root_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                             serialization.NoEncryption())
    key_file = tmp_path / "k.pem"
    key_file.write_text(rsa_root.key_pem)
    for value in (rsa_root.key_pem, der, traditional, base64.b64encode(der).decode(),
                  base64.b64encode(rsa_root.key_pem.encode()).decode()):
        assert X.key_matches_certificate(X.load_private_key(value), rsa_root.certificate)
    assert X.key_matches_certificate(X.load_private_key(path=str(key_file)), rsa_root.certificate)
    # A key file that also holds the certificate (a combined PEM) still loads.
    assert X.key_matches_certificate(X.load_private_key(rsa_root.cert_pem + rsa_root.key_pem), rsa_root.certificate)


def test_encrypted_key(rsa_root_key, rsa_root):
    encrypted = X.private_key_to_pem(rsa_root_key, passphrase="correct horse")
    assert "ENCRYPTED" in encrypted
    key = X.load_private_key(encrypted, passphrase="correct horse")
    assert X.key_matches_certificate(key, rsa_root.certificate)
    assert X.key_matches_certificate(X.load_private_key(encrypted, passphrase=b"correct horse"), rsa_root.certificate)


def test_encrypted_key_without_passphrase(rsa_root_key):
    encrypted = X.private_key_to_pem(rsa_root_key, passphrase="correct horse")
    with pytest.raises(ValueError, match=r"^the CA key is encrypted; a passphrase is required$"):
        X.load_private_key(encrypted, what="CA key")


@pytest.mark.parametrize("fmt", ["pem", "der"])
def test_wrong_passphrase_is_one_line_and_secret_free(rsa_root_key, fmt):
    if fmt == "pem":
        encrypted = X.private_key_to_pem(rsa_root_key, passphrase="correct horse").encode()
    else:
        encrypted = rsa_root_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                               serialization.BestAvailableEncryption(b"correct horse"))
    with pytest.raises(ValueError) as info:
        X.load_private_key(encrypted, passphrase="battery staple", what="CA private key (ca_key)")
    message = str(info.value)
    assert message == "cannot decrypt the CA private key (ca_key): wrong passphrase"
    assert "\n" not in message and "staple" not in message and "horse" not in message
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_passphrase_for_plain_key_is_ignored(rsa_root, rsa_root_key):
    assert X.key_matches_certificate(X.load_private_key(rsa_root.key_pem, passphrase="unused"), rsa_root.certificate)


@pytest.mark.parametrize("value", ["not a key", b"\x01\x02\x03", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"])
def test_not_a_key(value):
    with pytest.raises(ValueError, match=r"^the private key is not a PEM or DER private key$"):
        X.load_private_key(value)


def test_certificate_as_key_is_rejected(rsa_root):
    with pytest.raises(ValueError, match=r"is not a PEM or DER private key \(it contains a certificate"):
        X.load_private_key(rsa_root.cert_pem)


def test_key_matches_certificate(rsa_root, rsa_root_key, ec_root, ec_root_key, device):
    assert X.key_matches_certificate(rsa_root_key, rsa_root.certificate)
    assert X.key_matches_certificate(ec_root_key, ec_root.certificate)
    assert not X.key_matches_certificate(ec_root_key, rsa_root.certificate)
    assert not X.key_matches_certificate(rsa_root_key, device.certificate)
    other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert not X.key_matches_certificate(other_rsa, rsa_root.certificate)


# ----------------------------------------------------------------------------------------------------------------------
# Verification certificates
# ----------------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["rsa", "ec"])
def test_make_verification_certificate(which, rsa_root, rsa_root_key, ec_root, ec_root_key):
    root, key = (rsa_root, rsa_root_key) if which == "rsa" else (ec_root, ec_root_key)
    code = "3A8F0B7C1D2E4F5061728394A5B6C7D8E9F0A1B2C3D4E5F6"
    pem = X.make_verification_certificate(root.certificate, key, code)
    assert isinstance(pem, str) and pem.startswith("-----BEGIN CERTIFICATE-----")
    cert = cx509.load_pem_x509_certificate(pem.encode())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == code
    assert cert.issuer == root.certificate.subject
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    _independent_signature_check(cert, root.certificate)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime <= datetime.timedelta(days=2)
    assert cert.not_valid_before_utc <= datetime.datetime.now(datetime.timezone.utc)


def test_verification_certificate_rejects_key_of_other_ca(rsa_root, ec_root_key):
    with pytest.raises(ValueError, match="does not belong to the CA certificate"):
        X.make_verification_certificate(rsa_root.certificate, ec_root_key, "CODE")


@pytest.mark.parametrize("code,match", [("", "non-empty"), ("A" * 65, "at most 64"), (None, "non-empty")])
def test_verification_certificate_bad_code(rsa_root, rsa_root_key, code, match):
    with pytest.raises(ValueError, match=match):
        X.make_verification_certificate(rsa_root.certificate, rsa_root_key, code)


def test_verification_with_ed25519_ca():
    ca_key = ed25519.Ed25519PrivateKey.generate()
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "ed-root")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_cert = (cx509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
               .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, None))
    cert = X.load_certificate(X.make_verification_certificate(ca_cert, ca_key, "EDCODE"))
    assert X.verify_signature(cert, ca_key.public_key())
    assert X.is_self_signed(ca_cert)


def test_verify_signature_with_pss_and_wrong_key(rsa_root, rsa_root_key, ec_root_key):
    subject = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "pss")])
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    cert = (cx509.CertificateBuilder().subject_name(subject).issuer_name(rsa_root.certificate.subject)
            .public_key(leaf_key.public_key()).serial_number(2).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(rsa_root_key, hashes.SHA256(),
                  rsa_padding=padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)))
    assert X.verify_signature(cert, rsa_root.certificate.public_key())
    assert X.is_issued_by(cert, rsa_root.certificate)
    assert not X.verify_signature(cert, ec_root_key.public_key())


# ----------------------------------------------------------------------------------------------------------------------
# Test certificate generation (create_test_cert.js equivalents)
# ----------------------------------------------------------------------------------------------------------------------

def test_root_certificate(rsa_root, ec_root):
    for root, name, key_type in ((rsa_root, "mytestrootcert", "rsa"), (ec_root, "ec-test-root", "ec")):
        cert = root.certificate
        assert X.common_name(cert) == name
        assert cert.issuer == cert.subject
        basic = cert.extensions.get_extension_for_class(cx509.BasicConstraints)
        assert basic.critical and basic.value.ca is True
        assert cert.extensions.get_extension_for_class(cx509.KeyUsage).value.key_cert_sign
        _independent_signature_check(cert, cert)
        assert root.fullchain_pem == root.cert_pem
        key = serialization.load_pem_private_key(root.key_pem.encode(), password=None)
        assert X.key_type_name(key) == key_type
        assert X.key_matches_certificate(key, cert)
        assert "BEGIN PRIVATE KEY" in root.key_pem


def test_device_certificate(rsa_root, device):
    cert = device.certificate
    assert X.common_name(cert) == "sample-device-01"
    assert cert.issuer == rsa_root.certificate.subject
    _independent_signature_check(cert, rsa_root.certificate)
    eku = cert.extensions.get_extension_for_class(cx509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.extensions.get_extension_for_class(cx509.BasicConstraints).value.ca is False
    assert device.fullchain_pem == device.cert_pem + rsa_root.cert_pem
    assert X.key_matches_certificate(X.load_private_key(device.key_pem), cert)


def test_device_certificate_rejects_non_ca_issuer(device):
    with pytest.raises(ValueError, match="not a CA"):
        X.create_device_certificate("d2", device.certificate, X.load_private_key(device.key_pem))


def test_device_certificate_rejects_mismatched_key(rsa_root, ec_root_key):
    with pytest.raises(ValueError, match="does not belong"):
        X.create_device_certificate("d2", rsa_root.certificate, ec_root_key)


def test_verification_certificate_bundle_includes_key_and_chain(rsa_root, rsa_root_key):
    bundle = X.create_verification_certificate("NONCE123", rsa_root.certificate, rsa_root_key,
                                               ca_chain=[rsa_root.certificate])
    assert X.common_name(bundle.certificate) == "NONCE123"
    assert bundle.fullchain_pem == bundle.cert_pem + rsa_root.cert_pem
    assert X.key_matches_certificate(X.load_private_key(bundle.key_pem), bundle.certificate)


def test_generate_private_key_rejects_unknown_type():
    with pytest.raises(ValueError, match="key_type must be one of rsa, ec"):
        X.generate_private_key("dsa")


def test_valid_days_must_be_positive():
    with pytest.raises(ValueError, match="valid_days"):
        X.create_root_certificate("r", key_type="ec", valid_days=0)


@pytest.mark.parametrize("name,stem", [
    ("sample-device-01", "sampleDevice01"), ("mytestrootcert", "mytestrootcert"), ("Test Root Cert", "testRootCert"),
    ("my_root.ca", "myRootCa"), ("ROOT", "root"), ("foo-BAR", "fooBar"), ("---", ""),
])
def test_cert_file_stem(name, stem):
    assert X.cert_file_stem(name) == stem


# ----------------------------------------------------------------------------------------------------------------------
# The x509_test_certificates module, run in-process
# ----------------------------------------------------------------------------------------------------------------------

class _Exit(Exception):
    def __init__(self, failed, result):
        super().__init__(result.get("msg"))
        self.failed = failed
        self.result = result


@pytest.fixture
def run_module(monkeypatch):
    from ansible.module_utils import basic
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.fleetops.iotcentral.plugins.modules import x509_test_certificates as mod

    def exit_json(self, **kwargs):
        raise _Exit(False, kwargs)

    def fail_json(self, **kwargs):
        raise _Exit(True, kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def run(check_mode=False, **args):
        if check_mode:
            args["_ansible_check_mode"] = True
        with patch_module_args(args):
            with pytest.raises(_Exit) as info:
                mod.main()
        return info.value

    return run


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_module_root_device_verification_flow(run_module, tmp_path):
    out = str(tmp_path / "certs")
    root = run_module(kind="root", name="mytestrootcert", path=out)
    assert not root.failed and root.result["changed"]
    assert root.result["cert_path"] == os.path.join(out, "mytestrootcert_cert.pem")
    assert root.result["subject"] == "CN=mytestrootcert"
    assert _mode(root.result["key_path"]) == 0o600
    assert "BEGIN" not in json.dumps(root.result)
    cert = X.load_certificate(path=root.result["cert_path"])
    assert root.result["thumbprint"] == X.sha1_thumbprint(cert)
    assert root.result["api_certificate"] == base64.b64encode(Path(root.result["cert_path"]).read_bytes()).decode()

    again = run_module(kind="root", name="mytestrootcert", path=out)
    assert not again.failed and not again.result["changed"]
    assert again.result["thumbprint"] == root.result["thumbprint"]

    dev = run_module(kind="device", device_id="sample-device-01", path=out, key_type="ec",
                     ca_cert=root.result["cert_path"], ca_key=root.result["key_path"])
    assert not dev.failed and dev.result["changed"]
    assert dev.result["cert_path"].endswith("sampleDevice01_cert.pem")
    assert dev.result["issuer"] == "CN=mytestrootcert"
    chain = X.load_certificate_chain(path=dev.result["fullchain_path"])
    assert [X.common_name(c) for c in chain] == ["sample-device-01", "mytestrootcert"]
    assert not run_module(kind="device", device_id="sample-device-01", path=out, key_type="ec",
                          ca_cert=root.result["cert_path"], ca_key=root.result["key_path"]).result["changed"]
    # Asking for another key type makes the existing files invalid for the request.
    assert run_module(kind="device", device_id="sample-device-01", path=out, key_type="rsa",
                      ca_cert=root.result["cert_path"], ca_key=root.result["key_path"]).result["changed"]

    ver = run_module(kind="verification", nonce="ABCDEF0123456789", path=out,
                     ca_cert=root.result["cert_path"], ca_key=root.result["key_path"])
    assert not ver.failed and ver.result["changed"] and ver.result["common_name"] == "ABCDEF0123456789"
    assert ver.result["cert_path"].endswith("verification_cert.pem")
    vcert = X.load_certificate(ver.result["api_certificate"])
    _independent_signature_check(vcert, cert)
    same = run_module(kind="verification", nonce="ABCDEF0123456789", path=out,
                      ca_cert=root.result["cert_path"], ca_key=root.result["key_path"])
    assert not same.result["changed"]
    new_code = run_module(kind="verification", nonce="NEWCODE", path=out,
                          ca_cert=root.result["cert_path"], ca_key=root.result["key_path"])
    assert new_code.result["changed"] and new_code.result["common_name"] == "NEWCODE"


def test_module_check_mode_force_and_key_mode(run_module, tmp_path):
    out = str(tmp_path)
    check = run_module(check_mode=True, kind="root", name="r1", path=out, key_type="ec")
    assert check.result["changed"] and "thumbprint" not in check.result
    assert not os.path.exists(check.result["cert_path"])
    first = run_module(kind="root", name="r1", path=out, key_type="ec")
    assert run_module(check_mode=True, kind="root", name="r1", path=out, key_type="ec").result["changed"] is False
    forced = run_module(kind="root", name="r1", path=out, key_type="ec", force=True)
    assert forced.result["changed"] and forced.result["thumbprint"] != first.result["thumbprint"]
    os.chmod(forced.result["key_path"], 0o644)
    fixed = run_module(kind="root", name="r1", path=out, key_type="ec")
    assert fixed.result["changed"] and fixed.result["thumbprint"] == forced.result["thumbprint"]
    assert _mode(fixed.result["key_path"]) == 0o600
    # A damaged certificate file is regenerated.
    Path(fixed.result["cert_path"]).write_text("garbage")
    assert run_module(kind="root", name="r1", path=out, key_type="ec").result["changed"]


def test_module_rejects_mismatched_ca_key(run_module, tmp_path):
    out = str(tmp_path)
    a = run_module(kind="root", name="ca-a", path=out, key_type="ec").result
    b = run_module(kind="root", name="ca-b", path=out, key_type="ec").result
    res = run_module(kind="device", name="dev1", path=out, ca_cert=a["cert_path"], ca_key=b["key_path"], key_type="ec")
    assert res.failed and res.result["msg"] == "ca_key is not the private key of ca_cert"
    assert not os.path.exists(os.path.join(out, "dev1_cert.pem"))


def test_module_encrypted_ca_key(run_module, tmp_path, ec_root, ec_root_key):
    ca_cert = tmp_path / "ca.pem"
    ca_cert.write_text(ec_root.cert_pem)
    ca_key = tmp_path / "ca_key.pem"
    ca_key.write_text(X.private_key_to_pem(ec_root_key, passphrase="s3cret-pass"))
    bad = run_module(kind="device", name="dev1", path=str(tmp_path), ca_cert=str(ca_cert), ca_key=str(ca_key),
                     ca_key_passphrase="wrong-pass", key_type="ec")
    assert bad.failed and bad.result["msg"] == "cannot decrypt the CA private key (ca_key): wrong passphrase"
    good = run_module(kind="device", name="dev1", path=str(tmp_path), ca_cert=str(ca_cert), ca_key=str(ca_key),
                      ca_key_passphrase="s3cret-pass", key_type="ec")
    assert not good.failed and good.result["issuer"] == "CN=ec-test-root"
    assert "s3cret" not in json.dumps(good.result)


def test_module_rejects_non_certificate_and_non_ca(run_module, tmp_path, device):
    junk = tmp_path / "junk.pem"
    junk.write_text("junk")
    dev_cert = tmp_path / "dev.pem"
    dev_cert.write_text(device.cert_pem)
    dev_key = tmp_path / "dev_key.pem"
    dev_key.write_text(device.key_pem)
    res = run_module(kind="verification", nonce="N", path=str(tmp_path), ca_cert=str(junk), ca_key=str(dev_key))
    assert res.failed and res.result["msg"] == "the CA certificate (ca_cert) is not a PEM or DER X.509 certificate"
    res = run_module(kind="device", name="d", path=str(tmp_path), ca_cert=str(dev_cert), ca_key=str(dev_key))
    assert res.failed and "not a CA certificate" in res.result["msg"]
    # Proof of possession only needs the key, so a non-CA certificate can still be verified.
    res = run_module(kind="verification", nonce="N", path=str(tmp_path), ca_cert=str(dev_cert), ca_key=str(dev_key),
                     key_type="ec")
    assert not res.failed and res.result["issuer"] == "CN=sample-device-01"


@pytest.mark.parametrize("args,fragment", [
    (dict(kind="device", name="d"), "missing: ca_cert, ca_key"),
    (dict(kind="verification", ca_cert="/x", ca_key="/y"), "missing: nonce"),
    (dict(kind="root"), "missing: name"),
    (dict(kind="root", name="r", file_prefix="../up"), "plain, non-empty file name stem"),
    (dict(kind="root", name="r", valid_days=0), "valid_days must be at least 1"),
])
def test_module_argument_errors(run_module, tmp_path, args, fragment):
    res = run_module(path=str(tmp_path), **args)
    assert res.failed and fragment in res.result["msg"]
