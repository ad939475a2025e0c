"""device_fleet under a storm of 429s, against the in-process emulator: the run slows down instead of ending.

The retry policy is shortened (0.2 s throttle window, two retries per request) so a storm of a couple of seconds
is as long, relative to it, as the 25-35 s storms that used to stop a fleet after one request ran out of retries.
"""

from __future__ import annotations

import pytest

from emulator import defaults
from emulator.server import start_emulator

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient, RetryPolicy
from ansible_collections.fleetops.iotcentral.plugins.module_utils.fleet import converge_fleet

FLEET = [{"id": "storm-%03d" % number, "display_name": "Storm %d" % number} for number in range(30)]


@pytest.fixture
def app():
    handle = start_emulator(port=0, rate_limit=0)
    yield handle
    handle.stop()


class StormAfterListing(IoTCentralClient):
    """Starts ``storm`` (a callable) once the fleet's listing has been read, so the storm meets the writes."""

    storm = None

    def request(self, method, path, *args, **kwargs):
        response = super().request(method, path, *args, **kwargs)
        if method == "GET" and self.storm is not None:
            self.storm()
            self.storm = None
        return response


def client_for(handle, max_stall):
    policy = RetryPolicy(max_retries=2, base_delay=0.05, throttle_window=0.2, max_stall=max_stall)
    return StormAfterListing(handle.base_url, api_token=defaults.ADMIN_TOKEN, rate_limit=20, retry_policy=policy,
                             pool_size=8)


def stored(handle):
    return dict((device["id"], device["displayName"]) for device in handle.store.collection("devices").values())


def test_a_storm_that_lets_some_requests_through_slows_the_fleet_but_every_device_lands(app):  # pylint: disable=redefined-outer-name
    app.emulator.limiter.storm(1.5, rate=3)
    client = client_for(app, max_stall=30)
    result = converge_fleet(client, {"devices": FLEET, "concurrency": 8})
    assert result["counts"]["created"] == 30 and result["errors"] == []
    assert result["requests"]["throttled"] > 0
    assert stored(app) == dict((item["id"], item["display_name"]) for item in FLEET)
    # The limiter adapted (halved at least once) instead of pressing on at 20/s.
    assert client.rate_limiter.rate < 20


def test_a_total_blackout_longer_than_the_stall_budget_stops_the_writes_with_the_reason(app):  # pylint: disable=redefined-outer-name
    client = client_for(app, max_stall=1.0)
    client.storm = lambda: app.emulator.limiter.storm(30, rate=0)
    result = converge_fleet(client, {"devices": FLEET[:20], "concurrency": 4, "list_concurrency": 1})
    assert result["counts"]["failed"] == 20 and stored(app) == {}
    assert "without one request getting through" in result["msg"]
    # The first failure stops the rest: they are reported as not sent, not each retried for another second.
    assert sum("not sent" in error["msg"] for error in result["errors"]) >= 15
