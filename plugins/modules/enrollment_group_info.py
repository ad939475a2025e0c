#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: enrollment_group_info
short_description: Get one or all enrollment groups of an Azure IoT Central application
version_added: 1.0.0
description:
  - With O(id), returns that enrollment group (an empty list if it does not exist); otherwise every enrollment
    group, following every page.
  - The symmetric keys of the groups are removed from the result unless O(include_keys=true).
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes.info_module
options:
  id:
    description:
      - Id of one enrollment group to get.
    type: str
    aliases: [group_id]
  include_keys:
    description:
      - Return the symmetric keys of symmetric-key groups in C(attestation.symmetricKey).
      - B(The keys are secrets) - anyone who has one can register devices in the application. Set C(no_log) on
        the task and avoid printing the result.
    type: bool
    default: false
seealso:
  - module: fleetops.iotcentral.enrollment_group
  - plugin: fleetops.iotcentral.device_key
    plugin_type: filter
    description: Derives a device's key from a group key.
"""

EXAMPLES = r"""
- name: All enrollment groups (without keys)
  fleetops.iotcentral.enrollment_group_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
  register: enrollment

- name: The key of a symmetric-key group (secret, so no_log)
  fleetops.iotcentral.enrollment_group_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: thermostats-sas
    include_keys: true
  register: thermostats_group
  no_log: true

- name: Derive the key a new device uses to connect through the group
  ansible.builtin.set_fact:
    device_sas_key: "{{ thermostats_group.enrollment_groups[0].attestation.symmetricKey.primaryKey | fleetops.iotcentral.device_key('thermostat-042') }}"
  no_log: true
"""

RETURN = r"""
enrollment_groups:
  description: The groups found, each as the API returns it (without keys unless O(include_keys=true)).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Group id.
      type: str
      sample: thermostats-sas
    displayName:
      description: Display name.
      type: str
      sample: Thermostats (SAS)
    enabled:
      description: Whether devices may connect through the group.
      type: bool
      sample: true
    type:
      description: Type of the devices of the group.
      type: str
      sample: iot
    attestation:
      description:
        - Attestation of the group. C(symmetricKey.primaryKey) and C(symmetricKey.secondaryKey) only with
          O(include_keys=true). For X.509 groups, C(x509.signingCertificates) as the service returns it.
      type: dict
      sample: {"type": "symmetricKey"}
    etag:
      description: Etag of the group.
      type: str
      sample: IjA4MDUwMTJiLTAwMDAtMDcwMC0wMDAwLTYyODJhOWVjMDAwMCI=
    idScope:
      description: ID scope devices use to connect (api-version C(2022-10-31-preview) only).
      type: str
      returned: when the service returns it
      sample: 0ne00ABCDEF
"""

from functools import partial

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.enrollmentgroups import list_enrollment_groups, read_enrollment_group


def read(module):
    include_keys = module.params["include_keys"]
    groups = module.read_one_or_all(partial(read_enrollment_group, include_keys=include_keys),
                                    partial(list_enrollment_groups, include_keys=include_keys))
    return {"changed": False, "enrollment_groups": groups}


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            id=dict(type="str", aliases=["group_id"]),
            include_keys=dict(type="bool", default=False),
        ),
    )
    module.run(read, module)


if __name__ == "__main__":
    main()
