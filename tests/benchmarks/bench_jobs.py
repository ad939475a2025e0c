"""A job versus device_fleet ``properties``, for 1,000 and 10,000 devices, against an emulator enforcing 20
requests/second.

Both set ``targetTemperature`` on every seeded thermostat, each as one ``ansible-playbook`` run (start-up included,
like the other fleet benchmarks):

* job (``playbooks/job.yml``): one ``fleetops.iotcentral.job`` task on a device group of all of them: read the job
  id, the group and the template, one PUT, then one GET per ``poll_interval`` (1 s) until the job ends. Its wall
  time is mostly the emulator's job model (a unit of 100 devices per 0.2 s of job time, ``POST
  /__emulator__/jobs/clock`` ``batchSeconds``), not a measurement of the real service's job throughput, which
  Microsoft does not document.
* device_fleet ``properties`` (``playbooks/fleet.yml``, ``defaults.properties``): the listing pages, one
  ``GET .../properties`` per device (no listing shows property values) and one ``PATCH`` per device whose value
  differs (every device here: each run sets a new value).

    .venv/bin/python tests/benchmarks/bench_jobs.py                                          # everything
    .venv/bin/python tests/benchmarks/bench_jobs.py --sizes 1000 --crossover "" --latency 0  # about 2 minutes

The 10,000-device device_fleet run takes about 17 minutes (20,000 requests at 20 per second). Every size runs
at each ``--latency`` (default 0 and 80 ms per request); ``--scale`` shrinks the sizes. Figures are printed,
never asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (TEMPLATE, Playbook, bench_parser, check_violations, fleet, for_each_latency,  # noqa: E402
                      machine, result_of, row, scaled)

GROUP = "bench-thermostats"
PREFIX = "th"


def sizes(text):
    return [int(size) for size in text.split(",") if size.strip()]


def prepare(emulator, size):
    """``size`` thermostats (``th-00001``...), jobs at the default pace, and a device group of all of them."""
    from emulator.defaults import ADMIN_TOKEN  # pylint: disable=import-outside-toplevel

    emulator.reset()
    emulator.seed(size, prefix=PREFIX, template=TEMPLATE)
    emulator.session.post(emulator.base_url + "/__emulator__/jobs/clock", json={"batchSeconds": 0.2},
                          timeout=30).raise_for_status()
    emulator.session.put(emulator.base_url + "/api/deviceGroups/" + GROUP, params={"api-version": "2022-07-31"},
                         headers={"Authorization": ADMIN_TOKEN},
                         json={"displayName": "Bench", "filter": "SELECT * FROM devices"}, timeout=30).raise_for_status()
    emulator.reset_stats()


def run_job(emulator, playbook, size, value, poll_interval=1):
    """One job task setting ``value``; returns (wall s, the task's outcome, the emulator's stats)."""
    emulator.reset_stats()
    wall, out = playbook.run("job.yml", {
        "job_id": "bench-%d-%s-%s" % (size, str(value).replace(".", "-"), poll_interval), "job_group": GROUP,
        "job_data": [{"type": "property", "target": TEMPLATE, "path": "targetTemperature", "value": value}],
        "job_poll_interval": poll_interval})
    return wall, result_of(out), emulator.stats()


def run_fleet(emulator, playbook, size, value):
    """One device_fleet task setting ``value`` through ``defaults.properties``; returns (wall s, result, stats)."""
    emulator.reset_stats()
    wall, out = playbook.run("fleet.yml", {
        "fleet_devices": fleet(size, prefix=PREFIX),
        "fleet_defaults": {"template": TEMPLATE, "properties": {"targetTemperature": value}}})
    return wall, result_of(out), emulator.stats()


def compare(emulator, playbook, size):
    prepare(emulator, size)
    wall, result, stats = run_job(emulator, playbook, size, 21.5)
    row("job, %d devices (%s)" % (size, result["status"]), wall, stats, result["progress"]["failed"])
    check_violations(stats)
    job_wall, job_requests = wall, stats["requests"]
    wall, result, stats = run_job(emulator, playbook, size, 21.5)
    row("  same job task again (%s)" % result["action"], wall, stats, result["progress"]["failed"])
    wall, result, stats = run_fleet(emulator, playbook, size, 22.5)
    row("device_fleet properties, %d devices" % size, wall, stats, result["counts"]["failed"])
    check_violations(stats)
    print("   module: %s; writes seen by the emulator: %d" % (result, stats["writes"]))
    print("   job / device_fleet: %.0fx fewer requests, %.1fx less wall time"
          % (stats["requests"] / job_requests, wall / job_wall), flush=True)


def crossover(emulator, playbook, size):
    prepare(emulator, size)
    figures = []
    for poll in (1, 5):
        wall, _result, stats = run_job(emulator, playbook, size, 21.5 + poll, poll_interval=poll)
        figures.append((wall, stats["requests"]))
    wall, _result, stats = run_fleet(emulator, playbook, size, 20.5)
    figures.append((wall, stats["requests"]))
    check_violations(stats)
    print("%8d %14s %14s %24s" % ((size,) + tuple("%6.2f (%4d)" % figure for figure in figures)), flush=True)


def run_scenarios(emulator, sizes_, crossover_sizes):
    playbook = Playbook(emulator)
    for size in sizes_:
        compare(emulator, playbook, size)
    if crossover_sizes:
        print("\ncrossover: wall s of a job (poll_interval 1 s / 5 s) and of device_fleet properties, with requests")
        print("%8s %14s %14s %24s" % ("devices", "job, poll 1 s", "job, poll 5 s", "device_fleet properties"))
    for size in crossover_sizes:
        crossover(emulator, playbook, size)


def main():
    parser = bench_parser(__doc__)
    parser.add_argument("--sizes", type=sizes, default=sizes("1000,10000"),
                        help="group sizes to compare, comma-separated (default 1000,10000)")
    parser.add_argument("--crossover", type=sizes, default=sizes("10,25,50,100,200"),
                        help="small group sizes for the crossover table, comma-separated; '' for none")
    args = parser.parse_args()
    compared = [scaled(size, args) for size in args.sizes]
    small = [scaled(size, args) for size in args.crossover]
    print("== bench_jobs: a job versus device_fleet properties (emulator at 20 requests/second)")
    print("machine: " + machine())
    for_each_latency(args, lambda emulator: run_scenarios(emulator, compared, small))


if __name__ == "__main__":
    main()
