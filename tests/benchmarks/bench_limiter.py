"""Why the client's token bucket holds half a second of burst, not a full second: 429s with each.

The service's bucket (and the emulator's) holds 20 requests and refills at 20 per second. A client bucket with
the same capacity is only safe if every request reaches the service exactly when the client took its token: any
jitter (thread scheduling, connection reuse, the service's own processing) lets two requests arrive closer together
than they left, and at full speed the service's bucket has nothing spare to absorb that. A second task started
right after the first also begins with a full client bucket while the service's is still empty.

Runs the fleet logic in-process (no ansible-playbook), against the emulator CLI enforcing 20 requests/second:
create 400 devices, then immediately a second "task" (a new client) updating 100 of them, for each burst size,
at each ``--latency`` (default 0 and 80 ms per request); ``--scale`` shrinks the counts.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import SERVICE_RATE, TEMPLATE, bench_parser, ensure_dev_tree, fleet, for_each_latency, machine, scaled  # noqa: E402

sys.path.insert(0, str(ensure_dev_tree()))

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import RateLimiter  # noqa: E402
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import build_client  # noqa: E402
from ansible_collections.fleetops.iotcentral.plugins.module_utils.fleet import converge_fleet  # noqa: E402

CREATE = 400
FOLLOW_UP = 100


def run_task(emulator, burst, devices):
    from emulator.defaults import ADMIN_TOKEN  # pylint: disable=import-outside-toplevel

    client = build_client({"base_url": emulator.base_url, "api_token": ADMIN_TOKEN}, rate_limit=0, pool_size=8)
    client.rate_limiter = RateLimiter(SERVICE_RATE, burst=burst)
    try:
        return converge_fleet(client, {"devices": devices, "concurrency": 8})
    finally:
        client.close()


def main():
    args = bench_parser(__doc__).parse_args()
    create, follow_up = scaled(CREATE, args), scaled(FOLLOW_UP, args)
    print("== bench_limiter: 429s by client burst size (in-process fleet logic, emulator at 20 requests/second)")
    print("machine: " + machine())
    for_each_latency(args, lambda emulator: run_scenarios(emulator, create, follow_up), header=False)


def run_scenarios(emulator, create, follow_up):
    print("%-34s %8s %9s %6s %8s %8s" % ("client bucket", "wall s", "requests", "429s", "floor s", "ratio"))
    for burst, label in ((SERVICE_RATE, "burst 20 (one second)"), (SERVICE_RATE / 2, "burst 10 (half a second, the default)")):
        emulator.reset()
        time.sleep(1.5)  # let the emulator's bucket refill: both start full, as in the setting
        devices = fleet(create, prefix="lim", template=TEMPLATE)
        started = time.monotonic()
        first = run_task(emulator, burst, devices)
        second = run_task(emulator, burst, [dict(spec, enabled=False) for spec in devices[:follow_up]])
        wall = time.monotonic() - started
        stats = emulator.stats()
        floor = (stats["requests"] - stats["throttled"]) / SERVICE_RATE
        print("%-34s %8.2f %9d %6d %8.2f %7.2fx" % (label, wall, stats["requests"], stats["throttled"], floor, wall / floor))
        print("   first task %s; second task %s" % (first["requests"], second["requests"]))


if __name__ == "__main__":
    main()
