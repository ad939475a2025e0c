# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An application as the variables of the role fleetops.iotcentral.app: read it, render it as YAML, write it.

The file is meant to be committed and reviewed, so its text is stable: sections in the role's dependency order,
items sorted by id, keys in a fixed order (nested manifest content sorted), one line per device. It never holds a
key, token, password or private key: a secret the role needs becomes a ``{{ vault_... }}`` reference, and a secret
the role can do without (enrollment group keys, which the service keeps) is only named in a comment.
"""

from __future__ import annotations

import re

from ansible.module_utils.common.yaml import HAS_YAML, yaml_dump

from ansible_collections.fleetops.iotcentral.plugins.module_utils.attestation import (
    ATTESTATION_OPTIONS as DEVICE_ATTESTATION_OPTIONS,
    ENTRIES as DEVICE_CERTIFICATE_ENTRIES,
    attestation_path,
    thumbprints_of,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.capabilities import read_template, template_model
from ansible_collections.fleetops.iotcentral.plugins.module_utils.certificates import ENTRIES, get_certificate_entry, thumbprint_of
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import MAX_PAGE_SIZE
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devicegroups import list_device_groups
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import is_edge_device, list_devices
from ansible_collections.fleetops.iotcentral.plugins.module_utils.enrollmentgroups import (
    ATTESTATION_OPTIONS,
    attestation_type,
    list_enrollment_groups,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.manifests import list_manifests, manifest_assigned, strip_nulls
from ansible_collections.fleetops.iotcentral.plugins.module_utils.organizations import list_organizations
from ansible_collections.fleetops.iotcentral.plugins.module_utils.properties import is_component, properties_path, shown_value
from ansible_collections.fleetops.iotcentral.plugins.module_utils.templates import SERVER_FIELDS, list_templates

VARIABLE_PREFIX = "iotcentral_app_"
DEFAULT_CONCURRENCY = 8
# The role's dependency order; the file follows it so that reading it top-down reads like applying it.
SECTIONS = ("organizations", "device_templates", "device_groups", "enrollment_groups", "deployment_manifests", "devices")
DEVICE_GROUP_FIELDS = (("displayName", "display_name"), ("description", "description"), ("filter", "filter"),
                       ("organizations", "organizations"))
ENROLLMENT_GROUP_FIELDS = (("displayName", "display_name"), ("enabled", "enabled"), ("type", "type"))
DEVICE_FIELDS = (("displayName", "display_name"), ("template", "template"), ("simulated", "simulated"),
                 ("enabled", "enabled"), ("organizations", "organizations"))
# Members whose string value is a credential: passwords, secrets, tokens, keys (primaryKey, sharedAccessKey),
# connection strings.
SECRET_MEMBER = re.compile(r"password|secret|token|key$|connectionstring", re.IGNORECASE)
HEADER = """\
# The IoT Central application as the variables of the role fleetops.iotcentral.app
# (written by fleetops.iotcentral.app_export; review changes with the role in check mode before applying).
"""


class Item:
    """One exported resource: its role variables (in output order) and the comment lines written above it."""

    def __init__(self, values, comments=None, flow=False):
        self.values = values
        self.comments = list(comments or [])
        self.flow = flow


def vault_variable(section, resource_id, *path):
    """``vault_iotcentral_<section>_<id>_<path>``: a valid variable name, lower case, stable for one resource."""
    raw = "_".join(("vault_iotcentral", section, resource_id) + tuple(str(part) for part in path))
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]", "_", raw.lower())).strip("_")


def _copy_fields(resource, fields):
    values = {}
    for api_name, option in fields:
        value = resource.get(api_name)
        if value is None or (option == "organizations" and not value):
            continue
        values[option] = sorted(value) if option == "organizations" else value
    return values


def _sorted_content(value):
    """Manifest content with keys sorted at every level, so the file does not depend on the service's order."""
    if isinstance(value, dict):
        return dict((key, _sorted_content(value[key])) for key in sorted(value))
    if isinstance(value, list):
        return [_sorted_content(item) for item in value]
    return value


def _vaulted(value, name_of, path=()):
    """``value`` with every secret-looking string member replaced by a vault reference; the names it used."""
    names = []
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if isinstance(item, str) and SECRET_MEMBER.search(str(key)):
                name = name_of(path + (key,))
                names.append(name)
                result[key] = "{{ %s }}" % name
            else:
                result[key], inner = _vaulted(item, name_of, path + (key,))
                names.extend(inner)
        return result, names
    if isinstance(value, list):
        result = []
        for index, item in enumerate(value):
            converted, inner = _vaulted(item, name_of, path + (index,))
            result.append(converted)
            names.extend(inner)
        return result, names
    return value, names


# ----------------------------------------------------------------------------------------------- reading
def export_organizations(client):
    """Organizations parents first (by depth, then id), so that applying the list in order creates each parent
    before its children."""
    organizations = list_organizations(client)
    parents = dict((organization["id"], organization.get("parent")) for organization in organizations)

    def depth(organization_id, seen=()):
        parent = parents.get(organization_id)
        if parent is None or parent not in parents or parent in seen:
            return 0
        return 1 + depth(parent, seen + (organization_id,))

    items = []
    for organization in sorted(organizations, key=lambda organization: (depth(organization["id"]), organization["id"])):
        items.append(Item(dict({"id": organization["id"]},
                               **_copy_fields(organization, (("displayName", "display_name"), ("parent", "parent"))))))
    return items


