"""device_fleet at application scale, against an emulator enforcing 20 requests/second.

4. update 10% of 10,000 devices (seeded with the emulator's /__emulator__/seed): the playbook lists all 10,000,
   one in ten with a changed field; the same playbook again sends only the listing pages.
5. purge_scope and the reading strategy, in that 10,000-device application: a fleet of 1,000 devices of another
   template with purge_scope = that template. First run (the scope is empty: more than 20 listed devices are
   missing from it, so the whole application is listed), re-run (the scope listing alone), then 5 new devices
   (scope listing + 5 GETs) and one device dropped from the list (purged).
6. two device_fleet runs at once on the same application, 500 devices each, each with rate_limit=10: the
   shared-budget setting; they must not throttle each other.

Each scenario runs at every ``--latency`` (default 0 and 80 ms per request); ``--scale`` shrinks the counts and
``--scenarios`` picks some of them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    TEMPLATE,
    Playbook,
    bench_parser,
    check_violations,
    ensure_dev_tree,
    fleet,
    for_each_latency,
    machine,
    result_of,
    row,
    scaled,
)

LOOKUP_LIMIT = 20  # device_fleet's: more missing devices than this list the whole application

APP_SIZE = 10000
SCOPED_TEMPLATE = "dtmi:contoso:TemperatureController;1"


def measure(emulator, playbook, label, name, variables):
    emulator.reset_stats()
    wall, out = playbook.run(name, variables)
    result = result_of(out)
    stats = emulator.stats()
    row(label, wall, stats, result["counts"]["failed"])
    check_violations(stats)
    print("   module: %s" % result)
    return result


def converge_in_process(emulator, params):
    """device_fleet's logic (module_utils.fleet.converge_fleet) with the module's defaults; (seconds, result)."""
    sys.path.insert(0, str(ensure_dev_tree()))
    # pylint: disable=import-outside-toplevel
    from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import build_client
    from ansible_collections.fleetops.iotcentral.plugins.module_utils.fleet import DEFAULT_RATE_LIMIT, converge_fleet
    from emulator.defaults import ADMIN_TOKEN

    client = build_client({"base_url": emulator.base_url, "api_token": ADMIN_TOKEN}, rate_limit=DEFAULT_RATE_LIMIT,
                          pool_size=8)
    try:
        started = time.monotonic()
        result = converge_fleet(client, dict(params, concurrency=8))
        return time.monotonic() - started, result
    finally:
        client.close()


def main():
    parser = bench_parser(__doc__)
    parser.add_argument("--scenarios", default="4,5,6", help="which scenarios to run (4: update, 4i: the same update "
                                                             "in-process, 5: purge_scope, 6: two fleets at once)")
    args = parser.parse_args()
    scenarios = args.scenarios.split(",")
    app_size = scaled(APP_SIZE, args)
    scoped_size = scaled(1000, args, minimum=LOOKUP_LIMIT + 5)
    print("== bench_fleet_update: device_fleet in a %d-device application (emulator at 20 requests/second)" % app_size)
    print("machine: " + machine())
    for_each_latency(args, lambda emulator: run_scenarios(emulator, scenarios, app_size, scoped_size))


def run_scenarios(emulator, scenarios, app_size, scoped_size):
    playbook = Playbook(emulator)
    if "4" in scenarios or "5" in scenarios:
        emulator.reset()
        emulator.seed(app_size, prefix="dev", template=TEMPLATE)
    if "4" in scenarios:
        # Every tenth device gets blocked: 1,000 PATCHes, 9,000 unchanged.
        devices = [dict(spec, enabled=(number % 10 != 0)) for number, spec in enumerate(fleet(app_size, prefix="dev"), 1)]
        variables = {"fleet_devices": devices, "fleet_defaults": {"template": TEMPLATE}}
        measure(emulator, playbook, "4. update 10%% of %d devices" % app_size, "fleet.yml", variables)
        measure(emulator, playbook, "4b. same playbook again (idempotent)", "fleet.yml", variables)

    if "4i" in scenarios:
        # The same update through the module's logic in this process: no Ansible start-up, only the module's work.
        emulator.reset()
        emulator.seed(app_size, prefix="dev", template=TEMPLATE)
        devices = [dict(spec, enabled=(number % 10 != 0)) for number, spec in enumerate(fleet(app_size, prefix="dev"), 1)]
        emulator.reset_stats()
        wall, result = converge_in_process(emulator, {"devices": devices, "defaults": {"template": TEMPLATE}})
        stats = emulator.stats()
        row("4i. update 10%% of %d, in-process" % app_size, wall, stats, result["counts"]["failed"])
        check_violations(stats)
        print("   module: %s" % {"counts": result["counts"], "requests": result["requests"]})

    if "5" in scenarios:
        scoped = fleet(scoped_size, prefix="ctl")
        variables = {"fleet_devices": scoped, "fleet_defaults": {"template": SCOPED_TEMPLATE},
                     "fleet_purge": True, "fleet_purge_scope": SCOPED_TEMPLATE}
        measure(emulator, playbook, "5. purge_scope fleet %d, first run" % scoped_size, "fleet.yml", variables)
        measure(emulator, playbook, "5b. purge_scope fleet, re-run", "fleet.yml", variables)
        variables["fleet_devices"] = scoped[1:] + fleet(5, prefix="ctl", start=scoped_size + 1)
        measure(emulator, playbook, "5c. purge_scope: +5 new, 1 dropped", "fleet.yml", variables)

    if "6" in scenarios:
        emulator.reset()
        half = max(1, scoped_size // 2)
        halves = [{"fleet_devices": fleet(half, prefix=prefix), "fleet_defaults": {"template": TEMPLATE},
                   "fleet_rate_limit": 10} for prefix in ("east", "west")]
        wall, outs = playbook.run_parallel([("fleet.yml", halves[0]), ("fleet.yml", halves[1])])
        stats = emulator.stats()
        failed = sum(result_of(out)["counts"]["failed"] for out in outs)
        row("6. two fleets of %d at once, rate_limit=10" % half, wall, stats, failed)
        check_violations(stats)
        for out in outs:
            print("   module: %s" % result_of(out))


if __name__ == "__main__":
    main()
