#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: enrollment_group
short_description: Create, update or delete an enrollment group in an Azure IoT Central application
version_added: 1.0.0
description:
  - Makes one IoT Central enrollment group match the given settings, idempotently. Enrollment groups decide how
    devices authenticate when they connect - with a symmetric group key or with X.509 certificates signed by a
    certificate of the group.
  - A missing group is created with C(PUT). An existing one is updated with a C(PATCH) of media type
    C(application/merge-patch+json) carrying only the fields that differ from what the user asked for, guarded by
    its etag. Options that are not given are not compared and not sent; in particular O(enabled) is only sent when
    it is given and differs, so an update never re-enables a group that was disabled.
  - The attestation type of an existing group cannot be changed in place. A different O(attestation) is refused
    with an error unless O(recreate_on_attestation_change=true), which deletes the group and creates it again.
  - The group keys are never returned and never shown in a diff. Use M(fleetops.iotcentral.enrollment_group_info)
    with O(fleetops.iotcentral.enrollment_group_info#module:include_keys=true) to read them.
  - To add X.509 certificates to a group, use M(fleetops.iotcentral.x509_certificate).
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes
attributes:
  diff_mode:
    details: Keys never appear in the diff; a key change shows as a marker.
options:
  id:
    description:
      - Enrollment group id. Letters, digits and C(-), at most 255 characters. Unlike device group ids, no C(_).
    type: str
    required: true
    aliases: [group_id]
  display_name:
    description:
      - Display name of the group. A new group without one is named after its O(id).
    type: str
  enabled:
    description:
      - Whether devices may connect through the group.
      - A new group is enabled unless this is V(false). On an existing group it is only compared and sent when given.
    type: bool
  type:
    description:
      - Type of the devices that connect through the group. A new group without one gets V(iot).
    type: str
    choices: [iot, iotEdge]
  attestation:
    description:
      - How devices of the group authenticate. Required to create a group.
      - V(symmetric_key) - with keys derived from the group key (see the P(fleetops.iotcentral.device_key#filter)
        filter).
      - V(x509) - with certificates signed by a certificate uploaded with M(fleetops.iotcentral.x509_certificate).
    type: str
    choices: [symmetric_key, x509]
  primary_key:
    description:
      - Primary symmetric key of the group (base64 of 16 to 64 bytes). Only for O(attestation=symmetric_key).
      - When neither key is given, IoT Central generates both for a new group and existing keys are left alone.
      - When given, the key is compared with the group's and replaced if it differs. To create a group with your
        own keys, give both.
    type: str
  secondary_key:
    description:
      - Secondary symmetric key of the group, like O(primary_key).
    type: str
  recreate_on_attestation_change:
    description:
      - When the existing group uses another attestation than O(attestation), delete it and create it again with
        the requested settings (O(display_name), O(enabled) and O(type) keep their current values unless given).
      - Devices that provisioned through the old group keep their registration but the group's keys or
        certificates are gone; new keys are generated unless given.
      - When V(false), such a change fails and nothing is modified.
    type: bool
    default: false
  state:
    description:
      - C(present) creates or updates the group, C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: fleetops.iotcentral.enrollment_group_info
  - module: fleetops.iotcentral.x509_certificate
"""

EXAMPLES = r"""
- name: A symmetric-key group for thermostats (IoT Central generates the keys)
  fleetops.iotcentral.enrollment_group:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: thermostats-sas
    display_name: Thermostats (SAS)
    attestation: symmetric_key

- name: An X.509 group for IoT Edge gateways
  fleetops.iotcentral.enrollment_group:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: gateways-x509
    display_name: Gateways (X.509)
    type: iotEdge
    attestation: x509

- name: Rotate the keys of a group with keys from a vault
  fleetops.iotcentral.enrollment_group:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: thermostats-sas
    primary_key: "{{ vault_thermostats_primary_key }}"
    secondary_key: "{{ vault_thermostats_secondary_key }}"

- name: Stop devices from connecting through it (only enabled is sent)
  fleetops.iotcentral.enrollment_group:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: thermostats-sas
    enabled: false

- name: Remove the group
  fleetops.iotcentral.enrollment_group:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: thermostats-sas
    state: absent
"""

RETURN = r"""
enrollment_group:
  description:
    - The group as the API returns it after the change (in check mode, as it would be), without its symmetric keys.
  returned: when O(state=present)
  type: dict
  contains:
    id:
      description: Group id.
      type: str
      sample: thermostats-sas
    displayName:
      description: Display name.
      type: str
      sample: Thermostats (SAS)
    enabled:
      description: Whether devices may connect through the group.
      type: bool
      sample: true
    type:
      description: Type of the devices of the group.
      type: str
      sample: iot
    attestation:
      description: Attestation of the group, without the symmetric keys.
      type: dict
      sample: {"type": "symmetricKey"}
    etag:
      description: Current etag of the group.
      type: str
      sample: IjA4MDUwMTJiLTAwMDAtMDcwMC0wMDAwLTYyODJhOWVjMDAwMCI=
    idScope:
      description: ID scope devices use to connect (api-version C(2022-10-31-preview) only).
      type: str
      returned: when the service returns it
      sample: 0ne00ABCDEF
action:
  description: What the task did. V(recreated) means the group was deleted and created again.
  returned: always
  type: str
  choices: [created, updated, recreated, deleted, unchanged]
  sample: created
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule, state_argspec
from ansible_collections.fleetops.iotcentral.plugins.module_utils.enrollmentgroups import ensure_enrollment_group, validate_enrollment_group_id


def main():
    module = IoTCentralModule(
        argument_spec=state_argspec(
            "group_id",
            display_name=dict(type="str"),
            enabled=dict(type="bool"),
            type=dict(type="str", choices=["iot", "iotEdge"]),
            attestation=dict(type="str", choices=["symmetric_key", "x509"]),
            primary_key=dict(type="str", no_log=True),
            secondary_key=dict(type="str", no_log=True),
            recreate_on_attestation_change=dict(type="bool", default=False),
        ),
    )
    module.run_state(ensure_enrollment_group, "enrollment_group", validate_id=validate_enrollment_group_id)


if __name__ == "__main__":
    main()
