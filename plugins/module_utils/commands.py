# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Device commands: run one (device_command) and read its history (device_command_info).

A command is an action, not state: there is nothing to compare, so running one always changes something and
check mode never sends it. ``POST .../commands/{name}`` waits for the device's answer (up to the command's
``responseTimeout``) and returns it with the device's response code.
"""

from __future__ import annotations

from ansible_collections.fleetops.iotcentral.plugins.module_utils.capabilities import value_problem
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralError
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import validate_device_id
from ansible_collections.fleetops.iotcentral.plugins.module_utils.properties import (
    device_template,
    scope_path,
    scope_problem,
    validate_scope,
)

# The spec's bounds of DeviceCommand.connectionTimeout / responseTimeout, in seconds.
CONNECTION_TIMEOUT = (0, 30)
RESPONSE_TIMEOUT = (5, 30)
# Extra seconds the HTTP read waits beyond the command's own timeouts before giving up on the service.
READ_MARGIN = 10.0


def command_path(device_id, command, component=None, module=None):
    return scope_path(device_id, component, module, "commands", command)


def validate_command(params):
    """``(device_id, command, component, module)`` from module options; ValueError naming the option."""
    device_id = validate_device_id(params["device_id"], "device_id")
    command = params.get("command")
    if not isinstance(command, str) or not command or "/" in command:
        raise ValueError("command %r is not valid: use the command's name from the device template" % (command,))
    validate_scope(params.get("component"), params.get("module"))
    return device_id, command, params.get("component"), params.get("module")


def check_timeouts(params):
    for option, (low, high) in (("connection_timeout", CONNECTION_TIMEOUT), ("response_timeout", RESPONSE_TIMEOUT)):
        value = params.get(option)
        if value is not None and not low <= value <= high:
            raise ValueError("%s must be from %d to %d seconds (the service's limits), got %s" % (option, low, high, value))


def read_timeout(params):
    """How long the HTTP read must wait for ``POST .../commands``: the command's timeouts plus a margin."""
    connection = params.get("connection_timeout") or 0
    response = params.get("response_timeout") or RESPONSE_TIMEOUT[1]
    return max(params.get("timeout") or 0, connection + response + READ_MARGIN)


def command_problem(template, device_id, command, component, module, request, has_request):
    """Why the device template refuses this command or its request payload (one line), or None."""
    def judge(model):
        if not model.known:
            return None
        declared = model.commands()
        if command not in declared:
            return "command %r is not defined by %s; its commands: %s" % (
                command, model.label, ", ".join(sorted(declared)) or "none")
        request_schema = declared[command].get("request")
        if has_request and isinstance(request_schema, dict):
            return value_problem(request_schema.get("schema"), request, "request", model.index)
        return None

    return scope_problem(template, device_id, component, module, judge)


def run_command(client, params, check_mode=False):
    device_id, command, component, module = validate_command(params)
    check_timeouts(params)
    has_request = params.get("request") is not None
    # One device read and one template read refuse an unknown command or a mistyped payload before it is sent.
    problem = command_problem(device_template(client, device_id), device_id, command, component, module,
                              params.get("request"), has_request)
    if problem:
        raise ValueError(problem + "; the command was not sent")
    if check_mode:
        return {"changed": False, "skipped": True,
                "msg": "Check mode: command %r was not sent to device %s (a command is an action, not state, so "
                       "it only runs for real)" % (command, device_id)}
    body = {}
    if has_request:
        body["request"] = params["request"]
    if params.get("connection_timeout") is not None:
        body["connectionTimeout"] = params["connection_timeout"]
    if params.get("response_timeout") is not None:
        body["responseTimeout"] = params["response_timeout"]
    path = command_path(device_id, command, component, module)
    try:
        execution = client.request("POST", path, body=body, expected=(200, 201)).body or {}
    except IoTCentralError as exc:
        if exc.status is None or exc.status >= 500:
            # The request left; whether the device ran the command is unknown, and running it again is not safe.
            exc.hint = "The command may or may not have run on the device; device_command_info shows its last run"
        raise
    code = execution.get("responseCode")
    result = {
        "changed": True,
        "response_code": code,
        "response": execution.get("response"),
        "execution": execution,
    }
    if isinstance(code, int) and not 200 <= code < 300:
        result["failed"] = True
        result["msg"] = "Device %s answered command %r with response code %d" % (device_id, command, code)
    return result


def command_history(client, params):
    device_id, command, component, module = validate_command(params)
    history = list(client.paged(command_path(device_id, command, component, module)))
    return {"changed": False, "history": history}
