"""Unit tests of the shared API client: paging, retries, rate limiting, errors, credentials."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ansible_collections.fleetops.iotcentral.plugins.module_utils import client as client_mod
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import (
    IoTCentralClient,
    IoTCentralError,
    RateLimiter,
    RetryPolicy,
    normalize_base_url,
    parse_retry_after,
    parse_sas_token,
)

FUTURE_MS = int((time.time() + 86400 * 365) * 1000)
TOKEN = "SharedAccessSignature sr=app&sig=c2VjcmV0LXNpZw&skn=admin&se=%d" % FUTURE_MS


class FakeResponse:
    def __init__(self, status, body=None, headers=None, reason="", text=None):
        self.status_code = status
        self._body = body
        self.headers = requests.structures.CaseInsensitiveDict(headers or {})
        self.reason = reason
        if text is not None:
            self.content = text.encode()
            self.text = text
        elif body is not None:
            self.text = json.dumps(body)
            self.content = self.text.encode()
        else:
            self.content = b""
            self.text = ""

    def json(self):
        return json.loads(self.text)


class FakeSession:
    """Replays scripted answers; records (method, url, headers, data) of every call."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []
        self.headers = {}

    def request(self, method, url, headers=None, data=None, timeout=None, allow_redirects=None, verify=None):
        self.calls.append({"method": method, "url": url, "headers": dict(headers), "data": data, "timeout": timeout,
                           "verify": verify})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self):
        pass


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(answers, rate_limit=None, **kwargs):
    clock = Clock()
    client = IoTCentralClient("https://myapp.azureiotcentral.com", api_token=TOKEN, rate_limit=rate_limit,
                              sleep=clock.sleep, clock=clock, **kwargs)
    session = FakeSession(answers)
    client._session = session
    return client, session, clock


def error_body(code, message, request_id="req-1"):
    return {"error": {"code": code, "message": message, "requestId": request_id, "time": "Sun, 22 Nov 2026 04:00:00 GMT"}}


# ----------------------------------------------------------------------------- requests and headers
def test_request_sends_version_auth_user_agent_and_fresh_request_ids():
    client, session, _unused = make_client([FakeResponse(200, {"id": "a"}), FakeResponse(200, {"id": "a"})])
    assert client.get("/devices/a") == {"id": "a"}
    client.get("/devices/a")
    first, second = session.calls
    assert first["url"] == "https://myapp.azureiotcentral.com/api/devices/a?api-version=2022-07-31"
    assert first["headers"]["Authorization"] == TOKEN
    assert first["headers"]["x-ms-client-request-id"] != second["headers"]["x-ms-client-request-id"]
    assert first["timeout"] == (10.0, 30.0)


def test_user_agent_carries_collection_version_from_galaxy_yml():
    import pathlib
    import re
    galaxy = pathlib.Path(__file__).resolve().parents[4] / "galaxy.yml"
    version = re.search(r"^version:\s*(\S+)", galaxy.read_text(), re.M).group(1)
    assert client_mod.USER_AGENT == "fleetops.iotcentral/" + version


def test_path_segments_are_percent_encoded():
    assert IoTCentralClient.path("deviceTemplates", "dtmi:contoso:Thermostat;1") == "/deviceTemplates/dtmi%3Acontoso%3AThermostat%3B1"
    assert IoTCentralClient.path("devices", "a/b?c") == "/devices/a%2Fb%3Fc"


def test_404_allowed_returns_none_otherwise_raises():
    client, _session, _unused = make_client([FakeResponse(404, error_body("NotFound", "no such device")),
                                             FakeResponse(404, error_body("NotFound", "no such device"))])
    assert client.get("/devices/x", allow_404=True) is None
    with pytest.raises(IoTCentralError) as info:
        client.get("/devices/x")
    assert info.value.status == 404


# ----------------------------------------------------------------------------- paging
def test_paging_follows_next_link_as_given_without_readding_params():
    link = "https://myapp.azureiotcentral.com/api/devices?api-version=2022-10-31-preview&maxpagesize=2&filter=x&%24skiptoken=abc"
    client, session, _unused = make_client([
        FakeResponse(200, {"value": [{"id": "a"}, {"id": "b"}], "nextLink": link}),
        FakeResponse(200, {"value": [{"id": "c"}]}),
    ])
    items = list(client.paged("/devices", params={"maxpagesize": 2, "filter": "x"}, api_version="2022-10-31-preview"))
    assert [i["id"] for i in items] == ["a", "b", "c"]
    assert session.calls[1]["url"] == link
    query = parse_qs(urlsplit(session.calls[1]["url"]).query)
    assert query["maxpagesize"] == ["2"] and query["api-version"] == ["2022-10-31-preview"]


