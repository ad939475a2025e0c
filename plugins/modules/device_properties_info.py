#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_properties_info
short_description: Read the property values of an Azure IoT Central device and whether it acknowledged its settings
version_added: 1.0.0
description:
  - Returns the property values a device reported and, for each writable property set through the API, its desired
    value and version, last update, and whether the device acknowledged it (C(in_sync)), not yet (C(pending)), or
    acknowledged it with an error code (C(rejected)).
  - One C(GET) of C(/devices/{id}[/modules/{m}][/components/{c}]/properties). At the root (or of a module) the
    components come nested under RV(components).
  - IoT Central shows only properties that were reported by the device or set by a user or the API; a writable
    property never set is not listed.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.device_scope
  - fleetops.iotcentral.attributes.info_module
"""

EXAMPLES = r"""
- name: Read a thermostat's properties
  fleetops.iotcentral.device_properties_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    device_id: checkout-thermostat
  register: thermostat

- name: Wait until the thermostat acknowledged its settings
  fleetops.iotcentral.device_properties_info:
    device_id: checkout-thermostat
  register: thermostat
  until: thermostat.in_sync
  retries: 10
  delay: 30
"""

RETURN = r"""
reported:
  description: The property values the device reported (not the components').
  returned: always
  type: dict
  sample: {"targetTemperature": 21.5, "maxTempSinceLastReboot": 30.1}
writable:
  description: Per writable property set through the API, what was asked and whether the device took it.
  returned: always
  type: dict
  sample:
    targetTemperature:
      desired_value: 21.5
      desired_version: 3
      ack_version: 3
      ack_code: 200
      ack_description: completed
      last_update_time: "2024-05-01T10:00:00.0000000Z"
      reported_value: 21.5
      state: in_sync
  contains:
    desired_value:
      description: The value last set through the API.
      type: raw
    desired_version:
      description: Version of the device's desired properties when it was set.
      type: int
    ack_version:
      description: The desired version the device last acknowledged (null when it never did).
      type: int
    ack_code:
      description: Status code of the device's acknowledgement (HTTP-like; 200 means it applied the value).
      type: int
    ack_description:
      description: Text the device sent with its acknowledgement.
      type: str
    last_update_time:
      description: When the property last changed (ISO 8601, UTC).
      type: str
    reported_value:
      description: The value the device reported, when it did.
      type: raw
    state:
      description:
        - V(in_sync) when the device acknowledged the desired version with a success code, V(rejected) when it
          acknowledged it with an error code, V(pending) otherwise.
      type: str
      choices: [in_sync, pending, rejected]
components:
  description: The same C(reported), C(writable) and C(components) per component, when reading a root or module.
  returned: always
  type: dict
  sample: {"thermostat1": {"reported": {}, "writable": {}, "components": {}}}
in_sync:
  description: Whether every writable property (components included) is C(in_sync).
  returned: always
  type: bool
  sample: false
not_in_sync:
  description: The writable properties that are not C(in_sync), C(component.name) for a component's.
  returned: always
  type: list
  elements: str
  sample: ["thermostat1.targetTemperature"]
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.properties import device_scope_argspec, read_properties


def main():
    module = IoTCentralModule(
        argument_spec=device_scope_argspec(),
    )
    module.run(read_properties, module.client, module.params)


if __name__ == "__main__":
    main()
