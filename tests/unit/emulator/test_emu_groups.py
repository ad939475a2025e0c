"""Device groups: CRUD, etags, validation, list parameters per version, membership that follows the devices."""

import json

import pytest
import requests

from emulator.testing import PREVIEW, STABLE, ApiClient, assert_no_spec_violations, error_of

THERMOSTAT = "dtmi:contoso:Thermostat;1"
CONTROLLER = "dtmi:contoso:TemperatureController;1"
BOTH = pytest.mark.parametrize("version", [STABLE, PREVIEW])
THERMOSTATS = 'SELECT * FROM devices WHERE $template = "%s"' % THERMOSTAT
MERGE = {"Content-Type": "application/merge-patch+json"}


def member_ids(client, group_id, **params):
    return sorted(d["id"] for d in client.list_all("deviceGroups/%s/devices" % group_id, params=params))


@BOTH
def test_create_get_replace_patch_delete(client_for, fresh_emulator, version):
    client = client_for(version)
    body = {"displayName": "Device group 1", "description": "Custom device group.", "filter": THERMOSTATS,
            "organizations": ["seattle"]}
    created = client.put("deviceGroups/group1", json=body)
    assert created.status_code == 200
    group = created.json()
    assert group == dict(body, id="group1", etag=group["etag"])
    assert client.get("deviceGroups/group1").json() == group
    replaced = client.put("deviceGroups/group1", json={"displayName": "Other", "filter": "SELECT * FROM devices"})
    # Replace: omitted optional fields are gone.
    assert replaced.json() == {"id": "group1", "displayName": "Other", "filter": "SELECT * FROM devices",
                               "etag": replaced.json()["etag"]}
    assert replaced.json()["etag"] != group["etag"]
    patched = client.patch("deviceGroups/group1", json={"description": "d", "organizations": ["redmond"]}).json()
    assert patched["description"] == "d" and patched["organizations"] == ["redmond"]
    assert patched["displayName"] == "Other" and patched["etag"] != replaced.json()["etag"]
    merged = client.patch("deviceGroups/group1", data=json.dumps({"description": None, "organizations": None}),
                          headers=MERGE).json()
    assert "description" not in merged and "organizations" not in merged
    deleted = client.delete("deviceGroups/group1")
    assert deleted.status_code == 204 and deleted.content == b""
    assert error_of(client.get("deviceGroups/group1"), 404)["code"] == "NotFound"
    assert error_of(client.delete("deviceGroups/group1"), 404)
    assert error_of(client.patch("deviceGroups/group1", json={}), 404)
    assert error_of(client.get("deviceGroups/group1/devices"), 404)
    assert_no_spec_violations(fresh_emulator)


@BOTH
def test_required_fields_and_types(client_for, version):
    client = client_for(version)
    assert "'filter' is required" in error_of(client.put("deviceGroups/g", json={"displayName": "G"}), 422)["message"]
    assert "'displayName' is required" in error_of(client.put("deviceGroups/g", json={"filter": THERMOSTATS}),
                                                   422)["message"]
    for body, field in (({"displayName": 1}, "displayName"), ({"filter": True}, "filter"),
                        ({"description": []}, "description"), ({"organizations": "x"}, "organizations"),
                        ({"organizations": ["a", "b"]}, "organizations")):
        full = dict({"displayName": "G", "filter": THERMOSTATS}, **body)
        message = error_of(client.put("deviceGroups/g", json=full), 422)["message"]
        assert "'%s" % field in message
    client.put("deviceGroups/g", json={"displayName": "G", "filter": THERMOSTATS})
    assert "cannot be removed" in error_of(client.patch("deviceGroups/g", json={"filter": None}), 422)["message"]
    assert error_of(client.patch("deviceGroups/g", json=[1]), 422)
    assert error_of(client.put("deviceGroups/g", data=b"{x", headers={"Content-Type": "application/json"}), 400)
    assert error_of(client.put("deviceGroups/g", data=b"{}", headers={"Content-Type": "text/plain"}), 415)
    assert error_of(client.patch("deviceGroups/g", data=b"{}", headers={"Content-Type": "text/plain"}), 415)


@BOTH
def test_a_query_it_does_not_understand_is_refused_with_the_position(client_for, version):
    client = client_for(version)
    bad = 'SELECT * FROM devices WHERE $template = "x" AND $color = "red"'
    message = error_of(client.put("deviceGroups/g", json={"displayName": "G", "filter": bad}), 422)["message"]
    assert "'filter'" in message and "$color" in message and "position 48" in message
    client.put("deviceGroups/g", json={"displayName": "G", "filter": THERMOSTATS})
    message = error_of(client.patch("deviceGroups/g", json={"filter": "SELECT * FROM devices WHERE"}), 422)["message"]
    assert "position 27" in message
    assert client.get("deviceGroups/g").json()["filter"] == THERMOSTATS


