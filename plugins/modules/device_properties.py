#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_properties
short_description: Set writable property values of an Azure IoT Central device, its components or modules
version_added: 1.0.0
description:
  - Makes the desired values of writable properties of one device match O(properties), idempotently.
  - The properties of the device's root interface are set by default; O(component) and O(module) select a
    component, an IoT Edge module, or a component of a module (C(/devices/{id}[/modules/{m}][/components/{c}]/properties)).
    The values of several components can also be set at the root (or a module's root) in one write, one nested
    mapping per component under the component's name (see the examples).
  - One C(GET) reads what the service shows. A value counts as set when it equals the desired value the service
    shows for that property (C($metadata.<name>.desiredValue)), pending or acknowledged, or, when the service shows
    no desired value, the value the device reported. So a device that has not acknowledged yet does not make every
    run report a change. Only the values that differ are sent, in one C(PATCH); a second run sends no write.
  - Before a write, the device's template is read (one device read, one template read). A property the template
    does not declare, a read-only property, or a value of the wrong type for the property's schema is refused in
    one line naming the property, before anything is written. What the template does not inline (a component
    given only by a DTMI reference) is left to the service to judge.
  - The device acknowledges a desired value on its own schedule; M(fleetops.iotcentral.device_properties_info)
    shows whether it did (C(in_sync)) or not yet (C(pending)).
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.device_scope
  - fleetops.iotcentral.attributes
attributes:
  check_mode:
    details: The current values and, when something would change, the device template are read; no write is sent.
  diff_mode:
    details: Before and after of the given properties only (what the service showed, what was asked).
options:
  properties:
    description:
      - Writable property names and their desired values, for example C(targetTemperature) set to C(21.5).
      - Values keep their YAML types; a property of schema C(double) takes a number, C(boolean) takes V(true) or
        V(false), an C(Object) a mapping of its fields, an C(Enum) one of its values.
      - Properties not listed are left as they are. V(null) is refused (a desired value cannot be removed).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Set the target temperature of a thermostat
  fleetops.iotcentral.device_properties:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    device_id: checkout-thermostat
    properties:
      targetTemperature: 21.5

- name: Set a component's property (connection settings from module_defaults)
  fleetops.iotcentral.device_properties:
    device_id: store-controller-01
    component: thermostat1
    properties:
      targetTemperature: 19

- name: Both thermostats of a temperature controller in one write
  fleetops.iotcentral.device_properties:
    device_id: store-controller-01
    properties:
      thermostat1: {targetTemperature: 19}
      thermostat2: {targetTemperature: 22}

- name: A setting of an IoT Edge module
  fleetops.iotcentral.device_properties:
    device_id: store-gateway-01
    module: SimulatedTemperatureSensor
    properties:
      SendInterval: 10
"""

RETURN = r"""
action:
  description: What the task did.
  returned: always
  type: str
  choices: [updated, unchanged]
  sample: updated
updated:
  description: The values that differed and were sent (in check mode, that would be sent); empty when none.
  returned: always
  type: dict
  sample: {"targetTemperature": 21.5}
properties:
  description: The desired values of the given properties after the task (the O(properties) given).
  returned: always
  type: dict
  sample: {"targetTemperature": 21.5}
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.properties import device_scope_argspec, ensure_properties


def converge(module):
    result = ensure_properties(module.client, module.params, check_mode=module.check_mode)
    diff = result.pop("diff")
    if module.diff_mode:
        result["diff"] = diff
    return result


def main():
    module = IoTCentralModule(
        argument_spec=device_scope_argspec(properties=dict(type="dict", required=True)),
    )
    module.run(converge, module)


if __name__ == "__main__":
    main()
