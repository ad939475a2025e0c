# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Device properties: desired-state logic shared by device_properties, device_properties_info and device_fleet.

``GET /devices/{id}[/modules/{m}][/components/{c}]/properties`` shows what the device reported, and under
``$metadata.<name>`` what was asked of it (``desiredValue``, ``desiredVersion``) and whether it acknowledged
(``ackVersion``, ``ackCode``). A wanted value is compared with the desired value when the service shows one, else
with the reported value: a device that has not acknowledged yet does not make every run report a change.
"""

from __future__ import annotations

from ansible_collections.fleetops.iotcentral.plugins.module_utils.capabilities import read_template, template_model, value_problem
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import device_path, validate_device_id

METADATA = "$metadata"
# Module options of the device_scope doc fragment: which part of a device a property or command module addresses.
DEVICE_SCOPE_ARGSPEC = dict(
    device_id=dict(type="str", required=True, aliases=["id"]),
    component=dict(type="str"),
    module=dict(type="str"),
)


def device_scope_argspec(**options):
    """A fresh argument spec: the device_scope options plus the module's own ``options``."""
    spec = dict((name, dict(option)) for name, option in DEVICE_SCOPE_ARGSPEC.items())
    spec.update(options)
    return spec


NAME_RULE = "a non-empty name without '/'"


def scope_path(device_id, component, module, *tail):
    """``/devices/{id}[/modules/{m}][/components/{c}]/<tail>``: the device, an IoT Edge module, a component."""
    segments = ["devices", device_id]
    if module is not None:
        segments += ["modules", module]
    if component is not None:
        segments += ["components", component]
    return IoTCentralClient.path(*(segments + list(tail)))


def properties_path(device_id, component=None, module=None):
    return scope_path(device_id, component, module, "properties")


def validate_scope(component=None, module=None):
    """ValueError naming the option when a component or module name cannot be a path segment."""
    for field, value in (("component", component), ("module", module)):
        if value is not None and (not isinstance(value, str) or not value or "/" in value):
            raise ValueError("%s %r is not valid: use %s" % (field, value, NAME_RULE))


def validate_values(values):
    """``values`` must be a non-empty mapping of property names to values (``null`` cannot be a desired value).

    Messages complete a sentence starting with the option's name ("properties ...")."""
    if not isinstance(values, dict) or not values:
        raise ValueError("must be a non-empty mapping of property names to values")
    for name, value in values.items():
        if not isinstance(name, str) or not name or name == METADATA:
            raise ValueError("has %r, which is not a property name" % (name,))
        if value is None:
            raise ValueError("cannot set %s to null (a desired value cannot be removed); leave it out instead" % name)
    return values


def merge_values(defaults, values):
    """An item's properties over the defaults' (per name; a component's values merge per name too)."""
    merged = dict(defaults or {})
    for name, value in (values or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name] = dict(merged[name], **value)
        else:
            merged[name] = value
    return merged


