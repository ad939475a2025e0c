"""Device properties: GET, PUT and PATCH of ``/devices/{id}/properties`` and of its components, modules and
module components. Also the property store API other resources (jobs) use: :func:`write_properties`.

A device's properties live in the ``deviceProperties`` collection (one record per device, removed with
the device). Each property of each scope (root, component, module, module component) holds:

* the value the device reported (``value``, ``reportedTime``);
* the desired value set through the API (``desiredValue``, ``desiredVersion``, ``desiredTime``);
* the device's acknowledgement (``ackVersion``, ``ackCode``, ``ackDescription``).

A write is accepted only for properties the device's template declares writable, with a value of the
property's schema; anything else is 422 naming the property, and nothing of the request is applied.
Desired versions count per twin (the device, or one module), like IoT Hub's desired ``$version``.

GET shows a property when the device reported it or a desired value is set (properties "never set by the
device or by a user" are not returned, as the spec's example says), with ``$metadata.<name>`` holding
``desiredValue``/``desiredVersion``/``ackVersion``/``ackCode``/``ackDescription``/``lastUpdateTime``.
A root (or module) GET includes its components as nested objects, and a root (or module) write may set
component properties through them, as the spec's examples do. PUT is accepted like PATCH: desired values
cannot be removed from a twin through the API.

There is no device runtime: the test-only ``POST /__emulator__/devices/{deviceId}/properties`` plays the
device (acknowledge desired values, report values) and ``POST /__emulator__/properties/acknowledge``
acknowledges every pending value of many devices at once.
"""

import copy

from .. import capabilities
from ..common import JSON, MERGE_PATCH, expect_type, fetch, json_object, json_type, ok, Response
from ..errors import ApiError
from . import devices as device_resource, devicetemplates

PRIORITY = 30
COLLECTION = "deviceProperties"
ROOT = ""
METADATA = "$metadata"
ACK_COMPLETED = "completed"


def scope_key(module=None, component=None):
    """Storage key of one property scope: ``""``, ``"c:comp"``, ``"m:mod"`` or ``"m:mod/c:comp"``."""
    parts = []
    if module is not None:
        parts.append("m:" + module)
    if component is not None:
        parts.append("c:" + component)
    return "/".join(parts)


def _twin_key(module):
    return "m:" + module if module is not None else ROOT


