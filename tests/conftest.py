"""Session-wide test setup: import paths for the collection and the emulator."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
# ansible_collections.fleetops.iotcentral must be importable: a symlinked collections tree under the
# git-ignored .build folder points back at this checkout, so edits are seen without a rebuild.
DEV_COLLECTIONS = REPO / ".build" / "dev"


def _ensure_dev_tree():
    link = DEV_COLLECTIONS / "ansible_collections" / "fleetops" / "iotcentral"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink(REPO, link)
        except FileExistsError:
            pass
    return DEV_COLLECTIONS


_ensure_dev_tree()
# The machine-wide rate budget (module_utils/ratelimit.py) is keyed by the application URL: test runs of several
# checkouts would share the buckets of their fake hosts. Tests that are about it turn it on for themselves.
os.environ.setdefault("IOTCENTRAL_SHARED_BUDGET", "false")
for entry in (str(DEV_COLLECTIONS), str(TESTS)):
    if entry not in sys.path:
        sys.path.insert(0, entry)
