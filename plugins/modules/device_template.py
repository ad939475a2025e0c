#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_template
short_description: Publish, update or delete a device template of an Azure IoT Central application
version_added: 1.0.0
description:
  - Makes one IoT Central device template match a DTDL document, idempotently.
  - A missing template is created and published with C(PUT). An existing one is updated with C(PATCH) carrying only
    the top-level fields that differ, guarded by its etag.
  - The comparison is semantic. Key order, the order of capabilities, and what the service adds (C(etag),
    C(@context), C(@id) of parts the document does not name, the value-type markers such as C(NumberValue) it adds
    to a property's C(@type)) never make a change. A second run with the same file sends no write.
  - Removing, renaming or retyping a capability (changing its kind or its schema) is a breaking change for every
    device, rule and export that uses it (Microsoft's "Edit a device template" guide). When devices use the template,
    such a change is refused before any write, naming the capabilities concerned, unless
    O(allow_breaking_changes=true). Additive changes just apply.
  - A template that devices use is not deleted; the module fails before any write with the number of devices.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes
options:
  id:
    description:
      - Device template id, a DTMI such as C(dtmi:contoso:Thermostat;1). Devices name their template with it.
    type: str
    required: true
    aliases: [template_id]
  content:
    description:
      - The template as a DTDL document. Either a dict, or the path of a JSON file (a JSON text starting with
        C({) is read as the document itself).
      - A device template as IoT Central exports it (with C(capabilityModel)), or a bare DTDL interface
        (C(@type) C(Interface), for example the how-to's thermostat model), which becomes the template's
        capability model. The interface's C(@id) must then differ from O(id).
      - A template document's own C(@id), when present, must equal O(id).
      - Required to create a template. Without it, only O(display_name) is compared.
    type: raw
  display_name:
    description:
      - Display name of the template; overrides the document's C(displayName). When neither gives one, a new
        template is named after its id.
    type: str
  allow_breaking_changes:
    description:
      - Apply a change that removes, renames or retypes capabilities even though devices use the template.
    type: bool
    default: false
  state:
    description:
      - C(present) publishes or updates the template, C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Device templates exist in both api-versions; the module uses the connection's O(api_version).
  - Whether devices use a template is read with one filtered device listing (C(template eq '<id>')), only when a
    breaking change or a deletion is about to be sent.
seealso:
  - module: fleetops.iotcentral.device_template_info
  - name: Templates and organizations as code
    description: The guide to this module.
    link: https://github.com/fleetops/ansible-collection-iotcentral/blob/main/docs/device-templates.md
"""

EXAMPLES = r"""
- name: Publish the thermostat template from the how-to's DTDL file
  fleetops.iotcentral.device_template:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: "dtmi:contoso:ThermostatTemplate;1"
    display_name: Thermostat
    content: "{{ playbook_dir }}/models/thermostat.json"

- name: A template given inline (connection settings from module_defaults)
  module_defaults:
    group/fleetops.iotcentral.iotcentral:
      app: contoso-store
      api_token: "{{ iotcentral_api_token }}"
  block:
    - name: Pump template with one telemetry and one writable property
      fleetops.iotcentral.device_template:
        id: "dtmi:contoso:Pump;1"
        content:
          "@type": [ModelDefinition, DeviceModel]
          displayName: Pump
          capabilityModel:
            "@id": "dtmi:contoso:Pump_cm;1"
            "@type": Interface
            contents:
              - {"@type": Telemetry, name: flow, schema: double}
              - {"@type": Property, name: speed, schema: integer, writable: true}

- name: Remove a capability although devices use the template
  fleetops.iotcentral.device_template:
    id: "dtmi:contoso:ThermostatTemplate;1"
    content: "{{ playbook_dir }}/models/thermostat-v2.json"
    allow_breaking_changes: true

- name: Delete a template no device uses any more
  fleetops.iotcentral.device_template:
    id: "dtmi:contoso:Pump;1"
    state: absent
"""

RETURN = r"""
device_template:
  description: The template after the change (in check mode, as it would be).
  returned: when O(state=present)
  type: dict
  contains:
    id:
      description: Template id.
      type: str
      sample: "dtmi:contoso:ThermostatTemplate;1"
    displayName:
      description: Display name.
      type: str
      sample: Thermostat
    description:
      description: Description, when the template has one.
      type: str
      returned: when set
      sample: Reports the current temperature.
    capabilityModelId:
      description: Id of the template's capability model (its DTDL interface).
      type: str
      sample: "dtmi:com:example:Thermostat;1"
    capabilities:
      description: Names of the capabilities the template defines (those of inline components as C(component/name)).
      type: list
      elements: str
      sample: [getMaxMinReport, maxTempSinceLastReboot, targetTemperature, temperature]
    types:
      description: The template's C(@type).
      type: list
      elements: str
      sample: [ModelDefinition, DeviceModel]
    etag:
      description: Current etag of the template.
      type: str
      returned: when the service shows one (not in check mode before a create)
      sample: IjdiMDcxZWQ5LTAwMDAtMDcwMC0wMDAwLTYzMWI3MWQ4MDAwMCI=
    content:
      description: The whole template as the service returns it.
      type: dict
      sample: {"@id": "dtmi:contoso:ThermostatTemplate;1", "@type": [ModelDefinition, DeviceModel], "capabilityModel": {}}
action:
  description: What the task did.
  returned: always
  type: str
  choices: [created, updated, deleted, unchanged]
  sample: created
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule, state_argspec
from ansible_collections.fleetops.iotcentral.plugins.module_utils.templates import (
    ensure_device_template,
    summary,
    validate_template_id,
)


def main():
    module = IoTCentralModule(
        argument_spec=state_argspec(
            "template_id",
            content=dict(type="raw"),
            display_name=dict(type="str"),
            allow_breaking_changes=dict(type="bool", default=False),
        ),
    )
    module.run_state(ensure_device_template, "device_template", validate_id=validate_template_id, present_view=summary)


if __name__ == "__main__":
    main()
