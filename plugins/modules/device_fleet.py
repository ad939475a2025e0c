#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_fleet
short_description: Converge many devices of an Azure IoT Central application in one task
version_added: 1.0.0
description:
  - Makes a list of IoT Central devices match the given settings in one task, idempotently, and optionally deletes
    the devices of a given scope that are not listed (O(purge)).
  - Every item is checked before any call is made (ids, field names and types, duplicate ids); one wrong item fails
    the task with one line naming its index, id and field, and nothing is changed.
  - The current state is read with listing calls (pages of 100 devices), not one C(GET) per device. Then only the
    needed writes are sent, O(concurrency) at a time, under one rate limiter shared by every thread
    (O(rate_limit) requests per second). Each device is handled like M(fleetops.iotcentral.device) handles it
    (C(PUT) to create, C(PATCH) of the differing fields guarded by the etag to update, C(DELETE)).
  - A second run with the same settings sends no write, only the listing requests, and reports no change.
  - Items may set writable property values (C(properties), also in O(defaults)), compared and written like
    M(fleetops.iotcentral.device_properties) does at the device's root. No listing shows properties, so each listed
    device that exists and sets C(properties) costs one C(GET) of its properties (concurrent, under the same rate
    limiter); devices to create, and devices without C(properties), cost none. Before any write, the values that
    would change are checked against the device templates (one template read per template); a wrong value fails
    the task naming the device and property, and nothing is changed.
  - Items may set C(edge), C(deployment_manifest) and C(attestation), handled like M(fleetops.iotcentral.device)
    and M(fleetops.iotcentral.device_attestation) handle them. Each deployment manifest named is read once, before
    any write, and counts as assigned when the listed device shows its content (an edited manifest is assigned
    again). No
    listing shows attestations, so each listed device that exists and sets C(attestation) costs one C(GET) of its
    attestation (concurrent, under the same rate limiter); the attestations that would change are planned before
    any write, and a wrong one fails the task naming the device, with nothing changed.
  - A device that fails does not stop the others. The task then fails at the end, after every other device was
    handled, with one line per failed device in C(msg). An error that is not about one device (network,
    credential, role, throttling that outlasted the retries) stops the writes not sent yet, since each would fail
    the same way.
  - A create is a C(PUT), which replaces the whole device, and the API has no create-only condition, so another
    task that also found a device missing can replace it and undo fields only this task set. After its creates,
    the task reads the created devices back once (one C(GET) per created device or one listing of the application,
    whichever is fewer requests; 10 pages for 1,000 creates), re-applies with an etag-guarded C(PATCH) the fields
    that another C(PUT) returned to their defaults, and fails a device whose field another writer set to another
    value (nothing is overwritten then). A concurrent C(PUT) that lands after that read cannot be seen by this task.
  - A write whose answer is lost (connection reset, timeout, HTTP 5xx after the retries) is settled by reading the
    device again. The device counts as done when it shows the change, fails with "the change was not applied" when
    it does not, and fails with "outcome unknown" only when that read fails too.
author:
  - fleetops engineering (@fleetops)
extends_documentation_fragment:
  - fleetops.iotcentral.connection
  - fleetops.iotcentral.attributes
attributes:
  check_mode:
    details: The current state is read (listing requests) and no write is sent.
  diff_mode:
    details:
      - One line per device that changes, with only the fields that change, at most 100 devices (the rest are
        counted). Unchanged devices are not shown.
