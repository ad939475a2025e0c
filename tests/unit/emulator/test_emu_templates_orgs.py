"""Device template writes and organizations: CRUD, what the service adds, validation, hierarchy, references."""

import json
from urllib.parse import quote

import pytest

from emulator.testing import PREVIEW, STABLE, assert_no_spec_violations, error_of

BOTH = pytest.mark.parametrize("version", [STABLE, PREVIEW])
MERGE = {"Content-Type": "application/merge-patch+json"}
PUMP = "dtmi:fleetops:Pump;1"
PUMP_PATH = "deviceTemplates/" + quote(PUMP, safe="")


def pump_template(*extra):
    contents = [
        {"@type": "Telemetry", "name": "flow", "schema": "double"},
        {"@type": "Property", "name": "speed", "schema": "integer", "writable": True},
        {"@type": "Command", "name": "flush"},
    ]
    return {"@type": ["ModelDefinition", "DeviceModel"], "displayName": "Pump",
            "capabilityModel": {"@id": "dtmi:fleetops:Pump_cm;1", "@type": "Interface",
                                "contents": contents + list(extra)}}


@BOTH
def test_template_put_get_patch_delete(client_for, fresh_emulator, version):
    client = client_for(version)
    created = client.put(PUMP_PATH, json=pump_template())
    assert created.status_code == 200
    template = created.json()
    # What the service adds: @id, @context, an etag, value-type markers on primitive properties.
    assert template["@id"] == PUMP and template["@context"] == ["dtmi:iotcentral:context;2", "dtmi:dtdl:context;2"]
    speed = template["capabilityModel"]["contents"][1]
    assert speed["@type"] == ["Property", "NumberValue"] and template["etag"]
    assert client.get(PUMP_PATH).json() == template
    assert PUMP in {t["@id"] for t in client.list_all("deviceTemplates")}
    # Merge patch: the contents list is replaced as a whole.
    patched = client.patch(PUMP_PATH, data=json.dumps({"displayName": "Pump 2", "capabilityModel": {"contents": [
        {"@type": "Telemetry", "name": "flow", "schema": "double"}]}}), headers=MERGE).json()
    assert patched["displayName"] == "Pump 2" and [c["name"] for c in patched["capabilityModel"]["contents"]] == ["flow"]
    assert patched["capabilityModel"]["@id"] == "dtmi:fleetops:Pump_cm;1" and patched["etag"] != template["etag"]
    assert client.patch(PUMP_PATH, json={"description": "d"}).json()["description"] == "d"  # application/json too
    assert client.delete(PUMP_PATH).status_code == 204
    assert error_of(client.get(PUMP_PATH), 404)
    assert_no_spec_violations(fresh_emulator)


@BOTH
def test_template_refusals(client_for, fresh_emulator, version):
    client = client_for(version)
    no_model = {"@type": ["ModelDefinition", "DeviceModel"], "displayName": "Nothing"}
    assert "capabilityModel" in error_of(client.put(PUMP_PATH, json=no_model), 422)["message"]
    unnamed = pump_template({"@type": "Telemetry", "schema": "double"})
    assert "capabilityModel.contents[3].name" in error_of(client.put(PUMP_PATH, json=unnamed), 422)["message"]
    other_id = dict(pump_template(), **{"@id": "dtmi:fleetops:Other;1"})
    assert "'@id'" in error_of(client.put(PUMP_PATH, json=other_id), 422)["message"]
    assert "Invalid device template ID" in error_of(client.put("deviceTemplates/pump", json=pump_template()),
                                                    400)["message"]
    assert error_of(client.patch(PUMP_PATH, json={}), 404)
    client.put(PUMP_PATH, json=pump_template())
    assert "capabilityModel" in error_of(client.patch(PUMP_PATH, data=json.dumps({"capabilityModel": None}),
                                                      headers=MERGE), 422)["message"]
    stale = client.get(PUMP_PATH).json()["etag"]
    client.patch(PUMP_PATH, json={"displayName": "x"})
    assert error_of(client.patch(PUMP_PATH, json={"displayName": "y", "etag": stale}), 412)
    client.put("devices/p1", json={"template": PUMP})
    assert "1 device(s)" in error_of(client.delete(PUMP_PATH), 422)["message"]
    assert client.get(PUMP_PATH).status_code == 200
    fresh_emulator.reset_stats()  # the refused bodies break the spec on purpose


