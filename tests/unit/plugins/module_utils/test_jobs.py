"""Unit tests of the job and scheduled-job logic, against the in-process emulator (rate limit off) with a sleep
that moves the emulator's job clock instead of waiting."""

from __future__ import annotations

import pytest
import requests

from emulator.server import start_emulator
from emulator.defaults import ADMIN_TOKEN

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient, IoTCentralError
from ansible_collections.fleetops.iotcentral.plugins.module_utils.jobs import (
    data_body,
    ensure_job,
    limit_body,
    wait_for,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.scheduledjobs import (
    compare_scheduled,
    ensure_scheduled_job,
    schedule_body,
)

THERMOSTAT = "dtmi:contoso:Thermostat;1"
CONTROLLER = "dtmi:contoso:TemperatureController;1"
SET_TARGET = [{"type": "property", "target": THERMOSTAT, "path": "targetTemperature", "value": 20}]


@pytest.fixture(scope="module")
def emu():
    handle = start_emulator(port=0, rate_limit=0)
    yield handle
    handle.stop()


@pytest.fixture
def client(emu):
    emu.reset()
    emu.emulator.seed_devices(40, prefix="th")
    emu.emulator.seed_devices(2, prefix="ctl", template=CONTROLLER)
    api = IoTCentralClient(emu.base_url, api_token=ADMIN_TOKEN, rate_limit=0)
    api.put("/deviceGroups/all", {"displayName": "All", "filter": "SELECT * FROM devices"})
    yield api
    api.close()


def clock_sleep(emu):
    """A sleep that lets one poll interval pass on the emulator's job clock (no real waiting)."""
    def sleep(seconds):
        emu.emulator.job_clock.advance(seconds)
    return sleep


def set_batch_seconds(emu, seconds):
    requests.post(emu.base_url + "/__emulator__/jobs/clock", json={"batchSeconds": seconds}, timeout=10).raise_for_status()


def params(**overrides):
    base = {"id": "j1", "group": "all", "data": SET_TARGET, "state": "present", "wait": True, "wait_timeout": 600,
            "poll_interval": 1, "rerun_failed": False}
    base.update(overrides)
    return base


def test_limits_are_checked_and_shaped():
    assert limit_body({"type": "percentage", "value": 25.0}, "batch") == {"type": "percentage", "value": 25.0}
    assert limit_body({"type": "number", "value": 5.0, "per_batch": True}, "t", with_batch_flag=True) == {
        "type": "number", "value": 5, "batch": True}
    for spec in ({"type": "percentage", "value": 0}, {"type": "percentage", "value": 100.5},
                 {"type": "number", "value": 0}, {"type": "number", "value": 2.5}):
        with pytest.raises(ValueError, match="batch.value"):
            limit_body(spec, "batch")


def test_data_items_must_be_complete_and_of_one_type():
    assert data_body([{"type": "cloud_property", "target": THERMOSTAT, "path": "p", "value": 1}])[0]["type"] == "cloudProperty"
    with pytest.raises(ValueError, match=r"data\[0\].value is required"):
        data_body([{"type": "property", "target": THERMOSTAT, "path": "p"}])
    with pytest.raises(ValueError, match="same type"):
        data_body([{"type": "command", "target": THERMOSTAT, "path": "a"}, SET_TARGET[0]])
    with pytest.raises(ValueError, match=r"data\[0\].template"):
        data_body([{"type": "template_migration"}])


def test_a_job_runs_to_the_end_and_a_second_run_writes_nothing(emu, client):
    result = ensure_job(client, params(batch={"type": "number", "value": 10}), sleep=clock_sleep(emu))
    assert result["action"] == "started" and result["status"] == "failed"
    assert result["progress"] == {"total": 42, "pending": 0, "completed": 40, "failed": 2}
    assert result["failed_devices"] == ["ctl-00001", "ctl-00002"]
    writes = emu.stats()["writes"]
    again = ensure_job(client, params(batch={"type": "number", "value": 10}), sleep=clock_sleep(emu))
    assert again["changed"] is False and emu.stats()["writes"] == writes


def test_rerun_once_per_task_then_nothing(emu, client):
    ensure_job(client, params(), sleep=clock_sleep(emu))
    first = ensure_job(client, params(rerun_failed=True), sleep=clock_sleep(emu))
    assert first["action"] == "rerun" and first["attempts"] == ["j1", "j1-rerun-1"]
    assert first["failed_devices"] == ["ctl-00001", "ctl-00002"]
    second = ensure_job(client, params(rerun_failed=True), sleep=clock_sleep(emu))
    assert second["attempts"] == ["j1", "j1-rerun-1", "j1-rerun-2"]
    for device in ("ctl-00001", "ctl-00002"):
        client.patch("/devices/" + device, {"template": THERMOSTAT})
    third = ensure_job(client, params(rerun_failed=True), sleep=clock_sleep(emu))
    assert third["job_id"] == "j1-rerun-3" and third["failed_devices"] == [] and third["status"] == "complete"
    writes = emu.stats()["writes"]
    fourth = ensure_job(client, params(rerun_failed=True), sleep=clock_sleep(emu))
    assert fourth["changed"] is False and emu.stats()["writes"] == writes


def test_check_mode_lists_targets_and_writes_nothing(emu, client):
    writes = emu.stats()["writes"]
    result = ensure_job(client, params(), check_mode=True)
    assert result["changed"] and len(result["target_devices"]) == 42
    assert emu.stats()["writes"] == writes and client.get("/jobs/j1", allow_404=True) is None


def test_wait_timeout_reports_progress_and_leaves_the_job_running(emu, client):
    now = [0.0]

    def sleep(seconds):  # time passes for the module, not for the emulator's jobs
        now[0] += seconds

    set_batch_seconds(emu, 3600)
    try:
        with pytest.raises(ValueError, match=r"still pending after wait_timeout=3.0s \(0 of 42 devices done"):
            ensure_job(client, params(wait_timeout=3), sleep=sleep, clock=lambda: now[0])
        assert client.get("/jobs/j1")["status"] == "pending"
    finally:
        set_batch_seconds(emu, 0.2)


def test_a_lost_answer_to_the_put_is_read_back(emu, client):
    class LosingClient(IoTCentralClient):
        def put(self, path, body, api_version=None, headers=None):
            super().put(path, body, api_version=api_version, headers=headers)
            raise IoTCentralError("Network error talking to emulator: connection failed", method="PUT", path=path)

    losing = LosingClient(emu.base_url, api_token=ADMIN_TOKEN, rate_limit=0)
    result = ensure_job(losing, params(wait=False))
    assert result["action"] == "started" and result["job"]["id"] == "j1"


def test_wait_for_polls_through_the_client(emu, client):
    job = client.put("/jobs/j2", {"group": "all", "data": [dict(SET_TARGET[0])]})
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        emu.emulator.job_clock.advance(seconds)

    done = wait_for(client, job, timeout=60, interval=0.5, sleep=sleep)
    assert done["status"] == "failed" and polls and set(polls) == {0.5}


def test_schedule_compares_instants_and_sends_removed_members_as_null():
    want = schedule_body({"start": "2030-01-01T08:00:00+01:00", "recurrence": "daily"})
    assert want == {"start": "2030-01-01T07:00:00Z", "recurrence": "daily"}
    current = {"schedule": {"start": "2030-01-01T07:00:00.000Z", "recurrence": "daily"}}
    assert compare_scheduled({"schedule": want}, current) == {}
    current["schedule"]["end"] = {"type": "occurrences", "occurrences": 3}
    assert compare_scheduled({"schedule": want}, current) == {"schedule": dict(want, end=None)}
    with pytest.raises(ValueError, match="end_date or end_occurrences"):
        schedule_body({"start": "2030-01-01T00:00:00Z", "recurrence": "daily", "end_date": "2030-02-01",
                       "end_occurrences": 2})


def test_scheduled_job_converges(emu, client):
    spec = {"id": "s1", "group": "all", "data": SET_TARGET, "state": "present", "enabled": True,
            "schedule": {"start": "2099-01-01T00:00:00Z", "recurrence": "weekly"}}
    action, created, _diff = ensure_scheduled_job(client, spec)
    assert action == "created" and created["enabled"] is True
    writes = emu.stats()["writes"]
    assert ensure_scheduled_job(client, spec)[0] == "unchanged" and emu.stats()["writes"] == writes
    action, updated, diff = ensure_scheduled_job(client, dict(spec, schedule={"start": "2099-01-01T00:00:00Z"}))
    assert action == "updated" and "recurrence" not in updated["schedule"]
    assert diff["before"]["schedule"]["recurrence"] == "weekly"
    assert ensure_scheduled_job(client, {"id": "s1", "state": "absent"})[0] == "deleted"


def test_lost_answers_to_rerun_and_stop_are_read_back(emu, client):
    ensure_job(client, params(), sleep=clock_sleep(emu))

    class LosingClient(IoTCentralClient):
        def request(self, method, path, **kwargs):
            answer = super().request(method, path, **kwargs)
            if method in ("PUT", "POST"):
                raise IoTCentralError("Network error talking to emulator: connection failed", method=method, path=path)
            return answer

    losing = LosingClient(emu.base_url, api_token=ADMIN_TOKEN, rate_limit=0)
    result = ensure_job(losing, params(rerun_failed=True, wait=False))
    assert result["action"] == "rerun" and result["job_id"] == "j1-rerun-1"
    set_batch_seconds(emu, 3600)
    try:
        ensure_job(losing, params(id="j2", wait=False))
        stopped = ensure_job(losing, params(id="j2", state="stopped"))
        assert stopped["action"] == "stopped" and stopped["status"] == "stopped"
    finally:
        set_batch_seconds(emu, 0.2)
