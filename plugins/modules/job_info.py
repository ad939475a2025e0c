#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: job_info
short_description: Read Azure IoT Central jobs and the outcome of each device
version_added: 1.0.0
description:
  - With O(id), returns that job and the status of each of its devices (C(completed), C(failed), C(pending), ...).
  - Without O(id), returns every job of the application, optionally only those with a given O(status).
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes.info_module
options:
  id:
    description:
      - Id of one job. A job that does not exist gives an empty RV(jobs) list.
    type: str
    aliases: [job_id]
  status:
    description:
      - Keep only jobs with one of these statuses (without O(id)).
    type: list
    elements: str
    choices: [pending, running, complete, failed, cancelled, stopped]
  device_status:
    description:
      - With O(id), keep only the devices with one of these statuses, for example C([failed]).
    type: list
    elements: str
  devices:
    description:
      - With O(id), read the per-device statuses (one request per 25 devices). Set to C(false) for the job alone.
    type: bool
    default: true
seealso:
  - module: fleetops.iotcentral.job
"""

EXAMPLES = r"""
- name: The failed devices of a job
  fleetops.iotcentral.job_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: target-temperature-2024-06
    device_status: [failed]
  register: outcome

- name: Every running job
  fleetops.iotcentral.job_info:
    status: [pending, running]
  register: running
"""

RETURN = r"""
jobs:
  description: The jobs, as the API returns them; with O(id), that job with a C(devices) list.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "target-temperature-2024-06", "group": "store-thermostats", "status": "failed",
            "progress": {"total": 1000, "pending": 0, "completed": 990, "failed": 10},
            "devices": [{"id": "ctl-00001", "status": "failed"}]}]
"""

from functools import partial

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.jobs import (
    get_job,
    job_devices,
    list_jobs,
    validate_job_id,
)


def read(module):
    params = module.params
    jobs = module.read_one_or_all(get_job, partial(list_jobs, statuses=params["status"]), validate_id=validate_job_id)
    if params["id"] is not None and params["devices"]:
        jobs = [dict(job, devices=job_devices(module.client, job["id"], params["device_status"])) for job in jobs]
    return {"changed": False, "jobs": jobs}


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            id=dict(type="str", aliases=["job_id"]),
            status=dict(type="list", elements="str",
                        choices=["pending", "running", "complete", "failed", "cancelled", "stopped"]),
            device_status=dict(type="list", elements="str"),
            devices=dict(type="bool", default=True),
        ),
    )
    module.run(read, module)


if __name__ == "__main__":
    main()
