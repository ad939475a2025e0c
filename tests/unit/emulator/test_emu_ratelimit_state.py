"""Rate limiting (deterministic clock), latency, state file persistence, seeding, templates file and the CLI."""

import json
import os
import signal
import time

import pytest
import requests

from emulator import defaults
from emulator.app import Config
from emulator.ratelimit import RateLimiter, TokenBucket
from emulator.server import start_emulator
from emulator.testing import PREVIEW, STABLE, ApiClient, api_url, start_cli_emulator


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def test_token_bucket_capacity_and_refill():
    clock = FakeClock()
    bucket = TokenBucket(20, 20, clock)
    assert all(bucket.try_acquire()[0] for dummy in range(20))
    allowed, wait = bucket.try_acquire()
    assert not allowed and wait == pytest.approx(0.05)
    clock.advance(0.05)
    assert bucket.try_acquire()[0]
    assert not bucket.try_acquire()[0]
    clock.advance(100)  # Refill is capped at the capacity.
    assert sum(bucket.try_acquire()[0] for dummy in range(25)) == 20


def test_rate_limiter_is_per_app_and_can_be_off():
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock)
    assert [limiter.check("a")[0] for dummy in range(3)] == [True, True, False]
    assert limiter.check("b")[0]
    off = RateLimiter(0, clock=clock)
    assert all(off.check("a")[0] for dummy in range(1000))


@pytest.fixture
def limited():
    clock = FakeClock()
    with start_emulator(rate_limit=20, rate_clock=clock) as emu:
        yield emu, clock


def test_429_after_the_bucket_empties(limited):
    emu, clock = limited
    client = ApiClient(emu.base_url, STABLE)
    statuses = [client.get("devices").status_code for dummy in range(25)]
    assert statuses == [200] * 20 + [429] * 5
    response = client.get("devices")
    error = response.json()["error"]
    assert response.status_code == 429 and error["code"] == "TooManyRequests"
    assert response.headers["x-ms-error-code"] == "TooManyRequests"
    assert "Retry-After" not in response.headers
    stats = emu.stats()
    assert stats["throttled"] == 6 and stats["requests"] == 26
    clock.advance(0.5)  # 10 tokens
    assert [client.get("devices").status_code for dummy in range(11)] == [200] * 10 + [429]
    # Throttled writes are not counted as writes.
    emu.reset_stats()
    assert client.put("devices/rl", json={}).status_code == 429
    assert emu.stats()["writes"] == 0 and emu.stats()["by_method"] == {"PUT": 1}
    # /__emulator__ is never limited.
    assert all(requests.get(emu.base_url + "/__emulator__/stats", timeout=10).ok for dummy in range(30))


def test_retry_after_option():
    clock = FakeClock()
    with start_emulator(rate_limit=1, rate_clock=clock, retry_after=True) as emu:
        client = ApiClient(emu.base_url, STABLE)
        client.get("devices")
        response = client.get("devices")
        assert response.status_code == 429 and response.headers["Retry-After"] == "1"


def test_latency_is_added_to_api_requests_only():
    # A latency far above any scheduling delay, so a loaded machine cannot blur the two cases.
    with start_emulator(rate_limit=0, latency_ms=1500) as emu:
        client = ApiClient(emu.base_url, STABLE)
        started = time.monotonic()
        client.get("devices")
        assert time.monotonic() - started >= 1.5
        started = time.monotonic()
        requests.get(emu.base_url + "/__emulator__/stats", timeout=10)
        assert time.monotonic() - started < 1.5


def test_config_refuses_non_loopback_and_negative_values():
    for host in ("0.0.0.0", "192.168.1.10", "example.com", "::"):
        with pytest.raises(ValueError):
            Config(host=host)
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1"):
        Config(host=host)
    with pytest.raises(ValueError):
        Config(rate_limit=-1)


def test_state_file_round_trip(tmp_path):
    state = tmp_path / "sub" / "state.json"
    with start_emulator(rate_limit=0, state_file=str(state)) as emu:
        client = ApiClient(emu.base_url, PREVIEW)
        device = client.put("devices/keep-me", json={"displayName": "Kept", "template": "dtmi:contoso:Thermostat;1",
                                                     "organizations": ["seattle"],
                                                     "deploymentManifest": {"data": {"a": 1}}}).json()
        credentials = client.get("devices/keep-me/credentials").json()
        requests.post(emu.base_url + "/__emulator__/devices/keep-me/provision", timeout=10)
        client.put("devices/gone", json={})
        client.delete("devices/gone")
        assert state.exists()
        assert not [p for p in state.parent.iterdir() if p.name != "state.json"], "temporary files left behind"
        saved = json.loads(state.read_text())
        assert [d["id"] for d in saved["collections"]["devices"]] == ["keep-me"]
    with start_emulator(rate_limit=0, state_file=str(state)) as emu:
        client = ApiClient(emu.base_url, PREVIEW)
        again = client.get("devices/keep-me").json()
        assert again == dict(device, provisioned=True, etag=again["etag"])
        assert client.get("devices/keep-me/credentials").json() == credentials
        assert client.get("devices/gone").status_code == 404
        # Etags keep moving forward after a restart.
        assert client.patch("devices/keep-me", json={}).json()["etag"] not in (device["etag"], again["etag"])


