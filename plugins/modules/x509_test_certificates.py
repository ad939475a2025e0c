#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fleetops engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: x509_test_certificates
short_description: Generate test X.509 certificates for IoT Central enrollment groups
version_added: 1.0.0
author:
  - fleetops engineering (@fleetops)
description:
  - Writes a root CA certificate, a device certificate or a verification (proof-of-possession) certificate to a
    directory, like the C(create_test_cert.js) script of the Azure IoT SDK for Node.js that Microsoft's how-to
    "use the IoT Central REST API to manage devices" uses for X.509 enrollment groups.
  - "B(Warning:) this way of generating X.509 certificates is for testing only. For a production environment use your
    official, secure mechanism for certificate generation."
  - Each run writes three files in O(path), named like the script names them, with C(<stem>) derived from O(name)
    (see O(file_prefix)) -
    C(<stem>_cert.pem) (the certificate), C(<stem>_key.pem) (its unencrypted private key, mode C(0600)) and
    C(<stem>_fullchain.pem) (the certificate followed by its issuer chain). No PFX files are written.
  - Idempotent - when the three files exist and are valid for the request (parsable, key matches certificate, right
    common name, key type, issuer and signature, not expired) nothing is written and the result is unchanged.
    Otherwise a new key and certificate replace them. The validity period of existing files is not compared with
    O(valid_days).
  - Runs on the target host and does not talk to the IoT Central API. Use M(fleetops.iotcentral.x509_certificate)
    or the API to upload the certificate; the returned RV(api_certificate) is the value the API expects.
  - Private key content is never returned.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
requirements:
  - cryptography >= 3.1
options:
  kind:
    description:
      - V(root) - a self-signed root CA certificate (C(CA:TRUE)) with common name O(name), like
        C(create_test_cert.js root <name>).
      - V(device) - a device certificate with common name O(name) (the device ID) and extended key usage
        C(clientAuth), signed by O(ca_cert)/O(ca_key), like C(create_test_cert.js device <device-id> <root>).
      - V(verification) - a certificate with common name O(nonce) signed by O(ca_cert)/O(ca_key), proving possession
        of the CA key to IoT Central, like C(create_test_cert.js verification --ca ... --key ... --nonce <code>).
    type: str
    required: true
    choices: [root, device, verification]
  name:
    description:
      - Common name of the certificate - the root certificate's name for O(kind=root), the device ID for
        O(kind=device).
      - Required for O(kind=root) and O(kind=device); not used for O(kind=verification).
      - At most 64 bytes (the X.509 limit for a common name).
    type: str
    aliases: [device_id]
  ca_cert:
    description:
      - Path to the PEM (or DER) certificate of the signing CA, for example the C(<stem>_cert.pem) or
        C(<stem>_fullchain.pem) of a O(kind=root) run. Every certificate in the file goes into the full chain.
      - Required for O(kind=device) and O(kind=verification).
      - For O(kind=device) it must be a CA certificate.
    type: path
  ca_key:
    description:
      - Path to the private key of O(ca_cert) (PEM or DER). It must belong to O(ca_cert).
      - Required for O(kind=device) and O(kind=verification).
    type: path
  ca_key_passphrase:
    description:
      - Passphrase of O(ca_key) when it is encrypted.
    type: str
  nonce:
    description:
      - The verification code returned by IoT Central's C(generateVerificationCode) request; it becomes the common
        name of the verification certificate.
      - Required for O(kind=verification).
    type: str
    aliases: [verification_code]
  path:
    description:
      - Directory to write the files to. It is created when missing.
    type: path
    required: true
  file_prefix:
    description:
      - Stem of the file names.
      - Defaults to what C(create_test_cert.js) uses - the camel-cased O(name) (V(sample-device-01) gives
        C(sampleDevice01_cert.pem)), or V(verification) for O(kind=verification).
    type: str
  key_type:
    description:
      - Type of the new private key - RSA 2048 bits or EC on the P-256 curve.
      - Certificates are signed with SHA-256 whatever the key type of the CA.
    type: str
    choices: [rsa, ec]
    default: rsa
  valid_days:
    description:
      - Validity period in days of a new certificate, from five minutes ago (to allow for clock skew).
      - Defaults to 365 for O(kind=root) and O(kind=device) and to 1 for O(kind=verification).
    type: int
  force:
    description:
      - Generate a new key and certificate even when valid files already exist.
    type: bool
    default: false
