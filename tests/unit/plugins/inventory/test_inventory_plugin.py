"""Unit tests of the fleetops.iotcentral.devices plugin class with a real InventoryData and templar, no network.

Options are given as the plugin would get them from its configuration file (trusted for templating,
defaults from the plugin's documentation); the API is :class:`FakeApp`. The real CLI is exercised by
tests/integration/test_inventory.py.
"""

from __future__ import annotations

import json
import os

import pytest
import yaml
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.doc_fragments.constructed import ModuleDocFragment as ConstructedFragment
from ansible.plugins.doc_fragments.inventory_cache import ModuleDocFragment as CacheFragment
from ansible_collections.fleetops.iotcentral.tests.unit.plugins.inventory.iotc_inventory_fakes import FLEET, TOKEN, FakeApp, device

from ansible_collections.fleetops.iotcentral.plugins.doc_fragments.connection import ModuleDocFragment as ConnectionFragment
from ansible_collections.fleetops.iotcentral.plugins.inventory import devices as plugin_module
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralError
from ansible_collections.fleetops.iotcentral.plugins.module_utils.inventory import CACHE_FORMAT, cache_data

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string from the configuration
    def trust_as_template(value):
        return value


def _defaults():
    defaults = {}
    for text in (plugin_module.DOCUMENTATION, ConstructedFragment.DOCUMENTATION, CacheFragment.DOCUMENTATION,
                 ConnectionFragment.PLUGIN):
        for name, spec in yaml.safe_load(text)["options"].items():
            defaults[name] = spec.get("default")
    return defaults


DEFAULTS = _defaults()


