"""Authentication, authorization, api-version handling and the common response headers."""

import email.utils

import pytest
import requests

from emulator import defaults
from emulator.auth import Authenticator, parse_sas
from emulator.errors import ApiError
from emulator.server import start_emulator
from emulator.testing import PREVIEW, STABLE, api_url, bearer_headers

EXPIRED = ("SharedAccessSignature sr=fleetops-emulator&sig=ZW11bGF0b3ItYWRtaW4tc2lnbmF0dXJl&skn=admin"
           "&se=1000000000000")


def assert_error(response, status, code=None):
    assert response.status_code == status, response.text
    body = response.json()
    error = body["error"]
    assert set(error) == {"code", "message", "requestId", "time"}
    assert response.headers["x-ms-error-code"] == error["code"]
    assert error["requestId"] == response.headers["x-ms-request-id"]
    assert email.utils.parsedate_to_datetime(error["time"]) is not None and error["time"].endswith("GMT")
    if code:
        assert error["code"] == code
    return error


def get(emu, path="devices", version=STABLE, headers=None):
    return requests.get(api_url(emu.base_url, path, version), headers=headers or {}, timeout=10)


# Authenticator unit tests ---------------------------------------------------------------------

def test_parse_sas_fields_and_errors():
    assert parse_sas("sr=app&sig=a%2Bb&skn=admin&se=5") == {"sr": "app", "sig": "a+b", "skn": "admin", "se": 5}
    for bad in ("sr=app&sig=x&skn=admin", "sr=app&sig=x&skn=admin&se=soon", "nonsense"):
        with pytest.raises(ValueError):
            parse_sas(bad)


def test_authenticator_roles_and_clock():
    now = [1_700_000_000.0]
    auth = Authenticator(defaults.ADMIN_TOKEN, defaults.READER_TOKEN, "a", "r", clock=lambda: now[0])
    assert auth.role_for(defaults.ADMIN_TOKEN) == "admin"
    assert auth.role_for(defaults.READER_TOKEN) == "reader"
    assert auth.role_for("Bearer a") == "admin"
    assert auth.role_for("bearer r") == "reader"
    # Field order and URL-encoding do not matter, the values do.
    assert auth.role_for("SharedAccessSignature skn=admin&se=4102444800000&sr=fleetops-emulator"
                         "&sig=ZW11bGF0b3ItYWRtaW4tc2lnbmF0dXJl") == "admin"
    now[0] = 4102444800.0
    with pytest.raises(ApiError) as info:
        auth.role_for(defaults.ADMIN_TOKEN)
    assert info.value.status == 401 and "expired" in info.value.message


def test_authenticator_messages_never_echo_the_credential():
    auth = Authenticator(defaults.ADMIN_TOKEN, None, None, None)
    for header in ("SuperSecretTokenWithoutScheme", "Basic c2VjcmV0", "Bearer SuperSecret",
                   "SharedAccessSignature SuperSecret"):
        with pytest.raises(ApiError) as info:
            auth.role_for(header)
        assert "Secret" not in info.value.message and "c2VjcmV0" not in info.value.message


# Over HTTP ----------------------------------------------------------------------------------

def test_missing_authorization_is_401(fresh_emulator):
    error = assert_error(get(fresh_emulator), 401, "Unauthorized")
    assert "Authorization" in error["message"]


@pytest.mark.parametrize("header", ["Bearer wrong", "SharedAccessSignature sr=x&sig=y&skn=admin&se=4102444800000",
                                    "SharedAccessSignature garbage", "Basic dXNlcjpwYXNz"])
def test_unknown_or_malformed_tokens_are_401(fresh_emulator, header):
    assert_error(get(fresh_emulator, headers={"Authorization": header}), 401, "Unauthorized")


def test_expired_token_says_so(fresh_emulator):
    error = assert_error(get(fresh_emulator, headers={"Authorization": EXPIRED}), 401)
    assert "expired" in error["message"].lower()


def test_expired_configured_token():
    with start_emulator(rate_limit=0, admin_token=EXPIRED) as emu:
        error = assert_error(get(emu, headers={"Authorization": EXPIRED}), 401)
        assert "expired" in error["message"]


@pytest.mark.parametrize("headers", [{"Authorization": defaults.READER_TOKEN}, bearer_headers("reader")])
def test_reader_can_read_but_not_write(fresh_emulator, headers):
    fresh_emulator.emulator.seed_devices(1, prefix="rd")
    assert get(fresh_emulator, headers=headers).status_code == 200
    assert get(fresh_emulator, "devices/rd-00001/credentials", headers=headers).status_code == 200
    url = api_url(fresh_emulator.base_url, "devices/rd-00001", STABLE)
    for method in ("PUT", "PATCH", "DELETE"):
        response = requests.request(method, url, headers=headers, json={}, timeout=10)
        assert_error(response, 403, "Forbidden")
    assert fresh_emulator.store.collections["devices"].get("rd-00001") is not None


@pytest.mark.parametrize("headers", [{"Authorization": defaults.ADMIN_TOKEN}, bearer_headers("admin")])
def test_admin_can_write(fresh_emulator, headers):
    response = requests.put(api_url(fresh_emulator.base_url, "devices/ad-1", PREVIEW), headers=headers,
                            json={"displayName": "x"}, timeout=10)
    assert response.status_code == 200


