"""Exact outcomes under races, faults and hostile environments, through the real client over real HTTP.

The emulator stands in for the service; ``faultproxy`` sits in front of it where a test needs faults (scripted
here, so each case is deterministic) or TLS (a self-signed certificate made with ``cryptography`` per run).
"""

from __future__ import annotations

import threading

import certifi
import pytest
import requests

from ansible_collections.fleetops.iotcentral.plugins.module_utils import fleet
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient, IoTCentralError, RetryPolicy
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import build_client
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devicegroups import ensure_device_group
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import ensure_device
from ansible_collections.fleetops.iotcentral.plugins.module_utils.enrollmentgroups import ensure_enrollment_group
from ansible_collections.fleetops.iotcentral.plugins.module_utils.manifests import ensure_manifest

pytestmark = pytest.mark.integration

PREVIEW = "2022-10-31-preview"
THERMOSTAT = "dtmi:contoso:Thermostat;1"
# Three attempts per call, quick: the scripted faults below are sized to this.
QUICK = dict(max_retries=2, base_delay=0.01, max_delay=0.05, max_total=5.0, throttle_window=0.01)


@pytest.fixture(scope="module")
def emu():
    from emulator.server import start_emulator

    handle = start_emulator(port=0, rate_limit=0)
    yield handle
    handle.stop()


@pytest.fixture
def app(emu):
    requests.post(emu.base_url + "/__emulator__/reset", timeout=10).raise_for_status()
    return emu


@pytest.fixture
def proxy(app):
    from faultproxy import start_fault_proxy

    handle = start_fault_proxy(app.base_url, rate=0.0, seed=1)
    yield handle
    handle.stop()


def make_client(base_url, **kwargs):
    from emulator.defaults import ADMIN_TOKEN

    kwargs.setdefault("retry_policy", RetryPolicy(**QUICK))
    kwargs.setdefault("rate_limit", 0)
    kwargs.setdefault("timeout", 5)
    return IoTCentralClient(base_url, api_token=ADMIN_TOKEN, **kwargs)


def stored_device(app, device_id):
    from emulator.defaults import ADMIN_TOKEN

    resp = requests.get("%s/api/devices/%s?api-version=%s" % (app.base_url, device_id, PREVIEW),
                        headers={"Authorization": ADMIN_TOKEN}, timeout=10)
    return resp.json() if resp.status_code == 200 else None


