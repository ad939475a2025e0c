"""The collection as Galaxy, Automation Hub and a newcomer get it: the `ansible-galaxy collection build` tarball.

* test_tarball_*: what the tarball holds (everything a user needs, nothing of the test tooling, no demo
  output, no key, no virtualenv), read from the tarball itself.
* test_readme_install_*: the README's install section, followed literally in a clean virtualenv with a
  HOME of its own (not the Makefile, not .venv): install ansible-core, install the tarball, see the
  documented error without `requests`, `pip install -r requirements.txt`, start the emulator as the README
  says, run the how-to playbook twice (the second run changes nothing) and the X.509 demo, which must keep
  its keys out of the installed collection.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))
# What may ship from tests/: ansible-test's configuration and ignore files (Automation Hub runs ansible-test).
SHIPPED_TESTS = ("tests/config.yml", "tests/sanity/ignore-*.txt")
PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")


def run(cmd, **kwargs):
    kwargs.setdefault("timeout", 900)
    proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False, **kwargs)
    return proc


def build_tarball(output: Path) -> Path:
    output.mkdir(parents=True, exist_ok=True)
    proc = run([BIN / "ansible-galaxy", "collection", "build", "--force", "--output-path", output, REPO], cwd=str(REPO))
    assert proc.returncode == 0, proc.stdout
    tarballs = list(output.glob("%s-%s-*.tar.gz" % (GALAXY["namespace"], GALAXY["name"])))
    assert len(tarballs) == 1, proc.stdout
    return tarballs[0]


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    return build_tarball(tmp_path_factory.mktemp("galaxy-build"))


@pytest.fixture(scope="module")
def members(tarball):
    with tarfile.open(str(tarball)) as archive:
        return {m.name: (archive.extractfile(m).read() if m.isfile() else None) for m in archive.getmembers()}


def git_files() -> set:
    out = run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=str(REPO)).stdout
    return {line for line in out.splitlines() if line and (REPO / line).is_file()}


# --------------------------------------------------------------------------- the tarball


def test_tarball_holds_what_a_user_needs(members, tarball):
    files = {name for name, data in members.items() if data is not None}
    for needed in ("README.md", "LICENSE", "requirements.txt", "meta/runtime.yml", "meta/execution-environment.yml",
                   "MANIFEST.json", "FILES.json", "tests/config.yml", "demo/howto.yml"):
        assert needed in files, "%s is missing from %s" % (needed, tarball.name)
    plugins = {path for path in git_files() if path.startswith("plugins/") and not path.endswith(".pyc")}
    assert plugins <= files, "plugins missing from the tarball: %s" % sorted(plugins - files)
    docs = {path for path in git_files() if path.startswith("docs/") and not path.startswith("docs/docsite/rst/")}
    assert docs <= files, "docs missing from the tarball: %s" % sorted(docs - files)
    manifest = json.loads(members["MANIFEST.json"])["collection_info"]
    assert manifest["license"] == ["GPL-3.0-or-later"]
    assert b"GNU GENERAL PUBLIC LICENSE" in members["LICENSE"] and b"Version 3, 29 June 2007" in members["LICENSE"]
    print("\n%s: %.1f KiB, %d files" % (tarball.name, tarball.stat().st_size / 1024.0, len(files)))


def test_tarball_holds_no_test_tooling_or_local_state(members):
    unwanted = []
    for name in members:
        parts = name.split("/")
        if parts[0] in (".venv", ".build", ".demo", ".git", ".ansible", ".ci", ".pytest_cache", "scripts") or \
                "__pycache__" in parts or name.endswith((".pyc", ".tar.gz")) or name in ("Makefile", "requirements-test.txt"):
            unwanted.append(name)
        elif parts[0] == "tests" and members[name] is not None and \
                not any(fnmatch.fnmatch(name, pattern) for pattern in SHIPPED_TESTS):
            # A new folder under tests/ must be added to galaxy.yml's build_ignore.
            unwanted.append(name)
    assert not unwanted, "the tarball holds files a user does not need: %s" % sorted(unwanted)


def test_tarball_holds_no_private_key(members):
    keys = sorted(name for name, data in members.items() if data is not None and PRIVATE_KEY.search(data))
    assert not keys, "private keys in the tarball: %s" % keys


# --------------------------------------------------------------------------- the README's install section


class Newcomer:
    """A clean virtualenv and a HOME of its own, following the README."""

    def __init__(self, root: Path):
        self.root = root
        self.home = root / "home"
        self.home.mkdir()
        self.venv = root / "venv"
        self.collection = self.home / ".ansible" / "collections" / "ansible_collections" / "fleetops" / "iotcentral"
        self.env = {name: value for name, value in os.environ.items()
                    if not name.startswith(("ANSIBLE_", "IOTCENTRAL_", "FLEETOPS_", "VIRTUAL_ENV", "PYTHON"))}
        self.env.update(HOME=str(self.home), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
                        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
                        PATH=str(self.venv / "bin") + os.pathsep + os.environ.get("PATH", ""),
                        # Same pins as the suite: the README's unpinned commands, reproducibly.
                        PIP_CONSTRAINT=str(REPO / "requirements-test.txt"), PIP_DISABLE_PIP_VERSION_CHECK="1")

    def __call__(self, *cmd, check=True):
        proc = run(cmd, env=self.env, cwd=str(self.root))
        if check:
            assert proc.returncode == 0, "$ %s\n%s" % (" ".join(str(c) for c in cmd), proc.stdout)
        return proc


def collection_files(path: Path) -> set:
    return {str(p.relative_to(path)) for p in path.rglob("*") if "__pycache__" not in p.parts}


@pytest.mark.integration
def test_readme_install_section_from_the_tarball(tarball, tmp_path):
    user = Newcomer(tmp_path)
    python = user.venv / "bin" / "python"
    assert run([sys.executable, "-m", "venv", user.venv]).returncode == 0
    user(python, "-m", "pip", "install", "--quiet", "ansible-core")
    user("ansible-galaxy", "collection", "install", tarball)
    assert (user.collection / "requirements.txt").is_file()
    installed = collection_files(user.collection)

    from emulator.defaults import ADMIN_TOKEN  # pylint: disable=import-outside-toplevel

    # The README's emulator command, from the checkout, in a Python that has jsonschema (the project's).
    port_file = tmp_path / "port"
    emulator = subprocess.Popen([sys.executable, "-m", "emulator", "--port", "0", "--port-file", str(port_file)],
                                cwd=str(REPO), env=dict(os.environ, PYTHONPATH="tests"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text(encoding="utf-8").strip()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert port_file.is_file(), "the emulator did not start"
        user.env.update(IOTCENTRAL_BASE_URL="http://127.0.0.1:%s" % port_file.read_text(encoding="utf-8").strip(),
                        IOTCENTRAL_API_TOKEN=ADMIN_TOKEN)
        howto = user.collection / "demo" / "howto.yml"

        # Before step 2 the first task fails, with the message the README quotes.
        missing = user("ansible-playbook", howto, check=False)
        assert missing.returncode != 0
        assert "Failed to import the required Python library (requests)" in re.sub(r"\s+", " ", missing.stdout), missing.stdout

        user(python, "-m", "pip", "install", "--quiet", "-r", user.collection / "requirements.txt")
        first = user("ansible-playbook", howto)
        assert re.search(r"localhost\s*:.*changed=[1-9]", first.stdout), first.stdout
        second = user("ansible-playbook", howto)
        assert re.search(r"localhost\s*:.*changed=0 .*failed=0", second.stdout), second.stdout

        # The X.509 demo writes its test CA's private key to ~/.fleetops-demo, not into the collection.
        user("ansible-playbook", user.collection / "demo" / "groups.yml")
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
    assert collection_files(user.collection) == installed, "running the demos wrote into the installed collection"
    certs = user.home / ".fleetops-demo" / "certs"
    assert any(PRIVATE_KEY.search(p.read_bytes()) for p in certs.iterdir() if p.is_file()), sorted(certs.iterdir())
    shutil.rmtree(str(user.venv), ignore_errors=True)


# --- execution environments (ansible-builder) ---------------------------------------------------


@pytest.fixture(scope="module")
def installed_collections(tarball, tmp_path_factory):
    path = tmp_path_factory.mktemp("ee-collections")
    proc = run([BIN / "ansible-galaxy", "collection", "install", "-p", path, tarball])
    assert proc.returncode == 0, proc.stdout
    return path


def test_ansible_builder_introspect_finds_the_python_packages(installed_collections):
    """What an execution environment built with the collection gets: requests and cryptography."""
    proc = run([BIN / "ansible-builder", "introspect", "--sanitize", installed_collections])
    assert proc.returncode == 0, proc.stdout
    data = yaml.safe_load(proc.stdout.split("---", 1)[1])
    packages = {re.split(r"[<>=!~ ;#\[]", entry.strip("'"), maxsplit=1)[0].lower() for entry in data.get("python") or []}
    assert {"requests", "cryptography"} <= packages, proc.stdout
    assert not data.get("system"), "a system package is needed: add bindep.txt and say so in the README\n" + proc.stdout


def test_ansible_builder_create_accepts_the_sample_definition(tmp_path):
    """docs/execution-environment.yml makes a build context (the image build itself needs a container runtime)."""
    context = tmp_path / "context"
    proc = run([BIN / "ansible-builder", "create", "-f", REPO / "docs" / "execution-environment.yml", "-c", context])
    assert proc.returncode == 0, proc.stdout
    containerfiles = [context / name for name in ("Containerfile", "Dockerfile") if (context / name).is_file()]
    assert containerfiles, proc.stdout
    recipe = containerfiles[0].read_text(encoding="utf-8")
    assert "ansible-galaxy collection install" in recipe or "install-from-bindep" in recipe, recipe
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert {"name": "fleetops.iotcentral"} in requirements["collections"]
