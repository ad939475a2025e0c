# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many devices in one task: validate everything, read the current state in pages, send only the needed writes.

The steps are separate functions so they can be tested without HTTP:

``validate_fleet`` (every item, before any call) -> ``read_current`` (listing pages) -> ``plan_fleet``
(pure) -> ``apply_plan`` (concurrent writes under the client's shared rate limiter) -> ``fleet_result``.
``converge_fleet`` runs them in order for the ``device_fleet`` module.
"""

from __future__ import annotations

import bisect
import copy
import json
import re
import threading

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import MAX_PAGE_SIZE, PREVIEW_API_VERSION, IoTCentralError, quoted
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import guarded_patch, raise_conflicts
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import (
    DEVICE_ID_PATTERN,
    TemplateCheck,
    compare,
    desired_fields,
    device_path,
    ensure_device,
    get_device,
    list_devices,
    put_defaults,
    with_status,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.properties import (
    before_values,
    merge_values,
    properties_path,
    property_delta,
    validate_values,
    values_problem,
    write_values,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.capabilities import TemplateReader
from ansible_collections.fleetops.iotcentral.plugins.module_utils.listing import (
    DEFAULT_LIST_CONCURRENCY,
    MAX_LIST_CONCURRENCY,
    RangeFilterRefused,
    list_partitioned,
)

ITEM_FIELDS = ("id", "display_name", "template", "simulated", "enabled", "organizations", "state", "properties")
DEFAULT_FIELDS = ITEM_FIELDS[1:]
STATES = ("present", "absent")
ACTIONS = ("created", "updated", "deleted", "unchanged", "failed")

DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64
DEFAULT_RATE_LIMIT = 20.0
# Listed devices that the purge scope listing did not return: K of them cost K GETs, or one listing of the whole
# application (its size / 100 pages), unknown until listed. Up to this many (one second of the service's budget) are
# read with GETs; above it the whole listing is used, cheaper whenever the application has fewer than 100 x K devices.
LOOKUP_LIMIT = 20
DIFF_MAX_DEVICES = 100
MSG_MAX_FAILURES = 100
# Errors that are about the connection or the credential, not the device: every further write would fail the same way.
SYSTEMIC_STATUSES = (None, 401, 403, 429)

# Without spaces, quotes or parentheses a purge_scope cannot be an OData filter: it is a template id.
TEMPLATE_SCOPE = re.compile(r"^[^\s()']+$")

_TRUE = ("true", "yes", "on", "y", "1")
_FALSE = ("false", "no", "off", "n", "0")


# ----------------------------------------------------------------------------------------- validation
def _boolean(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError("must be true or false, got %s" % quoted(value))


def _text(value):
    # Templated numbers arrive as int with Jinja native types; a display name "42" is still meant as text.
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError("must be a string, got %s" % type(value).__name__)


def _string_list(value):
    if not isinstance(value, (list, tuple)):
        raise ValueError("must be a list of strings, got %s" % type(value).__name__)
    for element in value:
        if not isinstance(element, str):
            raise ValueError("must be a list of strings, got an element of type %s" % type(element).__name__)
    return list(value)


def _organizations(value):
    value = _string_list(value)
    if len(value) > 1:
        raise ValueError("must hold at most one organization id (IoT Central puts a device in one), got %d" % len(value))
    return value


def _state(value):
    if value not in STATES:
        raise ValueError("must be one of %s, got %s" % (", ".join(STATES), quoted(value)))
    return value


CHECKS = {
    "display_name": _text,
    "template": _text,
    "simulated": _boolean,
    "enabled": _boolean,
    "organizations": _organizations,
    "state": _state,
    "properties": validate_values,
}


def _check_fields(where, entry, allowed):
    """Normalized copy of ``entry`` (None for unset fields); raises ValueError naming ``where`` and the field."""
    if not isinstance(entry, dict):
        raise ValueError("%s must be a mapping of device fields, got %s" % (where, type(entry).__name__))
    unknown = sorted(str(key) for key in entry if key not in allowed)
    if unknown:
        shown = ", ".join(quoted(key, 40) for key in unknown[:5]) + (" and %d more" % (len(unknown) - 5) if len(unknown) > 5 else "")
        raise ValueError("%s: unknown field %s; use %s" % (where, shown, ", ".join(allowed)))
    clean = {}
    for field in allowed:
        value = entry.get(field)
        if value is not None and field in CHECKS:
            try:
                value = CHECKS[field](value)
            except ValueError as exc:
                raise ValueError("%s: %s %s" % (where, field, exc))
        clean[field] = value
    return clean


def _item_id(index, item):
    where = "devices[%d]" % index
    device_id = item.get("id") if isinstance(item, dict) else None
    if isinstance(device_id, int) and not isinstance(device_id, bool):
        device_id = str(device_id)
    if device_id is None:
        raise ValueError("%s: id is required" % where)
    if not isinstance(device_id, str) or not DEVICE_ID_PATTERN.match(device_id):
        raise ValueError("%s: id %s is not a valid device id: use 1 to 128 letters, digits and '-' "
                         "(no spaces, dots or underscores)" % (where, quoted(device_id)))
    return device_id


def validate_fleet(devices, defaults=None, purge=False, purge_scope=None):
    """Check every item before any call; return the merged specs (defaults applied, state filled in).

    Raises ValueError with one line: the first problem, named by ``devices[index] (id 'x')`` and field, plus
    how many more items are wrong, so a user fixing a generated list sees the scale of the problem.
    """
    if purge and not (purge_scope or "").strip():
        raise ValueError(
            "purge=true deletes every device that is not listed, so it needs purge_scope to say which devices it "
            "may delete: a filter such as \"template eq 'dtmi:contoso:Thermostat;1'\" or a template id. "
            "Nothing was changed"
        )
    if not isinstance(devices, list):
        raise ValueError("devices must be a list of device specs, got %s" % type(devices).__name__)
    try:
        base = _check_fields("defaults", defaults or {}, DEFAULT_FIELDS)
    except ValueError as exc:
        raise ValueError("%s; nothing was changed" % exc)

    errors = []
    specs = []
    seen = {}
    for index, item in enumerate(devices):
        try:
            device_id = _item_id(index, item)
            where = "devices[%d] (id '%s')" % (index, device_id)
            if device_id in seen:
                raise ValueError("%s: duplicate id, already given at devices[%d]" % (where, seen[device_id]))
            seen[device_id] = index
            spec = _check_fields(where, item, ITEM_FIELDS)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        spec["id"] = device_id
        own_properties = spec["properties"]
        for field in DEFAULT_FIELDS:
            if spec[field] is None and base[field] is not None:
                spec[field] = copy.copy(base[field])
        if base["properties"] is not None:
            # Per property name: an item sets some properties and keeps the defaults' others.
            spec["properties"] = merge_values(base["properties"], own_properties)
        spec["state"] = spec["state"] or "present"
        specs.append(spec)
    if errors:
        more = " (and %d more invalid items)" % (len(errors) - 1) if len(errors) > 1 else ""
        raise ValueError("%s%s; nothing was changed" % (errors[0], more))
    return specs


def scope_filter(purge_scope):
    """The server-side filter for a purge_scope: a template id becomes ``template eq '<id>'``."""
    scope = (purge_scope or "").strip()
    if not scope:
        return None
    if TEMPLATE_SCOPE.match(scope):
        return "template eq '%s'" % scope.replace("'", "''")
    return scope


# ----------------------------------------------------------------------------------------- reading
def _run_pool(function, items, concurrency):
    """``function(item)`` for every item on ``concurrency`` threads; results in item order."""
    if not items:
        return []
    if concurrency <= 1 or len(items) == 1:
        return [function(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor  # pylint: disable=import-outside-toplevel

    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return list(pool.map(function, items))


def read_current(client, specs, purge=False, purge_scope=None, concurrency=DEFAULT_CONCURRENCY,
                 list_concurrency=DEFAULT_LIST_CONCURRENCY):
    """Current state of every listed device and, with purge, of every device in the scope.

    Returns ``(current, in_scope)``: ``current`` maps id -> device for the listed devices that exist (and every
    device read); ``in_scope`` is the list of ids the scope filter returned (None without purge).

    Without purge: one listing of the application, pages of 100 (a device absent from it does not exist); none
    for an empty list.
    With purge: the scope listing, which a purge needs anyway; listed devices it did not return (new devices,
    or devices outside the scope) are read one GET each when there are at most LOOKUP_LIMIT of them, otherwise
    by one listing of the whole application.
    Listings are read as ``list_concurrency`` id ranges at once (module_utils/listing.py; 1: one nextLink chain).
    """
    if not purge:
        if not specs:
            return {}, None
        listed = list_devices(client, page_size=MAX_PAGE_SIZE, concurrency=list_concurrency)
        return dict((d["id"], d) for d in listed), None
    in_scope = list_devices(client, filter=scope_filter(purge_scope), page_size=MAX_PAGE_SIZE,
                            concurrency=list_concurrency)
    current = dict((d["id"], d) for d in in_scope)
    missing = [spec["id"] for spec in specs if spec["id"] not in current]
    if len(missing) > LOOKUP_LIMIT:
        for device in list_devices(client, page_size=MAX_PAGE_SIZE, concurrency=list_concurrency):
            current.setdefault(device["id"], device)
    elif missing:
        for device in _run_pool(lambda device_id: get_device(client, device_id), missing, concurrency):
            if device is not None:
                current[device["id"]] = device
    return current, [d["id"] for d in in_scope]


def read_properties_current(client, specs, current, concurrency=DEFAULT_CONCURRENCY):
    """Property values of the listed devices that exist and set ``properties``: one GET each, since no listing shows
    properties, concurrently under the shared rate limiter. Devices to create are not read (they have none yet), and
    devices without ``properties`` cost nothing. Returns id -> properties body."""
    wanted = [spec["id"] for spec in specs
              if spec["state"] == "present" and spec.get("properties") and spec["id"] in current]
    bodies = _run_pool(lambda device_id: client.get(properties_path(device_id), allow_404=True), wanted, concurrency)
    return dict(zip(wanted, bodies))


# ----------------------------------------------------------------------------------------- planning
class Change:
    """What one device needs: ``action`` is created/updated/deleted/unchanged (planned, past tense like results).

    ``properties`` are the property values to write (those that differ), ``properties_before`` what the service
    showed for them."""

    __slots__ = ("id", "action", "spec", "current", "delta", "purge", "properties", "properties_before")

    def __init__(self, device_id, action, spec, current, delta=None, purge=False, properties=None,
                 properties_before=None):
        self.id = device_id
        self.action = action
        self.spec = spec
        self.current = current
        self.delta = delta or {}
        self.purge = purge
        self.properties = properties or {}
        self.properties_before = properties_before or {}

    def __repr__(self):
        return "Change(%r, %r, %r)" % (self.id, self.action, self.delta)


def plan_device(spec, current, properties_current=None):
    """The change one spec needs against ``current`` (None = the device does not exist) and, when the spec sets
    properties, against ``properties_current`` (the device's properties body)."""
    if spec["state"] == "absent":
        return Change(spec["id"], "deleted" if current is not None else "unchanged", spec, current)
    desired = desired_fields(spec)
    wanted = spec.get("properties") or {}
    if current is None:
        return Change(spec["id"], "created", spec, None, desired, properties=dict(wanted))
    delta = compare(desired, current)
    properties = property_delta(wanted, properties_current) if wanted else {}
    return Change(spec["id"], "updated" if delta or properties else "unchanged", spec, current, delta,
                  properties=properties, properties_before=before_values(properties, properties_current))


def check_fleet_properties(client, changes, templates=None):
    """Refuse, before any write, property values the device templates can tell are wrong.

    Only devices whose properties change are checked, with one template read per distinct template (``templates``,
    a capabilities.TemplateReader shared with :func:`check_templates`). Raises ValueError naming the first device
    and property, and how many more devices are wrong.
    """
    templates = templates or TemplateReader(client)
    problems = []
    for change in changes:
        if not change.properties:
            continue
        template_id = change.spec.get("template") or (change.current or {}).get("template")
        if not template_id:
            continue
        problem = values_problem(templates.read(template_id), change.properties, change.id)
        if problem:
            problems.append(problem)
    if problems:
        more = " (and %d more devices with invalid properties)" % (len(problems) - 1) if len(problems) > 1 else ""
        raise ValueError("%s%s; nothing was changed" % (problems[0], more))


def plan_fleet(specs, current, in_scope=None, properties_current=None):
    """Changes for the listed devices (in their order), then purges: in scope, not listed, sorted by id."""
    properties_current = properties_current or {}
    changes = [plan_device(spec, current.get(spec["id"]), properties_current.get(spec["id"])) for spec in specs]
    if in_scope is not None:
        changes.extend(plan_purges(specs, current, in_scope))
    return changes


def plan_purges(specs, current, in_scope):
    """Deletes of the devices in scope that the list does not name, sorted by id."""
    listed = set(spec["id"] for spec in specs)
    return [Change(device_id, "deleted", {"id": device_id, "state": "absent"}, current[device_id], purge=True)
            for device_id in sorted(set(in_scope) - listed)]


def check_templates(client, changes, templates=None):
    """Refuse, before any write, a template id the application does not have: one cached read per distinct
    template that a create or update would write (an unchanged fleet costs no read). ``templates``: a
    capabilities.TemplateReader shared with :func:`check_fleet_properties`."""
    templates = TemplateCheck(client, reader=templates)
    for change in changes:
        template = change.delta.get("template") if change.action in ("created", "updated") else None
        if template is not None and not templates.exists(template):
            naming = sum(1 for other in changes if other.delta.get("template") == template)
            raise ValueError("device '%s': template %r does not exist in this application (%d listed device(s) name "
                             "it); publish it first or fix the id; nothing was changed" % (change.id, template[:200], naming))


# ----------------------------------------------------------------------------------------- applying
def error_line(error):
    """One line for an error, without the method and path (the device id already says which device)."""
    if isinstance(error, IoTCentralError):
        error = copy.copy(error)
        error.method = None
        error.path = None
    return str(error).replace("\n", " ")


class Outcome:
    __slots__ = ("change", "action", "error", "status")

    def __init__(self, change, action, error=None, status=None):
        self.change = change
        self.action = action
        self.error = error
        self.status = status


def device_writer(client):
    """``work(change) -> Outcome``: sends one change's writes. Shared by the threads of one run: an error that is
    not about the device (network, credential, role, throttling that outlasted the retry budget) makes every
    later call return "not sent" instead of failing the same way after its own retries."""
    stop = {"reason": None}
    stop_lock = threading.Lock()

    def work(change):
        with stop_lock:
            reason = stop["reason"]
        if reason is not None:
            return Outcome(change, "failed", "not sent: %s" % reason, None)
        action = None
        try:
            action, _device, _diff = ensure_device(client, change.spec, check_mode=False, current=change.current,
                                                   current_known=True, check_template=False, confirm_create=False)
            if change.properties:
                write_values(client, properties_path(change.id), change.properties)
                if action == "unchanged":
                    action = "updated"
        except IoTCentralError as exc:
            line = error_line(exc)
            if exc.status in SYSTEMIC_STATUSES:
                with stop_lock:
                    if stop["reason"] is None:
                        stop["reason"] = "the write of %s failed with %s, so every other write would too" % (
                            change.id, "HTTP %s" % exc.status if exc.status else "no response")
            if action is not None and action != "unchanged":
                # The device write landed; only its properties failed.
                line = "the device was %s, but its properties were not set: %s" % (action, line)
            return Outcome(change, "failed", line, exc.status)
        return Outcome(change, action)

    return work


def apply_plan(client, changes, check_mode=False, concurrency=DEFAULT_CONCURRENCY):
    """Send the writes the plan needs, ``concurrency`` at a time; a failing device does not stop the others.

    The client's rate limiter is shared by every thread, so concurrency only hides latency; the request rate
    stays at the limit. An error that is not about the device (network, credential, role, throttling that
    outlasted the retries) stops further writes: each would fail the same way, each costing a retry cycle.
    """
    outcomes = dict((change.id, Outcome(change, change.action)) for change in changes)
    todo = [change for change in changes if change.action != "unchanged"]
    if check_mode or not todo:
        return [outcomes[change.id] for change in changes]

    work = device_writer(client)
    for outcome in _run_pool(work, todo, concurrency):
        outcomes[outcome.change.id] = outcome
    return [outcomes[change.id] for change in changes]


def confirm_creates(client, outcomes, known_devices, concurrency=DEFAULT_CONCURRENCY):
    """Read the created devices back and re-converge what a concurrent creator's PUT undid.

    A create is a PUT that replaces the whole device, and the API offers no create-only condition: another task
    that also found the device missing replaces it, and the fields only this run asked for return to their
    defaults. Reading back every device after its own PUT would cost one GET per create (2x the floor); one pass
    after all the creates costs whichever is cheaper: one GET per created device, or a listing of the application
    (``known_devices`` + the creates, 100 per page; 10 pages for 1,000 creates, 1% more requests). Fields back at
    their defaults are re-applied with an etag-guarded PATCH; a value another writer chose fails that device
    (:func:`common.raise_conflicts`). Returns the outcomes, with failures where a device could not be confirmed.
    """
    created = [outcome for outcome in outcomes if outcome.action == "created"]
    if not created:
        return outcomes
    pages = -(-(known_devices + len(created)) // MAX_PAGE_SIZE)
    try:
        if len(created) <= pages:
            found = _run_pool(lambda outcome: get_device(client, outcome.change.id), created, concurrency)
            fresh = dict((outcome.change.id, device) for outcome, device in zip(created, found))
        else:
            fresh = dict((device["id"], device) for device in list_devices(client, page_size=MAX_PAGE_SIZE))
    except IoTCentralError as exc:
        line = "created, but reading it back to confirm that no concurrent writer undid it failed: %s" % error_line(exc)
        return [Outcome(o.change, "failed", line, exc.status) if o.action == "created" else o for o in outcomes]

    def confirm(outcome):
        change = outcome.change
        device = fresh.get(change.id)
        try:
            if device is None:
                raise IoTCentralError("deleted by another writer right after this run created it")
            delta = compare(change.delta, device)
            if delta:
                what = "Device %s" % change.id
                raise_conflicts(what, delta, device, put_defaults(change.id))
                guarded_patch(client, device_path(change.id), delta, device, compare, what)
        except IoTCentralError as exc:
            return Outcome(change, "failed", error_line(exc), exc.status)
        return outcome

    unsettled = [outcome for outcome in created if fresh.get(outcome.change.id) is None
                 or compare(outcome.change.delta, fresh[outcome.change.id])]
    confirmed = dict((outcome.change.id, outcome) for outcome in _run_pool(confirm, unsettled, concurrency))
    return [confirmed.get(outcome.change.id, outcome) for outcome in outcomes]


# ----------------------------------------------------------------------------------------- writing while listing
def span_ids(sorted_ids, span):
    """The ids of ``sorted_ids`` that lie in ``span`` (``(low, low_included, high, high_included)``, listing.read_span)."""
    low, low_included, high, high_included = span
    start = 0 if low is None else (bisect.bisect_left if low_included else bisect.bisect_right)(sorted_ids, low)
    end = len(sorted_ids) if high is None else (bisect.bisect_right if high_included else bisect.bisect_left)(sorted_ids, high)
    return sorted_ids[start:end]


def checks_cannot_fail(specs, templates):
    """True when the checks that run before any write (check_templates, check_fleet_properties) pass for every
    plan the listing could lead to: every template the list names exists, and every device that sets properties
    names its template and all its values fit it (a change writes a subset of them). ``templates``: a
    capabilities.TemplateReader (one read per distinct template, reused by the checks)."""
    for spec in specs:
        if spec["state"] != "present":
            continue
        template_id = spec.get("template")
        if template_id is None:
            if spec.get("properties"):
                return False  # checked against the listed device's template: unknown before its range is read
            continue
        if not templates.exists(template_id):
            return False
        if spec.get("properties") and values_problem(templates.read(template_id), spec["properties"], spec["id"]):
            return False
    return True


class StreamingRun:
    """``device_fleet`` writing while it still lists: the listing is read as id ranges (module_utils/listing.py),
    and as soon as a part of the id space has been listed completely, the listed devices whose ids fall in it are
    planned (present in it: compared; absent from it: created) and their writes go out, under the same rate
    limiter as the rest of the listing.

    What does not change: writes start only once the checks that refuse bad input before any write cannot fail
    for any plan (:func:`checks_cannot_fail`; otherwise they wait for the whole listing and the checks run on the
    whole plan, as without streaming); purges wait for the complete scope listing; with ``purge``, a listed
    device the scope listing does not hold is planned only after its own lookup. Results, diff and their order
    are those of the sequential steps. A failed read fails the run as before while no write was sent; once some
    were, the run reports them, and every device whose state was not read as failed ("not sent").
    """

    def __init__(self, client, specs, purge, purge_scope, concurrency, list_concurrency):
        self.client = client
        self.specs = specs
        self.by_id = dict((spec["id"], spec) for spec in specs)
        self.sorted_ids = sorted(self.by_id)
        self.purge = purge
        self.scope = scope_filter(purge_scope) if purge else None
        self.concurrency = concurrency
        self.list_concurrency = list_concurrency
        self.templates = TemplateReader(client)
        self.write = device_writer(client)
        self.lock = threading.Lock()
        # None: no change needed a write yet; True: writes go out as planned; False: they wait for the listing.
        self.streaming = None
        self.current = {}
        self.planned = set()
        self.changes = {}
        self.waiting = []
        self.planning = []  # futures of (property read, plan[, write]) -> Outcome or None
        self.writes = []  # futures of Outcome
        self.write_requests = {"requests": 0}
        self.pool = None

    # -- planning and writing
    def plan(self, spec, device):
        if spec["id"] in self.planned:
            return
        self.planned.add(spec["id"])
        if device is not None and spec["state"] == "present" and spec.get("properties"):
            # The device's property values decide its plan: one GET, on a write thread.
            self.planning.append(self.pool.submit(self._plan_with_properties, spec, device))
            return
        self.dispatch(plan_device(spec, device))

    def _plan_with_properties(self, spec, device):
        body = self.client.get(properties_path(spec["id"]), allow_404=True)
        return self.dispatch(plan_device(spec, device, body), inline=True)

    def dispatch(self, change, inline=False):
        """Record a change and send its writes now (``inline``: in this thread, returning the Outcome) or on a
        write thread, or keep it for after the listing when the checks could still fail."""
        with self.lock:
            self.changes[change.id] = change
            if change.action == "unchanged":
                return None
            if self.streaming is None:
                self.streaming = checks_cannot_fail(self.specs, self.templates)
            if not self.streaming:
                self.waiting.append(change)
                return None
            if not inline:
                self.writes.append(self.pool.submit(self._write, change))
                return None
        return self._write(change)

    def _write(self, change):
        self.client.count_into(self.write_requests)
        try:
            return self.write(change)
        finally:
            self.client.count_into(None)

    # -- reading
    def listing(self, user_filter, sorted_ids, absent_is_unknown):
        """One listing, planning the specs of every part of the id space as soon as it is complete. Returns the
        ids listed. ``absent_is_unknown``: a spec id the listing does not hold may still exist (outside the purge
        scope), so it is left for the lookup instead of created."""

        def on_span(span, devices):
            found = dict((device["id"], with_status(device)) for device in devices)
            self.current.update(found)
            for device_id in span_ids(sorted_ids, span):
                device = found.get(device_id)
                if device is not None or not absent_is_unknown:
                    self.plan(self.by_id[device_id], device)

        version = self.client.list_api_version()
        try:
            devices = list_partitioned(self.client, user_filter, page_size=MAX_PAGE_SIZE,
                                       concurrency=self.list_concurrency, api_version=version, on_span=on_span)
        except RangeFilterRefused:
            # The single chain, as list_devices falls back to; devices planned from verified ranges keep their plan.
            params = self.client.list_params(filter=user_filter, page_size=MAX_PAGE_SIZE, api_version=version)
            devices = list(self.client.paged("/devices", params=params, api_version=version))
            on_span((None, True, None, False), devices)
        return [device["id"] for device in devices]

    def read(self):
        """The read pass of :func:`read_current`, planning as it goes. Returns the ids in the purge scope (None
        without purge)."""
        if not self.purge:
            self.listing(None, self.sorted_ids, absent_is_unknown=False)
            return None
        in_scope = self.listing(self.scope, self.sorted_ids, absent_is_unknown=True)
        missing = [device_id for device_id in self.sorted_ids if device_id not in self.planned]
        if len(missing) > LOOKUP_LIMIT:
            self.listing(None, missing, absent_is_unknown=False)
        elif missing:
            found = _run_pool(lambda device_id: get_device(self.client, device_id), missing, self.concurrency)
            for device_id, device in zip(missing, found):
                if device is not None:
                    self.current[device_id] = device
                self.plan(self.by_id[device_id], device)
        return in_scope

    # -- the whole run
    def run(self):
        """``(outcomes, number of devices read, requests sent by writes)``, outcomes in the order of the plan."""
        from concurrent.futures import ThreadPoolExecutor  # pylint: disable=import-outside-toplevel

        outcomes = {}
        error = None
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="iotc-write") as pool:
            self.pool = pool
            in_scope = None
            try:
                in_scope = self.read()
            except IoTCentralError as exc:
                error = exc
            for future in self.planning:
                try:
                    outcome = future.result()
                except IoTCentralError as exc:
                    error = error or exc
                    continue
                if outcome is not None:
                    outcomes[outcome.change.id] = outcome
            if error is not None:
                return self._after_read_error(error, outcomes)
            changes = [self.changes[spec["id"]] for spec in self.specs]
            if in_scope is not None:
                changes.extend(plan_purges(self.specs, self.current, in_scope))
            if not self.streaming:
                # No write was sent: the checks refuse bad input on the whole plan, as without streaming.
                check_templates(self.client, changes, self.templates)
                check_fleet_properties(self.client, changes, self.templates)
                self.streaming = True
            later = self.waiting + [change for change in changes if change.purge]
            self.writes.extend(pool.submit(self._write, change) for change in later)
            for future in self.writes:
                outcome = future.result()
                outcomes[outcome.change.id] = outcome
        return [outcomes.get(change.id) or Outcome(change, change.action) for change in changes]

    def _after_read_error(self, error, outcomes):
        for future in self.writes:
            outcome = future.result()
            outcomes[outcome.change.id] = outcome
        if not outcomes:
            raise error  # nothing was written: the run fails as it did before streaming
        line = "not sent: reading the current devices failed, so this device's state is unknown: %s" % error_line(error)
        result = []
        for spec in self.specs:
            change = self.changes.get(spec["id"])
            if change is None:
                result.append(Outcome(Change(spec["id"], "unchanged", spec, None), "failed", line, error.status))
            else:
                result.append(outcomes.get(change.id) or Outcome(change, change.action))
        return result


# ----------------------------------------------------------------------------------------- reporting
def _fields_text(fields):
    order = ("displayName", "template", "simulated", "enabled", "organizations")
    keys = [key for key in order if key in fields] + sorted(key for key in fields if key not in order)
    return " ".join("%s=%s" % (key, json.dumps(fields[key], sort_keys=True)) for key in keys)


def _line(device_id, fields, note=""):
    text = _fields_text(fields)
    return "%s%s%s%s" % (device_id, ": " if text else "", text, note)


def _diff_lines(change):
    """(before line, after line) for one change; None where the device is absent on that side."""
    if change.action == "created":
        return None, _line(change.id, dict(change.delta, **_properties_field(change.properties)))
    if change.action == "deleted":
        current = change.current or {}
        shown = dict((key, current[key]) for key in ("displayName", "template") if current.get(key) is not None)
        return _line(change.id, shown, " (not listed, in purge_scope)" if change.purge else ""), None
    before = dict((key, change.current.get(key)) for key in change.delta)
    before.update(_properties_field(change.properties_before))
    return _line(change.id, before), _line(change.id, dict(change.delta, **_properties_field(change.properties)))


def _properties_field(values):
    return {"properties": values} if values else {}


def fleet_diff(changes, counts):
    """A compact diff: one line per changed device and only the fields that change, at most DIFF_MAX_DEVICES.

    Unchanged devices are left out, so a fleet of 10,000 with 3 changes shows 3 lines, not 10,000 devices.
    """
    changed = sorted((c for c in changes if c.action in ("created", "updated", "deleted")), key=lambda c: c.id)
    before, after = [], []
    for change in changed[:DIFF_MAX_DEVICES]:
        old, new = _diff_lines(change)
        if old is not None:
            before.append(old)
        if new is not None:
            after.append(new)
    if len(changed) > DIFF_MAX_DEVICES:
        more = "... %d more changed devices not shown (see created, updated, deleted)" % (len(changed) - DIFF_MAX_DEVICES)
        before.append(more)
        after.append(more)
    summary = "%d created, %d updated, %d deleted, %d unchanged" % (
        counts["created"], counts["updated"], counts["deleted"], counts["unchanged"])
    return {
        "before_header": "devices (current)",
        "after_header": "devices (%s)" % summary,
        "before": "".join(line + "\n" for line in before),
        "after": "".join(line + "\n" for line in after),
    }


def fleet_result(outcomes, check_mode=False, diff_mode=False, requests=None):
    """Counts and ids per action, errors, changed, and ``msg`` naming every failed device (one line each).

    ``failed`` is Ansible's own result flag, hence ``ids`` and ``counts`` rather than a top-level list per action.
    """
    ids = dict((action, []) for action in ACTIONS)
    errors = []
    for outcome in outcomes:
        ids[outcome.action].append(outcome.change.id)
        if outcome.action == "failed":
            errors.append({"id": outcome.change.id, "action": _VERB[outcome.change.action], "msg": outcome.error,
                           "status": outcome.status})
    counts = dict((action, len(ids[action])) for action in ACTIONS)
    result = {
        "changed": bool(counts["created"] or counts["updated"] or counts["deleted"]),
        "ids": ids,
        "counts": counts,
        "errors": errors,
    }
    if requests is not None:
        result["requests"] = requests
    if diff_mode:
        result["diff"] = fleet_diff([_as_done(outcome) for outcome in outcomes], counts)
    summary = "%d created, %d updated, %d deleted, %d unchanged, %d failed" % (
        counts["created"], counts["updated"], counts["deleted"], counts["unchanged"], counts["failed"])
    if check_mode:
        summary = "check mode, would be: " + summary
    if errors:
        lines = ["%d of %d devices failed (%s):" % (len(errors), len(outcomes), summary)]
        for error in errors[:MSG_MAX_FAILURES]:
            lines.append("%s (%s): %s" % (error["id"], error["action"], error["msg"]))
        if len(errors) > MSG_MAX_FAILURES:
            lines.append("... and %d more failed devices, listed in 'errors'" % (len(errors) - MSG_MAX_FAILURES))
        result["msg"] = "\n".join(lines)
    else:
        result["msg"] = summary
    return result


_VERB = {"created": "create", "updated": "update", "deleted": "delete", "unchanged": "check"}


def _as_done(outcome):
    """The change as it happened: a failed write changed nothing, a 412 re-read may have found nothing to do."""
    change = outcome.change
    if outcome.action == change.action:
        return change
    return Change(change.id, outcome.action, change.spec, change.current, change.delta, change.purge,
                  change.properties, change.properties_before)


# ----------------------------------------------------------------------------------------- the whole run
def converge_fleet(client, params, check_mode=False, diff_mode=False):
    """Validate, read, plan, apply and report; ``params`` are the device_fleet module options."""
    purge = bool(params.get("purge"))
    specs = validate_fleet(params.get("devices") or [], params.get("defaults"), purge, params.get("purge_scope"))
    concurrency = params.get("concurrency")
    if concurrency is None:
        concurrency = DEFAULT_CONCURRENCY
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError("concurrency must be between 1 and %d, got %s" % (MAX_CONCURRENCY, concurrency))
    list_concurrency = params.get("list_concurrency")
    if list_concurrency is None:
        list_concurrency = DEFAULT_LIST_CONCURRENCY
    if not 1 <= list_concurrency <= MAX_LIST_CONCURRENCY:
        raise ValueError("list_concurrency must be between 1 (one nextLink chain) and %d, got %s"
                         % (MAX_LIST_CONCURRENCY, list_concurrency))

    start = dict(client.stats)
    if not check_mode and specs and list_concurrency > 1 and client.list_api_version() == PREVIEW_API_VERSION:
        run = StreamingRun(client, specs, purge, params.get("purge_scope"), concurrency, list_concurrency)
        outcomes = confirm_creates(client, run.run(), len(run.current), concurrency)
        end = dict(client.stats)
        writes = run.write_requests["requests"]
        requests = {
            # Writes are the requests the write threads sent; reads are all the others (listing, property and
            # template reads, the read-back that confirms the creates).
            "reads": end["requests"] - start["requests"] - writes,
            "writes": writes,
            "retries": end["retries"] - start["retries"],
            "throttled": end["throttled"] - start["throttled"],
        }
        return fleet_result(outcomes, check_mode=check_mode, diff_mode=diff_mode, requests=requests)
    current, in_scope = read_current(client, specs, purge, params.get("purge_scope"), concurrency,
                                     list_concurrency)
    properties_current = read_properties_current(client, specs, current, concurrency)
    changes = plan_fleet(specs, current, in_scope if purge else None, properties_current)
    templates = TemplateReader(client)  # one read per template for both checks
    check_templates(client, changes, templates)
    check_fleet_properties(client, changes, templates)
    after_read = dict(client.stats)
    outcomes = apply_plan(client, changes, check_mode=check_mode, concurrency=concurrency)
    after_write = dict(client.stats)
    if not check_mode:
        outcomes = confirm_creates(client, outcomes, len(current), concurrency)
    end = dict(client.stats)
    requests = {
        # Reads include the read-back that confirms the creates (and its rare re-converging PATCHes).
        "reads": after_read["requests"] - start["requests"] + end["requests"] - after_write["requests"],
        "writes": after_write["requests"] - after_read["requests"],
        "retries": end["retries"] - start["retries"],
        "throttled": end["throttled"] - start["throttled"],
    }
    return fleet_result(outcomes, check_mode=check_mode, diff_mode=diff_mode, requests=requests)
