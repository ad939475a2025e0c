"""Unit tests of device templates: documents, semantic comparison, breaking changes, and the converge logic."""

from __future__ import annotations

import copy
import json

import pytest
from ansible_collections.fleetops.iotcentral.tests.unit.plugins.module_utils.test_devicegroups import FakeApi

from ansible_collections.fleetops.iotcentral.plugins.module_utils.templates import (
    breaking_changes,
    capability_names,
    desired_template,
    ensure_device_template,
    load_content,
    same,
    template_differences,
    validate_template_id,
)

TEMPLATE_ID = "dtmi:contoso:ThermostatTemplate;1"
PATH = "/deviceTemplates/dtmi%3Acontoso%3AThermostatTemplate%3B1"
INTERFACE = {
    "@context": "dtmi:dtdl:context;2", "@id": "dtmi:com:example:Thermostat;1", "@type": "Interface",
    "displayName": "Thermostat",
    "contents": [
        {"@type": ["Telemetry", "Temperature"], "name": "temperature", "schema": "double"},
        {"@type": "Property", "name": "targetTemperature", "schema": "double", "writable": True},
        {"@type": "Command", "name": "reboot", "request": {"name": "delay", "schema": "integer"}},
        {"@type": "Component", "name": "sensor", "schema": {
            "@type": "Interface", "@id": "dtmi:com:example:Sensor;1",
            "contents": [{"@type": "Telemetry", "name": "humidity", "schema": "double"}]}},
    ],
}


def as_served(desired):
    """What the service shows for ``desired``: its own fields added, keys and capabilities in another order."""
    served = copy.deepcopy(desired)
    served.update({"@id": TEMPLATE_ID, "etag": "e1", "@context": ["dtmi:iotcentral:context;2", "dtmi:dtdl:context;2"]})
    for capability in served["capabilityModel"]["contents"]:
        capability["@id"] = "%s:%s;1" % (served["capabilityModel"]["@id"].split(";")[0], capability["name"])
        if capability["@type"] == "Property":
            capability["@type"] = ["Property", "NumberValue"]
    served["capabilityModel"]["contents"].reverse()
    return dict(reversed(list(served.items())))


def spec(**kwargs):
    base = {"id": TEMPLATE_ID, "content": None, "display_name": None, "allow_breaking_changes": False,
            "state": "present"}
    base.update(kwargs)
    return base


def api_with(template=None, devices=()):
    objects = {PATH: template} if template is not None else {}
    return FakeApi(objects, collections={"/devices": list(devices)})


@pytest.mark.parametrize("good", ["dtmi:contoso:Thermostat;1", "dtmi:modelDefinition:dtdlv2", "dtmi:a_b:c1;12"])
def test_template_ids(good):
    assert validate_template_id(good) == good


@pytest.mark.parametrize("bad", ["thermostat", "dtmi:1abc;1", "dtmi:a:b;0", "dtmi:a_:b;1", "dtmi:a;1;2", "", None])
def test_bad_template_ids(bad):
    with pytest.raises(ValueError, match="is not a valid device template id"):
        validate_template_id(bad)


def test_a_bare_interface_becomes_the_capability_model():
    desired = desired_template(TEMPLATE_ID, INTERFACE)
    assert desired == {"@type": ["ModelDefinition", "DeviceModel"], "displayName": "Thermostat",
                       "capabilityModel": INTERFACE}
    assert desired_template(TEMPLATE_ID, INTERFACE, display_name="T")["displayName"] == "T"
    assert capability_names(desired) == ["reboot", "sensor", "sensor/humidity", "targetTemperature", "temperature"]


@pytest.mark.parametrize("content, message", [
    ({"@type": ["ModelDefinition"], "displayName": "x"}, "needs a capability model"),
    (dict(INTERFACE, **{"@id": TEMPLATE_ID}), "must differ from the template id"),
    ({"@id": "dtmi:other:T;1", "@type": ["ModelDefinition"], "capabilityModel": {}}, "differs from id"),
    ({"@type": "Interface", "contents": [{"@type": "Telemetry", "schema": "double"}]}, r"contents\[0\] has no name"),
    ({"@type": "Interface", "contents": [{"name": "a"}, {"name": "a"}]}, "repeats the capability name a"),
])
def test_documents_that_are_not_templates_are_refused(content, message):
    with pytest.raises(ValueError, match=message):
        desired_template(TEMPLATE_ID, content)