def test_next_link_is_rebased_on_base_url_so_token_never_leaves_for_another_host():
    client, session, _unused = make_client([
        FakeResponse(200, {"value": [{"id": "a"}], "nextLink": "https://evil.example.com/api/devices?api-version=2022-07-31&%24skiptoken=z"}),
        FakeResponse(200, {"value": []}),
    ])
    list(client.paged("/devices"))
    assert urlsplit(session.calls[1]["url"]).netloc == "myapp.azureiotcentral.com"


def test_next_link_without_api_version_gets_one():
    client, session, _unused = make_client([
        FakeResponse(200, {"value": [{"id": "a"}], "nextLink": "https://myapp.azureiotcentral.com/api/devices?%24skiptoken=z"}),
        FakeResponse(200, {"value": []}),
    ])
    list(client.paged("/devices"))
    assert "api-version=2022-07-31" in session.calls[1]["url"]


def test_paging_limit_stops_early():
    client, session, _unused = make_client([
        FakeResponse(200, {"value": [{"id": "a"}, {"id": "b"}], "nextLink": "https://myapp.azureiotcentral.com/api/devices?x=1"}),
    ])
    assert [i["id"] for i in client.paged("/devices", limit=2)] == ["a", "b"]
    assert len(session.calls) == 1


def test_list_response_without_value_is_an_error():
    client, _session, _unused = make_client([FakeResponse(200, {"items": []})])
    with pytest.raises(IoTCentralError, match="no 'value'"):
        list(client.paged("/devices"))


def test_list_params_named_per_version():
    client, _session, _unused = make_client([])
    assert client.list_api_version() == "2022-10-31-preview"
    assert client.list_params(filter="f", order_by="displayName", page_size=10) == {
        "filter": "f", "orderby": "displayName", "maxpagesize": 10}
    pinned, _session, _unused = make_client([], api_version="2022-07-31")
    assert pinned.list_api_version() == "2022-07-31"
    assert pinned.list_params(filter="f", order_by="displayName", page_size=10) == {
        "$filter": "f", "$orderby": "displayName", "$top": 10}
    with pytest.raises(IoTCentralError, match="page_size"):
        client.list_params(page_size=101)


def test_preview_only_feature_refused_on_pinned_stable():
    pinned, _session, _unused = make_client([], api_version="2022-07-31")
    with pytest.raises(IoTCentralError, match="needs api_version 2022-10-31-preview"):
        pinned.require_preview("Deployment manifests")
    free, _session, _unused = make_client([])
    assert free.require_preview("Deployment manifests") == "2022-10-31-preview"


# ----------------------------------------------------------------------------- retries
def test_429_retried_after_at_least_one_window_then_succeeds():
    client, session, clock = make_client([
        FakeResponse(429, error_body("TooManyRequests", "slow down")),
        FakeResponse(200, {"id": "a"}),
    ])
    assert client.get("/devices/a") == {"id": "a"}
    assert len(session.calls) == 2
    assert clock.sleeps and clock.sleeps[0] >= 1.0
    assert client.stats["throttled"] == 1 and client.stats["retries"] == 1


def test_retry_after_header_is_honoured():
    client, _session, clock = make_client([
        FakeResponse(429, error_body("TooManyRequests", "slow down"), headers={"Retry-After": "3"}),
        FakeResponse(200, {"id": "a"}),
    ])
    client.get("/devices/a")
    assert clock.sleeps == [3.0]


def test_post_is_retried_on_429_but_not_on_503():
    client, session, _unused = make_client([
        FakeResponse(429, error_body("TooManyRequests", "slow down")),
        FakeResponse(503, error_body("ServiceUnavailable", "busy")),
    ])
    with pytest.raises(IoTCentralError) as info:
        client.post("/enrollmentGroups/g/certificates/primary/generateVerificationCode")
    assert info.value.status == 503
    assert len(session.calls) == 2


def test_idempotent_put_is_retried_on_5xx_and_read_errors():
    client, session, _unused = make_client([
        FakeResponse(502, text="bad gateway"),
        requests.exceptions.ReadTimeout("slow"),
        FakeResponse(200, {"id": "a"}),
    ])
    assert client.put("/devices/a", {"displayName": "A"}) == {"id": "a"}
    assert len(session.calls) == 3


