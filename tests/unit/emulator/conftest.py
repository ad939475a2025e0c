"""Puts tests/ on sys.path so the ``emulator`` package imports, and shares its fixtures."""

import os
import sys

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

# pylint: disable=unused-import,wrong-import-position
from emulator.testing import (admin_headers, emulator_module, emulator_session, fresh_emulator,  # noqa: E402,F401
                              reader_headers)

import pytest  # noqa: E402

from emulator.testing import PREVIEW, ApiClient  # noqa: E402


@pytest.fixture
def client_for(fresh_emulator):  # pylint: disable=redefined-outer-name
    """``client_for(version=PREVIEW, headers=None)``: an ApiClient on the fresh emulator, closed after the test."""
    clients = []

    def make(version=PREVIEW, headers=None):
        client = ApiClient(fresh_emulator.base_url, version, headers=headers)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(scope="module")
def edge_emulator():
    """An emulator (rate limit off) that also has the test IoT Edge gateway template with module capabilities."""
    from emulator.server import start_emulator  # pylint: disable=import-outside-toplevel
    from emulator.testing import EDGE_TEMPLATES_FILE  # pylint: disable=import-outside-toplevel

    handle = start_emulator(port=0, rate_limit=0, templates_file=EDGE_TEMPLATES_FILE)
    yield handle
    handle.stop()
