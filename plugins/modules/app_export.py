#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app_export
short_description: Write an Azure IoT Central application as the variables file of the role fleetops.iotcentral.app
version_added: 1.0.0
description:
  - Reads an IoT Central application and writes what it holds as the variables of the role
    R(fleetops.iotcentral.app,ansible_collections.fleetops.iotcentral.app_role), in YAML, so that applying the role
    with that file to the same application changes nothing. This is how an application that already runs is adopted
    as code - export, commit, review with the role in check mode, apply.
  - Sections, in the role's dependency order - organizations (parents first), device templates (their DTDL document
    inline), device groups, enrollment groups (with the thumbprint and verified state of their X.509 certificates),
    IoT Edge deployment manifests, devices.
  - The text is stable, so a second export of an unchanged application gives the same bytes and reports no change -
    items sorted by id, keys in a fixed order, nested manifest content sorted by key, one line per device, no
    timestamp and nothing the service generates (etags, provisioning state, ID scopes).
  - The file never holds a key, token, password or private key. A secret the role needs (a container registry
    password in a manifest) becomes a C({{ vault_iotcentral_... }}) reference, named in a comment above its item;
    define it from Ansible Vault or an AWX credential. A secret the role can do without (the symmetric keys of an
    enrollment group, which the service keeps) is only named in a comment.
  - The service never returns an uploaded certificate, only its thumbprint. The file records the thumbprint, and the
    role checks it; to upload the certificate to another application, add C(certificate_path) to its entry.
  - Devices are exported with their writable property values (the desired value while the device has not
    acknowledged it, else the reported one), at the root and in components, as the C(properties) of
    M(fleetops.iotcentral.device_fleet); an IoT Edge device with C(edge) and the id of the deployment manifest
    assigned to it (C(deployment_manifest)).
  - With O(device_attestation), a device with an individual enrollment is exported with its C(attestation) - the
    type, and for X.509 the SHA-1 thumbprints of its client certificates (C(primary_sha1_thumbprint)), which the role
    checks. Keys are never written - a symmetric key pair or TPM endorsement key is named as vault variables in a
    comment above the device (the role keeps the keys an attestation has, so it needs them only to set them). A
    device that connects through an enrollment group has no C(attestation).
  - Reads only, at most O(rate_limit) requests per second. Devices are read with listing calls (pages of 100), each
    template once, the properties of each device whose template has writable properties with one read per device
    (no listing shows properties) and, with O(device_attestation), the attestation of each device with one more read
    per device, O(concurrency) at a time.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes
attributes:
  check_mode:
    details: The application is read and the file is not written; C(changed) says whether it would change.
  diff_mode:
    details: The file's text before and after, per file.
options:
  dest:
    description:
      - The file to write (O(per_section=false)), or the directory to write one C(<section>.yml) per section into
        (O(per_section=true), created if missing). Written on the host that runs the module, replaced atomically,
        and only when its text changes.
    type: path
    required: true
  per_section:
    description:
      - Write one file per section (C(device_groups.yml), C(devices.yml), ...) into the directory O(dest), for
        example an inventory's C(group_vars/all/) folder, instead of one file.
    type: bool
    default: false
  sections:
    description:
      - The sections to export. Leave out a section the role should not manage; the role leaves alone what its
        variables do not declare.
      - C(deployment_manifests) needs api-version C(2022-10-31-preview), which is used unless O(api_version) is
        pinned to C(2022-07-31).
    type: list
    elements: str
    choices: [organizations, device_templates, device_groups, enrollment_groups, deployment_manifests, devices]
    default: [organizations, device_templates, device_groups, enrollment_groups, deployment_manifests, devices]
  mode:
    description:
      - Permissions of the written files, like the C(mode) of M(ansible.builtin.copy). By default C(0644) for a new
        file, and an existing file keeps its own.
    type: raw
  concurrency:
    description:
      - How many property reads are in flight at once (1 to 64); the request rate stays bounded by O(rate_limit).
    type: int
    default: 8
  device_attestation:
    description:
      - Read and export each device's individual attestation (one C(GET) per device, since no listing shows it;
        for 10,000 devices with writable properties about twice the reads and time of an export without it).
      - V(false) leaves attestations out of the file, and the role then leaves them alone - for example when every
        device enrolls through an enrollment group.
    type: bool
    default: true
  rate_limit:
    description:
      - Requests per second the export may send (the service allows 20 per application, shared by every client).
      - V(0) turns the client-side limit off (for test emulators).
    type: float
    default: 20
notes:
  - Devices are exported with their template, display name, simulated and enabled state, organizations, writable
    property values, IoT Edge settings, assigned deployment manifest and individual attestation. The properties of
    IoT Edge modules are not exported - they are set through the deployment manifest (each module's
    C(properties.desired) in its C(modulesContent)), which is exported whole, and reading them would cost one more
    read per module of every IoT Edge device.
seealso:
  - module: fleetops.iotcentral.device_fleet
  - module: fleetops.iotcentral.device_group_info
  - module: fleetops.iotcentral.enrollment_group_info
  - module: fleetops.iotcentral.deployment_manifest_info
