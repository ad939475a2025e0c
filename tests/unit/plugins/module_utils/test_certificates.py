"""Unit tests of enrollment group certificates: thumbprint idempotence and the three verification flows."""

from __future__ import annotations

import base64

import pytest
from ansible_collections.fleetops.iotcentral.tests.unit.plugins.module_utils.test_devicegroups import (
    FakeApi,
)

from ansible_collections.fleetops.iotcentral.plugins.module_utils import x509
from ansible_collections.fleetops.iotcentral.plugins.module_utils.certificates import (
    ensure_certificate,
    load_inputs,
    normalize_thumbprint,
    read_certificates,
)

GROUP = "/enrollmentGroups/eg1"
ENTRY = GROUP + "/certificates/primary"


@pytest.fixture(scope="module")
def root():
    return x509.create_root_certificate("unit-root", key_type="ec")


@pytest.fixture(scope="module")
def other_root():
    return x509.create_root_certificate("other-root", key_type="ec")


class CertificateService:
    """The certificate endpoints' behaviour: thumbprint on upload, codes, real proof-of-possession checks."""

    def __init__(self, api):
        self.api = api
        self.codes = {}
        self.proofs = []

    def on_put(self, path, body, current):
        cert = x509.load_certificate(content=body.pop("certificate"))
        return {"verified": body.get("verified", False), "info": {"sha1Thumbprint": x509.sha1_thumbprint(cert)},
                "certificate": "stored", "_cert": cert}

    def on_post(self, path, body):
        entry_path, action = path.rsplit("/", 1)
        entry = self.api.objects[entry_path]
        if action == "generateVerificationCode":
            self.codes[entry_path] = "CODE%d" % (len(self.codes) + 1)
            return {"verificationCode": self.codes[entry_path]}
        proof = x509.load_certificate(content=body["certificate"])
        self.proofs.append(proof)
        if x509.common_name(proof) != self.codes.get(entry_path) or not x509.is_issued_by(proof, entry["_cert"]):
            raise AssertionError("the service would refuse this proof")
        entry.update(verified=True, etag=self.api.new_etag())
        return None


def make_api(group_type="x509", entry=None):
    objects = {GROUP: {"id": "eg1", "displayName": "EG", "enabled": True, "type": "iot",
                       "attestation": {"type": group_type}}}
    api = FakeApi(objects)
    service = CertificateService(api)
    api.on_put = service.on_put
    api.on_post = service.on_post
    if entry is not None:
        api.objects[ENTRY] = dict(entry, etag="cert-e0")
    api.service = service
    return api


def existing_entry(cert, verified):
    return {"verified": verified, "info": {"sha1Thumbprint": x509.sha1_thumbprint(cert)}, "_cert": cert}


def spec(**kwargs):
    base = {"enrollment_group": "eg1", "entry": "primary", "certificate": None, "certificate_path": None,
            "verified": None, "verification_certificate": None, "verification_certificate_path": None,
            "ca_private_key": None, "ca_private_key_path": None, "ca_private_key_passphrase": None,
            "generate_verification_code": False, "state": "present"}
    base.update(kwargs)
    return base


def methods(api):
    return [(call[0], call[1].rsplit("/", 1)[1]) for call in api.writes]


def test_thumbprints_compare_in_any_notation():
    assert normalize_thumbprint("64:45:43:aa") == "644543AA"
    assert normalize_thumbprint(None) == ""


def test_upload_and_proof_of_possession_in_one_call(root):
    api = make_api()
    result = ensure_certificate(api, spec(certificate=root.cert_pem, ca_private_key=root.key_pem))
    assert (result["action"], result["verified_by"]) == ("created", "proof_of_possession")
    assert methods(api) == [("PUT", "primary"), ("POST", "generateVerificationCode"), ("POST", "verify")]
    put_body = api.writes[0][2]
    assert put_body["verified"] is False
    assert base64.b64decode(put_body["certificate"]).decode().startswith("-----BEGIN CERTIFICATE-----")
    proof = api.service.proofs[0]
    assert x509.common_name(proof) == "CODE1" and x509.is_issued_by(proof, root.certificate)
    assert result["certificate"]["verified"] is True
    assert result["certificate"]["info"]["sha1Thumbprint"] == x509.sha1_thumbprint(root.certificate)
    assert "certificate" not in result["certificate"]
    assert result["diff"] == {"before": {}, "after": {"sha1Thumbprint": x509.sha1_thumbprint(root.certificate),
                                                      "verified": True}}
    assert root.key_pem not in repr(result)

    rerun = ensure_certificate(api, spec(certificate=root.cert_pem, ca_private_key=root.key_pem))
    assert (rerun["action"], rerun["verified_by"]) == ("unchanged", None)
    assert len(api.writes) == 3