options:
  devices:
    description:
      - The devices to converge. Each item has the fields of M(fleetops.iotcentral.device).
      - A field an item does not set (or sets to V(null)) is taken from O(defaults); a field set nowhere is not
        managed (an existing device keeps its value).
      - Ids must be unique in the list.
    type: list
    elements: dict
    required: true
    suboptions:
      id:
        description:
          - Device id. Letters, digits and C(-), at most 128 characters.
        type: str
        required: true
      display_name:
        description:
          - Display name shown in IoT Central. When a device is created without one, IoT Central uses the id.
        type: str
      template:
        description:
          - Id of the device template the device uses, for example C(dtmi:contoso:Thermostat;1).
          - The template must be published in the application. Before any write, each distinct template that a
            create or update would set is read once; an unknown one fails the task, naming the device.
        type: str
      simulated:
        description:
          - Whether IoT Central simulates the device.
        type: bool
      enabled:
        description:
          - Whether the device may connect. V(false) blocks the device.
        type: bool
      organizations:
        description:
          - Ids of the organizations the device belongs to; V([]) removes the device from its organization.
            IoT Central allows at most one; more is refused before any call, naming the item.
        type: list
        elements: str
      state:
        description:
          - V(present) creates or updates the device, V(absent) deletes it.
          - When neither the item nor O(defaults) sets it, V(present).
        type: str
        choices: [present, absent]
      properties:
        description:
          - Writable property values of the device's root interface, for example C(targetTemperature) set to C(21); a
            component's values as a nested mapping under the component's name.
          - Merged per property name over O(defaults.properties).
          - A value counts as set when it equals the desired value the service shows (pending or acknowledged), else
            the reported value; only differing values are sent, one C(PATCH) per device.
        type: dict
      edge:
        description:
          - V(true) makes the device an IoT Edge device, V(false) a plain IoT device (the O(fleetops.iotcentral.device#module:edge)
            of M(fleetops.iotcentral.device)); needs api-version C(2022-10-31-preview).
        type: bool
      deployment_manifest:
        description:
          - Id of a stored deployment manifest to assign to this IoT Edge device (C(edge=true), or already one).
          - Assigned when the device does not show that manifest's content (so a stored manifest edited since is
            assigned again). Unset never removes one.
        type: str
      attestation:
        description:
          - The device's individual enrollment, with the options of M(fleetops.iotcentral.device_attestation) (C(type)
            is its O(fleetops.iotcentral.device_attestation#module:attestation)). A device without it keeps what it has.
          - An X.509 entry may be given only by its thumbprint (C(primary_sha1_thumbprint), as
            M(fleetops.iotcentral.app_export) writes it) - it is checked, never uploaded, and a device that holds
            another certificate (or none) fails.
        type: dict
        suboptions:
          type:
            description: The attestation type.
            type: str
            choices: [symmetric_key, x509, tpm]
            required: true
          primary_key:
            description: Primary symmetric key (base64); left out, the current or a generated key.
            type: str
          secondary_key:
            description: Secondary symmetric key (base64).
            type: str
          primary_certificate:
            description: Primary client certificate (PEM, or base64 of PEM or DER).
            type: str
          primary_certificate_path:
            description: Path of the primary client certificate file.
            type: path
          primary_sha1_thumbprint:
            description: SHA-1 thumbprint the primary certificate must have (checked, not uploaded).
            type: str
          secondary_certificate:
            description: Secondary client certificate.
            type: str
          secondary_certificate_path:
            description: Path of the secondary client certificate file.
            type: path
          secondary_sha1_thumbprint:
            description: SHA-1 thumbprint the secondary certificate must have.
            type: str
          endorsement_key:
            description: The TPM's endorsement key (base64).
            type: str
  defaults:
    description:
      - Fields applied to every item of O(devices) that does not set them. Same fields as the items, except C(id).
    type: dict
    suboptions:
      display_name:
        description:
          - Display name for every device that has none in its item (rarely useful, since names are usually per device).
        type: str
      template:
        description:
          - Device template id.
        type: str
      simulated:
        description:
          - Whether the devices are simulated.
        type: bool
      enabled:
        description:
          - Whether the devices may connect.
        type: bool
      organizations:
        description:
          - Organization ids.
        type: list
        elements: str
      state:
        description:
          - V(present) or V(absent).
        type: str
        choices: [present, absent]
      properties:
        description:
          - Writable property values for every device; an item's C(properties) override them per name.
        type: dict
      edge:
        description:
          - Whether the devices are IoT Edge devices.
        type: bool
      deployment_manifest:
        description:
          - Deployment manifest id for every IoT Edge device that names none.
        type: str
      attestation:
        description:
          - Individual enrollment for every device that declares none, with the fields of O(devices[].attestation)
            (an item's own attestation replaces it whole).
        type: dict
  purge:
    description:
      - Also delete the devices found in O(purge_scope) that are not in O(devices).
      - Refused without O(purge_scope), so that a purge can never reach the whole application by accident.
    type: bool
    default: false
  purge_scope:
    description:
      - Which devices O(purge) may delete, as a server-side filter of the devices list, for example
        C(template eq 'dtmi:contoso:Thermostat;1') or C(contains(displayName, 'store-12')) (the filter syntax of the
        REST API's devices list).
      - A value without spaces, quotes or parentheses is a device template id, short for
        C(template eq '<value>').
      - Ignored when O(purge=false).
      - With O(purge), the scope is listed first. Listed devices it does not return (new devices, devices outside
        the scope) are read one C(GET) each when there are at most 20 of them, otherwise with one listing of the
        whole application.
    type: str
  concurrency:
    description:
      - How many writes are in flight at once (1 to 64). Concurrency hides the latency of each call; the request
        rate stays bounded by O(rate_limit).
    type: int
    default: 8
  list_concurrency:
    description:
      - How many id ranges of the device list are read at the same time (1 to 32) to learn the current state.
        With real round trips (80-200 ms a page) one C(nextLink) chain cannot use the service's 20 requests per
        second; independent id ranges, split as their first pages show how many devices they hold, can. Every
        device is read exactly once.
      - This is the most ranges read at once. The listing measures each page's round trip and reads only as
        many as keep the rate limit busy (2 when pages come back fast), the lowest ids first.
      - V(1) reads one C(nextLink) chain, as does O(api_version=2022-07-31) (no list parameters) and a service
        that refuses the range filter.
      - With id ranges, writes start while the listing goes on. Once a range has been listed completely, the
        devices of O(devices) whose ids fall in it are compared (or, absent from it, created) and written. This
        happens only when the checks made before any write cannot fail (every template the items name exists,
        every item that sets C(properties) names its template and its values fit it); otherwise, and in check
        mode, the writes wait for the whole listing. Purges always wait for the whole O(purge_scope) listing.
        Results are the same either way. If the listing fails after some writes were sent, the task reports them
        and fails the devices whose state was not read, without writing them.
    type: int
    default: 8
  rate_limit:
    description:
      - Requests per second this task may send; shared by all its threads, with a burst of half a second's worth.
      - The service allows 20 requests per second per application, shared by every client. Tasks, forks and jobs
        of this collection on the same machine share that budget by themselves (a bucket per application in a
        file under the temp dir; E(IOTCENTRAL_SHARED_BUDGET=false) turns it off); this option is the task's own
        share of it. Across several machines give each its share (for example V(10) each for two).
      - An HTTP 429 halves the rate, which then recovers by a tenth of it per second; throttled calls are retried
        until no call got through for 120 seconds.
      - V(0) turns the client-side limit off (for test emulators); throttled calls are still retried with backoff.
    type: float
    default: 20
notes:
  - The result lists every device id; for fleets of many thousands of devices consider C(no_log)
    or not registering it when only the counts matter.
seealso:
  - module: fleetops.iotcentral.device
  - module: fleetops.iotcentral.device_info
"""

EXAMPLES = r"""
- name: Converge the store's thermostats
  fleetops.iotcentral.device_fleet:
    app: contoso-store
    api_token: "{{ iotcentral_api_token }}"
    defaults:
      template: "dtmi:contoso:Thermostat;1"
      simulated: true
    devices:
      - id: checkout-thermostat
        display_name: Checkout thermostat
      - id: storage-thermostat
        display_name: Storage thermostat
        enabled: false
      - id: old-thermostat
        state: absent

- name: 200 generated sensors; delete any other thermostat (connection settings from module_defaults)
  fleetops.iotcentral.device_fleet:
    defaults:
      template: "dtmi:contoso:Thermostat;1"
      simulated: true
    devices: "{{ sensors }}"
    purge: true
    purge_scope: "dtmi:contoso:Thermostat;1"
  vars:
    # [{id: sensor-0001, display_name: Sensor 1}, ...]
    sensors: >-
      {% set ns = namespace(items=[]) %}{% for n in range(1, 201) %}{% set ns.items = ns.items +
      [{'id': 'sensor-%04d' % n, 'display_name': 'Sensor %d' % n}] %}{% endfor %}{{ ns.items }}

- name: Two fleets at once on one application, each with half of the request budget
  fleetops.iotcentral.device_fleet:
    devices: "{{ fleet_devices }}"
    rate_limit: 10
  async: 600
  poll: 0
  register: fleet_job

- name: One setting for the whole fleet, another for one device
  fleetops.iotcentral.device_fleet:
    defaults:
      template: "dtmi:contoso:Thermostat;1"
      properties: {targetTemperature: 21}
    devices:
      - id: checkout-thermostat
      - id: storage-thermostat
        properties: {targetTemperature: 16}

- name: Preview the changes without making them
  fleetops.iotcentral.device_fleet:
    devices: "{{ fleet_devices }}"
  check_mode: true
  diff: true
  register: fleet_plan

- name: Show what would change
  ansible.builtin.debug:
    msg: "{{ fleet_plan.counts }}"
"""

RETURN = r"""
counts:
  description: How many devices ended in each state. In check mode, what would happen.
  returned: always
  type: dict
  contains:
    created:
      description: Devices created.
      type: int
      sample: 997
    updated:
      description: Devices updated.
      type: int
      sample: 1
    deleted:
      description: Devices deleted (state absent, or purged).
      type: int
      sample: 2
    unchanged:
      description: Devices that already matched (or were already absent).
      type: int
      sample: 0
    failed:
      description: Devices whose write failed or was not sent.
      type: int
      sample: 0
  sample: {created: 997, updated: 1, deleted: 2, unchanged: 0, failed: 0}
ids:
  description: The device ids in each state, listed devices in their order, purged ones after them.
  returned: always
  type: dict
  contains:
    created:
      description: Ids of the devices created.
      type: list
      elements: str
    updated:
      description: Ids of the devices updated.
      type: list
      elements: str
    deleted:
      description: Ids of the devices deleted.
      type: list
      elements: str
    unchanged:
      description: Ids of the devices left as they were.
      type: list
      elements: str
    failed:
      description: Ids of the devices that failed.
      type: list
      elements: str
  sample: {created: [sensor-0001], updated: [], deleted: [old-thermostat], unchanged: [sensor-0002], failed: []}
errors:
  description: One entry per failed device.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Device id.
      type: str
      sample: sensor-0003
    action:
      description: What was attempted.
      type: str
      choices: [create, update, delete]
      sample: create
    msg:
      description: The error, one line.
      type: str
      sample: "HTTP 422 UnprocessableEntity: Device template 'dtmi:contoso:Nope;1' does not exist (requestId 4b1e...)"
    status:
      description: HTTP status of the failed call; null when no response arrived or the write was not sent.
      type: int
      sample: 422
  sample: []
attestations:
  description:
    - Ids of the devices whose individual attestation was created, or changed (updated, or replaced by another
      type); in check mode, that would be. They are also among RV(ids.created) and RV(ids.updated).
  returned: always
  type: dict
  sample: {"created": ["gw-7"], "changed": []}
requests:
  description:
    - Requests this task sent, counting retries. C(reads) are those of the reading step (listing pages and
      lookups), C(writes) those of the writing step (also when the two overlap, see O(list_concurrency)).
  returned: always
  type: dict
  contains:
    reads:
      description: Requests sent to read the current state (listings, property reads, template reads).
      type: int
      sample: 10
    writes:
      description: Requests sent to make the changes (including a re-read after an etag conflict).
      type: int
      sample: 1000
    retries:
      description: Requests that were retries of a throttled or transiently failed call.
      type: int
      sample: 0
    throttled:
      description: HTTP 429 answers received.
      type: int
      sample: 0
  sample: {reads: 10, writes: 1000, retries: 0, throttled: 0}
msg:
  description: A one-line summary, or when devices failed, a summary line and then one line per failed device.
  returned: always
  type: str
  sample: 997 created, 1 updated, 2 deleted, 0 unchanged, 0 failed
"""

from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import IoTCentralModule
from ansible_collections.fleetops.iotcentral.plugins.module_utils.fleet import (
    DEFAULT_CONCURRENCY,
    DEFAULT_LIST_CONCURRENCY,
    DEFAULT_RATE_LIMIT,
    MAX_CONCURRENCY,
    converge_fleet,
    secret_values,
)


def converge(module, client):
    # Items are checked by fleet.py (fast for thousands), not by suboptions, so their keys are masked here.
    module.module.no_log_values.update(secret_values(module.params["devices"], module.params["defaults"]))
    result = converge_fleet(client, module.params, check_mode=module.check_mode, diff_mode=module.diff_mode)
    # Every device was tried; the task fails at the end when any of them failed.
    result["failed"] = bool(result["errors"])
    return result


def main():
    module = IoTCentralModule(
        argument_spec=dict(
            devices=dict(type="list", elements="dict", required=True),
            defaults=dict(type="dict"),
            purge=dict(type="bool", default=False),
            purge_scope=dict(type="str"),
            concurrency=dict(type="int", default=DEFAULT_CONCURRENCY),
            list_concurrency=dict(type="int", default=DEFAULT_LIST_CONCURRENCY),
            rate_limit=dict(type="float", default=DEFAULT_RATE_LIMIT),
        ),
    )
    params = module.params
    if not 1 <= params["concurrency"] <= MAX_CONCURRENCY:
        module.fail("concurrency must be between 1 and %d, got %d" % (MAX_CONCURRENCY, params["concurrency"]))
    if params["rate_limit"] < 0:
        module.fail("rate_limit must be 0 (no client-side limit) or a positive number of requests per second")

    client = module.client_for(rate_limit=params["rate_limit"],
                               pool_size=max(params["concurrency"], params["list_concurrency"]))

    module.run(converge, module, client)


if __name__ == "__main__":
    main()