"""

EXAMPLES = r"""
- name: Write the application as the role's variables
  fleetops.iotcentral.app_export:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    dest: "{{ playbook_dir }}/contoso-store.yml"

- name: One file per section into an inventory's group_vars (connection from module_defaults)
  fleetops.iotcentral.app_export:
    dest: "{{ inventory_dir }}/group_vars/all"
    per_section: true
    sections: [device_groups, enrollment_groups, devices]

- name: Does the committed file still describe the application? (reads only, writes nothing)
  fleetops.iotcentral.app_export:
    dest: "{{ playbook_dir }}/contoso-store.yml"
  check_mode: true
  register: app_drift

- name: Apply the exported file (changes nothing on the application it came from)
  ansible.builtin.include_role:
    name: fleetops.iotcentral.app
  vars:
    iotcentral_app_device_groups: "{{ (lookup('ansible.builtin.file', 'contoso-store.yml') | from_yaml).iotcentral_app_device_groups }}"
"""

RETURN = r"""
files:
  description: The files written (or that would be written in check mode), whether or not their text changed.
  returned: always
  type: list
  elements: str
  sample: [/srv/iotcentral/contoso-store.yml]
counts:
  description: How many items each exported section has.
  returned: always
  type: dict
  sample: {"organizations": 3, "device_templates": 2, "device_groups": 2, "enrollment_groups": 1, "deployment_manifests": 1,
           "devices": 200}
vault_variables:
  description: The vault variables the files name, which hold secrets the export did not write.
  returned: always
  type: list
  elements: str
  sample: [vault_iotcentral_deployment_manifests_envsensor_myacr_password]
requests:
  description: How many requests the export sent.
  returned: always
  type: dict
  sample: {"reads": 204, "retries": 0, "throttled": 0}
"""

import os
import tempfile

from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.fleetops.iotcentral.plugins.module_utils.appexport import (
    SECTIONS,
    check_yaml,
    read_application,
    render,
    vault_variables,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule


def _read_text(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None


def _write(module, path, text):
    """Write ``text`` to ``path`` through a temporary file in the same directory, then move it into place."""
    directory = os.path.dirname(path) or "."
    try:
        handle, tmp = tempfile.mkstemp(dir=directory, prefix=".app_export.")
        with os.fdopen(handle, "wb") as stream:
            stream.write(to_bytes(text))
    except OSError as exc:
        raise ValueError("cannot write %s: %s" % (path, exc.strerror or exc.__class__.__name__)) from None
    module.atomic_move(tmp, path)


def export(wrapper):
    params = wrapper.params
    check_yaml()
    module = wrapper.module
    dest = params["dest"]
    if params["per_section"]:
        if os.path.exists(dest) and not os.path.isdir(dest):
            raise ValueError("dest %s is a file; with per_section: true it must be a directory" % dest)
    elif os.path.isdir(dest):
        raise ValueError("dest %s is a directory; give a file path, or set per_section: true" % dest)
    sections = [section for section in SECTIONS if section in params["sections"]]
    if params["rate_limit"] < 0:
        raise ValueError("rate_limit must be 0 (no client-side limit) or a positive number of requests per second")
    if not 1 <= params["concurrency"] <= 64:
        raise ValueError("concurrency must be between 1 and 64, got %s" % params["concurrency"])
    client = wrapper.client_for(rate_limit=params["rate_limit"], pool_size=params["concurrency"])
    start = dict(client.stats)
    application = read_application(client, sections, concurrency=params["concurrency"],
                                   device_attestation=params["device_attestation"])
    texts = render(application, per_section=params["per_section"])

    changed = False
    files = []
    diffs = []
    for name, text in texts.items():
        path = os.path.join(dest, name) if params["per_section"] else dest
        files.append(path)
        before = _read_text(path)
        if before != text:
            changed = True
            diffs.append({"before_header": path, "after_header": path, "before": before or "", "after": text})
            if not module.check_mode:
                if params["per_section"] and not os.path.isdir(dest):
                    try:
                        os.makedirs(dest)
                    except OSError as exc:
                        raise ValueError("cannot create directory %s: %s" % (dest, exc.strerror or exc.__class__.__name__)) from None
                _write(module, path, text)
        if not module.check_mode and os.path.exists(path):
            file_args = module.load_file_common_arguments(dict(path=path, mode=params["mode"]))
            changed = module.set_fs_attributes_if_different(file_args, changed)
    end = dict(client.stats)
    result = {
        "changed": changed,
        "files": files,
        "counts": dict((section, len(items)) for section, items in application.items()),
        "vault_variables": vault_variables(application),
        "requests": dict((key, end[key] - start[key]) for key in ("requests", "retries", "throttled")),
    }
    result["requests"]["reads"] = result["requests"].pop("requests")
    if wrapper.diff_mode:
        result["diff"] = diffs
    return result


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            per_section=dict(type="bool", default=False),
            sections=dict(type="list", elements="str", choices=list(SECTIONS), default=list(SECTIONS)),
            mode=dict(type="raw"),
            concurrency=dict(type="int", default=8),
            device_attestation=dict(type="bool", default=True),
            rate_limit=dict(type="float", default=20.0),
        ),
    )
    module.run(export, module)


if __name__ == "__main__":
    main()
