"""Contract checking against the official Swagger 2.0 documents.

:class:`SpecChecker` loads ``<spec_dir>/<api-version>/iotcentral.no-examples.json``
for every served api-version, finds the operation for a (method, path) and
validates request parameters/bodies and response bodies with jsonschema
(Draft 4, which is what Swagger 2.0 schemas are). Swagger additions are mapped
as follows:

* ``readOnly``: a readOnly property sent in a request is reported (Swagger:
  it "MUST NOT be sent as part of the request") and readOnly properties are
  not required in requests; responses ignore the keyword.
* ``discriminator`` / ``x-ms-discriminator-value``: a reference to a
  polymorphic base validates the instance against the subtype its
  discriminator value names (subtypes are the definitions that ``allOf`` the
  base); an unknown value is reported.
* ``x-ms-enum`` with ``modelAsString: true`` makes the enum open (AutoRest
  semantics), so ``enum`` is not enforced there.
* ``format``: ``date-time-rfc1123``, ``date-time``, ``date`` and ``int32``
  are checked; other ``x-ms-*`` keys are ignored.
* A ``$ref`` with sibling keywords (e.g. ``readOnly``) is wrapped in ``allOf``
  because Draft 4 ignores the siblings of ``$ref``.

Violations never change a response; the server records them in its stats.
"""

import copy
import datetime
import email.utils
import json
import logging
import os
import re

import jsonschema
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError

LOG = logging.getLogger("emulator.spec")
SPEC_FILE = "iotcentral.no-examples.json"
_POLY = "x-emulator-polymorphic"
_SCHEMA_MAPS = ("properties", "definitions", "patternProperties")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "additionalItems")

FORMAT_CHECKER = FormatChecker(formats=())


@FORMAT_CHECKER.checks("date-time-rfc1123", raises=(TypeError, ValueError))
def _rfc1123(value):
    if not isinstance(value, str):
        return True
    if not value.endswith(" GMT") or email.utils.parsedate_to_datetime(value) is None:
        return False
    return True


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _date_time(value):
    if not isinstance(value, str):
        return True
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return "T" in value or "t" in value


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _date(value):
    if not isinstance(value, str):
        return True
    datetime.date.fromisoformat(value)
    return True


@FORMAT_CHECKER.checks("int32")
def _int32(value):
    if isinstance(value, bool) or not isinstance(value, int):
        return True
    return -2 ** 31 <= value < 2 ** 31


def default_spec_dir():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(os.path.dirname(repo), "shared", "specs", "iotcentral")


# Schema preparation -----------------------------------------------------------------

def _ref_name(ref):
    prefix = "#/definitions/"
    return ref[len(prefix):] if isinstance(ref, str) and ref.startswith(prefix) else None


def _polymorphism(definitions):
    """Map each polymorphic definition to (discriminator property, {value: subtype name})."""
    parents = {}
    for name, schema in definitions.items():
        parents[name] = [_ref_name(part.get("$ref")) for part in schema.get("allOf", []) if isinstance(part, dict)]
        parents[name] = [p for p in parents[name] if p]

    def ancestors(name, seen=None):
        seen = seen if seen is not None else set()
        for parent in parents.get(name, ()):
            if parent not in seen:
                seen.add(parent)
                ancestors(parent, seen)
        return seen

    def discriminator(name):
        if definitions[name].get("discriminator"):
            return definitions[name]["discriminator"]
        for parent in ancestors(name):
            if definitions.get(parent, {}).get("discriminator"):
                return definitions[parent]["discriminator"]
        return None

    result = {}
    all_ancestors = {name: ancestors(name) for name in definitions}
    for name in definitions:
        prop = discriminator(name)
        if not prop:
            continue
        subtypes = {}
        for other, other_ancestors in all_ancestors.items():
            if name in other_ancestors:
                value = definitions[other].get("x-ms-discriminator-value", other)
                subtypes[value] = other
        if subtypes:
            own = definitions[name].get("x-ms-discriminator-value", name)
            result[name] = {"property": prop, "subtypes": subtypes, "base": name, "own": own}
    return result


def _prepare(node, poly, in_allof=False):
    """Return a copy of a Swagger schema adapted to jsonschema Draft 4 (see module doc)."""
    if isinstance(node, list):
        return [_prepare(item, poly) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _prepare(sub, poly) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_prepare(sub, poly, in_allof=(key == "allOf")) for sub in value]
        elif key in _SCHEMA_VALUES and isinstance(value, (dict, list)):
            out[key] = _prepare(value, poly)
        else:
            out[key] = copy.deepcopy(value)
    x_ms_enum = out.get("x-ms-enum")
    if "enum" in out and isinstance(x_ms_enum, dict) and x_ms_enum.get("modelAsString"):
        del out["enum"]
    ref = out.get("$ref")
    if ref is not None:
        target = _ref_name(ref)
        if target in poly and not in_allof:
            del out["$ref"]
            out[_POLY] = poly[target]
        else:
            siblings = {k: v for k, v in out.items() if k != "$ref" and k != "description"}
            if siblings:
                out = dict(siblings, allOf=[{"$ref": ref}] + siblings.get("allOf", []))
    return out


