# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IoT Edge deployment manifests (api-version 2022-10-31-preview only) and their assignment to devices."""

from __future__ import annotations

import json
import re

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import converge_resource, validate_id
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import (
    device_api_version,
    device_path,
    ensure_device,
    get_device,
    is_edge_device,
    validate_device_id,
)

# The spec's DeploymentManifestId: ^[a-zA-Z0-9:;]*$, maxLength 255 (no '-' or '_').
MANIFEST_ID_PATTERN = re.compile(r"^[a-zA-Z0-9:;]{1,255}$")
FEATURE = "The deployment manifest API"
MERGE_PATCH = "application/merge-patch+json"
DIFF_KEYS = ("id", "displayName", "organizations", "data")


def validate_manifest_id(manifest_id, field="id"):
    return validate_id(manifest_id, MANIFEST_ID_PATTERN, "deployment manifest id",
                       "1 to 255 letters, digits, ':' and ';' (no '-', '_' or spaces)", field)


def manifest_path(manifest_id):
    return IoTCentralClient.path("deploymentManifests", manifest_id)


def _unwrap(document, what):
    """The manifest content from a parsed document.

    Accepts the content itself (``{"modulesContent": ...}``, as IoT Edge tooling writes it) or an IoT Central
    manifest object (``{"displayName": ..., "data": {"modulesContent": ...}}``, as the API returns it).
    """
    if not isinstance(document, dict):
        raise ValueError("%s must be a JSON/YAML object (the deployment manifest), not %s" % (what, type(document).__name__))
    if "modulesContent" not in document and isinstance(document.get("data"), dict):
        return document["data"]
    return document