def trusted(value):
    """What _read_config_data makes of a value from the YAML file: every string may be a template."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [trusted(item) for item in value]
    if isinstance(value, dict):
        return dict((key, trusted(item)) for key, item in value.items())
    return value


class Plugin(plugin_module.InventoryModule):
    def __init__(self, config, cache):
        super().__init__()
        self.config = config
        self.cache_store = cache

    def _read_config_data(self, path):
        self._options = dict(DEFAULTS, **trusted(self.config))
        if self._options["cache"]:
            self._cache = self.cache_store


class Harness:
    """Runs the plugin like ansible-inventory does and records what it fetched."""

    def __init__(self, monkeypatch, app):
        self.app = app
        self.built = []
        self.cache = {}
        monkeypatch.setenv("IOTCENTRAL_API_TOKEN", "unused")

        def build_client(params, rate_limit=None, pool_size=10):
            self.built.append(dict(params, rate_limit=rate_limit, pool_size=pool_size))
            # Same validation as the real one (credential, URL, timeout), then our in-memory app.
            from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import build_client as real
            real(params, rate_limit=rate_limit, pool_size=pool_size)
            return self.app

        monkeypatch.setattr(plugin_module, "build_client", build_client)

    def run(self, config, cache=True, inventory=None):
        config = dict({"plugin": "fleetops.iotcentral.devices", "base_url": "https://app.example", "api_token": TOKEN},
                      **config)
        inventory = inventory or InventoryData()
        Plugin(config, self.cache).parse(inventory, DataLoader(), "/x/fleet.iotcentral.yml", cache=cache)
        return inventory


def hostvars(inventory, name):
    return dict(inventory.get_host(name).get_vars())


def members(inventory, group):
    return sorted(host.name for host in inventory.groups[group].get_hosts())


@pytest.fixture
def harness(monkeypatch):
    return lambda app=None: Harness(monkeypatch, app or FakeApp(FLEET))


def test_verify_file(tmp_path):
    plugin = plugin_module.InventoryModule()
    for name, expected in (("fleet.iotcentral.yml", True), ("iotcentral.yaml", True), ("fleet.yml", False),
                           ("iotcentral.yml.bak", False), ("fleet.iotcentral.json", False)):
        path = tmp_path / name
        path.write_text("plugin: fleetops.iotcentral.devices\n")
        assert plugin.verify_file(str(path)) is expected, name
    assert plugin.verify_file(str(tmp_path / "missing.iotcentral.yml")) is False


def test_hosts_and_vars(harness):
    run = harness()
    inventory = run.run({})
    assert sorted(inventory.hosts) == ["a-1", "a-2", "b-1", "b-2", "c-1"]
    assert {k: v for k, v in hostvars(inventory, "b-2").items() if k.startswith("iotc_")} == {
        "iotc_id": "b-2", "iotc_display_name": "B-2", "iotc_template": None, "iotc_enabled": False,
        "iotc_provisioned": True, "iotc_simulated": False, "iotc_organizations": [], "iotc_status": "blocked",
        "iotc_type": []}
    assert run.built[0]["rate_limit"] == 20 and run.built[0]["pool_size"] == 4 + 8  # group readers + list ranges
    text = json.dumps(dict((h, hostvars(inventory, h)) for h in inventory.hosts), default=str)
    assert "registry-pw" not in text and "etag" not in text and TOKEN not in text


def test_constructed_features_and_prefix(harness):
    inventory = harness().run({
        "hostvars_prefix": "dev_",
        "compose": {"ansible_host": "dev_id ~ '.example.net'"},
        "groups": {"needs_attention": "dev_status in ['blocked', 'waiting_for_approval']"},
        "keyed_groups": [{"key": "dev_status", "prefix": "status"}, {"key": "dev_template", "prefix": "template"},
                         {"key": "dev_organizations", "prefix": "org"}],
    })
    assert hostvars(inventory, "a-1")["ansible_host"] == "a-1.example.net"
    assert "iotc_id" not in hostvars(inventory, "a-1") and hostvars(inventory, "a-1")["dev_id"] == "a-1"
    assert members(inventory, "needs_attention") == ["a-2", "b-2"]
    assert members(inventory, "status_registered") == ["a-1", "c-1"]
    assert members(inventory, "template_dtmi_t_1") == ["a-1", "a-2", "b-1", "c-1"]
    assert members(inventory, "org_seattle") == ["a-1"]


def test_bare_name_shortcut_matches_jinja(harness):
    """The per-host shortcut for bare variable names must give what Jinja gives."""
    plugin = Plugin({}, {})
    plugin.loader = DataLoader()
    plugin._vars = {}
    plugin._options = dict(DEFAULTS)
    plugin._own_vars = frozenset(["iotc_status", "iotc_organizations"])
    variables = {"iotc_status": "registered", "iotc_organizations": ["x"], "other": "o"}
    for name in ("iotc_status", " iotc_organizations ", "other", "iotc_status | upper"):
        fast = plugin._compose(trust_as_template(name), variables)
        slow = plugin_module.Constructable._compose(plugin, trust_as_template(name), variables)
        assert fast == slow, name


def test_include_exclude_and_templated_hostnames(harness):
    inventory = harness().run({
        "include": ["iotc_enabled", "iotc_provisioned"],
        "exclude": ["iotc_id == 'b-1'"],
        "hostnames": ["iotc_organizations[0] ~ '-' ~ iotc_id", "displayName", "id"],
    })
    # a-2 is neither enabled nor provisioned; b-1 is excluded; c-1 has an empty display name.
    assert sorted(inventory.hosts) == ["B-2", "c-1", "seattle-a-1"]


def test_hostname_collision_fails_without_adding_hosts(harness):
    inventory = InventoryData()
    with pytest.raises(AnsibleParserError) as caught:
        harness().run({"hostnames": ["iotc_template", "id"]}, inventory=inventory)
    assert "devices a-1 and a-2 both get the hostname 'dtmi:t;1'" in str(caught.value)
    assert not inventory.hosts


def test_failing_include_condition_fails_loudly(harness):
    with pytest.raises(AnsibleParserError) as caught:
        harness().run({"include": ["iotc_nope == 1"]})
    assert "include/exclude condition 'iotc_nope == 1' failed for device a-1" in str(caught.value)


def test_strict_error_half_way_rolls_everything_back(harness):
    inventory = InventoryData()
    inventory.add_host("existing")
    inventory.add_group("existing_group")
    app = FakeApp(FLEET + [device("d-1", organizations=[])])
    with pytest.raises(AnsibleParserError):
        # The first hosts have an organization; c-1 has none, so strict keyed groups fail in the middle.
        harness(app).run({"strict": True, "keyed_groups": [{"key": "iotc_organizations[0]", "prefix": "org"}],
                          "include": ["iotc_id in ['a-1', 'c-1']"]}, inventory=inventory)
    assert sorted(inventory.hosts) == ["existing"]
    assert sorted(inventory.groups) == ["all", "existing_group", "ungrouped"]


def test_api_failure_is_one_line_and_adds_nothing(harness):
    error = IoTCentralError("Rate limit exceeded", status=429, code="TooManyRequests", request_id="req-9",
                            method="GET", path="/api/devices", hint="Still throttled after 6 retries")
    inventory = InventoryData()
    with pytest.raises(AnsibleParserError) as caught:
        harness(FakeApp(FLEET, fail={"/devices": error}, fail_after=1)).run({"page_size": 2}, inventory=inventory)
    text = str(caught.value)
    assert ("cannot read the devices of https://app.example, so no host was added: GET /api/devices failed: HTTP 429 "
            "TooManyRequests: Rate limit exceeded (requestId req-9)") in text
    assert not inventory.hosts and TOKEN not in text


@pytest.mark.parametrize("config, message", [
    ({"page_size": 0}, "page_size must be between 1 and 100, not 0"),
    ({"hostnames": []}, "hostnames must list at least one entry"),
    ({"device_group_concurrency": 50}, "device_group_concurrency must be between 1 and 20"),
    ({"rate_limit": 0}, "rate_limit must be a positive number"),
    ({"base_url": None}, "Either app or base_url is required"),
    ({"api_token": None}, "No credential: set api_token"),
    ({"api_token": "Bearer x"}, "api_token must be the whole API token"),
    ({"api_version": "2020-01-01"}, "api_version '2020-01-01' is not supported"),
    ({"timeout": 0}, "timeout must be a positive number"),
    ({"device_groups": ["a b"]}, "device_groups entry 'a b' is not a valid device group id"),
])
def test_bad_options_fail_with_the_option_named(harness, monkeypatch, config, message):
    monkeypatch.delenv("IOTCENTRAL_APP", raising=False)
    with pytest.raises(AnsibleParserError) as caught:
        harness().run(config)
    assert "fleetops.iotcentral.devices: " + message in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_options_are_templated_with_lookups(harness, monkeypatch):
    monkeypatch.setenv("FLEETOPS_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("FLEETOPS_TEST_FILTER", "enabled eq true")
    run = harness(FakeApp(FLEET, filters={"enabled eq true": lambda d: d["enabled"]},
                          members={"g-b": lambda d: d["id"].startswith("b")}))
    inventory = run.run({"api_token": "{{ lookup('env', 'FLEETOPS_TEST_TOKEN') }}",
                         "filter": "{{ lookup('env', 'FLEETOPS_TEST_FILTER') }}",
                         "device_groups": ["{{ 'g-' ~ 'b' }}"]})
    assert run.built[0]["api_token"] == TOKEN and run.built[0]["api_token"].__class__ is str  # a plain str, not a template-tagged one
    assert sorted(inventory.hosts) == ["b-1"]
    assert [call[2].get("filter") for call in run.app.calls if call[1] == "/devices"] == ["enabled eq true"]


def test_templating_error_does_not_show_the_secret(harness):
    with pytest.raises(AnsibleParserError) as caught:
        harness().run({"api_token": "{{ undefined_token_variable }}"})
    text = str(caught.value)
    assert text.startswith("fleetops.iotcentral.devices: cannot template api_token:")
    assert "undefined_token_variable" in text


def test_cache_warm_makes_no_request_and_flush_refetches(harness):
    run = harness()
    config = {"cache": True, "keyed_groups": [{"key": "iotc_status", "prefix": "status"}]}
    first = run.run(config)
    calls = len(run.app.calls)
    assert calls == 1 and len(run.cache) == 1
    stored = json.dumps(run.cache)
    assert TOKEN not in stored and "sig=" not in stored and "registry-pw" not in stored

    # Different shaping options: same cache entry, groups rebuilt from it, still no request.
    second = run.run(dict(config, hostnames=["displayName", "id"], keyed_groups=[{"key": "iotc_template", "prefix": "t"}]))
    assert len(run.app.calls) == calls
    assert sorted(second.hosts) == sorted(["A-1", "A-2", "B-1", "B-2", "c-1"])
    assert members(second, "t_dtmi_t_1") == ["A-1", "A-2", "B-1", "c-1"]
    assert sorted(first.hosts) == ["a-1", "a-2", "b-1", "b-2", "c-1"]

    # A different query is a different key; --flush-cache (cache=False) reads the service again.
    run.run(config, cache=False)
    assert len(run.app.calls) == calls + 1


def test_cache_entry_of_another_format_is_refetched(harness):
    run = harness()
    run.run({"cache": True})
    key = next(iter(run.cache))
    run.cache[key] = {"format": 0, "devices": []}
    inventory = run.run({"cache": True})
    assert len(run.app.calls) == 2 and len(inventory.hosts) == 5
    assert run.cache[key]["format"] == CACHE_FORMAT


def test_cache_key_ignores_the_credential(harness):
    run = harness()
    run.run({"cache": True})
    other = TOKEN.replace("c2VjcmV0LXNpZw", "b3RoZXI")
    run.run({"cache": True, "api_token": other})
    assert len(run.cache) == 1 and len(run.app.calls) == 1


def test_device_group_groups(harness):
    groups = [{"id": "g-edge", "displayName": "Edge fleet"}, {"id": "g-all", "displayName": "Everything"},
              {"id": "g-none", "displayName": "Nobody"}]
    rules = {"g-edge": lambda d: "iotEdge" in d.get("type", []), "g-all": lambda d: True, "g-none": lambda d: False}
    app = FakeApp(FLEET, groups=groups, members=rules)
    inventory = harness(app).run({"device_group_groups": True, "device_group_prefix": "dg_",
                                  "exclude": ["iotc_id == 'a-2'"]})
    assert members(inventory, "dg_Edge_fleet") == ["b-1"]
    assert members(inventory, "dg_Everything") == ["a-1", "b-1", "b-2", "c-1"]
    assert members(inventory, "dg_Nobody") == []
    assert hostvars(inventory, "b-1")["iotc_device_groups"] == ["g-edge", "g-all"]
    inventory = harness(app).run({"device_group_groups": True, "device_group_group_names": "id"})
    assert members(inventory, "device_group_g_edge") == ["b-1"]


def test_plugin_file_has_no_secret_defaults():
    assert "SharedAccessSignature sr=" not in open(plugin_module.__file__, encoding="utf-8").read().split('EXAMPLES = r"""')[0]
    assert os.path.basename(plugin_module.__file__) == "devices.py"


