"""device_fleet through ansible-playbook against an emulator enforcing 20 requests/second.

1. create 1,000 devices (target: within 1.15x of the rate-limit floor, zero failed);
2. the same playbook again (target: only the 10 listing pages, under 3 seconds);
3. 100 devices through a loop of the device module, for the side-by-side ratio.

The floor is the time the service's limit alone imposes: requests needed / 20 per second. Wall time is the
whole ansible-playbook run, start-up included. Every scenario runs at each ``--latency`` (default 0 and 80 ms per
request); ``--scale`` shrinks the counts.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    TEMPLATE,
    Playbook,
    bench_parser,
    check_violations,
    fleet,
    for_each_latency,
    machine,
    result_of,
    row,
    scaled,
)

FLEET_SIZE = 1000
LOOP_SIZE = 100


def main():
    args = bench_parser(__doc__).parse_args()
    fleet_size, loop_size = scaled(FLEET_SIZE, args), scaled(LOOP_SIZE, args)
    print("== bench_fleet: device_fleet vs a loop of device (emulator at 20 requests/second)")
    print("machine: " + machine())
    for_each_latency(args, lambda emulator: run_scenarios(emulator, fleet_size, loop_size))


def run_scenarios(emulator, fleet_size, loop_size):
    playbook = Playbook(emulator)
    fields = dict(template=TEMPLATE, simulated=True)
    devices = [dict(spec, display_name="Sensor %s" % spec["id"][-5:]) for spec in fleet(fleet_size, prefix="sensor")]

    emulator.reset()
    wall, out = playbook.run("fleet.yml", {"fleet_devices": devices, "fleet_defaults": fields})
    result = result_of(out)
    stats = emulator.stats()
    row("1. device_fleet create %d" % fleet_size, wall, stats, result["counts"]["failed"])
    check_violations(stats)
    print("   module: %s" % result)

    emulator.reset_stats()
    wall, out = playbook.run("fleet.yml", {"fleet_devices": devices, "fleet_defaults": fields})
    result = result_of(out)
    stats = emulator.stats()
    row("2. same playbook again (idempotent)", wall, stats, result["counts"]["failed"])
    check_violations(stats)
    print("   module: %s; writes seen by the emulator: %d" % (result, stats["writes"]))

    emulator.reset()
    loop = [dict(spec, display_name="Sensor %s" % spec["id"][-5:], **fields) for spec in fleet(loop_size, prefix="loop")]
    wall, out = playbook.run("device_loop.yml", {"fleet_devices": loop})
    stats = emulator.stats()
    row("3. device module loop create %d" % loop_size, wall, stats)
    check_violations(stats)

    emulator.reset()
    wall, out = playbook.run("fleet.yml", {"fleet_devices": loop})
    stats = emulator.stats()
    row("3b. device_fleet create the same %d" % loop_size, wall, stats, result_of(out)["counts"]["failed"])
    check_violations(stats)


if __name__ == "__main__":
    main()