def export_device_templates(client):
    """Templates with their whole document inline (keys sorted; lists such as ``contents`` keep their order)."""
    items = []
    for template in sorted(list_templates(client), key=lambda template: template["@id"]):
        content = dict((key, value) for key, value in template.items() if key not in SERVER_FIELDS)
        items.append(Item({"id": template["@id"], "content": _sorted_content(content)}))
    return items


def export_device_groups(client):
    items = []
    for group in sorted(list_device_groups(client), key=lambda group: group["id"]):
        items.append(Item(dict({"id": group["id"]}, **_copy_fields(group, DEVICE_GROUP_FIELDS))))
    return items


def _certificate_entries(client, group_id):
    """Public parts of an X.509 group's certificates: thumbprint and whether the service verified it."""
    certificates = {}
    for entry in ENTRIES:
        data = get_certificate_entry(client, group_id, entry)
        if data is not None:
            certificates[entry] = {"sha1_thumbprint": thumbprint_of(data), "verified": bool(data.get("verified"))}
    return certificates


def export_enrollment_groups(client):
    items = []
    for group in sorted(list_enrollment_groups(client), key=lambda group: group["id"]):
        values = dict({"id": group["id"]}, **_copy_fields(group, ENROLLMENT_GROUP_FIELDS))
        kind = attestation_type(group)
        values["attestation"] = ATTESTATION_OPTIONS.get(kind, kind)
        comments = []
        if values["attestation"] == "symmetric_key":
            names = [vault_variable("enrollment_groups", group["id"], key) for key in ("primary_key", "secondary_key")]
            comments.append("Keys stay in the service; to set them, add primary_key: \"{{ %s }}\" and secondary_key: "
                            "\"{{ %s }}\" from a vault." % tuple(names))
        elif values["attestation"] == "x509":
            certificates = _certificate_entries(client, group["id"])
            if certificates:
                values["certificates"] = certificates
                comments.append("The service never returns a certificate: to upload one to another application, add "
                                "certificate_path (the PEM with that thumbprint) to its entry.")
        items.append(Item(values, comments))
    return items


def export_deployment_manifests(client):
    items = []
    for manifest in sorted(list_manifests(client), key=lambda manifest: manifest["id"]):
        values = {"id": manifest["id"]}
        values.update(_copy_fields(manifest, (("displayName", "display_name"), ("organizations", "organizations"))))

        def name_of(path, manifest_id=manifest["id"]):
            # The member and its parent (registryCredentials.<name>.password -> <name>_password): short, and unique
            # for what manifests hold.
            return vault_variable("deployment_manifests", manifest_id, *[part for part in path if not isinstance(part, int)][-2:])
        data, names = _vaulted(_sorted_content(strip_nulls(manifest.get("data") or {})), name_of)
        values["data"] = data
        comments = ["Secrets from a vault: %s" % ", ".join(sorted(set(names)))] if names else []
        items.append(Item(values, comments))
    return items


def writable_names(template):
    """What a template lets a device be told: ``{property: None, component: {property, ...}}`` (root and components)."""
    if not template:
        return {}
    model = template_model(template)
    names = dict((name, None) for name in model.writable())
    for component, inner in model.components().items():
        if inner.writable():
            names[component] = set(inner.writable())
    return names


def _shown_values(body, names):
    values = {}
    for name in sorted(names):
        known, value = shown_value(body, name)
        if known and value is not None:
            values[name] = value
    return values


def property_values(body, names):
    """The writable property values a properties body shows (desired when pending, else reported), by name."""
    values = _shown_values(body, [name for name, inner in names.items() if inner is None])
    for component in sorted(name for name, inner in names.items() if inner is not None):
        inner_body = (body or {}).get(component)
        if is_component(inner_body):
            inner_values = _shown_values(inner_body, names[component])
            if inner_values:
                values[component] = inner_values
    return values


def attestation_item(device_id, attestation):
    """(the ``attestation`` of a device item, comments) from the device's individual attestation: its type, and for
    X.509 the thumbprints (the service never returns a certificate). Keys are never written: they are named as
    vault variables in a comment."""
    kind = attestation.get("type")
    values = {"type": DEVICE_ATTESTATION_OPTIONS.get(kind, kind)}
    if kind == "x509":
        for entry, thumbprint in sorted(thumbprints_of(attestation).items()):
            values["%s_sha1_thumbprint" % entry] = thumbprint
        entries = " and ".join("%s_certificate_path" % entry for entry in DEVICE_CERTIFICATE_ENTRIES
                               if "%s_sha1_thumbprint" % entry in values)
        return values, ["The service never returns a certificate: to upload it to another application, add %s (the PEM "
                        "with that thumbprint) to the attestation." % (entries or "primary_certificate_path")]
    if kind == "symmetricKey":
        names = tuple(vault_variable("devices", device_id, key) for key in ("primary_key", "secondary_key"))
        return values, ["Keys stay in the service; to set them, add primary_key: \"{{ %s }}\" and secondary_key: "
                        "\"{{ %s }}\" from a vault to the attestation." % names]
    if kind == "tpm":
        name = vault_variable("devices", device_id, "endorsement_key")
        return values, ["To create this attestation in another application, add endorsement_key: \"{{ %s }}\" from a "
                        "vault to the attestation." % name]
    return values, []