def test_retries_are_bounded_in_count():
    answers = [FakeResponse(503, error_body("ServiceUnavailable", "busy")) for _attempt in range(10)]
    client, session, _unused = make_client(answers, retry_policy=RetryPolicy(max_retries=3, max_total=1000))
    with pytest.raises(IoTCentralError) as info:
        client.get("/devices/a")
    assert len(session.calls) == 4
    assert info.value.status == 503 and info.value.code == "ServiceUnavailable"


def test_retries_are_bounded_in_total_time():
    answers = [FakeResponse(503, error_body("ServiceUnavailable", "busy")) for _attempt in range(10)]
    client, session, clock = make_client(answers, retry_policy=RetryPolicy(max_retries=50, max_total=5))
    with pytest.raises(IoTCentralError, match="busy"):
        client.get("/devices/a")
    assert sum(clock.sleeps) <= 5
    assert len(session.calls) < 10


def test_throttling_ends_only_when_nothing_got_through_for_the_runs_stall_budget():
    answers = [FakeResponse(429, error_body("TooManyRequests", "slow")) for _attempt in range(30)]
    policy = RetryPolicy(max_retries=2, max_stall=10, throttle_window=2)
    client, session, clock = make_client(answers, retry_policy=policy)
    with pytest.raises(IoTCentralError, match="Throttled for 1[0-9] s without one request getting through") as info:
        client.get("/devices/a")
    # Not the per-request max_retries (2): throttling went on until the stall budget of 10 s was spent.
    assert len(session.calls) > 3 and 10 <= clock.now - 1000.0 < 30
    assert info.value.retry_budget_exhausted
    # The budget is the run's: the next throttled request fails at once instead of waiting again.
    calls = len(session.calls)
    with pytest.raises(IoTCentralError, match="retry budget"):
        client.get("/devices/b")
    assert len(session.calls) == calls + 1


def test_throttling_that_lets_some_requests_through_only_slows_the_run():
    slow = FakeResponse(429, error_body("TooManyRequests", "slow"))
    answers = []
    for number in range(10):
        answers += [slow, slow, slow, FakeResponse(200, {"id": str(number)})]
    client, _session, clock = make_client(answers, rate_limit=20,
                                          retry_policy=RetryPolicy(max_retries=1, max_stall=10, throttle_window=2))
    assert [client.get("/devices/%d" % number)["id"] for number in range(10)] == [str(n) for n in range(10)]
    # 30 throttled answers, each followed by at least the 2 s throttle window: far beyond max_stall, yet no failure.
    assert clock.now - 1000.0 >= 60 and client.stats["throttled"] == 30


