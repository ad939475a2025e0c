#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: organization_info
short_description: Get one or all organizations of an Azure IoT Central application
version_added: 1.0.0
description:
  - With O(id), returns that organization (an empty list if it does not exist); otherwise every organization,
    following every page.
  - Each organization carries the ids of its direct C(children), computed from the list (so O(id) reads the list
    too).
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes.info_module
options:
  id:
    description:
      - Id of one organization to get.
    type: str
    aliases: [organization_id]
seealso:
  - module: fleetops.iotcentral.organization
"""

EXAMPLES = r"""
- name: The organization hierarchy
  fleetops.iotcentral.organization_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
  register: orgs

- name: Top-level organizations
  ansible.builtin.debug:
    msg: "{{ orgs.organizations | rejectattr('parent', 'defined') | map(attribute='id') }}"
"""

RETURN = r"""
organizations:
  description: The organizations found.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Organization id.
      type: str
      sample: seattle
    displayName:
      description: Display name.
      type: str
      sample: Seattle
    parent:
      description: Id of the parent organization; absent at the top level.
      type: str
      returned: when the organization has a parent
      sample: washington
    children:
      description: Ids of the direct child organizations, sorted.
      type: list
      elements: str
      sample: [sales]
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.organizations import (
    children_of,
    list_organizations,
    validate_organization_id,
)


def read(module):
    wanted = module.params["id"]
    if wanted is not None:
        validate_organization_id(wanted)
    organizations = list_organizations(module.client)
    found = [dict(org, children=children_of(organizations, org["id"])) for org in organizations
             if wanted is None or org["id"] == wanted]
    return {"changed": False, "organizations": found}


def main():
    module = IoTCentralModule(argument_spec=dict(id=dict(type="str", aliases=["organization_id"])))
    module.run(read, module)


if __name__ == "__main__":
    main()
