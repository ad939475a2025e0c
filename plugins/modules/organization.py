#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: organization
short_description: Create, update or delete an organization of an Azure IoT Central application
version_added: 1.0.0
description:
  - Makes one IoT Central organization match the given settings, idempotently. Organizations form a hierarchy
    that scopes devices, device groups, users and API tokens.
  - A missing organization is created with C(PUT); an existing one is updated with C(PATCH) carrying only the
    fields that differ. A second run with the same settings sends no write.
  - Checked before any write, each failing in one line that names the problem - the ids, that O(parent) exists
    (one read, only when the parent would change) and is not the organization itself, and that an organization to
    delete has no child organizations (the message names them).
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes
options:
  id:
    description:
      - Organization id. 2 to 48 lower-case letters, digits and C(-), not starting or ending with C(-).
    type: str
    required: true
    aliases: [organization_id]
  display_name:
    description:
      - Display name. A new organization without one is named after its id.
    type: str
  parent:
    description:
      - Id of the parent organization. It must exist. Without it, a new organization sits at the top level and the
        parent of an existing one is not compared.
    type: str
  state:
    description:
      - C(present) creates or updates the organization, C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Organizations exist in both api-versions; the module uses the connection's O(api_version).
seealso:
  - module: fleetops.iotcentral.organization_info
  - name: Templates and organizations as code
    description: The guide to this module.
    link: https://github.com/fleetops/ansible-collection-iotcentral/blob/main/docs/device-templates.md
"""

EXAMPLES = r"""
- name: A state, and a city under it
  module_defaults:
    group/fleetops.iotcentral.iotcentral:
      app: contoso-store
      api_token: "{{ iotcentral_api_token }}"
  block:
    - name: Washington
      fleetops.iotcentral.organization:
        id: washington
        display_name: Washington

    - name: Seattle, under Washington
      fleetops.iotcentral.organization:
        id: seattle
        display_name: Seattle
        parent: washington

- name: Remove an organization that has no children left
  fleetops.iotcentral.organization:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: spokane
    state: absent
"""

RETURN = r"""
organization:
  description: The organization after the change (in check mode, as it would be).
  returned: when O(state=present)
  type: dict
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
action:
  description: What the task did.
  returned: always
  type: str
  choices: [created, updated, deleted, unchanged]
  sample: created
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule, state_argspec
from ansible_collections.fleetops.iotcentral.plugins.module_utils.organizations import ensure_organization, validate_organization_id


def main():
    module = IoTCentralModule(
        argument_spec=state_argspec(
            "organization_id",
            display_name=dict(type="str"),
            parent=dict(type="str"),
        ),
    )
    module.run_state(ensure_organization, "organization", validate_id=validate_organization_id)


if __name__ == "__main__":
    main()
