"""Unit tests of app_export's logic: what is written for a resource, secrets, property values, stable text."""

from __future__ import annotations

import yaml

from ansible_collections.fleetops.iotcentral.plugins.module_utils.appexport import (
    Item,
    _vaulted,
    attestation_item,
    property_values,
    render,
    render_section,
    vault_variable,
    vault_variables,
    writable_names,
)

THERMOSTAT = {
    "@id": "dtmi:contoso:Thermostat;1",
    "capabilityModel": {
        "@id": "dtmi:contoso:Thermostat_cm;1",
        "@type": "Interface",
        "contents": [
            {"@type": "Property", "name": "targetTemperature", "schema": "double", "writable": True},
            {"@type": "Property", "name": "serialNumber", "schema": "string"},
            {"@type": "Telemetry", "name": "temperature", "schema": "double"},
            {"@type": "Component", "name": "fan", "schema": {
                "@id": "dtmi:contoso:Fan;1", "@type": "Interface",
                "contents": [{"@type": "Property", "name": "speed", "schema": "integer", "writable": True}]}},
        ],
    },
}


def test_vault_variable_names_are_valid_and_stable():
    assert vault_variable("deployment_manifests", "env:sensor;1", "myAcr", "password") == \
        "vault_iotcentral_deployment_manifests_env_sensor_1_myacr_password"
    assert vault_variable("enrollment_groups", "store-sensors", "primary_key") == \
        "vault_iotcentral_enrollment_groups_store_sensors_primary_key"


def test_secrets_in_manifest_content_become_vault_references():
    data = {"registryCredentials": {"acr": {"address": "acr.azurecr.io", "username": "me", "password": "s3cret"}},
            "env": [{"name": "x", "sharedAccessKey": "k", "primaryKey": "p"}], "keyVaultUrl": "https://vault"}
    converted, names = _vaulted(data, lambda path: "vault_" + "_".join(str(part) for part in path if not isinstance(part, int)))
    assert converted["registryCredentials"]["acr"]["password"] == "{{ vault_registryCredentials_acr_password }}"
    assert converted["registryCredentials"]["acr"]["username"] == "me"
    assert converted["env"][0]["sharedAccessKey"] == "{{ vault_env_sharedAccessKey }}"
    assert converted["keyVaultUrl"] == "https://vault"  # a key name ending in Url is not a secret
    assert "s3cret" not in repr(converted)
    assert converted["env"][0]["primaryKey"] == "{{ vault_env_primaryKey }}"
    assert sorted(names) == ["vault_env_primaryKey", "vault_env_sharedAccessKey", "vault_registryCredentials_acr_password"]


def test_writable_property_values_pending_desired_else_reported():
    names = writable_names(THERMOSTAT)
    assert names == {"targetTemperature": None, "fan": {"speed"}}
    body = {
        "targetTemperature": 20, "serialNumber": "A1",
        "$metadata": {"targetTemperature": {"desiredValue": 22.5, "desiredVersion": 3, "ackVersion": 2}},
        "fan": {"__t": "c", "speed": 3, "$metadata": {"speed": {"ackVersion": 1}}},
    }
    # The pending desired value wins (re-applying it is no change); read-only properties are never exported.
    assert property_values(body, names) == {"targetTemperature": 22.5, "fan": {"speed": 3}}
    assert property_values({}, names) == {}
    assert writable_names(None) == {}


def test_rendering_is_stable_and_round_trips_through_yaml():
    devices = [Item({"id": "t-1", "display_name": "T 1", "template": "dtmi:contoso:Thermostat;1", "enabled": True,
                     "properties": {"targetTemperature": 21.5}}, flow=True)]
    groups = [Item({"id": "store", "attestation": "symmetric_key"},
                   ["Keys stay in the service; to set them, add primary_key: \"{{ vault_iotcentral_enrollment_groups_store_primary_key }}\""])]
    application = {"enrollment_groups": groups, "devices": devices}
    text = render(application)["app.yml"]
    assert text == render(application)["app.yml"]
    assert "  - {id: t-1, display_name: T 1, template: 'dtmi:contoso:Thermostat;1', enabled: true, properties: {targetTemperature: 21.5}}\n" in text
    parsed = yaml.safe_load(text)
    assert parsed["iotcentral_app_devices"][0]["properties"] == {"targetTemperature": 21.5}
    assert parsed["iotcentral_app_enrollment_groups"] == [{"id": "store", "attestation": "symmetric_key"}]
    assert vault_variables(application) == ["vault_iotcentral_enrollment_groups_store_primary_key"]
    per_section = render(application, per_section=True)
    assert sorted(per_section) == ["devices.yml", "enrollment_groups.yml"]
    assert render_section("device_groups", []) == "iotcentral_app_device_groups: []\n"
    assert yaml.safe_load(render_section("device_groups", [])) == {"iotcentral_app_device_groups": []}


def test_device_attestation_is_its_type_and_thumbprints_never_a_key():
    keys = {"primaryKey": "cHJpbWFyeQ==", "secondaryKey": "c2Vjb25k"}
    values, comments = attestation_item("gw-1", {"type": "symmetricKey", "symmetricKey": keys})
    assert values == {"type": "symmetric_key"}
    assert "cHJpbWFyeQ==" not in str(comments) and "c2Vjb25k" not in str(comments)
    assert vault_variables({"devices": [Item(values, comments)]}) == [
        "vault_iotcentral_devices_gw_1_primary_key", "vault_iotcentral_devices_gw_1_secondary_key"]

    values, comments = attestation_item("cam-1", {"type": "x509", "x509": {"clientCertificates": {
        "secondary": {"info": {"sha1Thumbprint": "bb" * 20}}, "primary": {"info": {"sha1Thumbprint": "aa" * 20}}}}})
    assert list(values.items()) == [("type", "x509"), ("primary_sha1_thumbprint", "AA" * 20),
                                    ("secondary_sha1_thumbprint", "BB" * 20)]
    assert "primary_certificate_path and secondary_certificate_path" in comments[0]

    values, comments = attestation_item("tpm-1", {"type": "tpm", "tpm": {"endorsementKey": "ZWs="}})
    assert values == {"type": "tpm"} and "ZWs=" not in comments[0]
    assert "vault_iotcentral_devices_tpm_1_endorsement_key" in comments[0]
