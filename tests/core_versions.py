"""The ansible-core versions the collection claims (meta/runtime.yml), each with a pinned virtualenv.

The project virtualenv (.venv, from requirements-test.txt) holds the newest claimed ansible-core. Every
other claimed minor version has a pinned requirements file, tests/requirements/ansible-core-<X.Y>.txt,
from which a virtualenv is built on first use and cached, keyed by the file's hash, under
``$XDG_CACHE_HOME/fleetops/ansible-core/`` (``~/.cache/...`` by default), like ansible-test caches its
sanity virtualenvs: a changed pin builds a new one, an unchanged one is reused. A lock per virtualenv
lets pytest-xdist workers and parallel checkouts share them.

Which tests run on which version (``make test`` / ``make test-matrix``, see docs/development.md):

* ``FLEETOPS_ANSIBLE_CORE=2.19`` (or ``2.16,2.19``) limits the matrix to those versions (default: all).
* By default a version-dependent test runs on the newest selected version only, unless it is marked
  ``@pytest.mark.all_cores`` (a representative set chosen where versions differ: templating, inventory JSON,
  argument_spec messages, no_log), which runs on every selected version, as ansible-test sanity does.
* ``FLEETOPS_CORE_MATRIX=full`` runs every version-dependent test on every selected version.

By hand: ``.venv/bin/python tests/core_versions.py 2.16`` builds (if needed) and prints the bin directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO / "tests" / "requirements"
PIN_FILE = re.compile(r"^ansible-core-(\d+\.\d+)\.txt$")
BUILD_TIMEOUT = 900


def running_version() -> str:
    """The ansible-core minor version of the interpreter running the tests (the project virtualenv)."""
    from ansible.release import __version__  # pylint: disable=import-outside-toplevel

    return ".".join(__version__.split(".")[:2])


def pinned_versions() -> dict:
    """{'2.16': Path(tests/requirements/ansible-core-2.16.txt), ...}."""
    found = {}
    for path in REQUIREMENTS.glob("ansible-core-*.txt"):
        match = PIN_FILE.match(path.name)
        if match:
            found[match.group(1)] = path
    return found


def version_key(version: str) -> tuple:
    return tuple(int(part) for part in version.split("."))


def all_versions() -> list:
    """Every version that has a virtualenv: the pinned files plus the project virtualenv's, oldest first."""
    return sorted(set(pinned_versions()) | {running_version()}, key=version_key)


def selected_versions() -> list:
    """The matrix this run covers: all versions, or those named in FLEETOPS_ANSIBLE_CORE."""
    wanted = os.environ.get("FLEETOPS_ANSIBLE_CORE", "").replace(" ", "")
    versions = all_versions()
    if not wanted:
        return versions
    chosen = [v for v in wanted.split(",") if v]
    unknown = [v for v in chosen if v not in versions]
    if unknown:
        raise ValueError("FLEETOPS_ANSIBLE_CORE names %s; known versions: %s" % (", ".join(unknown), ", ".join(versions)))
    return sorted(chosen, key=version_key)


def full_matrix() -> bool:
    """FLEETOPS_CORE_MATRIX=full: every version-dependent test on every selected version (make test-matrix)."""
    mode = os.environ.get("FLEETOPS_CORE_MATRIX", "") or "representative"
    if mode not in ("full", "representative"):
        raise ValueError("FLEETOPS_CORE_MATRIX is %r; use full or representative" % mode)
    return mode == "full"


def versions_for(all_cores: bool) -> list:
    """The versions a test runs on: every selected one for an ``all_cores`` test (or in the full matrix),
    else the newest selected one."""
    versions = selected_versions()
    return versions if all_cores or full_matrix() else versions[-1:]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fleetops" / "ansible-core"


def venv_dir(version: str) -> Path:
    """Where the virtualenv of a pinned version lives (its name carries the requirements hash)."""
    requirements = pinned_versions()[version]
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    return cache_root() / ("%s-py%d.%d-%s" % (version, sys.version_info[0], sys.version_info[1], digest))


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path), "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _build(venv: Path, requirements: Path) -> None:
    """Build in place (a virtualenv cannot be moved: its scripts hold its path); `.complete` marks success."""
    shutil.rmtree(str(venv), ignore_errors=True)
    # sys.executable may be a virtualenv's python: venv uses its base interpreter either way.
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=BUILD_TIMEOUT)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "--quiet"]
    proc = subprocess.run(pip + ["install", "-r", str(requirements)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=BUILD_TIMEOUT, check=False)
    if proc.returncode != 0:
        shutil.rmtree(str(venv), ignore_errors=True)
        raise RuntimeError("pip install -r %s failed:\n%s" % (requirements, proc.stdout))
    (venv / ".complete").write_text(requirements.read_text(encoding="utf-8"), encoding="utf-8")


def bin_dir(version: str) -> Path:
    """The bin directory with ansible-playbook, ansible-inventory, ansible-test, python of that version."""
    if version == running_version():
        return Path(sys.executable).parent
    pins = pinned_versions()
    if version not in pins:
        raise ValueError("no tests/requirements/ansible-core-%s.txt" % version)
    venv = venv_dir(version)
    if not (venv / ".complete").is_file():
        with _locked(venv.with_name(venv.name + ".lock")):
            if not (venv / ".complete").is_file():
                _build(venv, pins[version])
    return venv / "bin"


if __name__ == "__main__":
    for arg in sys.argv[1:] or all_versions():
        print(bin_dir(arg))
