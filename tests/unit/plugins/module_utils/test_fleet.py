"""Unit tests of device_fleet's planning logic (module_utils/fleet.py) with a fake client: no HTTP."""

from __future__ import annotations

import threading
import time
from urllib.parse import unquote

import pytest

from ansible_collections.fleetops.iotcentral.plugins.module_utils import fleet
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralError
from ansible_collections.fleetops.iotcentral.plugins.module_utils.fleet import (
    Change,
    converge_fleet,
    fleet_diff,
    plan_device,
    plan_fleet,
    scope_filter,
    validate_fleet,
)

THERMOSTAT = "dtmi:contoso:Thermostat;1"
CONTROLLER = "dtmi:contoso:TemperatureController;1"


class FakeClient:
    """Just enough of IoTCentralClient for devices.py: an in-memory app, every call recorded."""

    def __init__(self, devices=(), failures=None, templates=(THERMOSTAT, CONTROLLER)):
        self.devices = {}
        self.templates = set(templates)
        self.etags = 0
        for device in devices:
            self._store(dict(device))
        self.failures = dict(failures or {})
        self.calls = []
        self.stats = {"requests": 0, "retries": 0, "throttled": 0}
        self.lock = threading.Lock()
        self.local = threading.local()

    def _store(self, device):
        self.etags += 1
        device.setdefault("displayName", device["id"])
        device.setdefault("enabled", True)
        device.setdefault("simulated", False)
        device.setdefault("provisioned", False)
        device["etag"] = "etag-%d" % self.etags
        self.devices[device["id"]] = device
        return dict(device)

    def _call(self, method, target):
        with self.lock:
            self.calls.append((method, target))
            self.stats["requests"] += 1
            counter = getattr(self.local, "counter", None)
            if counter is not None:
                counter["requests"] += 1
        error = self.failures.get((method, target))
        if error is not None:
            raise error

    @staticmethod
    def _id(path):
        return unquote(path.rsplit("/", 1)[1])

    @property
    def writes(self):
        return [call for call in self.calls if call[0] in ("PUT", "PATCH", "DELETE")]

    # The parts of the client API that devices.py uses.
    def count_into(self, counter):
        self.local.counter = counter

    def list_api_version(self):
        return "2022-10-31-preview"

    def list_params(self, filter=None, order_by=None, page_size=None, api_version=None):  # pylint: disable=redefined-builtin
        return {"filter": filter, "maxpagesize": page_size}

    def paged(self, path, params=None, api_version=None, limit=None):
        wanted = params.get("filter")
        items = [dict(d) for _id, d in sorted(self.devices.items())]
        if wanted:
            template = wanted.split("'")[1].replace("''", "'")
            items = [d for d in items if d.get("template") == template]
        for _page in range(max(1, -(-len(items) // params["maxpagesize"]))):
            self._call("LIST", wanted)
        return iter(items)

    def get(self, path, params=None, api_version=None, allow_404=False):
        if path.startswith("/deviceTemplates/"):
            self._call("TEMPLATE", self._id(path))
            return {"@id": self._id(path)} if self._id(path) in self.templates else None
        device_id = self._id(path)
        self._call("GET", device_id)
        device = self.devices.get(device_id)
        return dict(device) if device else None

    def put(self, path, body, api_version=None, headers=None):
        device_id = self._id(path)
        self._call("PUT", device_id)
        return self._store(dict(body, id=device_id))

    def patch(self, path, body, api_version=None, content_type="application/json", headers=None):
        device_id = self._id(path)
        self._call("PATCH", device_id)
        device = dict(self.devices[device_id])
        if body.get("etag") not in (None, device["etag"]):
            raise IoTCentralError("etag mismatch", status=412)
        device.update(dict((k, v) for k, v in body.items() if k != "etag"))
        return self._store(device)

    def delete(self, path, api_version=None, allow_404=True):
        device_id = self._id(path)
        self._call("DELETE", device_id)
        return self.devices.pop(device_id, None) is not None


def thermostats(count, prefix="t", **fields):
    return [dict(fields, id="%s-%03d" % (prefix, n)) for n in range(1, count + 1)]


def run(client, devices, check_mode=False, diff_mode=False, **params):
    params.setdefault("concurrency", 4)
    # The fake lists in one chain; the partitioned listing is tested against the emulator (test_listing.py).
    params.setdefault("list_concurrency", 1)
    return converge_fleet(client, dict(params, devices=devices), check_mode=check_mode, diff_mode=diff_mode)


# --------------------------------------------------------------------------------------- validation and defaults
def test_defaults_fill_only_what_an_item_leaves_unset():
    specs = validate_fleet(
        [{"id": "a"}, {"id": "b", "template": CONTROLLER, "enabled": None}, {"id": "c", "state": "absent"}],
        defaults={"template": THERMOSTAT, "enabled": False, "organizations": ["seattle"]},
    )
    assert specs[0] == {"id": "a", "display_name": None, "template": THERMOSTAT, "simulated": None,
                        "enabled": False, "organizations": ["seattle"], "state": "present",
                        "properties": None, "edge": None, "deployment_manifest": None, "attestation": None}
    # An item's own value wins; null in an item means "not set", so the default applies.
    assert specs[1]["template"] == CONTROLLER and specs[1]["enabled"] is False
    assert specs[2]["state"] == "absent"
    # Each item gets its own copy of a list default.
    specs[0]["organizations"].append("x")
    assert specs[1]["organizations"] == ["seattle"]


def test_defaults_can_set_state_and_types_are_normalized():
    specs = validate_fleet([{"id": 42, "display_name": 7, "enabled": "yes", "simulated": "false"}],
                           defaults={"state": "absent"})
    assert specs[0]["id"] == "42" and specs[0]["display_name"] == "7"
    assert specs[0]["enabled"] is True and specs[0]["simulated"] is False
    assert specs[0]["state"] == "absent"


@pytest.mark.parametrize("devices, defaults, message", [
    ([{"id": "ok"}, {"id": "bad_id"}], None,
     "devices[1]: id 'bad_id' is not a valid device id"),
    ([{"id": "ok"}, {"display_name": "no id"}], None, "devices[1]: id is required"),
    ([{"id": "a"}, {"id": "b", "enabled": "maybe"}], None,
     "devices[1] (id 'b'): enabled must be true or false, got 'maybe'"),
    ([{"id": "a", "colour": "red"}], None, "devices[0] (id 'a'): unknown field 'colour'; use id, display_name"),
    ([{"id": "a", "organizations": "seattle"}], None, "devices[0] (id 'a'): organizations must be a list of strings"),
    ([{"id": "a", "state": "gone"}], None, "devices[0] (id 'a'): state must be one of present, absent, got 'gone'"),
    ([{"id": "a", "template": ["x"]}], None, "devices[0] (id 'a'): template must be a string, got list"),
    ([{"id": "a"}, {"id": "b"}, {"id": "a"}], None, "devices[2] (id 'a'): duplicate id, already given at devices[0]"),
    (["a"], None, "devices[0]: id is required"),
    ([{"id": "a"}], {"id": "x"}, "defaults: unknown field 'id'"),
    ([{"id": "a"}], {"enabled": "sometimes"}, "defaults: enabled must be true or false"),
    ("a,b", None, "devices must be a list"),
    ([{"id": "a", "edge": "perhaps"}], None, "devices[0] (id 'a'): edge must be true or false"),
    ([{"id": "a", "deployment_manifest": "env-sensor"}], None, "devices[0] (id 'a'): deployment_manifest"),
    ([{"id": "a", "attestation": "symmetric_key"}], None,
     "devices[0] (id 'a'): attestation must be a mapping such as {type: symmetric_key}, got str"),
    ([{"id": "a", "attestation": {"type": "sas"}}], None,
     "devices[0] (id 'a'): attestation type must be one of symmetric_key, tpm, x509, got 'sas'"),
    ([{"id": "a", "attestation": {"type": "x509", "primary_kye": "x"}}], None,
     "devices[0] (id 'a'): attestation has unknown field 'primary_kye'"),
    ([{"id": "a", "attestation": {"type": "x509", "primary_key": "c2VjcmV0c2VjcmV0c2VjcmV0"}}], None,
     "devices[0] (id 'a'): attestation primary_key only apply to attestation=symmetric_key, not x509"),
    ([{"id": "a", "attestation": {"type": "symmetric_key", "primary_key": "not base64!"}}], None,
     "devices[0] (id 'a'): attestation primary_key must be"),
    ([{"id": "a", "attestation": {"type": "x509", "primary_sha1_thumbprint": "12:34"}}], None,
     "devices[0] (id 'a'): attestation primary_sha1_thumbprint must be a SHA-1 thumbprint (40 hex digits)"),
    ([{"id": "a"}], {"attestation": {"type": "tpm", "endorsement_key": "***"}},
     "devices[0] (id 'a'): attestation endorsement_key must be the base64 text"),
])
def test_validation_names_the_item_and_the_field_in_one_line(devices, defaults, message):
    with pytest.raises(ValueError) as info:
        validate_fleet(devices, defaults)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_validation_counts_the_other_invalid_items():
    devices = [{"id": "ok"}, {"id": "bad_1"}, {"id": "x", "enabled": "?"}, {"id": "bad_2"}]
    with pytest.raises(ValueError, match=r"^devices\[1\]: .* \(and 2 more invalid items\); nothing was changed$"):
        validate_fleet(devices)


def test_invalid_input_sends_nothing_at_all():
    client = FakeClient(thermostats(3))
    with pytest.raises(ValueError, match="devices.2. .id 'x'.: simulated must be true or false"):
        run(client, [{"id": "t-001", "enabled": False}, {"id": "new"}, {"id": "x", "simulated": "perhaps"}])
    assert client.calls == []


@pytest.mark.parametrize("scope", [None, "", "   "])
def test_purge_without_a_scope_is_refused_before_any_call(scope):
    client = FakeClient(thermostats(3))
    with pytest.raises(ValueError) as info:
        run(client, [], purge=True, purge_scope=scope)
    assert "purge=true" in str(info.value) and "purge_scope" in str(info.value)
    assert "Nothing was changed" in str(info.value)
    assert client.calls == []


def test_scope_filter():
    assert scope_filter(THERMOSTAT) == "template eq 'dtmi:contoso:Thermostat;1'"
    assert scope_filter("  urn:contoso:x:1  ") == "template eq 'urn:contoso:x:1'"
    assert scope_filter("template eq 'dtmi:a;1' and enabled eq false") == "template eq 'dtmi:a;1' and enabled eq false"
    assert scope_filter("contains(displayName,'store-12')") == "contains(displayName,'store-12')"
    assert scope_filter(None) is None


@pytest.mark.parametrize("value", [0, 65])
def test_concurrency_is_bounded(value):
    with pytest.raises(ValueError, match="concurrency must be between 1 and 64"):
        run(FakeClient(), [{"id": "a"}], concurrency=value)


# --------------------------------------------------------------------------------------- planning
def test_plan_compares_only_the_fields_asked_for():
    current = {"id": "a", "displayName": "A", "template": THERMOSTAT, "enabled": True, "simulated": False,
               "organizations": ["x"], "provisioned": True, "etag": "1"}
    spec = dict(validate_fleet([{"id": "a"}])[0])
    assert plan_device(spec, current).action == "unchanged"
    spec.update(enabled=False, organizations=["x"], display_name="A")
    change = plan_device(spec, current)
    assert change.action == "updated" and change.delta == {"enabled": False}
    assert plan_device(dict(spec, state="absent"), current).action == "deleted"
    assert plan_device(dict(spec, state="absent"), None).action == "unchanged"
    created = plan_device(dict(spec, template=THERMOSTAT), None)
    assert created.action == "created"
    assert created.delta == {"displayName": "A", "template": THERMOSTAT, "enabled": False, "organizations": ["x"]}


def test_empty_organizations_match_a_device_without_organizations():
    client = FakeClient([{"id": "a"}])
    result = run(client, [{"id": "a", "organizations": []}])
    assert result["counts"]["unchanged"] == 1 and client.writes == []


def test_purge_plans_deletes_only_inside_the_scope():
    current = {
        "t-1": {"id": "t-1", "template": THERMOSTAT},
        "t-2": {"id": "t-2", "template": THERMOSTAT},
        "c-1": {"id": "c-1", "template": CONTROLLER},
    }
    specs = validate_fleet([{"id": "t-1"}, {"id": "new"}])
    changes = plan_fleet(specs, current, in_scope=["t-1", "t-2"])
    assert [(c.id, c.action, c.purge) for c in changes] == [
        ("t-1", "unchanged", False), ("new", "created", False), ("t-2", "deleted", True)]


# --------------------------------------------------------------------------------------- reading
def test_without_purge_one_listing_of_the_application():
    client = FakeClient(thermostats(250, template=THERMOSTAT))
    run(client, [{"id": "t-001"}, {"id": "new-1"}])
    assert client.calls[:3] == [("LIST", None)] * 3
    # The only GET reads the created device back (confirm_creates), after the writes.
    assert [c for c in client.calls if c[0] == "GET"] == [("GET", "new-1")]
    assert client.calls.index(("GET", "new-1")) > client.calls.index(("PUT", "new-1"))


def test_an_empty_list_without_purge_sends_nothing():
    client = FakeClient(thermostats(3))
    result = run(client, [])
    assert client.calls == [] and result["changed"] is False


def test_with_purge_the_scope_listing_plus_a_get_per_missing_device():
    client = FakeClient(thermostats(5, template=THERMOSTAT) + thermostats(5, prefix="c", template=CONTROLLER))
    result = run(client, [{"id": "t-001"}, {"id": "c-001"}, {"id": "new"}], purge=True, purge_scope=THERMOSTAT)
    reads = [c for c in client.calls if c[0] in ("LIST", "GET")]
    assert reads[0] == ("LIST", "template eq 'dtmi:contoso:Thermostat;1'")
    # Then the read-back of the created device.
    assert sorted(reads[1:]) == [("GET", "c-001"), ("GET", "new"), ("GET", "new")]
    # c-001 is outside the scope: it is kept, and not purged; t-002..t-005 are.
    assert result["ids"]["deleted"] == ["t-002", "t-003", "t-004", "t-005"]
    assert result["ids"]["created"] == ["new"] and result["ids"]["unchanged"] == ["t-001", "c-001"]


def test_with_purge_many_missing_devices_list_the_whole_application_instead():
    client = FakeClient(thermostats(5, template=THERMOSTAT))
    devices = thermostats(fleet.LOOKUP_LIMIT + 1, prefix="n")
    run(client, devices, purge=True, purge_scope=THERMOSTAT, check_mode=True)
    assert client.calls == [("LIST", "template eq 'dtmi:contoso:Thermostat;1'"), ("LIST", None)]


# --------------------------------------------------------------------------------------- applying and results
def test_apply_sends_only_the_needed_writes_and_a_rerun_sends_none():
    client = FakeClient(thermostats(4, template=THERMOSTAT) + [{"id": "gone", "template": THERMOSTAT}])
    devices = thermostats(3) + [{"id": "t-004", "enabled": False}, {"id": "new"}, {"id": "gone", "state": "absent"}]
    result = run(client, devices, defaults={"template": THERMOSTAT})
    assert sorted(client.writes) == [("DELETE", "gone"), ("PATCH", "t-004"), ("PUT", "new")]
    assert result["changed"] is True
    assert result["counts"] == {"created": 1, "updated": 1, "deleted": 1, "unchanged": 3, "failed": 0}
    assert result["ids"]["unchanged"] == ["t-001", "t-002", "t-003"]
    # The listing, one read of the template the new device is created with, and reading back the created device.
    assert result["requests"] == {"reads": 3, "writes": 3, "retries": 0, "throttled": 0}
    assert result["msg"] == "1 created, 1 updated, 1 deleted, 3 unchanged, 0 failed"

    client.calls = []
    again = run(client, devices, defaults={"template": THERMOSTAT})  # nothing created: nothing to read back
    assert again["changed"] is False and client.writes == []
    assert client.calls == [("LIST", None)]
    assert again["counts"]["unchanged"] == 6


def test_a_template_that_does_not_exist_is_refused_before_any_write_with_one_read_per_template():
    client = FakeClient(thermostats(2, template=THERMOSTAT))
    devices = thermostats(300, template=THERMOSTAT) + thermostats(3, prefix="x", template="dtmi:nope;1")
    with pytest.raises(ValueError, match=r"^device 'x-001': template 'dtmi:nope;1' does not exist in this application "
                                         r"\(3 listed device\(s\) name it\).*nothing was changed$"):
        run(client, devices)
    assert client.writes == []
    template_reads = sorted(call for call in client.calls if call[0] == "TEMPLATE")
    assert template_reads == [("TEMPLATE", THERMOSTAT), ("TEMPLATE", "dtmi:nope;1")]


class PropertiesClient(FakeClient):
    """A FakeClient whose templates declare a writable property, and that takes property writes."""

    def get(self, path, params=None, api_version=None, allow_404=False):
        template = super().get(path, params=params, api_version=api_version, allow_404=allow_404)
        if template is not None and path.startswith("/deviceTemplates/"):
            template["capabilityModel"] = {"@id": "dtmi:contoso:Thermostat_if;1", "@type": "Interface", "contents": [
                {"@type": "Property", "name": "targetTemperature", "schema": "double", "writable": True}]}
        return template

    def request(self, method, path, body=None, expected=(200,), **_kwargs):
        self._call(method, path)

        class Answer:  # pylint: disable=too-few-public-methods
            pass

        answer = Answer()
        answer.body = body
        return answer


def test_creating_devices_that_set_properties_reads_their_template_once():
    client = PropertiesClient()
    devices = [{"id": "new-%d" % n, "template": THERMOSTAT, "properties": {"targetTemperature": 21}} for n in range(3)]
    result = run(client, devices)
    assert result["counts"]["created"] == 3 and result["counts"]["failed"] == 0
    # One GET of the template serves both checks: that it exists (creates) and what its properties accept.
    assert [call for call in client.calls if call[0] == "TEMPLATE"] == [("TEMPLATE", THERMOSTAT)]


def test_more_than_one_organization_is_refused_before_any_call():
    client = FakeClient()
    with pytest.raises(ValueError, match=r"^devices\[1\] \(id 'b'\): organizations must hold at most one organization id"):
        run(client, [{"id": "a"}, {"id": "b", "organizations": ["x", "y"]}])
    assert client.calls == []


def test_check_mode_plans_but_writes_nothing():
    client = FakeClient(thermostats(2))
    result = run(client, [{"id": "t-001", "enabled": False}, {"id": "new"}], check_mode=True)
    assert client.writes == []
    assert result["changed"] is True
    assert result["ids"]["updated"] == ["t-001"] and result["ids"]["created"] == ["new"]
    assert result["msg"].startswith("check mode, would be: 1 created, 1 updated")


def test_a_failing_device_does_not_stop_the_others_and_is_named_in_msg():
    bad = IoTCentralError("Device template 'dtmi:x;1' does not exist.", status=422, code="UnprocessableEntity",
                          request_id="req-1", method="PUT", path="/api/devices/bad-2")
    worse = IoTCentralError("Device 'bad-1' was not found.", status=404, code="NotFound", method="PATCH",
                            path="/api/devices/bad-1")
    client = FakeClient([{"id": "bad-1"}], failures={("PUT", "bad-2"): bad, ("PATCH", "bad-1"): worse},
                        templates=("dtmi:x;1",))
    devices = thermostats(10) + [{"id": "bad-1", "enabled": False}, {"id": "bad-2", "template": "dtmi:x;1"}]
    result = run(client, devices)
    assert result["counts"] == {"created": 10, "updated": 0, "deleted": 0, "unchanged": 0, "failed": 2}
    assert result["ids"]["failed"] == ["bad-1", "bad-2"]
    assert result["changed"] is True
    lines = result["msg"].splitlines()
    assert lines[0] == "2 of 12 devices failed (10 created, 0 updated, 0 deleted, 0 unchanged, 2 failed):"
    assert lines[1] == "bad-1 (update): HTTP 404 NotFound: Device 'bad-1' was not found."
    assert lines[2] == ("bad-2 (create): HTTP 422 UnprocessableEntity: Device template 'dtmi:x;1' does not exist. "
                        "(requestId req-1)")
    assert result["errors"][1] == {"id": "bad-2", "action": "create", "status": 422, "msg": lines[2].split(": ", 1)[1]}


def test_an_error_about_the_credential_stops_the_writes_not_sent_yet():
    denied = IoTCentralError("Forbidden", status=403, code="Forbidden", method="PUT", path="/api/devices/t-001")
    client = FakeClient(failures={("PUT", "t-001"): denied})
    result = run(client, thermostats(5), concurrency=1)
    assert client.writes == [("PUT", "t-001")]
    assert result["counts"]["failed"] == 5
    assert result["errors"][1]["msg"] == "not sent: the write of t-001 failed with HTTP 403, so every other write would too"
    assert len(result["msg"].splitlines()) == 6


def test_failure_lines_are_capped(monkeypatch):
    monkeypatch.setattr(fleet, "MSG_MAX_FAILURES", 3)
    failures = dict((("PUT", "t-%03d" % n), IoTCentralError("no", status=422)) for n in range(1, 6))
    result = run(FakeClient(failures=failures), thermostats(5))
    lines = result["msg"].splitlines()
    assert len(lines) == 5 and lines[-1] == "... and 2 more failed devices, listed in 'errors'"
    assert len(result["errors"]) == 5


def test_concurrent_writes_all_land():
    client = FakeClient()
    result = run(client, thermostats(200), concurrency=8)
    assert result["counts"]["created"] == 200 and len(client.devices) == 200
    assert len(client.writes) == 200


# --------------------------------------------------------------------------------------- diff
def test_diff_is_one_line_per_changed_device_with_only_changed_fields():
    client = FakeClient([{"id": "a", "displayName": "A", "template": THERMOSTAT}, {"id": "b"}, {"id": "old", "template": THERMOSTAT}])
    result = run(client, [{"id": "a", "enabled": False, "display_name": "A"}, {"id": "b"}, {"id": "c", "simulated": True}],
                 purge=True, purge_scope=THERMOSTAT, diff_mode=True, check_mode=True)
    diff = result["diff"]
    assert diff["before"] == ('a: enabled=true\n'
                              'old: displayName="old" template="dtmi:contoso:Thermostat;1" (not listed, in purge_scope)\n')
    assert diff["after"] == 'a: enabled=false\nc: simulated=true\n'
    assert "1 created, 1 updated, 1 deleted, 1 unchanged" in diff["after_header"]


def test_diff_is_capped_for_big_fleets():
    changes = [Change("d-%04d" % n, "created", {}, None, {"enabled": True}) for n in range(250)]
    counts = {"created": 250, "updated": 0, "deleted": 0, "unchanged": 0}
    diff = fleet_diff(changes, counts)
    lines = diff["after"].splitlines()
    assert len(lines) == fleet.DIFF_MAX_DEVICES + 1
    assert lines[-1] == "... 150 more changed devices not shown (see created, updated, deleted)"


def test_failed_devices_are_left_out_of_the_diff():
    failures = {("PUT", "t-002"): IoTCentralError("no", status=422)}
    result = run(FakeClient(failures=failures), thermostats(2), diff_mode=True)
    assert result["diff"]["after"] == "t-001\n"


def test_attestation_keys_are_collected_for_masking():
    devices = [{"id": "a", "attestation": {"type": "symmetric_key", "primary_key": "p", "secondary_key": "s"}},
               {"id": "b", "attestation": {"type": "x509", "primary_sha1_thumbprint": "AB" * 20}}, "not a mapping"]
    assert fleet.secret_values(devices, {"attestation": {"type": "tpm", "endorsement_key": "ek"}}) == {"p", "s", "ek"}


def test_a_deployment_manifest_needs_an_iot_edge_device_before_any_write():
    client = FakeClient(thermostats(1))
    with pytest.raises(ValueError, match="device 't-001': deployment_manifest envsensor needs an IoT Edge device; set edge: true"):
        fleet.plan_manifests(client, fleet.plan_fleet(validate_fleet([{"id": "t-001", "deployment_manifest": "envsensor"}]),
                                                      dict((d, dict(v)) for d, v in client.devices.items())))
    assert client.writes == []


# --------------------------------------------------------------------------------------- writing while listing
class SpanListing:
    """Stands in for listing.list_partitioned: hands the listing to ``on_span`` in two parts split at ``cut``
    (ids up to and including it, then the rest), and before the second part waits until ``ready()`` holds (or
    a second passed), recording ("LIST", "second part") in the client's calls when it goes on."""

    def __init__(self, client, cut, ready, fail_second=None):
        self.client = client
        self.cut = cut
        self.ready = ready
        self.fail_second = fail_second
        self.filters = []

    def __call__(self, _client, user_filter=None, page_size=100, concurrency=8, api_version=None, on_span=None):
        self.filters.append(user_filter)
        with self.client.lock:
            listed = [dict(d) for _id, d in sorted(self.client.devices.items())]
        if user_filter:
            template = user_filter.split("'")[1]
            listed = [d for d in listed if d.get("template") == template]
        self.client._call("LIST", "first part")
        on_span((None, True, self.cut, True), [d for d in listed if d["id"] <= self.cut])
        deadline = time.monotonic() + 1.0
        while not self.ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.client._call("LIST", "second part")
        if self.fail_second is not None:
            raise self.fail_second
        on_span((self.cut, False, None, False), [d for d in listed if d["id"] > self.cut])
        return listed


def streaming_run(client, devices, **params):
    params.setdefault("list_concurrency", 4)
    return run(client, devices, **params)


def test_writes_of_a_listed_part_go_out_before_the_rest_is_listed(monkeypatch):
    client = FakeClient(thermostats(4, template=THERMOSTAT))
    devices = [{"id": "t-%03d" % n, "enabled": False} for n in (1, 2, 3, 4)] + [{"id": "a-new"}, {"id": "z-new"}]
    listing = SpanListing(client, "t-002", lambda: len(client.writes) >= 3)
    monkeypatch.setattr(fleet, "list_partitioned", listing)
    result = streaming_run(client, devices, defaults={"template": THERMOSTAT})
    second = client.calls.index(("LIST", "second part"))
    # a-new and t-001, t-002 are in the first part: created (absent from it) and updated before the second part.
    assert sorted(client.writes[:3]) == [("PATCH", "t-001"), ("PATCH", "t-002"), ("PUT", "a-new")]
    assert all(client.calls.index(call) < second for call in client.writes[:3])
    assert sorted(call for call in client.writes if client.calls.index(call) > second) == [
        ("PATCH", "t-003"), ("PATCH", "t-004"), ("PUT", "z-new")]
    # The same results, in the same order, as the sequential steps.
    sequential = run(FakeClient(thermostats(4, template=THERMOSTAT)), devices, defaults={"template": THERMOSTAT})
    for key in ("ids", "counts", "errors", "msg", "changed"):
        assert result[key] == sequential[key]
    # 2 listing calls + the template (read once, before the first write) + the listing that reads the creates back.
    assert result["requests"] == {"reads": 4, "writes": 6, "retries": 0, "throttled": 0}


def test_purges_wait_for_the_whole_scope_listing(monkeypatch):
    client = FakeClient(thermostats(6, template=THERMOSTAT))
    devices = [{"id": "t-001", "enabled": False}, {"id": "t-005", "enabled": False}]
    listing = SpanListing(client, "t-003", lambda: len(client.writes) >= 1)
    monkeypatch.setattr(fleet, "list_partitioned", listing)
    result = streaming_run(client, devices, purge=True, purge_scope=THERMOSTAT, diff_mode=True)
    assert listing.filters == ["template eq 'dtmi:contoso:Thermostat;1'"]
    second = client.calls.index(("LIST", "second part"))
    assert client.writes[0] == ("PATCH", "t-001") and client.calls.index(client.writes[0]) < second
    deletes = [call for call in client.writes if call[0] == "DELETE"]
    assert sorted(deletes) == [("DELETE", "t-002"), ("DELETE", "t-003"), ("DELETE", "t-004"), ("DELETE", "t-006")]
    # t-002 and t-003 were listed in the first part, yet deleted only once the whole scope was listed.
    assert all(client.calls.index(call) > second for call in deletes)
    sequential = run(FakeClient(thermostats(6, template=THERMOSTAT)), devices, purge=True,
                     purge_scope=THERMOSTAT, diff_mode=True)
    for key in ("ids", "counts", "errors", "msg", "changed", "diff"):
        assert result[key] == sequential[key]


def test_no_write_goes_out_while_a_later_part_could_still_fail_the_checks(monkeypatch):
    client = FakeClient(thermostats(2, template=THERMOSTAT))
    devices = [{"id": "t-001", "enabled": False}, {"id": "x-001", "template": "dtmi:nope;1"}]
    monkeypatch.setattr(fleet, "list_partitioned", SpanListing(client, "t-002", lambda: False))
    with pytest.raises(ValueError, match=r"^device 'x-001': template 'dtmi:nope;1' does not exist"):
        streaming_run(client, devices, defaults={"template": THERMOSTAT})
    assert client.writes == []


def test_a_listing_that_fails_before_any_write_fails_the_run_as_before(monkeypatch):
    client = FakeClient(thermostats(4, template=THERMOSTAT))
    failure = IoTCentralError("Service unavailable", status=503)
    monkeypatch.setattr(fleet, "list_partitioned", SpanListing(client, "t-002", lambda: True, fail_second=failure))
    with pytest.raises(IoTCentralError, match="Service unavailable"):
        streaming_run(client, [{"id": "t-001"}, {"id": "t-004", "enabled": False}])
    assert client.writes == []


def test_a_listing_that_fails_after_writes_reports_them_and_sends_nothing_for_unlisted_parts(monkeypatch):
    client = FakeClient(thermostats(4, template=THERMOSTAT))
    failure = IoTCentralError("Service unavailable", status=503)
    listing = SpanListing(client, "t-002", lambda: len(client.writes) >= 1, fail_second=failure)
    monkeypatch.setattr(fleet, "list_partitioned", listing)
    result = streaming_run(client, [{"id": "t-001", "enabled": False}, {"id": "t-002"}, {"id": "t-004", "enabled": False},
                                    {"id": "z-new"}])
    assert client.writes == [("PATCH", "t-001")]
    assert result["ids"]["updated"] == ["t-001"] and result["ids"]["unchanged"] == ["t-002"]
    assert result["ids"]["failed"] == ["t-004", "z-new"] and result["changed"] is True
    assert result["errors"][0]["msg"].startswith("not sent: reading the current devices failed")
    assert "Service unavailable" in result["errors"][0]["msg"]
