"""Device commands: run (``POST``) and history (``GET``) of ``/devices/{id}[/modules/{m}][/components/{c}]/commands/{name}``.

A command must be declared by the device's template for that scope (404 naming it otherwise); a ``request``
payload is checked against the command's request schema (422 naming it). ``connectionTimeout`` (0..30) and
``responseTimeout`` (5..30) follow the spec's bounds (422 outside them).

Who answers: a simulated device answers every command at once with response code 200 and a payload made up
from the command's response schema. Any device answers what the test-only
``POST /__emulator__/devices/{deviceId}/commands`` set for it (``{"command", "component", "module",
"responseCode", "response"}``). Otherwise, or when a test switched the device offline
(``POST /__emulator__/devices/{deviceId}/connectivity`` ``{"online": false}``), the device is not connected: 504
after ``connectionTimeout`` (the emulator does not wait). The history keeps the most recent execution per command
and scope, as the spec's example describes ("the most recent invocation"). A job's command item runs through
:func:`run_command` too, so its executions land in the same history.
"""

import copy
import uuid

from .. import capabilities
from ..common import expect_type, json_object, json_type, ok, Response
from ..errors import ApiError
from .properties import property_store, scope_key

PRIORITY = 40
COLLECTION = "deviceCommands"
TIMEOUT_BOUNDS = {"connectionTimeout": (0, 30), "responseTimeout": (5, 30)}


def _record(history, device_id):
    return copy.deepcopy(history.get(device_id) or {"id": device_id, "last": {}, "responders": {}})


def command_of(properties, device_id, name, module=None, component=None):
    """(device, the command's template entry, its history key); 404 naming the declared commands if undeclared."""
    device = properties.device(device_id)
    model = properties.model(device, module, component)
    command = model.commands().get(name)
    if command is None:
        declared = sorted(model.commands())
        raise ApiError(404, "Command %r is not defined by %s (%s)." % (
            name[:100], model.label, "commands: " + ", ".join(declared) if declared else "it has no command"))
    return device, command, "%s#%s" % (scope_key(module, component), name)


def run_command(app, device_id, name, body, module=None, component=None):
    """Run a command on one device exactly as ``POST .../commands/{name}`` would (the job engine uses it too).

    ``body``: the POST's body (``request``, ``connectionTimeout``, ``responseTimeout``). Returns the execution
    (the 201 body), recorded as the device's most recent one for that command and scope, whatever its response
    code. Raises :class:`emulator.errors.ApiError`: 404 for an unknown device or command, 422 for a timeout out
    of bounds or a request not of the command's schema, 504 when no one answers (nothing is recorded then).
    """
    with app.store.lock:
        properties = property_store(app)
        history = app.store.collection(COLLECTION)
        device, command, key = command_of(properties, device_id, name, module, component)
        for field, (low, high) in TIMEOUT_BOUNDS.items():
            if field in body:
                value = body[field]
                if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                    raise ApiError(422, "Field '%s' must be an integer from %d to %d, not %s." % (
                        field, low, high, repr(value) if isinstance(value, int) else json_type(value)))
        request_schema = (command.get("request") or {}).get("schema") if isinstance(command.get("request"), dict) else None
        if "request" in body and request_schema is not None:
            index = capabilities.interface_index(properties.templates)
            capabilities.check_value(request_schema, body["request"], "request", index)
        record = _record(history, device["id"])
        answer = record["responders"].get(key)
        if record.get("offline") or (answer is None and not device.get("simulated")):
            raise ApiError(504, "Device %r did not connect within the connection timeout of %d seconds; the command "
                                "was not delivered." % (device["id"], body.get("connectionTimeout", 0)))
        if answer is None:
            response_schema = (command.get("response") or {}).get("schema") if isinstance(command.get("response"),
                                                                                          dict) else None
            answer = {"responseCode": 200}
            if response_schema is not None:
                answer["response"] = capabilities.sample_value(response_schema,
                                                               capabilities.interface_index(properties.templates))
        execution = {"id": str(uuid.uuid4())}
        for field in ("connectionTimeout", "responseTimeout", "request"):
            if field in body:
                execution[field] = copy.deepcopy(body[field])
        execution.update(copy.deepcopy(answer))
        record["last"][key] = execution
        history.put(device["id"], record)
        return copy.deepcopy(execution)


