"""What a module process imports before it does anything: every task of a play starts one (forks over device hosts
start hundreds), and a module's zip is compiled afresh each time, so a heavy import nobody uses is paid per task."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILD = """
import json, sys
import ansible.module_utils.basic
before = set(sys.modules)
import ansible_collections.fleetops.iotcentral.plugins.modules.%s
print(json.dumps(sorted(set(sys.modules) - before)))
"""

# Used only by some inputs: an X.509 attestation (cryptography), a manifest file in YAML (PyYAML); the HTTP stack comes
# with the first request.
ON_DEMAND = ("cryptography", "yaml", "requests", "urllib3", "ansible_collections.fleetops.iotcentral.plugins.module_utils.x509")
LISTING = "ansible_collections.fleetops.iotcentral.plugins.module_utils.listing"


@pytest.mark.parametrize("module, on_demand", [
    ("device", ON_DEMAND + (LISTING,)),  # one device: no partitioned listing
    ("device_attestation", ON_DEMAND),
    ("device_attestation_info", ON_DEMAND),
    ("device_fleet", ON_DEMAND),
])
def test_a_module_imports_only_what_every_run_needs(module, on_demand):
    proc = subprocess.run([sys.executable, "-c", CHILD % module], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": ":".join(sys.path)})
    imported = json.loads(proc.stdout)
    assert [name for name in imported if name in on_demand or name.split(".")[0] in on_demand] == []
