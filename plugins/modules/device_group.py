#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_group
short_description: Create, update or delete a device group in an Azure IoT Central application
version_added: 1.0.0
description:
  - Makes one IoT Central device group match the given settings, idempotently.
  - A device group is defined by a query (O(filter)) that selects its devices. IoT Central uses device groups for
    dashboards, jobs and access control.
  - A missing group is created with C(PUT). An existing one is updated with C(PATCH) carrying only the fields that
    differ from what the user asked for, guarded by its etag. Options that are not given are not compared, so a
    second run with the same settings sends no write and reports no change.
  - The group id is checked before any call is made.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes
options:
  id:
    description:
      - Device group id. Letters, digits, C(_) and C(-), at most 255 characters.
    type: str
    required: true
    aliases: [group_id]
  display_name:
    description:
      - Display name of the group. A new group without one is named after its O(id).
    type: str
  description:
    description:
      - Short summary of the group.
    type: str
  filter:
    description:
      - IoT Central query that selects the devices of the group, for example
        C(SELECT * FROM devices WHERE $template = "dtmi:contoso:Thermostat;1" AND $provisioned = true).
      - Required to create a group. Compared as text, exactly as given.
      - A C($) field the query language does not have (its fields are C($id), C($displayName), C($template),
        C($provisioned), C($simulated), C($enabled) and C($organizations)) is refused before any call, naming it.
      - See U(https://aka.ms/iotcquery) for the query language.
    type: str
  organizations:
    description:
      - Ids of the organizations the group belongs to. IoT Central allows at most one; more is refused before any
        call. The organization must exist (see M(fleetops.iotcentral.organization)).
      - Only used when the application has an organization hierarchy.
    type: list
    elements: str
  state:
    description:
      - C(present) creates or updates the group, C(absent) deletes it. Deleting a group does not delete its devices.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Device groups exist in both api-versions C(2022-07-31) and C(2022-10-31-preview); the module uses the
    connection's O(api_version).
seealso:
  - module: fleetops.iotcentral.device_group_info
"""

EXAMPLES = r"""
- name: Group the provisioned thermostats
  fleetops.iotcentral.device_group:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: provisioned-thermostats
    display_name: Provisioned thermostats
    description: Every thermostat that has connected at least once.
    filter: SELECT * FROM devices WHERE $template = "dtmi:contoso:Thermostat;1" AND $provisioned = true
    organizations: [seattle]

- name: Rename it (connection settings from module_defaults)
  module_defaults:
    group/fleetops.iotcentral.iotcentral:
      app: contoso-store
      api_token: "{{ iotcentral_api_token }}"
  block:
    - name: Change only the display name
      fleetops.iotcentral.device_group:
        id: provisioned-thermostats
        display_name: Thermostats online

- name: Remove the group
  fleetops.iotcentral.device_group:
    id: provisioned-thermostats
    state: absent
"""

RETURN = r"""
device_group:
  description: The group as the API returns it after the change (in check mode, as it would be).
  returned: when O(state=present)
  type: dict
  contains:
    id:
      description: Group id.
      type: str
      sample: provisioned-thermostats
    displayName:
      description: Display name.
      type: str
      sample: Provisioned thermostats
    description:
      description: Short summary.
      type: str
      sample: Every thermostat that has connected at least once.
    filter:
      description: Query selecting the devices of the group.
      type: str
      sample: SELECT * FROM devices WHERE $template = "dtmi:contoso:Thermostat;1" AND $provisioned = true
    organizations:
      description: Organization ids.
      type: list
      elements: str
      sample: [seattle]
    etag:
      description: Current etag of the group.
      type: str
      sample: IjdiMDcxZWQ5LTAwMDAtMDcwMC0wMDAwLTYzMWI3MWQ4MDAwMCI=
action:
  description: What the task did.
  returned: always
  type: str
  choices: [created, updated, deleted, unchanged]
  sample: created
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule, state_argspec
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devicegroups import ensure_device_group, validate_group_id


def main():
    module = IoTCentralModule(
        argument_spec=state_argspec(
            "group_id",
            display_name=dict(type="str"),
            description=dict(type="str"),
            filter=dict(type="str"),
            organizations=dict(type="list", elements="str"),
        ),
    )
    module.run_state(ensure_device_group, "device_group", validate_id=validate_group_id)


if __name__ == "__main__":
    main()
