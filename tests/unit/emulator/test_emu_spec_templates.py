"""The built-in spec checker (emulator.spec) and the device template endpoints."""

import json
from urllib.parse import quote

import pytest

from emulator import defaults
from emulator.common import Response, ok
from emulator.spec import SpecChecker, default_spec_dir
from emulator.testing import PREVIEW, STABLE, ApiClient

SPEC_DIR = default_spec_dir()


@pytest.fixture(scope="module")
def checker():
    return SpecChecker(SPEC_DIR, defaults.API_VERSIONS)


def op(checker, version, method, path):
    operation = checker.match(version, method, "/api" + path)
    assert operation is not None, (version, method, path)
    return operation


def body_errors(checker, version, method, path, body):
    return checker.check_request(op(checker, version, method, path), [("api-version", version)], {},
                                 json.dumps(body).encode(), "application/json")


def test_operation_matching(checker):
    assert op(checker, STABLE, "GET", "/devices/x/credentials").operation_id == "Devices_GetCredentials"
    assert op(checker, STABLE, "GET", "/devices/x").operation_id == "Devices_Get"
    assert op(checker, PREVIEW, "GET", "/deviceTemplates/dtmi%3Aa%3Ab%3B1").operation_id == "DeviceTemplates_Get"
    assert checker.match(STABLE, "GET", "/api/deploymentManifests") is None
    assert checker.match(PREVIEW, "GET", "/api/deploymentManifests").operation_id == "DeploymentManifests_List"
    assert checker.match(STABLE, "POST", "/api/devices") is None


def test_discriminator_dispatches_to_the_subtype(checker):
    def errors(body):
        return body_errors(checker, STABLE, "PUT", "/devices/d/attestation", body)

    assert errors({"type": "symmetricKey", "symmetricKey": {"primaryKey": "a", "secondaryKey": "b"}}) == []
    missing = errors({"type": "symmetricKey"})
    assert any("'symmetricKey' is a required property" in m for m in missing)
    wrong = errors({"type": "tpm", "tpm": {"endorsementKey": 5}})
    assert any("body.tpm.endorsementKey" in m and "is not of type 'string'" in m for m in wrong)
    unknown = errors({"type": "smoke-signals"})
    assert any("not a known type value" in m for m in unknown)
    assert any("'type' is a required property" in m for m in errors({}))


def test_nested_discriminator_in_enrollment_group(checker):
    def errors(body):
        return body_errors(checker, STABLE, "PUT", "/enrollmentGroups/g", body)

    good = {"displayName": "g", "type": "iot", "attestation": {"type": "x509", "x509": {"signingCertificates": {}}}}
    assert errors(good) == []
    bad = dict(good, attestation={"type": "symmetricKey", "symmetricKey": {"primaryKey": 1, "secondaryKey": "b"}})
    assert any("attestation.symmetricKey.primaryKey" in m for m in errors(bad))
    # EnrollmentGroup.type is a closed enum (modelAsString false).
    assert any("is not one of" in m for m in errors(dict(good, type="toaster")))


def test_read_only_properties_in_requests(checker):
    messages = body_errors(checker, STABLE, "PUT", "/devices/d", {"id": "d", "provisioned": True})
    assert sorted(messages) == ["body.id: is readOnly and must not be sent in a request",
                                "body.provisioned: is readOnly and must not be sent in a request"]
    assert body_errors(checker, STABLE, "PUT", "/devices/d", {"displayName": "x", "etag": "e"}) == []
    # readOnly on a $ref sibling (X509Certificate.info) is not lost.
    messages = body_errors(checker, STABLE, "PUT", "/enrollmentGroups/g/certificates/primary",
                           {"certificate": "abc", "info": {"sha1Thumbprint": "x"}})
    assert messages == ["body.info: is readOnly and must not be sent in a request"]


def test_open_enum_with_model_as_string(checker):
    operation = op(checker, PREVIEW, "GET", "/devices/d")
    assert checker.check_response(operation, 200, {}, {"id": "d", "type": ["somethingNew"]}) == []
    assert checker.check_response(operation, 200, {}, {"id": "d", "type": "iotEdge"}) != []


def test_response_checks(checker):
    get = op(checker, STABLE, "GET", "/devices/d")
    error = {"error": {"code": "NotFound", "message": "m", "requestId": "r", "time": "Mon, 01 Jan 2024 00:00:00 GMT"}}
    assert checker.check_response(get, 404, {"x-ms-error-code": "NotFound"}, error) == []
    assert checker.check_response(get, 404, {}, error) == ["response header x-ms-error-code is missing"]
    bad_time = {"error": dict(error["error"], time="2024-01-01T00:00:00Z")}
    assert any("date-time-rfc1123" in m for m in checker.check_response(get, 404, {"x-ms-error-code": "x"}, bad_time))
    assert any("'code' is a required property" in m
               for m in checker.check_response(get, 500, {"x-ms-error-code": "x"}, {"error": {"message": "m"}}))
    assert checker.check_response(get, 201, {}, {}) == ["status 201 is not documented for Devices_Get"]
    assert checker.check_response(get, 200, {}, {"id": 5, "enabled": "yes"}) == [
        "body.enabled: 'yes' is not of type 'boolean'", "body.id: 5 is not of type 'string'"]
    delete = op(checker, STABLE, "DELETE", "/devices/d")
    assert checker.check_response(delete, 204, {}, None) == []
    assert checker.check_response(delete, 204, {}, {"x": 1}) != []
    listing = op(checker, PREVIEW, "GET", "/devices")
    assert any("'value' is a required property" in m for m in checker.check_response(listing, 200, {}, {}))


