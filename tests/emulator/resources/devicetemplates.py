"""Device templates: list, get, create-and-publish (PUT), merge-patch, delete (both api-versions).

Seeded from ``data/device_templates.json`` plus ``--templates-file``; a reset
brings back exactly those (templates made through the API are removed).

Writes follow Microsoft's REST how-to for device templates: PUT creates and
publishes (create-or-replace), PATCH is an RFC 7396 merge patch of the
template (``capabilityModel.contents`` is a list, so a patch that gives it
replaces it), DELETE removes it. What the service adds on a write and shows on
every read: ``@context`` (when the body has none), a default ``displayName``
(the id), and a value-type marker in the ``@type`` of each primitive property
(``NumberValue``, ``StringValue``, ...). A template without a capability model,
or with a capability that has no name, is refused with 422; a template that
devices use cannot be deleted (422 with the number of devices).

The 2022-10-31-preview list takes ``filter`` (``@id``, ``displayName``,
``capabilityModelId``), ``orderby`` (``displayName``) and ``maxpagesize``;
2022-07-31 declares no list parameter.
"""

import copy
import json
import os
import re

from ..common import (JSON, MERGE_PATCH, check_body_etag, check_id, check_preconditions, expect_type, json_object,
                      json_type, list_response, merge_patch, no_content, ok)
from ..errors import ApiError
from ..odata import STRING, Field

PRIORITY = 10
COLLECTION = "deviceTemplates"
BUILTIN_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                            "device_templates.json")
DEFAULT_TYPE = ["ModelDefinition", "DeviceModel"]
DEFAULT_CONTEXT = ["dtmi:iotcentral:context;2", "dtmi:dtdl:context;2"]
EDGE_TYPE = "EdgeModel"
# DTMI (DTDL v2): dtmi:<segment>(:<segment>)*[;<version>]; IoT Central also names templates without a version.
_SEGMENT = r"[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?"
TEMPLATE_ID_RE = re.compile(r"^dtmi:%s(?::%s)*(?:;[1-9][0-9]{0,8})?$" % (_SEGMENT, _SEGMENT))
MAX_TEMPLATE_ID = 2048
# What the service adds to the @type of a property whose schema is primitive.
VALUE_TYPES = {
    "boolean": "BooleanValue", "date": "DateValue", "dateTime": "DateTimeValue", "double": "NumberValue",
    "duration": "DurationValue", "float": "NumberValue", "integer": "NumberValue", "long": "NumberValue",
    "string": "StringValue", "time": "TimeValue",
}

FILTER_FIELDS = [
    Field("@id", STRING, lambda t: t["@id"]),
    Field("displayName", STRING, lambda t: t.get("displayName")),
    Field("capabilityModelId", STRING, lambda t: (t.get("capabilityModel") or {}).get("@id")),
]
SORTABLE = {"displayName": lambda t: t.get("displayName") or t["@id"]}
LIST_SUPPORT = {True: ("size", "filter", "orderby"), False: ()}


def is_edge_template(template):
    return EDGE_TYPE in (template.get("@type") or ())


def validate_template_id(template_id):
    if len(template_id or "") > MAX_TEMPLATE_ID:
        raise ApiError(400, "Invalid device template ID %r...: at most %d characters." % (template_id[:100],
                                                                                          MAX_TEMPLATE_ID))
    return check_id(template_id, TEMPLATE_ID_RE, "device template",
                    "a DTMI such as dtmi:contoso:Thermostat;1", shown=200)


def normalize_template(raw, source):
    """Check a template definition from a file and fill the fields the schema requires."""
    if not isinstance(raw, dict):
        raise ValueError("%s: every template must be a JSON object" % source)
    template_id = raw.get("@id")
    if not isinstance(template_id, str) or not template_id:
        raise ValueError("%s: a template has no '@id' string" % source)
    template = copy.deepcopy(raw)
    template.setdefault("@type", list(DEFAULT_TYPE))
    template.setdefault("displayName", template_id)
    template.setdefault("capabilityModel", {"@id": template_id + "_cm", "@type": "Interface", "contents": []})
    if not isinstance(template["@type"], list) or not all(isinstance(t, str) for t in template["@type"]):
        raise ValueError("%s: '@type' of %s must be a list of strings" % (source, template_id))
    if not isinstance(template["capabilityModel"], dict):
        raise ValueError("%s: 'capabilityModel' of %s must be an object" % (source, template_id))
    for key in ("displayName", "description"):
        if key in template and not isinstance(template[key], str):
            raise ValueError("%s: '%s' of %s must be a string" % (source, key, template_id))
    return template


def load_templates_file(path):
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, list):
        raise ValueError("%s must hold a JSON list of device templates" % path)
    return [normalize_template(item, path) for item in data]


def check_template_body(body):
    """422 naming the first field that does not make a device template: the spec's required ``@type`` (a list of
    strings) and ``capabilityModel`` (an object), and capabilities that are objects with a ``name`` string."""
    if body.get("@type") is None:
        raise ApiError(422, "Field '@type' is required.")
    expect_type(body, "@type", "array")
    for index, value in enumerate(body["@type"]):
        if not isinstance(value, str):
            raise ApiError(422, "Field '@type[%d]' must be a string, not %s." % (index, json_type(value)))
    if body.get("capabilityModel") is None:
        raise ApiError(422, "Field 'capabilityModel' is required: a device template needs a capability model.")
    expect_type(body, "capabilityModel", "object")
    expect_type(body, "displayName", "string")
    expect_type(body, "description", "string")
    expect_type(body, "etag", "string", nullable=True)
    check_interface(body["capabilityModel"], "capabilityModel")