def test_template_list_parameters_and_reset(client_for, fresh_emulator):
    client = client_for(PREVIEW)
    client.put(PUMP_PATH, json=pump_template())
    by_id = client.list_all("deviceTemplates", params={"filter": "@id eq '%s'" % PUMP})
    assert [t["@id"] for t in by_id] == [PUMP]
    by_model = client.list_all("deviceTemplates", params={"filter": "capabilityModelId eq 'dtmi:fleetops:Pump_cm;1'"})
    assert [t["@id"] for t in by_model] == [PUMP]
    names = [t["displayName"] for t in client.list_all("deviceTemplates", params={"orderby": "displayName",
                                                                                  "maxpagesize": 2})]
    assert names == sorted(names) and "Pump" in names
    stable = client_for(STABLE)
    # 2022-07-31 declares no list parameter: a filter there is ignored.
    assert len(stable.list_all("deviceTemplates", params={"$filter": "displayName eq 'x'"})) == len(names)
    client.delete("deviceTemplates/" + quote("dtmi:contoso:Thermostat;1", safe=""))
    fresh_emulator.reset()
    ids = {t["@id"] for t in client.list_all("deviceTemplates")}
    assert PUMP not in ids and "dtmi:contoso:Thermostat;1" in ids
    assert_no_spec_violations(fresh_emulator)


@BOTH
def test_organizations_hierarchy(client_for, fresh_emulator, version):
    client = client_for(version)
    listed = {o["id"]: o for o in client.list_all("organizations")}
    assert listed["seattle"] == {"id": "seattle", "displayName": "Seattle", "parent": "washington"}
    assert listed["redmond"] == {"id": "redmond", "displayName": "Redmond"}
    assert client.put("organizations/sales", json={"displayName": "Sales", "parent": "seattle"}).json() == {
        "id": "sales", "displayName": "Sales", "parent": "seattle"}
    assert client.patch("organizations/sales", json={"displayName": "Sales 2"}).json()["displayName"] == "Sales 2"
    moved = client.patch("organizations/sales", data=json.dumps({"parent": None}), headers=MERGE).json()
    assert moved == {"id": "sales", "displayName": "Sales 2"}
    assert client.put("organizations/sales", json={"displayName": "Sales"}).json() == {"id": "sales",
                                                                                       "displayName": "Sales"}
    assert client.delete("organizations/sales").status_code == 204
    assert error_of(client.get("organizations/sales"), 404)
    assert_no_spec_violations(fresh_emulator)


@BOTH
def test_organization_refusals(client_for, fresh_emulator, version):
    client = client_for(version)
    assert "parent" in error_of(client.put("organizations/sales", json={"displayName": "S", "parent": "nowhere"}),
                                422)["message"]
    assert "displayName" in error_of(client.put("organizations/sales", json={}), 422)["message"]
    assert "cycle" in error_of(client.patch("organizations/washington", json={"parent": "seattle"}), 422)["message"]
    assert "cycle" in error_of(client.patch("organizations/seattle", json={"parent": "seattle"}), 422)["message"]
    message = error_of(client.delete("organizations/washington"), 422)["message"]
    assert "seattle" in message and "spokane" in message
    assert error_of(client.put("organizations/Bad_Id", json={"displayName": "x"}), 400)
    assert error_of(client.put("organizations/-bad", json={"displayName": "x"}), 400)
    assert client.get("organizations/washington").status_code == 200
    fresh_emulator.reset_stats()


@BOTH
def test_devices_and_groups_refuse_unknown_organizations(client_for, fresh_emulator, version):
    client = client_for(version)
    assert "organizations[0]" in error_of(client.put("devices/d1", json={"organizations": ["atlantis"]}),
                                          422)["message"]
    client.put("devices/d1", json={"organizations": ["seattle"]})
    assert "atlantis" in error_of(client.patch("devices/d1", json={"organizations": ["atlantis"]}), 422)["message"]
    group = {"displayName": "G", "filter": "SELECT * FROM devices", "organizations": ["atlantis"]}
    assert error_of(client.put("deviceGroups/g", json=group), 422)
    client.put("deviceGroups/g", json=dict(group, organizations=["redmond"]))
    assert error_of(client.patch("deviceGroups/g", json={"organizations": ["atlantis"]}), 422)
    assert client.get("devices/d1").json()["organizations"] == ["seattle"]
    assert_no_spec_violations(fresh_emulator)


def test_seeding_creates_the_organizations_it_names(fresh_emulator, client_for):
    fresh_emulator.emulator.seed_devices(2, prefix="s", template=None, organizations=["lab"])
    assert client_for(STABLE).get("organizations/lab").json() == {"id": "lab", "displayName": "lab"}