def test_request_parameter_checks(checker):
    listing = op(checker, PREVIEW, "GET", "/devices")
    assert checker.check_request(listing, [], {}, b"", None) == ["missing required query parameter api-version"]
    messages = checker.check_request(listing, [("api-version", PREVIEW), ("maxpagesize", "500"),
                                               ("expand", "no spaces!")], {}, b"", None)
    assert len(messages) == 2 and "maximum" in messages[0] and "does not match" in messages[1]
    assert "not of type integer" in checker.check_request(listing, [("api-version", PREVIEW),
                                                                    ("maxpagesize", "x")], {}, b"", None)[0]
    put = op(checker, STABLE, "PUT", "/devices/d")
    assert checker.check_request(put, [("api-version", STABLE)], {}, b"", None) == ["missing required request body"]
    messages = checker.check_request(put, [("api-version", STABLE)], {}, b"{}", "text/plain")
    assert "not one of application/json" in messages[0]
    assert "not valid JSON" in checker.check_request(put, [("api-version", STABLE)], {}, b"{", "application/json")[0]
    patch = op(checker, STABLE, "PATCH", "/devices/d")
    assert checker.check_request(patch, [("api-version", STABLE)], {}, b"{}", "application/merge-patch+json") == []
    get = op(checker, STABLE, "GET", "/devices/d")
    assert checker.check_request(get, [("api-version", STABLE)], {}, b"{}", "application/json") == [
        "Devices_Get takes no request body"]


def test_server_records_a_wrong_response_shape(fresh_emulator):
    emu = fresh_emulator

    def broken(ctx):
        return ok({"id": 42, "enabled": "sometimes"})

    route = emu.emulator.api_router.add("GET", "/api/devices/{deviceId}", broken, first=True)
    try:
        response = ApiClient(emu.base_url, PREVIEW).get("devices/anything")
        assert response.status_code == 200  # Violations never change the response.
    finally:
        emu.emulator.api_router.remove(route)
    violations = emu.stats()["spec_violations"]
    assert {v["side"] for v in violations} == {"response"}
    assert {v["operation"] for v in violations} == {"Devices_Get"}
    assert sorted(v["message"] for v in violations) == ["body.enabled: 'sometimes' is not of type 'boolean'",
                                                        "body.id: 42 is not of type 'string'"]
    assert violations[0]["api_version"] == PREVIEW and violations[0]["status"] == 200


def test_server_records_request_violations(fresh_emulator):
    ApiClient(fresh_emulator.base_url, STABLE).put("devices/rv", json={"enabled": "no"})
    violations = fresh_emulator.stats()["spec_violations"]
    assert [(v["side"], v["message"]) for v in violations] == [
        ("request", "body.enabled: 'no' is not of type 'boolean'")]


def test_server_records_undocumented_empty_error(fresh_emulator):
    def empty_error(ctx):
        return Response(500, None)

    route = fresh_emulator.emulator.api_router.add("GET", "/api/devices", empty_error, first=True)
    try:
        ApiClient(fresh_emulator.base_url, STABLE).get("devices")
    finally:
        fresh_emulator.emulator.api_router.remove(route)
    messages = [v["message"] for v in fresh_emulator.stats()["spec_violations"]]
    assert "response header x-ms-error-code is missing" in messages
    assert "status 500 of Devices_List needs a JSON body" in messages


# Device templates over HTTP --------------------------------------------------------------------

EXPECTED_TEMPLATES = {"dtmi:contoso:Thermostat;1", "dtmi:contoso:TemperatureController;1",
                      "dtmi:modelDefinition:dtdlv2", "dtmi:contoso:EnvironmentalSensorEdge;1"}


@pytest.mark.parametrize("version", [STABLE, PREVIEW])
def test_template_list_and_get(fresh_emulator, version):
    client = ApiClient(fresh_emulator.base_url, version)
    templates = client.list_all("deviceTemplates")
    ids = [t["@id"] for t in templates]
    assert EXPECTED_TEMPLATES <= set(ids) and ids == sorted(ids)
    for template in templates:
        assert {"@id", "@type", "capabilityModel", "displayName", "etag"} <= set(template)
        by_id = client.get("deviceTemplates/" + quote(template["@id"], safe=""))
        assert by_id.status_code == 200 and by_id.json() == template
    raw = client.get("deviceTemplates/dtmi:contoso:Thermostat;1")
    assert raw.status_code == 200 and raw.json()["displayName"] == "Thermostat"
    missing = client.get("deviceTemplates/" + quote("dtmi:contoso:Nope;1", safe=""))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    edge = client.get("deviceTemplates/" + quote("dtmi:contoso:EnvironmentalSensorEdge;1", safe="")).json()
    assert "EdgeModel" in edge["@type"]
    assert fresh_emulator.stats()["spec_violations"] == []


def test_template_paging_filter_and_order(fresh_emulator):
    client = ApiClient(fresh_emulator.base_url, PREVIEW)
    first = client.get("deviceTemplates", params={"maxpagesize": 2}).json()
    assert len(first["value"]) == 2 and first["nextLink"]
    names = [t["displayName"] for t in client.list_all("deviceTemplates", params={"orderby": "displayName desc",
                                                                                  "maxpagesize": 1})]
    assert names == sorted(names, reverse=True)
    thermo = client.list_all("deviceTemplates", params={"filter": "contains(displayName, 'Thermostat')"})
    assert {t["@id"] for t in thermo} == {"dtmi:contoso:Thermostat;1", "dtmi:contoso:mythermostattemplate;1"}
    assert client.get("deviceTemplates", params={"filter": "enabled eq true"}).status_code == 400
