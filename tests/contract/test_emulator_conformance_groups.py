"""Contract tests for device groups, enrollment groups, X.509 certificates and deployment manifests.

Same approach as test_emulator_conformance.py (whose helpers are reused): every
response is validated by an independent jsonschema pass over the spec's
definitions, and after every test the emulator's own ``spec_violations`` must
be empty. Requests that are wrong on purpose may only cause request-side
violations, which are cleared right away.
"""

import base64
import datetime
import json
import os
import sys

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from emulator.testing import PREVIEW, STABLE, api_url

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# pylint: disable=wrong-import-position
from test_emulator_conformance import (ADMIN, GROUPS_PREFIXES, READER, SHARED, SPECS, VERSIONS, Caller,  # noqa: E402
                                       deliberately_invalid_request, implemented_operations)

# The operations this file covers; test_emulator_conformance.py covers every other route.
PREFIXES = GROUPS_PREFIXES
THERMOSTAT = "dtmi:contoso:Thermostat;1"
EDGE = "dtmi:contoso:EnvironmentalSensorEdge;1"
MERGE = dict(ADMIN, **{"Content-Type": "application/merge-patch+json"})
NOW = datetime.datetime.now(datetime.timezone.utc)


def _cert(cn, key, issuer_cn=None, issuer_key=None):
    def name(value):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])

    return (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(issuer_cn or cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(minutes=5)).not_valid_after(NOW + datetime.timedelta(days=1))
            .sign(issuer_key or key, hashes.SHA256()))


