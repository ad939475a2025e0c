"""Unit tests of the inventory plugin's pure logic (plugins/module_utils/inventory.py), against an in-memory app."""

from __future__ import annotations

import json

import pytest
from ansible_collections.fleetops.iotcentral.tests.unit.plugins.inventory.iotc_inventory_fakes import FLEET, FakeApp

from ansible_collections.fleetops.iotcentral.plugins.module_utils import listing as listing_module
from ansible_collections.fleetops.iotcentral.plugins.module_utils import inventory as inv
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import (
    PREVIEW_API_VERSION,
    STABLE_API_VERSION,
    IoTCentralError,
)


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("kwargs, message", [
    ({"page_size": 0}, "page_size must be between 1 and 100, not 0"),
    ({"page_size": 101}, "page_size must be between 1 and 100, not 101"),
    ({"concurrency": 0}, "device_group_concurrency must be between 1 and 20"),
    ({"concurrency": 21}, "device_group_concurrency must be between 1 and 20"),
    ({"hostnames": []}, "hostnames must list at least one entry"),
    ({"hostnames": ["id", " "]}, "hostnames entries must be non-empty strings"),
    ({"hostnames": ["id", 3]}, "hostnames entries must be non-empty strings"),
    ({"hostvars_prefix": "iot-c"}, "hostvars_prefix 'iot-c' would not make valid variable names"),
    ({"hostvars_prefix": "1x_"}, "would not make valid variable names"),
    ({"device_groups": ["ok", "not ok"]}, "'not ok' is not a valid device group id"),
    ({"group_name_source": "name"}, "device_group_group_names must be one of displayName, id"),
    ({"rate_limit": 0}, "rate_limit must be a positive number"),
])
def test_check_options_names_the_bad_option(kwargs, message):
    with pytest.raises(inv.InventoryError) as caught:
        inv.check_options(**kwargs)
    assert message in str(caught.value)


def test_check_options_accepts_good_values():
    inv.check_options(page_size=100, concurrency=20, hostnames=["id", "iotc_display_name | lower"], hostvars_prefix="",
                      device_groups=["475cad48-b7ff-4a09-b51e-1a9021385453"], group_name_source="id", rate_limit=19)
    inv.check_options(page_size=1, concurrency=1, hostvars_prefix="_x")


def test_cache_key_depends_on_the_query_not_on_shaping_options_or_credentials():
    base = dict(base_url="https://a.azureiotcentral.com", api_version=None, filter="enabled eq true", order_by=None,
                page_size=100, device_groups=["g1"], device_group_groups=False)
    key = inv.cache_key("fleetops.iotcentral.devices", **base)
    assert key == inv.cache_key("fleetops.iotcentral.devices", **base)
    assert key.startswith("fleetops_iotcentral_devices_")
    for change in ({"base_url": "https://b.azureiotcentral.com"}, {"filter": "enabled eq false"}, {"order_by": "displayName"},
                   {"page_size": 50}, {"device_groups": ["g2"]}, {"device_group_groups": True},
                   {"api_version": STABLE_API_VERSION}):
        assert inv.cache_key("fleetops.iotcentral.devices", **dict(base, **change)) != key, change
    # The signature has no place for a token: it can be neither in the key nor needed to compute it.
    assert "token" not in inv.cache_key.__code__.co_varnames


# --------------------------------------------------------------------------- reading the application


def test_device_record_keeps_only_known_fields():
    record = inv.device_record(FLEET[2])
    assert record == {"id": "b-1", "displayName": "B-1", "enabled": True, "provisioned": True, "simulated": False,
                      "template": "dtmi:t;1", "type": ["iotEdge"]}
    assert "registry-pw" not in json.dumps(record)


def test_fetch_all_devices_pages_through_and_keeps_no_secret():
    app = FakeApp(FLEET)
    data = inv.fetch_inventory(app, page_size=2)
    assert [d["id"] for d in data["devices"]] == ["a-1", "a-2", "b-1", "b-2", "c-1"]
    assert data["deviceGroups"] is None and data["format"] == inv.CACHE_FORMAT
    assert app.paths() == ["/devices"] * 3
    assert app.calls[0][2] == {"api-version": PREVIEW_API_VERSION, "maxpagesize": 2}
    text = json.dumps(data)
    assert "etag" not in text and "registry-pw" not in text and "deploymentManifest" not in text
    assert inv.is_cache_data(json.loads(text))


def test_fetch_sends_filter_and_order_with_the_preview_version():
    app = FakeApp(FLEET, filters={"enabled eq true": lambda d: d["enabled"]})
    data = inv.fetch_inventory(app, filter="enabled eq true", order_by="displayName desc", page_size=100)
    assert [d["id"] for d in data["devices"]] == ["b-1", "a-1", "c-1"]
    assert app.calls[0][2] == {"api-version": PREVIEW_API_VERSION, "maxpagesize": 100, "filter": "enabled eq true",
                               "orderby": "displayName desc"}