def check_interface(interface, where):
    contents = interface.get("contents")
    if contents is None:
        return
    if not isinstance(contents, list):
        raise ApiError(422, "Field '%s.contents' must be an array, not %s." % (where, json_type(contents)))
    for index, capability in enumerate(contents):
        here = "%s.contents[%d]" % (where, index)
        if not isinstance(capability, dict):
            raise ApiError(422, "Field '%s' must be an object, not %s." % (here, json_type(capability)))
        if not isinstance(capability.get("name"), str) or not capability["name"]:
            raise ApiError(422, "Field '%s.name' is required and must be a non-empty string." % here)
        if not isinstance(capability.get("@type"), (str, list)):
            raise ApiError(422, "Field '%s.@type' is required (Telemetry, Property, Command or Component)." % here)
        if isinstance(capability.get("schema"), dict) and capability["schema"].get("@type") == "Interface":
            check_interface(capability["schema"], here + ".schema")


def add_value_types(interface):
    """The value-type marker the service adds to the ``@type`` of each property with a primitive schema."""
    for capability in interface.get("contents") or ():
        types = capability.get("@type")
        types = [types] if isinstance(types, str) else list(types or ())
        schema = capability.get("schema")
        if "Property" in types and isinstance(schema, str) and schema in VALUE_TYPES:
            if not any(t.endswith("Value") for t in types):
                capability["@type"] = types + [VALUE_TYPES[schema]]
        if isinstance(schema, dict) and schema.get("@type") == "Interface":
            add_value_types(schema)


def stored_template(template_id, body, store):
    """The template as the service keeps it after a write: what it adds filled in, a fresh etag."""
    template = copy.deepcopy(body)
    template.pop("etag", None)
    template["@id"] = template_id
    template.setdefault("displayName", template_id)
    template.setdefault("@context", list(DEFAULT_CONTEXT))
    add_value_types(template["capabilityModel"])
    template["etag"] = store.new_etag()
    return template


def register(emulator):
    from . import devices as device_resource  # devices import this module: avoid the cycle at import time.

    store = emulator.store
    templates = store.collection(COLLECTION, resettable=False)
    emulator.id_fields[COLLECTION] = "@id"
    configured = load_templates_file(BUILTIN_FILE)
    if emulator.config.templates_file:
        configured.extend(load_templates_file(emulator.config.templates_file))

    def install():
        # After the state file loaded: configured templates win over stale saved copies.
        for template in configured:
            current = templates.get(template["@id"])
            if current is not None and {k: v for k, v in current.items() if k != "etag"} == template:
                continue
            templates.put(template["@id"], dict(template, etag=store.new_etag()))

    def restore():
        # A reset empties the application: templates made through the API go, the configured ones stay.
        wanted = {template["@id"] for template in configured}
        for template_id in [i for i in templates.ids() if i not in wanted]:
            templates.delete(template_id)
        install()

    emulator.startup_hooks.append(install)
    emulator.reset_hooks.append(restore)

    def render(template):
        return copy.deepcopy(template)

    def get_existing(ctx):
        template_id = validate_template_id(ctx.params["deviceTemplateId"])
        template = templates.get(template_id)
        if template is None:
            raise ApiError(404, "Device template %r was not found." % template_id)
        return template

    def check_body_id(body, template_id):
        if "@id" in body and body["@id"] != template_id:
            raise ApiError(422, "Field '@id' (%r) must equal the device template ID in the URL (%r)."
                           % (str(body["@id"])[:200], template_id))

    def list_templates(ctx):
        return list_response(ctx, templates, FILTER_FIELDS, SORTABLE, render, supported=LIST_SUPPORT[ctx.is_preview])

    def get_template(ctx):
        return ok(render(get_existing(ctx)))

    def put_template(ctx):
        template_id = validate_template_id(ctx.params["deviceTemplateId"])
        body = json_object(ctx.json_body())
        check_body_id(body, template_id)
        check_template_body(body)
        existing = templates.get(template_id)
        check_body_etag(body, existing["etag"] if existing else None, "device template %r" % template_id)
        template = stored_template(template_id, body, store)
        templates.put(template_id, template)
        return ok(render(template))

    def patch_template(ctx):
        template = get_existing(ctx)
        body = json_object(ctx.json_body(allowed=(JSON, MERGE_PATCH)))
        check_body_id(body, template["@id"])
        expect_type(body, "etag", "string", nullable=True)
        check_preconditions(ctx, body, template["etag"], "device template %r" % template["@id"])
        patch = {key: value for key, value in body.items() if key not in ("etag", "@id")}
        merged = merge_patch({k: v for k, v in template.items() if k != "etag"}, patch)
        check_template_body(merged)
        updated = stored_template(template["@id"], merged, store)
        templates.put(template["@id"], updated)
        return ok(render(updated))

    def delete_template(ctx):
        template = get_existing(ctx)
        devices = store.collection(device_resource.COLLECTION)
        users = sum(1 for device in devices.values() if device.get("template") == template["@id"])
        if users:
            raise ApiError(422, "Device template %r is used by %d device(s); move or delete them first."
                           % (template["@id"], users))
        templates.delete(template["@id"])
        return no_content()

    emulator.api_router.add("GET", "/api/deviceTemplates", list_templates)
    emulator.api_router.add("GET", "/api/deviceTemplates/{deviceTemplateId}", get_template)
    emulator.api_router.add("PUT", "/api/deviceTemplates/{deviceTemplateId}", put_template)
    emulator.api_router.add("PATCH", "/api/deviceTemplates/{deviceTemplateId}", patch_template)
    emulator.api_router.add("DELETE", "/api/deviceTemplates/{deviceTemplateId}", delete_template)