@pytest.fixture
def counted(monkeypatch):
    """Counts the expressions and conditionals that reach ansible-core's templating."""
    calls = []
    compose = plugin_module.Constructable._compose

    def counting(self, template, variables, *args, **kwargs):
        calls.append(("expression", str(template)))
        return compose(self, template, variables, *args, **kwargs)

    monkeypatch.setattr(plugin_module.Constructable, "_compose", counting)
    return calls


def test_expressions_of_our_variables_are_evaluated_once_per_distinct_value(harness, counted):
    fleet = [device("d-%02d" % n, enabled=n % 2 == 0, organizations=["org%d" % (n % 3)]) for n in range(30)]
    inventory = harness(FakeApp(fleet)).run({
        "keyed_groups": [{"key": "iotc_organizations[0] | upper", "prefix": "org"},
                         {"key": "iotc_status ~ '-' ~ (iotc_enabled | string)", "prefix": "s"}],
        "compose": {"site": "iotc_organizations | first", "stamp": "lookup('env', 'HOME') ~ iotc_status",
                    "orgs": "iotc_organizations | list"},
    })
    seen = [template for _kind, template in counted]
    assert seen.count("iotc_organizations[0] | upper") == 3
    assert seen.count("iotc_status ~ '-' ~ (iotc_enabled | string)") == 2
    assert seen.count("iotc_organizations | first") == 3
    # A lookup may give anything: evaluated for every host.
    assert seen.count("lookup('env', 'HOME') ~ iotc_status") == 30
    assert members(inventory, "org_ORG1") == ["d-01", "d-04", "d-07", "d-10", "d-13", "d-16", "d-19", "d-22", "d-25", "d-28"]
    assert members(inventory, "s_registered_True") == ["d-%02d" % n for n in range(0, 30, 2)]
    assert hostvars(inventory, "d-05")["site"] == "org2"
    # A memoised result is copied for each host, so no two hosts share one mutable value.
    first, second = inventory.get_host("d-00").get_vars()["orgs"], inventory.get_host("d-03").get_vars()["orgs"]
    assert first == second == ["org0"] and first is not second