class PropertyStore:
    """The property state of every device of one emulator (use with the store lock held)."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.store = emulator.store
        self.records = self.store.collection(COLLECTION)
        self.devices = self.store.collection(device_resource.COLLECTION)
        self.templates = self.store.collection(devicetemplates.COLLECTION, resettable=False)

    def device(self, device_id):
        return fetch(self.devices, device_resource.validate_device_id(device_id), "device")

    def record(self, device_id):
        return self.records.get(device_id) or {"id": device_id, "versions": {}, "scopes": {}}

    def model(self, device, module=None, component=None):
        return capabilities.device_model(self.templates, device, module=module, component=component)

    # Validation -----------------------------------------------------------------------------

    def plan_write(self, device, values, module=None, component=None):
        """Check a write body against the template; returns ``[(component or None, name, value)]``.

        422 naming the property for an unknown, read-only or mistyped one (the first found, before anything
        is applied). Nested objects named like a component of the scope set that component's properties."""
        json_object(values)
        model = self.model(device, module, component)
        index = capabilities.interface_index(self.templates)
        prefix = "%s." % component if component is not None else ""
        planned = []
        components = model.components() if component is None else {}
        for name, value in values.items():
            if name == METADATA:
                continue  # read-only, like a GET's metadata sent back
            if name in components and isinstance(value, dict):
                inner = components[name]
                for inner_name, inner_value in value.items():
                    if inner_name == METADATA:
                        continue
                    self._check(inner, inner_name, inner_value, "%s." % name, index)
                    planned.append((name, inner_name, inner_value))
                continue
            self._check(model, name, value, prefix, index)
            planned.append((component, name, value))
        return planned

    @staticmethod
    def _check(model, name, value, prefix, index):
        declared = model.properties()
        if name not in declared:
            writable = sorted(model.writable())
            raise ApiError(422, "Unknown property '%s%s': %s declares %s." % (
                prefix, name[:100], model.label,
                "the writable properties " + ", ".join(writable) if writable else "no writable property"))
        if declared[name].get("writable") is not True:
            raise ApiError(422, "Property '%s%s' is not writable (%s declares it read-only)." % (
                prefix, name, model.label))
        if value is None:
            raise ApiError(422, "Property '%s%s' cannot be set to null." % (prefix, name))
        capabilities.check_value(declared[name].get("schema"), value, prefix + name, index)

    # Writes ---------------------------------------------------------------------------------

    def write(self, device_id, values, module=None, component=None):
        """Set desired values (the body of a PATCH); returns the 202 body. Raises ApiError like a PATCH."""
        device = self.device(device_id)
        planned = self.plan_write(device, values, module, component)
        record = copy.deepcopy(self.record(device["id"]))
        twin = _twin_key(module)
        version = record["versions"].get(twin, 0) + 1
        now = capabilities.now_iso()
        answer = {}
        for comp, name, value in planned:
            state = record["scopes"].setdefault(scope_key(module, comp), {}).setdefault(name, {})
            state.update(desiredValue=copy.deepcopy(value), desiredVersion=version, desiredTime=now)
            target = answer if comp == component else answer.setdefault(comp, {})
            target.setdefault(METADATA, {})[name] = {"desiredValue": copy.deepcopy(value)}
        if planned:
            record["versions"][twin] = version
            self.records.put(device["id"], record)
        return answer

    def acknowledge(self, device_id, names=True, module=None, component=None, code=200,
                    description=ACK_COMPLETED, every_scope=False):
        """The device takes its desired values: reported value = desired value, ack version = desired version.
        ``names``: True for every pending one, or a list. Returns how many were acknowledged."""
        record = copy.deepcopy(self.record(device_id))
        now = capabilities.now_iso()
        count = 0
        for key, scope in record["scopes"].items():
            if not every_scope and not _in_scope(key, module, component):
                continue
            for name, state in scope.items():
                if "desiredVersion" not in state or (names is not True and name not in names):
                    continue
                if state.get("ackVersion") == state["desiredVersion"]:
                    continue
                if 200 <= code < 300:
                    state.update(value=copy.deepcopy(state["desiredValue"]), reportedTime=now)
                state.update(ackVersion=state["desiredVersion"], ackCode=code, ackDescription=description)
                count += 1
        if count:
            self.records.put(device_id, record)
        return count

    def report(self, device, values, module=None, component=None):
        """The device reports values of declared properties (writable or not), checked against their schema."""
        json_object(values, "Field 'reported'")
        model = self.model(device, module, component)
        index = capabilities.interface_index(self.templates)
        declared = model.properties()
        for name, value in values.items():
            if name not in declared:
                raise ApiError(422, "Unknown property %r: %s does not declare it." % (name[:100], model.label))
            capabilities.check_value(declared[name].get("schema"), value, name, index)
        record = copy.deepcopy(self.record(device["id"]))
        scope = record["scopes"].setdefault(scope_key(module, component), {})
        now = capabilities.now_iso()
        for name, value in values.items():
            scope.setdefault(name, {}).update(value=copy.deepcopy(value), reportedTime=now)
        if values:
            self.records.put(device["id"], record)

    # Reads ----------------------------------------------------------------------------------

    def render(self, device, module=None, component=None):
        """The GET body of one scope; a root or module scope nests its components."""
        self.model(device, module, component)  # 404 for a component/module the template lacks
        scopes = self.record(device["id"])["scopes"]
        body = _render_scope(scopes.get(scope_key(module, component), {}))
        if component is None:
            prefix = scope_key(module) + "/" if module is not None else ""
            for key in sorted(scopes):
                if key.startswith(prefix + "c:") and "/" not in key[len(prefix):]:
                    rendered = _render_scope(scopes[key])
                    if rendered:
                        body[key[len(prefix) + 2:]] = rendered
        return body


def _in_scope(key, module, component):
    if module is None and component is None:
        return not key.startswith("m:")
    if component is None:
        return key == scope_key(module) or key.startswith(scope_key(module) + "/")
    return key == scope_key(module, component)


def _render_scope(scope):
    body = {}
    metadata = {}
    for name in sorted(scope):
        state = scope[name]
        if "value" in state:
            body[name] = copy.deepcopy(state["value"])
        entry = {}
        for field in ("desiredValue", "desiredVersion", "ackVersion", "ackCode", "ackDescription"):
            if field in state:
                entry[field] = copy.deepcopy(state[field])
        times = [t for t in (state.get("reportedTime"), state.get("desiredTime")) if t]
        if times:
            entry["lastUpdateTime"] = max(times)
        metadata[name] = entry
    if metadata:
        body[METADATA] = metadata
    return body


