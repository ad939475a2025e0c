# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Jobs: start a job on a device group once (idempotent by job id), wait for it, stop/resume it, re-run its failed
devices; and the checks that refuse a job that cannot run before anything is written."""

from __future__ import annotations

import re
import time

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import (
    PREVIEW_API_VERSION,
    IoTCentralClient,
    IoTCentralError,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.capabilities import (
    read_template,
    template_model,
    types_of,
    value_problem,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import validate_id
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devicegroups import (
    get_group,
    list_group_members,
    validate_group_id,
)

# The spec's JobId / ScheduledJobId: ^[a-zA-Z0-9_-]*$, at most 255 characters.
JOB_ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")
JOB_ID_RULE = "1 to 255 letters, digits, '_' and '-'"
RERUN_SUFFIX = "-rerun-"
# Room for RERUN_SUFFIX and a number inside the 255 characters a rerun id may have.
MAX_RERUNNABLE_ID = 240

ACTIVE_STATUSES = ("pending", "running")
FINAL_STATUSES = ("complete", "failed", "cancelled")

# Module option value -> the API's job data type (the spec's discriminator values).
DATA_TYPES = {
    "property": "property",
    "cloud_property": "cloudProperty",
    "command": "command",
    "template_migration": "deviceTemplateMigration",
    "manifest_migration": "deviceManifestMigration",
}
CAPABILITY_TYPES = ("property", "cloud_property", "command")
CAPABILITY_KINDS = {"property": "Property", "cloud_property": "CloudProperty", "command": "Command"}


def job_argument_spec():
    """The options of the ``fleetops.iotcentral.job`` doc fragment (what a job does, on which group), for
    the job and scheduled_job modules."""
    limit = dict(type=dict(type="str", default="number", choices=["number", "percentage"]),
                 value=dict(type="float", required=True))
    return dict(
        group=dict(type="str"),
        data=dict(type="list", elements="dict", options=dict(
            type=dict(type="str", required=True, choices=list(DATA_TYPES)),
            target=dict(type="str"),
            path=dict(type="str"),
            value=dict(type="raw"),
            template=dict(type="str"),
            manifest=dict(type="str"),
        )),
        display_name=dict(type="str"),
        description=dict(type="str"),
        batch=dict(type="dict", options=limit),
        cancellation_threshold=dict(type="dict", options=dict(limit, per_batch=dict(type="bool", default=False))),
        organizations=dict(type="list", elements="str"),
    )


def validate_job_id(job_id, field="id", max_length=255):
    validate_id(job_id, JOB_ID_PATTERN, "job id", JOB_ID_RULE, field)
    if len(job_id) > max_length:
        raise ValueError("%s %r is too long to be re-run: rerun_failed needs an id of at most %d characters"
                         % (field, job_id[:60] + "...", max_length))
    return job_id


def job_path(job_id, *rest):
    return IoTCentralClient.path("jobs", job_id, *rest)


def short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# Building and checking a job's body ----------------------------------------------------------------


def limit_body(spec, field, with_batch_flag=False):
    """``batch`` / ``cancellationThreshold`` of the API from ``{type, value[, per_batch]}``; ValueError out of range."""
    if not spec:
        return None
    kind, value = spec.get("type") or "number", spec.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("%s.value is required and must be a number" % field)
    if kind == "percentage" and not 0 < value <= 100:
        raise ValueError("%s.value is a percentage: give a number above 0 and at most 100, not %s" % (field, value))
    if kind == "number" and (value < 1 or value != int(value)):
        raise ValueError("%s.value is a number of devices: give a whole number of at least 1, not %s" % (field, value))
    body = {"type": kind, "value": int(value) if kind == "number" else value}
    if with_batch_flag:
        body["batch"] = bool(spec.get("per_batch"))
    return body


def data_body(items):
    """The API's ``data`` array from the module's items; ValueError naming the item when one is incomplete."""
    if not items:
        raise ValueError("data needs at least one item (a property, cloud property, command or migration)")
    kinds = set(item["type"] for item in items)
    if len(kinds) > 1:
        raise ValueError("data items must all be of the same type (IoT Central runs one kind of job), got %s"
                         % ", ".join(sorted(kinds)))
    body = []
    for index, item in enumerate(items):
        where = "data[%d]" % index
        kind = item["type"]
        entry = {"type": DATA_TYPES[kind]}
        if kind in CAPABILITY_TYPES:
            for name in ("target", "path"):
                if not item.get(name):
                    raise ValueError("%s.%s is required for a %s item (%s)" % (
                        where, name, kind, "the device template id" if name == "target" else "the capability name"))
                entry[name] = item[name]
            if kind != "command" and item.get("value") is None:
                raise ValueError("%s.value is required for a %s item" % (where, kind))
            if item.get("value") is not None:
                entry["value"] = item["value"]
        elif kind == "template_migration":
            if not item.get("template"):
                raise ValueError("%s.template (the device template to migrate to) is required" % where)
            entry["template"] = item["template"]
        else:
            if not item.get("manifest"):
                raise ValueError("%s.manifest (the deployment manifest id) is required" % where)
            entry["manifest"] = item["manifest"]
        body.append(entry)
    return body


def job_body(params):
    """The PUT body of a job (or scheduled job) from module options, checked for what needs no API call."""
    body = {"group": validate_group_id(params.get("group"), field="group"), "data": data_body(params.get("data"))}
    if params.get("display_name") is not None:
        body["displayName"] = params["display_name"]
    if params.get("description") is not None:
        body["description"] = params["description"]
    batch = limit_body(params.get("batch"), "batch")
    if batch:
        body["batch"] = batch
    threshold = limit_body(params.get("cancellation_threshold"), "cancellation_threshold", with_batch_flag=True)
    if threshold:
        body["cancellationThreshold"] = threshold
    if params.get("organizations"):
        if len(params["organizations"]) > 1:
            raise ValueError("organizations takes one organization id (IoT Central supports one per job)")
        body["organizations"] = list(params["organizations"])
    return body


def check_against_templates(client, data, cache=None):
    """Refuse, before any write, items whose template, capability or value type cannot work (one read per template).

    The template's own model decides (``capabilities``, shared with device_properties and device_command); what it
    cannot resolve (a component whose interface the template only references) is left to the service.
    """
    cache = {} if cache is None else cache
    for index, item in enumerate(data):
        where = "data[%d]" % index
        kind = next(name for name, api in DATA_TYPES.items() if api == item["type"])
        template_id = item.get("target") or item.get("template")
        if template_id is None:
            continue
        if template_id not in cache:
            cache[template_id] = read_template(client, template_id)
        field = "target" if "target" in item else "template"
        if cache[template_id] is None:
            raise ValueError("%s.%s: device template %s does not exist in this application" % (where, field, short(template_id)))
        if kind in CAPABILITY_TYPES:
            check_capability(cache[template_id], item, kind, where)


def check_capability(template, item, kind, where):
    component, _slash, name = item["path"].rpartition("/")
    try:
        model = template_model(template, component=component or None)
    except ValueError as exc:
        raise ValueError("%s.path: %s" % (where, exc))
    if not model.known:
        return
    wanted = CAPABILITY_KINDS[kind]
    declared = dict((c["name"], c) for c in model.interface.get("contents") or ()
                    if isinstance(c, dict) and wanted in types_of(c) and (kind != "property" or c.get("writable") is True))
    if name not in declared:
        raise ValueError("%s.path: %s declares no %s %s; %s" % (
            where, model.label, "writable property" if kind == "property" else kind.replace("_", " "), short(name),
            ("it has: " + ", ".join(sorted(declared))) if declared else "it has none"))
    if kind != "command":
        problem = value_problem(declared[name].get("schema"), item.get("value"), "%s.value" % where, model.index)
        if problem:
            hint = ""
            if isinstance(item.get("value"), str) and declared[name].get("schema") not in ("string", "date", "dateTime",
                                                                                           "time", "duration"):
                hint = " (a quoted value is a string: leave numbers and booleans unquoted)"
            raise ValueError(problem + hint)


def check_group(client, group_id):
    if get_group(client, group_id) is None:
        raise ValueError("group: device group %s does not exist; create it first (fleetops.iotcentral.device_group)"
                         % short(group_id))


# Reading and waiting -----------------------------------------------------------------------------


def get_job(client, job_id):
    return client.get(job_path(job_id), allow_404=True)


def failed_devices(client, job):
    """Ids of the job's failed devices; read only when its progress shows failures (the list is one page per 25)."""
    if not (job.get("progress") or {}).get("failed"):
        return []
    return [entry["id"] for entry in client.paged(job_path(job["id"], "devices")) if entry.get("status") == "failed"]


