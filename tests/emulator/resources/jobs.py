"""Jobs and scheduled jobs (both api-versions), run by :mod:`emulator.jobengine`.

``PUT /jobs/{jobId}`` snapshots the device group's members and answers the job ``pending``; its units of
work run as the test clock passes (see the engine's docstring). ``GET /jobs/{jobId}/devices`` gives each
device's outcome (``completed``/``failed``, ``pending`` until reached, ``cancelled`` when a cancelled job never
reached it). ``POST .../stop`` and ``.../resume`` pause and continue a pending or running job.
``PUT /jobs/{jobId}/rerun/{rerunId}`` starts a new job with id ``rerunId`` on the failed devices of a
finished job. Scheduled jobs (etag-guarded, merge-patch PATCH) create a job named
``<scheduledJobId>-<n>`` at each occurrence of their schedule while ``enabled`` (a new one is disabled
unless the body says otherwise, as Microsoft's REST how-to shows).

Test-only: ``POST /__emulator__/jobs/clock`` ``{"advanceSeconds": n}`` moves the test clock (due batches
and schedule occurrences then run), ``{"batchSeconds": s}`` sets how much test time a unit of work takes;
a command item runs on each device as ``POST .../commands/{name}`` would, with the item's ``value`` as the
request (it lands in the device's command history), and succeeds when the device answers with a 2xx code: a
simulated device, or one given an answer with ``POST /__emulator__/devices/{deviceId}/commands``; one switched
offline with ``POST /__emulator__/devices/{deviceId}/connectivity`` ``{"online": false}`` fails.
"""

import copy
import re

from ..common import (JSON, MERGE_PATCH, check_body_etag, check_id, check_preconditions, expect_type, fetch, json_object,
                      list_response, merge_patch, no_content, ok)
from ..errors import ApiError
from ..groupquery import compile_query
from .. import jobengine as engine
from . import commands, deploymentmanifests, devicegroups, devices as device_resource, devicetemplates
from .properties import write_properties

PRIORITY = 40  # after devices, device groups, manifests and the property store (30)
JOBS = "jobs"
SCHEDULED = "scheduledJobs"
JOB_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,255}$")
ID_RULE = "1 to 255 letters, digits, '_' and '-'"
LIST_SUPPORT = {True: ("size",), False: ()}
JOB_FIELDS = ("displayName", "description", "group", "batch", "cancellationThreshold", "organizations")
SCHEDULED_FIELDS = JOB_FIELDS + ("data", "schedule", "enabled")
READ_ONLY_SCHEDULED = ("id", "completed")


class _Targets:
    """A job's devices as the list helper pages them (sorted ids; keyset paging by id)."""

    def __init__(self, job):
        self.name = "jobDevices:" + job["id"]
        self._ids = sorted(job["_targets"])
        self._statuses = {entry["id"]: entry for entry in engine.device_statuses(job)}

    def ids(self):
        return self._ids

    def get(self, item_id):
        return self._statuses[item_id]


def render_job(job):
    out = {"id": job["id"], "group": job["group"], "data": copy.deepcopy(job["data"]), "status": job["status"],
           "progress": engine.progress(job)}
    for name in JOB_FIELDS + ("scheduledJobId", "start", "end"):
        if job.get(name) not in (None, []):
            out[name] = copy.deepcopy(job[name])
    return out


def render_scheduled(scheduled):
    out = {"id": scheduled["id"], "group": scheduled["group"], "data": copy.deepcopy(scheduled["data"]),
           "schedule": copy.deepcopy(scheduled["schedule"]), "enabled": scheduled["enabled"],
           "completed": engine.is_completed(scheduled), "etag": scheduled["etag"]}
    for name in JOB_FIELDS:
        if scheduled.get(name) not in (None, []) and name not in out:
            out[name] = copy.deepcopy(scheduled[name])
    return out