@pytest.mark.parametrize("group_id", ["has space", "dot.ted", "x" * 256, "sl%2Fash", "caf%C3%A9"])
def test_invalid_group_ids(client_for, group_id):
    response = client_for(STABLE).put("deviceGroups/" + group_id, json={"displayName": "G", "filter": THERMOSTATS})
    assert "Invalid device group ID" in error_of(response, 400)["message"]


@pytest.mark.parametrize("group_id", ["a", "under_score", "dash-ed", "475cad48-b7ff-4a09-b51e-1a9021385453", "x" * 255])
def test_valid_group_ids(client_for, group_id):
    response = client_for(STABLE).put("deviceGroups/" + group_id, json={"displayName": "G", "filter": THERMOSTATS})
    assert response.status_code == 200 and response.json()["id"] == group_id


@BOTH
def test_stale_etag_is_412_and_changes_nothing(client_for, version):
    client = client_for(version)
    first = client.put("deviceGroups/g", json={"displayName": "A", "filter": THERMOSTATS}).json()
    second = client.patch("deviceGroups/g", json={"displayName": "B", "etag": first["etag"]}).json()
    assert error_of(client.patch("deviceGroups/g", json={"displayName": "C", "etag": first["etag"]}), 412)
    assert error_of(client.put("deviceGroups/g", json={"displayName": "C", "filter": THERMOSTATS,
                                                       "etag": first["etag"]}), 412)
    assert error_of(client.put("deviceGroups/new", json={"displayName": "C", "filter": THERMOSTATS,
                                                         "etag": first["etag"]}), 412)
    assert client.get("deviceGroups/g").json() == second
    assert client.put("deviceGroups/g", json={"displayName": "D", "filter": THERMOSTATS,
                                              "etag": second["etag"]}).status_code == 200


def test_if_match_is_honoured_on_preview_only(client_for):
    preview, stable = client_for(PREVIEW), client_for(STABLE)
    group = preview.put("deviceGroups/g", json={"displayName": "A", "filter": THERMOSTATS}).json()
    assert error_of(preview.patch("deviceGroups/g", json={"displayName": "B"}, headers={"If-Match": '"stale"'}), 412)
    ok = preview.patch("deviceGroups/g", json={"displayName": "B"}, headers={"If-Match": '"%s"' % group["etag"]})
    assert ok.status_code == 200
    assert preview.patch("deviceGroups/g", json={}, headers={"If-Match": "*"}).status_code == 200
    assert stable.patch("deviceGroups/g", json={"displayName": "C"}, headers={"If-Match": '"stale"'}).status_code == 200


def test_reader_can_read_but_not_write(client_for, fresh_emulator, reader_headers):
    client_for(STABLE).put("deviceGroups/g", json={"displayName": "A", "filter": THERMOSTATS})
    reader = client_for(STABLE, headers=reader_headers)
    assert reader.get("deviceGroups/g").status_code == 200
    assert reader.get("deviceGroups/g/devices").status_code == 200
    assert error_of(reader.put("deviceGroups/g", json={"displayName": "A", "filter": THERMOSTATS}), 403)
    assert error_of(reader.delete("deviceGroups/g"), 403)


def test_membership_follows_device_changes(client_for, fresh_emulator):
    client = client_for(PREVIEW)
    client.put("deviceGroups/thermo", json={"displayName": "T", "filter": THERMOSTATS + " AND $enabled = true"})
    client.put("deviceGroups/seattle", json={"displayName": "S",
                                             "filter": "SELECT * FROM devices WHERE $organizations = 'seattle'"})
    client.put("deviceGroups/all", json={"displayName": "All", "filter": "SELECT * FROM devices"})
    assert member_ids(client, "thermo") == [] and member_ids(client, "all") == []
    client.put("devices/a", json={"template": THERMOSTAT})
    client.put("devices/b", json={"template": CONTROLLER, "organizations": ["seattle"]})
    client.put("devices/c", json={"template": THERMOSTAT, "enabled": False})
    assert member_ids(client, "thermo") == ["a"]
    assert member_ids(client, "seattle") == ["b"]
    assert member_ids(client, "all") == ["a", "b", "c"]
    client.patch("devices/c", json={"enabled": True, "organizations": ["seattle"]})
    client.patch("devices/a", json={"template": CONTROLLER})
    assert member_ids(client, "thermo") == ["c"]
    assert member_ids(client, "seattle") == ["b", "c"]
    client.delete("devices/c")
    assert member_ids(client, "thermo") == [] and member_ids(client, "seattle") == ["b"]
    assert member_ids(client, "all") == ["a", "b"]
    # And the group's query itself can change.
    client.patch("deviceGroups/thermo", json={"filter": 'SELECT * FROM devices WHERE $id = "a" OR $id = "b"'})
    assert member_ids(client, "thermo") == ["a", "b"]
    # Provisioning (a device connecting) also changes membership.
    client.put("deviceGroups/online", json={"displayName": "O",
                                            "filter": "SELECT * FROM devices WHERE $provisioned = true"})
    assert member_ids(client, "online") == []
    requests.post(fresh_emulator.base_url + "/__emulator__/devices/b/provision", json={"provisioned": True},
                  timeout=10)
    assert member_ids(client, "online") == ["b"]
    assert_no_spec_violations(fresh_emulator)