def test_fetch_with_stable_version_pinned_uses_its_parameter_names():
    app = FakeApp(FLEET, filters={"enabled eq true": lambda d: d["enabled"]}, api_version=STABLE_API_VERSION)
    inv.fetch_inventory(app, filter="enabled eq true", page_size=50)
    assert app.calls[0][2] == {"api-version": STABLE_API_VERSION, "$top": 50, "$filter": "enabled eq true"}


def test_device_groups_alone_are_the_device_list():
    app = FakeApp(FLEET, members={"g-b": lambda d: d["id"].startswith("b"), "g-1": lambda d: d["id"].endswith("-1")})
    data = inv.fetch_inventory(app, device_groups=["g-b", "g-1", "g-b"], page_size=100)
    # Union in the order of device_groups, each device once; /devices is not read at all.
    assert [d["id"] for d in data["devices"]] == ["b-1", "b-2", "a-1", "c-1"]
    assert sorted(app.paths()) == ["/deviceGroups/g-1/devices", "/deviceGroups/g-b/devices"]
    assert data["deviceGroups"] is None


def test_device_groups_with_a_filter_intersect():
    app = FakeApp(FLEET, members={"g-b": lambda d: d["id"].startswith("b")},
                  filters={"provisioned eq true": lambda d: d["provisioned"] or d["id"] == "a-1"})
    data = inv.fetch_inventory(app, filter="provisioned eq true", device_groups=["g-b"])
    assert [d["id"] for d in data["devices"]] == ["b-1", "b-2"]
    assert sorted(set(app.paths())) == ["/deviceGroups/g-b/devices", "/devices"]


def test_device_group_groups_read_every_group_with_bounded_concurrency():
    groups = [{"id": "g%d" % n, "displayName": "Group %d" % n, "filter": "x"} for n in range(6)]

    def member_of(number):
        return lambda d: d["id"] in ("a-1", "b-%d" % number)

    members = dict(("g%d" % n, member_of(n)) for n in range(6))
    app = FakeApp(FLEET, groups=groups, members=members, delay=0.02)
    data = inv.fetch_inventory(app, device_group_groups=True, concurrency=2, page_size=100)
    assert [d["id"] for d in data["devices"]] == ["a-1", "a-2", "b-1", "b-2", "c-1"]
    assert data["deviceGroups"][1] == {"id": "g1", "displayName": "Group 1", "members": ["a-1", "b-1"]}
    assert data["deviceGroups"][0]["members"] == ["a-1"]
    # Two member lists at a time, plus the device list paged in the calling thread.
    assert app.max_in_flight <= 3
    assert app.max_in_flight >= 2
    assert inv.memberships(data)["a-1"] == ["g0", "g1", "g2", "g3", "g4", "g5"]
    assert "c-1" not in inv.memberships(data)


def test_missing_device_group_is_named():
    app = FakeApp(FLEET, members={})
    with pytest.raises(IoTCentralError) as caught:
        inv.fetch_inventory(app, device_groups=["nope"])
    text = str(caught.value)
    assert "device_groups: device group 'nope' does not exist in this application" in text
    assert "HTTP 404" in text and "req-404" in text and "/api/deviceGroups/nope/devices" in text


def test_a_failure_on_a_later_page_fails_the_whole_read():
    error = IoTCentralError("Too many requests", status=429, code="TooManyRequests", request_id="req-429",
                            method="GET", path="/api/devices")
    app = FakeApp(FLEET, fail={"/devices": error}, fail_after=1)
    with pytest.raises(IoTCentralError) as caught:
        inv.fetch_inventory(app, page_size=2)
    assert caught.value is error


def test_a_failing_group_read_fails_the_whole_read():
    error = IoTCentralError("boom", status=503, request_id="req-503")
    groups = [{"id": "g%d" % n, "displayName": "G%d" % n} for n in range(4)]
    members = dict(("g%d" % n, lambda d: True) for n in range(4))
    app = FakeApp(FLEET, groups=groups, members=members, fail={"/deviceGroups/g2/devices": error})
    with pytest.raises(IoTCentralError) as caught:
        inv.fetch_inventory(app, device_group_groups=True, concurrency=2)
    assert caught.value is error


