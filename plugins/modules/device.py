#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device
short_description: Create, update or delete a device in an Azure IoT Central application
version_added: 1.0.0
description:
  - Makes one IoT Central device match the given settings, idempotently.
  - A missing device is created with C(PUT). An existing one is updated with C(PATCH) carrying only the fields
    that differ from what the user asked for, guarded by its etag; server-generated fields such as C(etag) and
    C(provisioned) are never compared. A second run with the same settings sends no write and reports no change.
  - The device id is checked before any call is made.
  - A created device is read back. If another task created it at the same time (its C(PUT) replaced ours), the
    fields it returned to their defaults are re-applied with an etag-guarded C(PATCH); a field it set to another
    value fails the task, naming the field and both values, and is not overwritten.
  - A write whose answer is lost (connection reset, timeout, HTTP 5xx after the retries) is settled by reading the
    device again, and reported done, not done ("the change was not applied"), or "outcome unknown" only when that
    read fails too.
  - O(edge) and O(deployment_manifest) manage IoT Edge devices. They need api-version C(2022-10-31-preview); when
    either is given the module uses that version, and fails with a message saying so if O(api_version) is pinned to
    C(2022-07-31).
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes
options:
  id:
    description:
      - Device id. Letters, digits and C(-), at most 128 characters.
    type: str
    required: true
    aliases: [device_id]
  display_name:
    description:
      - Display name shown in IoT Central. When a device is created without one, IoT Central uses the id.
    type: str
  template:
    description:
      - Id of the device template the device uses, for example C(dtmi:contoso:Thermostat;1).
      - The template must be published in the application. When it would be set, it is read once before any write,
        and an unknown template fails the task, naming it.
    type: str
  simulated:
    description:
      - Whether IoT Central simulates the device.
    type: bool
  enabled:
    description:
      - Whether the device may connect. C(false) blocks the device.
    type: bool
  organizations:
    description:
      - Ids of the organizations the device belongs to. IoT Central allows at most one; more is refused before any
        call. The organization must exist (see M(fleetops.iotcentral.organization)).
    type: list
    elements: str
  edge:
    description:
      - V(true) makes the device an IoT Edge device (the device's C(type) is C([iotEdge])), V(false) a plain IoT
        device (C(type) empty).
      - When not given, the type is not compared; IoT Central derives it from the device template of a new device.
    type: bool
  deployment_manifest:
    description:
      - Id of a deployment manifest stored in the application (see M(fleetops.iotcentral.deployment_manifest)) to
        assign to this IoT Edge device, with C(POST /devices/{id}/applyDeploymentManifest).
      - The manifest counts as assigned when the device shows the same manifest id and, when the device shows the
        manifest content, the same content as the stored manifest has now. So a second run sends nothing, and a
        run after the stored manifest was edited assigns the new content again.
      - The manifest must exist, and the device must be an IoT Edge device (O(edge=true), or already C(iotEdge), or
        created from an IoT Edge template); both are checked before the device is created or changed when known.
      - Not used with O(state=absent). Leaving it unset never removes a manifest from a device.
    type: str
  state:
    description:
      - C(present) creates or updates the device, C(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
"""

EXAMPLES = r"""
- name: Add the checkout thermostat
  fleetops.iotcentral.device:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: checkout-thermostat
    display_name: CheckoutThermostat
    template: "dtmi:contoso:Thermostat;1"
    simulated: true
    enabled: true

- name: Block it (connection settings from module_defaults)
  module_defaults:
    group/fleetops.iotcentral.iotcentral:
      app: contoso-store
      api_token: "{{ iotcentral_api_token }}"
  block:
    - name: Disable the device
      fleetops.iotcentral.device:
        id: checkout-thermostat
        enabled: false

- name: Remove it
  fleetops.iotcentral.device:
    id: checkout-thermostat
    state: absent

- name: An IoT Edge gateway running the environmental sensor manifest
  fleetops.iotcentral.device:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: store-gateway-01
    display_name: Store gateway 01
    edge: true
    deployment_manifest: envsensorv1
"""

RETURN = r"""
device:
  description: The device as the API returns it after the change (in check mode, as it would be), plus its status.
  returned: when O(state=present)
  type: dict
  contains:
    id:
      description: Device id.
      type: str
      sample: checkout-thermostat
    displayName:
      description: Display name.
      type: str
      sample: CheckoutThermostat
    template:
      description: Device template id.
      type: str
      sample: "dtmi:contoso:Thermostat;1"
    enabled:
      description: Whether the device may connect.
      type: bool
      sample: true
    provisioned:
      description: Whether the device has been provisioned (read-only).
      type: bool
      sample: false
    simulated:
      description: Whether the device is simulated.
      type: bool
      sample: true
    organizations:
      description: Organization ids.
      type: list
      elements: str
      sample: [seattle]
    etag:
      description: Current etag of the device.
      type: str
      sample: eyJoZWFkZXIiOiJcIjI0MDAwYTdkLTAwMDAtMDMwMC0wMDAwLTYxYjgxZDIwMDAwMFwiIn0
    type:
      description: Device type; C([iotEdge]) for an IoT Edge device (api-version C(2022-10-31-preview) only).
      type: list
      elements: str
      returned: when the preview api-version is used
      sample: [iotEdge]
    deploymentManifest:
      description: The deployment manifest assigned to the device, as the service shows it (preview only).
      type: dict
      returned: when a manifest is assigned and the preview api-version is used
      sample: {"id": "envsensorv1", "displayName": "Environmental sensor", "data": {"modulesContent": {}}}
    status:
      description:
        - Status computed from C(enabled) and C(provisioned), as the az CLI computes it.
        - C(blocked) for every disabled device. The API cannot tell a device blocked before it provisioned from one
          waiting for approval, so the UI's C(waiting for approval) is never returned.
        - C(provisioned) for an enabled device that has provisioned, else C(registered).
      type: str
      choices: [registered, provisioned, blocked]
      sample: registered
action:
  description: What the task did.
  returned: always
  type: str
  choices: [created, updated, deleted, unchanged]
  sample: updated
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule, state_argspec
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import validate_device_id, with_status
from ansible_collections.fleetops.iotcentral.plugins.module_utils.manifests import ensure_edge_device


def main():
    module = IoTCentralModule(
        argument_spec=state_argspec(
            "device_id",
            display_name=dict(type="str"),
            template=dict(type="str"),
            simulated=dict(type="bool"),
            enabled=dict(type="bool"),
            organizations=dict(type="list", elements="str"),
            edge=dict(type="bool"),
            deployment_manifest=dict(type="str"),
        ),
    )
    module.run_state(ensure_edge_device, "device", validate_id=validate_device_id, present_view=with_status)


if __name__ == "__main__":
    main()
