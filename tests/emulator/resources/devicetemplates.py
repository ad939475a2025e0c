"""Device templates: GET /deviceTemplates and GET /deviceTemplates/{deviceTemplateId}.

Seeded from ``data/device_templates.json`` plus ``--templates-file``. Template
writes (PUT/PATCH/DELETE) are in the spec but not emulated (501).
"""

import copy
import json
import os

from ..common import list_response, ok
from ..errors import ApiError
from ..odata import STRING, Field

PRIORITY = 10
COLLECTION = "deviceTemplates"
BUILTIN_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                            "device_templates.json")
DEFAULT_TYPE = ["ModelDefinition", "DeviceModel"]
EDGE_TYPE = "EdgeModel"

FILTER_FIELDS = [
    Field("id", STRING, lambda t: t["@id"]),
    Field("displayName", STRING, lambda t: t.get("displayName")),
]
SORTABLE = {"displayName": lambda t: t.get("displayName") or t["@id"]}


def is_edge_template(template):
    return EDGE_TYPE in (template.get("@type") or ())


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


def register(emulator):
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

    emulator.startup_hooks.append(install)

    def render(template):
        return copy.deepcopy(template)

    def list_templates(ctx):
        return list_response(ctx, templates, FILTER_FIELDS, SORTABLE, render)

    def get_template(ctx):
        template = templates.get(ctx.params["deviceTemplateId"])
        if template is None:
            raise ApiError(404, "Device template %r was not found." % ctx.params["deviceTemplateId"])
        return ok(render(template))

    emulator.api_router.add("GET", "/api/deviceTemplates", list_templates)
    emulator.api_router.add("GET", "/api/deviceTemplates/{deviceTemplateId}", get_template)