@pytest.mark.parametrize("expression", [
    "iotc_id ~ (99 | random)",                  # impure filter
    "iotc_status ~ inventory_hostname",         # not one of our variables
    "now() ~ iotc_status",                      # function call
    "{{ iotc_status }}",                        # not a bare expression: left to ansible-core
])
def test_expressions_that_may_depend_on_more_are_evaluated_per_host(harness, counted, expression):
    fleet = [device("d-%02d" % n) for n in range(5)]
    harness(FakeApp(fleet)).run({"compose": {"x": expression}})
    assert [template for _kind, template in counted].count(expression) == 5


def test_include_conditions_are_memoised_too(harness, monkeypatch):
    from ansible.template import Templar

    fleet = [device("d-%02d" % n, enabled=n % 3 != 0) for n in range(30)]
    evaluated = []
    conditional = Templar.evaluate_conditional

    def counting(self, condition):
        evaluated.append(str(condition))
        return conditional(self, condition)

    monkeypatch.setattr(Templar, "evaluate_conditional", counting)
    inventory = harness(FakeApp(fleet)).run({"include": ["iotc_enabled"], "exclude": ["iotc_id.endswith('1')"]})
    assert evaluated.count("iotc_enabled") == 2
    # The exclude condition reads iotc_id, unique per device: once per included device.
    assert evaluated.count("iotc_id.endswith('1')") == 20
    assert len(inventory.hosts) == 18  # 20 enabled, minus d-01 and d-11


