#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_command
short_description: Run a command on an Azure IoT Central device and return its response
version_added: 1.0.0
description:
  - Runs a command the device's template declares, on the device's root interface, a component (O(component)),
    an IoT Edge module (O(module)) or a module's component, with an optional request payload, and waits for the
    device's answer (C(POST /devices/{id}[/modules/{m}][/components/{c}]/commands/{name})).
  - B(A command is an action, not state.) There is nothing to compare, so the module is not idempotent. Every run
    sends the command again and reports C(changed). In check mode the command is not sent and the task is
    reported as skipped, saying so.
  - Before sending, the device's template is read (one device read, one template read). A command the template
    does not declare, or a request payload of the wrong type for the command's request schema, is refused in one
    line and nothing is sent.
  - The task fails when the device answers with a response code outside 200-299; RV(response_code) and
    RV(response) are returned either way.
  - A command is never retried after it may have reached the service (only a throttled or refused connection is
    retried), since running it twice could do twice what it does. M(fleetops.iotcentral.device_command_info)
    shows the device's last execution.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.device_scope
  - fleetops.iotcentral.attributes
attributes:
  check_mode:
    support: full
    details: The command is not sent; the task is skipped with a message. The device and template are still read.
  diff_mode:
    support: none
    details: A command has no before and after.
options:
  command:
    description:
      - Name of the command, as the device template declares it, for example C(getMaxMinReport).
    type: str
    required: true
    aliases: [name]
  request:
    description:
      - The command's request payload, of the type the command's request schema declares (a string, number,
        boolean or mapping). Leave it out for a command without a request.
    type: raw
  connection_timeout:
    description:
      - Seconds the service waits for a disconnected device to come online (0 to 30). The service's default is 0.
    type: int
  response_timeout:
    description:
      - Seconds the service waits for the device to answer (5 to 30). The service's default is 30.
      - The HTTP read timeout (O(timeout)) is raised to the command's timeouts plus 10 seconds when it is shorter.
    type: int
"""

EXAMPLES = r"""
- name: Ask a thermostat for its max-min report since midnight
  fleetops.iotcentral.device_command:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    device_id: checkout-thermostat
    command: getMaxMinReport
    request: "{{ now(utc=true).strftime('%Y-%m-%dT00:00:00Z') }}"
    response_timeout: 20
  register: report

- name: Show the report
  ansible.builtin.debug:
    msg: "max {{ report.response.maxTemp }}, min {{ report.response.minTemp }}"

- name: Reboot a temperature controller in 5 seconds (connection settings from module_defaults)
  fleetops.iotcentral.device_command:
    device_id: store-controller-01
    command: reboot
    request: 5
"""

RETURN = r"""
response_code:
  description: The response code the device answered with (HTTP-like; 200 means success).
  returned: when the command was sent
  type: int
  sample: 200
response:
  description: The device's response payload, of the command's response schema; null when it has none.
  returned: when the command was sent
  type: raw
  sample: {"maxTemp": 24.5, "minTemp": 18.0, "avgTemp": 21.2}
execution:
  description: The command execution as the service returns it.
  returned: when the command was sent
  type: dict
  contains:
    id:
      description: Id of this execution.
      type: str
    request:
      description: The request payload sent.
      type: raw
    response:
      description: The response payload.
      type: raw
    responseCode:
      description: The response code.
      type: int
    connectionTimeout:
      description: Connection timeout used, in seconds.
      type: int
    responseTimeout:
      description: Response timeout used, in seconds.
      type: int
  sample: {"id": "4e17dd2e-7bf2-458d-8466-19bc6fc9b642", "request": 20, "response": 58.79, "responseCode": 200}
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.commands import read_timeout, run_command
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.properties import device_scope_argspec


def main():
    module = IoTCentralModule(
        argument_spec=device_scope_argspec(
            command=dict(type="str", required=True, aliases=["name"]),
            request=dict(type="raw"),
            connection_timeout=dict(type="int"),
            response_timeout=dict(type="int"),
        ),
    )
    # The service holds the request open while the device answers: the HTTP read must wait at least as long.
    module.params["timeout"] = read_timeout(module.params)
    module.run(run_command, module.client, module.params, check_mode=module.check_mode)


if __name__ == "__main__":
    main()
