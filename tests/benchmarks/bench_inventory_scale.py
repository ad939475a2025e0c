#!/usr/bin/env python
"""Benchmark of the inventory plugin where latency binds: 10,000 and 50,000 devices at 0, 80 and 200 ms a request.

For each fleet size and latency, an emulator (a subprocess, enforcing 20 requests/second, with ``--latency-ms``)
is seeded, and the plugin's cold parse (in a fresh interpreter, imports excluded) is timed twice: reading the
device list as id ranges (``list_concurrency`` 8, the default) and as one nextLink chain (``list_concurrency: 1``).
Each row prints the requests and 429s the emulator counted and the ratio to the rate-limit floor (pages / 20 per
second).

With ``--cli``, the largest fleet also gets the whole ``ansible-inventory --list`` cold and warm (jsonfile cache)
and, as the floor of the CLI itself, ``ansible-inventory --list`` over a static YAML inventory holding the same
hosts, groups and variables.

It prints figures and asserts nothing about time. Run it from the repo root::

    .venv/bin/python tests/benchmarks/bench_inventory_scale.py [--devices 10000,50000] [--latency 0,80,200]
        [--single-chain-max 10000] [--cli]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import BIN, SERVICE_RATE, bench_parser, ensure_dev_tree, machine, scaled

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.defaults import ADMIN_TOKEN  # noqa: E402 pylint: disable=wrong-import-position
from emulator.testing import start_cli_emulator  # noqa: E402 pylint: disable=wrong-import-position

from bench_inventory import PARSE_TIMER  # noqa: E402 pylint: disable=wrong-import-position

SOURCE = """plugin: fleetops.iotcentral.devices
page_size: 100
list_concurrency: %(list_concurrency)d
keyed_groups:
  - key: iotc_status
    prefix: status
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: %(cache)s
"""


def settle():
    """Wait until the token buckets (client, machine-wide, emulator) are full again, so every run starts alike."""
    time.sleep(1.5)


def timed(command, env, base_url):
    requests.post(base_url + "/__emulator__/stats/reset", timeout=30).raise_for_status()
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0 or "WARNING" in proc.stderr:
        sys.exit("%s failed (exit %d):\n%s" % (command[:3], proc.returncode, proc.stderr[-3000:]))
    stats = requests.get(base_url + "/__emulator__/stats", timeout=30).json()
    return wall, stats, proc.stdout


def row(label, seconds, stats, pages):
    floor = pages / SERVICE_RATE
    print("  %-52s %8.2f %9d %6d %8.2f %7.2fx" % (label, seconds, stats["requests"], stats["throttled"], floor,
                                                  seconds / floor), flush=True)


def static_inventory(listing, path):
    """A static YAML inventory (JSON is YAML) with the same hosts, variables and groups as a ``--list`` output."""
    hostvars = listing["_meta"]["hostvars"]
    children = {}
    for group, body in listing.items():
        if group in ("_meta", "all", "ungrouped") or not isinstance(body, dict):
            continue
        children[group] = {"hosts": dict((host, None) for host in body.get("hosts", []))}
    data = {"all": {"hosts": hostvars, "children": children}}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle)


def main():
    parser = bench_parser(__doc__)
    parser.add_argument("--devices", default="10000,50000")
    parser.set_defaults(latency="0,80,200")  # also where users report the real service
    parser.add_argument("--single-chain-max", type=int, default=10000,
                        help="also time list_concurrency 1 for fleets up to this size")
    parser.add_argument("--cli", action="store_true", help="ansible-inventory --list cold/warm vs a static inventory")
    parser.add_argument("--no-spec-check", action="store_true",
                        help="turn the emulator's response schema checks off (they cost it 20-100 ms a page here)")
    args = parser.parse_args()
    sizes = [scaled(int(value), args) for value in args.devices.split(",")]
    latencies = [int(value) for value in args.latency.split(",")]
    collections = ensure_dev_tree()

    print("== bench_inventory_scale: inventory plugin cold parse by fleet size and latency (emulator at 20 req/s)")
    print("machine: %s; emulator spec check %s" % (machine(), "off" if args.no_spec_check else "on"))
    print("  %-52s %8s %9s %6s %8s %8s" % ("run", "seconds", "requests", "429s", "floor s", "ratio"))
    for size in sizes:
        pages = -(-size // 100)
        for latency in latencies:
            emulator_args = ["--rate-limit", str(SERVICE_RATE), "--seed-devices", str(size), "--latency-ms", str(latency)]
            if args.no_spec_check:
                emulator_args.append("--no-spec-check")
            emulator = start_cli_emulator(*emulator_args, timeout=300)
            with tempfile.TemporaryDirectory(prefix="bench-inv-") as tmp, emulator as emu:
                env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
                           ANSIBLE_INVENTORY_UNPARSED_FAILED="1", IOTCENTRAL_BASE_URL=emu.base_url,
                           IOTCENTRAL_API_TOKEN=ADMIN_TOKEN)
                env.pop("IOTCENTRAL_APP", None)
                modes = [8] + ([1] if size <= args.single_chain_max else [])
                for list_concurrency in modes:
                    source = Path(tmp) / ("c%d.iotcentral.yml" % list_concurrency)
                    source.write_text(SOURCE % {"list_concurrency": list_concurrency, "cache": Path(tmp) / "cache"},
                                      encoding="utf-8")
                    settle()
                    wall, stats, out = timed([sys.executable, "-c", PARSE_TIMER, str(source), "flush"], env,
                                             emu.base_url)
                    parse = json.loads(out)
                    if parse["hosts"] != size:
                        sys.exit("expected %d hosts, got %d" % (size, parse["hosts"]))
                    row("%6d devices, %3d ms, cold parse, list_concurrency %d" % (size, latency, list_concurrency),
                        parse["seconds"], stats, pages)
                    if list_concurrency == 8 and latency == latencies[0]:
                        # The same parse from the cache: what building the hosts costs, without any request.
                        wall, stats, out = timed([sys.executable, "-c", PARSE_TIMER, str(source), "cache"], env,
                                                 emu.base_url)
                        row("%6d devices, warm parse (cache, no request)" % size, json.loads(out)["seconds"], stats,
                            pages)
                if args.cli and size == sizes[-1] and latency == latencies[0]:
                    cli_rows(Path(tmp), env, emu.base_url, pages)


def cli_rows(tmp, env, base_url, pages):
    source = tmp / "c8.iotcentral.yml"
    out = tmp / "out.json"
    cli = [str(BIN / "ansible-inventory"), "-i", str(source), "--list", "--output", str(out)]
    settle()
    wall, stats, _out = timed(cli + ["--flush-cache"], env, base_url)
    row("ansible-inventory --list, cold", wall, stats, pages)
    wall, stats, _out = timed(cli, env, base_url)
    row("ansible-inventory --list, warm (cache)", wall, stats, pages)
    with open(out, encoding="utf-8") as handle:
        listing = json.load(handle)
    static = tmp / "static.yml"
    static_inventory(listing, static)
    wall, stats, _out = timed([str(BIN / "ansible-inventory"), "-i", str(static), "--list", "--output",
                               str(tmp / "static-out.json")], env, base_url)
    row("ansible-inventory --list, static YAML baseline", wall, stats, pages)


if __name__ == "__main__":
    main()
