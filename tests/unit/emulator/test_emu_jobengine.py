"""The job engine (emulator/jobengine.py): units of work, the cancellation threshold, schedules."""

import datetime

import pytest

from emulator import jobengine as engine
from emulator.errors import ApiError


def job(targets=10, batch=None, threshold=None):
    return {"id": "j", "status": "pending", "data": [{"type": "property"}], "batch": batch,
            "cancellationThreshold": threshold, "start": None, "end": None,
            "_targets": ["d%02d" % n for n in range(targets)], "_outcomes": {}, "_reasons": {}, "_cursor": 0, "_due": 1.0}


def failing(*device_ids):
    return lambda device_id, item: "broken" if device_id in device_ids else None


def test_a_unit_runs_per_batch_seconds_and_only_when_due():
    running = job(targets=10, batch={"type": "percentage", "value": 30})
    assert engine.advance(running, 0.5, 1.0, failing()) is False and running["status"] == "pending"
    assert engine.advance(running, 1.0, 1.0, failing()) is True
    assert running["status"] == "running" and engine.progress(running)["completed"] == 3
    engine.advance(running, 3.5, 1.0, failing("d09"))
    assert running["status"] == "running" and engine.progress(running)["completed"] == 9
    engine.advance(running, 4.0, 1.0, failing("d09"))
    assert running["status"] == "failed"
    assert engine.progress(running) == {"total": 10, "pending": 0, "completed": 9, "failed": 1}
    assert running["end"].endswith("Z") and running["start"] <= running["end"]


def test_threshold_over_the_whole_job_or_per_batch():
    whole = job(targets=10, batch={"type": "number", "value": 2}, threshold={"type": "number", "value": 2})
    engine.advance(whole, 100, 1.0, failing("d00", "d03"))
    assert whole["status"] == "cancelled" and engine.progress(whole)["pending"] == 6
    assert [s["status"] for s in engine.device_statuses(whole)][4:] == ["cancelled"] * 6
    per_batch = job(targets=10, batch={"type": "number", "value": 2},
                    threshold={"type": "number", "value": 2, "batch": True})
    engine.advance(per_batch, 100, 1.0, failing("d00", "d03"))
    assert per_batch["status"] == "failed" and engine.progress(per_batch)["failed"] == 2


@pytest.mark.parametrize("limit, message", [
    ({"type": "percentage", "value": 0}, "more than 0"),
    ({"type": "percentage", "value": 101}, "at most 100"),
    ({"type": "number", "value": 1.5}, "whole number"),
    ({"type": "count", "value": 1}, "'number' or 'percentage'"),
    ({"type": "number", "value": "1"}, "must be a number"),
])
def test_limits_out_of_range_are_422(limit, message):
    with pytest.raises(ApiError) as info:
        engine._check_limit({"batch": limit}, "batch", with_batch_flag=False)  # pylint: disable=protected-access
    assert info.value.status == 422 and message in info.value.message


def test_monthly_occurrences_keep_the_day_or_the_month_end():
    schedule = {"start": "2030-01-31T06:00:00Z", "recurrence": "monthly"}
    days = [datetime.datetime.fromtimestamp(engine.occurrence(schedule, n), datetime.timezone.utc).date().isoformat()
            for n in range(4)]
    assert days == ["2030-01-31", "2030-02-28", "2030-03-31", "2030-04-30"]


def test_schedule_ends_by_count_or_date_and_one_time_jobs_run_once():
    start = engine.parse_datetime("2030-01-01T00:00:00Z", "start")
    by_count = {"schedule": {"start": "2030-01-01T00:00:00Z", "recurrence": "daily",
                             "end": {"type": "occurrences", "occurrences": 2}}, "_next": 0}
    assert engine.due_occurrences(by_count, start + 10 * 86400) == [0, 1]
    by_date = {"schedule": {"start": "2030-01-01T00:00:00Z", "recurrence": "weekly",
                            "end": {"type": "date", "date": "2030-01-15"}}, "_next": 0}
    assert engine.due_occurrences(by_date, start + 100 * 86400) == [0, 1, 2]
    once = {"schedule": {"start": "2030-01-01T00:00:00Z"}, "_next": 1}
    assert engine.is_completed(once) and engine.due_occurrences(once, start + 86400) == []


@pytest.mark.parametrize("schedule, field", [
    ({"start": "tomorrow"}, "schedule.start"),
    ({"start": "2030-01-01T00:00:00Z", "recurrence": "yearly"}, "schedule.recurrence"),
    ({"start": "2030-01-01T00:00:00Z", "end": {"type": "occurrences", "occurrences": 1000}}, "schedule.end.occurrences"),
    ({"start": "2030-01-01T00:00:00Z", "end": {"type": "date", "date": "31/12/2030"}}, "schedule.end.date"),
])
def test_bad_schedules_name_the_field(schedule, field):
    with pytest.raises(ApiError) as info:
        engine.validate_schedule(schedule)
    assert info.value.status == 422 and field in info.value.message
