# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scheduled jobs: desired-state logic for the scheduled_job and scheduled_job_info modules."""

from __future__ import annotations

import datetime

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import converge_resource, differences
from ansible_collections.fleetops.iotcentral.plugins.module_utils.jobs import (
    check_against_templates,
    check_group,
    job_body,
    validate_job_id,
)

MERGE_PATCH = "application/merge-patch+json"
DIFF_KEYS = ("id", "displayName", "description", "group", "batch", "cancellationThreshold", "data", "organizations",
             "schedule", "enabled")


def scheduled_job_path(scheduled_job_id, *rest):
    return IoTCentralClient.path("scheduledJobs", scheduled_job_id, *rest)


def parse_instant(value, field="schedule.start"):
    """A date-time string as an aware datetime (no zone = UTC); ValueError naming the field."""
    if isinstance(value, datetime.datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("%s must be an ISO 8601 date-time such as 2030-01-31T08:00:00Z, not %r" % (field, value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed


def schedule_body(spec):
    """The API's ``schedule`` from ``{start, recurrence, end_date, end_occurrences}``."""
    if not spec or not spec.get("start"):
        raise ValueError("schedule.start is required (when the job first runs, e.g. 2030-01-31T08:00:00Z)")
    start = parse_instant(spec["start"])
    body = {"start": start.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if spec.get("recurrence"):
        body["recurrence"] = spec["recurrence"]
    if spec.get("end_date") is not None and spec.get("end_occurrences") is not None:
        raise ValueError("schedule takes end_date or end_occurrences, not both")
    if spec.get("end_date") is not None:
        try:
            end = datetime.date.fromisoformat(str(spec["end_date"]))
        except ValueError:
            raise ValueError("schedule.end_date must be a date such as 2030-12-31, not %r" % spec["end_date"])
        body["end"] = {"type": "date", "date": end.isoformat()}
    elif spec.get("end_occurrences") is not None:
        count = spec["end_occurrences"]
        if not 1 <= count <= 999:
            raise ValueError("schedule.end_occurrences must be from 1 to 999, not %s" % count)
        body["end"] = {"type": "occurrences", "occurrences": count}
    if body.get("end") and not body.get("recurrence"):
        raise ValueError("schedule.end_date / end_occurrences only apply to a recurring schedule; set recurrence")
    return body


def same_schedule(want, have):
    if not isinstance(have, dict):
        return False
    try:
        same_start = parse_instant(want["start"]) == parse_instant(have.get("start"))
    except ValueError:
        same_start = False
    return same_start and want.get("recurrence") == have.get("recurrence") and want.get("end") == have.get("end")


def compare_scheduled(desired, current):
    """What differs; ``schedule`` compares instants (``...Z`` and ``.000Z`` are the same time) and, when it
    differs, is sent whole, with ``null`` for members to drop (the PATCH is a merge patch)."""
    plain = dict((key, value) for key, value in desired.items() if key != "schedule")
    delta = differences(plain, current, list_as_set=("organizations",))
    want = desired.get("schedule")
    if want is not None and not same_schedule(want, (current or {}).get("schedule")):
        have = (current or {}).get("schedule") or {}
        delta["schedule"] = dict(want, **dict((key, None) for key in have if key not in want))
    return delta


def desired_scheduled_job(params):
    """The fields the user asked for (None = not asked); ValueError for what is wrong without an API call."""
    desired = {"displayName": params.get("display_name"), "description": params.get("description"),
               "enabled": params.get("enabled")}
    if params.get("group") is not None or params.get("data"):
        if params.get("group") is None or not params.get("data"):
            raise ValueError("group and data go together: give both (the job's device group and what it does)")
        body = job_body(params)
        desired.update(group=body["group"], data=body["data"], batch=body.get("batch"),
                       cancellationThreshold=body.get("cancellationThreshold"), organizations=body.get("organizations"))
    if params.get("schedule") is not None:
        desired["schedule"] = schedule_body(params["schedule"])
    return desired


def ensure_scheduled_job(client, params, check_mode=False):
    """Converge one scheduled job. Returns ``(action, scheduled_job, diff)``."""
    scheduled_id = validate_job_id(params["id"])
    state = params.get("state") or "present"
    desired = desired_scheduled_job(params) if state == "present" else {}
    current = client.get(scheduled_job_path(scheduled_id), allow_404=True)

    if state == "present" and desired.get("group") is not None:
        delta = compare_scheduled(desired, current) if current is not None else desired
        # Only a create or a new group/data gets the reads that refuse a job that cannot run.
        if "group" in delta or "data" in delta:
            check_group(client, desired["group"])
            check_against_templates(client, desired["data"])

    def create_body():
        missing = [name for name, field in (("group", "group"), ("data", "data"), ("schedule", "schedule"))
                   if desired.get(field) is None]
        if missing:
            raise ValueError("scheduled job %s does not exist; %s needed to create it" % (
                scheduled_id, " and ".join(missing) + (" are" if len(missing) > 1 else " is")))
        body = dict((key, value) for key, value in desired.items() if value is not None)
        body.setdefault("displayName", scheduled_id)
        # The service creates a scheduled job disabled unless told otherwise; say it, so the result is explicit.
        body.setdefault("enabled", False)
        return body

    return converge_resource(client, scheduled_job_path(scheduled_id), scheduled_id, state, current, desired,
                             compare_scheduled, create_body, DIFF_KEYS, "Scheduled job %s" % scheduled_id,
                             check_mode=check_mode, content_type=MERGE_PATCH,
                             recompare=lambda _delta, fresh: compare_scheduled(desired, fresh),
                             planned_view=lambda after: dict(after, schedule=strip_nulls(after.get("schedule"))))


def strip_nulls(schedule):
    if not isinstance(schedule, dict):
        return schedule
    return dict((key, value) for key, value in schedule.items() if value is not None)


def get_scheduled_job(client, scheduled_id):
    return client.get(scheduled_job_path(validate_job_id(scheduled_id)), allow_404=True)


def list_scheduled_jobs(client):
    return list(client.paged("/scheduledJobs"))


def scheduled_job_runs(client, scheduled_id):
    return list(client.paged(scheduled_job_path(scheduled_id, "jobs")))