def wait_for(client, job, timeout, interval, sleep=time.sleep, clock=time.monotonic):
    """Poll the job until it is no longer pending or running; ValueError when ``timeout`` seconds pass first.

    Each poll is one GET through the client, so it takes its turn in the shared rate limiter like every request.
    """
    deadline = clock() + timeout
    while job.get("status") in ACTIVE_STATUSES:
        if clock() + interval > deadline:
            progress = job.get("progress") or {}
            raise ValueError(
                "job %s is still %s after wait_timeout=%ss (%s of %s devices done, %s failed); it keeps running in "
                "IoT Central: run the task again to wait more, or raise wait_timeout"
                % (job["id"], job.get("status"), timeout, progress.get("completed", 0) + progress.get("failed", 0),
                   progress.get("total", "?"), progress.get("failed", 0)))
        sleep(interval)
        job = client.get(job_path(job["id"]))
    return job


def attempts(client, job):
    """The job and its reruns (``<id>-rerun-<n>``, as :func:`rerun_failed` names them), oldest first."""
    chain = [job]
    while True:
        rerun = get_job(client, "%s%s%d" % (job["id"], RERUN_SUFFIX, len(chain)))
        if rerun is None:
            return chain
        chain.append(rerun)


def same_job(body, job):
    return all(job.get(key) == value for key, value in body.items() if key in ("group", "data"))


