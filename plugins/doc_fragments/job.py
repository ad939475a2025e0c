# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """What a job does and on which devices: the options the job and scheduled_job modules share."""

    DOCUMENTATION = r"""
options:
  group:
    description:
      - Id of the device group whose devices the job runs on; its members are taken when a job starts.
      - Required, with O(data), to start a job or create a scheduled job.
    type: str
  data:
    description:
      - What the job does. All items must be of the same O(data[].type).
    type: list
    elements: dict
    suboptions:
      type:
        description:
          - C(property) sets a writable device property, C(cloud_property) a cloud property, C(command) runs a
            command, C(template_migration) moves the devices to another device template, C(manifest_migration)
            assigns an IoT Edge deployment manifest (api-version C(2022-10-31-preview) only).
        type: str
        required: true
        choices: [property, cloud_property, command, template_migration, manifest_migration]
      target:
        description:
          - Id of the device template that declares the capability (C(property), C(cloud_property), C(command)).
        type: str
      path:
        description:
          - Name of the property or command, or C(component/name) for one inside a component.
        type: str
      value:
        description:
          - The value to set, or the command's request payload. Its type must match the capability's schema
            (a number for C(double), a string for C(string), ...).
        type: raw
      template:
        description:
          - Device template to migrate to (C(template_migration)).
        type: str
      manifest:
        description:
          - Deployment manifest id (C(manifest_migration)).
        type: str
  display_name:
    description:
      - Display name. Defaults to the O(id).
    type: str
  description:
    description:
      - Description.
    type: str
  batch:
    description:
      - Run the job in batches of this many devices (or this percentage of them), one batch after the other.
    type: dict
    suboptions:
      type:
        description: C(number) of devices or C(percentage) of the group.
        type: str
        choices: [number, percentage]
        default: number
      value:
        description: Number (a whole number from 1) or percentage (above 0, at most 100).
        type: float
        required: true
  cancellation_threshold:
    description:
      - Cancel the job when this many devices (or this percentage of them) have failed.
    type: dict
    suboptions:
      type:
        description: C(number) of devices or C(percentage).
        type: str
        choices: [number, percentage]
        default: number
      value:
        description: Number (a whole number from 1) or percentage (above 0, at most 100).
        type: float
        required: true
      per_batch:
        description: Apply the threshold to each batch instead of the whole job.
        type: bool
        default: false
  organizations:
    description:
      - The organization the job belongs to (one).
    type: list
    elements: str
"""
