"""What the unit tests of module_utils that talk to an in-process emulator share: the sample device templates, the
emulator (one per test module) and a client of it reset to its seed for each test.

Test modules import the ``emulator`` fixture and build their ``client`` fixture with
``yield from emulator_client(emulator)``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient

TESTS = Path(__file__).resolve().parents[3]
TEMPLATES = {t["@id"]: t for t in json.loads((TESTS / "emulator" / "data" / "device_templates.json").read_text())}
EDGE = json.loads((TESTS / "integration" / "files" / "edge_templates.json").read_text())[0]
THERMOSTAT = "dtmi:contoso:Thermostat;1"
CONTROLLER = "dtmi:contoso:TemperatureController;1"


@pytest.fixture(scope="module")
def emulator():
    """An in-process emulator with its rate limit off, for the tests of one module."""
    from emulator.server import start_emulator  # pylint: disable=import-outside-toplevel

    handle = start_emulator(port=0, rate_limit=0)
    yield handle
    handle.stop()


def emulator_client(handle, seed=None):
    """Generator for a fixture: a client of the emulator ``handle``, reset to its seed with its counters at zero and
    then given what ``seed(client)`` writes; after the test, closed, and no response of the emulator broke the spec."""
    from emulator.defaults import ADMIN_TOKEN  # pylint: disable=import-outside-toplevel

    handle.reset()
    handle.reset_stats()
    api = IoTCentralClient(handle.base_url, api_token=ADMIN_TOKEN, rate_limit=0)
    if seed is not None:
        seed(api)
    yield api
    api.close()
    assert handle.stats()["spec_violations"] == []