def set_online(app, device_id, online):
    """Switch a device's connection (test-only): an offline device answers no command, even simulated (504)."""
    with app.store.lock:
        history = app.store.collection(COLLECTION)
        record = _record(history, device_id)
        if online:
            record.pop("offline", None)
        else:
            record["offline"] = True
        history.put(device_id, record)


def register(emulator):
    store = emulator.store
    history = store.collection(COLLECTION)
    emulator.id_fields[COLLECTION] = "id"
    emulator.device_delete_hooks.append(history.delete)
    properties = property_store(emulator)

    def scope_of(ctx):
        return ctx.params.get("moduleName"), ctx.params.get("componentName")

    def run_command_endpoint(ctx):
        body = json_object(ctx.json_body())
        module, component = scope_of(ctx)
        return Response(201, run_command(emulator, ctx.params["deviceId"], ctx.params["commandName"], body,
                                         module=module, component=component))

    def command_history(ctx):
        module, component = scope_of(ctx)
        device, dummy, key = command_of(properties, ctx.params["deviceId"], ctx.params["commandName"], module, component)
        last = (history.get(device["id"]) or {}).get("last", {}).get(key)
        return ok({"value": [copy.deepcopy(last)] if last else []})

    router = emulator.api_router
    for scope in ("", "/components/{componentName}", "/modules/{moduleName}",
                  "/modules/{moduleName}/components/{componentName}"):
        path = "/api/devices/{deviceId}%s/commands/{commandName}" % scope
        router.add("POST", path, run_command_endpoint)
        router.add("GET", path, command_history)

    def responder_endpoint(ctx):
        """Set what the device answers a command with: ``{"command", "component", "module", "responseCode",
        "response"}``; ``responseCode: null`` removes the answer (a simulated device then answers by itself)."""
        device = properties.device(ctx.params["deviceId"])
        body = json_object(ctx.json_body())
        for name in ("command", "component", "module"):
            expect_type(body, name, "string", nullable=name != "command")
        if not body.get("command"):
            raise ApiError(422, "Field 'command' is required.")
        module, component = body.get("module"), body.get("component")
        model = properties.model(device, module, component)
        if body["command"] not in model.commands():
            raise ApiError(422, "Command %r is not defined by %s." % (body["command"], model.label))
        key = "%s#%s" % (scope_key(module, component), body["command"])
        record = _record(history, device["id"])
        code = body.get("responseCode", 200)
        if code is None:
            record["responders"].pop(key, None)
        elif isinstance(code, bool) or not isinstance(code, int):
            raise ApiError(422, "Field 'responseCode' must be an integer, not %s." % json_type(code))
        else:
            answer = {"responseCode": code}
            if "response" in body:
                answer["response"] = copy.deepcopy(body["response"])
            record["responders"][key] = answer
        history.put(device["id"], record)
        return ok({"responders": sorted(record["responders"])})

    def connectivity_endpoint(ctx):
        """``{"online": false}`` switches a device offline: it answers no command (504, and a job's command item
        fails on it) until ``{"online": true}``."""
        device = properties.device(ctx.params["deviceId"])
        body = json_object(ctx.json_body()) if ctx.body else {}
        expect_type(body, "online", "boolean")
        online = body.get("online", True)
        set_online(emulator, device["id"], online)
        return ok({"id": device["id"], "online": online})

    emulator.admin_router.add("POST", "/__emulator__/devices/{deviceId}/commands", responder_endpoint)
    emulator.admin_router.add("POST", "/__emulator__/devices/{deviceId}/connectivity", connectivity_endpoint)
