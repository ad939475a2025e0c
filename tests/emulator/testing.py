"""Helpers and pytest fixtures for tests that talk to the emulator.

Import the fixtures into a conftest.py::

    from emulator.testing import (emulator_session, emulator_module, fresh_emulator,  # noqa: F401
                                  admin_headers, reader_headers)

``emulator_session`` / ``emulator_module`` start one emulator (port 0, rate
limit off) per session / module. ``fresh_emulator`` is the session emulator
emptied (devices, stats, rate-limit buckets) before the test.
"""

import os
import select
import subprocess
import sys
import tempfile

from . import defaults
from .server import start_emulator

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STABLE = defaults.STABLE_VERSION
PREVIEW = defaults.PREVIEW_VERSION
API_VERSIONS = defaults.API_VERSIONS
# Extra templates for tests of modules and components (--templates-file): an IoT Edge gateway whose module has
# writable properties, a component and commands.
EDGE_TEMPLATES_FILE = os.path.join(TESTS_DIR, "integration", "files", "edge_templates.json")


def admin_token_headers():
    return {"Authorization": defaults.ADMIN_TOKEN}


def reader_token_headers():
    return {"Authorization": defaults.READER_TOKEN}


def bearer_headers(role="admin"):
    token = defaults.ADMIN_BEARER if role == "admin" else defaults.READER_BEARER
    return {"Authorization": "Bearer " + token}


def api_url(base_url, path, api_version=STABLE):
    """``base_url`` + ``/api/<path>?api-version=<v>`` (``path`` may start with or without /api)."""
    path = path if path.startswith("/api/") else "/api/" + path.lstrip("/")
    return "%s%s%sapi-version=%s" % (base_url, path, "&" if "?" in path else "?", api_version)


def error_of(response, status):
    """The ``error`` object of a response, after asserting its status."""
    assert response.status_code == status, response.text
    return response.json()["error"]


def spec_violations(handle):
    return handle.stats()["spec_violations"]


def assert_no_spec_violations(handle):
    violations = spec_violations(handle)
    assert not violations, "spec violations:\n" + "\n".join(
        "%(side)s %(method)s %(path)s (api-version %(api_version)s, status %(status)s): %(message)s" % v
        for v in violations)


class ApiClient:
    """Minimal requests-based client bound to one emulator, api-version and token."""

    def __init__(self, base_url, api_version=STABLE, headers=None, session=None):
        import requests

        self.base_url = base_url
        self.api_version = api_version
        self.headers = dict(headers if headers is not None else admin_token_headers())
        self.session = session or requests.Session()

    def request(self, method, path, **kwargs):
        headers = dict(self.headers, **kwargs.pop("headers", {}))
        return self.session.request(method, api_url(self.base_url, path, self.api_version), headers=headers,
                                    timeout=kwargs.pop("timeout", 10), **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def list_all(self, path, **kwargs):
        """Follow nextLink until the last page; returns every item."""
        items = []
        response = self.get(path, **kwargs)
        while True:
            response.raise_for_status()
            body = response.json()
            items.extend(body["value"])
            if not body.get("nextLink"):
                return items
            response = self.session.get(body["nextLink"], headers=self.headers, timeout=10)

    def close(self):
        self.session.close()


class CliEmulator:
    """An emulator running as ``python -m emulator`` in a subprocess."""

    def __init__(self, process, base_url, port, stderr=None):
        self.process = process
        self.base_url = base_url
        self.port = port
        self._stderr = stderr
        self.remaining_stdout = ""
        self.stderr_output = ""

    def stderr_text(self):
        if self._stderr is None or self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self, timeout=10):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdout and not self.process.stdout.closed:
            self.remaining_stdout = self.process.stdout.read()
            self.process.stdout.close()
        if self._stderr is not None and not self._stderr.closed:
            self.stderr_output = self.stderr_text()
            self._stderr.close()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_cli_emulator(*args, timeout=20, python=None):
    """Start ``python -m emulator --port 0 <args>`` and wait for its 'listening' line."""
    env = dict(os.environ)
    env["PYTHONPATH"] = TESTS_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # stderr goes to a file: an unread pipe could fill up and block the emulator.
    stderr = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen([python or sys.executable, "-m", "emulator", "--port", "0"] + list(args),
                               stdout=subprocess.PIPE, stderr=stderr, env=env, text=True)
    ready = select.select([process.stdout], [], [], timeout)[0]
    line = process.stdout.readline() if ready else ""
    if not line.startswith("IoT Central emulator listening on "):
        process.kill()
        process.wait(5)
        stderr.seek(0)
        message = stderr.read()
        stderr.close()
        raise RuntimeError("emulator did not start: %r %s" % (line, message))
    base_url = line.strip().rsplit(" ", 1)[1]
    return CliEmulator(process, base_url, int(base_url.rsplit(":", 1)[1]), stderr)


# pytest fixtures -------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # Only the fixtures need pytest; the helpers above do not.
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="session")
    def emulator_session():
        handle = start_emulator(port=0, rate_limit=0)
        yield handle
        handle.stop()

    @pytest.fixture(scope="module")
    def emulator_module():
        handle = start_emulator(port=0, rate_limit=0)
        yield handle
        handle.stop()

    @pytest.fixture
    def fresh_emulator(emulator_session):
        emulator_session.reset()
        emulator_session.emulator.limiter.reset()
        emulator_session.reset_stats()
        return emulator_session

    @pytest.fixture
    def admin_headers():
        return admin_token_headers()

    @pytest.fixture
    def reader_headers():
        return reader_token_headers()
