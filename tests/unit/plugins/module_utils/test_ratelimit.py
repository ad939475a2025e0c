"""The machine-wide budget (module_utils/ratelimit.py): one adaptive bucket per application for every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from ansible_collections.fleetops.iotcentral.tests.unit.plugins.module_utils.test_client import Clock

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
