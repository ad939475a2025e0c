#!/usr/bin/env python
"""Benchmark of one rate budget per controller: forks 5, 20 and 50 over 200 device hosts.

The inventory plugin makes the 200 devices of an emulator (enforcing 20 requests/second) into hosts; a playbook
runs one ``fleetops.iotcentral.device`` task per host, delegated to localhost, renaming the device (a GET and a
PATCH: 400 requests, a floor of 20 s). With forks N, N module processes run at once, each with its own client:
the machine-wide bucket (module_utils/ratelimit.py) is what keeps them together under the application's budget.
The last row turns it off (``IOTCENTRAL_SHARED_BUDGET=false``) to show what each process pacing itself alone gives.

Then, without Ansible's per-task overhead spreading them out, ``--burst`` fresh Python processes start at the same
moment, each a client of the collection sending the same GET and PATCH (``--burst-rounds`` times): the case where
a token taken before a process is ready to send lets requests arrive together beyond the budget.

It prints figures and asserts nothing about time::

    .venv/bin/python tests/benchmarks/bench_forks.py [--hosts 200] [--forks 5,20,50] [--latency 0,80] [--scale 1]
    .venv/bin/python tests/benchmarks/bench_forks.py --latency 0 --forks "" --unshared-forks 0   # the bursts only
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import BIN, PLAYBOOKS, Playbook, bench_parser, ensure_dev_tree, for_each_latency, machine, row, scaled


def main():
    parser = bench_parser(__doc__)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--forks", default="5,20,50")
    parser.add_argument("--unshared-forks", type=int, default=50, help="forks of the run without the shared budget (0: no such run)")
    parser.add_argument("--burst", type=int, default=50, help="processes started at once (0: no burst rows)")
    parser.add_argument("--burst-rounds", type=int, default=3)
    args = parser.parse_args()
    args.hosts = scaled(args.hosts, args)
    print("== bench_forks: %d device hosts, one device task each (GET + PATCH), emulator at 20 req/s" % args.hosts)
    print("machine: %s" % machine())
    for_each_latency(args, lambda emulator: run_scenarios(emulator, args))


def run_scenarios(emulator, args):
    emulator.seed(args.hosts, prefix="host")
    env = Playbook(emulator).env
    with tempfile.TemporaryDirectory(prefix="bench-forks-") as tmp:
        source = Path(tmp) / "hosts.iotcentral.yml"
        source.write_text("plugin: fleetops.iotcentral.devices\n", encoding="utf-8")
        runs = [(int(forks), "true") for forks in args.forks.split(",") if forks.strip()]
        runs += [(args.unshared_forks, "false")] if args.unshared_forks else []
        for number, (forks, shared) in enumerate(runs):
            time.sleep(1.5)
            emulator.reset_stats()
            cmd = [str(BIN / "ansible-playbook"), "-i", str(source), "-f", str(forks),
                   str(PLAYBOOKS / "device_hosts.yml"), "-e", "run_label=r%d" % number]
            started = time.monotonic()
            proc = subprocess.run(cmd, env=dict(env, IOTCENTRAL_SHARED_BUDGET=shared), capture_output=True,
                                  text=True, check=False)
            wall = time.monotonic() - started
            if proc.returncode != 0:
                sys.stdout.write(proc.stdout[-3000:] + proc.stderr[-3000:])
                raise SystemExit("forks %d failed (exit %d)" % (forks, proc.returncode))
            stats = emulator.stats()
            # The inventory's own listing (2 pages) is part of the run and of the floor.
            row("forks %d, shared budget %s" % (forks, "on" if shared == "true" else "off"), wall, stats, "0")
        for number in range(args.burst_rounds if args.burst else 0):
            time.sleep(1.5)
            burst(emulator, env, args.burst, args.hosts, number)


BURST_CHILD = """
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient
client = IoTCentralClient(sys.argv[2], api_token=sys.argv[3])
client.get("/devices/" + sys.argv[4])
client.patch("/devices/" + sys.argv[4], {"displayName": sys.argv[4] + " " + sys.argv[5]})
"""


def burst(emulator, env, count, hosts, number):
    """``count`` processes started at once, each a client sending a GET and a PATCH through the shared budget."""
    emulator.reset_stats()
    env = dict(env, IOTCENTRAL_SHARED_BUDGET="true")
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-c", BURST_CHILD, str(ensure_dev_tree()), emulator.base_url,
                               env["IOTCENTRAL_API_TOKEN"], "host-%05d" % (index % hosts + 1), "b%d" % number], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for index in range(count)]
    for proc in procs:
        proc.communicate()
    failed = sum(1 for proc in procs if proc.returncode != 0)
    row("%d processes at once, shared budget on" % count, time.monotonic() - started, emulator.stats(), str(failed))


if __name__ == "__main__":
    main()
