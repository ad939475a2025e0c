"""The job engine behind ``/jobs`` and ``/scheduledJobs``: validation of job bodies, per-device outcomes,
batches, the cancellation threshold and schedules, on a test clock that tests can move forward.

Jobs run for real but lazily: a job's progress is brought up to the test clock's time whenever the jobs API
(or the ``/__emulator__/jobs/...`` endpoints) touches it, one *unit* per ``batch_seconds`` of test time. A
unit is the job's batch (``batch`` number or percentage of its devices) or, without ``batch``, a chunk of
:data:`DEFAULT_CHUNK` devices. Nothing runs in the background, so a test sees the same outcome every time.

Per-device outcomes come from the resource's ``run_item``, one job data item on one device:

* ``property``: written through the property store (:func:`emulator.resources.properties.write_properties`),
  so a property the device's template does not declare (or a mistyped value) fails that device;
* ``cloudProperty``: the device's own template must declare the cloud property at ``path``, with a value of
  its schema;
* ``command``: the device's template must declare the command; it runs as a ``POST .../commands/{name}``
  with the item's ``value`` as request (recorded in the device's command history) and the device must answer
  it with a 2xx response code (simulated, or given an answer by a test; not switched offline with
  ``POST /__emulator__/devices/{id}/connectivity`` ``{"online": false}``).
* ``deviceTemplateMigration``: the device moves to ``template``; ``deviceManifestMigration`` (preview):
  an IoT Edge device gets the deployment manifest.
"""

import calendar
import copy
import datetime
import time

from . import capabilities
from .common import expect_string_list, expect_type, json_type
from .errors import ApiError

JOB_STATUSES = ("pending", "running", "complete", "failed", "cancelled", "stopped")
ACTIVE = ("pending", "running")
FINISHED = ("complete", "failed", "cancelled")
DEFAULT_CHUNK = 100
DEFAULT_BATCH_SECONDS = 0.2
MAX_CATCH_UP = 100

CAPABILITY_TYPES = ("property", "cloudProperty", "command")
# The spec's discriminator values, plus the class names Microsoft's REST how-to shows ("PropertyJobData").
DATA_TYPE_ALIASES = {
    "PropertyJobData": "property",
    "CloudPropertyJobData": "cloudProperty",
    "CommandJobData": "command",
    "DeviceTemplateMigrationJobData": "deviceTemplateMigration",
    "DeviceManifestMigrationJobData": "deviceManifestMigration",
}
RECURRENCES = ("daily", "weekly", "monthly")


class TestClock:
    """Wall-clock time plus an offset that ``POST /__emulator__/jobs/clock`` moves forward."""

    def __init__(self, clock=time.time):
        self._clock = clock
        self.offset = 0.0

    def now(self):
        return self._clock() + self.offset

    def advance(self, seconds):
        self.offset += seconds


