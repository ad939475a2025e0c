#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_attestation
short_description: Set or remove the individual enrollment (attestation) of an Azure IoT Central device
version_added: 1.0.0
description:
  - Makes the individual attestation of one IoT Central device match the given settings, idempotently - the
    credentials the device itself proves when it connects, instead of those of an enrollment group. One of a
    symmetric key pair, X.509 client certificates (primary and optional secondary) or a TPM endorsement key.
  - A device without an individual attestation, or with one of another type, gets a C(PUT) of the whole
    attestation. B(Changing the type replaces the attestation) - the old keys or certificates stop working at once;
    the task returns RV(action=replaced) and the diff names the attestation it replaces.
  - An attestation of the same type is updated with a merge C(PATCH) of only what differs. Certificates are
    compared by SHA-1 thumbprint and never uploaded again when the device already has them; an entry that is not
    given is left as it is (a secondary certificate stays when only O(primary_certificate) is given).
  - Symmetric keys - when neither O(primary_key) nor O(secondary_key) is given, any existing symmetric-key
    attestation satisfies the task. A new one gets two generated keys (64 random bytes each, the form IoT Central
    generates; the API needs both keys in the request). Given keys are compared with the keys the attestation
    shows, or else with the device's credentials; if IoT Central shows neither, they are sent and the task reports
    a change.
  - Keys are never returned and never shown in a diff (a change shows as a marker). Read them with
    M(fleetops.iotcentral.device_attestation_info) and O(fleetops.iotcentral.device_attestation_info#module:include_keys=true).
  - The attestation has no etag in the API, so two writers cannot be told apart - the last write wins.
  - Every local check runs before the first request - option combinations, keys that must be base64, certificates
    that must parse. On bad input the task fails with one line naming the option, and nothing is changed.
  - The device must exist (see M(fleetops.iotcentral.device)). A certificate whose subject CN is not the device id
    gives a warning - the device registers with its certificate's CN.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes
attributes:
  diff_mode:
    details: Shows the type and the certificate thumbprints; keys never appear, a key change shows as a marker.
requirements:
  - cryptography >= 3.1 (for X.509 certificates)
options:
  id:
    description:
      - Id of the device.
    type: str
    required: true
    aliases: [device_id]
  attestation:
    description:
      - The type of the individual enrollment. Required with O(state=present).
      - V(symmetric_key) - a primary and secondary key (O(primary_key), O(secondary_key), or generated).
      - V(x509) - client certificates (O(primary_certificate) or O(primary_certificate_path) to create it, optional
        secondary).
      - V(tpm) - the TPM's endorsement key (O(endorsement_key)).
    type: str
    choices: [symmetric_key, x509, tpm]
  primary_key:
    description:
      - Primary symmetric key (base64 of 16 to 64 bytes). Only with O(attestation=symmetric_key).
      - Compared with the current key and sent only when it differs. Not given, the current key is kept (a new
        attestation gets a generated one).
    type: str
  secondary_key:
    description:
      - Secondary symmetric key, like O(primary_key).
    type: str
  primary_certificate:
    description:
      - The device's primary client certificate as PEM text, or base64 of PEM or DER. Only the first certificate
        of a PEM chain is used. Only with O(attestation=x509).
      - Uploaded only when its SHA-1 thumbprint differs from the device's current primary certificate.
    type: str
  primary_certificate_path:
    description:
      - Path of a PEM or DER certificate file on the managed host, instead of O(primary_certificate).
    type: path
  secondary_certificate:
    description:
      - The device's secondary client certificate, like O(primary_certificate).
    type: str
  secondary_certificate_path:
    description:
      - Path of the secondary certificate file, instead of O(secondary_certificate).
    type: path
  endorsement_key:
    description:
      - The TPM's endorsement key (base64). Only with O(attestation=tpm); required to create a TPM attestation.
      - Compared with the current one (whitespace ignored) and sent only when it differs.
    type: str
  state:
    description:
      - C(present) sets the attestation, C(absent) removes the individual attestation whatever its type.
      - Removing it from a device that does not exist, or that has none, changes nothing.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The device connects with the attestation through the application's ID scope - see
    M(fleetops.iotcentral.device_credentials_info).
seealso:
  - module: fleetops.iotcentral.device_attestation_info
  - module: fleetops.iotcentral.device_credentials_info
  - module: fleetops.iotcentral.x509_test_certificates
"""

EXAMPLES = r"""
- name: Individual symmetric-key enrollment (keys generated)
  fleetops.iotcentral.device_attestation:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: checkout-thermostat
    attestation: symmetric_key

- name: Rotate to keys from a vault
  fleetops.iotcentral.device_attestation:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: checkout-thermostat
    attestation: symmetric_key
    primary_key: "{{ vault_checkout_primary_key }}"
    secondary_key: "{{ vault_checkout_secondary_key }}"

- name: X.509 client certificates (uploaded only when their thumbprints differ)
  fleetops.iotcentral.device_attestation:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: checkout-thermostat
    attestation: x509
    primary_certificate_path: certs/checkout-thermostat_cert.pem
    secondary_certificate_path: certs/checkout-thermostat_backup_cert.pem

- name: A TPM endorsement key
  fleetops.iotcentral.device_attestation:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: gateway-01
    attestation: tpm
    endorsement_key: "{{ lookup('ansible.builtin.file', 'tpm/gateway-01.ek') }}"

- name: Back to the enrollment groups
  fleetops.iotcentral.device_attestation:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: checkout-thermostat
    state: absent
"""

RETURN = r"""
attestation:
  description:
    - The attestation after the change (in check mode, as it would be), without keys.
  returned: when O(state=present)
  type: dict
  contains:
    type:
      description: Attestation type.
      type: str
      choices: [symmetricKey, x509, tpm]
      sample: x509
    x509:
      description: The client certificates as their SHA-1 thumbprints (upper-case hex), per entry.
      type: dict
      returned: when RV(attestation.type=x509)
      sample: {"clientCertificates": {"primary": {"info": {"sha1Thumbprint": "644543467786B60C14DFE6B7C968A1990CF63EAC"}}}}
action:
  description: What the task did. V(replaced) means an attestation of another type was replaced.
  returned: always
  type: str
  choices: [created, updated, replaced, deleted, unchanged]
  sample: created
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.fleetops.iotcentral.plugins.module_utils.attestation import ensure_attestation, load_desired, x509_utils
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule, state_argspec


def local_inputs(module):
    """The attestation asked for, checked and loaded (keys, certificates read from their files)."""
    return {"warn": module.module.warn, "loaded": load_desired(module.params)}


def main():
    module = IoTCentralModule(
        argument_spec=state_argspec(
            "device_id",
            attestation=dict(type="str", choices=["symmetric_key", "x509", "tpm"]),
            primary_key=dict(type="str", no_log=True),
            secondary_key=dict(type="str", no_log=True),
            primary_certificate=dict(type="str"),
            primary_certificate_path=dict(type="path"),
            secondary_certificate=dict(type="str"),
            secondary_certificate_path=dict(type="path"),
            endorsement_key=dict(type="str", no_log=True),
        ),
        mutually_exclusive=[
            ("primary_certificate", "primary_certificate_path"),
            ("secondary_certificate", "secondary_certificate_path"),
        ],
        required_if=[("state", "present", ("attestation",))],
    )
    params = module.params
    if any(params.get(name) is not None for name in ("primary_certificate", "primary_certificate_path",
                                                     "secondary_certificate", "secondary_certificate_path")) \
            and not x509_utils().HAS_CRYPTOGRAPHY:
        module.fail(missing_required_lib("cryptography"), exception=x509_utils().CRYPTOGRAPHY_IMPORT_ERROR)
    module.run_state(ensure_attestation, "attestation", local_inputs=local_inputs)


if __name__ == "__main__":
    main()
