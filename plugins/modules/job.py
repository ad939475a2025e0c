#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: job
short_description: Run an Azure IoT Central job on a device group, wait for it, stop, resume or re-run it
version_added: 1.0.0
description:
  - Starts an IoT Central job that sets property or cloud property values, runs a command, or migrates devices to
    another device template, on every device of a device group, server-side, in batches, with a cancellation
    threshold. One request starts the change on any number of devices, where a loop of per-device updates needs one
    request per device at the service's 20 requests per second.
  - B(Idempotent by job id.) You choose the job id. When a job with that id exists, the task starts nothing and
    reports no change (a second run of the same task sends no write). A job runs once; to apply new values, use a new
    id. When the existing job has another group or other data, the task warns and leaves it alone.
  - Before starting, the module reads the device group and each target device template once, and refuses, without
    writing anything, a group that does not exist, a capability the template does not declare (or a read-only
    property), a value of the wrong type, and a batch or cancellation threshold out of range.
  - With O(wait=true) (the default) the task polls the job until it is complete, failed or cancelled, at most
    O(wait_timeout) seconds, one request per O(poll_interval) through the client's shared rate limiter. The result
    gives the final status, the progress counts and the ids of the devices that failed.
  - O(rerun_failed=true) re-runs the job on its failed devices, once per task run; the re-run is a job with the id
    C(<id>-rerun-<n>), and the next run of the task looks at the latest re-run first, so a re-run that ended with no
    failed device means the task starts nothing more.
  - In check mode nothing is started; the result lists the devices the job would target (the group's members).
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes
  - fleetops.iotcentral.job
options:
  id:
    description:
      - Job id of your choosing. Letters, digits, C(_) and C(-), at most 255 characters (240 with O(rerun_failed)).
      - A task that finds a job with this id does not start another one.
    type: str
    required: true
    aliases: [job_id]
  state:
    description:
      - C(present) starts the job if no job has its id. C(stopped) stops a pending or running job. C(resumed) resumes
        a stopped job. Each reports no change when the job is already so.
    type: str
    choices: [present, stopped, resumed]
    default: present
  wait:
    description:
      - Wait until the job (and a re-run) is no longer pending or running.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait at most. When they pass, the task fails with the job's progress; the job keeps running.
    type: float
    default: 600
  poll_interval:
    description:
      - Seconds between two reads of the job while waiting.
    type: float
    default: 5
  rerun_failed:
    description:
      - When the job (or its latest re-run) ended with failed devices, re-run it on those devices, once per task run.
    type: bool
    default: false
notes:
  - Jobs exist in both api-versions C(2022-07-31) and C(2022-10-31-preview); the module uses the connection's
    O(api_version).
  - The task succeeds when the job ends with failed devices or is cancelled by its threshold; test RV(status) or
    RV(failed_devices) (for example with C(failed_when)) to make that a failure.
  - For the same values on a few devices, M(fleetops.iotcentral.device_fleet) or per-device updates are quicker;
    the collection's guide C(docs/jobs.md) shows where a job starts to win.
seealso:
  - module: fleetops.iotcentral.job_info
  - module: fleetops.iotcentral.scheduled_job
  - module: fleetops.iotcentral.device_group
"""

EXAMPLES = r"""
- name: Set the target temperature on every thermostat of the store
  fleetops.iotcentral.job:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: target-temperature-2024-06
    group: store-thermostats
    data:
      - type: property
        target: "dtmi:contoso:Thermostat;1"
        path: targetTemperature
        value: 21.5
    batch: {type: percentage, value: 25}
    cancellation_threshold: {type: percentage, value: 10}
  register: job

- name: Show what failed
  ansible.builtin.debug:
    msg: "{{ job.status }}: {{ job.progress.failed }} failed ({{ job.failed_devices | join(', ') }})"

- name: Re-run the failed devices (once per run of this task)
  fleetops.iotcentral.job:
    id: target-temperature-2024-06
    rerun_failed: true

- name: Stop a job that is still running
  fleetops.iotcentral.job:
    id: target-temperature-2024-06
    state: stopped
"""

RETURN = r"""
action:
  description: What the task did.
  returned: always
  type: str
  choices: [started, stopped, resumed, rerun, started+rerun, resumed+rerun, unchanged]
  sample: started
job:
  description: The job (its latest re-run when there is one) as the API returns it; in check mode, as it would start.
  returned: success
  type: dict
  sample: {"id": "target-temperature-2024-06", "group": "store-thermostats", "status": "complete",
           "progress": {"total": 1000, "pending": 0, "completed": 1000, "failed": 0}}
job_id:
  description: Id of the job RV(job) describes.
  returned: success
  type: str
  sample: target-temperature-2024-06-rerun-1
status:
  description: The job's status, one of C(pending), C(running), C(complete), C(failed), C(cancelled), C(stopped).
  returned: success
  type: str
  sample: complete
progress:
  description: Device counts of the job.
  returned: success
  type: dict
  contains:
    total:
      description: Devices the job targets.
      type: int
    pending:
      description: Devices not reached yet.
      type: int
    completed:
      description: Devices the job succeeded on.
      type: int
    failed:
      description: Devices the job failed on.
      type: int
  sample: {"total": 1000, "pending": 0, "completed": 990, "failed": 10}
failed_devices:
  description: Ids of the devices the job (its latest re-run) failed on.
  returned: success
  type: list
  elements: str
  sample: [ctl-00001, ctl-00002]
attempts:
  description: Ids of the job and of its re-runs, oldest first.
  returned: when the job exists
  type: list
  elements: str
  sample: [target-temperature-2024-06, target-temperature-2024-06-rerun-1]
target_devices:
  description: In check mode, the ids of the devices the job (or the re-run) would run on.
  returned: check mode, when a job or re-run would start
  type: list
  elements: str
  sample: [th-00001, th-00002]
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.jobs import ensure_job, job_argument_spec


def run(module):
    result = ensure_job(module.client, module.params, check_mode=module.check_mode)
    if not module.diff_mode:
        result.pop("diff", None)
    return result


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            job_argument_spec(),
            id=dict(type="str", required=True, aliases=["job_id"]),
            state=dict(type="str", default="present", choices=["present", "stopped", "resumed"]),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="float", default=600),
            poll_interval=dict(type="float", default=5),
            rerun_failed=dict(type="bool", default=False),
        ),
    )
    module.run(run, module)


if __name__ == "__main__":
    main()
