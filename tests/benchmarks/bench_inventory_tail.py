#!/usr/bin/env python
"""Benchmark of what a cold inventory parse does after the device list's last page: the tail over the floor.

An emulator (a subprocess, 20 requests/second, ``--latency-ms``, spec checks off) is seeded, and the inventory
plugin's cold and warm parse run in a fresh interpreter (as ``PARSE_TIMER`` in bench_inventory.py, jsonfile cache)
that logs when the listing's last response arrived and when the plugin's steps ended. Everything after the last
response adds to the cold time without a request: building the hosts still missing, the cache entry, ansible-core's
cache write (``update_cache_if_changed``) and its own work after the parse (reconciling groups, vars plugins).

It prints figures and asserts nothing about time. Run it from the repo root::

    .venv/bin/python tests/benchmarks/bench_inventory_tail.py [--devices 10000] [--latency 0,80,200] [--repeat 2]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import SERVICE_RATE, bench_parser, ensure_dev_tree, machine, scaled

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.defaults import ADMIN_TOKEN  # noqa: E402 pylint: disable=wrong-import-position
from emulator.testing import start_cli_emulator  # noqa: E402 pylint: disable=wrong-import-position

from bench_inventory_scale import SOURCE  # noqa: E402 pylint: disable=wrong-import-position

# Runs in a fresh interpreter: InventoryManager's parse of the source, with the times of the last HTTP response
# and of the plugin's steps (seconds from the start of the parse).
TIMELINE = r"""
import json, sys, time
import requests
from ansible.parsing.dataloader import DataLoader
from ansible.inventory.manager import InventoryManager
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
from ansible import constants as C
finder = _AnsibleCollectionFinder(paths=C.COLLECTIONS_PATHS)
finder._install()
from ansible_collections.fleetops.iotcentral.plugins.inventory.devices import InventoryModule
started = [0.0]
marks = {"last_response": 0.0}
send = requests.Session.send
def timed_send(self, *args, **kwargs):
    response = send(self, *args, **kwargs)
    marks["last_response"] = time.perf_counter() - started[0]
    return response
requests.Session.send = timed_send
def ends(name):
    method = getattr(InventoryModule, name)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        finally:
            marks[name] = time.perf_counter() - started[0]
    setattr(InventoryModule, name, wrapper)
for name in ("_fetch", "parse", "update_cache_if_changed"):
    ends(name)
loader = DataLoader()
started[0] = time.perf_counter()
inventory = InventoryManager(loader=loader, sources=[sys.argv[1]], cache=sys.argv[2] == "cache")
marks["total"] = time.perf_counter() - started[0]
marks["hosts"] = len(inventory.hosts)
print(json.dumps(marks))
"""


def main():
    parser = bench_parser(__doc__)
    parser.add_argument("--devices", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.set_defaults(latency="0,80,200")  # as bench_inventory_scale: where users report the real service
    args = parser.parse_args()
    size = scaled(args.devices, args)
    collections = ensure_dev_tree()
    pages = -(-size // 100)
    floor = pages / SERVICE_RATE
    print("== bench_inventory_tail: cold parse after the last page (emulator at 20 req/s, spec check off)")
    print("machine: %s" % machine())
    print("  %d devices, %d pages, floor %.2f s (pages / 20 per second)" % (size, pages, floor))
    print("  %-22s %8s %8s %8s %8s %8s %8s %7s" % ("run", "last rsp", "fetched", "parsed", "cached", "total", "tail",
                                                   "ratio"))
    for latency in (int(value) for value in args.latency.split(",")):
        emulator = start_cli_emulator("--rate-limit", str(SERVICE_RATE), "--seed-devices", str(size), "--latency-ms",
                                      str(latency), "--no-spec-check", timeout=300)
        with tempfile.TemporaryDirectory(prefix="bench-tail-") as tmp, emulator as emu:
            env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_INVENTORY_UNPARSED_FAILED="1", IOTCENTRAL_BASE_URL=emu.base_url,
                       IOTCENTRAL_API_TOKEN=ADMIN_TOKEN)
            env.pop("IOTCENTRAL_APP", None)
            source = Path(tmp) / "tail.iotcentral.yml"
            source.write_text(SOURCE % {"list_concurrency": 8, "cache": Path(tmp) / "cache"}, encoding="utf-8")
            for _run in range(args.repeat):
                time.sleep(1.5)  # the token buckets fill up again
                for mode in ("flush", "cache"):
                    marks = timeline(source, mode, env)
                    if marks["hosts"] != size:
                        sys.exit("expected %d hosts, got %d" % (size, marks["hosts"]))
                    label = "%3d ms, %s" % (latency, "cold" if mode == "flush" else "warm (cache)")
                    print("  %-22s %8s %8s %8.2f %8.2f %8.2f %8s %6.2fx" % (
                        label, seconds(marks, "last_response"), seconds(marks, "_fetch"), marks["parse"],
                        marks["update_cache_if_changed"], marks["total"],
                        "%.2f" % (marks["total"] - marks["last_response"]) if mode == "flush" else "-",
                        marks["total"] / floor), flush=True)


def timeline(source, mode, env):
    proc = subprocess.run([sys.executable, "-c", TIMELINE, str(source), mode], env=env, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        sys.exit("parse failed (exit %d):\n%s" % (proc.returncode, proc.stderr[-3000:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def seconds(marks, name):
    return "%.2f" % marks[name] if marks.get(name) else "-"


if __name__ == "__main__":
    main()