def same_value(left, right):
    """JSON equality where a boolean is never a number and 21 equals 21.0."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return set(left) == set(right) and all(same_value(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same_value(a, b) for a, b in zip(left, right))
    if isinstance(left, (dict, list)) or isinstance(right, (dict, list)):
        return False
    return left == right


def is_component(value):
    """A nested object of a properties body that is a component (it carries its own ``$metadata``)."""
    return isinstance(value, dict) and METADATA in value


def shown_value(body, name):
    """``(known, value)``: the pending or acknowledged desired value when the service shows one, else the reported one."""
    entry = ((body or {}).get(METADATA) or {}).get(name)
    if isinstance(entry, dict) and "desiredValue" in entry:
        return True, entry["desiredValue"]
    if body and name in body:
        return True, body[name]
    return False, None


def property_delta(wanted, body):
    """The values of ``wanted`` that differ from what ``body`` (a GET of the scope) shows; nested per component."""
    delta = {}
    for name, want in wanted.items():
        have = (body or {}).get(name)
        if isinstance(want, dict) and is_component(have):
            inner = property_delta(want, have)
            if inner:
                delta[name] = inner
            continue
        known, current = shown_value(body, name)
        if not known or not same_value(want, current):
            delta[name] = want
    return delta


def before_values(wanted, body):
    """What ``body`` shows for the names of ``wanted`` (for diffs): absent names are left out."""
    before = {}
    for name, want in wanted.items():
        have = (body or {}).get(name)
        if isinstance(want, dict) and is_component(have):
            before[name] = before_values(want, have)
            continue
        known, current = shown_value(body, name)
        if known:
            before[name] = current
    return before


def template_problem(model, values, prefix="properties."):
    """Why the device template refuses ``values`` (one line naming the property), or None.

    Only what the template can tell: an interface it does not inline (a DTMI reference) refuses nothing.
    """
    if not model.known:
        return None
    declared = model.properties()
    components = model.components() if prefix.count(".") == 1 else {}
    for name, value in values.items():
        if name in components and isinstance(value, dict):
            problem = template_problem(components[name], value, "%s%s." % (prefix, name))
            if problem:
                return problem
            continue
        if name not in declared:
            writable = sorted(model.writable())
            return "%s%s: %s has no such property; its writable properties: %s" % (
                prefix, name, model.label, ", ".join(writable) if writable else "none")
        if declared[name].get("writable") is not True:
            return "%s%s: %s declares this property read-only; only the device reports it" % (prefix, name, model.label)
        problem = value_problem(declared[name].get("schema"), value, prefix + name, model.index)
        if problem:
            return problem
    return None


def scope_problem(template, device_id, component, module, judge):
    """``judge(model)`` (a problem or None) on the model of ``template`` for the scope, naming the device; a scope
    the template does not define is a problem too. No template, no judgement."""
    if template is None:
        return None
    try:
        model = template_model(template, module=module, component=component)
    except ValueError as exc:
        return "device %s: %s" % (device_id, exc)
    problem = judge(model)
    return "device %s: %s" % (device_id, problem) if problem else None


def values_problem(template, values, device_id, component=None, module=None):
    """Why ``template`` refuses ``values`` for that scope (one line naming the device and property), or None."""
    return scope_problem(template, device_id, component, module, lambda model: template_problem(model, values))


def check_values(template, values, device_id, component=None, module=None):
    """Raise ValueError (nothing written) when ``template`` refuses ``values`` for that scope."""
    problem = values_problem(template, values, device_id, component, module)
    if problem:
        raise ValueError(problem + "; nothing was changed")


def write_values(client, path, values):
    """PATCH desired values; the service accepts them with 202 (the device takes them later)."""
    return client.request("PATCH", path, body=values, expected=(200, 202)).body


def device_template(client, device_id):
    """The template of device ``device_id`` (one device read, one template read), or None if it has none."""
    device = client.get(device_path(device_id))
    template_id = device.get("template") if isinstance(device, dict) else None
    if not template_id:
        return None
    return read_template(client, template_id)


def ensure_properties(client, params, check_mode=False):
    """Converge the desired values of one scope. Returns the module result (without ``diff`` unless asked)."""
    device_id = validate_device_id(params["device_id"], "device_id")
    component, module = params.get("component"), params.get("module")
    validate_scope(component, module)
    try:
        wanted = validate_values(params.get("properties"))
    except ValueError as exc:
        raise ValueError("properties %s" % exc)
    path = properties_path(device_id, component, module)
    current = client.get(path)
    delta = property_delta(wanted, current)
    result = {"changed": bool(delta), "action": "updated" if delta else "unchanged", "updated": delta,
              "properties": wanted}
    if delta:
        # Only a write needs the template: values equal to what the service holds are valid by definition.
        check_values(device_template(client, device_id), delta, device_id, component, module)
        if not check_mode:
            write_values(client, path, delta)
    result["diff"] = {"before": before_values(wanted, current), "after": wanted}
    return result


# ----------------------------------------------------------------------------------------- reading
def ack_state(entry):
    """in_sync (acknowledged, success code), rejected (acknowledged with an error code) or pending."""
    if entry.get("desiredVersion") is None or entry.get("ackVersion") != entry.get("desiredVersion"):
        return "pending"
    code = entry.get("ackCode")
    if isinstance(code, int) and not 200 <= code < 300:
        return "rejected"
    return "in_sync"


def property_view(body):
    """A GET body as results show it: ``reported`` values, ``writable`` desired state per property set through the
    API, ``components`` the same per component."""
    body = body if isinstance(body, dict) else {}
    reported, writable, components = {}, {}, {}
    for name, value in body.items():
        if name == METADATA:
            continue
        if is_component(value):
            components[name] = property_view(value)
        else:
            reported[name] = value
    for name, entry in sorted((body.get(METADATA) or {}).items()):
        if not isinstance(entry, dict) or ("desiredValue" not in entry and "desiredVersion" not in entry):
            continue
        view = {
            "desired_value": entry.get("desiredValue"),
            "desired_version": entry.get("desiredVersion"),
            "ack_version": entry.get("ackVersion"),
            "ack_code": entry.get("ackCode"),
            "ack_description": entry.get("ackDescription"),
            "last_update_time": entry.get("lastUpdateTime"),
            "state": ack_state(entry),
        }
        if name in reported:
            view["reported_value"] = reported[name]
        writable[name] = view
    return {"reported": reported, "writable": writable, "components": components}


def read_properties(client, params):
    device_id = validate_device_id(params["device_id"], "device_id")
    component, module = params.get("component"), params.get("module")
    validate_scope(component, module)
    view = property_view(client.get(properties_path(device_id, component, module)))
    pending = sorted(name for name, entry in view["writable"].items() if entry["state"] != "in_sync")
    for comp_name, comp in view["components"].items():
        pending.extend("%s.%s" % (comp_name, n) for n, e in sorted(comp["writable"].items()) if e["state"] != "in_sync")
    return dict(view, changed=False, in_sync=not pending, not_in_sync=pending)
