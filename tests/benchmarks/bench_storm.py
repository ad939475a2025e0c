#!/usr/bin/env python
"""Benchmark of device_fleet in a storm of HTTP 429s: the run slows down, every device lands.

``device_fleet`` creates 300 devices against the emulator (20 requests/second). Two seconds in, the emulator's
test hook ``POST /__emulator__/storm`` makes the application throttle far below its documented limit for 30 s:
first at 2 requests/second (a storm that lets some requests through), then not at all (a blackout, shorter than
the client's 120 s retry budget). Before the adaptive limiter, one request running out of its own retries
stopped every remaining write (79 of 100 unsent in a long storm). Each row prints the wall time, the requests
and 429s the emulator counted, and the devices that failed or are missing afterwards.

It prints figures and asserts nothing about time::

    .venv/bin/python tests/benchmarks/bench_storm.py [--devices 300] [--storm-seconds 30] [--latency 0,80] [--scale 1]
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time

from _harness import BIN, PLAYBOOKS, TEMPLATE, Playbook, bench_parser, fleet, for_each_latency, machine, result_of, row, scaled


def run_with_storm(emulator, env, devices, storm):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"fleet_devices": devices, "fleet_defaults": {"template": TEMPLATE, "simulated": True}}, handle)
    timer = threading.Timer(2.0, lambda: emulator.session.post(emulator.base_url + "/__emulator__/storm", json=storm,
                                                               timeout=30).raise_for_status())
    try:
        started = time.monotonic()
        timer.start()
        proc = subprocess.run([str(BIN / "ansible-playbook"), str(PLAYBOOKS / "fleet.yml"), "-e", "@" + handle.name],
                              env=env, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
    finally:
        timer.cancel()
        os.unlink(handle.name)
    try:
        result = result_of(proc.stdout)
    except SystemExit:
        result = {"counts": {"failed": "task failed"}, "requests": None}
    return wall, result


def main():
    parser = bench_parser(__doc__)
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--storm-seconds", type=float, default=30.0)
    args = parser.parse_args()
    args.devices = scaled(args.devices, args)

    print("== bench_storm: device_fleet create %d devices, a %g s storm of 429s two seconds in (emulator at 20 req/s)"
          % (args.devices, args.storm_seconds))
    print("machine: " + machine())
    for_each_latency(args, lambda emulator: run_scenarios(emulator, args))


def run_scenarios(emulator, args):
    env = Playbook(emulator).env
    for label, rate in (("storm at 2 req/s", 2), ("blackout (0 req/s)", 0)):
        emulator.reset()
        time.sleep(1.5)
        devices = fleet(args.devices, prefix="storm")
        wall, result = run_with_storm(emulator, env, devices, {"seconds": args.storm_seconds, "rate": rate})
        stats = emulator.stats()
        present = emulator.session.get(emulator.base_url + "/__emulator__/info", timeout=30).json()
        row("create %d, %g s %s" % (args.devices, args.storm_seconds, label), wall, stats,
            result["counts"]["failed"])
        print("   devices in the application afterwards: %d of %d; module requests: %s"
              % (present["collections"].get("devices", 0), args.devices, result["requests"]))


if __name__ == "__main__":
    main()
