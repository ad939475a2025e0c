#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_command_info
short_description: Read the execution history of a command of an Azure IoT Central device
version_added: 1.0.0
description:
  - Returns the executions of one command of a device (its root interface, a component, an IoT Edge module or a
    module's component) that the service keeps, with their request, response and response code
    (C(GET /devices/{id}[/modules/{m}][/components/{c}]/commands/{name})).
  - IoT Central keeps the most recent execution; the list is empty when the command never ran.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.device_scope
  - fleetops.iotcentral.attributes.info_module
options:
  command:
    description:
      - Name of the command.
    type: str
    required: true
    aliases: [name]
"""

EXAMPLES = r"""
- name: When did the thermostat last report its max-min values, and what did it say?
  fleetops.iotcentral.device_command_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    device_id: checkout-thermostat
    command: getMaxMinReport
  register: report_history
"""

RETURN = r"""
history:
  description: The command's executions the service keeps (the most recent one), as the API returns them.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Id of the execution.
      type: str
    request:
      description: The request payload.
      type: raw
    response:
      description: The device's response payload.
      type: raw
    responseCode:
      description: The device's response code.
      type: int
  sample: [{"id": "4e17dd2e-7bf2-458d-8466-19bc6fc9b642", "request": 20, "response": 58.79, "responseCode": 200}]
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.commands import command_history
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.properties import device_scope_argspec


def main():
    module = IoTCentralModule(
        argument_spec=device_scope_argspec(command=dict(type="str", required=True, aliases=["name"])),
    )
    module.run(command_history, module.client, module.params)


if __name__ == "__main__":
    main()