# The module's logic ----------------------------------------------------------------------------------


def ensure_job(client, params, check_mode=False, sleep=time.sleep, clock=time.monotonic):
    """Start, wait for, stop, resume or re-run one job. Returns the module result."""
    job_id = validate_job_id(params["id"], max_length=MAX_RERUNNABLE_ID if params.get("rerun_failed") else 255)
    state = params.get("state") or "present"
    wait = params.get("wait", True)
    timeout = float(params.get("wait_timeout") or 600)
    interval = float(params.get("poll_interval") or 5)
    if timeout <= 0 or interval <= 0:
        raise ValueError("wait_timeout and poll_interval must be positive numbers of seconds")
    body = job_body(params) if params.get("group") is not None or params.get("data") else None
    if body and body["data"][0]["type"] == "deviceManifestMigration":
        client.require_preview("manifest_migration")
        if client.api_version != PREVIEW_API_VERSION:
            raise ValueError("manifest_migration jobs exist only in api_version %s: set api_version to it"
                             % PREVIEW_API_VERSION)
    job = get_job(client, job_id)
    result = {"changed": False, "action": "unchanged", "warnings": []}

    if job is None:
        if state != "present":
            raise ValueError("job %s does not exist, so it cannot be %s; start it with state=present" % (job_id, state))
        if body is None:
            raise ValueError("job %s does not exist; group and data are needed to start it" % job_id)
        check_group(client, body["group"])
        check_against_templates(client, body["data"])
        body.setdefault("displayName", job_id)
        result.update(changed=True, action="started")
        if check_mode:
            targets = [device["id"] for device in list_group_members(client, body["group"], page_size=100)]
            planned = dict(body, id=job_id, status="pending",
                           progress={"total": len(targets), "pending": len(targets), "completed": 0, "failed": 0})
            result.update(job=planned, target_devices=targets, diff={"before": {}, "after": {"id": job_id, "status": "pending"}})
            return finish(result, planned, [])
        job = start(client, job_id, body)
        result["diff"] = {"before": {}, "after": {"id": job_id, "status": job.get("status")}}
    else:
        if body is not None and not same_job(body, job):
            result["warnings"].append("job %s already exists with another group or data; it is left as it is (a job runs "
                                      "once: give the new job a new id)" % job_id)
        before = job.get("status")
        if state == "stopped" and before in ACTIVE_STATUSES:
            if not check_mode:
                job = transition(client, job_id, "stop", ("stopped",))
            result.update(changed=True, action="stopped")
        elif state == "resumed" and before == "stopped":
            if not check_mode:
                job = transition(client, job_id, "resume", ACTIVE_STATUSES + FINAL_STATUSES)
            result.update(changed=True, action="resumed")
        result["diff"] = {"before": {"id": job_id, "status": before},
                          "after": {"id": job_id, "status": job.get("status") if not check_mode else
                                    {"stopped": "stopped", "resumed": "running"}.get(result["action"], before)}}

    if wait and state != "stopped" and not check_mode:
        job = wait_for(client, job, timeout, interval, sleep=sleep, clock=clock)
    chain = attempts(client, job) if job.get("status") in FINAL_STATUSES else [job]
    latest = chain[-1]
    if wait and not check_mode and latest is not job:
        latest = wait_for(client, latest, timeout, interval, sleep=sleep, clock=clock)
    failed = failed_devices(client, latest)
    if params.get("rerun_failed") and failed and latest.get("status") in FINAL_STATUSES:
        rerun_id = "%s%s%d" % (job_id, RERUN_SUFFIX, len(chain))
        result.update(changed=True, action="rerun" if result["action"] == "unchanged" else result["action"] + "+rerun")
        if check_mode:
            result["target_devices"] = failed
        else:
            latest = rerun(client, latest, rerun_id)
            chain.append(latest)
            if wait:
                latest = wait_for(client, latest, timeout, interval, sleep=sleep, clock=clock)
            failed = failed_devices(client, latest)
    result["attempts"] = [attempt["id"] for attempt in chain]
    return finish(result, latest, failed)