def _snapshot(inventory):
    """Everything ansible-inventory would show, in order: hosts with their variables, groups with their hosts."""
    return ([(name, hostvars(inventory, name)) for name in inventory.hosts],
            [(name, [host.name for host in group.hosts], [child.name for child in group.child_groups])
             for name, group in inventory.groups.items()])


def _replaying(monkeypatch, order, change=None, fail=None, added=None):
    """fetch_inventory that first hands the listed devices to on_records as parts of the id space, out of order."""
    real = plugin_module.fetch_inventory

    def fetch_inventory(client, on_records=None, **kwargs):
        data = real(client, **kwargs)
        records = sorted(data["devices"], key=lambda record: record["id"])
        chunks = [records[index:index + 2] for index in range(0, len(records), 2)]
        for index in order:
            chunk = [dict(record) for record in chunks[index]]
            if change is not None and index == 0:
                chunk[0]["enabled"] = not chunk[0]["enabled"]  # the preview saw an older version of this device
            low = chunks[index - 1][-1]["id"] if index else None
            high = chunk[-1]["id"] if index + 1 < len(chunks) else None
            on_records((low, index == 0, high, True), chunk)
        if added is not None:
            added.append(len(added[0].hosts))
        if fail is not None:
            raise fail
        return data

    monkeypatch.setattr(plugin_module, "fetch_inventory", fetch_inventory)