def load_manifest_data(data=None, src=None):
    """The ``data`` of a manifest, from the ``data`` option or a JSON/YAML file. ValueError names what is wrong."""
    if (data is None) == (src is None):
        raise ValueError("give exactly one of data and src")
    if data is not None:
        return _unwrap(data, "data")
    try:
        with open(src, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        raise ValueError("cannot read src %s: %s" % (src, exc.strerror or type(exc).__name__)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("src %s is not UTF-8 text" % src) from None
    try:
        document = json.loads(text)
    except ValueError:
        # Imported only for a file that is not JSON: importing PyYAML is a sizeable part of a module process's
        # start-up, and the device module, which imports this file for edge devices, never reads a manifest file.
        from ansible.module_utils.common.yaml import HAS_YAML, yaml_load  # pylint: disable=import-outside-toplevel

        if not HAS_YAML:
            raise ValueError("src %s is not JSON, and PyYAML is not installed to read it as YAML" % src) from None
        try:
            document = yaml_load(text)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            mark = getattr(exc, "problem_mark", None)
            where = " (line %d)" % (mark.line + 1) if mark is not None else ""
            raise ValueError("src %s is neither valid JSON nor valid YAML%s" % (src, where)) from None
    return _unwrap(document, "src %s" % src)


def strip_nulls(value):
    """``value`` without null members: under JSON merge patch a null member means "absent"."""
    if isinstance(value, dict):
        return dict((key, strip_nulls(item)) for key, item in value.items() if item is not None)
    if isinstance(value, list):
        return [strip_nulls(item) for item in value]
    return value


def merge_patch_for(current, desired, keep=frozenset()):
    """A JSON merge patch (RFC 7396) turning ``current`` into ``desired``.

    It carries all of ``desired`` plus a null for every member ``current`` has and ``desired`` lacks (except the
    member names in ``keep``, which the service owns), so it gives ``desired`` whether the service merges the
    patch into the resource or replaces the field with it.
    """
    if not isinstance(current, dict) or not isinstance(desired, dict):
        return desired
    patch = {}
    for key, value in desired.items():
        patch[key] = merge_patch_for(current.get(key), value, keep) if isinstance(value, dict) else value
    for key in current:
        if key not in desired and key not in keep:
            patch[key] = None
    return patch


def same_data(first, second):
    return strip_nulls(first or {}) == strip_nulls(second or {})


def compare_manifest(desired, current):
    """Fields of ``desired`` (None = not asked for) that differ from ``current``; ``data`` as a merge patch."""
    delta = {}
    if desired.get("displayName") is not None and desired["displayName"] != current.get("displayName"):
        delta["displayName"] = desired["displayName"]
    if desired.get("organizations") is not None and sorted(desired["organizations"]) != sorted(current.get("organizations") or []):
        delta["organizations"] = desired["organizations"]
    if desired.get("data") is not None and not same_data(desired["data"], current.get("data")):
        delta["data"] = merge_patch_for(current.get("data") or {}, strip_nulls(desired["data"]))
    return delta


def get_manifest(client, manifest_id, api_version=None):
    return client.get(manifest_path(manifest_id), api_version=api_version or client.require_preview(FEATURE),
                      allow_404=True)


def ensure_manifest(client, spec, check_mode=False, data=None):
    """Converge one deployment manifest. Returns ``(action, manifest, diff)``.

    ``data`` is the already loaded content (see :func:`load_manifest_data`); None means "not asked for".
    """
    manifest_id = validate_manifest_id(spec["id"])
    if spec.get("organizations") is not None and len(spec["organizations"]) != 1:
        raise ValueError("organizations must name exactly one organization (the API allows one per manifest); "
                         "leave it out to keep the manifest's current organization")
    version = client.require_preview(FEATURE)
    path = manifest_path(manifest_id)
    desired = {"displayName": spec.get("display_name"), "organizations": spec.get("organizations"), "data": data}

    def create_body():
        if data is None:
            raise ValueError("deployment manifest %s does not exist; data or src is needed to create it" % manifest_id)
        body = {"displayName": spec.get("display_name") or manifest_id, "data": strip_nulls(data)}
        if spec.get("organizations"):
            body["organizations"] = spec["organizations"]
        return body

    def planned_view(after):
        # The delta carries data as a merge patch (with nulls); check mode shows the content it results in.
        if data is not None and "data" in after:
            after["data"] = strip_nulls(data)
        return after

    return converge_resource(client, path, manifest_id, spec.get("state") or "present",
                             get_manifest(client, manifest_id, api_version=version), desired, compare_manifest,
                             create_body, DIFF_KEYS, "Deployment manifest %s" % manifest_id, check_mode=check_mode,
                             api_version=version, content_type=MERGE_PATCH, recompare=_recompare(desired),
                             planned_view=planned_view, put_defaults={"displayName": manifest_id, "organizations": None})


def _recompare(desired):
    # After a 412 the delta is rebuilt from what the user asked for, against the fresh manifest.
    return lambda _delta, fresh: compare_manifest(desired, fresh)


def list_manifests(client):
    version = client.require_preview(FEATURE)
    params = client.list_params(page_size=100, api_version=version)
    return list(client.paged("/deploymentManifests", params=params, api_version=version))


def manifest_assigned(device, manifest):
    """True when ``device`` already runs ``manifest`` (same id, and the same content when the device shows it)."""
    assigned = (device or {}).get("deploymentManifest") or {}
    if not assigned:
        return False
    if assigned.get("id") is not None and assigned["id"] != manifest.get("id"):
        return False
    if "data" in assigned:
        return same_data(assigned.get("data"), manifest.get("data"))
    if assigned.get("id") is None:
        # The service may show an assigned manifest by its name only.
        return assigned.get("displayName") is not None and assigned.get("displayName") == manifest.get("displayName")
    return assigned.get("id") == manifest.get("id")


def with_manifest_id(device, manifest_id):
    """``device`` with the id of the manifest it runs kept, when the service shows that manifest without its id."""
    assigned = (device or {}).get("deploymentManifest")
    if isinstance(assigned, dict) and assigned.get("id") is None:
        return dict(device, deploymentManifest=dict(assigned, id=manifest_id))
    return device


def apply_body(manifest):
    """Body of ``applyDeploymentManifest``: the stored manifest as fetched, minus what the request may not carry."""
    body = {"data": manifest.get("data") or {}}
    if manifest.get("displayName"):
        body["displayName"] = manifest["displayName"]
    return body


def _assigned_id(device):
    return ((device or {}).get("deploymentManifest") or {}).get("id")


def ensure_edge_device(client, spec, check_mode=False):
    """:func:`devices.ensure_device` plus the assignment of ``spec["deployment_manifest"]``.

    Everything that can fail without writing (pinned stable version, unknown manifest, a device that is
    known not to be an IoT Edge device) is checked before the device is created or changed. The manifest
    counts as assigned when the device shows the same manifest id and, when it shows the content, the
    same content as the stored manifest has now: editing a stored manifest makes the next run re-apply it.
    """
    device_id = validate_device_id(spec["id"])
    version = device_api_version(client, spec)
    manifest_id = spec.get("deployment_manifest")
    if manifest_id is None or (spec.get("state") or "present") == "absent":
        return ensure_device(client, spec, check_mode)
    validate_manifest_id(manifest_id, field="deployment_manifest")
    manifest = get_manifest(client, manifest_id, api_version=version)
    if manifest is None:
        raise ValueError("deployment manifest %s does not exist; create it first with fleetops.iotcentral.deployment_manifest"
                         % manifest_id)
    manifest.setdefault("id", manifest_id)
    current = get_device(client, device_id, api_version=version)
    edge = spec.get("edge")
    if edge is None and current is not None:
        edge = is_edge_device(current)
    if edge is False:
        raise ValueError("device %s is not an IoT Edge device, so it cannot run deployment manifest %s; set edge: true"
                         % (device_id, manifest_id))
    if edge is None:
        # A new device is only an IoT Edge device if asked to be: creating it and then failing to apply the
        # manifest would leave a half-configured device behind.
        raise ValueError("device %s does not exist yet: set edge: true to create it as an IoT Edge device that can "
                         "run deployment manifest %s" % (device_id, manifest_id))

    action, device, diff = ensure_device(client, spec, check_mode, current=current, current_known=True)
    before_id = _assigned_id(current)
    if not manifest_assigned(device, manifest):
        if check_mode:
            device = dict(device, deploymentManifest=manifest)
        else:
            client.post(device_path(device_id, "applyDeploymentManifest"), apply_body(manifest), api_version=version)
            device = get_device(client, device_id, api_version=version) or device
        if action == "unchanged":
            action = "updated"
    device = with_manifest_id(device, manifest_id)
    if current is not None:
        diff["before"]["deploymentManifest"] = before_id
    diff["after"]["deploymentManifest"] = _assigned_id(device) or manifest_id
    return action, device, diff


SECRET_MARK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def masked(value):
    """A copy of manifest content with every ``*password*`` member masked (container registry credentials)."""
    if isinstance(value, dict):
        return dict((key, SECRET_MARK if "password" in str(key).lower() and value[key] is not None else masked(value[key]))
                    for key in value)
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value