notes:
  - Certificate files are written with mode C(0644), key files with mode C(0600); the mode of an existing key file is
    corrected to C(0600).
  - Files are replaced atomically.
seealso:
  - name: Use the IoT Central REST API to manage devices
    description: The how-to whose enrollment group steps this module replaces.
    link: https://learn.microsoft.com/azure/iot-central/core/howto-manage-devices-with-rest-api
  - name: create_test_cert.js
    description: The script of the Azure IoT SDK for Node.js this module mirrors.
    link: https://github.com/Azure/azure-iot-sdk-node/blob/main/provisioning/tools/create_test_cert.js
'''

EXAMPLES = r'''
- name: Create a test root certificate (mytestrootcert_cert.pem, _key.pem, _fullchain.pem)
  fleetops.iotcentral.x509_test_certificates:
    kind: root
    name: mytestrootcert
    path: /etc/iotcentral/test-certs
  register: root

- name: Create a device certificate signed by the test root (sampleDevice01_*.pem)
  fleetops.iotcentral.x509_test_certificates:
    kind: device
    device_id: sample-device-01
    ca_cert: "{{ root.cert_path }}"
    ca_key: "{{ root.key_path }}"
    path: /etc/iotcentral/test-certs
    key_type: ec

- name: Create the verification certificate for a code returned by generateVerificationCode
  fleetops.iotcentral.x509_test_certificates:
    kind: verification
    nonce: "{{ verification.verificationCode }}"
    ca_cert: /etc/iotcentral/test-certs/mytestrootcert_cert.pem
    ca_key: /etc/iotcentral/test-certs/mytestrootcert_key.pem
    path: /etc/iotcentral/test-certs
  register: proof

- name: Show what to send in the body of the verify request
  ansible.builtin.debug:
    msg: '{"certificate": "{{ proof.api_certificate }}"}'

- name: Replace the root certificate and key even though they are still valid
  fleetops.iotcentral.x509_test_certificates:
    kind: root
    name: mytestrootcert
    path: /etc/iotcentral/test-certs
    force: true
'''

RETURN = r'''
cert_path:
  description: Path of the certificate file.
  returned: always
  type: str
  sample: /etc/iotcentral/test-certs/sampleDevice01_cert.pem
key_path:
  description: Path of the private key file (mode C(0600)). The key itself is never returned.
  returned: always
  type: str
  sample: /etc/iotcentral/test-certs/sampleDevice01_key.pem
fullchain_path:
  description: Path of the file holding the certificate followed by its issuer chain.
  returned: always
  type: str
  sample: /etc/iotcentral/test-certs/sampleDevice01_fullchain.pem
thumbprint:
  description:
    - SHA-1 thumbprint of the certificate in upper-case hex, as IoT Central shows it in C(info.sha1Thumbprint).
  returned: unless in check mode and the certificate would be created
  type: str
  sample: 644543467786B60C14DFE6B7C968A1990CF63EAC
subject:
  description: Subject of the certificate (RFC 4514).
  returned: unless in check mode and the certificate would be created
  type: str
  sample: CN=sample-device-01
issuer:
  description: Issuer of the certificate (RFC 4514).
  returned: unless in check mode and the certificate would be created
  type: str
  sample: CN=mytestrootcert
common_name:
  description: Common name of the certificate (the name, device ID or verification code).
  returned: unless in check mode and the certificate would be created
  type: str
  sample: sample-device-01
