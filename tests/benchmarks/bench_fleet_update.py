"""device_fleet at application scale, against an emulator enforcing 20 requests/second.

4. update 10% of 10,000 devices (seeded with the emulator's /__emulator__/seed): the playbook lists all 10,000,
   one in ten with a changed field; the same playbook again sends only the listing pages.
5. purge_scope and the reading strategy, in that 10,000-device application: a fleet of 1,000 devices of another
   template with purge_scope = that template. First run (the scope is empty: more than 20 listed devices are
   missing from it, so the whole application is listed), re-run (the scope listing alone), then 5 new devices
   (scope listing + 5 GETs) and one device dropped from the list (purged).
6. two device_fleet runs at once on the same application, 500 devices each, each with rate_limit=10: the
   shared-budget setting; they must not throttle each other.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import HEADER, TEMPLATE, Emulator, Playbook, check_violations, fleet, machine, result_of, row  # noqa: E402

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


def main():
    print("== bench_fleet_update: device_fleet in a %d-device application (emulator at 20 requests/second)" % APP_SIZE)
    print("machine: " + machine())
    emulator = Emulator(rate_limit=20)
    try:
        playbook = Playbook(emulator)
        print(HEADER)

        emulator.reset()
        emulator.seed(APP_SIZE, prefix="dev", template=TEMPLATE)
        # Every tenth device gets blocked: 1,000 PATCHes, 9,000 unchanged.
        devices = [dict(spec, enabled=(number % 10 != 0)) for number, spec in enumerate(fleet(APP_SIZE, prefix="dev"), 1)]
        variables = {"fleet_devices": devices, "fleet_defaults": {"template": TEMPLATE}}
        measure(emulator, playbook, "4. update 10%% of %d devices" % APP_SIZE, "fleet.yml", variables)
        measure(emulator, playbook, "4b. same playbook again (idempotent)", "fleet.yml", variables)

        scoped = fleet(1000, prefix="ctl")
        variables = {"fleet_devices": scoped, "fleet_defaults": {"template": SCOPED_TEMPLATE},
                     "fleet_purge": True, "fleet_purge_scope": SCOPED_TEMPLATE}
        measure(emulator, playbook, "5. purge_scope fleet 1000, first run", "fleet.yml", variables)
        measure(emulator, playbook, "5b. purge_scope fleet, re-run", "fleet.yml", variables)
        variables["fleet_devices"] = scoped[1:] + fleet(5, prefix="ctl", start=1001)
        measure(emulator, playbook, "5c. purge_scope: +5 new, 1 dropped", "fleet.yml", variables)

        emulator.reset()
        halves = [{"fleet_devices": fleet(500, prefix=prefix), "fleet_defaults": {"template": TEMPLATE},
                   "fleet_rate_limit": 10} for prefix in ("east", "west")]
        wall, outs = playbook.run_parallel([("fleet.yml", halves[0]), ("fleet.yml", halves[1])])
        stats = emulator.stats()
        failed = sum(result_of(out)["counts"]["failed"] for out in outs)
        row("6. two fleets of 500 at once, rate_limit=10", wall, stats, failed)
        check_violations(stats)
        for out in outs:
            print("   module: %s" % result_of(out))
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
