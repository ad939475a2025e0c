"""app_export at application scale, against an emulator enforcing 20 requests/second.

7. export an application of 10,000 thermostats (seeded with the emulator's /__emulator__/seed) plus a few groups:
   the reads are one listing page per 100 devices, one listing per other section, the template once, and the
   properties of every device (its template has a writable property, and no listing shows properties), so the floor
   is the request count divided by 20 per second. Measured twice: in-process (the module's own work: reads, rendering), and as an
   ansible-playbook run (plus Ansible's start-up). The second export of the unchanged application writes nothing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import (  # noqa: E402
    SERVICE_RATE,
    TEMPLATE,
    Playbook,
    bench_parser,
    check_violations,
    for_each_latency,
    machine,
    row,
    scaled,
)

APP_SIZE = 10000


def export_in_process(emulator):
    """The export's reads and rendering without Ansible around them; returns (seconds, files)."""
    from ansible_collections.fleetops.iotcentral.plugins.module_utils.appexport import SECTIONS, read_application, render
    from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient
    from emulator.defaults import ADMIN_TOKEN

    client = IoTCentralClient(emulator.base_url, api_token=ADMIN_TOKEN, rate_limit=SERVICE_RATE, pool_size=8)
    started = time.monotonic()
    texts = render(read_application(client, SECTIONS))
    return time.monotonic() - started, texts


def seed_groups(emulator):
    session, base = emulator.session, emulator.base_url + "/api"
    from emulator.defaults import ADMIN_TOKEN

    headers = {"Authorization": ADMIN_TOKEN}
    for number in range(1, 4):
        session.put("%s/deviceGroups/group-%d?api-version=2022-07-31" % (base, number), headers=headers, timeout=30,
                    json={"displayName": "Group %d" % number, "filter": "SELECT * FROM devices"}).raise_for_status()
    session.put(base + "/enrollmentGroups/store-sensors?api-version=2022-07-31", headers=headers, timeout=30,
                json={"displayName": "Store", "type": "iot", "attestation": {"type": "symmetricKey"}}).raise_for_status()


def main():
    args = bench_parser(__doc__).parse_args()
    size = scaled(APP_SIZE, args)
    print("== bench_app_export: app_export of a %d-device application (emulator at 20 requests/second)" % size)
    print("machine: " + machine())
    for_each_latency(args, lambda emulator: run_scenarios(emulator, size))


def run_scenarios(emulator, size):
    emulator.reset()
    emulator.seed(size, prefix="dev", template=TEMPLATE)
    seed_groups(emulator)

    emulator.reset_stats()
    wall, texts = export_in_process(emulator)
    stats = emulator.stats()
    row("7. export %d devices, in-process" % size, wall, stats)
    check_violations(stats)
    text = texts["app.yml"]
    print("   file: %d lines, %d bytes" % (text.count("\n"), len(text.encode("utf-8"))))

    playbook = Playbook(emulator)
    with tempfile.TemporaryDirectory() as scratch:
        variables = {"app_export_dest": str(Path(scratch) / "app.yml")}
        for label in ("7b. export with ansible-playbook",):
            emulator.reset_stats()
            wall, out = playbook.run("app_export.yml", variables)
            stats = emulator.stats()
            row(label, wall, stats)
            check_violations(stats)
            print("   changed: %s" % ("changed=1" in out))
        same = (Path(scratch) / "app.yml").read_text(encoding="utf-8") == text
        print("   playbook file identical to the in-process export: %s" % same)


if __name__ == "__main__":
    main()
