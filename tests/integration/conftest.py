"""Fixtures for playbook tests: one emulator per pytest worker, and a runner for ansible-playbook.

A test using ``run_playbook`` (or ``ansible_core``) runs on the newest claimed ansible-core version; marked
``@pytest.mark.all_cores`` it runs once per claimed version (tests/core_versions.py: 2.16 ... 2.19, each from its
own pinned virtualenv). FLEETOPS_ANSIBLE_CORE narrows the versions, FLEETOPS_CORE_MATRIX=full runs every test on
every version (make test-matrix). The emulator runs in the pytest process; only the Ansible side changes.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"

import core_versions


class PlaybookResult:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def output(self):
        return self.stdout + self.stderr

    def recap(self):
        """The PLAY RECAP counters for localhost, e.g. {'ok': 5, 'changed': 0, 'failed': 0, ...}."""
        for line in self.stdout.splitlines():
            if line.startswith("localhost") and "ok=" in line:
                return dict((k, int(v)) for k, v in (item.split("=") for item in line.split(":", 1)[1].split()))
        raise AssertionError("no PLAY RECAP in output:\n" + self.output)


class AnsibleCore:
    """One ansible-core version's tools: ``bin`` holds ansible-playbook, ansible-inventory and python."""

    def __init__(self, version):
        self.version = version
        self.bin = core_versions.bin_dir(version)
        self.python = self.bin / "python"

    def at_least(self, version):
        return core_versions.version_key(self.version) >= core_versions.version_key(version)


def pytest_generate_tests(metafunc):
    """Parametrize ``ansible_core`` (directly or through fixtures such as run_playbook) by the test's versions."""
    if "ansible_core" in metafunc.fixturenames:
        every = metafunc.definition.get_closest_marker("all_cores") is not None
        metafunc.parametrize("ansible_core", core_versions.versions_for(every), indirect=True, scope="session",
                             ids=lambda version: "core" + version)


@pytest.fixture(scope="session")
def ansible_core(request):
    """The ansible-core version's tools (the parameter comes from pytest_generate_tests above)."""
    return AnsibleCore(request.param)


@pytest.fixture(scope="session")
def emulator():
    from emulator.server import start_emulator

    handle = start_emulator(port=0)
    yield handle
    handle.stop()


@pytest.fixture
def fresh_emulator(emulator):
    requests.post(emulator.base_url + "/__emulator__/reset", timeout=10).raise_for_status()
    requests.post(emulator.base_url + "/__emulator__/stats/reset", timeout=10).raise_for_status()
    return emulator


@pytest.fixture
def run_playbook(fresh_emulator, ansible_core):
    from emulator.defaults import ADMIN_TOKEN, READER_TOKEN

    def run(name, extra_vars=None, args=(), env=None, token=ADMIN_TOKEN):
        variables = {"emulator_url": fresh_emulator.base_url, "reader_token": READER_TOKEN}
        variables.update(extra_vars or {})
        environment = dict(os.environ)
        environment.update({
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "dev"),
            "ANSIBLE_PYTHON_INTERPRETER": str(ansible_core.python),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "IOTCENTRAL_BASE_URL": fresh_emulator.base_url,
            "IOTCENTRAL_API_TOKEN": token,
        })
        environment.pop("IOTCENTRAL_APP", None)
        environment.update(env or {})
        cmd = [str(ansible_core.bin / "ansible-playbook"), str(PLAYBOOKS / name), "-e", json.dumps(variables)] + list(args)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=environment, cwd=str(REPO), timeout=600, check=False)
        return PlaybookResult(proc)

    return run
