#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_template_info
short_description: Get one device template, or a filtered list of them, from Azure IoT Central
version_added: 1.0.0
description:
  - With O(id), returns that template (an empty list if it does not exist).
  - Otherwise lists the application's templates, following every page; O(filter), O(order_by) and O(page_size)
    are applied by the service.
  - Each template comes with its id, display name and the names of the capabilities it defines; O(content) adds
    the whole document.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes.info_module
options:
  id:
    description:
      - Id of one template to get. Mutually exclusive with O(filter), O(order_by) and O(page_size).
    type: str
    aliases: [template_id]
  filter:
    description:
      - Server-side filter, for example C(contains(displayName, 'Thermostat')). Fields C(@id), C(displayName) and
        C(capabilityModelId); operators C(eq ne lt le gt ge), C(and), C(or) and C(contains).
      - Needs api-version C(2022-10-31-preview) (the only one with list parameters for templates); the module uses
        it, and fails with a message saying so when O(api_version=2022-07-31) is pinned.
    type: str
  order_by:
    description:
      - Server-side ordering; the service supports C(displayName), C(displayName asc) and C(displayName desc).
        Preview api-version only, like O(filter).
    type: str
  page_size:
    description:
      - Templates per page (1 to 100). Preview api-version only, like O(filter).
    type: int
  content:
    description:
      - Include each template's whole document under C(content).
    type: bool
    default: false
seealso:
  - module: fleetops.iotcentral.device_template
"""

EXAMPLES = r"""
- name: Every template, with the capabilities each defines
  fleetops.iotcentral.device_template_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
  register: templates

- name: Thermostat templates, by name, with their documents
  fleetops.iotcentral.device_template_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    filter: "contains(displayName, 'Thermostat')"
    order_by: displayName
    content: true
  register: thermostats

- name: Does the thermostat template declare targetTemperature?
  ansible.builtin.debug:
    msg: "{{ 'targetTemperature' in (thermostats.device_templates | first).capabilities }}"
"""

RETURN = r"""
device_templates:
  description: The templates found.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Template id.
      type: str
      sample: "dtmi:contoso:Thermostat;1"
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
      description: Id of the template's capability model.
      type: str
      sample: "dtmi:contoso:Thermostat_cm;1"
    capabilities:
      description: Names of the capabilities the template defines (those of inline components as C(component/name)).
      type: list
      elements: str
      sample: [getMaxMinReport, maxTempSinceLastReboot, targetTemperature, temperature]
    types:
      description: The template's C(@type); C(EdgeModel) marks IoT Edge templates.
      type: list
      elements: str
      sample: [ModelDefinition, DeviceModel]
    etag:
      description: Etag of the template.
      type: str
      sample: IjdiMDcxZWQ5LTAwMDAtMDcwMC0wMDAwLTYzMWI3MWQ4MDAwMCI=
    content:
      description: The whole template as the service returns it.
      type: dict
      returned: when O(content=true)
      sample: {"@id": "dtmi:contoso:Thermostat;1", "@type": [ModelDefinition, DeviceModel], "capabilityModel": {}}
"""

from functools import partial

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.templates import (
    get_template,
    list_templates,
    summary,
    validate_template_id,
)


def read(module):
    params = module.params
    listing = partial(list_templates, filter=params["filter"], order_by=params["order_by"], page_size=params["page_size"])
    templates = module.read_one_or_all(get_template, listing, validate_id=validate_template_id)
    return {"changed": False, "device_templates": [summary(t, with_content=params["content"]) for t in templates]}


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            id=dict(type="str", aliases=["template_id"]),
            filter=dict(type="str"),
            order_by=dict(type="str"),
            page_size=dict(type="int"),
            content=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("id", "filter"), ("id", "order_by"), ("id", "page_size")],
    )
    module.run(read, module)


if __name__ == "__main__":
    main()