def register(emulator):
    store = emulator.store
    jobs = store.collection(JOBS)
    scheduled_jobs = store.collection(SCHEDULED)
    groups = store.collection(devicegroups.COLLECTION)
    devices = store.collection(device_resource.COLLECTION)
    templates = store.collection(devicetemplates.COLLECTION, resettable=False)
    manifests = store.collection(deploymentmanifests.COLLECTION)
    emulator.id_fields[JOBS] = "id"
    emulator.id_fields[SCHEDULED] = "id"
    clock = engine.TestClock(emulator.config.clock)
    settings = {"batchSeconds": engine.DEFAULT_BATCH_SECONDS}
    emulator.job_clock = clock

    def reset_jobs():
        clock.offset = 0.0
        settings["batchSeconds"] = engine.DEFAULT_BATCH_SECONDS

    emulator.reset_hooks.append(reset_jobs)

    # Per-device outcome ---------------------------------------------------------------------

    def run_item(device_id, item):
        device = devices.get(device_id)
        if device is None:
            return "the device no longer exists"
        kind = item["type"]
        if kind in engine.CAPABILITY_TYPES:
            found = engine.capability(templates, device, kind, item["path"])
            if found is None:
                return "device template %r of the device declares no %s %r" % (device.get("template"), kind, item["path"])
            if kind == "command":
                return command_outcome(device, item)
            if kind == "property":
                component, name = engine.split_path(item["path"])
                try:
                    write_properties(emulator, device_id, {name: copy.deepcopy(item.get("value"))}, component=component)
                except ApiError as exc:
                    return exc.message
                return None
            problem = engine.value_problem(templates, found, item.get("value"), kind, item["path"])
            if problem:
                return problem
            values = dict(device.get("_cloudProperties") or {})
            values[item["path"]] = copy.deepcopy(item.get("value"))
            devices.put(device_id, dict(device, _cloudProperties=values))
            return None
        if kind == "deviceTemplateMigration":
            template = templates.get(item["template"])
            device_type = ["iotEdge"] if devicetemplates.is_edge_template(template) else []
            devices.put(device_id, dict(device, template=item["template"], type=device_type, etag=store.new_etag()))
            return None
        if "iotEdge" not in (device.get("type") or ()):
            return "only IoT Edge devices take a deployment manifest"
        manifest = manifests.get(item["manifest"])
        applied = {"id": manifest["id"], "displayName": manifest["displayName"], "data": copy.deepcopy(manifest["data"]),
                   "etag": store.new_etag()}
        devices.put(device_id, dict(device, deploymentManifest=applied, etag=store.new_etag()))
        return None

    def command_outcome(device, item):
        """The command runs as ``POST .../commands/{name}`` with the item's ``value`` as its request
        (emulator/resources/commands.py), so it lands in the device's command history; the device fails when no
        one answers (offline, or neither simulated nor given an answer) or it answers with a non-2xx code."""
        component, name = engine.split_path(item["path"])
        body = {"request": copy.deepcopy(item["value"])} if "value" in item else {}
        try:
            execution = commands.run_command(emulator, device["id"], name, body, component=component)
        except ApiError as exc:
            if exc.status == 504:
                return "the device is not connected, so command %r was not delivered" % item["path"]
            return exc.message
        code = execution.get("responseCode")
        if not 200 <= code < 300:
            return "the device answered command %r with response code %s" % (item["path"], code)
        return None

    # Time -----------------------------------------------------------------------------------

    def new_job(job_id, body, data, targets, scheduled_job_id=None):
        job = {name: copy.deepcopy(body.get(name)) for name in JOB_FIELDS}
        job.update({"id": job_id, "data": data, "status": "pending", "scheduledJobId": scheduled_job_id,
                    "start": None, "end": None, "_targets": sorted(targets), "_outcomes": {}, "_reasons": {},
                    "_cursor": 0, "_due": clock.now() + settings["batchSeconds"]})
        jobs.put(job_id, job)
        return job

    def group_members(group_id):
        group = groups.get(group_id)
        if group is None:
            return []
        member = compile_query(group["filter"])
        return [device["id"] for device in devices.values() if member(device)]

    def fire_schedules(now):
        for scheduled in list(scheduled_jobs.values()):
            if not scheduled["enabled"]:
                continue
            due = engine.due_occurrences(scheduled, now)
            if not due:
                continue
            for number in due:
                job_id = "%s-%d" % (scheduled["id"][:240], number + 1)
                if job_id not in jobs and scheduled["group"] in groups:
                    new_job(job_id, scheduled, copy.deepcopy(scheduled["data"]), group_members(scheduled["group"]),
                            scheduled_job_id=scheduled["id"])
            scheduled_jobs.put(scheduled["id"], dict(scheduled, _next=due[-1] + 1))

    def tick():
        now = clock.now()
        fire_schedules(now)
        for job in list(jobs.values()):
            if job["status"] in engine.ACTIVE and job["_due"] <= now:
                updated = copy.deepcopy(job)
                if engine.advance(updated, now, settings["batchSeconds"], run_item):
                    jobs.put(updated["id"], updated)

    def ticking(handler):
        def run(ctx):
            tick()
            return handler(ctx)
        run.__name__ = handler.__name__
        return run

    # Jobs -----------------------------------------------------------------------------------

    def job_id_of(ctx, name="jobId"):
        return check_id(ctx.params[name], JOB_ID_RE, "job", ID_RULE)

    def get_existing(ctx):
        return fetch(jobs, job_id_of(ctx), "job")

    def list_jobs(ctx):
        return list_response(ctx, jobs, [], {}, render_job, supported=LIST_SUPPORT[ctx.is_preview])

    def get_job(ctx):
        return ok(render_job(get_existing(ctx)))

    def put_job(ctx):
        job_id = job_id_of(ctx)
        body = json_object(ctx.json_body())
        if job_id in jobs:
            raise ApiError(409, "Job %r already exists; a job runs once: choose a new job ID." % job_id)
        data = engine.validate_job_body(body, groups, templates, manifests, ctx.is_preview)
        return ok(render_job(new_job(job_id, body, data, group_members(body["group"]))))

    def job_devices(ctx):
        job = get_existing(ctx)
        return list_response(ctx, _Targets(job), [], {}, dict, supported=())

    def stop_job(ctx):
        job = get_existing(ctx)
        if job["status"] not in engine.ACTIVE:
            raise ApiError(409, "Job %r is %s; only a pending or running job can be stopped." % (job["id"], job["status"]))
        jobs.put(job["id"], dict(job, status="stopped"))
        return no_content()

    def resume_job(ctx):
        job = get_existing(ctx)
        if job["status"] != "stopped":
            raise ApiError(409, "Job %r is %s; only a stopped job can be resumed." % (job["id"], job["status"]))
        status = "running" if job.get("start") else "pending"
        jobs.put(job["id"], dict(job, status=status, _due=clock.now() + settings["batchSeconds"]))
        return no_content()

    def rerun_job(ctx):
        job = get_existing(ctx)
        rerun_id = job_id_of(ctx, "rerunId")
        if rerun_id in jobs:
            raise ApiError(409, "Job %r already exists; choose a new rerun ID." % rerun_id)
        if job["status"] not in engine.FINISHED:
            raise ApiError(409, "Job %r is %s; only a finished job can be rerun." % (job["id"], job["status"]))
        failed = [device_id for device_id, status in job["_outcomes"].items() if status == "failed"]
        if not failed:
            raise ApiError(409, "Job %r has no failed devices to rerun." % job["id"])
        return ok(render_job(new_job(rerun_id, job, copy.deepcopy(job["data"]), failed)))

    # Scheduled jobs -------------------------------------------------------------------------

    def scheduled_id_of(ctx):
        return check_id(ctx.params["scheduledJobId"], JOB_ID_RE, "scheduled job", ID_RULE)

    def get_scheduled(ctx):
        return fetch(scheduled_jobs, scheduled_id_of(ctx), "scheduled job")

    def validate_scheduled(body, preview):
        if body.get("schedule") is None:
            raise ApiError(422, "Field 'schedule' is required.")
        engine.validate_schedule(body["schedule"])
        expect_type(body, "enabled", "boolean")
        expect_type(body, "etag", "string", nullable=True)
        return engine.validate_job_body(body, groups, templates, manifests, preview)

    def store_scheduled(scheduled_id, body, data, previous):
        scheduled = {name: copy.deepcopy(body.get(name)) for name in SCHEDULED_FIELDS}
        scheduled.update({"id": scheduled_id, "data": data, "enabled": bool(body.get("enabled", False)),
                          "etag": store.new_etag()})
        if previous is not None and previous["schedule"] == scheduled["schedule"]:
            scheduled["_next"] = previous["_next"]
        else:
            scheduled["_next"] = 0
        if scheduled["enabled"] and not (previous or {}).get("enabled"):
            # Enabling never runs the past: occurrences before now (while disabled, or before creation) are skipped.
            now = clock.now()
            while True:
                when = engine.occurrence(scheduled["schedule"], scheduled["_next"])
                if when is None or when >= now:
                    break
                scheduled["_next"] += 1
        scheduled_jobs.put(scheduled_id, scheduled)
        return scheduled

    def list_scheduled(ctx):
        return list_response(ctx, scheduled_jobs, [], {}, render_scheduled, supported=LIST_SUPPORT[ctx.is_preview])

    def get_scheduled_job(ctx):
        return ok(render_scheduled(get_scheduled(ctx)))

    def put_scheduled(ctx):
        scheduled_id = scheduled_id_of(ctx)
        body = json_object(ctx.json_body())
        data = validate_scheduled(body, ctx.is_preview)
        existing = scheduled_jobs.get(scheduled_id)
        check_body_etag(body, existing["etag"] if existing else None, "scheduled job %r" % scheduled_id)
        return ok(render_scheduled(store_scheduled(scheduled_id, body, data, existing)))

    def patch_scheduled(ctx):
        existing = get_scheduled(ctx)
        # The spec declares only merge-patch; application/json is taken too, as the service does for the other
        # merge-patch resources that Microsoft's own client PATCHes with it (enrollment groups).
        body = json_object(ctx.json_body(allowed=(JSON, MERGE_PATCH)))
        check_preconditions(ctx, body, existing["etag"], "scheduled job %r" % existing["id"])
        for name in ("group", "data", "schedule"):
            if name in body and body[name] is None:
                raise ApiError(422, "Field '%s' cannot be removed (null)." % name)
        current = {name: existing.get(name) for name in SCHEDULED_FIELDS if existing.get(name) is not None}
        patched = merge_patch(current, {k: v for k, v in body.items() if k not in READ_ONLY_SCHEDULED + ("etag",)})
        data = validate_scheduled(patched, ctx.is_preview)
        return ok(render_scheduled(store_scheduled(existing["id"], patched, data, existing)))

    def delete_scheduled(ctx):
        scheduled = get_scheduled(ctx)
        scheduled_jobs.delete(scheduled["id"])
        return no_content()

    def scheduled_runs(ctx):
        scheduled = get_scheduled(ctx)
        return list_response(ctx, jobs, [], {}, render_job, supported=LIST_SUPPORT[ctx.is_preview],
                             where=lambda job: job.get("scheduledJobId") == scheduled["id"])

    router = emulator.api_router
    router.add("GET", "/api/jobs", ticking(list_jobs))
    router.add("GET", "/api/jobs/{jobId}", ticking(get_job))
    router.add("PUT", "/api/jobs/{jobId}", ticking(put_job))
    router.add("GET", "/api/jobs/{jobId}/devices", ticking(job_devices))
    router.add("POST", "/api/jobs/{jobId}/stop", ticking(stop_job))
    router.add("POST", "/api/jobs/{jobId}/resume", ticking(resume_job))
    router.add("PUT", "/api/jobs/{jobId}/rerun/{rerunId}", ticking(rerun_job))
    router.add("GET", "/api/scheduledJobs", ticking(list_scheduled))
    router.add("GET", "/api/scheduledJobs/{scheduledJobId}", ticking(get_scheduled_job))
    router.add("PUT", "/api/scheduledJobs/{scheduledJobId}", ticking(put_scheduled))
    router.add("PATCH", "/api/scheduledJobs/{scheduledJobId}", ticking(patch_scheduled))
    router.add("DELETE", "/api/scheduledJobs/{scheduledJobId}", ticking(delete_scheduled))
    router.add("GET", "/api/scheduledJobs/{scheduledJobId}/jobs", ticking(scheduled_runs))

    # Test-only endpoints --------------------------------------------------------------------

    def clock_endpoint(ctx):
        body = json_object(ctx.json_body()) if ctx.body else {}
        seconds = body.get("advanceSeconds", 0)
        batch = body.get("batchSeconds", settings["batchSeconds"])
        for name, value in (("advanceSeconds", seconds), ("batchSeconds", batch)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ApiError(422, "%s must be a non-negative number." % name)
        settings["batchSeconds"] = float(batch)
        clock.advance(float(seconds))
        tick()
        return ok({"now": engine.iso(clock.now()), "offsetSeconds": clock.offset,
                   "batchSeconds": settings["batchSeconds"]})

    emulator.admin_router.add("POST", "/__emulator__/jobs/clock", clock_endpoint)