def refused_connection():
    """What requests raises for a refused connection: ConnectionError(MaxRetryError(reason=NewConnectionError))."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/api/devices", NewConnectionError(None, "refused")))


def test_connect_error_retried_even_for_post_and_reported_without_secrets():
    refused = refused_connection()
    client, session, _unused = make_client([refused] * 7)
    with pytest.raises(IoTCentralError) as info:
        client.post("/devices/a/applyDeploymentManifest", {"id": "m"})
    assert len(session.calls) == 7
    text = str(info.value)
    assert "Connection error talking to myapp.azureiotcentral.com" in text
    assert "c2VjcmV0LXNpZw" not in text


def test_backoff_uses_full_jitter_and_grows():
    policy = RetryPolicy(base_delay=0.5, max_delay=30)
    assert policy.delay(0, rand=lambda: 1.0) == 0.5
    assert policy.delay(3, rand=lambda: 1.0) == 4.0
    assert policy.delay(3, rand=lambda: 0.0) == 0.0
    assert policy.delay(20, rand=lambda: 1.0) == 30
    assert policy.delay(0, status=429, rand=lambda: 0.0) == 1.0


def test_parse_retry_after_seconds_and_dates():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now=4) == 6.0


# ----------------------------------------------------------------------------- rate limiter
def test_rate_limiter_paces_to_rate_after_burst():
    clock = Clock()
    limiter = RateLimiter(20, clock=clock, sleep=clock.sleep)
    for _attempt in range(50):
        limiter.acquire()
    # Half a second's burst (10 tokens), then 40 more at 20/s.
    assert limiter.capacity == 10
    assert abs((clock.now - 1000.0) - 2.0) < 1e-6
    assert RateLimiter(1).capacity == 1 and RateLimiter(20, burst=20).capacity == 20


def test_rate_limiter_pause_holds_everyone_and_empties_bucket():
    clock = Clock()
    limiter = RateLimiter(20, clock=clock, sleep=clock.sleep)
    limiter.pause(1.5)
    limiter.acquire()
    assert clock.now - 1000.0 >= 1.5


def test_rate_limiter_halves_on_429_once_per_moment_and_recovers_additively():
    clock = Clock()
    limiter = RateLimiter(20, clock=clock, sleep=clock.sleep)
    limiter.throttled()
    limiter.throttled()  # the same moment's other 429s do not cut again
    assert limiter.rate == 10
    clock.now += 1.5
    limiter.throttled()
    assert limiter.rate == 5
    # Each second adds 2 requests/second back (a tenth of the ceiling), up to the ceiling.
    clock.now += 2.5
    limiter.acquire()
    assert limiter.rate == 10
    for _attempt in range(300):
        limiter.acquire()
    assert limiter.rate == 20
    for _attempt in range(20):
        clock.now += 1.0
        limiter.throttled()
    assert limiter.rate == 1.0  # never below a twentieth of the ceiling


def test_client_429_pauses_the_shared_limiter():
    client, _session, clock = make_client([
        FakeResponse(429, error_body("TooManyRequests", "slow")),
        FakeResponse(200, {"id": "a"}),
    ], rate_limit=20)
    client.get("/devices/a")
    assert clock.now - 1000.0 >= 1.0


# ----------------------------------------------------------------------------- errors
def test_error_carries_status_code_message_request_id_in_one_line():
    client, _session, _unused = make_client([FakeResponse(422, error_body("InvalidBody", "template is unknown", "rid-42"))])
    with pytest.raises(IoTCentralError) as info:
        client.put("/devices/a", {"template": "nope"})
    err = info.value
    assert (err.status, err.code, err.message, err.request_id) == (422, "InvalidBody", "template is unknown", "rid-42")
    assert str(err) == "PUT /api/devices/a failed: HTTP 422 InvalidBody: template is unknown (requestId rid-42)"
    assert "\n" not in str(err)


def test_401_names_the_credential_to_check():
    client, _session, _unused = make_client([FakeResponse(401, error_body("Unauthorized", "bad token"))])
    with pytest.raises(IoTCentralError) as info:
        client.get("/devices")
    assert "Check api_token (IOTCENTRAL_API_TOKEN)" in str(info.value)
    assert "c2VjcmV0LXNpZw" not in str(info.value)


def test_403_says_the_role_is_not_allowed():
    client, _session, _unused = make_client([FakeResponse(403, error_body("Forbidden", "nope"))])
    with pytest.raises(IoTCentralError, match="role may not do this"):
        client.delete("/devices/a")


def test_non_json_error_body_still_gives_a_message():
    oops = FakeResponse(500, text="<html>oops</html>", headers={"x-ms-request-id": "r9"})
    client, _session, _unused = make_client([oops] * 7)
    with pytest.raises(IoTCentralError) as info:
        client.get("/devices")
    assert info.value.status == 500 and info.value.request_id == "r9" and "oops" in str(info.value)


# ----------------------------------------------------------------------------- credentials and URLs
def test_sas_token_validation_messages():
    with pytest.raises(ValueError, match="starting with 'SharedAccessSignature sr='"):
        parse_sas_token("sr=a&sig=b")
    with pytest.raises(ValueError, match="missing its sig"):
        parse_sas_token("SharedAccessSignature sr=a&skn=x&se=1")
    assert parse_sas_token(TOKEN)["skn"] == "admin"


def test_expired_token_refused_before_any_call_without_echoing_it():
    expired = "SharedAccessSignature sr=app&sig=c2VjcmV0&skn=admin&se=1000000000000"
    with pytest.raises(ValueError) as info:
        IoTCentralClient("https://a.azureiotcentral.com", api_token=expired)
    assert "expired on 2001-09-09" in str(info.value)
    assert "c2VjcmV0" not in str(info.value)


def test_credentials_required_and_exclusive():
    with pytest.raises(ValueError, match="No credential"):
        IoTCentralClient("https://a.azureiotcentral.com")
    with pytest.raises(ValueError, match="mutually exclusive"):
        IoTCentralClient("https://a.azureiotcentral.com", api_token=TOKEN, bearer_token="x")


def test_bearer_prefix_is_tolerated():
    client = IoTCentralClient("https://a.azureiotcentral.com", bearer_token="Bearer abc")
    assert client._auth_header == ("bearer_token", "Bearer abc")


def test_unknown_api_version_is_refused():
    with pytest.raises(ValueError, match="not supported"):
        IoTCentralClient("https://a.azureiotcentral.com", api_token=TOKEN, api_version="2099-01-01")


def test_normalize_base_url():
    assert normalize_base_url(app="myapp") == "https://myapp.azureiotcentral.com"
    assert normalize_base_url(base_url="http://127.0.0.1:8080/api/") == "http://127.0.0.1:8080"
    assert normalize_base_url(app="x", base_url="https://y.azureiotcentral.us") == "https://y.azureiotcentral.us"
    with pytest.raises(ValueError, match="subdomain only"):
        normalize_base_url(app="myapp.azureiotcentral.com")
    with pytest.raises(ValueError, match="absolute http"):
        normalize_base_url(base_url="myapp")
    with pytest.raises(ValueError, match="Either app or base_url"):
        normalize_base_url()


def test_tls_verification_on_by_default_and_ca_path_used():
    client = IoTCentralClient("https://a.azureiotcentral.com", api_token=TOKEN)
    assert client._get_session().verify is True
    custom = IoTCentralClient("https://a.azureiotcentral.com", api_token=TOKEN, ca_path="/etc/ca.pem")
    assert custom._get_session().verify == "/etc/ca.pem"
    insecure = IoTCentralClient("https://a.azureiotcentral.com", api_token=TOKEN, validate_certs=False)
    assert insecure._get_session().verify is False


def test_reset_after_sending_is_not_retried_for_post():
    reset = requests.exceptions.ConnectionError(ConnectionResetError("connection reset by peer"))
    client, session, _unused = make_client([reset, FakeResponse(200, {})])
    with pytest.raises(IoTCentralError, match="Network error"):
        client.post("/enrollmentGroups/g/certificates/primary/verify", {"certificate": "x"})
    assert len(session.calls) == 1


def test_retry_after_beyond_the_bound_fails_at_once_with_the_hint():
    throttled = FakeResponse(429, error_body("TooManyRequests", "slow"), headers={"Retry-After": "300"})
    client, session, clock = make_client([throttled, FakeResponse(200, {})])
    with pytest.raises(IoTCentralError, match="Still throttled"):
        client.get("/devices")
    assert len(session.calls) == 1 and clock.sleeps == []


def test_repeated_next_link_stops_instead_of_looping():
    link = "https://myapp.azureiotcentral.com/api/devices?api-version=2022-07-31&%24skiptoken=same"
    page = FakeResponse(200, {"value": [{"id": "a"}], "nextLink": link})
    client, _session, _unused = make_client([page, page, page])
    with pytest.raises(IoTCentralError, match="same nextLink twice"):
        list(client.paged("/devices"))


@pytest.mark.parametrize("url", ["https://user:secret@myapp.azureiotcentral.com", "https://myapp.azureiotcentral.com?x=1"])
def test_base_url_with_credentials_or_query_is_refused_without_echoing_it(url):
    with pytest.raises(ValueError, match="must not carry a user name") as info:
        normalize_base_url(base_url=url)
    assert "secret" not in str(info.value)


def test_app_must_be_a_subdomain():
    with pytest.raises(ValueError, match="letters, digits and '-'"):
        normalize_base_url(app="my app")


@pytest.mark.parametrize("url", ["http://iotc.example.com", "http://10.0.0.5:8080", "http://[2001:db8::1]:80",
                                 "http://myapp.azureiotcentral.com"])
def test_plain_http_to_a_host_that_is_not_loopback_is_refused_unless_allowed(url):
    from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import check_transport
    from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import build_client

    with pytest.raises(ValueError, match="plain http.*allow_insecure_http: true"):
        build_client({"base_url": url, "api_token": TOKEN})
    check_transport(url, allow_insecure_http=True)
    assert build_client({"base_url": url, "api_token": TOKEN, "allow_insecure_http": True}).base_url == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://127.8.9.10", "http://localhost:1", "http://[::1]:8080",
                                 "https://iotc.example.com", "http://api.localhost"])
def test_https_and_loopback_http_need_nothing(url):
    from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import check_transport

    check_transport(url)


def test_tls_settings_go_with_every_request_so_the_environment_cannot_replace_them():
    for kwargs, verify in (({}, True), ({"ca_path": "/etc/ca.pem"}, "/etc/ca.pem"), ({"validate_certs": False}, False),
                           ({"validate_certs": False, "ca_path": "/etc/ca.pem"}, False)):
        client, session, _clock = make_client([FakeResponse(200, {})], **kwargs)
        client.get("/devices")
        assert session.calls[0]["verify"] == verify
