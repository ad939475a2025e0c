"""Import time of the module_utils a module loads, each measured in a fresh interpreter.

Our module_utils are timed from source, without cached bytecode, which is how they run inside an AnsiballZ
payload (a zip: nothing is cached between runs); the machine's load shows in the times, so the number of
modules each import adds is printed too.

Every module pays for ``ansible.module_utils.basic``; what matters here is what our module_utils add on top of
it, and that the heavy imports (``requests``, ``concurrent.futures``) stay lazy: they are paid only by a run
that sends a request or starts a thread pool, never by one that fails argument validation.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import ensure_dev_tree, machine  # noqa: E402

RUNS = 9
PACKAGE = "ansible_collections.fleetops.iotcentral.plugins.module_utils."
# In the order a module's imports pull them in; each is timed on top of the ones before it.
STEPS = [
    ("ansible.module_utils.basic (every module)", "ansible.module_utils.basic"),
    ("module_utils.client", PACKAGE + "client"),
    ("module_utils.common", PACKAGE + "common"),
    ("module_utils.devices", PACKAGE + "devices"),
    ("module_utils.fleet", PACKAGE + "fleet"),
]
LAZY = ("requests", "urllib3", "concurrent.futures", "cryptography")

PROBE = r"""
import importlib, json, sys, tempfile, time
sys.path.insert(0, %(tree)r)
sys.dont_write_bytecode = True
times = []
added = []
for index, name in enumerate(%(names)r):
    if index == 1:
        # From here on, bytecode is looked up in an empty folder: our files compile from source, as in AnsiballZ.
        cache = tempfile.TemporaryDirectory()
        sys.pycache_prefix = cache.name
    before = len(sys.modules)
    started = time.perf_counter()
    importlib.import_module(name)
    times.append(time.perf_counter() - started)
    added.append(len(sys.modules) - before)
cache.cleanup()
print(json.dumps({"times": times, "added": added, "loaded": [m for m in %(lazy)r if m in sys.modules]}))
"""


def probe():
    code = PROBE % {"tree": str(ensure_dev_tree()), "names": [name for _label, name in STEPS], "lazy": LAZY}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def main():
    print("== bench_import: import time of device_fleet's module_utils (median of %d fresh interpreters)" % RUNS)
    print("machine: " + machine())
    samples = [probe() for _run in range(RUNS)]
    print("%-44s %10s %10s" % ("import (on top of the lines above)", "median ms", "modules"))
    total = 0.0
    modules = 0
    for index, (label, _name) in enumerate(STEPS):
        median = statistics.median(sample["times"][index] for sample in samples) * 1000.0
        added = samples[0]["added"][index]
        if index:
            total += median
            modules += added
        print("%-44s %10.1f %10d" % (label, median, added))
    print("%-44s %10.1f %10d" % ("our module_utils together", total, modules))
    loaded = sorted(set(name for sample in samples for name in sample["loaded"]))
    lazy = "none (%s stay lazy)" % ", ".join(LAZY)
    print("heavy modules loaded by these imports: %s" % (", ".join(loaded) if loaded else lazy))


if __name__ == "__main__":
    main()