@BOTH
def test_group_devices_are_rendered_per_version_and_paged(client_for, fresh_emulator, version):
    fresh_emulator.emulator.seed_devices(60, prefix="th")
    fresh_emulator.emulator.seed_devices(5, prefix="ctl", template=CONTROLLER)
    client = client_for(version)
    client.put("deviceGroups/g", json={"displayName": "G", "filter": THERMOSTATS})
    first = client.get("deviceGroups/g/devices").json()
    # Default page size 25 in both versions.
    assert len(first["value"]) == 25 and first["nextLink"].startswith(fresh_emulator.base_url)
    members = client.list_all("deviceGroups/g/devices")
    assert [d["id"] for d in members] == ["th-%05d" % n for n in range(1, 61)]
    assert set(members[0]) == {"id", "etag", "displayName", "template", "enabled", "provisioned", "simulated"}
    if version == PREVIEW:
        page = client.get("deviceGroups/g/devices", params={"maxpagesize": 7}).json()
        assert len(page["value"]) == 7 and "maxpagesize=7" in page["nextLink"]
        assert len(client.list_all("deviceGroups/g/devices", params={"maxpagesize": 100})) == 60
        assert error_of(client.get("deviceGroups/g/devices", params={"maxpagesize": 0}), 400)
        fresh_emulator.reset_stats()  # maxpagesize=0 breaks the spec on purpose.
    else:
        # 2022-07-31 declares no paging parameters: they are ignored.
        assert len(client.get("deviceGroups/g/devices", params={"$top": 3}).json()["value"]) == 25
    assert error_of(client.get("deviceGroups/g/devices", params={"$skiptoken": "bogus"}), 400)
    assert_no_spec_violations(fresh_emulator)


def test_edge_devices_show_their_type_in_preview_members(client_for):
    client = client_for(PREVIEW)
    client.put("devices/edge1", json={"template": "dtmi:contoso:EnvironmentalSensorEdge;1"})
    client.put("deviceGroups/edge", json={"displayName": "E", "filter": "SELECT * FROM devices WHERE $id = 'edge1'"})
    assert client.list_all("deviceGroups/edge/devices")[0]["type"] == ["iotEdge"]
    assert "type" not in client_for(STABLE).list_all("deviceGroups/edge/devices")[0]


def test_list_parameters_in_preview(client_for, fresh_emulator):
    client = client_for(PREVIEW)
    for number in range(1, 31):
        client.put("deviceGroups/g%02d" % number, json={
            "displayName": "Group %02d" % (31 - number), "filter": THERMOSTATS,
            "organizations": ["seattle"] if number % 2 else []})
    listed = client.list_all("deviceGroups", params={"maxpagesize": 4})
    assert [g["id"] for g in listed] == ["g%02d" % n for n in range(1, 31)]
    page = client.get("deviceGroups", params={"maxpagesize": 4}).json()
    assert len(page["value"]) == 4 and "nextLink" in page
    ordered = client.list_all("deviceGroups", params={"orderby": "displayName desc", "maxpagesize": 7})
    assert [g["displayName"] for g in ordered] == ["Group %02d" % n for n in range(30, 0, -1)]
    seattle = client.list_all("deviceGroups", params={"filter": "scopes eq 'seattle' and contains(displayName, '1')"})
    assert sorted(g["id"] for g in seattle) == ["g13", "g15", "g17", "g19", "g21"]
    assert error_of(client.get("deviceGroups", params={"filter": "color eq 'red'"}), 400)
    assert error_of(client.get("deviceGroups", params={"orderby": "filter"}), 400)
    assert_no_spec_violations(fresh_emulator)


def test_stable_list_ignores_undeclared_parameters(client_for):
    client = client_for(STABLE)
    for number in range(1, 28):
        client.put("deviceGroups/g%02d" % number, json={"displayName": "G", "filter": THERMOSTATS})
    page = client.get("deviceGroups", params={"$top": 2, "$filter": "id eq 'g01'", "$orderby": "nonsense",
                                              "filter": "(", "maxpagesize": 0}).json()
    assert len(page["value"]) == 25 and "nextLink" in page
    assert len(client.list_all("deviceGroups")) == 27


def test_reset_and_state_file(tmp_path):
    from emulator.server import start_emulator

    state = tmp_path / "state.json"
    with start_emulator(port=0, rate_limit=0, state_file=str(state)) as first:
        client = ApiClient(first.base_url, STABLE)
        group = client.put("deviceGroups/kept", json={"displayName": "K", "filter": THERMOSTATS}).json()
        client.close()
    with start_emulator(port=0, rate_limit=0, state_file=str(state)) as second:
        client = ApiClient(second.base_url, STABLE)
        assert client.get("deviceGroups/kept").json() == group
        second.reset()
        assert client.get("deviceGroups/kept").status_code == 404
        client.close()