@pytest.mark.parametrize("data, expected", [
    ({"format": inv.CACHE_FORMAT, "devices": [], "deviceGroups": None}, True),
    ({"format": inv.CACHE_FORMAT, "devices": [], "deviceGroups": []}, True),
    ({"format": inv.CACHE_FORMAT + 1, "devices": [], "deviceGroups": None}, False),
    ({"format": inv.CACHE_FORMAT, "devices": {}}, False),
    ([], False),
    (None, False),
])
def test_is_cache_data(data, expected):
    assert inv.is_cache_data(data) is expected


def _listing_in_parts(monkeypatch, order, refuse=False):
    """list_partitioned over the fake app's devices: hands them to on_span as parts (in ``order``), then returns them
    (the same objects, in id order) or, with ``refuse``, refuses the ranges so the single chain is read instead."""
    def list_partitioned(client, user_filter=None, page_size=100, concurrency=8, api_version=None, on_span=None):
        devices = client.devices
        parts = [devices[index:index + 2] for index in range(0, len(devices), 2)]
        for index in order:
            low = parts[index - 1][-1]["id"] if index else None
            high = parts[index][-1]["id"] if index + 1 < len(parts) else None
            on_span((low, index == 0, high, True), parts[index])
        if refuse:
            raise listing_module.RangeFilterRefused("refused")
        return list(devices)

    # list_devices imports it from listing.py when it reads ranges.
    monkeypatch.setattr(listing_module, "list_partitioned", list_partitioned)
    shaped = []

    def device_record(device):
        shaped.append(device["id"])
        return real_record(device)

    real_record = inv.device_record
    monkeypatch.setattr(inv, "device_record", device_record)
    return shaped


def test_a_listing_read_as_ranges_is_made_of_the_records_it_previewed(monkeypatch):
    shaped = _listing_in_parts(monkeypatch, [2, 0, 1])
    previewed = []
    data = inv.fetch_inventory(FakeApp(FLEET), list_concurrency=8, on_records=lambda span, records: previewed.extend(records))
    assert [record["id"] for record in data["devices"]] == ["a-1", "a-2", "b-1", "b-2", "c-1"]
    # Each device is made a record once, and the list holds the very records of the preview.
    assert sorted(shaped) == ["a-1", "a-2", "b-1", "b-2", "c-1"]
    assert all(any(record is seen for seen in previewed) for record in data["devices"])
    assert "deploymentManifest" not in json.dumps(data)


def test_a_listing_that_falls_back_to_the_single_chain_makes_new_records(monkeypatch):
    _listing_in_parts(monkeypatch, [0, 1], refuse=True)
    previewed = []
    data = inv.fetch_inventory(FakeApp(FLEET), list_concurrency=8, on_records=lambda span, records: previewed.extend(records))
    assert [record["id"] for record in data["devices"]] == ["a-1", "a-2", "b-1", "b-2", "c-1"]
    assert [record["id"] for record in previewed] == ["a-1", "a-2", "b-1", "b-2"]
    assert not any(record is seen for record in data["devices"] for seen in previewed)


def test_cache_entry_is_one_string_that_reads_back_as_the_data():
    data = inv.fetch_inventory(FakeApp(FLEET), page_size=2)
    entry = inv.cache_entry(data)
    assert sorted(entry) == ["format", "inventory"] and isinstance(entry["inventory"], str)
    assert entry["format"] == inv.CACHE_FORMAT
    assert inv.cache_data(json.loads(json.dumps(entry))) == data
    assert "registry-pw" not in entry["inventory"] and "etag" not in entry["inventory"]
    # Texts made earlier for the first devices are used as they are.
    devices = data["devices"]
    head = (3, [inv.records_text(devices[:1]), inv.records_text([]), inv.records_text(devices[1:3])])
    assert inv.cache_entry(data, head) == entry
    assert inv.cache_data(inv.cache_entry(dict(data, devices=[]), (0, []))) == dict(data, devices=[])


@pytest.mark.parametrize("entry", [
    {"format": inv.CACHE_FORMAT - 1, "devices": [], "deviceGroups": None},
    {"format": inv.CACHE_FORMAT, "inventory": "{not json"},
    {"format": inv.CACHE_FORMAT, "inventory": json.dumps({"format": inv.CACHE_FORMAT, "devices": {}})},
    {"format": inv.CACHE_FORMAT, "inventory": ["devices"]},
    None,
])
def test_cache_data_refuses_what_cache_entry_did_not_make(entry):
    assert inv.cache_data(entry) is None


# --------------------------------------------------------------------------- from data to hosts