EARLY_CONFIG = {"keyed_groups": [{"key": "iotc_status", "prefix": "status"}],
                "groups": {"edge": "'iotEdge' in iotc_type"}, "compose": {"label": "iotc_id ~ '-x'"}}


@pytest.mark.parametrize("order, early", [([0, 1, 2], 5), ([2, 1, 0], 5), ([1, 0], 4), ([1, 2], 0)])
def test_hosts_added_during_the_listing_are_exactly_those_of_a_full_build(harness, monkeypatch, order, early):
    expected = _snapshot(harness().run(EARLY_CONFIG, cache=False))
    inventory = InventoryData()
    added = [inventory]
    _replaying(monkeypatch, order, added=added)
    assert _snapshot(harness().run(EARLY_CONFIG, cache=False, inventory=inventory)) == expected
    # The parts that continue the id space from its start are hosts before the listing ends; the others after.
    assert added[1] == early


def test_a_preview_that_differs_from_the_list_is_rebuilt_from_the_list(harness, monkeypatch):
    expected = _snapshot(harness().run(EARLY_CONFIG, cache=False))
    _replaying(monkeypatch, [0, 1, 2], change=True)
    assert _snapshot(harness().run(EARLY_CONFIG, cache=False)) == expected


@pytest.mark.parametrize("change", [None, True])
def test_the_cache_holds_the_listing_not_the_preview(harness, monkeypatch, change):
    listed = plugin_module.fetch_inventory(FakeApp(FLEET))
    expected = _snapshot(harness().run(EARLY_CONFIG, cache=False))
    _replaying(monkeypatch, [1, 0, 2], change=change)
    run = harness()
    assert _snapshot(run.run(dict(EARLY_CONFIG, cache=True))) == expected
    entry = next(iter(run.cache.values()))
    # The texts of the parts built early make the cache only when the preview held.
    assert cache_data(entry) == listed
    assert isinstance(entry["inventory"], str) and TOKEN not in entry["inventory"]
    # And the warm run from it builds the same inventory.
    monkeypatch.setattr(plugin_module, "fetch_inventory", None)
    assert _snapshot(run.run(dict(EARLY_CONFIG, cache=True))) == expected


def test_a_listing_that_fails_after_hosts_were_added_early_adds_nothing(harness, monkeypatch):
    inventory = InventoryData()
    inventory.add_host("existing")
    error = IoTCentralError("Rate limit exceeded", status=429, method="GET", path="/api/devices")
    _replaying(monkeypatch, [0, 1], fail=error)
    with pytest.raises(AnsibleParserError, match="so no host was added"):
        harness().run(EARLY_CONFIG, cache=False, inventory=inventory)
    assert list(inventory.hosts) == ["existing"]
    assert sorted(inventory.groups) == ["all", "ungrouped"]


def test_an_error_while_adding_early_gives_the_error_of_a_full_build(harness, monkeypatch):
    config = {"hostnames": ["iotc_template", "id"]}
    with pytest.raises(AnsibleParserError) as full:
        harness().run(config, cache=False)
    _replaying(monkeypatch, [0, 1, 2])
    inventory = InventoryData()
    with pytest.raises(AnsibleParserError) as early:
        harness().run(config, cache=False, inventory=inventory)
    assert str(early.value) == str(full.value) and not inventory.hosts
