"""A job versus per-device PATCHes, for 1,000 and 10,000 devices, against an emulator enforcing 20 requests/second.

Both set ``targetTemperature`` on every thermostat of a device group:

* job: ``fleetops.iotcentral.job``'s logic (module_utils ``ensure_job``, run in-process): read the group and the
  template, one PUT, then one GET per second until the job ends. Its wall time is the emulator's job model
  (a unit of 100 devices per 0.2 s of job time, ``POST /__emulator__/jobs/clock`` ``batchSeconds``), not a
  measurement of the real service's job throughput, which Microsoft does not document.
* PATCHes: one ``PATCH /devices/{id}/properties`` per device through the same client, 8 threads sharing its
  rate limiter (how ``device_fleet`` sends its writes; ``device_fleet`` has no ``properties`` option on this branch).

``FLEETOPS_BENCH_JOB_SIZES=1000`` limits the sizes (10,000 PATCHes take over 8 minutes at the service's rate).
Every size runs at each ``--latency`` (default 0 and 80 ms per request); ``--scale`` shrinks the sizes.
Figures are printed, never asserted.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import SERVICE_RATE, TEMPLATE, bench_parser, check_violations, for_each_latency, machine, row, scaled  # noqa: E402

SIZES = [int(size) for size in os.environ.get("FLEETOPS_BENCH_JOB_SIZES", "1000,10000").split(",") if size]
# Small groups, to find where a job starts to beat per-device PATCHes (FLEETOPS_BENCH_JOB_CROSSOVER= to skip).
CROSSOVER = [int(size) for size in os.environ.get("FLEETOPS_BENCH_JOB_CROSSOVER", "10,25,50,100,200").split(",") if size]
GROUP = "bench-thermostats"
WORKERS = 8


def client_for(emulator):
    from emulator.defaults import ADMIN_TOKEN  # pylint: disable=import-outside-toplevel
    from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import (  # pylint: disable=import-outside-toplevel
        IoTCentralClient,
    )

    return IoTCentralClient(emulator.base_url, api_token=ADMIN_TOKEN, rate_limit=SERVICE_RATE, pool_size=WORKERS)


def prepare(emulator, size):
    emulator.reset()
    emulator.seed(size, prefix="th", template=TEMPLATE)
    emulator.session.post(emulator.base_url + "/__emulator__/jobs/clock", json={"batchSeconds": 0.2},
                          timeout=30).raise_for_status()
    client = client_for(emulator)
    client.put("/deviceGroups/" + GROUP, {"displayName": "Bench", "filter": "SELECT * FROM devices"})
    client.close()
    emulator.reset_stats()


def run_job(emulator, size, value, poll_interval=1):
    from ansible_collections.fleetops.iotcentral.plugins.module_utils.jobs import ensure_job  # pylint: disable=import-outside-toplevel

    client = client_for(emulator)
    params = {"id": "bench-%d-%s" % (size, str(value).replace(".", "-")), "group": GROUP, "state": "present",
              "data": [{"type": "property", "target": TEMPLATE, "path": "targetTemperature", "value": value}],
              "wait": True, "wait_timeout": 3600, "poll_interval": poll_interval, "rerun_failed": False}
    started = time.monotonic()
    result = ensure_job(client, params)
    wall = time.monotonic() - started
    client.close()
    return wall, result


def run_patches(emulator, size, value):
    client = client_for(emulator)
    ids = ["th-%05d" % number for number in range(1, size + 1)]

    def patch(device_id):
        # The service answers a property write 202 Accepted (the device applies it later).
        client.request("PATCH", "/devices/%s/properties" % device_id, body={"targetTemperature": value},
                       expected=(200, 202))

    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(patch, ids))
    wall = time.monotonic() - started
    client.close()
    return wall


def main():
    args = bench_parser(__doc__).parse_args()
    sizes = [scaled(size, args) for size in SIZES]
    crossover = [scaled(size, args) for size in CROSSOVER]
    print("== bench_jobs: a job versus per-device PATCHes (emulator at 20 requests/second)")
    print("machine: " + machine())
    for_each_latency(args, lambda emulator: run_scenarios(emulator, sizes, crossover))


def run_scenarios(emulator, sizes, crossover):
    for size in sizes:
        prepare(emulator, size)
        wall, result = run_job(emulator, size, 21.5)
        stats = emulator.stats()
        row("job, %d devices (%s)" % (size, result["status"]), wall, stats, result["progress"]["failed"])
        check_violations(stats)
        emulator.reset_stats()
        wall, result = run_job(emulator, size, 21.5)
        stats = emulator.stats()
        row("  same job task again (starts nothing)", wall, stats, result["progress"]["failed"])
        emulator.reset_stats()
        wall = run_patches(emulator, size, 22.5)
        stats = emulator.stats()
        row("PATCH per device, %d devices" % size, wall, stats)
        check_violations(stats)
    if crossover:
        print("\ncrossover: wall s of a job (poll_interval 1 s / 5 s) and of per-device PATCHes, with requests")
        print("%8s %14s %14s %16s" % ("devices", "job, poll 1 s", "job, poll 5 s", "PATCH per device"))
    for size in crossover:
        prepare(emulator, size)
        figures = []
        for poll in (1, 5):
            emulator.reset_stats()
            wall, _result = run_job(emulator, size, 21.5 + poll, poll_interval=poll)
            figures.append((wall, emulator.stats()["requests"]))
        emulator.reset_stats()
        wall = run_patches(emulator, size, 20.5)
        figures.append((wall, emulator.stats()["requests"]))
        check_violations(emulator.stats())
        print("%8d %14s %14s %16s" % ((size,) + tuple("%6.2f (%4d)" % figure for figure in figures)), flush=True)


if __name__ == "__main__":
    main()
