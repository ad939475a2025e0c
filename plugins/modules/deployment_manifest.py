#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: deployment_manifest
short_description: Create, update or delete an IoT Edge deployment manifest in an Azure IoT Central application
version_added: 1.0.0
description:
  - Makes one IoT Edge deployment manifest stored in IoT Central match the given content, idempotently. A deployment
    manifest lists the modules an IoT Edge device runs and their settings; assign one to a device with
    M(fleetops.iotcentral.device) O(fleetops.iotcentral.device#module:deployment_manifest).
  - A missing manifest is created with C(PUT). An existing one is updated with a C(PATCH) of media type
    C(application/merge-patch+json) carrying only what differs, guarded by its etag. The content (O(data) or
    O(src)) is compared as a whole; a member removed from the content is removed from the stored manifest.
  - Deployment manifests need api-version C(2022-10-31-preview). The module uses it unless O(api_version) is pinned
    to C(2022-07-31), in which case it fails with a message saying so.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes
options:
  id:
    description:
      - Manifest id. Letters, digits, C(:) and C(;), at most 255 characters (the service allows no C(-) or C(_)).
    type: str
    required: true
    aliases: [manifest_id]
  display_name:
    description:
      - Display name of the manifest. A new manifest without one is named after its O(id).
    type: str
  data:
    description:
      - The deployment manifest content, the object with C(modulesContent) that IoT Edge tools write.
      - An IoT Central manifest object (with the content under C(data)) is accepted too.
      - Mutually exclusive with O(src). One of them is required to create a manifest; without either, an
        existing manifest's content is not compared.
    type: dict
  src:
    description:
      - Path of a JSON or YAML file holding the content, instead of O(data). Read on the managed host.
      - YAML needs PyYAML on the managed host.
    type: path
  organizations:
    description:
      - Ids of the organizations the manifest belongs to (IoT Central supports one). Order is not significant.
    type: list
    elements: str
  state:
    description:
      - C(present) creates or updates the manifest, C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Manifests often carry container registry credentials (C(registryCredentials)). Every member whose name
    contains C(password) is masked in the result and in the diff; the rest of the content is shown.
seealso:
  - module: fleetops.iotcentral.deployment_manifest_info
  - module: fleetops.iotcentral.device
"""

EXAMPLES = r"""
- name: Store the environmental sensor manifest from a file
  fleetops.iotcentral.deployment_manifest:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: envsensorv1
    display_name: Environmental sensor deployment manifest
    src: files/envsensor.deployment.json

- name: Or inline
  fleetops.iotcentral.deployment_manifest:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: envsensorv1
    data:
      modulesContent:
        $edgeAgent:
          properties.desired:
            schemaVersion: "1.1"
            runtime:
              type: docker
              settings:
                minDockerVersion: v1.25
            systemModules:
              edgeAgent:
                type: docker
                settings:
                  image: mcr.microsoft.com/azureiotedge-agent:1.4
              edgeHub:
                type: docker
                status: running
                restartPolicy: always
                settings:
                  image: mcr.microsoft.com/azureiotedge-hub:1.4
            modules: {}
        $edgeHub:
          properties.desired:
            schemaVersion: "1.1"
            routes:
              upstream: FROM /* INTO $upstream

- name: Remove it
  fleetops.iotcentral.deployment_manifest:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: envsensorv1
    state: absent
"""

RETURN = r"""
deployment_manifest:
  description: The manifest as the API returns it after the change (in check mode, as it would be).
  returned: when O(state=present)
  type: dict
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
      description: Current etag of the manifest.
      type: str
      sample: '"0500f164-0000-1100-0000-637cf09c0000"'
action:
  description: What the task did.
  returned: always
  type: str
  choices: [created, updated, deleted, unchanged]
  sample: created
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule, state_argspec
from ansible_collections.fleetops.iotcentral.plugins.module_utils.manifests import (
    ensure_manifest,
    load_manifest_data,
    masked,
    validate_manifest_id,
)


def manifest_data(module):
    """The manifest content asked for (``data``, or read from ``src``); None leaves the content as it is."""
    params = module.params
    data = None
    if params["state"] == "present" and (params["data"] is not None or params["src"] is not None):
        data = load_manifest_data(data=params["data"], src=params["src"])
    return {"data": data}


def main():
    module = IoTCentralModule(
        argument_spec=state_argspec(
            "manifest_id",
            display_name=dict(type="str"),
            data=dict(type="dict"),
            src=dict(type="path"),
            organizations=dict(type="list", elements="str"),
        ),
        mutually_exclusive=[("data", "src")],
    )
    module.run_state(ensure_manifest, "deployment_manifest", validate_id=validate_manifest_id,
                     local_inputs=manifest_data, present_view=masked, diff_side_view=masked)


if __name__ == "__main__":
    main()
