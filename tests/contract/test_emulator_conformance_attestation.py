"""Contract tests for individual device attestation (``/devices/{deviceId}/attestation``), both api-versions.

Same approach as test_emulator_conformance.py (whose helpers are reused): every response is validated by an
independent jsonschema pass over the spec's definitions (the ``Attestation`` discriminator included), and after
every test the emulator's own ``spec_violations`` must be empty. Requests that are wrong on purpose may only
cause request-side violations, which are cleared right away.
"""

import base64
import json
import os
import sys

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emulator.testing import api_url

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# pylint: disable=wrong-import-position
from test_emulator_conformance import (ADMIN, ATTESTATION_PREFIXES, READER, SHARED, SPECS, VERSIONS, Caller,  # noqa: E402
                                       deliberately_invalid_request, implemented_operations)
from test_emulator_conformance_groups import _cert  # noqa: E402

PREFIXES = ATTESTATION_PREFIXES
MERGE = dict(ADMIN, **{"Content-Type": "application/merge-patch+json"})
KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.b64encode(b"b" * 32).decode()
EK = base64.b64encode(b"endorsement-key-" * 8).decode()


def b64_cert(cn):
    return base64.b64encode(_cert(cn, ec.generate_private_key(ec.SECP256R1())).public_bytes(
        serialization.Encoding.PEM)).decode()


@pytest.fixture(params=VERSIONS)
def call(request, emu):
    caller = Caller(emu, request.param)
    yield caller
    caller.session.close()


def covered_here(operations):
    return {(method, path) for method, path in operations if path.startswith(PREFIXES)}


def test_every_attestation_operation_in_both_versions(call, emu):
    call("PUT", "devices/d1", 200, json={"displayName": "D1"})
    path = "devices/d1/attestation"
    symmetric = {"type": "symmetricKey", "symmetricKey": {"primaryKey": KEY_A, "secondaryKey": KEY_B}}
    assert call("PUT", path, 200, json=symmetric).json() == symmetric
    assert call("GET", path, 200).json() == symmetric
    patched = call("PATCH", path, 200, data=json.dumps({"symmetricKey": {"primaryKey": KEY_B}}), headers=MERGE).json()
    assert patched["symmetricKey"] == {"primaryKey": KEY_B, "secondaryKey": KEY_B}
    x509 = call("PUT", path, 200, json={"type": "x509", "x509": {"clientCertificates": {
        "primary": {"certificate": b64_cert("d1")}, "secondary": {"certificate": b64_cert("d1")}}}}).json()
    assert set(x509["x509"]["clientCertificates"]) == {"primary", "secondary"}
    assert "certificate" not in json.dumps(call("GET", path, 200).json()).replace("clientCertificates", "")
    call("PATCH", path, 200, json={"x509": {"clientCertificates": {"primary": {"certificate": b64_cert("d1")}}}})
    assert call("PATCH", path, 200, json={"type": "tpm", "tpm": {"endorsementKey": EK}}).json() == {
        "type": "tpm", "tpm": {"endorsementKey": EK}}
    assert call("GET", "devices/d1/credentials", 200).json()["tpm"] == {"endorsementKey": EK}
    call("DELETE", path, 204)
    exercised = {(method, template) for method, template, status in call.covered if 200 <= status < 300}
    missing = covered_here(implemented_operations(emu, call.version)) - exercised
    assert not missing, missing


def test_error_responses(call, emu):
    call("GET", "devices/missing/attestation", 404)
    call("DELETE", "devices/missing/attestation", 404)
    call("PUT", "devices/missing/attestation", 404, json={"type": "tpm", "tpm": {"endorsementKey": EK}})
    call("PUT", "devices/d1", 200, json={})
    call("GET", "devices/d1/attestation", 404)
    call("PATCH", "devices/d1/attestation", 404, json={"type": "tpm"})
    call("DELETE", "devices/d1/attestation", 404)
    call("PUT", "devices/bad_id/attestation", 400, json={"type": "tpm", "tpm": {"endorsementKey": EK}})
    call("PUT", "devices/d1/attestation", 422, json={"type": "tpm", "tpm": {"endorsementKey": "@@"}})
    call("PUT", "devices/d1/attestation", 422, json={"type": "x509", "x509": {"clientCertificates": {
        "primary": {"certificate": "bm90IGEgY2VydA=="}}}})
    call("PUT", "devices/d1/attestation", 403, headers=READER, json={"type": "tpm", "tpm": {"endorsementKey": EK}})


def test_deliberately_invalid_requests_get_spec_shaped_errors(call, emu):
    call("PUT", "devices/d1", 200, json={})
    with deliberately_invalid_request(emu):
        call("PUT", "devices/d1/attestation", 422, json={"type": "symmetricKey", "symmetricKey": {"primaryKey": KEY_A}})
    with deliberately_invalid_request(emu):
        call("PUT", "devices/d1/attestation", 422, json={"type": "x509"})
    with deliberately_invalid_request(emu):
        call("PUT", "devices/d1/attestation", 422, json={"symmetricKey": {"primaryKey": KEY_A, "secondaryKey": KEY_B}})
    call("PUT", "devices/d1/attestation", 200, json={"type": "tpm", "tpm": {"endorsementKey": EK}})
    with deliberately_invalid_request(emu):
        call("PATCH", "devices/d1/attestation", 415, data="{}", headers=dict(ADMIN, **{"Content-Type": "text/plain"}))


@pytest.mark.parametrize("version", VERSIONS)
def test_spec_examples_round_trip(emu, version):
    """The spec's attestation examples: the example bodies (with real values for the placeholders) are accepted
    and answered in the example's shape; the delete example answers 204."""
    examples = os.path.join(SHARED, version, "examples")

    def example(name):
        with open(os.path.join(examples, name), encoding="utf-8") as handle:
            return json.load(handle)

    real = {"<primary key>": KEY_A, "<secondary key>": KEY_B, "<endorsement key>": EK,
            "<string representation of the certificate>": b64_cert("CheckoutThermostat")}

    def fill(value):
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        return real.get(value, value)

    def shape(value):
        return {key: shape(item) for key, item in value.items()} if isinstance(value, dict) else type(value).__name__

    session = requests.Session()
    session.headers.update(ADMIN)
    device = example("devices_attestations_set_x509.json")["parameters"]["deviceId"]
    assert session.put(api_url(emu.base_url, "devices/" + device, version), json={}, timeout=10).status_code == 200
    url = api_url(emu.base_url, "devices/%s/attestation" % device, version)
    for name in ("devices_attestations_set_symmetricKey.json", "devices_attestations_set_tpm.json",
                 "devices_attestations_set_x509.json"):
        case = example(name)
        response = session.put(url, json=fill(case["parameters"]["body"]), timeout=10)
        assert response.status_code == 200, response.text
        assert shape(response.json()) == shape(case["responses"]["200"]["body"]), name
    assert shape(session.get(url, timeout=10).json()) == shape(example("devices_attestations_get.json")[
        "responses"]["200"]["body"])
    assert str(session.delete(url, timeout=10).status_code) in example("devices_attestations_delete.json")["responses"]
    session.close()
    assert emu.stats()["spec_violations"] == []


def test_every_covered_route_is_in_the_spec(emu):
    for version in VERSIONS:
        routes = covered_here(implemented_operations(emu, version))
        assert len(routes) == 4, routes
        for method, path in routes:
            template, operation = SPECS[version].operation(method, "/api" + path.replace("{", "x").replace("}", ""))
            assert operation is not None, (version, method, path)
