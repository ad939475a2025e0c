# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Devices: desired-state logic shared by the device, device_info, device_credentials_info and device_fleet modules."""

from __future__ import annotations

import re

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import PREVIEW_API_VERSION, IoTCentralClient
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import converge_resource, differences, validate_id

# The how-to: "A device ID can contain letters, numbers, and the - character." 128 is IoT Hub's device id limit.
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,128}$")

# Module option -> API field, for the fields a user can set.
DEVICE_FIELDS = (
    ("display_name", "displayName"),
    ("template", "template"),
    ("simulated", "simulated"),
    ("enabled", "enabled"),
    ("organizations", "organizations"),
)
DIFF_KEYS = ("id", "displayName", "template", "simulated", "enabled", "organizations", "provisioned", "type")
# The device's "type" list (api-version 2022-10-31-preview) marks IoT Edge devices.
EDGE_TYPE = "iotEdge"
EDGE_FEATURE = "Managing IoT Edge devices (edge, deployment_manifest)"

# "waiting_for_approval" is the UI's word for a device that is not approved yet; the API has no field for
# approval, so no device gets it from the API (see device_status). It stays a known word for inventories' groups.
DEVICE_STATUSES = ("registered", "provisioned", "blocked")


def validate_device_id(device_id, field="id"):
    return validate_id(device_id, DEVICE_ID_PATTERN, "device id",
                       "1 to 128 letters, digits and '-' (no spaces, dots or underscores)", field)


def device_path(device_id, *rest):
    return IoTCentralClient.path("devices", device_id, *rest)


def device_status(device):
    """The status of a device from ``enabled`` and ``provisioned``: every disabled device is ``blocked``.

    The API's fields cannot tell a device blocked before it provisioned from one waiting for approval (both are
    enabled=false, provisioned=false). Calling every disabled device blocked is what the az CLI does, and it never
    surprises: disabling a device with the device module always shows ``blocked``.
    """
    if not device.get("enabled"):
        return "blocked"
    return "provisioned" if device.get("provisioned") else "registered"


def with_status(device):
    """A device as results show it: plus its computed status, and with an assigned deployment manifest reduced
    to its id and name (its content can carry container registry passwords)."""
    if device is None:
        return None
    result = dict(device)
    result["status"] = device_status(device)
    manifest = result.get("deploymentManifest")
    if isinstance(manifest, dict):
        result["deploymentManifest"] = dict((key, manifest[key]) for key in ("id", "displayName") if key in manifest)
    return result


def check_organizations(organizations, field="organizations"):
    """Refuse more than one organization before any write: a device (or device group) belongs to at most one."""
    if organizations is not None and len(organizations) > 1:
        raise ValueError("%s: IoT Central allows at most one organization, got %d (%s); give one id"
                         % (field, len(organizations), ", ".join(str(o)[:48] for o in organizations[:5])))
    return organizations


class TemplateCheck:
    """Refuses a device template id the application does not have, before any write.

    One GET per distinct template id, remembered (so a fleet of 10,000 thermostats costs one read), and only for
    templates that would be written: an unchanged device costs nothing. A ``reader`` shared with other checks
    (capabilities.TemplateReader) reads each template once for all of them.
    """

    def __init__(self, client, api_version=None, reader=None):
        if reader is None:
            # Imported here: a device task that writes no template never needs it (start-up cost, see list_devices).
            from ansible_collections.fleetops.iotcentral.plugins.module_utils.capabilities import (  # pylint: disable=import-outside-toplevel
                TemplateReader,
            )

            reader = TemplateReader(client, api_version=api_version)
        self.reader = reader

    def exists(self, template_id):
        return self.reader.exists(template_id)

    def require(self, template_id, field="template"):
        if template_id is not None and not self.exists(template_id):
            raise ValueError("%s: device template %r does not exist in this application; publish it first (see "
                             "fleetops.iotcentral.device_template) or fix the id" % (field, template_id[:200]))


def planned_device(device_id, body):
    """A device as the service would create it from ``body``: what check mode shows for a create."""
    planned = {"id": device_id, "displayName": device_id, "enabled": True, "simulated": False, "provisioned": False}
    planned.update(body)
    if not planned.get("organizations"):
        planned.pop("organizations", None)
    return planned


def desired_fields(spec):
    """API body fields from module-style options; options left unset (None) are not asked for."""
    check_organizations(spec.get("organizations"))
    body = {}
    for option, field in DEVICE_FIELDS:
        value = spec.get(option)
        if value is not None:
            body[field] = value
    if spec.get("edge") is not None:
        body["type"] = [EDGE_TYPE] if spec["edge"] else []
    return body


def compare(desired, current):
    return differences(desired, current, list_as_set=("organizations", "type"))


