# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ansible-independent half of the ``fleetops.iotcentral.devices`` inventory plugin.

Reading the application (devices, device groups and their members) and turning what was read into
hosts (host variables, hostnames, include/exclude, device-group groups) live here, so they can be
unit tested without an inventory, a templar or a network. The plugin only adds templating and the
Ansible inventory calls.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import MAX_PAGE_SIZE, IoTCentralError, clip, quoted
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devicegroups import (
    list_device_groups,
    list_group_members,
    validate_group_id,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import device_status, list_devices
from ansible_collections.fleetops.iotcentral.plugins.module_utils.listing import MAX_LIST_CONCURRENCY

# Bumped whenever the cached structure changes, so an old cache entry is refetched instead of misread.
# 2: the data as one string of JSON (cache_entry).
CACHE_FORMAT = 2
# Compact JSON: the cache plugin escapes the text again (ansible-core 2.19 twice), so every byte saved counts.
COMPACT = (",", ":")

# What the inventory keeps of a device, in the cache and as host variables. A device listing never
# carries keys or tokens; deploymentManifest is dropped as well because a manifest's data can hold
# container registry credentials.
DEVICE_FIELDS = ("id", "displayName", "template", "enabled", "provisioned", "simulated", "organizations", "type")

# API field -> host variable name (before the prefix).
HOSTVAR_FIELDS = (
    ("id", "id"),
    ("displayName", "display_name"),
    ("template", "template"),
    ("enabled", "enabled"),
    ("provisioned", "provisioned"),
    ("simulated", "simulated"),
)

# Every host variable name the plugin sets (before the prefix).
HOSTVAR_NAMES = tuple(name for _field, name in HOSTVAR_FIELDS) + ("organizations", "status", "type", "device_groups")

# hostnames entries that name a device field; anything else is a Jinja expression.
HOSTNAME_FIELDS = {"id": "id", "displayName": "displayName", "display_name": "displayName"}

GROUP_NAME_SOURCES = ("displayName", "id")
MAX_CONCURRENCY = 20
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InventoryError(Exception):
    """A problem with the options or the data that the user must fix; ``str()`` is one line."""


# --------------------------------------------------------------------------- options


def check_options(page_size=None, concurrency=None, hostnames=None, hostvars_prefix="", device_groups=None,
                  group_name_source="displayName", rate_limit=None, list_concurrency=None):
    """Raise InventoryError naming the first option with a value the plugin cannot use."""
    if list_concurrency is not None and not 1 <= list_concurrency <= MAX_LIST_CONCURRENCY:
        raise InventoryError("list_concurrency must be between 1 (one nextLink chain) and %d, not %s"
                             % (MAX_LIST_CONCURRENCY, list_concurrency))
    if rate_limit is not None and not rate_limit > 0:
        raise InventoryError("rate_limit must be a positive number of requests per second, not %s" % rate_limit)
    if page_size is not None and not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InventoryError("page_size must be between 1 and %d, not %s" % (MAX_PAGE_SIZE, page_size))
    if concurrency is not None and not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InventoryError("device_group_concurrency must be between 1 and %d, not %s" % (MAX_CONCURRENCY, concurrency))
    if hostnames is not None:
        if not hostnames:
            raise InventoryError("hostnames must list at least one entry, for example [id]")
        for entry in hostnames:
            if not isinstance(entry, str) or not entry.strip():
                raise InventoryError("hostnames entries must be non-empty strings (id, displayName or a Jinja expression), not %s"
                                     % quoted(entry))
    if hostvars_prefix and not VARIABLE_NAME.match(hostvars_prefix):
        raise InventoryError("hostvars_prefix %s would not make valid variable names: use letters, digits and '_', "
                             "not starting with a digit" % quoted(hostvars_prefix))
    for group_id in device_groups or ():
        try:
            validate_group_id(group_id, field="device_groups entry")
        except ValueError as exc:
            raise InventoryError(str(exc))
    if group_name_source not in GROUP_NAME_SOURCES:
        raise InventoryError("device_group_group_names must be one of %s, not %s"
                             % (", ".join(GROUP_NAME_SOURCES), quoted(group_name_source)))


def cache_key(plugin_name, base_url, api_version=None, filter=None, order_by=None, page_size=None,  # pylint: disable=redefined-builtin
              device_groups=None, device_group_groups=False):
    """Cache key of one query: the application and what is asked of it, never the credential.

    Options that only shape the inventory (hostnames, include/exclude, constructed groups) are not
    part of it, so changing them rebuilds the inventory from the cache.
    """
    material = json.dumps({
        "base_url": base_url,
        "api_version": api_version,
        "filter": filter,
        "order_by": order_by,
        "page_size": page_size,
        "device_groups": list(device_groups or ()),
        "device_group_groups": bool(device_group_groups),
        "format": CACHE_FORMAT,
    }, sort_keys=True)
    return "%s_%s" % (plugin_name.replace(".", "_"), hashlib.sha256(material.encode("utf-8")).hexdigest()[:32])


# --------------------------------------------------------------------------- reading the application


def device_record(device):
    record = {}
    for field in DEVICE_FIELDS:
        if field in device:
            value = device[field]
            record[field] = list(value) if isinstance(value, list) else value
    return record


def _group_members(client, group_id, page_size, asked):
    try:
        return list_group_members(client, group_id, page_size=page_size)
    except IoTCentralError as exc:
        if exc.status != 404:
            raise
        if asked:
            message = "device_groups: device group %s does not exist in this application" % quoted(group_id)
        else:
            message = "device group %s was deleted while the inventory was being read; run it again" % quoted(group_id)
        raise IoTCentralError(message, status=exc.status, code=exc.code, request_id=exc.request_id, method=exc.method,
                              path=exc.path)


def fetch_inventory(client, filter=None, order_by=None, page_size=None, device_groups=None,  # pylint: disable=redefined-builtin
                    device_group_groups=False, concurrency=4, list_concurrency=1, on_records=None):
    """Everything the inventory needs from the application, as JSON-ready data for the cache.

    ``{"format", "devices": [record], "deviceGroups": [{"id", "displayName", "members": [device id]}] or None}``.
    Member lists of device groups are read in parallel (at most ``concurrency`` at a time) while the
    device list is read in the calling thread (as ``list_concurrency`` id ranges at once, see listing.py); the
    client's shared rate limiter keeps the total within the service's budget. Any failure raises: a partial result
    is never returned.
    ``on_records(span, records)``: when only the device list is read (no device group), called with the records
    of each part of the id space as soon as it is listed (a preview, see :func:`list_devices`). When the preview
    held, ``devices`` is made of those very record objects, in id order.
    """
    asked = list(dict.fromkeys(device_groups or ()))
    all_groups = None
    if device_group_groups:
        all_groups = [{"id": group["id"], "displayName": group.get("displayName") or group["id"]}
                      for group in list_device_groups(client)]
    wanted = list(asked)
    for group in all_groups or ():
        if group["id"] not in asked:
            wanted.append(group["id"])

    # Without a server-side filter or order, the members of the asked groups are the device list itself.
    list_all = not asked or bool(filter) or bool(order_by)
    members = {}
    listed = None
    if wanted:
        asked_set = set(asked)
        with ThreadPoolExecutor(max_workers=min(concurrency, len(wanted)),
                                thread_name_prefix="iotc-inventory") as pool:
            futures = [(group_id, pool.submit(_group_members, client, group_id, page_size, group_id in asked_set))
                       for group_id in wanted]
            try:
                if list_all:
                    listed = list_devices(client, filter=filter, order_by=order_by, page_size=page_size,
                                          concurrency=list_concurrency, shape=device_record)
                for group_id, future in futures:
                    members[group_id] = future.result()
            except BaseException:
                for _group_id, future in futures:
                    future.cancel()
                raise
    else:
        listed = list_devices(client, filter=filter, order_by=order_by, page_size=page_size,
                              concurrency=list_concurrency, on_span=on_records, shape=device_record)

    if list_all:
        devices = listed
        if asked:
            keep = set(device["id"] for group_id in asked for device in members[group_id])
            devices = [device for device in devices if device["id"] in keep]
    else:
        by_id = {}
        for group_id in asked:
            for device in members[group_id]:
                if device["id"] not in by_id:
                    by_id[device["id"]] = device_record(device)
        devices = list(by_id.values())

    groups = None
    if all_groups is not None:
        groups = [dict(group, members=[device["id"] for device in members[group["id"]]]) for group in all_groups]
    return {"format": CACHE_FORMAT, "devices": devices, "deviceGroups": groups}


def is_cache_data(data):
    return (isinstance(data, dict) and data.get("format") == CACHE_FORMAT and isinstance(data.get("devices"), list)
            and (data.get("deviceGroups") is None or isinstance(data.get("deviceGroups"), list)))


def records_text(records):
    """The JSON text of a list of records without its brackets, for :func:`cache_entry` ("" for no record)."""
    return json.dumps(records, separators=COMPACT)[1:-1]


def cache_entry(data, head=None):
    """What the cache stores of ``data`` (from :func:`fetch_inventory`): ``{"format", "inventory": JSON text}``.

    One string instead of a dict per device: ansible-core deep-copies what an inventory caches and then encodes it
    object by object (0.2 s for 10,000 devices with the jsonfile plugin, after the last page was read), while a
    string is one object for both, and :func:`cache_data` reads it back with json's C decoder.
    ``head``: ``(count, texts)``, the :func:`records_text` of consecutive lists that together are the first
    ``count`` devices, made earlier (while the rest was still being listed).
    """
    count, texts = head or (0, ())
    texts = [text for text in texts if text]
    rest = records_text(data["devices"][count:])
    if rest:
        texts.append(rest)
    text = '{"format":%d,"deviceGroups":%s,"devices":[%s]}' % (
        CACHE_FORMAT, json.dumps(data.get("deviceGroups"), separators=COMPACT), ",".join(texts))
    return {"format": CACHE_FORMAT, "inventory": text}


def cache_data(entry):
    """The data of a cache entry made by :func:`cache_entry`, or None when it is not one (older format, damaged)."""
    if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT or not isinstance(entry.get("inventory"), str):
        return None
    try:
        data = json.loads(entry["inventory"])
    except ValueError:
        return None
    return data if is_cache_data(data) else None


# --------------------------------------------------------------------------- from data to hosts


def memberships(data):
    """Device id -> ids of the device groups it belongs to, or None when device groups were not read."""
    groups = data.get("deviceGroups")
    if groups is None:
        return None
    result = {}
    for group in groups:
        for device_id in group["members"]:
            result.setdefault(device_id, []).append(group["id"])
    return result


@functools.lru_cache(maxsize=8)
def _prefixed(prefix):
    return (tuple((field, prefix + name) for field, name in HOSTVAR_FIELDS),
            prefix + "organizations", prefix + "status", prefix + "type", prefix + "device_groups")


def host_vars(record, prefix="", groups_of=None):
    """Host variables of one device. ``groups_of`` (from :func:`memberships`) adds ``device_groups``."""
    fields, organizations, status, device_type, device_groups = _prefixed(prefix)
    get = record.get
    result = dict([(name, get(field)) for field, name in fields])
    result[organizations] = list(get("organizations") or ())
    result[status] = device_status(record)
    # The stable api-version never reports type; an empty list there means "not known", not "not IoT Edge".
    result[device_type] = list(get("type") or ())
    if groups_of is not None:
        result[device_groups] = list(groups_of.get(record["id"], ()))
    return result


def needs_templating(hostnames):
    return any(entry not in HOSTNAME_FIELDS for entry in hostnames)


def select_devices(items, include, exclude, test):
    """Keep ``(record, hostvars)`` items that match any ``include`` (all when empty) and no ``exclude``.

    ``test(condition, hostvars, device_id) -> bool`` evaluates one condition.
    """
    if not include and not exclude:
        return list(items)
    kept = []
    for record, variables in items:
        if include and not any(test(condition, variables, record["id"]) for condition in include):
            continue
        if any(test(condition, variables, record["id"]) for condition in exclude):
            continue
        kept.append((record, variables))
    return kept


def _name_from(value, entry, device_id):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InventoryError("hostnames entry %s gave a %s for device %s; it must give a string"
                             % (quoted(entry), type(value).__name__, device_id))
    text = str(value).strip()
    return text or None


def assign_hostnames(items, hostnames, evaluate=None, owners=None):
    """``[(hostname, record, hostvars)]``; the first entry of ``hostnames`` giving a non-empty name wins.

    ``evaluate(expression, hostvars, device_id)`` computes a Jinja entry (None when it has no value).
    Two devices with one hostname is an error naming both, never a silent merge of two hosts.
    ``owners`` (hostname -> device id) carries the names of earlier items when the list is assigned in parts.
    """
    owners = {} if owners is None else owners
    result = []
    for record, variables in items:
        name = None
        for entry in hostnames:
            field = HOSTNAME_FIELDS.get(entry)
            value = record.get(field) if field else evaluate(entry, variables, record["id"])
            name = _name_from(value, entry, record["id"])
            if name is not None:
                break
        if name is None:
            raise InventoryError("device %s: no hostnames entry (%s) gave a non-empty name; end the list with id"
                                 % (record["id"], ", ".join(hostnames)))
        if name in owners:
            raise InventoryError("hostname collision: devices %s and %s both get the hostname %s from hostnames (%s); "
                                 "each device needs its own name, for example list id first or include the id in the expression"
                                 % (owners[name], record["id"], quoted(name), ", ".join(clip(h, 60) for h in hostnames)))
        owners[name] = record["id"]
        result.append((name, record, variables))
    return result


def device_group_groups(data, prefix, source, sanitize, hostname_of):
    """``([(ansible group name, [hostnames])], [warning])`` for every device group that was read.

    Members that are not hosts of this inventory (filtered out) are left out; a group whose name is
    taken by another device group merges into it, with a warning naming both.
    """
    groups = []
    index = {}
    warnings = []
    for group in data.get("deviceGroups") or ():
        label = group.get(source) or group["id"]
        name = sanitize(prefix + label)
        hosts = [hostname_of[device_id] for device_id in group["members"] if device_id in hostname_of]
        if name in index:
            position, first_id = index[name]
            warnings.append("device groups %s and %s both map to the Ansible group %s; their members are merged"
                            % (first_id, group["id"], quoted(name)))
            known = groups[position][1]
            seen = set(known)
            known.extend(host for host in hosts if host not in seen)
            continue
        index[name] = (len(groups), group["id"])
        groups.append((name, hosts))
    return groups, warnings
