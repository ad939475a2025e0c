"""One fault run, shared by the suite (small) and ``make bench`` (large): playbooks through the fault proxy, then
the emulator's end state, read directly, against the declaration and against what the tasks reported.

Steps (each one ``ansible-playbook`` run of ``tests/integration/playbooks/fault_run.yml``, by tag):

``create``  ``device_fleet`` creates ``count`` devices;
``update``  ``device_fleet`` changes a third of them and purges the last tenth (not listed any more), then the
            ``device_group`` and ``enrollment_group`` modules create, update and delete a few groups.

After each step the emulator's state is compared with what the step declared: a *mismatch* is a device or group
that differs; an *unreported* mismatch is one that no failed task or fleet item owns; a *false failure* is a
reported failure whose resource is in fact as declared (outcome-unknown failures excepted: they say they do not
know).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO / "tests" / "integration" / "playbooks" / "fault_run.yml"
BIN = Path(sys.executable).parent
TEMPLATE = "dtmi:contoso:Thermostat;1"

DEVICE_GROUP_STEPS = [
    {"id": "fault-dg-1", "display_name": "Fault group 1", "filter": "SELECT * FROM devices WHERE $simulated = false",
     "description": "first"},
    {"id": "fault-dg-1", "description": "second"},
    {"id": "fault-dg-2", "display_name": "Fault group 2", "filter": "SELECT * FROM devices"},
    {"id": "fault-dg-2", "state": "absent"},
]
ENROLLMENT_GROUP_STEPS = [
    {"id": "fault-eg-1", "display_name": "Fault enrollment 1", "attestation": "symmetric_key"},
    {"id": "fault-eg-1", "enabled": False},
    {"id": "fault-eg-2", "display_name": "Fault enrollment 2", "attestation": "x509"},
    {"id": "fault-eg-2", "state": "absent"},
]


def fleet_declaration(count, prefix="fault"):
    """(devices to create, devices after the update): the update renames or disables a third, drops the last tenth."""
    created = [{"id": "%s-%04d" % (prefix, n), "display_name": "Fault device %d" % n, "enabled": n % 4 != 0}
               for n in range(count)]
    kept = created[:count - max(1, count // 10)]
    updated = []
    for n, device in enumerate(kept):
        device = dict(device)
        if n % 3 == 1:
            device["display_name"] += " (renamed)"
        elif n % 3 == 2:
            device["enabled"] = not device["enabled"]
        updated.append(device)
    return created, updated


def clean_env():
    """The environment without IOTCENTRAL_* and ANSIBLE_* settings of the caller, and the collection on the path."""
    env = dict((name, value) for name, value in os.environ.items() if not name.startswith(("IOTCENTRAL_", "ANSIBLE_")))
    env["ANSIBLE_COLLECTIONS_PATH"] = str(REPO / ".build" / "dev")
    return env


def final_groups(steps):
    """id -> the fields the last steps leave (None when absent)."""
    final = {}
    for step in steps:
        if step.get("state") == "absent":
            final[step["id"]] = None
        else:
            fields = dict(final.get(step["id"]) or {})
            fields.update((k, v) for k, v in step.items() if k not in ("id", "state"))
            final[step["id"]] = fields
    return final


class FaultRun:
    """Runs the steps through ``proxy`` (a :class:`faultproxy.FaultProxy` in front of the emulator at
    ``emulator_url``) and measures them."""

    def __init__(self, emulator_url, proxy, count=30, timeout=2.0, rate_limit=50, concurrency=8):
        from emulator.defaults import ADMIN_TOKEN  # pylint: disable=import-outside-toplevel

        self.emulator_url = emulator_url
        self.proxy = proxy
        self.count = count
        self.created, self.updated = fleet_declaration(count)
        self.variables = {
            "fault_create": self.created, "fault_update": self.updated, "fault_template": TEMPLATE,
            "fault_timeout": timeout, "fault_rate_limit": rate_limit, "fault_concurrency": concurrency,
            "fault_device_groups": DEVICE_GROUP_STEPS, "fault_enrollment_groups": ENROLLMENT_GROUP_STEPS,
        }
        self.env = clean_env()
        self.env.update({
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "IOTCENTRAL_BASE_URL": proxy.base_url,
            "IOTCENTRAL_API_TOKEN": ADMIN_TOKEN,
        })
        self.token = ADMIN_TOKEN

    # ------------------------------------------------------------------ running
    def run_step(self, tag):
        """One playbook run; returns (figures, results as the tasks registered them)."""
        self.proxy.reset_stats()
        with tempfile.TemporaryDirectory() as tmp:
            results_file = Path(tmp) / "results.json"
            vars_file = Path(tmp) / "vars.json"
            vars_file.write_text(json.dumps(dict(self.variables, fault_results_file=str(results_file))), encoding="utf-8")
            started = time.monotonic()
            proc = subprocess.run([str(BIN / "ansible-playbook"), str(PLAYBOOK), "--tags", tag, "-e", "@%s" % vars_file],
                                  capture_output=True, text=True, env=self.env, cwd=str(REPO), timeout=1800, check=False)
            wall = time.monotonic() - started
            if proc.returncode != 0 or not results_file.exists():
                raise AssertionError("fault_run.yml --tags %s failed (exit %d):\n%s" % (
                    tag, proc.returncode, (proc.stdout + proc.stderr)[-6000:]))
            results = json.loads(results_file.read_text(encoding="utf-8"))
        figures = self.evaluate(tag, results)
        figures.update(self.proxy.stats())
        figures["wall"] = wall
        return figures, results

    # ------------------------------------------------------------------ judging
    def _client(self):
        from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import (  # pylint: disable=import-outside-toplevel
            IoTCentralClient,
        )

        return IoTCentralClient(self.emulator_url, api_token=self.token)

    def evaluate(self, tag, results):
        client = self._client()
        from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import (  # pylint: disable=import-outside-toplevel
            list_devices,
        )

        devices = dict((d["id"], d) for d in list_devices(client, page_size=100))
        declared = self.created if tag == "create" else self.updated
        fleet = results["fleet"]
        mismatched = set()
        for spec in declared:
            device = devices.get(spec["id"])
            if device is None or device.get("displayName") != spec["display_name"] or \
                    device.get("enabled") != spec["enabled"] or device.get("template") != TEMPLATE:
                mismatched.add(spec["id"])
        listed = set(spec["id"] for spec in declared)
        for device_id, device in devices.items():
            if device.get("template") == TEMPLATE and device_id not in listed and tag == "update":
                mismatched.add(device_id)   # should have been purged
        failed = dict((error["id"], error["msg"]) for error in fleet.get("errors") or [])
        figures = {
            "step": tag,
            "fleet_failed_task": bool(fleet.get("failed")) and not failed,
            "mismatches": len(mismatched),
            "unreported": sorted(mismatched - set(failed)),
            "false_failures": sorted(device_id for device_id, msg in failed.items()
                                     if device_id not in mismatched and "outcome unknown" not in msg),
            "reported_failures": len(failed),
        }
        if tag == "update":
            self._evaluate_groups(client, results, figures)
        client.close()
        return figures

    def _evaluate_groups(self, client, results, figures):
        from ansible_collections.fleetops.iotcentral.plugins.module_utils.devicegroups import (  # pylint: disable=import-outside-toplevel
            get_group,
        )
        from ansible_collections.fleetops.iotcentral.plugins.module_utils.enrollmentgroups import (  # pylint: disable=import-outside-toplevel
            get_enrollment_group,
        )

        fields = {"display_name": "displayName", "description": "description", "filter": "filter", "enabled": "enabled"}
        for kind, steps, read in (("device_groups", DEVICE_GROUP_STEPS, get_group),
                                  ("enrollment_groups", ENROLLMENT_GROUP_STEPS, get_enrollment_group)):
            outcomes = results[kind]["results"]
            for group_id, want in final_groups(steps).items():
                have = read(client, group_id)
                if want is None:
                    ok = have is None
                else:
                    ok = have is not None and all(have.get(fields[k]) == v for k, v in want.items() if k in fields)
                runs = [outcome for step, outcome in zip(steps, outcomes) if step["id"] == group_id]
                last_failed = bool(runs and runs[-1].get("failed"))
                msg = str(runs[-1].get("msg", "")) if runs else ""
                if not ok:
                    figures["mismatches"] += 1
                    if not any(run.get("failed") for run in runs):
                        figures["unreported"].append(group_id)
                    elif last_failed:
                        figures["reported_failures"] += 1
                elif last_failed and "outcome unknown" not in msg:
                    figures["false_failures"].append(group_id)


def check_inventory(proxy, emulator_url, timeout=2.0):
    """``ansible-inventory --list`` through the proxy: (exit code, hosts listed, devices in the emulator).

    A complete inventory, or a failed command with no host: never part of the fleet."""
    from emulator.defaults import ADMIN_TOKEN  # pylint: disable=import-outside-toplevel

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "fault.iotcentral.yml"
        source.write_text("plugin: fleetops.iotcentral.devices\npage_size: 10\n", encoding="utf-8")
        env = clean_env()
        env.update({"ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1",
                    "IOTCENTRAL_BASE_URL": proxy.base_url, "IOTCENTRAL_API_TOKEN": ADMIN_TOKEN,
                    "IOTCENTRAL_TIMEOUT": str(timeout)})
        proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), "--list"], capture_output=True,
                              text=True, env=env, cwd=str(REPO), timeout=900, check=False)
    hosts = set(json.loads(proc.stdout)["_meta"]["hostvars"]) if proc.returncode == 0 else set()
    from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient  # pylint: disable=import-outside-toplevel
    from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import list_devices  # pylint: disable=import-outside-toplevel

    client = IoTCentralClient(emulator_url, api_token=ADMIN_TOKEN)
    devices = set(device["id"] for device in list_devices(client, page_size=100))
    client.close()
    return proc.returncode, hosts, devices
