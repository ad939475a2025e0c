#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: scheduled_job
short_description: Create, update or delete a scheduled job in an Azure IoT Central application
version_added: 0.2.0
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
options:
  id:
    description:
      - Scheduled job id. Letters, digits, C(_) and C(-), at most 255 characters.
    type: str
    required: true
    aliases: [scheduled_job_id]
  group:
    description:
      - Id of the device group the jobs run on. Required to create a scheduled job, and given together with O(data).
    type: str
  data:
    description:
      - What each job does; the same items as M(fleetops.iotcentral.job)'s O(fleetops.iotcentral.job#module:data).
        Required to create a scheduled job.
    type: list
    elements: dict
    suboptions:
      type:
        description: C(property), C(cloud_property), C(command), C(template_migration) or C(manifest_migration).
        type: str
        required: true
        choices: [property, cloud_property, command, template_migration, manifest_migration]
      target:
        description: Id of the device template that declares the capability.
        type: str
      path:
        description: Name of the property or command (C(component/name) inside a component).
        type: str
      value:
        description: The value to set, or the command's request payload.
        type: raw
      template:
        description: Device template to migrate to.
        type: str
      manifest:
        description: Deployment manifest id.
        type: str
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
  display_name:
    description:
      - Display name. A new scheduled job without one is named after its O(id).
    type: str
  description:
    description:
      - Description.
    type: str
  batch:
    description:
      - Batches of this many devices (or this percentage of them).
    type: dict
    suboptions:
      type:
        description: C(number) or C(percentage).
        type: str
        choices: [number, percentage]
        default: number
      value:
        description: Number (a whole number from 1) or percentage (above 0, at most 100).
        type: float
        required: true
  cancellation_threshold:
    description:
      - Cancel a run when this many devices (or this percentage) have failed.
    type: dict
    suboptions:
      type:
        description: C(number) or C(percentage).
        type: str
        choices: [number, percentage]
        default: number
      value:
        description: Number (a whole number from 1) or percentage (above 0, at most 100).
        type: float
        required: true
      per_batch:
        description: Apply the threshold to each batch.
        type: bool
        default: false
  organizations:
    description:
      - The organization the scheduled job belongs to (one).
    type: list
    elements: str
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

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.scheduledjobs import ensure_scheduled_job

LIMIT_OPTIONS = dict(
    type=dict(type="str", default="number", choices=["number", "percentage"]),
    value=dict(type="float", required=True),
)


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            id=dict(type="str", required=True, aliases=["scheduled_job_id"]),
            group=dict(type="str"),
            data=dict(type="list", elements="dict", options=dict(
                type=dict(type="str", required=True, choices=["property", "cloud_property", "command",
                                                                "template_migration", "manifest_migration"]),
                target=dict(type="str"),
                path=dict(type="str"),
                value=dict(type="raw"),
                template=dict(type="str"),
                manifest=dict(type="str"),
            )),
            schedule=dict(type="dict", options=dict(
                start=dict(type="str", required=True),
                recurrence=dict(type="str", choices=["daily", "weekly", "monthly"]),
                end_date=dict(type="str"),
                end_occurrences=dict(type="int"),
            )),
            enabled=dict(type="bool"),
            display_name=dict(type="str"),
            description=dict(type="str"),
            batch=dict(type="dict", options=dict(LIMIT_OPTIONS)),
            cancellation_threshold=dict(type="dict", options=dict(LIMIT_OPTIONS, per_batch=dict(type="bool", default=False))),
            organizations=dict(type="list", elements="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
    )
    module.run(module.converge, ensure_scheduled_job, "scheduled_job")


if __name__ == "__main__":
    main()
