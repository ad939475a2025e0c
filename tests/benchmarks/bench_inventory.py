#!/usr/bin/env python
"""Benchmark of the fleetops.iotcentral.devices inventory plugin: a large fleet, cold and warm.

Seeds an emulator (a subprocess, so it does not share this process's GIL) with 10,000 devices,
enforcing the service's 20 requests per second, then runs the real ``ansible-inventory --list``
twice with a jsonfile cache: cold (every page read, page size 100) and warm (from the cache). For
each run it prints the wall time of the command, the time of the plugin's own parse (measured
inside the process, without interpreter start-up and output), the requests and HTTP 429 answers the
emulator counted, and the ratio to the rate-limit floor (pages / rate, 100 pages at 20/s = 5 s).

It prints figures and asserts nothing about time. Run it from the repo root::

    .venv/bin/python tests/benchmarks/bench_inventory.py [--devices 10000] [--rate-limit 20] [--page-size 100]
        [--latency 0,80] [--scale 1]
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
BIN = Path(sys.executable).parent
DEV_COLLECTIONS = REPO / ".build" / "dev"
# The client's token bucket starts full with this many requests (its capacity, one second's budget).
CLIENT_BURST = 20

sys.path.insert(0, str(TESTS))

from emulator.defaults import ADMIN_TOKEN  # noqa: E402 pylint: disable=wrong-import-position
from emulator.testing import start_cli_emulator  # noqa: E402 pylint: disable=wrong-import-position

from _harness import bench_parser, latencies, scaled  # noqa: E402 pylint: disable=wrong-import-position

# Runs in a fresh interpreter: times only InventoryManager's parse of the source (imports excluded).
PARSE_TIMER = r"""
import json, sys, time
from ansible.parsing.dataloader import DataLoader
from ansible.inventory.manager import InventoryManager
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
from ansible import constants as C
finder = _AnsibleCollectionFinder(paths=C.COLLECTIONS_PATHS)
finder._install()
loader = DataLoader()
started = time.perf_counter()
inventory = InventoryManager(loader=loader, sources=[sys.argv[1]], cache=sys.argv[2] == "cache")
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "hosts": len(inventory.hosts)}))
"""


def ensure_dev_tree():
    link = DEV_COLLECTIONS / "ansible_collections" / "fleetops" / "iotcentral"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(REPO, link)


def emulator_stats(base_url):
    return requests.get(base_url + "/__emulator__/stats", timeout=10).json()


def reset_stats(base_url):
    requests.post(base_url + "/__emulator__/stats/reset", timeout=10).raise_for_status()


def settle(rate):
    """Wait until both token buckets (client and emulator) are full again, so every run starts alike."""
    time.sleep(CLIENT_BURST / rate + 0.2)


def run(label, command, env, base_url):
    reset_stats(base_url)
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=str(REPO), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0 or "WARNING" in proc.stderr:
        sys.exit("%s failed (exit %d):\n%s" % (label, proc.returncode, proc.stderr))
    stats = emulator_stats(base_url)
    return elapsed, stats, proc.stdout


def main():
    parser = bench_parser(__doc__)
    parser.add_argument("--devices", type=int, default=10000)
    parser.add_argument("--rate-limit", type=float, default=20.0, help="requests/second the emulator enforces")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--no-spec-check", action="store_true", help="turn the emulator's response schema checks off")
    args = parser.parse_args()
    args.devices = scaled(args.devices, args)
    ensure_dev_tree()
    for latency in latencies(args):
        run_at(args, latency)


def run_at(args, latency):
    """Cold and warm, against an emulator adding ``latency`` ms to every request."""
    emulator_args = ["--rate-limit", str(args.rate_limit), "--seed-devices", str(args.devices),
                     "--latency-ms", str(latency)]
    if args.no_spec_check:
        emulator_args.append("--no-spec-check")
    pages = max(1, math.ceil(args.devices / args.page_size))
    floor = pages / args.rate_limit
    burst_floor = max(0, pages - CLIENT_BURST) / args.rate_limit

    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as tmp, start_cli_emulator(*emulator_args, timeout=120) as emu:
        source = Path(tmp) / "bench.iotcentral.yml"
        source.write_text(
            "plugin: fleetops.iotcentral.devices\n"
            "page_size: %d\n"
            "keyed_groups:\n"
            "  - key: iotc_status\n"
            "    prefix: status\n"
            "cache: true\n"
            "cache_plugin: ansible.builtin.jsonfile\n"
            "cache_connection: %s\n" % (args.page_size, Path(tmp) / "cache"),
            encoding="utf-8",
        )
        env = dict(os.environ)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(DEV_COLLECTIONS),
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
            "ANSIBLE_NOCOLOR": "1",
            "IOTCENTRAL_BASE_URL": emu.base_url,
            "IOTCENTRAL_API_TOKEN": ADMIN_TOKEN,
        })
        env.pop("IOTCENTRAL_APP", None)
        cli = [str(BIN / "ansible-inventory"), "-i", str(source), "--list", "--output", str(Path(tmp) / "out.json")]
        timer = [sys.executable, "-c", PARSE_TIMER, str(source)]

        print("fleetops.iotcentral.devices inventory benchmark")
        print("  %d devices, page size %d -> %d pages; emulator rate limit %g req/s, latency %d ms (spec check %s)"
              % (args.devices, args.page_size, pages, args.rate_limit, latency, "off" if args.no_spec_check else "on"))
        print("  rate-limit floor %.2f s (pages / rate); %.2f s if the client's initial burst of %d is spent at once"
              % (floor, burst_floor, CLIENT_BURST))
        print()

        rows = []
        settle(args.rate_limit)
        wall, stats, _out = run("cold ansible-inventory", cli + ["--flush-cache"], env, emu.base_url)
        rows.append(("cold  ansible-inventory --list --flush-cache", wall, stats))
        wall, stats, _out = run("warm ansible-inventory", cli, env, emu.base_url)
        rows.append(("warm  ansible-inventory --list", wall, stats))
        settle(args.rate_limit)
        wall, stats, out = run("cold parse", timer + ["flush"], env, emu.base_url)
        cold_parse = json.loads(out)
        rows.append(("cold  plugin parse only (in-process)", cold_parse["seconds"], stats))
        wall, stats, out = run("warm parse", timer + ["cache"], env, emu.base_url)
        warm_parse = json.loads(out)
        rows.append(("warm  plugin parse only (in-process)", warm_parse["seconds"], stats))

        with open(Path(tmp) / "out.json", encoding="utf-8") as handle:
            hosts = len(json.load(handle)["_meta"]["hostvars"])

        print("  %-44s %9s %9s %6s %12s" % ("run", "seconds", "requests", "429s", "x floor"))
        for label, seconds, stats in rows:
            print("  %-44s %9.2f %9d %6d %12.2f" % (label, seconds, stats["requests"], stats["throttled"], seconds / floor))
        print()
        print("  hosts in the inventory: %d (parse saw %d cold, %d warm)" % (hosts, cold_parse["hosts"], warm_parse["hosts"]))
        violations = emulator_stats(emu.base_url)["spec_violations"]
        print("  spec violations: %d" % len(violations))


if __name__ == "__main__":
    main()