def test_host_vars_with_prefix_and_status():
    records = [inv.device_record(d) for d in FLEET]
    assert inv.host_vars(records[0], "iotc_") == {
        "iotc_id": "a-1", "iotc_display_name": "A-1", "iotc_template": "dtmi:t;1", "iotc_enabled": True,
        "iotc_provisioned": False, "iotc_simulated": False, "iotc_organizations": ["seattle"],
        "iotc_status": "registered", "iotc_type": [],
    }
    assert [inv.host_vars(r)["status"] for r in records] == [
        "registered", "blocked", "provisioned", "blocked", "registered"]
    assert inv.host_vars(records[3])["template"] is None
    assert inv.host_vars(records[2], "x_")["x_type"] == ["iotEdge"]
    assert inv.host_vars(records[0], "", {"a-1": ["g1"]})["device_groups"] == ["g1"]
    assert inv.host_vars(records[1], "", {"a-1": ["g1"]})["device_groups"] == []
    assert set(inv.host_vars(records[0], "p_", {})) == set("p_" + name for name in inv.HOSTVAR_NAMES)


def _items(prefix="iotc_"):
    return [(r, inv.host_vars(r, prefix)) for r in (inv.device_record(d) for d in FLEET)]


def test_select_devices_include_any_exclude_any():
    def test(condition, variables, device_id):
        return {"enabled": variables["iotc_enabled"], "edge": bool(variables["iotc_type"]),
                "a": device_id.startswith("a")}[condition]

    def ids(items):
        return [r["id"] for r, _v in items]

    assert ids(inv.select_devices(_items(), [], [], test)) == ["a-1", "a-2", "b-1", "b-2", "c-1"]
    assert ids(inv.select_devices(_items(), ["enabled", "a"], [], test)) == ["a-1", "a-2", "b-1", "c-1"]
    assert ids(inv.select_devices(_items(), [], ["edge", "a"], test)) == ["b-2", "c-1"]
    assert ids(inv.select_devices(_items(), ["enabled"], ["edge"], test)) == ["a-1", "c-1"]


def test_hostnames_first_non_empty_wins():
    evaluated = []

    def evaluate(expression, variables, device_id):
        evaluated.append(expression)
        return {"org": (variables["iotc_organizations"] or [None])[0]}[expression]

    hosts = inv.assign_hostnames(_items(), ["org", "displayName", "id"], evaluate)
    assert [name for name, _r, _v in hosts] == ["seattle", "A-2", "B-1", "B-2", "c-1"]
    assert inv.assign_hostnames(_items(), ["id"]) and not inv.needs_templating(["id", "displayName", "display_name"])
    assert inv.needs_templating(["id", "iotc_display_name | lower"])


def test_hostname_collision_names_both_devices():
    items = [(r, v) for r, v in _items() if r["id"] in ("a-1", "b-1")]
    with pytest.raises(inv.InventoryError) as caught:
        inv.assign_hostnames(items, ["tpl"], lambda e, v, d: v["iotc_template"])
    text = str(caught.value)
    assert "devices a-1 and b-1 both get the hostname 'dtmi:t;1'" in text and "hostnames (tpl)" in text


def test_hostname_without_any_value_is_an_error():
    with pytest.raises(inv.InventoryError) as caught:
        inv.assign_hostnames(_items(), ["displayName"])
    assert "device c-1: no hostnames entry (displayName) gave a non-empty name; end the list with id" in str(caught.value)


def test_hostname_must_be_a_string():
    with pytest.raises(inv.InventoryError) as caught:
        inv.assign_hostnames(_items(), ["orgs"], lambda e, v, d: v["iotc_organizations"] or None)
    assert "hostnames entry 'orgs' gave a list for device a-1" in str(caught.value)
    hosts = inv.assign_hostnames(_items()[:1], ["n"], lambda e, v, d: 42)
    assert hosts[0][0] == "42"


def test_device_group_groups_naming_members_and_merges():
    data = {"deviceGroups": [
        {"id": "g1", "displayName": "Edge fleet", "members": ["a-1", "gone", "b-1"]},
        {"id": "g2", "displayName": "Empty", "members": []},
        {"id": "g3", "displayName": "Edge-fleet", "members": ["b-1", "c-1"]},
    ]}

    def sanitize(name):
        return name.replace(" ", "_").replace("-", "_")

    hostname_of = {"a-1": "host-a", "b-1": "host-b", "c-1": "host-c"}
    groups, warnings = inv.device_group_groups(data, "dg_", "displayName", sanitize, hostname_of)
    assert groups == [("dg_Edge_fleet", ["host-a", "host-b", "host-c"]), ("dg_Empty", [])]
    assert warnings == ["device groups g1 and g3 both map to the Ansible group 'dg_Edge_fleet'; their members are merged"]
    groups, warnings = inv.device_group_groups(data, "", "id", sanitize, hostname_of)
    assert [name for name, _hosts in groups] == ["g1", "g2", "g3"] and not warnings
    assert inv.device_group_groups({"deviceGroups": None}, "", "id", sanitize, {}) == ([], [])
