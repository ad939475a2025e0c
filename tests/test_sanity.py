"""Run `ansible-test sanity` over the collection, as Galaxy/Automation Hub would, on every claimed ansible-core.

Each ansible-core version in tests/core_versions.py (2.16 ... 2.19) runs its own ansible-test from its own
pinned virtualenv; FLEETOPS_ANSIBLE_CORE narrows the matrix.

ansible-test only works inside ansible_collections/<namespace>/<name>/, so the collection is first
mirrored by scripts/build-collection-tree into .build/collections/ (see docs/development.md).

Set FLEETOPS_SKIP_SANITY=1 to skip the ansible-test run (for example on a machine with no PyPI
access and no cached sanity virtualenvs); nothing else skips it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import core_versions

REPO = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO / "scripts" / "build-collection-tree"
PYTHON_VERSION = "%d.%d" % sys.version_info[:2]
# Cold runs create ~8 virtualenvs from PyPI; a warm run takes well under a minute.
SANITY_TIMEOUT = int(os.environ.get("FLEETOPS_SANITY_TIMEOUT", "1800"))

# Marker line that identifies a bootstrap script written by this file (and not a real get-pip.py).
BOOTSTRAP_MARKER = "# fleetops.iotcentral offline pip bootstrap for ansible-test"

# ansible-test bootstraps pip into each sanity virtualenv with a get-pip.py that it downloads from
# ci-files.testing.ansible.com. That host is not reachable from our machines (only PyPI is), so a
# stand-in is put where ansible-test caches the download. It does what get-pip.py does, with
# ensurepip (stdlib, offline) plus pip's own install from the configured index.
BOOTSTRAP_SCRIPT = textwrap.dedent('''\
    {marker}
    # Written by tests/test_sanity.py. Stands in for ansible-test's get-pip.py download.
    # Usage (by ansible-test): python get_pip.py [pip options] pip==X [--no-setuptools] [--no-wheel]
    import subprocess
    import sys

    FLAGS = ("--no-setuptools", "--no-wheel")
    args = [arg for arg in sys.argv[1:] if arg not in FLAGS]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
    for flag, package in (("--no-setuptools", "setuptools"), ("--no-wheel", "wheel")):
        if flag in sys.argv[1:]:
            subprocess.call([sys.executable, "-m", "pip", "uninstall", "-y", "-q", package])
''').format(marker=BOOTSTRAP_MARKER)


def venv_bin(version: str = "") -> Path:
    """The bin directory of an ansible-core version's virtualenv (by default the project's, running pytest)."""
    return core_versions.bin_dir(version) if version else Path(sys.executable).parent


def tool(name: str, version: str = "") -> str:
    """Path of a console script from the (version's) virtualenv, else from PATH."""
    candidate = venv_bin(version) / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail("%s is not installed (pip install -r requirements-test.txt)" % name, pytrace=False)
    return found


def tool_env(version: str = "") -> dict:
    """Environment for the ansible tools: the venv first on PATH, no bytecode in the mirror."""
    env = dict(os.environ)
    env["PATH"] = str(venv_bin(version)) + os.pathsep + env.get("PATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # These would override what ansible-test derives from the current directory.
    for name in ("ANSIBLE_TEST_CONTENT_ROOT", "ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"):
        env.pop(name, None)
    return env


def build_collection_tree() -> Path:
    """Refresh the mirror and return the collection directory inside it."""
    proc = subprocess.run([str(BUILD_SCRIPT)], cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    if proc.returncode != 0:
        pytest.fail("scripts/build-collection-tree failed:\n" + proc.stdout, pytrace=False)
    collections_path = Path(proc.stdout.strip().splitlines()[-1])
    return collections_path / "ansible_collections" / "fleetops" / "iotcentral"


def ansible_test_pip_version(version: str = "") -> str:
    """The pip version ansible-test (of that ansible-core version) bootstraps (its cache file name depends on it)."""
    python = str(venv_bin(version) / "python") if version else sys.executable
    proc = subprocess.run([python, "-c", "import ansible_test, os; print(os.path.dirname(ansible_test.__file__))"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if proc.returncode != 0:
        pytest.fail("ansible_test is not importable from %s:\n%s" % (python, proc.stdout), pytrace=False)
    source = Path(proc.stdout.strip()) / "_internal" / "python_requirements.py"
    match = re.search(r"""\bpip=['"]([0-9][^'"]*)['"]""", source.read_text(encoding="utf-8"))
    if not match:
        pytest.fail("cannot find the pinned pip version in %s; update tests/test_sanity.py" % source, pytrace=False)
    return match.group(1)


def ensure_pip_bootstrap(core: str = "") -> Path:
    """Put the offline get-pip stand-in where ansible-test looks for its cached download."""
    version = ansible_test_pip_version(core)
    cache = Path.home() / ".ansible" / "test" / "cache" / ("get_pip_%s.py" % version.replace(".", "_"))
    if cache.exists():
        current = cache.read_text(encoding="utf-8", errors="replace")
        # A real get-pip.py (downloaded where the host is reachable) is left alone.
        if not current.startswith(BOOTSTRAP_MARKER) or current == BOOTSTRAP_SCRIPT:
            return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_name(cache.name + ".%d.tmp" % os.getpid())
    partial.write_text(BOOTSTRAP_SCRIPT, encoding="utf-8")
    os.replace(str(partial), str(cache))
    return cache


@contextlib.contextmanager
def sanity_venv_lock():
    """Serialize ansible-test runs of this suite on one machine.

    ansible-test creates its per-test virtualenvs under ~/.ansible/test/venv without any locking;
    two cold runs at once (e.g. two checkouts, or pytest-xdist with several sessions) build the same
    virtualenv concurrently and can stall or corrupt it.
    """
    lock_dir = Path.home() / ".ansible" / "test"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(str(lock_dir / "fleetops-sanity.lock"), "w", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def summarize(output: str) -> str:
    """The lines that say what failed, ahead of the full (pip-heavy on a cold run) output."""
    keep = [line for line in output.splitlines() if line.startswith(("ERROR:", "FATAL:"))]
    return "\n".join(keep)


@pytest.fixture(scope="module")
def collection_tree() -> Path:
    return build_collection_tree()


@pytest.mark.sanity
@pytest.mark.xdist_group("ansible-test-sanity")
@pytest.mark.parametrize("core", core_versions.selected_versions(), ids=lambda version: "core" + version)
def test_ansible_test_sanity(collection_tree, core):
    if os.environ.get("FLEETOPS_SKIP_SANITY") == "1":
        pytest.skip("FLEETOPS_SKIP_SANITY=1: ansible-test sanity not run")
    ensure_pip_bootstrap(core)

    # --local: the controller is that version's virtualenv (.venv for the newest, else a pinned cached one);
    # each sanity test still gets its own ansible-test-managed virtualenv under ~/.ansible/test/venv.
    cmd = [tool("ansible-test", core), "sanity", "--local", "--python", PYTHON_VERSION, "--color", "no"]
    try:
        with sanity_venv_lock():
            proc = subprocess.run(cmd, cwd=str(collection_tree), env=tool_env(core), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, universal_newlines=True, timeout=SANITY_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail("ansible-test sanity timed out after %ss:\n%s" % (SANITY_TIMEOUT, exc.output or ""), pytrace=False)

    header = "$ cd %s && %s\n" % (collection_tree, " ".join(cmd))
    if proc.returncode != 0:
        pytest.fail("%sansible-test sanity failed (exit %d).\n\nErrors:\n%s\n\nFull output:\n%s"
                    % (header, proc.returncode, summarize(proc.stdout), proc.stdout), pytrace=False)
    # ansible-test passes when it finds no files at all (e.g. when the mirror lost its own git
    # repository and the outer repo's .gitignore hides it); that would be a silent no-op.
    if "All targets skipped" in proc.stdout:
        pytest.fail("%sansible-test saw no files in the collection tree:\n%s" % (header, proc.stdout), pytrace=False)


@pytest.mark.sanity
@pytest.mark.xdist_group("ansible-test-sanity")
def test_ansible_test_units(collection_tree):
    """`ansible-test units --local` (what Automation Hub's checks run) collects and passes the unit tests as
    ansible-test imports them: as ansible_collections.fleetops.iotcentral.tests.unit... modules.

    The collection's own unit tests (tests/unit/plugins) only: the emulator's tests (tests/unit/emulator) need the
    official specs beside the checkout (../shared), which the collection tree does not have; pytest runs them."""
    if os.environ.get("FLEETOPS_SKIP_SANITY") == "1":
        pytest.skip("FLEETOPS_SKIP_SANITY=1: ansible-test units not run")
    cmd = [tool("ansible-test"), "units", "--local", "--python", PYTHON_VERSION, "--color", "no", "tests/unit/plugins/"]
    proc = subprocess.run(cmd, cwd=str(collection_tree), env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=SANITY_TIMEOUT, check=False)
    assert proc.returncode == 0, "$ cd %s && %s\n%s" % (collection_tree, " ".join(cmd), proc.stdout)
    assert re.search(r"\b[1-9][0-9]* passed\b", proc.stdout), proc.stdout


def _git_files(path: Path) -> set:
    out = subprocess.run(["git", "-C", str(path), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         stdout=subprocess.PIPE, check=True).stdout.decode("utf-8", "surrogateescape")
    return set(filter(None, out.split("\0")))


def _make_repo(root: Path) -> None:
    """A tiny git repository with the build script in it, for exercising the script alone."""
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(str(BUILD_SCRIPT), str(root / "scripts" / BUILD_SCRIPT.name))
    subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(root)], check=True)
    (root / ".gitignore").write_text(".build/\nignored.txt\n", encoding="utf-8")
    (root / "galaxy.yml").write_text("namespace: fleetops\nname: iotcentral\nversion: 0.1.0\n", encoding="utf-8")
    (root / "plugins" / "modules").mkdir(parents=True)
    (root / "plugins" / "modules" / "one.py").write_text("# one\n", encoding="utf-8")
    (root / "plugins" / "modules" / "two.py").write_text("# two\n", encoding="utf-8")
    (root / "ignored.txt").write_text("not content\n", encoding="utf-8")
    # Must never be mirrored, even before .gitignore lists it.
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").write_text("", encoding="utf-8")


@pytest.mark.parametrize("rsync", [False, True], ids=["python-copy", "rsync"])
def test_build_collection_tree(tmp_path, rsync):
    if rsync and not shutil.which("rsync"):
        pytest.skip("rsync is not installed; the Python copier is covered by the other case")
    root = tmp_path / "repo"
    _make_repo(root)
    env = dict(os.environ, FLEETOPS_BUILD_NO_RSYNC="0" if rsync else "1")
    script = [str(root / "scripts" / BUILD_SCRIPT.name)]

    def build() -> Path:
        proc = subprocess.run(script, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, check=True,
                              universal_newlines=True)
        assert proc.stdout.strip() == str(root / ".build" / "collections")
        return Path(proc.stdout.strip()) / "ansible_collections" / "fleetops" / "iotcentral"

    dest = build()
    expected = {".gitignore", "galaxy.yml", "plugins/modules/one.py", "plugins/modules/two.py", "scripts/build-collection-tree"}
    assert _git_files(dest) == expected
    assert os.access(str(dest / "scripts" / BUILD_SCRIPT.name), os.X_OK)

    # Deleted, changed and new files are all reflected; left-over files are removed.
    (root / "plugins" / "modules" / "two.py").unlink()
    (root / "plugins" / "modules" / "one.py").write_text("# one, edited\n", encoding="utf-8")
    (root / "plugins" / "filter").mkdir()
    (root / "plugins" / "filter" / "three.py").write_text("# three\n", encoding="utf-8")
    (dest / "stale.txt").write_text("left over\n", encoding="utf-8")
    (dest / "tests" / "output").mkdir(parents=True)
    (dest / "tests" / "output" / "result.json").write_text("{}", encoding="utf-8")
    dest = build()
    expected = (expected - {"plugins/modules/two.py"}) | {"plugins/filter/three.py"}
    assert _git_files(dest) == expected
    assert (dest / "plugins" / "modules" / "one.py").read_text(encoding="utf-8") == "# one, edited\n"
    assert not (dest / "stale.txt").exists()
    # ansible-test's results in the mirror survive a rebuild.
    assert (dest / "tests" / "output" / "result.json").exists()


def test_repo_tree_matches_git():
    """The real mirror holds exactly what git considers part of the repo."""
    attempts = 3
    mirrored = listed = set()
    for dummy in range(attempts):
        # Files appearing or vanishing between the build and the comparison (someone editing the
        # work tree meanwhile) are not a build bug; a real mismatch persists across rebuilds.
        mirrored = _git_files(build_collection_tree())
        listed = {p for p in _git_files(REPO) if not p.startswith((".build/", ".venv/", "tests/output/"))}
        listed = {p for p in listed if (REPO / p).is_file() or (REPO / p).is_symlink()}
        if mirrored == listed:
            return
    pytest.fail("mirror differs from git ls-files after %d builds: missing %s, extra %s"
                % (attempts, sorted(listed - mirrored), sorted(mirrored - listed)), pytrace=False)


if __name__ == "__main__":
    # `python tests/test_sanity.py` prepares the machine for running ansible-test by hand.
    print(ensure_pip_bootstrap())
    print(build_collection_tree())
