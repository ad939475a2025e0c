#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: scheduled_job
short_description: Create, update or delete a scheduled job in an Azure IoT Central application
version_added: 1.0.0
description:
  - Makes one IoT Central scheduled job match the given settings, idempotently. A scheduled job runs a job (see
    M(fleetops.iotcentral.job)) on a device group at its start time, once or again every day, week or month.
  - A missing scheduled job is created with C(PUT). An existing one is updated with a merge-patch C(PATCH) of only
    the fields that differ from what was asked, guarded by its etag. Options that are not given are not compared, so
    a second run with the same settings sends no write.
  - O(schedule.start) is compared as an instant (C(2030-01-31T08:00:00Z) and C(2030-01-31T08:00:00.000Z) are the
    same), O(data) as given.
  - Before creating it or changing its group or data, the module reads the device group and the target templates
    once and refuses, without writing, what cannot run (the checks of M(fleetops.iotcentral.job)).
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes
  - fleetops.iotcentral.job
options:
  id:
    description:
      - Scheduled job id. Letters, digits, C(_) and C(-), at most 255 characters.
    type: str
    required: true
    aliases: [scheduled_job_id]
  schedule:
    description:
      - When the jobs run. Required to create a scheduled job.
    type: dict
    suboptions:
      start:
        description: First run, an ISO 8601 date-time (no zone means UTC).
        type: str
        required: true
      recurrence:
        description: Run again every day, week or month. Without it the job runs once.
        type: str
        choices: [daily, weekly, monthly]
      end_date:
        description: Last day a recurring job runs (C(YYYY-MM-DD)).
        type: str
      end_occurrences:
        description: Number of runs after which a recurring job ends (1 to 999).
        type: int
  enabled:
    description:
      - Whether the scheduled job runs. IoT Central creates it disabled unless this is C(true).
    type: bool
  state:
    description:
      - C(present) creates or updates it, C(absent) deletes it (jobs it already ran stay).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Scheduled jobs exist in both api-versions C(2022-07-31) and C(2022-10-31-preview).
seealso:
  - module: fleetops.iotcentral.scheduled_job_info
  - module: fleetops.iotcentral.job
"""

EXAMPLES = r"""
- name: Reset the thermostats' target temperature every Monday at 06:00 UTC
  fleetops.iotcentral.scheduled_job:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: weekly-target-reset
    group: store-thermostats
    data:
      - type: property
        target: "dtmi:contoso:Thermostat;1"
        path: targetTemperature
        value: 20
    schedule:
      start: "2030-01-07T06:00:00Z"
      recurrence: weekly
      end_occurrences: 52
    enabled: true

- name: Pause it
  fleetops.iotcentral.scheduled_job:
    id: weekly-target-reset
    enabled: false

- name: Remove it
  fleetops.iotcentral.scheduled_job:
    id: weekly-target-reset
    state: absent
"""

RETURN = r"""
scheduled_job:
  description: The scheduled job as the API returns it after the change (in check mode, as it would be).
  returned: when O(state=present)
  type: dict
  sample: {"id": "weekly-target-reset", "group": "store-thermostats", "enabled": true, "completed": false,
           "schedule": {"start": "2030-01-07T06:00:00Z", "recurrence": "weekly",
                        "end": {"type": "occurrences", "occurrences": 52}},
           "data": [{"type": "property", "target": "dtmi:contoso:Thermostat;1", "path": "targetTemperature",
                     "value": 20}]}
action:
  description: What the task did.
  returned: always
  type: str
  choices: [created, updated, deleted, unchanged]
  sample: created
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule, state_argspec
from ansible_collections.fleetops.iotcentral.plugins.module_utils.jobs import job_argument_spec
from ansible_collections.fleetops.iotcentral.plugins.module_utils.scheduledjobs import ensure_scheduled_job


def main():
    module = IoTCentralModule(
        argument_spec=dict(job_argument_spec(), **state_argspec(
            "scheduled_job_id",
            schedule=dict(type="dict", options=dict(
                start=dict(type="str", required=True),
                recurrence=dict(type="str", choices=["daily", "weekly", "monthly"]),
                end_date=dict(type="str"),
                end_occurrences=dict(type="int"),
            )),
            enabled=dict(type="bool"),
        )),
    )
    module.run_state(ensure_scheduled_job, "scheduled_job")


if __name__ == "__main__":
    main()
