#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: deployment_manifest_info
short_description: Get one or all IoT Edge deployment manifests of an Azure IoT Central application
version_added: 1.0.0
description:
  - With O(id), returns that deployment manifest (an empty list if it does not exist); otherwise every manifest,
    following every page.
  - Deployment manifests need api-version C(2022-10-31-preview). The module uses it unless O(api_version) is pinned
    to C(2022-07-31), in which case it fails with a message saying so.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes.info_module
options:
  id:
    description:
      - Id of one manifest to get.
    type: str
    aliases: [manifest_id]
notes:
  - Manifests often carry container registry credentials; use C(no_log) on the task when they do.
seealso:
  - module: fleetops.iotcentral.deployment_manifest
"""

EXAMPLES = r"""
- name: All deployment manifests
  fleetops.iotcentral.deployment_manifest_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
  register: manifests

- name: Their ids and names
  ansible.builtin.debug:
    msg: "{{ manifests.deployment_manifests | items2dict(key_name='id', value_name='displayName') }}"
"""

RETURN = r"""
deployment_manifests:
  description: The manifests found, each as the API returns it.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Manifest id.
      type: str
      sample: envsensorv1
    displayName:
      description: Display name.
      type: str
      sample: Environmental sensor deployment manifest
    data:
      description: The manifest content.
      type: dict
      sample: {"modulesContent": {"$edgeAgent": {}, "$edgeHub": {}}}
    organizations:
      description: Organization ids.
      type: list
      elements: str
      sample: [seattle]
    etag:
      description: Etag of the manifest.
      type: str
      sample: '"0500f164-0000-1100-0000-637cf09c0000"'
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.manifests import get_manifest, list_manifests, masked, validate_manifest_id


def read(module):
    manifests = module.read_one_or_all(get_manifest, list_manifests, validate_id=validate_manifest_id)
    return {"changed": False, "deployment_manifests": [masked(manifest) for manifest in manifests]}


def main():
    module = IoTCentralModule(argument_spec=dict(id=dict(type="str", aliases=["manifest_id"])))
    module.run(read, module)


if __name__ == "__main__":
    main()
