"""device_fleet with writable properties, 1,000 devices, against an emulator enforcing 20 requests/second.

No listing of the API shows property values, so reading them is one GET per device: what does that cost?

P1. set one writable property on 1,000 existing thermostats (seeded), through ``defaults.properties``;
P2. the same playbook again after the devices acknowledged (the test-only bulk acknowledge endpoint);
P3. the same playbook while the devices have not acknowledged a change yet (compared with the pending desired value);
P4. one device in ten gets another value: 100 PATCHes;
P0. for comparison, the same 1,000 devices without ``properties`` (the listing only).

Every scenario runs at each ``--latency`` (default 0 and 80 ms per request); ``--scale`` shrinks the counts.
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

SIZE = 1000


def measure(emulator, playbook, label, variables):
    emulator.reset_stats()
    wall, out = playbook.run("fleet.yml", variables)
    result = result_of(out)
    stats = emulator.stats()
    row(label, wall, stats, result["counts"]["failed"])
    check_violations(stats)
    print("   module: %s; writes seen by the emulator: %d" % (result, stats["writes"]))
    return result


def main():
    args = bench_parser(__doc__).parse_args()
    size = scaled(SIZE, args, minimum=10)
    print("== bench_fleet_properties: device_fleet properties on %d devices (emulator at 20 requests/second)" % size)
    print("machine: " + machine())
    for_each_latency(args, lambda emulator: run_scenarios(emulator, size))


def run_scenarios(emulator, size):
    playbook = Playbook(emulator)
    emulator.reset()
    emulator.seed(size, prefix="dev", template=TEMPLATE)
    devices = fleet(size, prefix="dev")
    plain = {"fleet_devices": devices, "fleet_defaults": {"template": TEMPLATE}}
    measure(emulator, playbook, "P0. %d devices, no properties" % size, plain)
    variables = {"fleet_devices": devices,
                 "fleet_defaults": {"template": TEMPLATE, "properties": {"targetTemperature": 21}}}
    measure(emulator, playbook, "P1. set a property on %d devices" % size, variables)
    emulator.session.post(emulator.base_url + "/__emulator__/properties/acknowledge", timeout=60).raise_for_status()
    measure(emulator, playbook, "P2. again, acknowledged (idempotent)", variables)
    changed = [dict(spec, properties={"targetTemperature": 18}) if number % 10 == 0 else spec
               for number, spec in enumerate(devices, 1)]
    variables_changed = dict(variables, fleet_devices=changed)
    measure(emulator, playbook, "P3. 10% get another value", variables_changed)
    measure(emulator, playbook, "P4. again, not acknowledged (idempotent)", variables_changed)


if __name__ == "__main__":
    main()