def test_missing_api_version(fresh_emulator, admin_headers):
    response = requests.get(fresh_emulator.base_url + "/api/devices", headers=admin_headers, timeout=10)
    error = assert_error(response, 400, "MissingApiVersionParameter")
    assert STABLE in error["message"] and PREVIEW in error["message"]


@pytest.mark.parametrize("version", ["1.0", "2022-05-31", "2022-07-31x", ""])
def test_unknown_api_version(fresh_emulator, admin_headers, version):
    response = requests.get(fresh_emulator.base_url + "/api/devices?api-version=" + version, headers=admin_headers,
                            timeout=10)
    if version == "":
        assert_error(response, 400, "MissingApiVersionParameter")
    else:
        error = assert_error(response, 400, "InvalidApiVersionParameter")
        assert STABLE in error["message"] and PREVIEW in error["message"]


def test_preview_only_path_is_404_on_stable_and_501_on_preview(fresh_emulator, admin_headers):
    # dashboards exists only in 2022-10-31-preview and is not emulated.
    assert_error(get(fresh_emulator, "dashboards", STABLE, admin_headers), 404, "NotFound")
    assert_error(get(fresh_emulator, "dashboards", PREVIEW, admin_headers), 501, "NotImplemented")


def test_version_restricted_route(fresh_emulator, admin_headers):
    from emulator.common import ok

    route = fresh_emulator.emulator.api_router.add("GET", "/api/previewThing", lambda ctx: ok({"v": 1}),
                                                   versions=[PREVIEW])
    try:
        assert get(fresh_emulator, "previewThing", PREVIEW, admin_headers).status_code == 200
        assert_error(get(fresh_emulator, "previewThing", STABLE, admin_headers), 404)
    finally:
        fresh_emulator.emulator.api_router.remove(route)


def test_unknown_path_and_method(fresh_emulator, admin_headers):
    assert_error(get(fresh_emulator, "nothingHere", STABLE, admin_headers), 404, "NotFound")
    response = requests.post(api_url(fresh_emulator.base_url, "devices", STABLE), headers=admin_headers, json={},
                             timeout=10)
    error = assert_error(response, 405, "MethodNotAllowed")
    assert "GET" in response.headers["Allow"] and "POST" in error["message"]
    response = requests.get(fresh_emulator.base_url + "/elsewhere", timeout=10)
    assert_error(response, 404)


def test_request_ids(fresh_emulator, admin_headers):
    first = get(fresh_emulator, headers=dict(admin_headers, **{"x-ms-client-request-id": "abc-123"}))
    second = get(fresh_emulator, headers=admin_headers)
    assert first.headers["x-ms-client-request-id"] == "abc-123"
    assert "x-ms-client-request-id" not in second.headers
    assert first.headers["x-ms-request-id"] != second.headers["x-ms-request-id"]
    # Errors carry them too.
    error = get(fresh_emulator, headers={"x-ms-client-request-id": "zz"})
    assert error.headers["x-ms-client-request-id"] == "zz" and error.headers["x-ms-request-id"]


def test_keep_alive_and_content_length(fresh_emulator, admin_headers):
    session = requests.Session()
    url = api_url(fresh_emulator.base_url, "devices", STABLE)
    for dummy in range(30):
        response = session.get(url, headers=admin_headers, timeout=10)
        assert response.headers["Content-Length"] == str(len(response.content))
        # HTTP/1.1 keep-alive: the server never asks the client to close the connection.
        assert response.headers.get("Connection", "").lower() != "close"
        assert response.raw.version == 11
    put = session.put(api_url(fresh_emulator.base_url, "devices/ka-1", STABLE), headers=admin_headers, json={},
                      timeout=10)
    delete = session.delete(api_url(fresh_emulator.base_url, "devices/ka-1", STABLE), headers=admin_headers,
                            timeout=10)
    assert put.status_code == 200 and delete.status_code == 204 and delete.content == b""
    assert session.get(url, headers=admin_headers, timeout=10).status_code == 200


def test_stats_count_requests_writes_and_methods(fresh_emulator, admin_headers, reader_headers):
    emu = fresh_emulator
    base = emu.base_url
    requests.get(api_url(base, "devices"), headers=admin_headers, timeout=10)
    requests.put(api_url(base, "devices/st-1"), headers=admin_headers, json={}, timeout=10)
    requests.put(api_url(base, "devices/st-2"), headers=reader_headers, json={}, timeout=10)  # 403
    requests.delete(api_url(base, "devices/st-1"), timeout=10)  # 401
    requests.patch(api_url(base, "devices/missing"), headers=admin_headers, json={}, timeout=10)  # 404, still a write
    requests.get(base + "/__emulator__/stats", timeout=10)  # not counted
    stats = emu.stats()
    assert stats["requests"] == 5
    assert stats["writes"] == 2
    assert stats["by_method"] == {"GET": 1, "PUT": 2, "DELETE": 1, "PATCH": 1}
    assert stats["throttled"] == 0
    over_http = requests.get(base + "/__emulator__/stats", timeout=10).json()
    assert over_http["requests"] == 5 and set(over_http) == {"requests", "writes", "by_method", "throttled",
                                                             "spec_violations"}
    assert requests.post(base + "/__emulator__/stats/reset", timeout=10).json()["requests"] == 0
    assert emu.stats()["requests"] == 0
