"""device_fleet end to end: real ansible-playbook runs against an emulator over HTTP.

These tests get their own emulator without a server-side rate limit (the module still paces itself to 20
requests/second), so their time does not depend on what other tests sent just before.
"""

from __future__ import annotations

import pytest


pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def emulator():
    """Overrides the session emulator of conftest.py for this module: same API, no server-side rate limit."""
    from emulator.server import start_emulator

    handle = start_emulator(port=0, rate_limit=0)
    yield handle
    handle.stop()


def test_fleet_lifecycle(run_playbook, fresh_emulator):
    result = run_playbook("device_fleet.yml")
    assert result.rc == 0, result.output
    assert result.recap()["failed"] == 0
    stats = fresh_emulator.stats()
    assert stats["spec_violations"] == []
    assert stats["throttled"] == 0


def test_fleet_bad_input_fails_cleanly_and_changes_nothing(run_playbook, fresh_emulator):
    result = run_playbook("device_fleet_bad_input.yml")
    assert result.rc == 0, result.output
    assert "Traceback" not in result.output
    assert fresh_emulator.stats()["spec_violations"] == []


def test_second_run_of_the_demo_fleet_is_idempotent(run_playbook, fresh_emulator):
    # A smaller fleet than the demo's 200 keeps the test quick; the playbook is the same.
    first = run_playbook("../../../demo/fleet.yml", extra_vars={"demo_fleet_size": 40})
    assert first.rc == 0, first.output
    stats = fresh_emulator.stats()
    assert stats["writes"] == 40
    second = run_playbook("../../../demo/fleet.yml", extra_vars={"demo_fleet_size": 40})
    assert second.rc == 0, second.output
    assert second.recap()["changed"] == 0
    after = fresh_emulator.stats()
    assert after["writes"] == stats["writes"]
    assert after["spec_violations"] == []