def _poly_keyword(validator, spec, instance, schema):
    target = spec["base"]
    if validator.is_type(instance, "object") and spec["property"] in instance:
        value = instance[spec["property"]]
        if value in spec["subtypes"]:
            target = spec["subtypes"][value]
        elif value != spec["own"]:
            yield ValidationError("%r is not a known %s value for %s (known: %s)" % (
                value, spec["property"], spec["base"], ", ".join(sorted(spec["subtypes"]))),
                path=[spec["property"]])
    yield from validator.descend(instance, {"$ref": "#/definitions/" + target})


def _readonly_keyword(validator, value, instance, schema):
    if value is True:
        yield ValidationError("is readOnly and must not be sent in a request")


def _request_required(validator, required, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    for name in required:
        if name not in instance and not properties.get(name, {}).get("readOnly"):
            yield ValidationError("%r is a required property" % name)


ResponseValidator = jsonschema.validators.extend(Draft4Validator, {_POLY: _poly_keyword})
RequestValidator = jsonschema.validators.extend(
    Draft4Validator, {_POLY: _poly_keyword, "readOnly": _readonly_keyword, "required": _request_required})


def format_error(error):
    location = "".join("[%d]" % p if isinstance(p, int) else ".%s" % p for p in error.absolute_path)
    return "%s: %s" % (("body" + location) if location else "body", error.message)


# Operations ---------------------------------------------------------------------------

class Operation:
    def __init__(self, version, method, path, spec_op, path_params, document):
        self.version = version
        self.method = method
        self.path = path
        self.segments = path.strip("/").split("/")
        self.operation_id = spec_op.get("operationId", "%s %s" % (method, path))
        self.consumes = spec_op.get("consumes", document.get("consumes", ["application/json"]))
        self.parameters = []
        by_key = {}
        for param in list(path_params) + list(spec_op.get("parameters", [])):
            if "$ref" in param:
                param = document["parameters"][param["$ref"].rsplit("/", 1)[1]]
            by_key[(param.get("in"), param.get("name"))] = param
        self.parameters = list(by_key.values())
        self.responses = spec_op.get("responses", {})

    def match(self, segments):
        if len(segments) != len(self.segments):
            return False
        for want, got in zip(self.segments, segments):
            if not (want.startswith("{") and got) and want != got:
                return False
        return True

    def specificity(self):
        return tuple(0 if s.startswith("{") else 1 for s in self.segments)

    def body_parameter(self):
        for param in self.parameters:
            if param.get("in") == "body":
                return param
        return None


class VersionSpec:
    def __init__(self, version, document):
        self.version = version
        self.document = document
        self.base_path = document.get("basePath", "/api").rstrip("/")
        definitions = document.get("definitions", {})
        self.polymorphism = _polymorphism(definitions)
        self.definitions = {name: _prepare(schema, self.polymorphism) for name, schema in definitions.items()}
        self.operations = []
        for path, item in document.get("paths", {}).items():
            path_params = item.get("parameters", [])
            for method, spec_op in item.items():
                if method == "parameters" or not isinstance(spec_op, dict):
                    continue
                self.operations.append(Operation(version, method.upper(), path, spec_op, path_params, document))
        self._validators = {}

    def match(self, method, path):
        """Operation for ``method`` and a path below ``/api`` (or None)."""
        if path.startswith(self.base_path + "/"):
            path = path[len(self.base_path):]
        segments = path.strip("/").split("/")
        found = [op for op in self.operations if op.method == method.upper() and op.match(segments)]
        if not found:
            return None
        return max(found, key=Operation.specificity)

    def validator(self, schema, side):
        key = (side, json.dumps(schema, sort_keys=True))
        validator = self._validators.get(key)
        if validator is None:
            root = {"definitions": self.definitions, "allOf": [_prepare(schema, self.polymorphism)]}
            cls = RequestValidator if side == "request" else ResponseValidator
            validator = self._validators[key] = cls(root, format_checker=FORMAT_CHECKER)
        return validator

    def validate(self, schema, instance, side):
        errors = sorted(self.validator(schema, side).iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [format_error(error) for error in _leaf_errors(errors)]


def _leaf_errors(errors):
    """Flatten allOf wrappers so messages name the failing property, not the wrapper."""
    out = []
    for error in errors:
        if error.validator in ("allOf",) and error.context:
            out.extend(_leaf_errors(error.context))
        else:
            out.append(error)
    return out


_TYPE_CONVERTERS = {"integer": int, "number": float}


def _check_simple_parameter(param, raw):
    """Validate a query/header/path parameter's string value against its Swagger constraints."""
    kind = param.get("type", "string")
    value = raw
    if kind in _TYPE_CONVERTERS:
        try:
            value = _TYPE_CONVERTERS[kind](raw)
        except ValueError:
            return "parameter %s=%r is not of type %s" % (param["name"], raw, kind)
    elif kind == "boolean":
        if raw not in ("true", "false"):
            return "parameter %s=%r is not a boolean" % (param["name"], raw)
        return None
    if "minimum" in param and value < param["minimum"]:
        return "parameter %s=%r is less than the minimum %s" % (param["name"], raw, param["minimum"])
    if "maximum" in param and value > param["maximum"]:
        return "parameter %s=%r is greater than the maximum %s" % (param["name"], raw, param["maximum"])
    if kind == "string":
        if "maxLength" in param and len(value) > param["maxLength"]:
            return "parameter %s is longer than %d characters" % (param["name"], param["maxLength"])
        if "minLength" in param and len(value) < param["minLength"]:
            return "parameter %s is shorter than %d characters" % (param["name"], param["minLength"])
        if "pattern" in param and not re.search(param["pattern"], value):
            return "parameter %s=%r does not match %s" % (param["name"], raw, param["pattern"])
        if "enum" in param and value not in param["enum"]:
            return "parameter %s=%r is not one of %s" % (param["name"], raw, param["enum"])
    if kind == "integer" and param.get("format") == "int32" and not -2 ** 31 <= value < 2 ** 31:
        return "parameter %s=%r is outside int32" % (param["name"], raw)
    return None


class SpecChecker:
    """Loads the spec of every api-version found in ``spec_dir`` and validates traffic."""

    def __init__(self, spec_dir, versions):
        self.spec_dir = spec_dir
        self.versions = {}
        for version in versions:
            path = os.path.join(spec_dir, version, SPEC_FILE)
            with open(path, encoding="utf-8") as handle:
                self.versions[version] = VersionSpec(version, json.load(handle))

    def match(self, version, method, path):
        spec = self.versions.get(version)
        return spec.match(method, path) if spec else None

    def has_operation(self, version, method, path):
        return self.match(version, method, path) is not None

    def check_request(self, operation, query_pairs, headers, body, content_type):
        """Return violation messages for a request (``body`` is raw bytes)."""
        spec = self.versions[operation.version]
        messages = []
        query = {}
        for key, value in query_pairs:
            query.setdefault(key, value)
        for param in operation.parameters:
            where = param.get("in")
            name = param.get("name")
            if where == "query":
                raw = query.get(name)
            elif where == "header":
                raw = headers.get(name)
            elif where == "path":
                continue  # Captured by the route; the template match already required a value.
            else:
                continue
            if raw is None:
                if param.get("required"):
                    messages.append("missing required %s parameter %s" % (where, name))
                continue
            problem = _check_simple_parameter(param, raw)
            if problem:
                messages.append(problem)
        body_param = operation.body_parameter()
        if body_param is not None:
            if not body:
                if body_param.get("required"):
                    messages.append("missing required request body")
            else:
                media = (content_type or "").split(";", 1)[0].strip().lower()
                if media not in [c.lower() for c in operation.consumes]:
                    messages.append("Content-Type %r is not one of %s" % (content_type, ", ".join(operation.consumes)))
                try:
                    instance = json.loads(body)
                except ValueError as exc:
                    messages.append("request body is not valid JSON: %s" % exc)
                else:
                    messages.extend(spec.validate(body_param.get("schema", {}), instance, "request"))
        elif body:
            messages.append("%s takes no request body" % operation.operation_id)
        return messages

    def check_response(self, operation, status, headers, body):
        """Return violation messages for a response (``body`` is the decoded JSON or None)."""
        spec = self.versions[operation.version]
        response = operation.responses.get(str(status))
        if response is None:
            if 200 <= status < 300 or "default" not in operation.responses:
                return ["status %d is not documented for %s" % (status, operation.operation_id)]
            response = operation.responses["default"]
        messages = []
        lower_headers = {k.lower(): v for k, v in headers.items()}
        for header in response.get("headers", {}):
            if header.lower() not in lower_headers:
                messages.append("response header %s is missing" % header)
        schema = response.get("schema")
        if schema is None:
            if body not in (None, b"", ""):
                messages.append("status %d of %s has no body in the spec but one was sent" % (
                    status, operation.operation_id))
            return messages
        if body is None:
            return messages + ["status %d of %s needs a JSON body" % (status, operation.operation_id)]
        messages.extend(spec.validate(schema, body, "response"))
        return messages