def _b64(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


class Root:
    def __init__(self, cn):
        self.cn = cn
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.b64 = _b64(_cert(cn, self.key))

    def proof(self, code):
        return _b64(_cert(code, ec.generate_private_key(ec.SECP256R1()), self.cn, self.key))


@pytest.fixture(scope="module")
def roots():
    return [Root("contract-root-%d" % n) for n in range(3)]


@pytest.fixture(params=VERSIONS)
def call(request, emu):
    caller = Caller(emu, request.param)
    yield caller
    caller.session.close()


def covered_here(operations):
    return {(method, path) for method, path in operations if path.startswith(PREFIXES)}


def merge_patch(call, path, body, expect, headers=None):
    return call("PATCH", path, expect, data=json.dumps(body), headers=dict(MERGE, **(headers or {})))


def test_every_group_operation_in_both_versions(call, emu, roots):
    preview = call.version == PREVIEW
    # Device groups.
    emu.emulator.seed_devices(12, prefix="ct")
    group = {"displayName": "Device group 1", "description": "Custom device group.",
             "filter": 'SELECT * FROM devices WHERE $template = "%s" AND $provisioned = false' % THERMOSTAT,
             "organizations": ["seattle"]}
    created = call("PUT", "deviceGroups/group1", 200, json=group).json()
    call("PUT", "deviceGroups/group1", 200, json=dict(group, etag=created["etag"]))
    call("GET", "deviceGroups/group1", 200)
    call("PATCH", "deviceGroups/group1", 200, json={"displayName": "New group name"})
    merge_patch(call, "deviceGroups/group1", {"description": None}, 200)
    call("PUT", "deviceGroups/group2", 200, json={"displayName": "All", "filter": "SELECT * FROM devices"})
    if preview:
        call("PATCH", "deviceGroups/group1", 200, json={}, headers=dict(ADMIN, **{"If-Match": "*"}))
        page = call("GET", "deviceGroups", 200, params={"maxpagesize": 1, "orderby": "displayName desc",
                                                        "filter": "id eq 'group2' or contains(displayName, 'group')"})
        assert page.json()["value"][0]["id"] == "group1"
        call("GET", page.json()["nextLink"], 200)
        members = call("GET", "deviceGroups/group1/devices", 200, params={"maxpagesize": 5}).json()
        assert len(members["value"]) == 5
        call("GET", members["nextLink"], 200)
    call("GET", "deviceGroups", 200)
    assert len(call("GET", "deviceGroups/group2/devices", 200).json()["value"]) == 12
    call("DELETE", "deviceGroups/group2", 204)
    # Enrollment groups.
    symmetric = call("PUT", "enrollmentGroups/mysymmetric", 200, json={
        "displayName": "My group", "enabled": True, "type": "iot", "attestation": {"type": "symmetricKey"}}).json()
    assert ("idScope" in symmetric) == preview
    call("GET", "enrollmentGroups/mysymmetric", 200)
    renamed = merge_patch(call, "enrollmentGroups/mysymmetric", {"displayName": "My new group name"}, 200).json()
    assert renamed["attestation"] == symmetric["attestation"]
    if preview:
        merge_patch(call, "enrollmentGroups/mysymmetric", {"enabled": False}, 200,
                    headers={"If-Match": '"%s"' % renamed["etag"]})
    call("PUT", "enrollmentGroups/myx509eg", 200, json={
        "displayName": "My group", "enabled": True, "type": "iotEdge", "attestation": {"type": "x509"}})
    root = roots[0] if preview else roots[1]
    base = "enrollmentGroups/myx509eg/certificates/primary"
    entry = call("PUT", base, 200, json={"verified": False, "certificate": root.b64}).json()
    call("PUT", "enrollmentGroups/myx509eg/certificates/secondary", 200,
         json={"verified": True, "certificate": roots[2].b64})
    call("GET", base, 200)
    code = call("POST", base + "/generateVerificationCode", 200).json()["verificationCode"]
    call("POST", base + "/verify", 204, json={"certificate": root.proof(code)})
    assert call("GET", base, 200).json()["verified"] is True
    group_x509 = call("GET", "enrollmentGroups/myx509eg", 200).json()
    assert set(group_x509["attestation"]["x509"]["signingCertificates"]) == {"primary", "secondary"}
    assert group_x509["attestation"]["x509"]["signingCertificates"]["primary"]["info"] == entry["info"]
    call("GET", "enrollmentGroups", 200)
    call("DELETE", "enrollmentGroups/myx509eg/certificates/secondary", 204)
    call("DELETE", "enrollmentGroups/myx509eg", 204)
    call("DELETE", "enrollmentGroups/mysymmetric", 204)
    # Deployment manifests and applying one (2022-10-31-preview only).
    if preview:
        data = {"modulesContent": {"$edgeAgent": {"properties.desired": {"schemaVersion": "1.1"}}}}
        manifest = call("PUT", "deploymentManifests/envSensor", 200, json={
            "displayName": "Env", "data": data, "organizations": ["seattle"]}).json()
        call("GET", "deploymentManifests/envSensor", 200)
        merge_patch(call, "deploymentManifests/envSensor", {"data": {"modulesContent": {"$edgeHub": {}}}}, 200,
                    headers={"If-Match": manifest["etag"]})
        listed = call("GET", "deploymentManifests", 200, params={"maxpagesize": 1, "filter": "id eq 'envSensor'"})
        assert [m["id"] for m in listed.json()["value"]] == ["envSensor"]
        call("PUT", "devices/edge1", 200, json={"template": EDGE})
        applied = call("POST", "devices/edge1/applyDeploymentManifest", 200, json={"data": data}).json()
        assert call("GET", "devices/edge1", 200).json()["deploymentManifest"] == applied
        call("DELETE", "deploymentManifests/envSensor", 204)
    exercised = {(method, template) for method, template, status in call.covered if 200 <= status < 300}
    missing = covered_here(implemented_operations(emu, call.version)) - exercised
    assert not missing, missing


def test_error_responses(call, emu, roots):
    preview = call.version == PREVIEW
    call("PUT", "deviceGroups/g", 200, json={"displayName": "G", "filter": "SELECT * FROM devices"})
    stale = call("GET", "deviceGroups/g", 200).json()["etag"]
    call("PATCH", "deviceGroups/g", 200, json={"displayName": "H"})
    # 404s.
    call("GET", "deviceGroups/missing", 404)
    call("PATCH", "deviceGroups/missing", 404, json={})
    call("DELETE", "deviceGroups/missing", 404)
    call("GET", "deviceGroups/missing/devices", 404)
    call("GET", "enrollmentGroups/missing", 404)
    merge_patch(call, "enrollmentGroups/missing", {}, 404)
    call("DELETE", "enrollmentGroups/missing", 404)
    call("GET", "enrollmentGroups/missing/certificates/primary", 404)
    # 412s.
    call("PATCH", "deviceGroups/g", 412, json={"etag": stale})
    call("PUT", "deviceGroups/g", 412, json={"displayName": "G", "filter": "SELECT * FROM devices", "etag": stale})
    if preview:
        call("PATCH", "deviceGroups/g", 412, json={}, headers=dict(ADMIN, **{"If-Match": '"stale"'}))
    # 400: invalid ids, entry, list parameters.
    call("PUT", "deviceGroups/bad.id", 400, json={"displayName": "G", "filter": "SELECT * FROM devices"})
    call("GET", "enrollmentGroups/bad_id", 400)
    call("PUT", "enrollmentGroups/x509/certificates/tertiary", 400, json={"certificate": roots[0].b64})
    if preview:
        call("GET", "deviceGroups", 400, params={"filter": "color eq 'red'"})
        call("GET", "deviceGroups", 400, params={"orderby": "id"})
    # 422: a query the emulator does not understand, certificate problems, failed proof, duplicate certificate.
    call("PUT", "deviceGroups/q", 422, json={"displayName": "Q", "filter": "SELECT * FROM devices WHERE $color = 1"})
    call("PUT", "enrollmentGroups/x509", 200, json={"displayName": "X", "type": "iot",
                                                    "attestation": {"type": "x509"}})
    call("PUT", "enrollmentGroups/sym", 200, json={"displayName": "S", "type": "iot",
                                                   "attestation": {"type": "symmetricKey"}})
    call("PUT", "enrollmentGroups/x509/certificates/primary", 422, json={"certificate": "bm90IGEgY2VydA=="})
    call("PUT", "enrollmentGroups/sym/certificates/primary", 422, json={"certificate": roots[0].b64})
    call("GET", "enrollmentGroups/sym/certificates/primary", 404)
    call("PUT", "enrollmentGroups/x509/certificates/primary", 200, json={"certificate": roots[0].b64})
    call("POST", "enrollmentGroups/x509/certificates/primary/verify", 422, json={"certificate": roots[0].proof("x")})
    code = call("POST", "enrollmentGroups/x509/certificates/primary/generateVerificationCode", 200).json()
    call("POST", "enrollmentGroups/x509/certificates/primary/verify", 422,
         json={"certificate": roots[1].proof(code["verificationCode"])})
    call("PUT", "enrollmentGroups/other", 200, json={"displayName": "O", "type": "iot",
                                                     "attestation": {"type": "x509"}})
    call("PUT", "enrollmentGroups/other/certificates/secondary", 422, json={"certificate": roots[0].b64})
    call("GET", "enrollmentGroups/x509/certificates/secondary", 404)
    # 401 / 403.
    call("GET", "deviceGroups", 401, headers={})
    call("PUT", "deviceGroups/r", 403, headers=READER, json={"displayName": "R", "filter": "SELECT * FROM devices"})
    call("POST", "enrollmentGroups/x509/certificates/primary/generateVerificationCode", 403, headers=READER)
    # Manifests and apply: 404 on 2022-07-31 (no such paths), errors on the preview.
    if preview:
        call("GET", "deploymentManifests/missing", 404)
        call("PUT", "deploymentManifests/bad-id", 400, json={"data": {}})
        call("PUT", "devices/thermo", 200, json={"template": THERMOSTAT})
        call("POST", "devices/thermo/applyDeploymentManifest", 422, json={"data": {}})
        call("POST", "devices/missing/applyDeploymentManifest", 404, json={"data": {}})
        manifest = call("PUT", "deploymentManifests/m", 200, json={"data": {}}).json()
        merge_patch(call, "deploymentManifests/m", {}, 412, headers={"If-Match": '"stale"'})
        merge_patch(call, "deploymentManifests/m", {"etag": "stale"}, 412)
        assert call("GET", "deploymentManifests/m", 200).json() == manifest
    else:
        for method, path in (("GET", "deploymentManifests"), ("GET", "deploymentManifests/m"),
                             ("POST", "devices/d/applyDeploymentManifest")):
            # No 2022-07-31 operation to check against: validate the error body with the preview's.
            call(method, path, 404, spec_version=PREVIEW, json={"data": {}} if method == "POST" else None)


def test_deliberately_invalid_requests_get_spec_shaped_errors(call, emu):
    call("PUT", "enrollmentGroups/g", 200, json={"displayName": "G", "type": "iot",
                                                 "attestation": {"type": "symmetricKey"}})
    with deliberately_invalid_request(emu):
        call("PATCH", "enrollmentGroups/g", 415, data=b"{}", headers=dict(ADMIN, **{"Content-Type": "text/plain"}))
    with deliberately_invalid_request(emu):
        call("PUT", "enrollmentGroups/g", 422, json={"displayName": "G", "type": "toaster",
                                                     "attestation": {"type": "symmetricKey"}})
    with deliberately_invalid_request(emu):
        call("PUT", "enrollmentGroups/g", 422, json={"displayName": "G", "type": "iot",
                                                     "attestation": {"type": "tpm"}})
    with deliberately_invalid_request(emu):
        call("PUT", "deviceGroups/g", 422, json={"displayName": "G"})
    with deliberately_invalid_request(emu):
        call("PUT", "deviceGroups/g", 422, json={"displayName": "G", "filter": 7})
    with deliberately_invalid_request(emu):
        call("POST", "enrollmentGroups/g/certificates/primary/verify", 404, json={})
    if call.version == PREVIEW:
        call("PUT", "deploymentManifests/m", 200, json={"data": {}})
        with deliberately_invalid_request(emu):
            call("PATCH", "deploymentManifests/m", 415, json={"displayName": "x"})
        with deliberately_invalid_request(emu):
            call("PUT", "deploymentManifests/m", 422, json={"displayName": ""})
        with deliberately_invalid_request(emu):
            call("GET", "deviceGroups", 400, params={"maxpagesize": 101})


@pytest.mark.parametrize("version", VERSIONS)
def test_spec_examples_round_trip(emu, version):
    """The spec's example requests are accepted and answered with (at least) the example's fields."""
    examples = os.path.join(SHARED, version, "examples")

    def example(name):
        with open(os.path.join(examples, name), encoding="utf-8") as handle:
            return json.load(handle)

    session = requests.Session()
    session.headers.update(ADMIN)
    create = example("devicegroups_create.json")
    params = create["parameters"]
    url = api_url(emu.base_url, "deviceGroups/" + params["deviceGroupId"], version)
    response = session.put(url, json=params["body"], timeout=10)
    assert response.status_code == 200
    expected = create["responses"]["200"]["body"]
    assert {k: v for k, v in response.json().items() if k != "etag"} == expected
    updated = example("devicegroups_update.json")
    response = session.patch(url, json=updated["parameters"]["body"], timeout=10)
    assert {k: v for k, v in response.json().items() if k != "etag"} == updated["responses"]["200"]["body"]
    for name in ("enrollmentgroups_create.json", "enrollmentgroups_update.json"):
        case = example(name)
        params = case["parameters"]
        url = api_url(emu.base_url, "enrollmentGroups/" + params["enrollmentGroupId"], version)
        if name.endswith("create.json"):
            response = session.put(url, json=params["body"], timeout=10)
        else:
            response = session.patch(url, data=json.dumps(params["body"]), timeout=10,
                                     headers={"Content-Type": "application/merge-patch+json"})
        assert response.status_code == 200
        body, expected = response.json(), case["responses"]["200"]["body"]
        assert set(body) == set(expected)
        assert set(body["attestation"]) == set(expected["attestation"])
        assert set(body["attestation"]["symmetricKey"]) == set(expected["attestation"]["symmetricKey"])
        assert body["displayName"] == expected["displayName"]
    assert set(example("enrollmentgroups_setx509.json")["responses"]["200"]["body"]) == {"verified", "info", "etag"}
    session.close()
    assert emu.stats()["spec_violations"] == []


def test_every_covered_route_is_in_the_spec(emu):
    for version in VERSIONS:
        for method, path in covered_here(implemented_operations(emu, version)):
            template, operation = SPECS[version].operation(method, "/api" + path.replace("{", "x").replace("}", ""))
            assert operation is not None, (version, method, path)
    assert not covered_here(implemented_operations(emu, STABLE)) & {
        ("GET", "/deploymentManifests"), ("POST", "/devices/{deviceId}/applyDeploymentManifest")}
