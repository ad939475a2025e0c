#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: x509_certificate
short_description: Upload, verify or remove the X.509 certificate of an IoT Central enrollment group
version_added: 1.0.0
description:
  - Sets the primary or secondary X.509 signing certificate of an enrollment group that uses X.509 attestation
    (see M(fleetops.iotcentral.enrollment_group)), and verifies it.
  - Idempotent by SHA-1 thumbprint - when the entry already holds the same certificate nothing is uploaded. A
    different certificate replaces the one on the entry.
  - "Verification proves that you hold the private key of the certificate. Three ways are supported, at most one
    per task: O(verified=true) attests it (sent with the upload, as the how-to's C(verified: true));
    O(verification_certificate) or O(verification_certificate_path) posts a verification certificate you made for
    a verification code (see O(generate_verification_code)); O(ca_private_key) or O(ca_private_key_path) makes the
    module do the whole proof of possession itself - it asks IoT Central for a verification code, issues the
    verification certificate with the CA key and posts it, in the same task."
  - A certificate that is already verified is left alone.
  - Every local check runs before the first API call - the certificate must parse, the CA private key must be the
    key of the certificate, and a verification certificate must be signed by it. On bad input the task fails with
    one line and nothing is changed.
  - Certificates and keys are read on the managed host (use C(delegate_to) or a local connection for files on the
    controller). Private key material never appears in results, diffs or error messages.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes
requirements:
  - cryptography >= 3.1
options:
  enrollment_group:
    description:
      - Id of the enrollment group. It must exist and use X.509 attestation.
    type: str
    required: true
    aliases: [group_id]
  entry:
    description:
      - Which certificate of the group.
    type: str
    choices: [primary, secondary]
    default: primary
  certificate:
    description:
      - The certificate (typically the root or intermediate CA that signs the device certificates) as PEM text,
        or base64 of PEM or DER. Only the first certificate of a PEM chain is used.
      - One of O(certificate) and O(certificate_path) is required with O(state=present).
      - With O(state=absent), the entry is only cleared when it holds this certificate.
    type: str
  certificate_path:
    description:
      - Path of a PEM or DER certificate file, instead of O(certificate).
    type: path
  verified:
    description:
      - V(true) attests that the certificate is valid without a proof of possession (the upload request's
        C(verified) field). V(false) is the same as not setting it; it never un-verifies a certificate.
    type: bool
  verification_certificate:
    description:
      - A verification certificate (PEM text, or base64 of PEM or DER) whose common name is the verification code
        IoT Central issued for this entry, signed by the key of the certificate.
      - It is posted only when the certificate on the entry is not verified yet.
    type: str
  verification_certificate_path:
    description:
      - Path of a verification certificate file, instead of O(verification_certificate).
    type: path
  ca_private_key:
    description:
      - Private key of the certificate (PEM, or base64 of PEM or DER; RSA, EC or EdDSA). With it the module proves
        possession by itself - it generates a verification code, issues a one-day verification certificate for it
        and posts it to IoT Central.
      - It is checked against the certificate before any call. It never leaves the managed host.
    type: str
  ca_private_key_path:
    description:
      - Path of the private key file of the certificate, instead of O(ca_private_key).
    type: path
  ca_private_key_passphrase:
    description:
      - Passphrase of an encrypted O(ca_private_key) or O(ca_private_key_path).
    type: str
  generate_verification_code:
    description:
      - When the certificate on the entry is not verified and no way to verify it is given, ask IoT Central for a
        verification code and return it in RV(verification_code), to make a verification certificate with (for
        example with M(fleetops.iotcentral.x509_test_certificates) O(fleetops.iotcentral.x509_test_certificates#module:kind=verification))
        and pass it in a later task as O(verification_certificate_path).
      - Each request issues a new code. Generating a code is not reported as a change; it is skipped in check mode.
    type: bool
    default: false
  state:
    description:
      - C(present) uploads (and verifies) the certificate, C(absent) removes the certificate of the entry.
    type: str
    choices: [present, absent]
    default: present
notes:
  - The service checks the verification certificate for real - its common name must be the latest code of the
    entry and its signature must verify with the uploaded certificate's public key.
seealso:
  - module: fleetops.iotcentral.x509_certificate_info
  - module: fleetops.iotcentral.enrollment_group
  - module: fleetops.iotcentral.x509_test_certificates
"""

EXAMPLES = r"""
- name: Upload the root certificate and prove possession of its key, in one task
  fleetops.iotcentral.x509_certificate:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    enrollment_group: gateways-x509
    entry: primary
    certificate_path: /etc/iotcentral/certs/mytestrootcert_cert.pem
    ca_private_key_path: /etc/iotcentral/certs/mytestrootcert_key.pem
    ca_private_key_passphrase: "{{ vault_root_key_passphrase | default(omit) }}"

- name: Upload a certificate whose validity you attest (no proof of possession)
  fleetops.iotcentral.x509_certificate:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    enrollment_group: gateways-x509
    entry: secondary
    certificate: "{{ lookup('ansible.builtin.file', 'certs/backup-root.pem') }}"
    verified: true

- name: Manual proof of possession, step 1 - upload and get a verification code
  fleetops.iotcentral.x509_certificate:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    enrollment_group: gateways-x509
    certificate_path: /etc/iotcentral/certs/offline-root.pem
    generate_verification_code: true
  register: upload

- name: Step 2 - post the verification certificate made offline for upload.verification_code
  fleetops.iotcentral.x509_certificate:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    enrollment_group: gateways-x509
    certificate_path: /etc/iotcentral/certs/offline-root.pem
    verification_certificate_path: /etc/iotcentral/certs/verification_cert.pem

- name: Remove the secondary certificate
  fleetops.iotcentral.x509_certificate:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    enrollment_group: gateways-x509
    entry: secondary
    state: absent
"""

RETURN = r"""
certificate:
  description:
    - The certificate entry as the API returns it after the change (in check mode, as it would be), without the
      certificate body, plus the entry name. V(null) when the entry is empty.
  returned: always
  type: dict
  contains:
    entry:
      description: Which certificate of the group.
      type: str
      sample: primary
    verified:
      description: Whether the certificate is verified.
      type: bool
      sample: true
    info:
      description: Information about the certificate.
      type: dict
      contains:
        sha1Thumbprint:
          description: SHA-1 thumbprint of the certificate (upper-case hex).
          type: str
          sample: 644543467786B60C14DFE6B7C968A1990CF63EAC
    etag:
      description: Etag of the entry.
      type: str
      sample: IjE3MDAwODNhLTAwMDAtMDcwMC0wMDAwLTYyNjFmNzk0MDAwMCI=
action:
  description:
    - What the task did to the entry. V(verified) means the certificate was already there and only got verified.
  returned: always
  type: str
  choices: [created, replaced, verified, deleted, unchanged]
  sample: created
verified_by:
  description: How the certificate was verified by this task; V(null) when it was not.
  returned: always
  type: str
  choices: [attested, verification_certificate, proof_of_possession]
  sample: proof_of_possession
verification_code:
  description: The verification code IoT Central issued, with O(generate_verification_code=true).
  returned: when O(generate_verification_code=true) and a code was generated
  type: str
  sample: 1A2B3C4D5E6F7A8B9C0D1E2F3A4B5C6D7E8F9A0B1C2D3E4F
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.fleetops.iotcentral.plugins.module_utils import x509 as x509_utils
from ansible_collections.fleetops.iotcentral.plugins.module_utils.certificates import ensure_certificate, load_inputs
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule


def converge(module):
    # Local checks first: bad input must fail before the connection settings are even used.
    inputs = load_inputs(module.params)
    outcome = ensure_certificate(module.client, module.params, check_mode=module.check_mode, inputs=inputs)
    result = {
        "changed": outcome["action"] != "unchanged",
        "action": outcome["action"],
        "verified_by": outcome["verified_by"],
        "certificate": outcome["certificate"],
    }
    if outcome["verification_code"]:
        result["verification_code"] = outcome["verification_code"]
    if module.diff_mode:
        result["diff"] = outcome["diff"]
    return result


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            enrollment_group=dict(type="str", required=True, aliases=["group_id"]),
            entry=dict(type="str", default="primary", choices=["primary", "secondary"]),
            certificate=dict(type="str"),
            certificate_path=dict(type="path"),
            verified=dict(type="bool"),
            verification_certificate=dict(type="str"),
            verification_certificate_path=dict(type="path"),
            ca_private_key=dict(type="str", no_log=True),
            ca_private_key_path=dict(type="path", no_log=False),
            ca_private_key_passphrase=dict(type="str", no_log=True),
            generate_verification_code=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        mutually_exclusive=[
            ("certificate", "certificate_path"),
            ("verification_certificate", "verification_certificate_path"),
            ("ca_private_key", "ca_private_key_path"),
        ],
    )
    if not x509_utils.HAS_CRYPTOGRAPHY:
        module.fail(missing_required_lib("cryptography"), exception=x509_utils.CRYPTOGRAPHY_IMPORT_ERROR)
    module.run(converge, module)


if __name__ == "__main__":
    main()