not_after:
  description: End of the certificate's validity (UTC, ISO 8601).
  returned: unless in check mode and the certificate would be created
  type: str
  sample: '2026-05-01T10:00:00Z'
api_certificate:
  description:
    - Base64 of the certificate's PEM text, the value for the C(certificate) field of the enrollment group
      certificate and verify requests (what the how-to's C(convert.js) prints).
  returned: unless in check mode and the certificate would be created
  type: str
  sample: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM...
'''

import os
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.fleetops.iotcentral.plugins.module_utils.x509 import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    DEFAULT_VALID_DAYS,
    HAS_CRYPTOGRAPHY,
    VERIFICATION_VALID_DAYS,
    api_certificate_payload,
    cert_file_stem,
    certificate_info,
    common_name,
    create_device_certificate,
    create_root_certificate,
    create_verification_certificate,
    is_ca,
    is_expired,
    is_issued_by,
    is_same_certificate,
    is_self_signed,
    key_matches_certificate,
    key_type_name,
    load_certificate_chain,
    load_private_key,
)

CERT_MODE = 0o644
KEY_MODE = 0o600


def _file_names(path, stem):
    return {
        'cert_path': os.path.join(path, stem + '_cert.pem'),
        'key_path': os.path.join(path, stem + '_key.pem'),
        'fullchain_path': os.path.join(path, stem + '_fullchain.pem'),
    }


def _existing_is_valid(paths, kind, expected_cn, key_type, ca_chain):
    """True when the files on disk already are what the request asks for; any doubt means regenerate."""
    if not all(os.path.isfile(p) for p in paths.values()):
        return False, None
    try:
        cert = load_certificate_chain(path=paths['cert_path'])[0]
        key = load_private_key(path=paths['key_path'])
        chain = load_certificate_chain(path=paths['fullchain_path'])
    except ValueError:
        return False, None
    if common_name(cert) != expected_cn or not key_matches_certificate(key, cert) or key_type_name(key) != key_type:
        return False, None
    if is_expired(cert) or not is_same_certificate(chain[0], cert):
        return False, None
    if kind == 'root':
        if not (is_ca(cert) and is_self_signed(cert)):
            return False, None
    else:
        if not is_issued_by(cert, ca_chain[0]):
            return False, None
        if len(chain) != len(ca_chain) + 1 or not all(is_same_certificate(a, b) for a, b in zip(chain[1:], ca_chain)):
            return False, None
    return True, cert


def _write_atomic(dest, text, mode):
    """Write via a temporary file in the same directory so a reader never sees a half-written key or certificate."""
    directory = os.path.dirname(dest) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(dest) + '.', dir=directory)
    try:
        # mkstemp creates the file 0600, so the key is never readable by others, not even briefly.
        os.fchmod(fd, mode)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _result_for(cert):
    info = certificate_info(cert)
    return {
        'thumbprint': info['sha1_thumbprint'],
        'subject': info['subject'],
        'issuer': info['issuer'],
        'common_name': info['common_name'],
        'not_after': info['not_after'],
        'api_certificate': api_certificate_payload(cert),
    }


def run_module():
    argument_spec = dict(
        kind=dict(type='str', required=True, choices=['root', 'device', 'verification']),
        name=dict(type='str', aliases=['device_id']),
        ca_cert=dict(type='path'),
        ca_key=dict(type='path', no_log=False),
        ca_key_passphrase=dict(type='str', no_log=True),
        nonce=dict(type='str', aliases=['verification_code']),
        path=dict(type='path', required=True),
        file_prefix=dict(type='str'),
        key_type=dict(type='str', choices=['rsa', 'ec'], default='rsa', no_log=False),
        valid_days=dict(type='int'),
        force=dict(type='bool', default=False),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[
            ('kind', 'root', ('name',)),
            ('kind', 'device', ('name', 'ca_cert', 'ca_key')),
            ('kind', 'verification', ('nonce', 'ca_cert', 'ca_key')),
        ],
        supports_check_mode=True,
    )
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib('cryptography'), exception=CRYPTOGRAPHY_IMPORT_ERROR)

    params = module.params
    kind = params['kind']
    key_type = params['key_type']
    expected_cn = params['nonce'] if kind == 'verification' else params['name']
    valid_days = params['valid_days']
    if valid_days is None:
        valid_days = VERIFICATION_VALID_DAYS if kind == 'verification' else DEFAULT_VALID_DAYS
    if valid_days < 1:
        module.fail_json(msg='valid_days must be at least 1')

    stem = params['file_prefix']
    if stem is None:
        stem = 'verification' if kind == 'verification' else cert_file_stem(expected_cn)
    if not stem or stem in ('.', '..') or '/' in stem or os.sep in stem:
        module.fail_json(msg='file_prefix (or the name it is derived from) must give a plain, non-empty file name stem')

    out_dir = params['path']
    paths = _file_names(out_dir, stem)
    result = dict(changed=False, **paths)

    ca_chain = None
    ca_key = None
    if kind != 'root':
        error = None
        try:
            ca_chain = load_certificate_chain(path=params['ca_cert'], what='CA certificate (ca_cert)')
            ca_key = load_private_key(path=params['ca_key'], passphrase=params['ca_key_passphrase'], what='CA private key (ca_key)')
        except ValueError as exc:
            error = str(exc)
        # Failing outside the except block keeps ansible-core 2.19 from attaching a traceback to a user mistake.
        if error is not None:
            module.fail_json(msg=error, **result)
        if not key_matches_certificate(ca_key, ca_chain[0]):
            module.fail_json(msg='ca_key is not the private key of ca_cert', **result)
        if kind == 'device' and not is_ca(ca_chain[0]):
            module.fail_json(msg='ca_cert is not a CA certificate (basicConstraints CA:TRUE is missing)', **result)

    valid, cert = (False, None) if params['force'] else _existing_is_valid(paths, kind, expected_cn, key_type, ca_chain)
    if valid:
        error = None
        try:
            if stat.S_IMODE(os.stat(paths['key_path']).st_mode) != KEY_MODE:
                result['changed'] = True
                if not module.check_mode:
                    os.chmod(paths['key_path'], KEY_MODE)
        except OSError as exc:
            error = 'cannot set the mode of %s: %s' % (paths['key_path'], exc.strerror)
        if error is not None:
            module.fail_json(msg=error, **result)
        result.update(_result_for(cert))
        module.exit_json(**result)

    result['changed'] = True
    if module.check_mode:
        module.exit_json(**result)

    error = None
    generated = None
    try:
        if kind == 'root':
            generated = create_root_certificate(expected_cn, key_type=key_type, valid_days=valid_days)
        elif kind == 'device':
            generated = create_device_certificate(expected_cn, ca_chain[0], ca_key, ca_chain=ca_chain, key_type=key_type,
                                                  valid_days=valid_days)
        else:
            generated = create_verification_certificate(expected_cn, ca_chain[0], ca_key, ca_chain=ca_chain,
                                                        key_type=key_type, valid_days=valid_days)
    except ValueError as exc:
        error = str(exc)
    if error is not None:
        module.fail_json(msg=error, **result)

    try:
        if not os.path.isdir(out_dir):
            os.makedirs(out_dir)
        _write_atomic(paths['key_path'], generated.key_pem, KEY_MODE)
        _write_atomic(paths['cert_path'], generated.cert_pem, CERT_MODE)
        _write_atomic(paths['fullchain_path'], generated.fullchain_pem, CERT_MODE)
    except (IOError, OSError) as exc:
        error = 'cannot write the certificate files in %s: %s' % (out_dir, exc.strerror or exc)
    if error is not None:
        module.fail_json(msg=error, **result)

    result.update(_result_for(generated.certificate))
    module.exit_json(**result)


def main():
    run_module()


if __name__ == '__main__':
    main()
