#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_info
short_description: Get one device, or a filtered and ordered list of devices, from Azure IoT Central
version_added: 1.0.0
description:
  - With O(id), returns that device (an empty list if it does not exist).
  - Otherwise lists devices, filtered and ordered by the service itself, following every page.
  - Each device carries a computed C(status) as IoT Central's UI shows it.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes.info_module
options:
  id:
    description:
      - Id of one device to get. Mutually exclusive with O(filter), O(order_by) and O(limit).
    type: str
    aliases: [device_id]
  filter:
    description:
      - Server-side filter in the service's OData dialect, for example
        C(contains(displayName, 'Thermostat') and enabled eq true).
      - Operators C(eq ne lt le gt ge), C(and), C(or), parentheses and C(contains(field, 'text')), over
        C(id), C(displayName), C(enabled), C(provisioned), C(simulated), C(template) and C(scopes) (organization).
      - Sent as C(filter) with api-version C(2022-10-31-preview), or as C($filter) when O(api_version=2022-07-31)
        is pinned.
    type: str
  order_by:
    description:
      - Server-side ordering. The service supports C(displayName), C(displayName asc) and C(displayName desc).
    type: str
  limit:
    description:
      - Return at most this many devices (stops paging early).
    type: int
"""

EXAMPLES = r"""
- name: Get one device
  fleetops.iotcentral.device_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: checkout-thermostat
  register: one

- name: Enabled thermostats, by display name
  fleetops.iotcentral.device_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    filter: "contains(displayName, 'Thermostat') and enabled eq true"
    order_by: displayName desc
    limit: 50
  register: thermostats

- name: Show the ids of the enabled devices that have not provisioned yet
  ansible.builtin.debug:
    msg: "{{ thermostats.devices | selectattr('status', 'eq', 'registered') | map(attribute='id') }}"
"""

RETURN = r"""
devices:
  description: The devices found, each as the API returns it plus C(status).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Device id.
      type: str
      sample: checkout-thermostat
    displayName:
      description: Display name.
      type: str
      sample: CheckoutThermostat
    template:
      description: Device template id.
      type: str
      sample: "dtmi:contoso:Thermostat;1"
    enabled:
      description: Whether the device may connect.
      type: bool
      sample: true
    provisioned:
      description: Whether the device has been provisioned.
      type: bool
      sample: false
    simulated:
      description: Whether the device is simulated.
      type: bool
      sample: false
    organizations:
      description: Organization ids.
      type: list
      elements: str
      sample: [seattle]
    etag:
      description: Etag of the device.
      type: str
      sample: eyJoZWFkZXIiOiJcIjI0MDBlMDdjLTAwMDAtMDMwMC0wMDAwLTYxYjgxYmVlMDAwMFwiIn0
    status:
      description:
        - Status computed from C(enabled) and C(provisioned), as the az CLI computes it.
        - C(blocked) for every disabled device. The API cannot tell a device blocked before it provisioned from one
          waiting for approval, so the UI's C(waiting for approval) is never returned.
        - C(provisioned) for an enabled device that has provisioned, else C(registered).
      type: str
      choices: [registered, provisioned, blocked]
      sample: registered
"""

from functools import partial

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import get_device, list_devices, validate_device_id, with_status


def read(module):
    params = module.params
    # Before the connection settings are used; limit is never set with id (mutually exclusive).
    if params["limit"] is not None and params["limit"] < 1:
        raise ValueError("limit must be a positive number of devices")
    listing = partial(list_devices, filter=params["filter"], order_by=params["order_by"], limit=params["limit"])
    devices = module.read_one_or_all(lambda client, device_id: with_status(get_device(client, device_id)), listing,
                                     validate_id=validate_device_id)
    return {"changed": False, "devices": devices}


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            id=dict(type="str", aliases=["device_id"]),
            filter=dict(type="str"),
            order_by=dict(type="str"),
            limit=dict(type="int"),
        ),
        mutually_exclusive=[("id", "filter"), ("id", "order_by"), ("id", "limit")],
    )
    module.run(read, module)


if __name__ == "__main__":
    main()
