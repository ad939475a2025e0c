"""Errors produced below the request pipeline (HTTP framing, request line, methods) and the
``Host``-less nextLink: every error is the spec's ``Error`` body with ``x-ms-error-code``, and every
``nextLink`` is an absolute URL."""

import email.utils
import json
import socket
from urllib.parse import urlsplit

import pytest

from emulator import defaults
from emulator.errors import ApiError
from emulator.server import start_emulator


def raw_request(host, port, text):
    """Send ``text`` as is and return (status, headers, body bytes); the server closes the connection."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect((host, port))
        sock.sendall(text.encode("latin-1"))
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, dummy, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, dummy, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def assert_json_error(status, headers, body, want_status, want_code):
    assert status == want_status, body
    assert headers["content-type"].startswith("application/json")
    assert headers["content-length"] == str(len(body))
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message", "requestId", "time"}
    assert error["code"] == want_code == headers["x-ms-error-code"]
    assert error["requestId"] == headers["x-ms-request-id"]
    assert email.utils.parsedate_to_datetime(error["time"]) is not None and error["time"].endswith(" GMT")
    return error


def test_bad_content_length_is_a_json_error_with_time(fresh_emulator):
    status, headers, body = raw_request("127.0.0.1", fresh_emulator.port,
                                        "PUT /api/devices/a?api-version=%s HTTP/1.1\r\nHost: x\r\n"
                                        "Content-Length: abc\r\n\r\n" % defaults.STABLE_VERSION)
    assert_json_error(status, headers, body, 400, "BadRequest")
    assert headers["connection"] == "close"


def test_bad_request_line_is_a_json_error(fresh_emulator):
    status, headers, body = raw_request("127.0.0.1", fresh_emulator.port, "GARBAGE\r\n\r\n")
    assert_json_error(status, headers, body, 400, "BadRequest")


def test_bad_http_version_is_a_json_error(fresh_emulator):
    status, headers, body = raw_request("127.0.0.1", fresh_emulator.port,
                                        "GET /api/devices HTTP/2.5\r\nHost: x\r\n\r\n")
    assert_json_error(status, headers, body, 505, "HTTPVersionNotSupported")


@pytest.mark.parametrize("method", ["TRACE", "FROB"])
def test_other_methods_go_through_the_pipeline(fresh_emulator, method):
    request = "%s /api/devices?api-version=%s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nConnection: close\r\n\r\n"
    status, headers, body = raw_request("127.0.0.1", fresh_emulator.port,
                                        request % (method, defaults.STABLE_VERSION, defaults.ADMIN_TOKEN))
    error = assert_json_error(status, headers, body, 405, "MethodNotAllowed")
    assert headers["allow"] == "GET" and method in error["message"]
    # Unauthenticated, it is refused like any other API request.
    status, headers, body = raw_request("127.0.0.1", fresh_emulator.port,
                                        "%s /api/devices HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % method)
    assert_json_error(status, headers, body, 401, "Unauthorized")


def test_codes_outside_the_table_come_from_the_reason_phrase():
    assert ApiError(414, "x").code == "RequestURITooLong"
    assert ApiError(431, "x").code == "RequestHeaderFieldsTooLarge"
    assert ApiError(404, "x").code == "NotFound"
    assert ApiError(299, "x").code == "Error"


def ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback")
def test_next_link_without_host_header_on_ipv6_is_absolute():
    emu = start_emulator(host="::1", port=0, rate_limit=0, spec_check=False)
    try:
        emu.emulator.seed_devices(2)
        status, dummy, body = raw_request("::1", emu.port, "GET /api/devices?api-version=%s&$top=1 HTTP/1.0\r\n"
                                          "Authorization: %s\r\n\r\n" % (defaults.STABLE_VERSION, defaults.ADMIN_TOKEN))
        assert status == 200
        link = urlsplit(json.loads(body)["nextLink"])
        assert link.scheme == "http" and link.hostname == "::1" and link.port == emu.port
        assert emu.base_url == "http://[::1]:%d" % emu.port
    finally:
        emu.stop()
