"""The fault run of tests/integration/test_faults.py, larger: device_fleet (create, then update + purge), the group
modules and the inventory through the seeded fault proxy, at 10% and 30% of requests failing.

The emulator enforces 20 requests/second (a subprocess, like the service); the proxy injects 5xx before and
after forwarding, resets before and after forwarding, answers held past the 2-second timeout and 429 bursts.
Printed per step: requests the proxy saw, faults injected, writes the service applied whose answer was lost,
mismatches between the emulator's end state and the declaration, how many of them no failure reported, reported
failures that were not true, and wall time.

    .venv/bin/python tests/benchmarks/bench_faults.py [devices] [rate ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Emulator, bench_parser, ensure_dev_tree, latencies, machine, scaled  # noqa: E402

DEVICES = 200
RATES = (0.1, 0.3)
SEED = 20261201
HEADER = "%-6s %-10s %9s %7s %11s %11s %11s %9s %8s" % (
    "rate", "step", "requests", "faults", "lost-writes", "mismatches", "unreported", "false-fail", "wall s")


def main(argv):
    parser = bench_parser(__doc__)
    parser.add_argument("count", nargs="?", type=int, default=DEVICES, help="devices (default %(default)s)")
    parser.add_argument("rates", nargs="*", type=float, help="fault rates (default %s)" % ", ".join(map(str, RATES)))
    args = parser.parse_args(argv)
    ensure_dev_tree()
    count = scaled(args.count, args)
    print("== bench_faults: %d devices and 4+4 group steps through the fault proxy (emulator at 20 requests/second)"
          % count)
    print("machine: " + machine())
    totals = {"unreported": 0, "false": 0}
    for latency in latencies(args):
        print("-- emulator latency %d ms per request" % latency)
        print(HEADER)
        run_rates(count, args.rates or RATES, latency, totals)
    print("total: %d unreported mismatches, %d false failures" % (totals["unreported"], totals["false"]))
    return 0


def run_rates(count, rates, latency, totals):
    from faultproxy import start_fault_proxy  # pylint: disable=import-outside-toplevel
    from faultproxy.scenario import FaultRun, check_inventory  # pylint: disable=import-outside-toplevel

    for rate in rates:
        emulator = Emulator(rate_limit=20, latency_ms=latency)
        proxy = start_fault_proxy(emulator.base_url, rate=rate, seed=SEED, hold_seconds=2.5)
        try:
            run = FaultRun(emulator.base_url, proxy, count=count, timeout=2.0, rate_limit=20)
            for step in ("create", "update"):
                figures, _results = run.run_step(step)
                print("%-6s %-10s %9d %7d %11d %11d %11d %9d %8.1f" % (
                    "%d%%" % (rate * 100), step, figures["requests"], figures["faults"],
                    figures["writes_lost_after_forwarding"], figures["mismatches"], len(figures["unreported"]),
                    len(figures["false_failures"]), figures["wall"]), flush=True)
                if figures["unreported"] or figures["false_failures"]:
                    print("   unreported: %s; false failures: %s"
                          % (figures["unreported"][:10], figures["false_failures"][:10]))
                totals["unreported"] += len(figures["unreported"])
                totals["false"] += len(figures["false_failures"])
            proxy.reset_stats()
            code, hosts, devices = check_inventory(proxy, emulator.base_url)
            stats = proxy.stats()
            verdict = "complete" if code == 0 and hosts == devices else "PARTIAL"
            if code and not hosts:
                verdict = "failed, no host"
            print("%-6s %-10s %9d %7d %11s %11s %11s %9s %8s   inventory: %s (%d of %d devices)" % (
                "%d%%" % (rate * 100), "inventory", stats["requests"], stats["faults"], "-", "-", "-", "-", "-",
                verdict, len(hosts), len(devices)), flush=True)
        finally:
            proxy.stop()
            emulator.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
