"""The machine-wide budget (module_utils/ratelimit.py): one adaptive bucket per application for every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from ansible_collections.fleetops.iotcentral.tests.unit.plugins.module_utils.test_client import (
    TOKEN,
    Clock,
    FakeResponse,
    FakeSession,
)

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient
from ansible_collections.fleetops.iotcentral.plugins.module_utils.ratelimit import (
    SHARED_BUDGET_ENV,
    RateLimiter,
    SharedBucket,
    shared_bucket_for,
    shared_bucket_path,
)

URL = "https://contoso-store.azureiotcentral.com"


def test_two_holders_of_the_file_share_one_budget(tmp_path):
    clock = Clock()
    path = str(tmp_path / "app.bucket")
    first = SharedBucket(path, 20, clock=clock, sleep=clock.sleep)
    second = SharedBucket(path, 20, clock=clock, sleep=clock.sleep)
    for _round in range(25):
        first.acquire()
        second.acquire()
    # 50 requests from two "processes": a burst of 10, then 40 at the application's 20/s, as if they were one.
    assert abs((clock.now - 1000.0) - 2.0) < 1e-6
    first.close()
    second.close()


def test_a_429_seen_by_one_process_slows_every_process(tmp_path):
    clock = Clock()
    path = str(tmp_path / "app.bucket")
    first = SharedBucket(path, 20, clock=clock, sleep=clock.sleep)
    second = SharedBucket(path, 20, clock=clock, sleep=clock.sleep)
    first.throttled()
    first.pause(1.0)
    assert second.rate() == 10
    second.acquire()
    assert clock.now - 1000.0 >= 1.0


def test_rate_limit_takes_a_share_of_the_shared_budget(tmp_path):
    clock = Clock()
    shared = SharedBucket(str(tmp_path / "app.bucket"), 20, clock=clock, sleep=clock.sleep)
    limiter = RateLimiter(5, clock=clock, sleep=clock.sleep, shared=shared)
    for _request in range(22):
        limiter.acquire()
    # This process keeps to its share (5/s after a burst of 2.5): the shared bucket is not what holds it back.
    assert clock.now - 1000.0 >= 3.89
    assert shared.rate() == 20


def test_sharing_is_on_by_default_and_can_be_turned_off(tmp_path):
    folder = str(tmp_path / "buckets")
    bucket = shared_bucket_for(URL, 20, directory=folder, environ={})
    assert isinstance(bucket, SharedBucket)
    bucket.acquire()
    bucket.close()
    assert shared_bucket_for(URL, 20, directory=folder, environ={SHARED_BUDGET_ENV: "false"}) is None
    # No secret and not even the host in the file system: a hash names the file, numbers fill it.
    path = shared_bucket_path(URL, folder)
    assert "contoso" not in path
    with open(path, encoding="ascii") as handle:
        content = handle.read()
    state = json.loads(content)
    assert sorted(state) == ["last_cut", "paused_until", "rate", "tokens", "updated"]
    assert all(isinstance(value, (int, float)) for value in state.values())
    assert os.stat(folder).st_mode & 0o777 == 0o700 and os.stat(path).st_mode & 0o777 == 0o600


def test_a_folder_others_can_write_is_not_trusted(tmp_path):
    folder = tmp_path / "open"
    folder.mkdir()
    folder.chmod(0o777)
    assert shared_bucket_for(URL, 20, directory=str(folder), environ={}) is None


def test_a_damaged_file_starts_a_fresh_bucket(tmp_path):
    clock = Clock()
    path = tmp_path / "app.bucket"
    path.write_text("not json")
    bucket = SharedBucket(str(path), 20, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    assert clock.now == 1000.0
    bucket.close()


CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.fleetops.iotcentral.plugins.module_utils.ratelimit import SharedBucket
bucket = SharedBucket(sys.argv[2], 100)
for _ in range(40):
    bucket.acquire()
print(time.time())
"""


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX file locks")
def test_real_processes_together_keep_to_the_rate(tmp_path):
    collections = next(p for p in sys.path if p.endswith(os.path.join(".build", "dev")))
    path = str(tmp_path / "app.bucket")
    started = time.time()
    children = [subprocess.Popen([sys.executable, "-c", CHILD, collections, path], stdout=subprocess.PIPE, text=True)
                for _child in range(3)]
    finished = [float(child.communicate(timeout=60)[0]) for child in children]
    # 120 requests at 100/s with a burst of 50: at least 0.7 s together (each alone would need 0 s of waiting).
    assert max(finished) - started >= 0.7


def emulator_refusals(arrivals):
    """How many of these arrival times the emulator's bucket (the service's: 20/s, a second's burst) refuses."""
    from emulator.ratelimit import TokenBucket  # pylint: disable=import-outside-toplevel

    clock = Clock()
    clock.now = min(arrivals)
    service = TokenBucket(20, 20, clock=clock)
    refused = 0
    for arrival in sorted(arrivals):
        clock.now = arrival
        refused += not service.try_acquire()[0]
    return refused


def test_separate_holders_of_one_file_stay_within_what_the_service_counts(tmp_path):
    clock = Clock()
    path = str(tmp_path / "app.bucket")
    holders = [SharedBucket(path, 20, clock=clock, sleep=clock.sleep) for _process in range(5)]
    granted = []
    for round_number in range(60):
        for holder in holders[:1 + round_number % 5]:
            holder.acquire()
            granted.append(clock.now)
    # At most 10 + 20 t in any window of t seconds: the service (20 + 20 t) refuses none, even when every request
    # arrives up to 0.45 s after its token, in the worst order (the earliest tokens the latest).
    assert emulator_refusals(granted) == 0
    delayed = [granted_at + 0.45 * (1.0 - index / len(granted)) for index, granted_at in enumerate(granted)]
    assert emulator_refusals(delayed) == 0
    for holder in holders:
        holder.close()


def test_a_first_request_takes_its_token_only_when_it_is_ready_to_leave():
    """Many processes starting at once (forks) each took a token, then spent a while importing requests and building
    their session: requests that left late arrived together with later ones, beyond the budget the buckets gave out
    (429s at forks 20). Setup first, token after: every request leaves the moment its token is taken."""
    clock = Clock()
    client = IoTCentralClient(URL, api_token=TOKEN, rate_limit=20, sleep=clock.sleep, clock=clock, shared_budget=False)
    session = FakeSession([FakeResponse(200, {"id": "a"}), FakeResponse(200, {"id": "a"})])
    tokens, departures = [], []
    take_token, send = client.rate_limiter.acquire, session.request

    def timed_take_token():
        take_token()
        tokens.append(clock.now)

    def timed_send(*args, **kwargs):
        departures.append(clock.now)
        return send(*args, **kwargs)

    def build_session():
        if client._session is None:  # pylint: disable=protected-access
            clock.now += 0.4  # importing requests in a busy process
            client._session = session  # pylint: disable=protected-access
        return client._session  # pylint: disable=protected-access

    client.rate_limiter.acquire = timed_take_token
    session.request = timed_send
    client._get_session = build_session  # pylint: disable=protected-access
    client.get("/devices/a")
    client.patch("/devices/a", {"displayName": "A"})
    assert departures == tokens == [1000.4, 1000.4]
