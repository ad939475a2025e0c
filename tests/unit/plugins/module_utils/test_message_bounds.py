"""Fuzz: no error message grows with the input. Values quoted in messages are cut to a readable length.

Seeded, so a failure reproduces; each case prints the call and the message length when it fails.
"""

from __future__ import annotations

import random
import string

import pytest

from ansible_collections.fleetops.iotcentral.plugins.module_utils import client as client_utils
from ansible_collections.fleetops.iotcentral.plugins.module_utils.certificates import validate_entry
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import (
    IoTCentralClient,
    IoTCentralError,
    check_ca_path,
    check_transport,
    normalize_base_url,
    parse_sas_token,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devicegroups import validate_group_id
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import validate_device_id
from ansible_collections.fleetops.iotcentral.plugins.module_utils.enrollmentgroups import ensure_enrollment_group
from ansible_collections.fleetops.iotcentral.plugins.module_utils.fleet import validate_fleet
from ansible_collections.fleetops.iotcentral.plugins.module_utils.inventory import InventoryError, check_options
from ansible_collections.fleetops.iotcentral.plugins.module_utils.manifests import validate_manifest_id

# A message a person reads on one screen; the longest legitimate ones (conflicts, hints) stay well below it.
BOUND = 1000
ROUNDS = 40
ALPHABET = string.ascii_letters + string.digits + " -_.:;'\"\n\t{}[]()%$\\/" + "\u00e9\u4e2d\U0001f600"


def big_text(rng, depth=0):
    # Megabyte values only at the top: a list of a thousand of them would only measure the machine's memory.
    length = rng.choice((0, 1, 200, 2000, 50000, 1000000) if depth == 0 else (0, 1, 200, 2000))
    return "".join(rng.choice(ALPHABET) for _index in range(min(length, 300))) * max(1, length // 300)


def fuzz_value(rng, depth=0):
    kind = rng.randrange(7 if depth < 2 else 4)
    if kind == 0:
        return big_text(rng, depth)
    if kind == 1:
        return rng.choice((None, True, False, 0, -1, 10 ** rng.randrange(1, 400), 1e308))
    if kind == 2:
        return "x" * rng.choice((129, 256, 5000, 1000000 if depth == 0 else 2000))
    if kind == 3:
        return rng.choice(("", " ", "\n", "a" * (100000 if depth == 0 else 100) + "\n" + "b"))
    if kind == 4:
        return [fuzz_value(rng, depth + 1) for _index in range(rng.choice((1, 3, 1000)))]
    if kind == 5:
        return dict(("k%d" % index, fuzz_value(rng, depth + 1)) for index in range(rng.choice((1, 5, 500))))
    return (big_text(rng, depth),) * 3


class RaisingClient:
    """Any call fails with an error carrying an oversized service message and path."""

    def __init__(self, message):
        self.message = message

    def get(self, path, **_kwargs):
        raise IoTCentralError(self.message, status=400, code="BadRequest", method="GET", path=path + self.message)


class EmptyApp:
    """No resource exists; a write would fail (fuzzed specs must be refused before any write)."""

    @staticmethod
    def get(_path, **_kwargs):
        return None

    @staticmethod
    def put(path, _body, **_kwargs):
        raise IoTCentralError("unexpected write", method="PUT", path=path)


def calls(value):
    """(name, callable) pairs that each take ``value`` somewhere a user or the service can put it."""
    text = value if isinstance(value, str) else type(value).__name__
    return [
        ("validate_device_id", lambda: validate_device_id(value)),
        ("validate_group_id", lambda: validate_group_id(value)),
        ("validate_manifest_id", lambda: validate_manifest_id(value)),
        ("validate_entry", lambda: validate_entry(value)),
        ("fleet id", lambda: validate_fleet([{"id": value}])),
        ("fleet enabled", lambda: validate_fleet([{"id": "ok", "enabled": value}])),
        ("fleet state", lambda: validate_fleet([{"id": "ok", "state": value}])),
        ("fleet display_name", lambda: validate_fleet([{"id": "ok", "display_name": value}])),
        ("fleet unknown field", lambda: validate_fleet([{"id": "ok", text: 1, text + "2": 2}])),
        ("fleet defaults", lambda: validate_fleet([], defaults={"organizations": value})),
        ("enrollment attestation", lambda: ensure_enrollment_group(EmptyApp(), {"id": "g", "attestation": value})),
        ("enrollment type", lambda: ensure_enrollment_group(EmptyApp(), {"id": "g", "type": value})),
        ("enrollment key", lambda: ensure_enrollment_group(EmptyApp(), {"id": "g", "primary_key": value})),
        ("inventory hostnames", lambda: check_options(hostnames=[value])),
        ("inventory prefix", lambda: check_options(hostvars_prefix=text)),
        ("inventory device_groups", lambda: check_options(device_groups=[value])),
        ("inventory group names", lambda: check_options(group_name_source=value)),
        ("base_url", lambda: normalize_base_url(base_url=text)),
        ("app", lambda: normalize_base_url(app=text)),
        ("api_token", lambda: parse_sas_token("SharedAccessSignature " + text)),
        ("api_version", lambda: IoTCentralClient("https://a.azureiotcentral.com", bearer_token="t", api_version=value)),
        ("plain http", lambda: check_transport("http://%s.example" % text)),
        ("ca_path", lambda: check_ca_path("/nonexistent/" + text.replace("\x00", ""))),
        ("service message", lambda: RaisingClient(text).get("/devices/x")),
    ]


@pytest.mark.parametrize("seed", range(ROUNDS))
def test_no_message_grows_with_the_input(seed):
    rng = random.Random(seed)
    value = fuzz_value(rng)
    for name, call in calls(value):
        try:
            call()
        except (ValueError, TypeError, InventoryError, IoTCentralError) as exc:
            message = str(exc)
            assert len(message) <= BOUND, "%s: a %d-character message for a %s input" % (
                name, len(message), type(value).__name__)


def test_a_one_megabyte_id_gives_a_short_message_that_says_how_long_it_was():
    with pytest.raises(ValueError) as caught:
        validate_device_id("a" * 1000000)
    message = str(caught.value)
    assert len(message) < 400 and "'...(1000000 characters)" in message and message.startswith("id 'aaaa")


def test_clip_keeps_short_values_whole():
    assert client_utils.clip("short") == "short"
    assert client_utils.quoted("x" * 10, limit=5) == "'xxxxx'...(10 characters)"
    assert client_utils.quoted(list(range(100000))).startswith("[0, 1, 2")
