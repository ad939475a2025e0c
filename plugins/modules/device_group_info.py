#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_group_info
short_description: Get one or all device groups of an Azure IoT Central application, optionally with their devices
version_added: 1.0.0
description:
  - With O(id), returns that device group (an empty list if it does not exist); otherwise every device group,
    following every page.
  - With O(members=true), each group also carries the devices it currently contains, as IoT Central evaluates
    its filter, each with a computed C(status) as IoT Central's UI shows it.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes.info_module
options:
  id:
    description:
      - Id of one device group to get.
    type: str
    aliases: [group_id]
  members:
    description:
      - Also list the devices of each group (one paged request per group).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: All device groups
  fleetops.iotcentral.device_group_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
  register: all_groups

- name: One group and its devices
  fleetops.iotcentral.device_group_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: provisioned-thermostats
    members: true
  register: thermostats

- name: Show the ids of its blocked devices
  ansible.builtin.debug:
    msg: "{{ thermostats.device_groups[0].members | selectattr('status', 'eq', 'blocked') | map(attribute='id') }}"
"""

RETURN = r"""
device_groups:
  description: The groups found, each as the API returns it.
  returned: always
  type: list
  elements: dict
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
      description: Etag of the group.
      type: str
      sample: IjdiMDcxZWQ5LTAwMDAtMDcwMC0wMDAwLTYzMWI3MWQ4MDAwMCI=
    members:
      description:
        - Devices of the group, each as the API returns it plus C(status) (see M(fleetops.iotcentral.device_info)).
      returned: when O(members=true)
      type: list
      elements: dict
      sample:
        - id: checkout-thermostat
          displayName: CheckoutThermostat
          template: "dtmi:contoso:Thermostat;1"
          enabled: true
          provisioned: true
          simulated: false
          status: provisioned
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devicegroups import (
    get_group,
    list_device_groups,
    list_group_members,
    validate_group_id,
)


def read(module):
    groups = module.read_one_or_all(get_group, list_device_groups, validate_id=validate_group_id)
    if module.params["members"]:
        groups = [dict(group, members=list_group_members(module.client, group["id"], page_size=100)) for group in groups]
    return {"changed": False, "device_groups": groups}


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            id=dict(type="str", aliases=["group_id"]),
            members=dict(type="bool", default=False),
        ),
    )
    module.run(read, module)


if __name__ == "__main__":
    main()
