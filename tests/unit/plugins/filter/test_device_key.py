"""Unit tests for the fleetops.iotcentral.device_key filter."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


# tests/conftest.py makes ansible_collections.fleetops.iotcentral importable.
REPO = Path(__file__).resolve().parents[4]

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetops.iotcentral.plugins.filter.device_key import FilterModule, device_key

# Worked example of Azure DPS's "How to provision legacy devices using symmetric keys" article (group key, registration
# ID and the derived key its openssl and PowerShell snippets print).
DPS_GROUP_KEY = "8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJFFXJrqYKi9yegxkqIChbqOS9Egw=="
DPS_REGISTRATION_ID = "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6"
DPS_DERIVED_KEY = "Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc="


def _reference(group_key, device_id):
    raw = base64.b64decode(group_key)
    return base64.b64encode(hmac.new(raw, device_id.encode("utf-8"), hashlib.sha256).digest()).decode()


def test_documented_dps_example():
    assert device_key(DPS_GROUP_KEY, DPS_REGISTRATION_ID) == DPS_DERIVED_KEY


@pytest.mark.parametrize("device_id", ["sample-device-01", "a", "dev-" + "x" * 120, "gerät-ü"])
def test_matches_independent_computation(device_id):
    group_key = base64.b64encode(bytes(range(64))).decode()
    derived = device_key(group_key, device_id)
    assert derived == _reference(group_key, device_id)
    assert len(base64.b64decode(derived)) == 32


def test_fixed_vector():
    # 32 zero bytes as the key and "device1": the expected value was computed once with hmac/hashlib.
    group_key = base64.b64encode(b"\x00" * 32).decode()
    expected = base64.b64encode(hmac.new(b"\x00" * 32, b"device1", hashlib.sha256).digest()).decode()
    assert device_key(group_key, "device1") == expected


def test_bytes_and_whitespace_are_accepted():
    assert device_key(DPS_GROUP_KEY.encode(), DPS_REGISTRATION_ID.encode()) == DPS_DERIVED_KEY
    wrapped = DPS_GROUP_KEY[:40] + "\n  " + DPS_GROUP_KEY[40:] + "\n"
    assert device_key(wrapped, DPS_REGISTRATION_ID) == DPS_DERIVED_KEY


def test_different_devices_get_different_keys():
    assert device_key(DPS_GROUP_KEY, "dev-1") != device_key(DPS_GROUP_KEY, "dev-2")


@pytest.mark.parametrize("bad_key", ["not base64!", "abc", "@@@@", "YWJj=YWJj", "a===", "secret-key_value"])
def test_non_base64_key(bad_key):
    with pytest.raises(AnsibleFilterError, match="group key is not valid base64") as info:
        device_key(bad_key, "dev-1")
    assert bad_key not in str(info.value)


@pytest.mark.parametrize("group_key,device_id,match", [
    ("", "dev", "group key is empty"),
    (DPS_GROUP_KEY, "", "device ID is empty"),
    (None, "dev", "group key must be a string, not NoneType"),
    (DPS_GROUP_KEY, None, "device ID must be a string, not NoneType"),
    (["k"], "dev", "group key must be a string, not list"),
    (DPS_GROUP_KEY, 5, "device ID must be a string, not int"),
    (b"\xff\xfe", "dev", "group key is not valid UTF-8"),
])
def test_bad_arguments(group_key, device_id, match):
    with pytest.raises(AnsibleFilterError, match=match) as info:
        device_key(group_key, device_id)
    assert DPS_GROUP_KEY not in str(info.value)


def test_filter_is_registered():
    assert FilterModule().filters()["device_key"] is device_key


def test_through_ansible(tmp_path):
    """End to end: the filter resolves by its FQCN from a collections path and yields the documented key."""
    ansible = Path(sys.executable).with_name("ansible")
    if not ansible.exists():
        pytest.skip("ansible CLI not installed next to the test interpreter")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".build" / "dev"), ANSIBLE_LOCAL_TEMP=str(tmp_path),
               ANSIBLE_HOME=str(tmp_path), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CONFIG", None)
    expr = "{{ '%s' | fleetops.iotcentral.device_key('%s') }}" % (DPS_GROUP_KEY, DPS_REGISTRATION_ID)
    proc = subprocess.run([str(ansible), "localhost", "-c", "local", "-m", "ansible.builtin.debug", "-a", "msg=" + expr],
                          env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Ad-hoc output is "localhost | SUCCESS => {json}".
    result = json.loads(proc.stdout.split("=>", 1)[1])
    assert result["msg"] == DPS_DERIVED_KEY