def test_load_content_from_a_file_a_json_text_or_a_dict(tmp_path):
    path = tmp_path / "thermostat.json"
    path.write_text(json.dumps(INTERFACE), encoding="utf-8")
    assert load_content(str(path)) == INTERFACE
    assert load_content(json.dumps(INTERFACE)) == INTERFACE
    assert load_content(INTERFACE) is INTERFACE
    with pytest.raises(ValueError, match="^content: no file"):
        load_content(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{nope", encoding="utf-8")
    with pytest.raises(ValueError, match="is not JSON"):
        load_content(str(tmp_path / "bad.json"))
    with pytest.raises(ValueError, match="must be a JSON object"):
        load_content(42)


def test_server_added_fields_key_order_and_capability_order_are_no_change():
    desired = desired_template(TEMPLATE_ID, INTERFACE)
    assert template_differences(desired, as_served(desired)) == {}


@pytest.mark.parametrize("change", [
    lambda m: m["contents"][1].pop("writable"),
    lambda m: m["contents"][0].update(unit="degreeCelsius"),
    lambda m: m["contents"][1].update({"@type": ["Property", "Temperature"]}),
    lambda m: m["contents"].pop(),
    lambda m: m.update(description="new"),
])
def test_a_real_difference_is_a_change(change):
    desired = desired_template(TEMPLATE_ID, INTERFACE)
    served = as_served(desired)
    changed = copy.deepcopy(desired)
    change(changed["capabilityModel"])
    assert set(template_differences(changed, served)) == {"capabilityModel"}


def test_same_compares_booleans_and_numbers_as_json_does():
    assert same(80, 80.0) and not same(True, 1) and not same(1, True)
    assert same({"a": [1, 2]}, {"a": [1, 2], "etag": "x"}) and not same({"a": [1, 2]}, {"a": [2, 1]})


def test_breaking_changes_name_removed_renamed_and_retyped_capabilities_only():
    before = INTERFACE
    after = copy.deepcopy(INTERFACE)
    after["contents"][0]["schema"] = "float"                     # retyped
    after["contents"][1]["name"] = "setPoint"                    # renamed
    after["contents"][2]["@type"] = "Property"                   # another kind
    after["contents"][3]["schema"]["contents"] = []              # removed from a component
    after["contents"].append({"@type": "Telemetry", "name": "new", "schema": "double"})  # additive
    after["contents"][0]["displayName"] = "T"                    # cosmetic
    assert breaking_changes(before, after) == [
        "reboot (Command -> Property)", "sensor/humidity (removed or renamed)",
        "targetTemperature (removed or renamed)", "temperature (schema changed)"]
    assert breaking_changes(before, dict(INTERFACE, contents=INTERFACE["contents"] + [{"name": "x", "@type": "Telemetry"}])) == []


def test_create_update_and_rerun_send_only_what_differs():
    api = api_with()
    action, template, _diff = ensure_device_template(api, spec(content=INTERFACE), check_mode=True)
    assert action == "created" and api.writes == [] and template["@id"] == TEMPLATE_ID
    action, _template, _diff = ensure_device_template(api, spec(content=INTERFACE))
    assert action == "created" and [w[0] for w in api.writes] == ["PUT"]
    assert "@id" not in api.writes[0][2]  # read-only in the spec
    action, _template, _diff = ensure_device_template(api, spec(content=INTERFACE))
    assert action == "unchanged" and len(api.writes) == 1
    action, template, _diff = ensure_device_template(api, spec(display_name="Renamed"))
    assert action == "updated" and api.writes[-1][2] == {"displayName": "Renamed", "etag": api.writes[-1][2]["etag"]}


def test_a_member_removed_from_the_document_is_removed_by_the_patch():
    with_description = dict(INTERFACE, description="old")
    api = api_with()
    ensure_device_template(api, spec(content=with_description))
    action, template, _diff = ensure_device_template(api, spec(content=INTERFACE))
    assert action == "updated"
    assert api.writes[-1][2]["capabilityModel"]["description"] is None
    assert "description" not in template["capabilityModel"]
    assert ensure_device_template(api, spec(content=INTERFACE))[0] == "unchanged"


def test_a_breaking_change_is_refused_only_while_devices_use_the_template():
    broken = dict(INTERFACE, contents=INTERFACE["contents"][1:])
    unused = api_with(as_served(desired_template(TEMPLATE_ID, INTERFACE)))
    assert ensure_device_template(unused, spec(content=broken))[0] == "updated"

    used = api_with(as_served(desired_template(TEMPLATE_ID, INTERFACE)), devices=[{"id": "d1"}])
    with pytest.raises(ValueError, match=r"^device template dtmi:contoso:ThermostatTemplate;1 is used by devices and "
                                         r"this change breaks temperature \(removed or renamed\); .*allow_breaking_changes"):
        ensure_device_template(used, spec(content=broken))
    assert used.writes == []
    listing = [call for call in used.calls if call[1] == "/devices"]
    assert listing and "template eq 'dtmi:contoso:ThermostatTemplate;1'" in json.dumps(listing)
    assert ensure_device_template(used, spec(content=broken, allow_breaking_changes=True))[0] == "updated"
    additive = dict(INTERFACE, contents=INTERFACE["contents"] + [{"@type": "Telemetry", "name": "x", "schema": "double"}])
    assert ensure_device_template(used, spec(content=additive))[0] == "updated"


def test_delete_is_refused_while_devices_use_the_template():
    used = api_with(as_served(desired_template(TEMPLATE_ID, INTERFACE)), devices=[{"id": "d1"}, {"id": "d2"}])
    with pytest.raises(ValueError, match=r"is used by 2 device\(s\); .*nothing was deleted"):
        ensure_device_template(used, spec(state="absent"))
    assert used.writes == []
    unused = api_with(as_served(desired_template(TEMPLATE_ID, INTERFACE)))
    assert ensure_device_template(unused, spec(state="absent"))[0] == "deleted"
    assert ensure_device_template(unused, spec(state="absent"))[0] == "unchanged"


def test_create_without_content_is_refused_before_any_write():
    api = api_with()
    with pytest.raises(ValueError, match="content is needed to create it"):
        ensure_device_template(api, spec(display_name="x"))
    assert api.writes == []
