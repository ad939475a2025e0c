"""The fleetops.iotcentral.devices inventory plugin through the real ``ansible-inventory`` CLI, against the emulator.

Each inventory file in tests/integration/inventory/ is run with ``--list`` and/or ``--graph`` and compared
with its golden output in tests/integration/inventory/golden/ (volatile fields normalised). The emulator
is seeded with the same fleet every time, through the API (device and device group PUTs) and its test
endpoints. Regenerate the golden files after an intended change with::

    FLEETOPS_UPDATE_GOLDEN=1 FLEETOPS_ANSIBLE_CORE=2.19 .venv/bin/python -m pytest tests/integration/test_inventory.py -p no:cacheprovider

and review the diff.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent / "inventory"
GOLDEN = HERE / "golden"
ERRORS = HERE / "errors"
UPDATE = os.environ.get("FLEETOPS_UPDATE_GOLDEN") == "1"
PREVIEW = "2022-10-31-preview"
THERMOSTAT = "dtmi:contoso:Thermostat;1"
CONTROLLER = "dtmi:contoso:TemperatureController;1"
EDGE = "dtmi:contoso:EnvironmentalSensorEdge;1"

# id -> (body of the PUT, provisioned afterwards?)
FLEET = {
    "checkout-thermostat": ({"displayName": "CheckoutThermostat", "template": THERMOSTAT, "simulated": True}, False),
    "thermostat-01": ({"displayName": "Lobby Thermostat", "template": THERMOSTAT, "organizations": ["seattle"]}, True),
    "thermostat-02": ({"displayName": "Lab Thermostat", "template": THERMOSTAT, "enabled": False}, False),
    "thermostat-03": ({"displayName": "Dock Thermostat", "template": THERMOSTAT, "enabled": False}, True),
    "thermostat-04": ({"displayName": "Lobby Thermostat", "template": THERMOSTAT, "organizations": ["redmond"]}, False),
    "controller-01": ({"displayName": "Boiler Controller", "template": CONTROLLER, "organizations": ["redmond"]}, True),
    "edge-gw-01": ({"displayName": "Edge Gateway 1", "template": EDGE, "organizations": ["seattle"]}, True),
    "edge-gw-02": ({"displayName": "Edge Gateway 2", "template": EDGE, "simulated": True}, False),
    "bare-device": ({"displayName": "Unassigned device"}, False),
}
SIMULATED = {"count": 5, "prefix": "sim", "template": THERMOSTAT, "simulated": True}
DEVICE_GROUPS = {
    "edge-fleet": {"displayName": "Edge fleet", "filter": 'SELECT * FROM devices WHERE $template = "%s"' % EDGE},
    "seattle": {"displayName": "Seattle devices", "filter": 'SELECT * FROM devices WHERE $organizations = "seattle"'},
    "provisioned-thermostats": {
        "displayName": "Provisioned thermostats",
        "filter": 'SELECT * FROM devices WHERE $template = "%s" AND $provisioned = true' % THERMOSTAT,
    },
    "empty-group": {"displayName": "Nobody (yet)", "filter": 'SELECT * FROM devices WHERE $id = "does-not-exist"'},
}


def seed(base_url, token):
    headers = {"Authorization": token}
    session = requests.Session()

    def call(method, path, **kwargs):
        for _attempt in range(50):
            response = session.request(method, base_url + path, headers=headers, timeout=30, **kwargs)
            if response.status_code != 429:
                break
            time.sleep(0.2)
        assert response.status_code < 300, (method, path, response.status_code, response.text)

    call("POST", "/__emulator__/reset")
    for device_id, (body, provisioned) in FLEET.items():
        call("PUT", "/api/devices/%s?api-version=%s" % (device_id, PREVIEW), json=body)
        if provisioned:
            call("POST", "/__emulator__/devices/%s/provision" % device_id, json={"provisioned": True})
    call("POST", "/__emulator__/seed", json=SIMULATED)
    for group_id, body in DEVICE_GROUPS.items():
        call("PUT", "/api/deviceGroups/%s?api-version=%s" % (group_id, PREVIEW), json=body)
    call("POST", "/__emulator__/stats/reset")


class Emulator:
    """A seeded emulator, and the ansible-core version (tools) the inventory runs with."""

    def __init__(self, handle, token, core):
        self.handle = handle
        self.base_url = handle.base_url
        self.token = token
        self.core = core

    def stats(self):
        return requests.get(self.base_url + "/__emulator__/stats", timeout=10).json()

    def reset_stats(self):
        requests.post(self.base_url + "/__emulator__/stats/reset", timeout=10).raise_for_status()


@pytest.fixture(scope="module")
def fleet(ansible_core):
    """An emulator of our own (the playbook tests reset theirs), seeded once: the inventory only reads."""
    from emulator.defaults import ADMIN_TOKEN
    from emulator.server import start_emulator

    handle = start_emulator(port=0)
    seed(handle.base_url, ADMIN_TOKEN)
    yield Emulator(handle, ADMIN_TOKEN, ansible_core)
    handle.stop()


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def output(self):
        return self.stdout + self.stderr


def base_env(emulator, **extra):
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("IOTCENTRAL_", "ANSIBLE_")):
            del env[name]
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "dev"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        # A source that fails must fail the command, as it does in AWX.
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "IOTCENTRAL_BASE_URL": emulator.base_url,
        "IOTCENTRAL_API_TOKEN": emulator.token,
    })
    env.update(extra)
    return dict((k, v) for k, v in env.items() if v is not None)


def inventory(emulator, source, *args, env=None):
    cmd = [str(emulator.core.bin / "ansible-inventory"), "-i", str(source)] + list(args)
    proc = subprocess.run(cmd, env=base_env(emulator, **(env or {})), cwd=str(REPO), capture_output=True, text=True,
                          timeout=300, check=False)
    return Result(proc)


def normalise_list(text, emulator):
    """``--list`` output as version-independent data (dumped sorted): no etag, no ``_meta.profile``, plain strings.

    ansible-core 2.19 wraps untrusted strings as ``{"__ansible_unsafe": "..."}`` and adds ``_meta.profile``
    to ``--list``; 2.16 to 2.18 print plain values. Both mean the same inventory.
    """
    data = json.loads(text.replace(emulator.base_url, "<base_url>"))
    data.get("_meta", {}).pop("profile", None)

    def scrub(value):
        if isinstance(value, dict):
            if set(value) == {"__ansible_unsafe"}:
                return scrub(value["__ansible_unsafe"])
            # The order of child groups is the order the groups were created in, which varies by version.
            return dict((k, sorted(scrub(v)) if k == "children" else scrub(v)) for k, v in value.items() if k != "etag")
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    return json.dumps(scrub(data), indent=2, sort_keys=True) + "\n"


def normalise_graph(text, emulator):
    return text.replace(emulator.base_url, "<base_url>").rstrip() + "\n"


def without_default_value_groups(data):
    """The golden data as ansible-core 2.16-2.18 build it: a ``keyed_groups`` entry whose key is null
    (a device without a template) adds no group there, even with ``default_value``; 2.19 adds the
    ``<prefix>_<default_value>`` group (docs/inventory.md, "ansible-core versions")."""
    data = json.loads(data)
    del data["tpl_none"]
    data["all"]["children"].remove("tpl_none")
    return json.dumps(data)


# Golden outputs that differ on some versions: name -> (first version with the golden behaviour, adjust).
VERSION_DIFFERENCES = {"prefix.list.json": ("2.19", without_default_value_groups)}


def check_golden(name, actual, core=None):
    path = GOLDEN / name
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail("no golden file %s; run with FLEETOPS_UPDATE_GOLDEN=1 to create it" % path.relative_to(REPO))
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    since, adjust = VERSION_DIFFERENCES.get(name, (None, None))
    if core is not None and since and not core.at_least(since):
        expected = adjust(expected)
    if name.endswith(".json"):
        # Parsed data, not text: key order and layout are not the inventory.
        actual, expected = json.loads(actual), json.loads(expected)
    assert actual == expected, "%s differs from the golden file (FLEETOPS_UPDATE_GOLDEN=1 regenerates it)" % name


def listed(emulator, source, *args, env=None):
    result = inventory(emulator, source, "--list", *args, env=env)
    assert result.rc == 0 and "WARNING" not in result.stderr, result.output
    return normalise_list(result.stdout, emulator)


def graphed(emulator, source, *args, env=None):
    result = inventory(emulator, source, "--graph", *args, env=env)
    assert result.rc == 0 and "WARNING" not in result.stderr, result.output
    return normalise_graph(result.stdout, emulator)


def assert_clean(emulator):
    stats = emulator.stats()
    assert stats["spec_violations"] == [], stats["spec_violations"]
    assert stats["writes"] == 0


# --------------------------------------------------------------------------- golden outputs


@pytest.mark.parametrize("name, modes", [
    ("basic", ("list", "graph")),
    ("filter", ("list",)),
    ("include_exclude", ("graph",)),
    ("hostnames", ("list",)),
    ("prefix", ("list",)),
    ("device_groups", ("list", "graph")),
    ("device_group_ids", ("graph",)),
    ("stable", ("graph",)),
])
@pytest.mark.all_cores
def test_golden(fleet, name, modes):
    source = HERE / ("%s.iotcentral.yml" % name)
    for mode in modes:
        if mode == "list":
            check_golden("%s.list.json" % name, listed(fleet, source), fleet.core)
        else:
            extra = ("--vars",) if name == "device_groups" else ()
            check_golden("%s.graph.txt" % name, graphed(fleet, source, *extra))
    assert_clean(fleet)


def test_paging_and_filters_reach_the_service(fleet):
    fleet.reset_stats()
    text = listed(fleet, HERE / "filter.iotcentral.yml")
    # Three enabled devices named ...Thermostat... plus the five simulated ones, two per page: four pages.
    assert len(json.loads(text)["_meta"]["hostvars"]) == 8
    assert fleet.stats()["by_method"] == {"GET": 4}


@pytest.mark.all_cores
def test_templated_token(fleet):
    text = graphed(fleet, HERE / "templated_token.iotcentral.yml",
                   env={"IOTCENTRAL_API_TOKEN": None, "FLEETOPS_INVENTORY_TOKEN": fleet.token})
    check_golden("templated_token.graph.txt", text)


@pytest.mark.all_cores
def test_vaulted_token(fleet, tmp_path):
    password = tmp_path / "vault-password"
    password.write_text("inventory-test-password\n", encoding="utf-8")
    encrypted = subprocess.run([str(fleet.core.bin / "ansible-vault"), "encrypt_string", "--vault-password-file", str(password),
                                fleet.token, "--name", "api_token"], capture_output=True, text=True, check=True,
                               env=base_env(fleet)).stdout
    source = tmp_path / "vaulted.iotcentral.yml"
    source.write_text((HERE / "basic.iotcentral.yml").read_text(encoding="utf-8") + encrypted, encoding="utf-8")
    text = listed(fleet, source, "--vault-password-file", str(password), env={"IOTCENTRAL_API_TOKEN": None})
    check_golden("basic.list.json", text)


@pytest.mark.all_cores
def test_cache_warm_run_makes_no_request(fleet, tmp_path):
    env = {"ANSIBLE_INVENTORY_CACHE_CONNECTION": str(tmp_path / "cache")}
    source = HERE / "cached.iotcentral.yml"
    fleet.reset_stats()
    cold = listed(fleet, source, env=env)
    cold_requests = fleet.stats()["requests"]
    # The device list (one page) and the device groups: their list and one member list each.
    assert cold_requests == 1 + 1 + len(DEVICE_GROUPS)
    check_golden("cached.list.json", cold)

    fleet.reset_stats()
    assert listed(fleet, source, env=env) == cold
    assert fleet.stats()["requests"] == 0

    # Another file asking the same of the service shares the entry; its groups and names are rebuilt from it.
    check_golden("cached_other_names.graph.txt", graphed(fleet, HERE / "cached_other_names.iotcentral.yml", env=env))
    assert fleet.stats()["requests"] == 0

    cached = list((tmp_path / "cache").iterdir())
    assert len(cached) == 1
    content = cached[0].read_text(encoding="utf-8")
    assert fleet.token not in content and "sig=" not in content and "SharedAccessSignature" not in content
    assert "symmetricKey" not in content and "primaryKey" not in content and "etag" not in content

    if fleet.core.at_least("2.19"):
        assert listed(fleet, source, "--flush-cache", env=env) == cold
    else:
        # ansible-inventory has --flush-cache only from ansible-core 2.19 on; docs/inventory.md tells users of
        # 2.16-2.18 to flush with ansible-playbook, which has it on every version.
        playbook = tmp_path / "noop.yml"
        playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks: []\n", encoding="utf-8")
        cmd = [str(fleet.core.bin / "ansible-playbook"), "-i", str(source), "--flush-cache", str(playbook)]
        proc = subprocess.run(cmd, env=base_env(fleet, **env), cwd=str(REPO), capture_output=True, text=True,
                              timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert fleet.stats()["requests"] == cold_requests
    fleet.reset_stats()
    assert listed(fleet, source, env=env) == cold
    assert fleet.stats()["requests"] == 0
    assert_clean(fleet)


def test_throttled_listing_is_retried_and_complete(fleet):
    from emulator.server import start_emulator

    handle = start_emulator(port=0, rate_limit=5)
    try:
        seed(handle.base_url, fleet.token)
        slow = Emulator(handle, fleet.token, fleet.core)
        text = graphed(slow, HERE / "throttled.iotcentral.yml")
        stats = slow.stats()
    finally:
        handle.stop()
    # One device per page: 14 pages at a client pace of 20/s against a limit of 5/s.
    assert stats["throttled"] > 0
    assert stats["requests"] == len(FLEET) + SIMULATED["count"] + stats["throttled"]
    check_golden("throttled.graph.txt", text)
    assert stats["spec_violations"] == []


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize("name, message", [
    ("collision", "hostname collision: devices thermostat-01 and thermostat-04 both get the hostname 'Lobby Thermostat'"),
    ("page_size", "fleetops.iotcentral.devices: page_size must be between 1 and 100, not 500"),
    ("prefix", "fleetops.iotcentral.devices: hostvars_prefix 'iot-c-' would not make valid variable names"),
    ("api_version", "2021-04-30"),
    ("hostnames", "fleetops.iotcentral.devices: hostnames must list at least one entry"),
    ("missing_group", "device_groups: device group 'no-such-group' does not exist in this application"),
    ("bad_filter", "GET /api/devices failed: HTTP 400 BadRequest: Invalid filter"),
    ("condition", "include/exclude condition \"iotc_colour == 'red'\" failed for device bare-device"),
])
@pytest.mark.all_cores
def test_bad_configuration_fails_with_a_clear_message(fleet, name, message):
    fleet.reset_stats()
    result = inventory(fleet, ERRORS / ("%s.iotcentral.yml" % name), "--list")
    assert result.rc != 0, result.output
    flat = re.sub(r"\s+", " ", result.stderr)
    # Warnings are wrapped to the terminal width, ansible-core < 2.19 also at hyphens: compare without whitespace.
    assert re.sub(r"\s+", "", message) in re.sub(r"\s+", "", flat), result.stderr
    assert fleet.token not in result.output
    assert '"_meta"' not in result.stdout
    if name in ("missing_group", "bad_filter"):
        assert re.search(r"requestId [0-9a-f-]{36}", flat), result.stderr
    assert_clean(fleet)


def test_unauthorized_token_fails_loudly(fleet):
    wrong = fleet.token.replace("skn=admin", "skn=nobody")
    result = inventory(fleet, HERE / "basic.iotcentral.yml", "--list", env={"IOTCENTRAL_API_TOKEN": wrong})
    assert result.rc != 0
    flat = re.sub(r"\s+", " ", result.stderr)
    assert "cannot read the devices of %s, so no host was added: GET /api/devices failed: HTTP 401" % fleet.base_url in flat
    assert re.search(r"requestId [0-9a-f-]{36}", flat) and "IOTCENTRAL_API_TOKEN" in flat
    assert wrong not in result.output and "sig=" not in result.output


def test_verify_file_refuses_other_file_names(fleet):
    fleet.reset_stats()
    result = inventory(fleet, ERRORS / "not_ours.yml", "--list",
                       env={"ANSIBLE_INVENTORY_ENABLED": "fleetops.iotcentral.devices"})
    assert result.rc != 0
    assert "Unable to parse" in result.stderr and "not_ours.yml" in result.stderr
    assert fleet.stats()["requests"] == 0


# --------------------------------------------------------------------------- a failed sync never empties hosts


def documented_failed_sync_settings():
    """The ``ansible.cfg`` text and environment variables docs/inventory.md tells users to set."""
    text = (REPO / "docs" / "inventory.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- failed-sync-settings -->(.*?)<!-- /failed-sync-settings -->", text, re.S)
    assert match, "docs/inventory.md lost its failed-sync-settings block"
    block = match.group(1)
    config = re.search(r"```ini\n(.*?)```", block, re.S).group(1)
    variables = re.findall(r"^export (ANSIBLE_[A-Z_]+)=(\S+)", block, re.M)
    return config, variables


def test_a_failed_sync_with_each_documented_setting_fails_the_command_and_adds_no_host(fleet, tmp_path):
    wrong = fleet.token.replace("skn=admin", "skn=nobody")
    source = HERE / "basic.iotcentral.yml"
    defaults = {"IOTCENTRAL_API_TOKEN": wrong, "ANSIBLE_INVENTORY_UNPARSED_FAILED": None,
                "ANSIBLE_INVENTORY_ENABLED": "fleetops.iotcentral.devices"}
    # What the documentation warns about: with Ansible's defaults a failed source is an empty, successful inventory.
    unsafe = inventory(fleet, source, "--list", env=defaults)
    assert unsafe.rc == 0 and json.loads(unsafe.stdout)["_meta"]["hostvars"] == {}, unsafe.output

    config, variables = documented_failed_sync_settings()
    assert variables, "no environment variable documented"
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text(config, encoding="utf-8")
    for name, env in [("ansible.cfg", dict(defaults, ANSIBLE_CONFIG=str(cfg)))] + [
            (var, dict(defaults, **{var: value})) for var, value in variables]:
        result = inventory(fleet, source, "--list", env=env)
        assert result.rc != 0, "%s did not fail the command:\n%s" % (name, result.output)
        assert '"_meta"' not in result.stdout and "HTTP 401" in result.stderr, name

    # ansible-playbook stops before any play runs.
    playbook = tmp_path / "site.yml"
    playbook.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.debug: {msg: ran}\n",
                        encoding="utf-8")
    proc = subprocess.run([str(fleet.core.bin / "ansible-playbook"), "-i", str(source), str(playbook)], capture_output=True,
                          text=True, env=base_env(fleet, **dict(defaults, ANSIBLE_CONFIG=str(cfg))), cwd=str(REPO),
                          timeout=300, check=False)
    assert proc.returncode != 0 and "PLAY RECAP" not in proc.stdout, proc.stdout + proc.stderr


def test_the_inventory_honours_ca_path_when_requests_ca_bundle_is_set(fleet, tmp_path):
    """AWX execution nodes with a corporate CA set REQUESTS_CA_BUNDLE; an inventory's ca_path must still win."""
    import certifi
    from faultproxy import start_fault_proxy
    from faultproxy.tls import server_context

    context, cert = server_context(tmp_path)
    front = start_fault_proxy(fleet.base_url, rate=0.0, ssl_context=context)
    try:
        text = listed(fleet, HERE / "basic.iotcentral.yml", env={
            "IOTCENTRAL_BASE_URL": front.base_url, "IOTCENTRAL_CA_PATH": cert, "REQUESTS_CA_BUNDLE": certifi.where()})
    finally:
        front.stop()
    assert len(json.loads(text)["_meta"]["hostvars"]) == len(FLEET) + SIMULATED["count"]
