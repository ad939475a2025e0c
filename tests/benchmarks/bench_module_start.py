#!/usr/bin/env python
"""CPU seconds of one module process: what every task of a play pays, and forks over hundreds of hosts pay hundreds
of times.

ansible-playbook runs one ``fleetops.iotcentral.device`` task against the emulator with the module's file kept
(``ANSIBLE_KEEP_REMOTE_FILES``); that AnsiballZ file is then run on its own, the way Ansible runs it, ``--runs``
times (one GET each: the device is already as declared), and the CPU time (user + system) of each process is
read from the operating system, so the machine's load moves these figures less than wall times. For scale, the
same is measured for a bare interpreter and for one that only imports ``requests``.

It prints figures and asserts nothing about time::

    .venv/bin/python tests/benchmarks/bench_module_start.py [--runs 15] [--latency 0]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import BIN, Playbook, bench_parser, for_each_latency, machine

PLAY = """
- name: Keep the device module's AnsiballZ file
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Name the device
      fleetops.iotcentral.device:
        id: host-00001
        display_name: bench-module-start
"""


def main():
    parser = bench_parser(__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print("== bench_module_start: CPU seconds per process (median and least of %d runs)" % args.runs)
    print("machine: %s" % machine())
    print("load average: %s" % " ".join("%.2f" % value for value in os.getloadavg()))
    for_each_latency(args, lambda emulator: run_scenarios(emulator, args), header=False)


def cpu_of(command, env, runs):
    """(CPU seconds, wall seconds) of each of ``runs`` runs of ``command``."""
    figures = []
    for _run in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0 or '"failed": true' in proc.stdout:
            sys.stdout.write(proc.stdout[-2000:] + proc.stderr[-2000:])
            raise SystemExit("%s failed (exit %d)" % (" ".join(command), proc.returncode))
        figures.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall))
    return figures


def print_row(name, figures):
    cpu = [figure[0] for figure in figures]
    wall = [figure[1] for figure in figures]
    print("%-44s %10.3f %10.3f %10.3f" % (name, statistics.median(cpu), min(cpu), statistics.median(wall)), flush=True)


def run_scenarios(emulator, args):
    emulator.seed(1, prefix="host")
    env = dict(Playbook(emulator).env)
    with tempfile.TemporaryDirectory(prefix="bench-module-start-") as tmp:
        play = Path(tmp) / "play.yml"
        play.write_text(PLAY, encoding="utf-8")
        keep = dict(env, ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_REMOTE_TMP=str(Path(tmp) / "remote"))
        proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(play)], env=keep,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.stdout.write(proc.stdout[-3000:] + proc.stderr[-3000:])
            raise SystemExit("the playbook failed (exit %d)" % proc.returncode)
        payload = next(Path(tmp, "remote").glob("*/AnsiballZ_device.py"))
        print("%-44s %10s %10s %10s" % ("process", "median cpu", "least cpu", "median wall"))
        print_row("python -c pass", cpu_of([sys.executable, "-c", "pass"], env, args.runs))
        print_row("python -c 'import requests'", cpu_of([sys.executable, "-c", "import requests"], env, args.runs))
        print_row("device module (AnsiballZ file, one GET)", cpu_of([sys.executable, str(payload)], env, args.runs))


if __name__ == "__main__":
    main()