def device_api_version(client, spec):
    """The preview version when the spec uses IoT Edge settings (only that version has them), else the client's."""
    if spec.get("edge") is not None or spec.get("deployment_manifest") is not None:
        return client.require_preview(EDGE_FEATURE)
    return None


def is_edge_device(device):
    return EDGE_TYPE in ((device or {}).get("type") or [])


def get_device(client, device_id, api_version=None):
    return client.get(device_path(device_id), api_version=api_version, allow_404=True)


def put_defaults(device_id):
    """What a device PUT leaves in the fields its body does not give (a PUT replaces the whole device)."""
    return {"displayName": device_id, "enabled": True, "simulated": False, "template": None, "organizations": None}


def ensure_device(client, spec, check_mode=False, current=None, current_known=False, check_template=True,
                  confirm_create=True):
    """Converge one device. ``spec`` uses module option names plus ``id`` and ``state``.

    Returns ``(action, device, diff)`` with action one of created/updated/deleted/unchanged.
    ``current``/``current_known`` let a bulk caller pass a device it already listed (saves a GET), and
    ``check_template=False`` one that already checked the templates it writes.
    A created device is read back and re-converged if a concurrent creator replaced it, unless
    ``confirm_create`` is false (``device_fleet`` confirms all its creates at once).
    """
    device_id = validate_device_id(spec["id"])
    version = device_api_version(client, spec)
    state = spec.get("state") or "present"
    desired = desired_fields(spec) if state == "present" else {}
    if not current_known:
        current = get_device(client, device_id, api_version=version)
    template = desired.get("template")
    if check_template and template is not None and (current is None or current.get("template") != template):
        TemplateCheck(client, api_version=version).require(template)
    return converge_resource(client, device_path(device_id), device_id, state, current,
                             desired, compare, lambda: desired, DIFF_KEYS, "Device %s" % device_id,
                             check_mode=check_mode, api_version=version,
                             planned_create=lambda body: planned_device(device_id, body),
                             put_defaults=put_defaults(device_id) if confirm_create else None)


def list_devices(client, filter=None, order_by=None, limit=None, page_size=None, concurrency=1, full=False,  # pylint: disable=redefined-builtin
                 on_span=None, shape=None):
    """Devices matching a server-side filter, each with its computed status.

    ``full`` keeps the content of an assigned deployment manifest (which results never show, see
    :func:`with_status`), for callers that compare it with the stored manifests and never return it.
    ``shape(device)`` replaces the whole shaping: the result holds what it makes of each listed device (for a caller
    that keeps only some fields, so each device is copied once).

    With ``concurrency`` above 1, a whole list in the default order (by id) is read as several id ranges at once
    where the api-version has list parameters (module_utils/listing.py); otherwise one nextLink chain.
    ``on_span(span, devices)`` is then called with each part of the id space as soon as it is listed (see
    :func:`list_partitioned`; ``devices`` shaped like the result). Those calls are only a preview: when the service
    refuses the ranges the result comes from the single chain, so a caller checks them against the result. When the
    ranges were read, the result holds the very objects handed to ``on_span`` (each device is shaped once), so
    ``is`` tells a preview that held from one that did not without comparing values.
    """
    if limit is not None and page_size is None:
        page_size = min(limit, 100)
    if shape is None:
        shape = (lambda device: dict(device, status=device_status(device))) if full else with_status
    version = client.list_api_version()
    if concurrency > 1 and limit is None and not order_by and version == PREVIEW_API_VERSION:
        # Imported here, not at the top: every device module process would otherwise compile it (from the module's
        # zip, so on every run) although only a partitioned listing uses it.
        from ansible_collections.fleetops.iotcentral.plugins.module_utils.listing import (  # pylint: disable=import-outside-toplevel
            RangeFilterRefused,
            list_partitioned,
        )

        # id() of a listed device -> (device, shaped): the device is kept alive with it, so an id is never reused.
        previewed = {}
        on_shaped = None
        if on_span is not None:
            def shaped(span, devices):
                items = [shape(device) for device in devices]
                for device, item in zip(devices, items):
                    previewed[id(device)] = (device, item)
                on_span(span, items)
            on_shaped = shaped
        try:
            listed = list_partitioned(client, filter, page_size=page_size, concurrency=concurrency, api_version=version,
                                      on_span=on_shaped)
        except RangeFilterRefused:
            pass  # the single chain below is always exact
        else:
            result = []
            for device in listed:
                entry = previewed.get(id(device))
                result.append(entry[1] if entry is not None and entry[0] is device else shape(device))
            return result
    params = client.list_params(filter=filter, order_by=order_by, page_size=page_size, api_version=version)
    return [shape(device) for device in client.paged("/devices", params=params, api_version=version, limit=limit)]
