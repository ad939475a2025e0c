# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Device templates: desired-state logic for the device_template and device_template_info modules.

A template is compared semantically: key order, the order of capabilities, and what the service adds
(``etag``, ``@context``, ``@id`` of parts the user did not name, the value-type markers such as ``NumberValue``
it adds to a property's ``@type``) never make a change. A change that removes, renames or retypes a capability
is a breaking change (Microsoft's "Edit a device template" guide); it is refused while devices use the template
unless the user allows it.
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import converge_resource, listed, validate_id
from ansible_collections.fleetops.iotcentral.plugins.module_utils.manifests import merge_patch_for

# DTMI (DTDL v2): dtmi:<segment>(:<segment>)*[;<version>]; IoT Central also names templates without a version.
_SEGMENT = r"[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?"
TEMPLATE_ID_PATTERN = re.compile(r"^(?=.{1,2048}$)dtmi:%s(?::%s)*(?:;[1-9][0-9]{0,8})?$" % (_SEGMENT, _SEGMENT))
TEMPLATE_ID_RULE = "a DTMI such as dtmi:contoso:Thermostat;1 (segments of letters, digits and '_', an optional ;version)"
DEFAULT_TYPE = ["ModelDefinition", "DeviceModel"]
# Fields the service adds or owns: never a change when the user's document does not have them.
SERVER_FIELDS = frozenset(("etag", "@context", "@id"))
# Top-level fields of a template the module manages (what it compares and sends).
TEMPLATE_FIELDS = ("@type", "displayName", "description", "capabilityModel")
DIFF_KEYS = ("@id", "displayName", "description", "@type", "capabilityModel")
# Lists of named DTDL elements: their order carries no meaning.
NAMED_LISTS = frozenset(("contents", "fields", "enumValues", "extends"))
CAPABILITY_KINDS = ("Telemetry", "Property", "Command", "Component", "Relationship")


def validate_template_id(template_id, field="id"):
    return validate_id(template_id, TEMPLATE_ID_PATTERN, "device template id", TEMPLATE_ID_RULE, field)


def template_path(template_id):
    return IoTCentralClient.path("deviceTemplates", template_id)


def get_template(client, template_id):
    return client.get(template_path(template_id), allow_404=True)


# ----------------------------------------------------------------------------------------- the document
def load_content(content):
    """The DTDL document of ``content``: a dict as is, a JSON text, or the path of a JSON file."""
    if content is None or isinstance(content, dict):
        return content
    if not isinstance(content, str):
        raise ValueError("content must be a JSON object (dict) or the path of a JSON file, got %s" % type(content).__name__)
    text = content
    source = "content"
    if not content.lstrip().startswith("{"):
        path = os.path.expanduser(content)
        if not os.path.isfile(path):
            raise ValueError("content: no file %s (give the path of a DTDL JSON file, or the document as a dict)"
                             % content[:200])
        source = "content file %s" % content[:200]
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError("%s cannot be read: %s" % (source, exc))
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValueError("%s is not JSON: %s" % (source, exc))
    if not isinstance(document, dict):
        raise ValueError("%s must hold one JSON object (a device template or a DTDL interface)" % source)
    return document


def _types(value):
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list) else []


def desired_template(template_id, content, display_name=None):
    """The template fields the user asks for, from a device template document or a bare DTDL interface.

    A document with ``capabilityModel`` is a device template (as IoT Central exports it); a document whose
    ``@type`` is ``Interface`` is the device model itself and becomes the template's capability model.
    """
    desired = {}
    if content is not None:
        document = content
        if "capabilityModel" not in document:
            if "Interface" not in _types(document.get("@type")):
                raise ValueError("content is neither a device template (no capabilityModel) nor a DTDL interface "
                                 "(@type Interface): a device template needs a capability model")
            if document.get("@id") == template_id:
                raise ValueError("content: the interface @id %s must differ from the template id; choose another id "
                                 "for the template (for example %s_template)" % (template_id, template_id.split(";")[0]))
            interface = dict(document)
            document = {"@type": list(DEFAULT_TYPE), "capabilityModel": interface}
            if isinstance(interface.get("displayName"), str):
                document["displayName"] = interface["displayName"]
        elif document.get("@id") not in (None, template_id):
            raise ValueError("content: the template's @id %s differs from id %s; they must be the same"
                             % (str(document["@id"])[:200], template_id))
        if not isinstance(document.get("capabilityModel"), dict):
            raise ValueError("content: capabilityModel must be a JSON object (the template's DTDL interface)")
        check_capabilities(document["capabilityModel"])
        for key in TEMPLATE_FIELDS:
            if document.get(key) is not None:
                desired[key] = document[key]
        desired.setdefault("@type", list(DEFAULT_TYPE))
    if display_name is not None:
        desired["displayName"] = display_name
    return desired


def check_capabilities(interface, where="capabilityModel"):
    """Every capability needs a name and a kind: refused here, naming it, rather than by the service."""
    contents = interface.get("contents") or []
    if not isinstance(contents, list):
        raise ValueError("content: %s.contents must be a list of capabilities" % where)
    seen = set()
    for index, capability in enumerate(contents):
        here = "%s.contents[%d]" % (where, index)
        if not isinstance(capability, dict) or not isinstance(capability.get("name"), str) or not capability["name"]:
            raise ValueError("content: %s has no name; every capability needs one" % here)
        if capability["name"] in seen:
            raise ValueError("content: %s repeats the capability name %s" % (here, capability["name"]))
        seen.add(capability["name"])
        if _inline_interface(capability):
            check_capabilities(capability["schema"], here + ".schema")


def _inline_interface(capability):
    schema = capability.get("schema")
    return isinstance(schema, dict) and "Interface" in _types(schema.get("@type"))


# ----------------------------------------------------------------------------------------- comparison
def _user_types(value):
    # The service adds a value-type marker (NumberValue, StringValue, ...) to properties: not the user's.
    return sorted(t for t in _types(value) if not t.endswith("Value"))


def same(want, have, key=None):
    """Whether ``have`` (as the service shows it) is what ``want`` (the user's document) asks for."""
    if key == "@type":
        return _user_types(want) == _user_types(have)
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return False
        for name, value in want.items():
            if name in ("etag", "@context"):
                continue
            if name not in have or not same(value, have[name], name):
                return False
        extra = set(have) - set(want) - SERVER_FIELDS
        return not extra
    if isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            return False
        if key in NAMED_LISTS and all(isinstance(item, dict) and "name" in item for item in want + have):
            have_by_name = dict((item["name"], item) for item in have)
            return all(item["name"] in have_by_name and same(item, have_by_name[item["name"]]) for item in want)
        return all(same(w, h) for w, h in zip(want, have))
    if isinstance(want, bool) or isinstance(have, bool):
        return want is have
    return want == have


def template_differences(desired, current):
    """Top-level fields of ``desired`` that the current template does not have (semantically)."""
    return dict((key, value) for key, value in desired.items()
                if key not in SERVER_FIELDS and not same(value, (current or {}).get(key), key))


def template_patch(desired, current):
    """The PATCH body for the differences: object fields as a merge patch (a member the user removed becomes
    null, so the service drops it; members the service owns are kept)."""
    delta = template_differences(desired, current)
    for key, value in delta.items():
        if isinstance(value, dict):
            delta[key] = merge_patch_for((current or {}).get(key), value, keep=SERVER_FIELDS)
    return delta


# ----------------------------------------------------------------------------------------- capabilities
def _kind(capability):
    for kind in CAPABILITY_KINDS:
        if kind in _types(capability.get("@type")):
            return kind
    return "capability"


def _plain(value):
    """A value without what the service adds, in a canonical form (for comparing schemas)."""
    if isinstance(value, dict):
        return dict((k, _plain(v) if k != "@type" else _user_types(v)) for k, v in value.items()
                    if k not in SERVER_FIELDS and k not in ("displayName", "description", "comment"))
    if isinstance(value, list):
        items = [_plain(v) for v in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def capabilities(interface, prefix=""):
    """``{name: (kind, schema)}`` of an interface; capabilities of inline components as ``component/name``."""
    found = {}
    for capability in (interface or {}).get("contents") or []:
        if not isinstance(capability, dict) or not isinstance(capability.get("name"), str):
            continue
        name = prefix + capability["name"]
        kind = _kind(capability)
        if _inline_interface(capability):
            found[name] = (kind, None)
            found.update(capabilities(capability["schema"], name + "/"))
            continue
        shape = {"schema": _plain(capability.get("schema"))}
        if kind == "Command":
            shape = {"request": _plain(capability.get("request")), "response": _plain(capability.get("response"))}
        found[name] = (kind, json.dumps(shape, sort_keys=True))
    return found


def capability_names(template):
    return sorted(capabilities((template or {}).get("capabilityModel")))


def breaking_changes(current_model, desired_model):
    """What a change of capability model breaks: capabilities removed (or renamed) and capabilities whose kind or
    schema changes. Additions are not breaking. One short phrase each, sorted."""
    before = capabilities(current_model)
    after = capabilities(desired_model)
    problems = []
    for name in sorted(before):
        if name not in after:
            problems.append("%s (removed or renamed)" % name)
        elif before[name][0] != after[name][0]:
            problems.append("%s (%s -> %s)" % (name, before[name][0], after[name][0]))
        elif before[name][1] != after[name][1]:
            problems.append("%s (schema changed)" % name)
    return problems


def devices_using(client, template_id, limit=None):
    """How many devices use the template (one listing filtered on the server; ``limit`` stops early)."""
    version = client.list_api_version()
    page_size = min(limit, 100) if limit else 100
    params = client.list_params(filter="template eq '%s'" % template_id.replace("'", "''"), page_size=page_size,
                                api_version=version)
    return sum(1 for _device in client.paged("/devices", params=params, api_version=version, limit=limit))


def summary(template, with_content=True):
    """A template as the modules return it: id, names, capability names and (optionally) the whole document."""
    model = template.get("capabilityModel") or {}
    result = {"id": template.get("@id"), "displayName": template.get("displayName"),
              "capabilityModelId": model.get("@id"), "capabilities": capability_names(template),
              "types": _types(template.get("@type"))}
    if template.get("description") is not None:
        result["description"] = template["description"]
    if template.get("etag") is not None:
        result["etag"] = template["etag"]
    if with_content:
        result["content"] = template
    return result


# ----------------------------------------------------------------------------------------- converge
def ensure_device_template(client, spec, check_mode=False):
    """Converge one device template. ``spec``: id, content (dict/path/JSON text), display_name,
    allow_breaking_changes, state. Returns ``(action, template, diff)``."""
    template_id = validate_template_id(spec["id"])
    state = spec.get("state") or "present"
    desired = {}
    if state == "present":
        desired = desired_template(template_id, load_content(spec.get("content")), spec.get("display_name"))
    current = get_template(client, template_id)
    path = template_path(template_id)

    if state == "absent" and current is not None:
        users = devices_using(client, template_id)
        if users:
            raise ValueError("device template %s is used by %d device(s); delete them or move them to another "
                             "template first (nothing was deleted)" % (template_id, users))

    if state == "present" and current is not None and not spec.get("allow_breaking_changes"):
        delta = template_differences(desired, current)
        if "capabilityModel" in delta:
            broken = breaking_changes(current.get("capabilityModel"), delta["capabilityModel"])
            if broken and devices_using(client, template_id, limit=1):
                raise ValueError("device template %s is used by devices and this change breaks %s; make it a new "
                                 "template version, or set allow_breaking_changes: true to apply it anyway (nothing "
                                 "was changed)" % (template_id, listed(broken)))

    def create_body():
        if "capabilityModel" not in desired:
            raise ValueError("device template %s does not exist; content is needed to create it" % template_id)
        return dict(desired)

    def planned(body):
        after = dict(body)
        after["@id"] = template_id
        after.setdefault("displayName", template_id)
        return after

    def planned_view(after):
        return dict(after, **desired)

    return converge_resource(client, path, template_id, state, current, desired, template_patch, create_body,
                             DIFF_KEYS, "Device template %s" % template_id, check_mode=check_mode,
                             planned_create=planned, planned_view=planned_view)


def list_templates(client, filter=None, order_by=None, page_size=None, limit=None):  # pylint: disable=redefined-builtin
    """Templates of the application; filter/order_by/page_size need the preview api-version (its list parameters)."""
    if filter or order_by or page_size:
        version = client.require_preview("Filtering, ordering or paging device templates (filter, order_by, page_size)")
        params = client.list_params(filter=filter, order_by=order_by, page_size=page_size, api_version=version)
    else:
        version, params = None, {}
    return list(client.paged("/deviceTemplates", params=params, api_version=version, limit=limit))