# ------------------------------------------------------------------------------------------ item 1: two creators
class Gated(IoTCentralClient):
    """A client that runs ``hooks[(method, n)]`` before its n-th call of that method (to order two writers)."""

    def __init__(self, *args, hooks=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.hooks = hooks or {}
        self.counts = {}

    def request(self, method, path, *args, **kwargs):
        method = method.upper()
        self.counts[method] = self.counts.get(method, 0) + 1
        hook = self.hooks.get((method, self.counts[method]))
        if hook is not None:
            hook()
        result = super().request(method, path, *args, **kwargs)
        after = self.hooks.get(("after " + method, self.counts[method]))
        if after is not None:
            after()
        return result


def gated_client(base_url, hooks):
    from emulator.defaults import ADMIN_TOKEN

    return Gated(base_url, api_token=ADMIN_TOKEN, rate_limit=0, retry_policy=RetryPolicy(**QUICK), hooks=hooks)


def interleave(app, spec_a, spec_b):
    """A and B both find the device missing, A's PUT lands, then B's PUT replaces it, then A reads back.

    Returns (A's result or error, B's result or error)."""
    both_read = threading.Barrier(2, timeout=10)
    a_put, b_put = threading.Event(), threading.Event()
    results = {}
    a_hooks = {("GET", 1): None, ("after GET", 1): both_read.wait, ("after PUT", 1): a_put.set,
               ("GET", 2): lambda: b_put.wait(10)}
    b_hooks = {("after GET", 1): both_read.wait, ("PUT", 1): lambda: a_put.wait(10), ("after PUT", 1): b_put.set}

    def run(name, spec, hooks):
        try:
            results[name] = ensure_device(gated_client(app.base_url, hooks), spec)[0]
        except IoTCentralError as exc:
            results[name] = exc

    threads = [threading.Thread(target=run, args=("a", spec_a, a_hooks)),
               threading.Thread(target=run, args=("b", spec_b, b_hooks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results["a"], results["b"]


def test_a_create_replaced_by_a_concurrent_creator_is_re_converged(app):
    first, second = interleave(app, {"id": "race-1", "display_name": "A"}, {"id": "race-1", "enabled": False})
    assert (first, second) == ("created", "created")
    device = stored_device(app, "race-1")
    # B's PUT put displayName back to its default; A's read-back saw it and re-applied it, keeping B's field.
    assert device["displayName"] == "A" and device["enabled"] is False


def test_a_create_whose_field_another_creator_chose_differently_reports_the_conflict(app):
    first, second = interleave(app, {"id": "race-2", "display_name": "A"}, {"id": "race-2", "display_name": "B"})
    assert second == "created"
    assert isinstance(first, IoTCentralError)
    assert "another writer" in str(first) and "displayName is 'B'" in str(first)
    assert stored_device(app, "race-2")["displayName"] == "B"


def test_two_creators_started_together_both_keep_their_fields():
    """The issue's race: latency on every request, both tasks start together, round after round."""
    from emulator.server import start_emulator

    slow = start_emulator(port=0, rate_limit=0, latency_ms=60)
    try:
        for round_number in range(8):
            device_id = "together-%d" % round_number
            start = threading.Barrier(2, timeout=10)
            results = []

            def run(spec):
                client = make_client(slow.base_url)
                start.wait()
                results.append(ensure_device(client, spec)[0])

            threads = [threading.Thread(target=run, args=({"id": device_id, "display_name": "A"},)),
                       threading.Thread(target=run, args=({"id": device_id, "enabled": False},))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            device = stored_device(slow, device_id)
            assert (device["displayName"], device["enabled"]) == ("A", False), (round_number, results)
    finally:
        slow.stop()


def test_device_fleet_re_converges_creates_that_a_concurrent_creator_replaced(app, monkeypatch):
    from emulator.defaults import ADMIN_TOKEN

    confirm = fleet.confirm_creates

    def other_writer_then_confirm(client, outcomes, known, concurrency=fleet.DEFAULT_CONCURRENCY):
        # Another run, which also found these devices missing, PUTs them after ours: our fields go back to defaults.
        for number in range(5):
            requests.put("%s/api/devices/f-%d?api-version=%s" % (app.base_url, number, PREVIEW),
                         json={"simulated": True}, headers={"Authorization": ADMIN_TOKEN}, timeout=10).raise_for_status()
        return confirm(client, outcomes, known, concurrency)

    monkeypatch.setattr(fleet, "confirm_creates", other_writer_then_confirm)
    devices = [{"id": "f-%d" % number, "display_name": "Fleet %d" % number, "enabled": False} for number in range(5)]
    result = fleet.converge_fleet(make_client(app.base_url), {"devices": devices, "concurrency": 2})
    assert result["counts"]["created"] == 5 and result["counts"]["failed"] == 0, result["msg"]
    for number in range(5):
        device = stored_device(app, "f-%d" % number)
        assert (device["displayName"], device["enabled"], device["simulated"]) == ("Fleet %d" % number, False, True)


# ------------------------------------------------------------------------------------------ item 4: settle by re-reading
LANDED_THEN_LOST = ["reset_after", "5xx_before", "5xx_before"]   # applied, then every retry failed
NEVER_LANDED = ["5xx_before", "reset_before", "5xx_before"]        # no attempt reached the service
UNREADABLE = ["5xx_before"] * 3                                      # and the re-read fails as well


def test_a_device_write_whose_answer_was_lost_is_reported_from_a_re_read(proxy, app):
    client = make_client(proxy.base_url)
    proxy.script("PUT", "/devices/lost-1", LANDED_THEN_LOST)
    assert ensure_device(client, {"id": "lost-1", "display_name": "Lost"})[0] == "created"
    proxy.script("PATCH", "/devices/lost-1", LANDED_THEN_LOST)
    assert ensure_device(client, {"id": "lost-1", "enabled": False})[0] == "updated"
    proxy.script("DELETE", "/devices/lost-1", LANDED_THEN_LOST)
    assert ensure_device(client, {"id": "lost-1", "state": "absent"})[0] == "deleted"
    assert stored_device(app, "lost-1") is None


def test_a_device_write_that_never_landed_is_reported_as_not_applied(proxy, app):
    client = make_client(proxy.base_url)
    proxy.script("PUT", "/devices/lost-2", NEVER_LANDED)
    with pytest.raises(IoTCentralError, match="read back: the change was not applied"):
        ensure_device(client, {"id": "lost-2", "display_name": "Never"})
    assert stored_device(app, "lost-2") is None


def test_outcome_unknown_only_when_the_re_read_fails_too(proxy, app):
    client = make_client(proxy.base_url)
    ensure_device(client, {"id": "lost-3"})
    proxy.script("PATCH", "/devices/lost-3", LANDED_THEN_LOST)
    proxy.script("GET", "/devices/lost-3", ["pass"] + UNREADABLE)   # the first GET is ensure_device's own read
    with pytest.raises(IoTCentralError, match="outcome unknown") as caught:
        ensure_device(client, {"id": "lost-3", "display_name": "Unknown"})
    assert "\n" not in str(caught.value)


def test_groups_and_manifests_settle_lost_writes_too(proxy, app):
    client = make_client(proxy.base_url)
    proxy.script("PUT", "/deviceGroups/dg-1", LANDED_THEN_LOST)
    assert ensure_device_group(client, {"id": "dg-1", "filter": "SELECT * FROM devices"})[0] == "created"
    proxy.script("DELETE", "/deviceGroups/dg-1", LANDED_THEN_LOST)
    assert ensure_device_group(client, {"id": "dg-1", "state": "absent"})[0] == "deleted"

    proxy.script("PUT", "/enrollmentGroups/eg-1", LANDED_THEN_LOST)
    assert ensure_enrollment_group(client, {"id": "eg-1", "attestation": "symmetric_key"})[0] == "created"
    proxy.script("PATCH", "/enrollmentGroups/eg-1", LANDED_THEN_LOST)
    assert ensure_enrollment_group(client, {"id": "eg-1", "enabled": False})[0] == "updated"
    proxy.script("PATCH", "/enrollmentGroups/eg-1", NEVER_LANDED)
    with pytest.raises(IoTCentralError, match="not applied"):
        ensure_enrollment_group(client, {"id": "eg-1", "display_name": "Never"})

    data = {"modulesContent": {"$edgeAgent": {"properties.desired": {"schemaVersion": "1.1"}}}}
    proxy.script("PUT", "/deploymentManifests/m1", LANDED_THEN_LOST)
    assert ensure_manifest(client, {"id": "m1"}, data=data)[0] == "created"
    proxy.script("DELETE", "/deploymentManifests/m1", LANDED_THEN_LOST)
    assert ensure_manifest(client, {"id": "m1", "state": "absent"})[0] == "deleted"


# ------------------------------------------------------------------------------------------ items 2, 5, 6: TLS
@pytest.fixture
def tls_front(app, tmp_path):
    """The emulator behind an HTTPS front with a self-signed certificate: (base_url, cert path)."""
    from faultproxy import start_fault_proxy
    from faultproxy.tls import server_context

    context, cert = server_context(tmp_path)
    handle = start_fault_proxy(app.base_url, rate=0.0, ssl_context=context)
    yield handle.base_url, cert
    handle.stop()


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_ca_path_wins_over_the_environment_bundle(tls_front, monkeypatch, variable):
    base_url, cert = tls_front
    monkeypatch.setenv(variable, certifi.where())   # a bundle that does not trust our certificate
    client = make_client(base_url, ca_path=cert)
    assert client.get("/devices") == {"value": []}


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_validate_certs_false_wins_over_the_environment_bundle(tls_front, monkeypatch, variable):
    base_url, _cert = tls_front
    monkeypatch.setenv(variable, certifi.where())
    client = make_client(base_url, validate_certs=False)
    assert client.get("/devices") == {"value": []}


def test_the_environment_bundle_is_used_when_the_user_sets_nothing(tls_front, monkeypatch):
    base_url, cert = tls_front
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    assert make_client(base_url).get("/devices") == {"value": []}


def test_certificate_failure_fails_at_once_with_the_cause_and_the_fix(tls_front, monkeypatch):
    base_url, _cert = tls_front
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    slept = []
    client = make_client(base_url, retry_policy=RetryPolicy(), sleep=slept.append)
    with pytest.raises(IoTCentralError) as caught:
        client.get("/devices")
    text = str(caught.value)
    assert slept == [] and client.stats["requests"] == 1, "a certificate problem is not retried"
    assert "self-signed certificate" in text.replace("self signed", "self-signed")
    assert "ca_path" in text and "validate_certs" in text and "\n" not in text


def test_a_certificate_for_another_name_says_so(app, tmp_path):
    from faultproxy import start_fault_proxy
    from faultproxy.tls import server_context

    context, cert = server_context(tmp_path, name="other.example")
    handle = start_fault_proxy(app.base_url, rate=0.0, ssl_context=context)
    try:
        with pytest.raises(IoTCentralError, match="(?i)mismatch.*ca_path") as caught:
            make_client(handle.base_url, ca_path=cert).get("/devices")
        assert "TLS certificate verification failed" in str(caught.value)
    finally:
        handle.stop()


def test_a_ca_path_that_does_not_exist_is_one_line_naming_the_option(tmp_path):
    from emulator.defaults import ADMIN_TOKEN

    missing = str(tmp_path / "nowhere" / "ca.pem")
    with pytest.raises(ValueError) as caught:
        build_client({"base_url": "https://myapp.azureiotcentral.com", "api_token": ADMIN_TOKEN, "ca_path": missing,
                      "validate_certs": True})
    assert str(caught.value).startswith("ca_path ") and missing in str(caught.value) and "\n" not in str(caught.value)
    # Built some other way, the client still reports it as an error of the call, not a bare OSError.
    client = make_client("https://127.0.0.1:9", ca_path=missing)
    with pytest.raises(IoTCentralError, match="CA bundle"):
        client.get("/devices")