def test_the_same_certificate_in_der_or_base64_is_unchanged(root, tmp_path):
    api = make_api(entry=existing_entry(root.certificate, True))
    der = tmp_path / "root.der"
    der.write_bytes(x509.certificate_to_der(root.certificate))
    assert ensure_certificate(api, spec(certificate_path=str(der)))["action"] == "unchanged"
    b64 = base64.b64encode(root.cert_pem.encode()).decode()
    assert ensure_certificate(api, spec(certificate=b64))["action"] == "unchanged"
    assert api.writes == []


def test_an_already_verified_certificate_is_left_alone(root):
    api = make_api(entry=existing_entry(root.certificate, True))
    result = ensure_certificate(api, spec(certificate=root.cert_pem, ca_private_key=root.key_pem))
    assert result["action"] == "unchanged" and api.writes == []


def test_existing_unverified_certificate_gets_verified(root):
    api = make_api(entry=existing_entry(root.certificate, False))
    result = ensure_certificate(api, spec(certificate=root.cert_pem, ca_private_key=root.key_pem))
    assert (result["action"], result["verified_by"]) == ("verified", "proof_of_possession")
    assert methods(api) == [("POST", "generateVerificationCode"), ("POST", "verify")]


def test_attested_upload_sends_verified_true(root):
    api = make_api()
    result = ensure_certificate(api, spec(certificate=root.cert_pem, verified=True))
    assert (result["action"], result["verified_by"]) == ("created", "attested")
    assert api.writes[0][2]["verified"] is True and methods(api) == [("PUT", "primary")]
    assert ensure_certificate(api, spec(certificate=root.cert_pem, verified=True))["action"] == "unchanged"


def test_attesting_an_unverified_certificate_reuploads_it_with_its_etag(root):
    api = make_api(entry=existing_entry(root.certificate, False))
    result = ensure_certificate(api, spec(certificate=root.cert_pem, verified=True))
    assert (result["action"], result["verified_by"]) == ("verified", "attested")
    assert api.writes[0][2]["verified"] is True and api.writes[0][2]["etag"] == "cert-e0"


def test_verified_false_never_unverifies(root):
    api = make_api(entry=existing_entry(root.certificate, True))
    assert ensure_certificate(api, spec(certificate=root.cert_pem, verified=False))["action"] == "unchanged"
    assert api.writes == []


def test_a_different_certificate_replaces_the_entry_with_its_etag(root, other_root):
    api = make_api(entry=existing_entry(other_root.certificate, True))
    result = ensure_certificate(api, spec(certificate=root.cert_pem))
    assert result["action"] == "replaced" and result["verified_by"] is None
    assert api.writes[0][2]["etag"] == "cert-e0"
    assert result["certificate"]["verified"] is False
    assert result["diff"]["before"]["sha1Thumbprint"] == x509.sha1_thumbprint(other_root.certificate)


def test_user_supplied_verification_certificate_is_posted_without_a_new_code(root):
    api = make_api(entry=existing_entry(root.certificate, False))
    api.service.codes[ENTRY] = "USERCODE"
    proof = x509.create_verification_certificate("USERCODE", root.certificate, x509.load_private_key(root.key_pem))
    result = ensure_certificate(api, spec(certificate=root.cert_pem, verification_certificate=proof.cert_pem))
    assert (result["action"], result["verified_by"]) == ("verified", "verification_certificate")
    assert methods(api) == [("POST", "verify")]


def test_check_mode_predicts_and_writes_nothing(root):
    api = make_api()
    result = ensure_certificate(api, spec(certificate=root.cert_pem, ca_private_key=root.key_pem), check_mode=True)
    assert (result["action"], result["verified_by"]) == ("created", "proof_of_possession")
    assert result["certificate"]["verified"] is True
    assert api.writes == []


def test_generate_verification_code_on_request_only(root):
    api = make_api(entry=existing_entry(root.certificate, False))
    assert ensure_certificate(api, spec(certificate=root.cert_pem))["verification_code"] is None
    assert api.writes == []
    result = ensure_certificate(api, spec(certificate=root.cert_pem, generate_verification_code=True))
    assert result["action"] == "unchanged" and result["verification_code"] == "CODE1"
    assert ensure_certificate(api, spec(certificate=root.cert_pem, generate_verification_code=True),
                              check_mode=True)["verification_code"] is None