def test_state_file_is_not_written_by_reads_or_failures(tmp_path):
    state = tmp_path / "state.json"
    with start_emulator(rate_limit=0, state_file=str(state)) as emu:
        client = ApiClient(emu.base_url, STABLE)
        client.put("devices/a", json={})
        stamp = state.stat().st_mtime_ns
        time.sleep(0.01)
        client.get("devices")
        client.put("devices/b", json={"template": "dtmi:missing;1"})
        assert state.stat().st_mtime_ns == stamp


def test_corrupt_state_file_fails_loudly(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{not json")
    with pytest.raises(ValueError):
        start_emulator(rate_limit=0, state_file=str(state))


def test_seed_devices_option_and_state_interplay(tmp_path):
    state = tmp_path / "state.json"
    with start_emulator(rate_limit=0, seed_devices=7, seed_prefix="boot", state_file=str(state)) as emu:
        ids = [d["id"] for d in ApiClient(emu.base_url, STABLE).list_all("devices")]
        assert ids == ["boot-%05d" % i for i in range(1, 8)]
        ApiClient(emu.base_url, STABLE).delete("devices/boot-00001")
    # Seeding again on top of a state file creates only the missing ids.
    with start_emulator(rate_limit=0, seed_devices=7, seed_prefix="boot", state_file=str(state)) as emu:
        assert len(emu.store.collections["devices"]) == 7


def test_templates_file(tmp_path):
    extra = [{"@id": "dtmi:fleetops:Pump;1", "displayName": "Pump"},
             {"@id": "dtmi:fleetops:EdgeBox;2", "@type": ["ModelDefinition", "DeviceModel", "EdgeModel"],
              "capabilityModel": {"@type": "Interface", "contents": []}}]
    path = tmp_path / "templates.json"
    path.write_text(json.dumps(extra))
    with start_emulator(rate_limit=0, templates_file=str(path)) as emu:
        client = ApiClient(emu.base_url, PREVIEW)
        pump = client.get("deviceTemplates/dtmi%3Afleetops%3APump%3B1").json()
        assert pump["@type"] == ["ModelDefinition", "DeviceModel"] and "capabilityModel" in pump and pump["etag"]
        device = client.put("devices/box", json={"template": "dtmi:fleetops:EdgeBox;2"}).json()
        assert device["type"] == ["iotEdge"]
    for bad in ({"displayName": "no id"}, [{"@id": "x", "@type": "notalist"}], [{"@id": "x", "capabilityModel": 1}]):
        path.write_text(json.dumps(bad if isinstance(bad, list) else [bad]))
        with pytest.raises(ValueError):
            start_emulator(rate_limit=0, templates_file=str(path))


def test_seeding_10000_devices_pages_completely_and_filters_server_side():
    # Correctness only: how fast seeding and paging are is a benchmark's business (tests/benchmarks),
    # not a timed assertion that fails on a loaded machine.
    with start_emulator(rate_limit=0, seed_devices=10000) as emu:
        client = ApiClient(emu.base_url, PREVIEW)
        devices = client.list_all("devices", params={"maxpagesize": 100})
        assert len(devices) == 10000 and len({d["id"] for d in devices}) == 10000
        filtered = client.list_all("devices", params={"maxpagesize": 100, "filter": "id ge 'dev-09901'",
                                                      "orderby": "displayName desc"})
        assert len(filtered) == 100
        assert all(device["id"] >= "dev-09901" for device in filtered)
        names = [device["displayName"] for device in filtered]
        assert names == sorted(names, reverse=True)
        assert emu.stats()["spec_violations"] == []


# CLI ----------------------------------------------------------------------------------------------

def test_cli_runs_writes_port_file_and_stops_on_sigterm(tmp_path):
    port_file = tmp_path / "port"
    state = tmp_path / "state.json"
    with start_cli_emulator("--port-file", str(port_file), "--state-file", str(state), "--seed-devices", "3",
                            "--rate-limit", "0") as cli:
        assert cli.base_url == "http://127.0.0.1:%d" % cli.port
        assert port_file.read_text().strip() == str(cli.port)
        response = requests.get(api_url(cli.base_url, "devices", STABLE),
                                headers={"Authorization": defaults.ADMIN_TOKEN}, timeout=10)
        assert len(response.json()["value"]) == 3
        cli.process.send_signal(signal.SIGTERM)
        assert cli.process.wait(10) == 0
        cli.stop()
        assert cli.remaining_stdout == ""  # Exactly one line was printed.
    assert len(json.loads(state.read_text())["collections"]["devices"]) == 3


def test_cli_sigint_and_no_spec_check(tmp_path):
    with start_cli_emulator("--no-spec-check", "--app", "demo") as cli:
        info = requests.get(cli.base_url + "/__emulator__/info", timeout=10).json()
        assert info["specCheck"] is False and info["app"] == "demo"
        cli.process.send_signal(signal.SIGINT)
        assert cli.process.wait(10) == 0


def test_cli_refuses_non_loopback():
    with pytest.raises(RuntimeError) as info:
        start_cli_emulator("--host", "0.0.0.0")
    assert "loopback" in str(info.value)


def test_cli_uses_spec_dir_option(tmp_path):
    with pytest.raises(RuntimeError):
        start_cli_emulator("--spec-dir", str(tmp_path))  # An explicit folder without the specs is an error.
    with start_cli_emulator("--spec-dir", os.path.join(os.path.dirname(defaults.__file__), "..", "..", "..",
                                                       "shared", "specs", "iotcentral")) as cli:
        assert requests.get(cli.base_url + "/__emulator__/info", timeout=10).json()["specCheck"] is True