def property_store(app):
    """The :class:`PropertyStore` of emulator ``app`` (created on first use)."""
    found = getattr(app, "property_store", None)
    if found is None:
        found = app.property_store = PropertyStore(app)
    return found


def write_properties(app, device_id, values, component=None, module=None):
    """Apply a property write to one device, exactly as ``PATCH .../properties`` would.

    ``app``: the :class:`emulator.app.Emulator`; ``values``: ``{name: value}`` for the scope given by
    ``component`` / ``module`` (at the root, nested component objects also work). Returns the PATCH's 202
    body. Raises :class:`emulator.errors.ApiError`: 404 for an unknown device, component or module, 422 naming
    an unknown, read-only or mistyped property (then nothing is written).
    """
    with app.store.lock:
        return property_store(app).write(device_id, values, module=module, component=component)


def register(emulator):
    properties = property_store(emulator)
    emulator.id_fields[COLLECTION] = "id"
    emulator.device_delete_hooks.append(properties.records.delete)

    def scope_of(ctx):
        return ctx.params.get("moduleName"), ctx.params.get("componentName")

    def get_properties(ctx):
        module, component = scope_of(ctx)
        device = properties.device(ctx.params["deviceId"])
        return ok(properties.render(device, module, component))

    def write(ctx, allowed):
        module, component = scope_of(ctx)
        properties.device(ctx.params["deviceId"])
        body = json_object(ctx.json_body(allowed=allowed))
        return Response(202, properties.write(ctx.params["deviceId"], body, module, component))

    def patch_properties(ctx):
        return write(ctx, (JSON, MERGE_PATCH))

    def put_properties(ctx):
        return write(ctx, (JSON,))

    router = emulator.api_router
    for scope in ("", "/components/{componentName}", "/modules/{moduleName}",
                  "/modules/{moduleName}/components/{componentName}"):
        path = "/api/devices/{deviceId}%s/properties" % scope
        router.add("GET", path, get_properties)
        router.add("PUT", path, put_properties)
        router.add("PATCH", path, patch_properties)

    # Test-only: the device's side ---------------------------------------------------------

    def device_endpoint(ctx):
        """``{"module", "component", "reported": {name: value}, "acknowledge": true | [names], "ackCode",
        "ackDescription"}``: report values and/or acknowledge desired ones; answers the scope's GET body."""
        device = properties.device(ctx.params["deviceId"])
        body = json_object(ctx.json_body()) if ctx.body else {}
        for name in ("module", "component", "ackDescription"):
            expect_type(body, name, "string", nullable=True)
        module, component = body.get("module"), body.get("component")
        acknowledge = body.get("acknowledge", False)
        if not isinstance(acknowledge, bool) and not (
                isinstance(acknowledge, list) and all(isinstance(n, str) for n in acknowledge)):
            raise ApiError(422, "Field 'acknowledge' must be true, false or a list of property names, not %s."
                           % json_type(acknowledge))
        code = _ack_code(body)
        properties.model(device, module, component)
        if body.get("reported") is not None:
            properties.report(device, body["reported"], module, component)
        if acknowledge:
            properties.acknowledge(device["id"], acknowledge, module, component, code,
                                   body.get("ackDescription") or ACK_COMPLETED)
        return ok(properties.render(device, module, component))

    def acknowledge_endpoint(ctx):
        """``{"devices": [ids] (default: all), "ackCode": 200}``: acknowledge every pending desired value."""
        body = json_object(ctx.json_body()) if ctx.body else {}
        expect_type(body, "devices", "array", nullable=True)
        ids = body.get("devices")
        ids = list(properties.records.ids()) if ids is None else ids
        code = _ack_code(body)
        count = sum(properties.acknowledge(device_id, True, code=code, every_scope=True)
                    for device_id in ids if device_id in properties.records)
        return ok({"acknowledged": count})

    emulator.admin_router.add("POST", "/__emulator__/devices/{deviceId}/properties", device_endpoint)
    emulator.admin_router.add("POST", "/__emulator__/properties/acknowledge", acknowledge_endpoint)


def _ack_code(body):
    code = body.get("ackCode", 200)
    if isinstance(code, bool) or not isinstance(code, int):
        raise ApiError(422, "Field 'ackCode' must be an integer status code, not %s." % json_type(code))
    return code
