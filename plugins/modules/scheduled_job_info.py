#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: scheduled_job_info
short_description: Read Azure IoT Central scheduled jobs and the jobs they ran
version_added: 1.0.0
description:
  - With O(id), returns that scheduled job; without, every scheduled job of the application.
  - With O(runs=true), each one carries the jobs it has run (C(runs)), with their status and progress.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes.info_module
options:
  id:
    description:
      - Id of one scheduled job. One that does not exist gives an empty RV(scheduled_jobs) list.
    type: str
    aliases: [scheduled_job_id]
  runs:
    description:
      - Also read the jobs each scheduled job has run (one more list request per scheduled job).
    type: bool
    default: false
seealso:
  - module: fleetops.iotcentral.scheduled_job
  - module: fleetops.iotcentral.job_info
"""

EXAMPLES = r"""
- name: A scheduled job and what it ran
  fleetops.iotcentral.scheduled_job_info:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    id: weekly-target-reset
    runs: true
  register: weekly
"""

RETURN = r"""
scheduled_jobs:
  description: The scheduled jobs as the API returns them; with O(runs=true), each with a C(runs) list of jobs.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "weekly-target-reset", "enabled": true, "completed": false,
            "runs": [{"id": "weekly-target-reset-1", "status": "complete", "scheduledJobId": "weekly-target-reset"}]}]
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.scheduledjobs import (
    get_scheduled_job,
    list_scheduled_jobs,
    scheduled_job_runs,
)


def read(module):
    scheduled = module.read_one_or_all(get_scheduled_job, list_scheduled_jobs)
    if module.params["runs"]:
        scheduled = [dict(item, runs=scheduled_job_runs(module.client, item["id"])) for item in scheduled]
    return {"changed": False, "scheduled_jobs": scheduled}


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            id=dict(type="str", aliases=["scheduled_job_id"]),
            runs=dict(type="bool", default=False),
        ),
    )
    module.run(read, module)


if __name__ == "__main__":
    main()
