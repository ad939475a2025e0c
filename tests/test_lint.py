"""Run ansible-lint (production profile, offline) over the repository.

Configuration lives in .ansible-lint at the repo root: profile, offline mode and excluded paths.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def tool(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail("%s is not installed (pip install -r requirements-test.txt)" % name, pytrace=False)
    return found


def build_collection_tree() -> Path:
    """Refresh .build/collections and return it."""
    proc = subprocess.run([str(REPO / "scripts" / "build-collection-tree")], cwd=str(REPO), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if proc.returncode != 0:
        pytest.fail("scripts/build-collection-tree failed:\n" + proc.stdout, pytrace=False)
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.mark.sanity
def test_ansible_lint_production_profile():
    config = REPO / ".ansible-lint"
    assert config.is_file(), ".ansible-lint is missing"
    env = dict(os.environ)
    env.pop("ANSIBLE_COLLECTIONS_PATHS", None)
    env.update(
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        NO_COLOR="1",
        PYTHONDONTWRITEBYTECODE="1",
        # Offline, ansible-lint does not install the collection it is linting into its cache, so
        # playbooks and examples using fleetops.iotcentral.* would fail syntax-check. The built
        # tree is this working tree's content under the layout Ansible searches; nothing else
        # (~/.ansible/collections, an installed release) may answer first.
        ANSIBLE_COLLECTIONS_PATH=str(build_collection_tree()),
    )
    # --offline repeats the config file's `offline: true`: Galaxy is never reachable from CI, so a
    # collection install attempt must not even start.
    cmd = [tool("ansible-lint"), "--offline", "--profile", "production", "-c", str(config), "--nocolor"]
    proc = subprocess.run(cmd, cwd=str(REPO), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=900, check=False)
    assert proc.returncode == 0, "$ %s\nansible-lint failed (exit %d):\n%s" % (" ".join(cmd), proc.returncode, proc.stdout)