def iso(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_datetime(value, field):
    if not isinstance(value, str):
        raise ApiError(422, "Field '%s' must be a date-time string, not %s." % (field, json_type(value)))
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(422, "Field '%s' must be an ISO 8601 date-time such as 2024-01-31T08:00:00Z, not %r."
                       % (field, value[:60])) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.timestamp()


# Capabilities (through the property store's template model) ----------------------------------


def split_path(path):
    """``name`` or ``component/name`` -> (component or None, name)."""
    component, _slash, name = path.rpartition("/")
    return component or None, name


def capability(templates, device, data_type, path):
    """The capability a job item names on ``device`` (``{"template": id}`` works for a template), or None."""
    component, name = split_path(path)
    try:
        model = capabilities.device_model(templates, device, component=component)
    except ApiError:
        return None
    if data_type == "command":
        return model.commands().get(name)
    if data_type == "property":
        return model.properties().get(name)
    cloud = [c for c in model.interface.get("contents") or () if isinstance(c, dict)
             and "CloudProperty" in capabilities.types_of(c)]
    return next((c for c in cloud if c.get("name") == name), None)


def value_problem(templates, found, value, data_type, path):
    """Why ``value`` cannot be written to the capability ``found`` (None when it can)."""
    if data_type == "property" and found.get("writable") is not True:
        return "property %r is read-only (not writable)" % path
    try:
        capabilities.check_value(found.get("schema"), value, path, capabilities.interface_index(templates))
    except ApiError as exc:
        return exc.message.rstrip(".")
    return None


# Job bodies ---------------------------------------------------------------------------------


def _check_limit(body, name, with_batch_flag):
    expect_type(body, name, "object", nullable=False)
    limit = body.get(name)
    if limit is None:
        return
    kind, value = limit.get("type"), limit.get("value")
    if kind not in ("number", "percentage"):
        raise ApiError(422, "Field '%s.type' must be 'number' or 'percentage'." % name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(422, "Field '%s.value' must be a number, not %s." % (name, json_type(value)))
    if kind == "percentage" and not 0 < value <= 100:
        raise ApiError(422, "Field '%s.value' is a percentage: it must be more than 0 and at most 100, not %s."
                       % (name, value))
    if kind == "number" and (value < 1 or value != int(value)):
        raise ApiError(422, "Field '%s.value' is a number of devices: it must be a whole number of at least 1, "
                            "not %s." % (name, value))
    if with_batch_flag:
        expect_type(limit, "batch", "boolean")


def normalize_data(data, templates, manifests, preview):
    """The job's data items with spec type names; 422 naming the first item that cannot run."""
    if not isinstance(data, list) or not data:
        raise ApiError(422, "Field 'data' must be a non-empty array of job data items.")
    known = CAPABILITY_TYPES + ("deviceTemplateMigration",) + (("deviceManifestMigration",) if preview else ())
    items = []
    for index, raw in enumerate(data):
        where = "data[%d]" % index
        if not isinstance(raw, dict):
            raise ApiError(422, "Field '%s' must be an object, not %s." % (where, json_type(raw)))
        item = copy.deepcopy(raw)
        item["type"] = DATA_TYPE_ALIASES.get(item.get("type"), item.get("type"))
        if item["type"] not in known:
            raise ApiError(422, "Field '%s.type' must be one of %s, not %r." % (where, ", ".join(known), raw.get("type")))
        if item["type"] in CAPABILITY_TYPES:
            for name in ("target", "path"):
                if not isinstance(item.get(name), str) or not item[name]:
                    raise ApiError(422, "Field '%s.%s' is required and must be a non-empty string." % (where, name))
            if item["target"] not in templates:
                raise ApiError(422, "Field '%s.target': device template %r does not exist in this application."
                               % (where, item["target"]))
            found = capability(templates, {"id": "", "template": item["target"]}, item["type"], item["path"])
            if found is None:
                raise ApiError(422, "Field '%s.path': device template %r declares no %s %r." % (
                    where, item["target"], {"cloudProperty": "cloud property"}.get(item["type"], item["type"]),
                    item["path"]))
            if item["type"] != "command":
                if "value" not in item:
                    raise ApiError(422, "Field '%s.value' is required for a %s job." % (where, item["type"]))
                problem = value_problem(templates, found, item["value"], item["type"], item["path"])
                if problem:
                    raise ApiError(422, "Field '%s.value': %s." % (where, problem))
        elif item["type"] == "deviceTemplateMigration":
            if item.get("template") not in templates:
                raise ApiError(422, "Field '%s.template': device template %r does not exist in this application."
                               % (where, item.get("template")))
        elif item.get("manifest") not in manifests:
            raise ApiError(422, "Field '%s.manifest': deployment manifest %r does not exist in this application."
                           % (where, item.get("manifest")))
        items.append(item)
    if len({item["type"] for item in items}) > 1:
        raise ApiError(422, "Field 'data': all entries must be of the same type.")
    return items


def validate_job_body(body, groups, templates, manifests, preview):
    """422 naming the field unless ``body`` describes a job that can run; returns its normalized data items."""
    for name in ("group", "data"):
        if body.get(name) is None:
            raise ApiError(422, "Field '%s' is required." % name)
    for name in ("displayName", "description", "group"):
        expect_type(body, name, "string")
    expect_string_list(body, "organizations", max_items=1)
    _check_limit(body, "batch", with_batch_flag=False)
    _check_limit(body, "cancellationThreshold", with_batch_flag=True)
    if body["group"] not in groups:
        raise ApiError(422, "Field 'group': device group %r does not exist in this application." % body["group"])
    return normalize_data(body["data"], templates, manifests, preview)


# Running a job ------------------------------------------------------------------------------


def _count(limit, total):
    if limit["type"] == "percentage":
        return max(1, int(round(total * limit["value"] / 100.0)))
    return int(limit["value"])


def unit_sizes(job):
    """Sizes of the job's consecutive units of work (its batches, or chunks when it has none)."""
    total = len(job["_targets"])
    size = _count(job["batch"], total) if job.get("batch") else DEFAULT_CHUNK
    return max(1, size)


def threshold_crossed(job, batch_failed):
    threshold = job.get("cancellationThreshold")
    if not threshold:
        return False
    per_batch = bool(threshold.get("batch")) and bool(job.get("batch"))
    base = unit_sizes(job) if per_batch else len(job["_targets"])
    failed = batch_failed if per_batch else sum(1 for s in job["_outcomes"].values() if s == "failed")
    return failed >= _count(threshold, base)


def progress(job):
    outcomes = job["_outcomes"].values()
    failed = sum(1 for status in outcomes if status == "failed")
    completed = sum(1 for status in outcomes if status == "completed")
    total = len(job["_targets"])
    return {"total": total, "pending": total - failed - completed, "completed": completed, "failed": failed}


def device_statuses(job):
    waiting = "cancelled" if job["status"] == "cancelled" else "pending"
    return [{"id": device_id, "status": job["_outcomes"].get(device_id, waiting)} for device_id in job["_targets"]]


def advance(job, now, batch_seconds, run_item):
    """Bring ``job`` up to ``now``: every unit whose time has come runs. Returns True if it changed.

    ``run_item(device_id, item)`` applies one data item to one device and returns None or the reason it failed.
    """
    changed = False
    while job["status"] in ACTIVE and job["_due"] <= now:
        if job["status"] == "pending":
            job["status"] = "running"
            job["start"] = iso(job["_due"])
        cursor = job["_cursor"]
        unit = job["_targets"][cursor:cursor + unit_sizes(job)]
        failed_here = 0
        for device_id in unit:
            reason = None
            for item in job["data"]:
                reason = run_item(device_id, item)
                if reason:
                    break
            job["_outcomes"][device_id] = "failed" if reason else "completed"
            if reason:
                job["_reasons"][device_id] = reason
                failed_here += 1
        job["_cursor"] = cursor + len(unit)
        changed = True
        if threshold_crossed(job, failed_here):
            job["status"] = "cancelled"
        elif job["_cursor"] >= len(job["_targets"]):
            job["status"] = "failed" if progress(job)["failed"] else "complete"
        if job["status"] in FINISHED:
            job["end"] = iso(job["_due"])
        job["_due"] += batch_seconds
    return changed


# Schedules ------------------------------------------------------------------------------


def validate_schedule(schedule):
    if not isinstance(schedule, dict):
        raise ApiError(422, "Field 'schedule' must be an object, not %s." % json_type(schedule))
    parse_datetime(schedule.get("start"), "schedule.start")
    recurrence = schedule.get("recurrence")
    if recurrence is not None and recurrence not in RECURRENCES:
        raise ApiError(422, "Field 'schedule.recurrence' must be one of %s, not %r." % (", ".join(RECURRENCES), recurrence))
    end = schedule.get("end")
    if end is None:
        return
    if not isinstance(end, dict) or end.get("type") not in ("date", "occurrences"):
        raise ApiError(422, "Field 'schedule.end' must be an object whose type is 'date' or 'occurrences'.")
    if end["type"] == "date":
        try:
            datetime.date.fromisoformat(str(end.get("date")))
        except ValueError:
            raise ApiError(422, "Field 'schedule.end.date' must be a date such as 2024-12-31.") from None
    else:
        count = end.get("occurrences")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 999:
            raise ApiError(422, "Field 'schedule.end.occurrences' must be a whole number from 1 to 999.")


def occurrence(schedule, number):
    """The time of occurrence ``number`` (0 = the start) of ``schedule``, or None when the schedule has ended."""
    start = parse_datetime(schedule["start"], "schedule.start")
    recurrence = schedule.get("recurrence")
    if recurrence is None and number > 0:
        return None
    end = schedule.get("end") or {}
    if end.get("type") == "occurrences" and number >= end["occurrences"]:
        return None
    if recurrence == "daily":
        when = start + number * 86400
    elif recurrence == "weekly":
        when = start + number * 7 * 86400
    elif recurrence == "monthly":
        first = datetime.datetime.fromtimestamp(start, datetime.timezone.utc)
        month = first.month - 1 + number
        year, month = first.year + month // 12, month % 12 + 1
        day = min(first.day, calendar.monthrange(year, month)[1])
        when = first.replace(year=year, month=month, day=day).timestamp()
    else:
        when = start
    if end.get("type") == "date":
        last = datetime.date.fromisoformat(end["date"])
        if datetime.datetime.fromtimestamp(when, datetime.timezone.utc).date() > last:
            return None
    return when


def due_occurrences(scheduled, now):
    """Numbers of the occurrences of an enabled scheduled job that are due at ``now`` (at most MAX_CATCH_UP)."""
    due = []
    number = scheduled["_next"]
    while len(due) < MAX_CATCH_UP:
        when = occurrence(scheduled["schedule"], number)
        if when is None or when > now:
            break
        due.append(number)
        number += 1
    return due


def is_completed(scheduled):
    return occurrence(scheduled["schedule"], scheduled["_next"]) is None