def _run_pool(function, items, concurrency):
    if concurrency <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor  # pylint: disable=import-outside-toplevel

    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return list(pool.map(function, items))


def export_devices(client, concurrency=DEFAULT_CONCURRENCY, attestation=True):
    """Devices from the listing (pages of 100) with their IoT Edge settings and, for those whose template has
    writable properties, their values: one read per such device (no listing shows properties); with
    ``attestation``, one more read per device for its individual attestation (no listing shows it either). The
    reads run ``concurrency`` at a time under the shared rate limiter."""
    devices = sorted(list_devices(client, page_size=MAX_PAGE_SIZE, full=True), key=lambda device: device["id"])
    # The service shows a device's manifest by its content, not its id: one listing of the stored manifests, when a
    # device runs one, tells which it is.
    stored = sorted(list_manifests(client), key=lambda manifest: manifest["id"]) if any(
        device.get("deploymentManifest") for device in devices) else []
    writable = {}
    for template_id in sorted(set(device["template"] for device in devices if device.get("template"))):
        writable[template_id] = writable_names(read_template(client, template_id))
    reads = [("properties", device) for device in devices if writable.get(device.get("template"))]
    if attestation:
        reads += [("attestation", device) for device in devices]
    paths = {"properties": properties_path, "attestation": attestation_path}
    bodies = _run_pool(lambda read: client.get(paths[read[0]](read[1]["id"]), allow_404=True), reads, concurrency)
    found = dict(((kind, device["id"]), body) for (kind, device), body in zip(reads, bodies))
    items = []
    for device in devices:
        item = dict({"id": device["id"]}, **_copy_fields(device, DEVICE_FIELDS))
        comments = []
        if is_edge_device(device):
            item["edge"] = True
        if device.get("deploymentManifest"):
            manifest_id = next((manifest["id"] for manifest in stored if manifest_assigned(device, manifest)), None)
            if manifest_id:
                item["deployment_manifest"] = manifest_id
            else:
                comments.append("Runs a deployment manifest (%s) that no stored manifest holds now, so none is named."
                                % " ".join(str(device["deploymentManifest"].get("displayName") or "no name").split())[:80])
        body = found.get(("properties", device["id"]))
        values = property_values(body, writable[device["template"]]) if body is not None else {}
        if values:
            item["properties"] = values
        if found.get(("attestation", device["id"])):
            item["attestation"], notes = attestation_item(device["id"], found[("attestation", device["id"])])
            comments.extend(notes)
        items.append(Item(item, comments, flow=True))
    return items


EXPORTERS = {
    "organizations": export_organizations,
    "device_templates": export_device_templates,
    "device_groups": export_device_groups,
    "enrollment_groups": export_enrollment_groups,
    "deployment_manifests": export_deployment_manifests,
}


def read_application(client, sections, concurrency=DEFAULT_CONCURRENCY, device_attestation=True):
    """{section: [Item, ...]} for the asked sections, in the role's order."""
    application = {}
    for section in SECTIONS:
        if section in sections:
            application[section] = (export_devices(client, concurrency, device_attestation) if section == "devices"
                                    else EXPORTERS[section](client))
    return application


# --------------------------------------------------------------------------------------------- rendering
def _dump(value, flow):
    return yaml_dump(value, default_flow_style=flow, sort_keys=False, allow_unicode=True, width=1000000)


def render_section(section, items):
    """``iotcentral_app_<section>:`` and its items, each after its comments."""
    lines = ["%s%s:%s" % (VARIABLE_PREFIX, section, "" if items else " []")]
    for item in items:
        lines.extend("  # %s" % comment for comment in item.comments)
        if item.flow:
            lines.append("  - " + _dump(item.values, True).strip())
        else:
            body = _dump([item.values], False).rstrip("\n").split("\n")
            lines.extend("  " + line for line in body)
    return "\n".join(lines) + "\n"


def vault_variables(application):
    """Every vault variable named in the file, sorted."""
    names = set()
    for items in application.values():
        for item in items:
            for comment in item.comments:
                names.update(re.findall(r"\bvault_iotcentral_[a-z0-9_]+", comment))
    return sorted(names)


def render(application, per_section=False):
    """{file name: text}: ``app.yml`` with every section, or ``<section>.yml`` per section."""
    if per_section:
        return dict(("%s.yml" % section, "---\n" + HEADER + render_section(section, items))
                    for section, items in application.items())
    return {"app.yml": "---\n" + HEADER + "\n".join(render_section(section, items) for section, items in application.items())}


def check_yaml():
    if not HAS_YAML:
        raise ValueError("PyYAML is needed on the host that runs app_export to write YAML")
