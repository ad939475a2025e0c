"""The storm test hook: POST /__emulator__/storm makes the application throttle below its documented limit."""

import requests

from emulator.testing import PREVIEW


def test_storm_refuses_requests_for_a_while_even_with_limiting_off(fresh_emulator, client_for):
    client = client_for(PREVIEW)
    assert client.get("/devices").status_code == 200
    answer = requests.post(fresh_emulator.base_url + "/__emulator__/storm", json={"seconds": 30, "rate": 0}, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"seconds": 30, "rate": 0}
    throttled = client.get("/devices")
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "TooManyRequests"
    # A reset of the emulator ends the storm.
    requests.post(fresh_emulator.base_url + "/__emulator__/reset", timeout=10).raise_for_status()
    assert client.get("/devices").status_code == 200


def test_storm_at_a_rate_lets_that_many_through(fresh_emulator, client_for):
    client = client_for(PREVIEW)
    fresh_emulator.emulator.limiter.storm(30, rate=2)
    statuses = [client.get("/devices").status_code for _request in range(6)]
    assert statuses.count(200) in (2, 3) and statuses.count(429) >= 3


def test_storm_body_is_checked(fresh_emulator):
    for body in ({"seconds": -1}, {"seconds": "10"}, {"rate": -2}, {"seconds": True}, {"seconds": 4000}):
        answer = requests.post(fresh_emulator.base_url + "/__emulator__/storm", json=body, timeout=10)
        assert answer.status_code == 422, body
