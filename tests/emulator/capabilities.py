"""What a device template declares: properties, commands, components and IoT Edge modules.

Properties and commands are answered from the device's template (DTDL v2 as IoT Central stores it: the
template's ``capabilityModel`` interface). A component's ``schema`` and an ``EdgeModule`` relationship's
``target`` name an interface by its DTMI or inline it; named interfaces are looked up in every template
of the application (the seeded TemperatureController's components are the Thermostat's interface).

:func:`check_value` validates a value against a DTDL schema and raises 422 naming the property.
"""

import datetime
import re

from .common import json_type
from .errors import ApiError

# DTDL v2 primitive schemas -> (check, what the message calls it).
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
SAMPLES = {"boolean": True, "double": 21.5, "float": 21.5, "integer": 1, "long": 1, "string": "ok",
           "date": "2024-01-01", "time": "12:00:00", "duration": "PT1M"}
_DTMI = re.compile(r"^dtmi:")


def types_of(item):
    kind = item.get("@type") if isinstance(item, dict) else None
    if isinstance(kind, str):
        return [kind]
    return [k for k in kind or () if isinstance(k, str)]


def interface_index(templates):
    """Every interface (an object with ``@id`` and ``contents``) of every template, by ``@id``."""
    index = {}

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("@id"), str) and isinstance(node.get("contents"), list):
                index.setdefault(node["@id"], node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for template in templates.values():
        walk(template.get("capabilityModel"))
    return index


class Model:
    """One interface of a template, with the names of its capabilities resolved."""

    def __init__(self, interface, index, label):
        self.interface = interface if isinstance(interface, dict) else {"contents": []}
        self.index = index
        self.label = label

    def _contents(self):
        return [c for c in self.interface.get("contents") or () if isinstance(c, dict) and isinstance(c.get("name"), str)]

    def _resolve(self, schema):
        if isinstance(schema, str):
            return self.index.get(schema)
        if isinstance(schema, list):  # a relationship target: the first interface
            return self._resolve(schema[0]) if schema else None
        return schema if isinstance(schema, dict) else None

    def properties(self):
        return {c["name"]: c for c in self._contents() if "Property" in types_of(c)}

    def writable(self):
        return {name: c for name, c in self.properties().items() if c.get("writable") is True}

    def commands(self):
        return {c["name"]: c for c in self._contents() if "Command" in types_of(c)}

    def components(self):
        return {c["name"]: Model(self._resolve(c.get("schema")), self.index, "component %r" % c["name"])
                for c in self._contents() if "Component" in types_of(c)}

    def modules(self):
        return {c["name"]: Model(self._resolve(c.get("target")), self.index, "module %r" % c["name"])
                for c in self._contents()
                if "Relationship" in types_of(c) and "EdgeModule" in types_of(c)}

    def component(self, name):
        model = self.components().get(name)
        if model is None:
            raise ApiError(404, "Component %r is not defined by %s." % (name, self.label))
        return model

    def module(self, name):
        model = self.modules().get(name)
        if model is None:
            raise ApiError(404, "Module %r is not defined by %s." % (name, self.label))
        return model


def device_model(templates, device, module=None, component=None):
    """The :class:`Model` of ``device``'s template, narrowed to ``module`` and/or ``component`` (404 if the
    template does not define them). A device without a template has an empty model."""
    template = templates.get(device.get("template")) if device.get("template") else None
    label = "device template %r" % device.get("template") if template else "device %r (it has no template)" % (
        device["id"])
    model = Model((template or {}).get("capabilityModel"), interface_index(templates) if template else {}, label)
    if module is not None:
        model = model.module(module)
        model.label = "%s of %s" % (model.label, label)
    if component is not None:
        outer = model.label
        model = model.component(component)
        model.label = "%s of %s" % (model.label, outer)
    return model


def check_value(schema, value, where, index=None):
    """422 naming ``where`` unless ``value`` fits the DTDL ``schema`` (primitive, Enum, Object, Map, Array).
    A schema the emulator cannot interpret (an unknown DTMI, a semantic type it does not know) accepts any value."""
    if isinstance(schema, str):
        if schema in PRIMITIVES:
            check, what = PRIMITIVES[schema]
            if not check(value):
                raise ApiError(422, "Property '%s' must be %s (schema %s), not %s." % (where, what, schema,
                                                                                       json_type(value)))
            if schema == "dateTime":
                _check_datetime(value, where)
            return
        if index and _DTMI.match(schema) and isinstance(index.get(schema), dict):
            check_value(index[schema], value, where, index)
        return
    if not isinstance(schema, dict):
        return
    kinds = types_of(schema)
    if "Enum" in kinds:
        allowed = [e.get("enumValue") for e in schema.get("enumValues") or () if isinstance(e, dict)]
        if value not in allowed or isinstance(value, bool):
            raise ApiError(422, "Property '%s' must be one of %s, not %s." % (
                where, ", ".join(repr(a) for a in allowed), repr(value)[:100]))
    elif "Object" in kinds:
        if not isinstance(value, dict):
            raise ApiError(422, "Property '%s' must be an object, not %s." % (where, json_type(value)))
        fields = {f.get("name"): f for f in schema.get("fields") or () if isinstance(f, dict)}
        for name, item in value.items():
            if name not in fields:
                raise ApiError(422, "Property '%s' has no field %r; fields: %s." % (
                    where, name[:100], ", ".join(sorted(fields))))
            check_value(fields[name].get("schema"), item, "%s.%s" % (where, name), index)
    elif "Map" in kinds:
        if not isinstance(value, dict):
            raise ApiError(422, "Property '%s' must be an object (a map), not %s." % (where, json_type(value)))
        inner = (schema.get("mapValue") or {}).get("schema")
        for name, item in value.items():
            check_value(inner, item, "%s.%s" % (where, name), index)
    elif "Array" in kinds:
        if not isinstance(value, list):
            raise ApiError(422, "Property '%s' must be an array, not %s." % (where, json_type(value)))
        for position, item in enumerate(value):
            check_value(schema.get("elementSchema"), item, "%s[%d]" % (where, position), index)


def _check_datetime(value, where):
    try:
        datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "Property '%s' must be an ISO 8601 date and time, not %r." % (where, value[:60])) from None


def sample_value(schema, index=None):
    """A plausible value of ``schema``: what a simulated device answers a command with."""
    if isinstance(schema, str):
        if schema == "dateTime":
            return now_iso()
        if schema in SAMPLES:
            return SAMPLES[schema]
        if index and isinstance(index.get(schema), dict):
            return sample_value(index[schema], index)
        return None
    if not isinstance(schema, dict):
        return None
    kinds = types_of(schema)
    if "Enum" in kinds:
        values = [e.get("enumValue") for e in schema.get("enumValues") or () if isinstance(e, dict)]
        return values[0] if values else None
    if "Object" in kinds:
        return {f["name"]: sample_value(f.get("schema"), index)
                for f in schema.get("fields") or () if isinstance(f, dict) and isinstance(f.get("name"), str)}
    if "Map" in kinds:
        return {}
    if "Array" in kinds:
        return []
    return None


def now_iso():
    """UTC now in the service's format: ``2020-07-21T19:06:50.9718608Z`` (7 fraction digits)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%07dZ" % (now.microsecond * 10)
