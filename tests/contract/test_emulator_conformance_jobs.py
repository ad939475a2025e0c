"""Contract tests for jobs and scheduled jobs, in both api-versions.

Same approach as test_emulator_conformance.py (whose helpers are reused): every response is validated by an
independent jsonschema pass over the spec's definitions, and after every test the emulator's own
``spec_violations`` must be empty. The test clock (``POST /__emulator__/jobs/clock``) makes jobs progress.
"""

import json
import os
import sys

import pytest
import requests

from emulator.testing import PREVIEW

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# pylint: disable=wrong-import-position
from test_emulator_conformance import (ADMIN, JOBS_PREFIXES, READER, VERSIONS, Caller,  # noqa: E402
                                       deliberately_invalid_request, implemented_operations)

THERMOSTAT = "dtmi:contoso:Thermostat;1"
CONTROLLER = "dtmi:contoso:TemperatureController;1"
MERGE = dict(ADMIN, **{"Content-Type": "application/merge-patch+json"})
SET_TARGET = [{"type": "property", "target": THERMOSTAT, "path": "targetTemperature", "value": 21.5}]


@pytest.fixture(params=VERSIONS)
def call(request, emu):
    caller = Caller(emu, request.param)
    yield caller
    caller.session.close()


def advance(emu, seconds=3600, batch_seconds=None):
    body = {"advanceSeconds": seconds}
    if batch_seconds is not None:
        body["batchSeconds"] = batch_seconds
    response = requests.post(emu.base_url + "/__emulator__/jobs/clock", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def fleet(emu, call, thermostats=30, controllers=3):
    emu.emulator.seed_devices(thermostats, prefix="th")
    emu.emulator.seed_devices(controllers, prefix="ctl", template=CONTROLLER)
    call("PUT", "deviceGroups/all", 200, json={"displayName": "All", "filter": "SELECT * FROM devices"})


def test_every_job_operation_in_both_versions(call, emu):
    fleet(emu, call)
    size = {"maxpagesize": 1} if call.version == PREVIEW else {}
    job = call("PUT", "jobs/job-1", 200, json={
        "displayName": "Set target temperature", "description": "Thermostats", "group": "all",
        "batch": {"type": "number", "value": 10},
        "cancellationThreshold": {"type": "percentage", "value": 50, "batch": False},
        "data": SET_TARGET, "organizations": ["seattle"]}).json()
    assert job["status"] == "pending" and job["progress"] == {"total": 33, "pending": 33, "completed": 0, "failed": 0}
    call("GET", "jobs/job-1", 200)
    call("POST", "jobs/job-1/stop", 204)
    assert call("GET", "jobs/job-1", 200).json()["status"] == "stopped"
    call("POST", "jobs/job-1/resume", 204)
    advance(emu)
    done = call("GET", "jobs/job-1", 200).json()
    assert done["status"] == "failed" and done["progress"] == {"total": 33, "pending": 0, "completed": 30, "failed": 3}
    assert done["start"] <= done["end"]
    devices = call("GET", "jobs/job-1/devices", 200).json()
    statuses = list(devices["value"])
    while "nextLink" in devices:
        devices = call("GET", devices["nextLink"], 200).json()
        statuses.extend(devices["value"])
    assert [entry["id"] for entry in statuses if entry["status"] == "failed"] == ["ctl-00001", "ctl-00002", "ctl-00003"]
    assert len(statuses) == 33
    rerun = call("PUT", "jobs/job-1/rerun/job-1-rerun-1", 200).json()
    assert rerun["id"] == "job-1-rerun-1" and rerun["progress"]["total"] == 3
    listed = call("GET", "jobs", 200, params=size).json()
    if size:
        call("GET", listed["nextLink"], 200)
    # Scheduled jobs.
    scheduled = call("PUT", "scheduledJobs/nightly", 200, json={
        "displayName": "Nightly", "group": "all", "data": SET_TARGET, "enabled": True,
        "schedule": {"start": "2030-01-01T00:00:00Z", "recurrence": "daily", "end": {"type": "occurrences", "occurrences": 2}},
    }).json()
    assert scheduled["enabled"] is True and scheduled["completed"] is False
    call("PUT", "scheduledJobs/nightly", 200, json={
        "group": "all", "data": SET_TARGET, "enabled": True, "etag": scheduled["etag"],
        "schedule": {"start": "2030-01-01T00:00:00Z", "recurrence": "daily", "end": {"type": "occurrences", "occurrences": 2}}})
    call("GET", "scheduledJobs/nightly", 200)
    patched = call("PATCH", "scheduledJobs/nightly", 200, data=json.dumps({"description": "Two nights"}),
                   headers=MERGE).json()
    assert patched["schedule"]["recurrence"] == "daily"
    if call.version == PREVIEW:
        call("PATCH", "scheduledJobs/nightly", 200, data=json.dumps({"displayName": "Night"}),
             headers=dict(MERGE, **{"If-Match": '"%s"' % patched["etag"]}))
    call("GET", "scheduledJobs", 200, params=size)
    call("GET", "scheduledJobs/nightly/jobs", 200, params=size)
    call("DELETE", "scheduledJobs/nightly", 204)
    exercised = {(method, template) for method, template, status in call.covered if 200 <= status < 300}
    mine = {op for op in implemented_operations(emu, call.version) if op[1].startswith(JOBS_PREFIXES)}
    assert mine and mine <= exercised


def test_threshold_cancels_and_unreached_devices_are_cancelled(call, emu):
    fleet(emu, call, thermostats=20, controllers=4)
    call("PUT", "jobs/cut", 200, json={"group": "all", "data": SET_TARGET, "batch": {"type": "number", "value": 8},
                                       "cancellationThreshold": {"type": "number", "value": 2, "batch": True}})
    advance(emu)
    job = call("GET", "jobs/cut", 200).json()
    assert job["status"] == "cancelled"
    assert job["progress"] == {"total": 24, "pending": 16, "completed": 4, "failed": 4}
    statuses = {entry["status"] for entry in call("GET", "jobs/cut/devices", 200, params={"maxpagesize": 100}).json()["value"]}
    assert statuses == {"failed", "completed", "cancelled"}


def test_commands_fail_on_offline_devices_and_migrations_move_devices(call, emu):
    emu.emulator.seed_devices(4, prefix="sim", simulated=True)
    emu.emulator.seed_devices(2, prefix="ctl", template=CONTROLLER)
    requests.post(emu.base_url + "/__emulator__/devices/sim-00002/connectivity", json={"online": False},
                  timeout=10).raise_for_status()
    requests.post(emu.base_url + "/__emulator__/devices/sim-00003/commands", json={
        "command": "getMaxMinReport", "responseCode": 500}, timeout=10).raise_for_status()
    call("PUT", "deviceGroups/sim", 200, json={"displayName": "Simulated", "filter": "SELECT * FROM devices WHERE $simulated = true"})
    call("PUT", "deviceGroups/ctl", 200, json={"displayName": "Controllers", "filter": "SELECT * FROM devices WHERE $simulated = false"})
    call("PUT", "jobs/report", 200, json={"group": "sim", "data": [
        {"type": "command", "target": THERMOSTAT, "path": "getMaxMinReport", "value": "2024-06-01T00:00:00Z"}]})
    # The class name Microsoft's REST how-to shows is accepted (the spec names the type deviceTemplateMigration).
    with deliberately_invalid_request(emu):
        migration = {"type": "DeviceTemplateMigrationJobData", "template": THERMOSTAT}
        call("PUT", "jobs/migrate", 200, json={"group": "ctl", "data": [migration]})
    advance(emu)
    report = call("GET", "jobs/report", 200).json()
    assert report["progress"]["failed"] == 2
    failed = [entry["id"] for entry in call("GET", "jobs/report/devices", 200).json()["value"] if entry["status"] == "failed"]
    assert failed == ["sim-00002", "sim-00003"]
    migrate = call("GET", "jobs/migrate", 200).json()
    assert migrate["status"] == "complete" and migrate["data"][0]["type"] == "deviceTemplateMigration"
    assert call("GET", "devices/ctl-00001", 200).json()["template"] == THERMOSTAT


def test_job_commands_land_in_the_command_history(call, emu):
    """A command job's executions are what ``POST .../commands/{name}`` would have recorded, device by device."""
    emu.emulator.seed_devices(3, prefix="sim", simulated=True)
    requests.post(emu.base_url + "/__emulator__/devices/sim-00002/commands", json={
        "command": "getMaxMinReport", "responseCode": 500, "response": {"error": "sensor fault"}},
        timeout=10).raise_for_status()
    requests.post(emu.base_url + "/__emulator__/devices/sim-00003/connectivity", json={"online": False},
                  timeout=10).raise_for_status()
    call("PUT", "deviceGroups/sim", 200, json={"displayName": "Simulated", "filter": "SELECT * FROM devices"})
    since = "2024-06-01T00:00:00Z"
    call("PUT", "jobs/report", 200, json={"group": "sim", "data": [
        {"type": "command", "target": THERMOSTAT, "path": "getMaxMinReport", "value": since}]})
    assert call("GET", "devices/sim-00001/commands/getMaxMinReport", 200).json()["value"] == []
    advance(emu)
    assert call("GET", "jobs/report", 200).json()["progress"]["failed"] == 2

    def history(device_id):
        return call("GET", "devices/%s/commands/getMaxMinReport" % device_id, 200).json()["value"]

    answered, = history("sim-00001")
    assert answered["request"] == since and answered["responseCode"] == 200
    assert set(answered["response"]) >= {"maxTemp", "minTemp"} and answered["id"]
    faulty, = history("sim-00002")
    assert faulty["request"] == since and faulty["responseCode"] == 500 and faulty["response"] == {"error": "sensor fault"}
    assert history("sim-00003") == []
    # Offline for a direct call too; the job's execution stays the most recent one.
    call("POST", "devices/sim-00003/commands/getMaxMinReport", 504, json={})
    direct = call("POST", "devices/sim-00001/commands/getMaxMinReport", 201, json={"request": since}).json()
    assert history("sim-00001") == [direct] and direct["id"] != answered["id"]


def test_scheduled_jobs_fire_on_the_test_clock(call, emu):
    fleet(emu, call, thermostats=5, controllers=0)
    schedule = {"start": "2099-01-01T00:00:00Z", "recurrence": "weekly", "end": {"type": "occurrences", "occurrences": 3}}
    call("PUT", "scheduledJobs/weekly", 200, json={"group": "all", "data": SET_TARGET, "schedule": schedule})
    disabled = call("GET", "scheduledJobs/weekly", 200).json()
    assert disabled["enabled"] is False
    call("PATCH", "scheduledJobs/weekly", 200, data=json.dumps({"enabled": True}), headers=MERGE)
    assert call("GET", "scheduledJobs/weekly/jobs", 200).json()["value"] == []
    years = 80 * 365 * 86400
    advance(emu, years)
    runs = call("GET", "scheduledJobs/weekly/jobs", 200).json()["value"]
    assert [run["id"] for run in runs] == ["weekly-1", "weekly-2", "weekly-3"]
    assert {run["scheduledJobId"] for run in runs} == {"weekly"}
    assert call("GET", "scheduledJobs/weekly", 200).json()["completed"] is True


def test_job_errors(call, emu):
    fleet(emu, call, thermostats=3, controllers=0)
    call("GET", "jobs/missing", 404)
    call("GET", "jobs/missing/devices", 404)
    call("POST", "jobs/missing/stop", 404)
    call("GET", "jobs/bad%20id", 400)
    for body in ({"group": "nope", "data": SET_TARGET},
                 {"group": "all", "data": [dict(SET_TARGET[0], path="colour")]},
                 {"group": "all", "data": [dict(SET_TARGET[0], value="warm")]},
                 {"group": "all", "data": SET_TARGET, "cancellationThreshold": {"type": "percentage", "value": 150}},
                 {"group": "all", "data": SET_TARGET, "batch": {"type": "number", "value": 0}}):
        call("PUT", "jobs/bad", 422, json=body)
    for body in ({"data": SET_TARGET}, {"group": "all", "data": []}):
        with deliberately_invalid_request(emu):
            call("PUT", "jobs/bad", 422, json=body)
    call("PUT", "jobs/once", 200, json={"group": "all", "data": SET_TARGET})
    call("PUT", "jobs/once", 409, json={"group": "all", "data": SET_TARGET})
    call("PUT", "jobs/once/rerun/again", 409)
    call("POST", "jobs/once/resume", 409)
    advance(emu)
    call("POST", "jobs/once/stop", 409)
    call("PUT", "jobs/once", 403, json={"group": "all", "data": SET_TARGET}, headers=READER)
    call("GET", "jobs/once", 200, headers=READER)
    call("GET", "scheduledJobs/missing", 404)
    created = call("PUT", "scheduledJobs/s1", 200, json={"group": "all", "data": SET_TARGET,
                                                         "schedule": {"start": "2099-01-01T00:00:00Z"}}).json()
    call("PATCH", "scheduledJobs/s1", 412, data=json.dumps({"etag": "stale", "enabled": True}), headers=MERGE)
    with deliberately_invalid_request(emu):
        call("PATCH", "scheduledJobs/s1", 415, data="{}", headers=dict(ADMIN, **{"Content-Type": "text/plain"}))
    call("PATCH", "scheduledJobs/s1", 422, data=json.dumps({"schedule": {"start": "soon"}}), headers=MERGE)
    with deliberately_invalid_request(emu):
        call("PUT", "scheduledJobs/s2", 422, json={"group": "all", "data": SET_TARGET})
    assert call("GET", "scheduledJobs/s1", 200).json()["etag"] == created["etag"]
