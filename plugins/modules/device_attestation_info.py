#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_attestation_info
short_description: Get the individual attestation of an Azure IoT Central device
version_added: 1.0.0
description:
  - Returns the individual enrollment (attestation) of one device - its type, and for X.509 the SHA-1 thumbprints
    of its client certificates. RV(attestation) is V(null) when the device has none (it connects through an
    enrollment group) or does not exist; RV(device_exists) tells the two apart.
  - Symmetric keys and the TPM endorsement key are left out unless O(include_keys=true).
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes.info_module
options:
  id:
    description:
      - Id of the device.
    type: str
    required: true
    aliases: [device_id]
  include_keys:
    description:
      - Return the symmetric keys (C(symmetricKey.primaryKey), C(symmetricKey.secondaryKey)) or the TPM
        endorsement key (C(tpm.endorsementKey)). When the attestation does not show them, they are read from the
        device's credentials.
      - B(The keys are secrets) - anyone who has one can connect as the device. Set C(no_log) on the task and avoid
        printing the result.
    type: bool
    default: false
seealso:
  - module: fleetops.iotcentral.device_attestation
  - module: fleetops.iotcentral.device_credentials_info
"""

EXAMPLES = r"""
- name: How does the checkout thermostat authenticate?
  fleetops.iotcentral.device_attestation_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: checkout-thermostat
  register: checkout

- name: Its keys, to configure the device (secret, so no_log)
  fleetops.iotcentral.device_attestation_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: checkout-thermostat
    include_keys: true
  register: checkout_keys
  no_log: true
"""

RETURN = r"""
attestation:
  description:
    - The individual attestation, or V(null) when the device has none.
  returned: always
  type: dict
  contains:
    type:
      description: Attestation type.
      type: str
      choices: [symmetricKey, x509, tpm]
      sample: symmetricKey
    symmetricKey:
      description: The primary and secondary key (secrets).
      type: dict
      returned: when RV(attestation.type=symmetricKey) and O(include_keys=true)
    tpm:
      description: The TPM endorsement key (C(endorsementKey)).
      type: dict
      returned: when RV(attestation.type=tpm) and O(include_keys=true)
    x509:
      description: The client certificates as their SHA-1 thumbprints (upper-case hex), per entry.
      type: dict
      returned: when RV(attestation.type=x509)
      sample: {"clientCertificates": {"primary": {"info": {"sha1Thumbprint": "644543467786B60C14DFE6B7C968A1990CF63EAC"}}}}
device_exists:
  description: Whether the device exists.
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.attestation import read_attestation
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule


def read(module):
    result = read_attestation(module.client, module.params["id"], include_keys=module.params["include_keys"])
    return dict(result, changed=False)


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            id=dict(type="str", required=True, aliases=["device_id"]),
            include_keys=dict(type="bool", default=False),
        ),
    )
    module.run(read, module)


if __name__ == "__main__":
    main()
