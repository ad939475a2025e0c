"""device_fleet, the group modules and the inventory through the seeded fault proxy (tests/faultproxy).

At a fixed fault rate, the emulator's end state must equal the declaration, every mismatch must be reported and
every reported failure must be true. ``make bench`` runs the same scenario larger (tests/benchmarks/bench_faults.py).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

FAULT_RATE = 0.15
SEED = 20261201
DEVICES = 30


@pytest.fixture(scope="module")
def faulty():
    from emulator.server import start_emulator
    from faultproxy import start_fault_proxy

    emulator = start_emulator(port=0, rate_limit=0)
    # Answers are held past the tasks' 2-second timeout.
    proxy = start_fault_proxy(emulator.base_url, rate=FAULT_RATE, seed=SEED, hold_seconds=2.5)
    yield emulator, proxy
    proxy.stop()
    emulator.stop()


def test_fleet_and_groups_converge_exactly_under_faults(faulty):
    from faultproxy.scenario import FaultRun, check_inventory

    emulator, proxy = faulty
    run = FaultRun(emulator.base_url, proxy, count=DEVICES, timeout=2.0)
    for step in ("create", "update"):
        figures, _results = run.run_step(step)
        assert figures["faults"] > 0, figures
        assert figures["unreported"] == [] and figures["false_failures"] == [], figures
        assert figures["mismatches"] == 0, figures
        assert not figures["fleet_failed_task"], figures

    code, hosts, devices = check_inventory(proxy, emulator.base_url)
    assert proxy.stats()["faults"] > 0
    # A complete inventory, or a failed source with no host: never a part of the fleet.
    assert (code == 0 and hosts == devices) or (code != 0 and hosts == set()), (code, len(hosts), len(devices))
    assert code == 0
    assert emulator.stats()["spec_violations"] == []
