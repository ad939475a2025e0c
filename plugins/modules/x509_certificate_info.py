#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: x509_certificate_info
short_description: Get the X.509 certificates of an IoT Central enrollment group
version_added: 1.0.0
description:
  - Returns, for the primary and the secondary entry of an X.509 enrollment group, whether a certificate is set,
    its SHA-1 thumbprint and whether it is verified.
  - The result is empty when the group does not exist or does not use X.509 attestation.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes.info_module
options:
  enrollment_group:
    description:
      - Id of the enrollment group.
    type: str
    required: true
    aliases: [group_id]
  entry:
    description:
      - Only this entry. Both when not set.
    type: str
    choices: [primary, secondary]
seealso:
  - module: fleetops.iotcentral.x509_certificate
"""

EXAMPLES = r"""
- name: Certificates of the gateways group
  fleetops.iotcentral.x509_certificate_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    enrollment_group: gateways-x509
  register: gateway_certs

- name: Fail when the primary certificate is missing or not verified
  ansible.builtin.assert:
    that:
      - gateway_certs.x509_certificates | selectattr('entry', 'eq', 'primary') | selectattr('verified') | length == 1
"""

RETURN = r"""
x509_certificates:
  description:
    - The entries of the group that hold a certificate, primary first, each as the API returns it without the
      certificate body, plus C(entry) and C(sha1Thumbprint).
    - Empty when the group does not exist, does not use X.509 attestation or holds no certificate.
  returned: always
  type: list
  elements: dict
  sample:
    - entry: primary
      verified: true
      sha1Thumbprint: 644543467786B60C14DFE6B7C968A1990CF63EAC
      info:
        sha1Thumbprint: 644543467786B60C14DFE6B7C968A1990CF63EAC
      etag: IjE3MDAwODNhLTAwMDAtMDcwMC0wMDAwLTYyNjFmNzk0MDAwMCI=
  contains:
    entry:
      description: Which entry of the group holds the certificate.
      type: str
      choices: [primary, secondary]
      sample: primary
    verified:
      description: Whether the certificate is verified.
      type: bool
      sample: true
    sha1Thumbprint:
      description: SHA-1 thumbprint of the certificate (upper-case hex), copied from C(info.sha1Thumbprint).
      type: str
      sample: 644543467786B60C14DFE6B7C968A1990CF63EAC
    info:
      description: Information about the certificate as the API returns it.
      type: dict
    etag:
      description: Etag of the entry.
      type: str
certificates:
  description:
    - B(Deprecated), use RV(x509_certificates); this key will be removed in release 2.0.0.
    - One key per entry (V(primary), V(secondary)), each V(null) when the entry holds no certificate.
    - Empty when the group does not exist or does not use X.509 attestation.
  returned: always
  type: dict
  sample:
    primary:
      verified: true
      sha1Thumbprint: 644543467786B60C14DFE6B7C968A1990CF63EAC
      info:
        sha1Thumbprint: 644543467786B60C14DFE6B7C968A1990CF63EAC
      etag: IjE3MDAwODNhLTAwMDAtMDcwMC0wMDAwLTYyNjFmNzk0MDAwMCI=
    secondary: null
  contains:
    primary:
      description: The primary entry, as in RV(x509_certificates) but without C(entry).
      type: dict
      returned: when the group uses X.509 attestation
    secondary:
      description: The secondary entry, like RV(certificates.primary).
      type: dict
      returned: when the group uses X.509 attestation
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.certificates import ENTRIES, read_certificates
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule


def as_list(certificates):
    """The entries holding a certificate, in ENTRIES order, each with its name: what _info modules return."""
    return [dict(certificates[name], entry=name) for name in ENTRIES if certificates.get(name)]


def read(module):
    params = module.params
    entries = (params["entry"],) if params["entry"] else ENTRIES
    certificates = read_certificates(module.client, params["enrollment_group"], entries)
    # `certificates` (a dict) is deprecated for the list, and kept until 2.0.0.
    return {"changed": False, "x509_certificates": as_list(certificates), "certificates": certificates}


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            enrollment_group=dict(type="str", required=True, aliases=["group_id"]),
            entry=dict(type="str", choices=["primary", "secondary"]),
        ),
    )
    module.run(read, module)


if __name__ == "__main__":
    main()
