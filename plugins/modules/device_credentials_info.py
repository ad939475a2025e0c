#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_credentials_info
short_description: Get the connection credentials (ID scope and keys) of an Azure IoT Central device
version_added: 1.0.0
description:
  - Returns what a device needs to connect through the Device Provisioning Service, the application's ID scope
    and the device's symmetric keys (or its X.509 or TPM attestation details).
  - Fails, naming the device, when the device does not exist (a device that does not exist has no credentials).
  - B(The result is secret.) Run the task with C(no_log=true) and do not print the registered variable; the
    keys then stay out of the output, C(-vvv) logs and callback plugins.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes.info_module
options:
  id:
    description:
      - Device id.
    type: str
    required: true
    aliases: [device_id]
"""

EXAMPLES = r"""
- name: Read the credentials of a device (secret, so no_log)
  fleetops.iotcentral.device_credentials_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: checkout-thermostat
  register: thermostat_credentials
  no_log: true

- name: Template the device's connection settings
  ansible.builtin.template:
    src: device.env.j2
    dest: /etc/thermostat/device.env
    mode: "0600"
  vars:
    id_scope: "{{ thermostat_credentials.device_credentials[0].idScope }}"
    device_key: "{{ thermostat_credentials.device_credentials[0].symmetricKey.primaryKey }}"
  no_log: true
"""

RETURN = r"""
device_credentials:
  description:
    - A list of one item, the device's credentials as the API returns them plus the device C(id). Secret.
    - A list, like every C(_info) module's result, so that a loop over devices reads the same way.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The device id.
      type: str
      sample: checkout-thermostat
    idScope:
      description: ID scope of the application's Device Provisioning Service.
      type: str
      sample: 0ne003E64EF
    symmetricKey:
      description: Symmetric keys of the device, when it uses symmetric-key attestation.
      type: dict
      returned: when the device uses symmetric keys
      contains:
        primaryKey:
          description: Primary key (secret).
          type: str
        secondaryKey:
          description: Secondary key (secret).
          type: str
    x509:
      description: X.509 attestation details, when the device uses certificates.
      type: dict
      returned: when the device uses X.509 certificates
    tpm:
      description: TPM attestation details, when the device uses a TPM.
      type: dict
      returned: when the device uses a TPM
credentials:
  description:
    - B(Deprecated), use RV(device_credentials); this key will be removed in release 2.0.0.
    - The only element of RV(device_credentials) without its C(id), as the API returns it. Secret.
  returned: success
  type: dict
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import device_path, validate_device_id


def read(module):
    device_id = validate_device_id(module.params["id"])
    credentials = module.client.get(device_path(device_id, "credentials"), allow_404=True)
    if credentials is None:
        raise ValueError("Device %s does not exist, so it has no credentials" % device_id)
    # `credentials` (a dict) is deprecated for the list, and kept until 2.0.0.
    return {"changed": False, "device_credentials": [dict(credentials, id=device_id)], "credentials": credentials}


def main():
    module = IoTCentralModule(argument_spec=dict(id=dict(type="str", required=True, aliases=["device_id"])))
    module.run(read, module)


if __name__ == "__main__":
    main()