def landed_or_raise(client, error, job_id, matches):
    """After a write whose answer was lost (network error, 5xx; or a 409 from our own retried PUT), read the job:
    the write may have landed. Returns the job when it shows the write; raises ``error`` otherwise."""
    if error.status is not None and error.status < 500 and error.status != 409:
        raise error
    landed = get_job(client, job_id)
    if landed is None or not matches(landed):
        raise error
    return landed


def start(client, job_id, body):
    """PUT the job; a lost answer is read back, never guessed."""
    try:
        return client.put(job_path(job_id), body)
    except IoTCentralError as exc:
        return landed_or_raise(client, exc, job_id, lambda landed: same_job(body, landed))


def rerun(client, job, rerun_id):
    """PUT the re-run of ``job``'s failed devices as job ``rerun_id``; a lost answer is read back."""
    try:
        return client.put(job_path(job["id"], "rerun", rerun_id), None)
    except IoTCentralError as exc:
        return landed_or_raise(client, exc, rerun_id, lambda landed: landed.get("data") == job.get("data"))


def transition(client, job_id, action, done_statuses):
    """POST stop/resume, then read the job; a lost answer counts when the job shows the new state."""
    try:
        client.post(job_path(job_id, action))
    except IoTCentralError as exc:
        return landed_or_raise(client, exc, job_id, lambda landed: landed.get("status") in done_statuses)
    return client.get(job_path(job_id))


def finish(result, job, failed):
    result.update(job=job, job_id=job.get("id"), status=job.get("status"), progress=job.get("progress") or {},
                  failed_devices=failed)
    if not result["warnings"]:
        del result["warnings"]
    return result


def list_jobs(client, statuses=None):
    jobs = list(client.paged("/jobs"))
    if statuses:
        jobs = [job for job in jobs if job.get("status") in statuses]
    return jobs


def job_devices(client, job_id, statuses=None):
    devices = list(client.paged(job_path(job_id, "devices")))
    if statuses:
        devices = [entry for entry in devices if entry.get("status") in statuses]
    return devices