def test_encrypted_ca_key_with_passphrase(root, tmp_path):
    key_file = tmp_path / "key.pem"
    key_file.write_text(x509.private_key_to_pem(x509.load_private_key(root.key_pem), passphrase="s3cret"))
    api = make_api()
    result = ensure_certificate(api, spec(certificate=root.cert_pem, ca_private_key_path=str(key_file),
                                          ca_private_key_passphrase="s3cret"))
    assert result["verified_by"] == "proof_of_possession"
    with pytest.raises(ValueError, match="wrong passphrase"):
        load_inputs(spec(certificate=root.cert_pem, ca_private_key_path=str(key_file), ca_private_key_passphrase="no"))


@pytest.mark.parametrize("case,message", [
    ("not_a_certificate", "not a PEM or DER X.509 certificate"),
    ("key_as_certificate", "contains a private key, not a certificate"),
    ("foreign_ca_key", "CA private key does not belong to the certificate"),
    ("foreign_proof", "verification certificate was not signed by the key of the certificate"),
    ("two_ways", "choose one way to verify"),
    ("missing", "certificate or certificate_path is required"),
    ("bad_entry", "entry must be primary or secondary"),
    ("bad_group", "not a valid enrollment group id"),
])
def test_bad_input_fails_in_one_line_before_any_call(case, message, root, other_root):
    kwargs = {
        "not_a_certificate": dict(certificate="hello, I am not a certificate"),
        "key_as_certificate": dict(certificate=root.key_pem),
        "foreign_ca_key": dict(certificate=root.cert_pem, ca_private_key=other_root.key_pem),
        "foreign_proof": dict(certificate=root.cert_pem, verification_certificate=x509.create_verification_certificate(
            "CODE", other_root.certificate, x509.load_private_key(other_root.key_pem)).cert_pem),
        "two_ways": dict(certificate=root.cert_pem, verified=True, ca_private_key=root.key_pem),
        "missing": dict(),
        "bad_entry": dict(certificate=root.cert_pem, entry="tertiary"),
        "bad_group": dict(certificate=root.cert_pem, enrollment_group="bad_group"),
    }[case]
    api = make_api()
    with pytest.raises(ValueError, match=message) as info:
        ensure_certificate(api, spec(**kwargs))
    text = str(info.value)
    assert "\n" not in text
    assert "PRIVATE KEY" not in text and "BEGIN" not in text
    assert api.calls == []


@pytest.mark.parametrize("group_type,message", [(None, "does not exist"), ("symmetricKey", "uses symmetric_key attestation")])
def test_group_must_exist_and_use_x509(group_type, message, root):
    api = make_api(group_type or "x509")
    if group_type is None:
        del api.objects[GROUP]
    with pytest.raises(ValueError, match=message):
        ensure_certificate(api, spec(certificate=root.cert_pem))
    assert api.writes == []


def test_absent_removes_only_the_given_certificate(root, other_root):
    api = make_api(entry=existing_entry(root.certificate, True))
    assert ensure_certificate(api, spec(state="absent", certificate=other_root.cert_pem))["action"] == "unchanged"
    assert api.writes == []
    assert ensure_certificate(api, spec(state="absent"), check_mode=True)["action"] == "deleted"
    assert api.writes == []
    result = ensure_certificate(api, spec(state="absent", certificate=root.cert_pem))
    assert result["action"] == "deleted" and result["certificate"] is None
    assert methods(api) == [("DELETE", "primary")]
    assert ensure_certificate(api, spec(state="absent"))["action"] == "unchanged"


def test_read_certificates(root):
    api = make_api(entry=existing_entry(root.certificate, True))
    found = read_certificates(api, "eg1")
    assert found["secondary"] is None
    assert found["primary"]["verified"] is True
    assert found["primary"]["sha1Thumbprint"] == x509.sha1_thumbprint(root.certificate)
    assert "certificate" not in found["primary"]
    assert list(read_certificates(api, "eg1", ("secondary",))) == ["secondary"]
    assert read_certificates(make_api("symmetricKey"), "eg1") == {}


def test_attested_upload_the_service_did_not_mark_verified_sends_nothing_more(root):
    api = make_api()
    service_put = api.on_put
    api.on_put = lambda path, body, current: dict(service_put(path, body, current), verified=False)
    result = ensure_certificate(api, spec(certificate=root.cert_pem, verified=True))
    assert (result["action"], result["verified_by"]) == ("created", "attested")
    assert methods(api) == [("PUT", "primary")]
