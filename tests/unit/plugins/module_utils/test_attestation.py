"""Unit tests of the individual attestation logic: what is compared, what is sent (PUT vs merge PATCH), masking,
and bad input refused before any call."""

from __future__ import annotations

import base64
import copy

import pytest

# The fake applies requests as the emulator does, from the one implementation of the attestation rules.
from emulator.errors import ApiError
from emulator.resources.attestation import build, render

from ansible_collections.fleetops.iotcentral.plugins.module_utils import x509
from ansible_collections.fleetops.iotcentral.plugins.module_utils.attestation import (
    ensure_attestation,
    load_desired,
    public_view,
    read_attestation,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralError

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()
KEY_C = base64.b64encode(b"c" * 64).decode()
EK = base64.b64encode(b"endorsement-key-" * 8).decode()
DEVICE = "/devices/d1"
PATH = DEVICE + "/attestation"


@pytest.fixture(scope="module")
def certs():
    return [x509.create_root_certificate("d1", key_type="ec") for dummy in range(3)]


def pem(generated):
    return generated.cert_pem


class FakeApi:
    """A device and its attestation, with the emulator's rules; ``hide_secrets`` plays a service that shows
    neither keys nor endorsement key in the attestation (``credentials_show`` decides about the credentials)."""

    def __init__(self, attestation=None, device=True, hide_secrets=False, credentials_show=True):
        self.device = device
        self.stored = build(attestation, None) if attestation else None
        self.hide_secrets = hide_secrets
        self.credentials_show = credentials_show
        self.calls = []

    @property
    def writes(self):
        return [call for call in self.calls if call[0] != "GET"]

    def shown(self):
        body = render(self.stored)
        if self.hide_secrets and body["type"] != "x509":
            del body[body["type"]]
        return body

    def get(self, path, params=None, api_version=None, allow_404=False):
        self.calls.append(("GET", path, None, {}))
        if path == DEVICE:
            return {"id": "d1"} if self.device else None
        if path == DEVICE + "/credentials":
            if not self.device:
                return None
            if self.stored and self.credentials_show:
                return {"idScope": "0ne", self.stored["type"]: render(self.stored)[self.stored["type"]]}
            return {"idScope": "0ne"}
        assert path == PATH
        return self.shown() if self.device and self.stored else None

    def _apply(self, method, body, current):
        self.calls.append((method, PATH, copy.deepcopy(body), {}))
        try:
            self.stored = build(copy.deepcopy(body), current)
        except ApiError as exc:
            raise IoTCentralError(str(exc), status=exc.status) from None
        return self.shown()

    def put(self, path, body, api_version=None, headers=None):
        assert path == PATH and self.device
        return self._apply("PUT", body, None)

    def patch(self, path, body, api_version=None, content_type="application/json", headers=None):
        assert path == PATH and self.stored and content_type == "application/merge-patch+json"
        return self._apply("PATCH", body, self.stored)

    def delete(self, path, api_version=None, allow_404=True):
        self.calls.append(("DELETE", path, None, {}))
        self.stored = None
        return True


def spec(**kwargs):
    base = {"id": "d1", "attestation": None, "primary_key": None, "secondary_key": None,
            "primary_certificate": None, "primary_certificate_path": None, "secondary_certificate": None,
            "secondary_certificate_path": None, "endorsement_key": None, "state": "present"}
    base.update(kwargs)
    return base


def no_secrets(*values):
    text = repr(values)
    return all(secret not in text for secret in (KEY_A, KEY_B, KEY_C, EK))


def symmetric(primary=KEY_A, secondary=KEY_B):
    return {"type": "symmetricKey", "symmetricKey": {"primaryKey": primary, "secondaryKey": secondary}}


def test_symmetric_key_created_with_generated_keys_then_any_symmetric_attestation_satisfies():
    api = FakeApi()
    action, view, diff = ensure_attestation(api, spec(attestation="symmetric_key"))
    assert action == "created" and view == {"type": "symmetricKey"}
    (method, dummy, body, dummy), = api.writes
    keys = body["symmetricKey"]
    assert method == "PUT" and all(len(base64.b64decode(keys[name])) == 64 for name in ("primaryKey", "secondaryKey"))
    assert keys["primaryKey"] != keys["secondaryKey"]
    assert diff == {"before": {}, "after": {"type": "symmetricKey"}}
    assert ensure_attestation(api, spec(attestation="symmetric_key"))[0] == "unchanged"
    assert len(api.writes) == 1


def test_given_keys_compared_and_only_the_differing_one_patched():
    api = FakeApi(symmetric())
    assert ensure_attestation(api, spec(attestation="symmetric_key", primary_key=KEY_A, secondary_key=KEY_B))[0] == \
        "unchanged"
    assert api.writes == []
    action, view, diff = ensure_attestation(api, spec(attestation="symmetric_key", primary_key=KEY_A,
                                                      secondary_key=KEY_C), check_mode=True)
    assert action == "updated" and api.writes == []
    action, view, diff = ensure_attestation(api, spec(attestation="symmetric_key", primary_key=KEY_A,
                                                      secondary_key=KEY_C))
    assert api.writes == [("PATCH", PATH, {"type": "symmetricKey", "symmetricKey": {"secondaryKey": KEY_C}}, {})]
    assert api.stored["symmetricKey"] == {"primaryKey": KEY_A, "secondaryKey": KEY_C}
    assert diff["after"]["keys"] == "(new, hidden)" and no_secrets(action, view, diff)


def test_keys_the_attestation_does_not_show_are_compared_with_the_credentials():
    api = FakeApi(symmetric(), hide_secrets=True)
    assert ensure_attestation(api, spec(attestation="symmetric_key", primary_key=KEY_A))[0] == "unchanged"
    assert ("GET", DEVICE + "/credentials", None, {}) in api.calls and api.writes == []


def test_keys_shown_nowhere_are_sent_and_reported_as_a_change():
    api = FakeApi(symmetric(), hide_secrets=True, credentials_show=False)
    assert ensure_attestation(api, spec(attestation="symmetric_key", primary_key=KEY_A))[0] == "updated"
    assert [call[0] for call in api.writes] == ["PATCH"]


def test_x509_idempotent_by_thumbprint_in_any_encoding_and_patches_only_the_changed_entry(certs, tmp_path):
    api = FakeApi()
    path = tmp_path / "primary.pem"
    path.write_text(pem(certs[0]))
    action, view, dummy = ensure_attestation(api, spec(attestation="x509", primary_certificate_path=str(path),
                                                       secondary_certificate=pem(certs[1])))
    assert action == "created"
    assert view["x509"]["clientCertificates"]["primary"]["info"]["sha1Thumbprint"] == x509.sha1_thumbprint(certs[0].certificate)
    der_b64 = base64.b64encode(x509.certificate_to_der(certs[0].certificate)).decode()
    assert ensure_attestation(api, spec(attestation="x509", primary_certificate=der_b64))[0] == "unchanged"
    assert len(api.writes) == 1
    action, view, diff = ensure_attestation(api, spec(attestation="x509", primary_certificate=pem(certs[2]),
                                                      secondary_certificate=pem(certs[1])), check_mode=True)
    assert action == "updated" and len(api.writes) == 1
    assert diff["after"]["primaryThumbprint"] == x509.sha1_thumbprint(certs[2].certificate)
    assert diff["after"]["secondaryThumbprint"] == diff["before"]["secondaryThumbprint"]
    ensure_attestation(api, spec(attestation="x509", primary_certificate=pem(certs[2]), secondary_certificate=pem(certs[1])))
    method, dummy, body, dummy = api.writes[-1]
    assert method == "PATCH" and list(body["x509"]["clientCertificates"]) == ["primary"]
    assert set(render(api.stored)["x509"]["clientCertificates"]) == {"primary", "secondary"}


def test_a_type_change_is_a_replace_and_the_diff_says_so(certs):
    api = FakeApi(symmetric())
    action, view, diff = ensure_attestation(api, spec(attestation="tpm", endorsement_key=EK))
    assert action == "replaced" and view == {"type": "tpm"}
    assert api.writes == [("PUT", PATH, {"type": "tpm", "tpm": {"endorsementKey": EK}}, {})]
    assert diff["before"] == {"type": "symmetricKey"}
    assert diff["after"]["type"] == "tpm" and "replaces the attestation" in diff["after"]["replaces"]
    assert no_secrets(action, view, diff)
    assert ensure_attestation(api, spec(attestation="tpm", endorsement_key=" %s\n" % EK))[0] == "unchanged"


def test_absent_removes_any_type_and_is_idempotent():
    api = FakeApi({"type": "tpm", "tpm": {"endorsementKey": EK}})
    assert ensure_attestation(api, spec(state="absent"), check_mode=True)[0] == "deleted"
    assert api.writes == []
    assert ensure_attestation(api, spec(state="absent"))[0] == "deleted"
    assert ensure_attestation(api, spec(state="absent"))[0] == "unchanged"
    assert ensure_attestation(FakeApi(device=False), spec(state="absent"))[0] == "unchanged"
    assert [call[0] for call in api.writes] == ["DELETE"]


def test_a_missing_device_is_named_before_any_write():
    api = FakeApi(device=False)
    with pytest.raises(ValueError, match="device d1 does not exist"):
        ensure_attestation(api, spec(attestation="symmetric_key"))
    assert api.writes == []


def test_certificate_cn_other_than_the_device_id_warns(certs):
    warnings = []
    other = x509.create_root_certificate("someone-else", key_type="ec")
    ensure_attestation(FakeApi(), spec(attestation="x509", primary_certificate=pem(other)), warn=warnings.append)
    assert len(warnings) == 1 and "'someone-else'" in warnings[0] and "primary" in warnings[0]
    warnings = []
    ensure_attestation(FakeApi(), spec(attestation="x509", primary_certificate=pem(certs[0])), warn=warnings.append)
    assert warnings == []


@pytest.mark.parametrize("case, message", [
    (dict(attestation="symmetric_key", primary_key="not base64!"), "primary_key must be base64"),
    (dict(attestation="symmetric_key", secondary_key=base64.b64encode(b"x" * 8).decode()), "secondary_key must be"),
    (dict(attestation="tpm", endorsement_key="@@@"), "endorsement_key must be the base64"),
    (dict(attestation="x509", primary_certificate="-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"),
     "primary_certificate is not a PEM or DER"),
    (dict(attestation="x509", primary_certificate_path="/nonexistent/cert.pem"), "cannot read the primary_certificate"),
    (dict(attestation="x509", secondary_certificate="x", secondary_certificate_path="/x"),
     "give secondary_certificate or secondary_certificate_path, not both"),
    (dict(attestation="tpm", primary_key=KEY_A), "primary_key only apply to attestation=symmetric_key, not tpm"),
    (dict(attestation="symmetric_key", endorsement_key=EK), "endorsement_key only apply to attestation=tpm"),
    (dict(attestation=None), "attestation (symmetric_key, x509 or tpm) is required"),
    (dict(id="bad_id", attestation="tpm", endorsement_key=EK), "id 'bad_id' is not a valid device id"),
])
def test_bad_input_fails_in_one_line_before_any_call(case, message):
    api = FakeApi(symmetric())
    with pytest.raises(ValueError) as error:
        ensure_attestation(api, spec(**case))
    assert message in str(error.value) and "\n" not in str(error.value)
    assert api.calls == [] and no_secrets(str(error.value))


@pytest.mark.parametrize("case, message", [
    (dict(attestation="tpm"), "endorsement_key is required to give device d1 a tpm attestation"),
    (dict(attestation="x509"), "primary_certificate or primary_certificate_path is required"),
])
def test_what_a_new_attestation_needs_is_named_before_any_write(case, message):
    api = FakeApi()
    with pytest.raises(ValueError, match=message):
        ensure_attestation(api, spec(**case))
    assert api.writes == []


def test_absent_needs_no_other_option():
    assert load_desired(spec(state="absent"))[1] == "absent"


def test_info_masks_unless_include_keys_and_reads_credentials_when_needed(certs):
    api = FakeApi(symmetric())
    assert read_attestation(api, "d1") == {"attestation": {"type": "symmetricKey"}, "device_exists": True}
    assert read_attestation(api, "d1", include_keys=True)["attestation"] == symmetric()
    hidden = FakeApi(symmetric(), hide_secrets=True)
    assert read_attestation(hidden, "d1", include_keys=True)["attestation"] == symmetric()
    assert read_attestation(FakeApi(), "d1") == {"attestation": None, "device_exists": True}
    assert read_attestation(FakeApi(device=False), "d1") == {"attestation": None, "device_exists": False}
    shown = {"type": "x509", "x509": {"clientCertificates": {"primary": {"certificate": "Zm9v", "info": {
        "sha1Thumbprint": "ab:cd"}}}}}
    assert public_view(shown) == {"type": "x509", "x509": {"clientCertificates": {"primary": {"info": {
        "sha1Thumbprint": "ABCD"}}}}}
