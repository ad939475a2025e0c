"""Puts tests/ on sys.path so the ``emulator`` package imports, and shares its fixtures."""

import json
import os
import sys

import pytest

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

# pylint: disable=unused-import,wrong-import-position
from emulator.testing import (admin_headers, emulator_module, emulator_session, fresh_emulator,  # noqa: E402,F401
                              reader_headers)
from emulator.server import start_emulator  # noqa: E402


@pytest.fixture(scope="module")
def emu():
    """One emulator per contract test module, without rate limiting."""
    handle = start_emulator(port=0, rate_limit=0)
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def no_violations_after_each_test(emu):
    """Every contract test starts from an empty application and ends with no spec violation recorded."""
    emu.reset()
    emu.reset_stats()
    yield
    violations = emu.stats()["spec_violations"]
    assert violations == [], "emulator spec violations:\n" + "\n".join(json.dumps(v) for v in violations)
