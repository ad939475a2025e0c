# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a device template declares, read from its DTDL: properties, commands, components and IoT Edge modules.

Used to refuse a property write or a command the template can tell is wrong, before anything is sent. It only
refuses what it is sure of: a component or module whose interface is not inlined in the template (only a DTMI
reference), or a schema it does not know, is left to the service to judge.
"""

from __future__ import annotations

import datetime
import threading

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient

# DTDL v2 primitive schemas: (test, what a message calls it).
_NUMBER = (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number")
_INTEGER = (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer")
_STRING = (lambda v: isinstance(v, str), "a string")
PRIMITIVES = {
    "boolean": (lambda v: isinstance(v, bool), "a boolean"),
    "double": _NUMBER,
    "float": _NUMBER,
    "integer": _INTEGER,
    "long": _INTEGER,
    "string": _STRING,
    "date": _STRING,
    "dateTime": _STRING,
    "time": _STRING,
    "duration": _STRING,
}


def types_of(item):
    kind = item.get("@type") if isinstance(item, dict) else None
    if isinstance(kind, str):
        return [kind]
    return [k for k in kind or () if isinstance(k, str)]


def template_path(template_id):
    return IoTCentralClient.path("deviceTemplates", template_id)


def read_template(client, template_id):
    """The device template, or None when the application has no such template."""
    return client.get(template_path(template_id), allow_404=True)


class TemplateReader:
    """Device templates read once per run: one GET per distinct template id, shared by every check that needs it
    (whether a template exists, what its properties accept). Thread-safe; a run names few templates, so reads
    of different templates waiting for each other costs nothing that matters."""

    def __init__(self, client, api_version=None):
        self.client = client
        self.api_version = api_version
        self._templates = {}
        self._lock = threading.Lock()

    def read(self, template_id):
        """The template (as ``GET /deviceTemplates/{id}`` returns it), or None when the application has none."""
        with self._lock:
            if template_id not in self._templates:
                self._templates[template_id] = self.client.get(template_path(template_id), api_version=self.api_version,
                                                               allow_404=True)
            return self._templates[template_id]

    def exists(self, template_id):
        return self.read(template_id) is not None


class Model:
    """One interface of a template. ``known`` is False when the interface could not be resolved (only a DTMI
    reference to something the template does not inline): then nothing is refused locally."""

    def __init__(self, interface, index, label):
        self.known = isinstance(interface, dict)
        self.interface = interface if self.known else {}
        self.index = index
        self.label = label

    def _contents(self):
        return [c for c in self.interface.get("contents") or () if isinstance(c, dict) and isinstance(c.get("name"), str)]

    def _resolve(self, schema):
        if isinstance(schema, str):
            return self.index.get(schema)
        if isinstance(schema, list):
            return self._resolve(schema[0]) if schema else None
        return schema if isinstance(schema, dict) else None

    def properties(self):
        return dict((c["name"], c) for c in self._contents() if "Property" in types_of(c))

    def writable(self):
        return dict((name, c) for name, c in self.properties().items() if c.get("writable") is True)

    def commands(self):
        return dict((c["name"], c) for c in self._contents() if "Command" in types_of(c))

    def components(self):
        return dict((c["name"], Model(self._resolve(c.get("schema")), self.index, "component '%s' of %s" % (c["name"], self.label)))
                    for c in self._contents() if "Component" in types_of(c))

    def modules(self):
        return dict((c["name"], Model(self._resolve(c.get("target")), self.index, "module '%s' of %s" % (c["name"], self.label)))
                    for c in self._contents() if "Relationship" in types_of(c) and "EdgeModule" in types_of(c))

    def narrow(self, kind, name):
        """The component or module ``name`` (kind "component"/"module"); ValueError when the template lacks it."""
        if not self.known:
            return Model(None, self.index, self.label)
        found = (self.components() if kind == "component" else self.modules()).get(name)
        if found is None:
            raise ValueError("%s %r is not defined by %s" % (kind, name, self.label))
        return found


def _interfaces(node, index):
    if isinstance(node, dict):
        if isinstance(node.get("@id"), str) and isinstance(node.get("contents"), list):
            index.setdefault(node["@id"], node)
        for value in node.values():
            _interfaces(value, index)
    elif isinstance(node, list):
        for value in node:
            _interfaces(value, index)
    return index


def template_model(template, module=None, component=None):
    """The :class:`Model` of a device template (as ``GET /deviceTemplates/{id}`` returns it), narrowed to
    ``module`` and then ``component``. ValueError when the template does not define them."""
    label = "device template '%s'" % template.get("@id")
    model_doc = template.get("capabilityModel")
    model = Model(model_doc, _interfaces(model_doc, {}), label)
    if module is not None:
        model = model.narrow("module", module)
    if component is not None:
        model = model.narrow("component", component)
    return model


def value_problem(schema, value, where, index=None):
    """Why ``value`` does not fit the DTDL ``schema`` (one line naming ``where``), or None if it fits or the schema
    is one this check does not know."""
    if isinstance(schema, str):
        if schema in PRIMITIVES:
            check, what = PRIMITIVES[schema]
            if not check(value):
                return "%s must be %s (schema %s), got %s" % (where, what, schema, _shown(value))
            if schema == "dateTime" and not _is_datetime(value):
                return "%s must be an ISO 8601 date and time, got %s" % (where, _shown(value))
            return None
        if index and isinstance(index.get(schema), dict):
            return value_problem(index[schema], value, where, index)
        return None
    if not isinstance(schema, dict):
        return None
    kinds = types_of(schema)
    if "Enum" in kinds:
        allowed = [e.get("enumValue") for e in schema.get("enumValues") or () if isinstance(e, dict)]
        if value not in allowed or isinstance(value, bool):
            return "%s must be one of %s, got %s" % (where, ", ".join(repr(a) for a in allowed), _shown(value))
    elif "Object" in kinds:
        if not isinstance(value, dict):
            return "%s must be an object, got %s" % (where, _shown(value))
        fields = dict((f.get("name"), f) for f in schema.get("fields") or () if isinstance(f, dict))
        for name, item in value.items():
            if name not in fields:
                return "%s has no field %r (fields: %s)" % (where, name, ", ".join(sorted(fields)))
            problem = value_problem(fields[name].get("schema"), item, "%s.%s" % (where, name), index)
            if problem:
                return problem
    elif "Map" in kinds:
        if not isinstance(value, dict):
            return "%s must be a mapping, got %s" % (where, _shown(value))
        inner = (schema.get("mapValue") or {}).get("schema")
        for name, item in value.items():
            problem = value_problem(inner, item, "%s.%s" % (where, name), index)
            if problem:
                return problem
    elif "Array" in kinds:
        if not isinstance(value, list):
            return "%s must be a list, got %s" % (where, _shown(value))
        for position, item in enumerate(value):
            problem = value_problem(schema.get("elementSchema"), item, "%s[%d]" % (where, position), index)
            if problem:
                return problem
    return None


def _is_datetime(value):
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _shown(value, limit=60):
    """A value for a message: its type and a cut representation."""
    text = repr(value)
    if len(text) > limit:
        text = text[:limit] + "..."
    return "%s %s" % (type(value).__name__, text)
