# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: devices
short_description: Azure IoT Central devices as an Ansible inventory
version_added: 1.0.0
description:
  - Reads the devices of an Azure IoT Central application and makes each one an inventory host.
  - Devices can be narrowed on the server (O(filter), O(device_groups)) and on the client (O(include), O(exclude)).
  - Host variables describe the device (id, display name, template, enabled, provisioned, simulated, organizations
    and the status IoT Central's UI shows); keys and tokens are never read.
  - Groups come from O(keyed_groups), O(groups) and, with O(device_group_groups), from the application's device groups.
  - The configuration file name must end with C(iotcentral.yml) or C(iotcentral.yaml).
  - If the device list cannot be read completely (after the retries of throttled and failed calls), the source fails
    and adds no host at all. Set C(any_unparsed_is_failed = true) in the C([inventory]) section of C(ansible.cfg)
    (E(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true)) to make Ansible stop on it instead of warning and going on
    without these hosts.
author:
  - fleetops engineering (@fleetops)
requirements:
  - requests >= 2.25.0 (where the inventory is parsed, the controller or the execution environment)
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - fleetops.iotcentral.connection.plugin
options:
  plugin:
    description: Marks the file as a configuration of this plugin.
    type: str
    required: true
    choices: [fleetops.iotcentral.devices]
  filter:
    description:
      - Server-side filter in the service's OData dialect, for example C(contains(displayName, 'Thermostat') and enabled eq true).
      - Operators C(eq ne lt le gt ge), C(and), C(or), parentheses and C(contains(field, 'text')), over C(id), C(displayName),
        C(enabled), C(provisioned), C(simulated), C(template) and C(scopes) (organization).
      - Sent as C(filter) with api-version C(2022-10-31-preview), or as C($filter) when O(api_version=2022-07-31) is pinned.
      - May be a Jinja template (evaluated once, with extra vars and lookups).
    type: str
  order_by:
    description:
      - Server-side order of the device list. The service supports C(displayName), C(displayName asc) and C(displayName desc).
      - Without it devices come in the service's order (by id).
    type: str
  page_size:
    description:
      - Devices per page when listing (1 to 100). The service answers at most 100, so the default reads a fleet in the
        fewest calls.
    type: int
    default: 100
  device_groups:
    description:
      - Only devices that are members of at least one of these IoT Central device groups, given by id.
      - Combined with O(filter) or O(order_by), the device list is read with them and then restricted to the
        members; otherwise the members of the groups are the device list.
      - Entries may be Jinja templates.
    type: list
    elements: str
    default: []
  device_group_groups:
    description:
      - Make every device group of the application an Ansible group of its members (the members that are hosts of
        this inventory), named O(device_group_prefix) followed by the group's display name or id
        (see O(device_group_group_names)), with characters that are invalid in group names replaced by C(_).
      - Also sets the host variable C(device_groups) (with O(hostvars_prefix)) to the ids of the device's groups.
      - Costs one call per device group (plus paging), made O(device_group_concurrency) at a time.
    type: bool
    default: false
  device_group_prefix:
    description: Prefix of the group names made by O(device_group_groups).
    type: str
    default: device_group_
  device_group_group_names:
    description: What O(device_group_groups) names each group after, the device group's C(displayName) or its C(id).
    type: str
    choices: [displayName, id]
    default: displayName
  device_group_concurrency:
    description:
      - How many device groups' member lists are read at the same time (1 to 20). All calls share one rate limit of
        20 requests per second, the service's budget for an application.
    type: int
    default: 4
  list_concurrency:
    description:
      - How many id ranges of the device list are read at the same time (1 to 32). When each page takes longer
        than the rate limit's 50 ms (real round trips take 80-200 ms), one C(nextLink) chain cannot reach the
        service's 20 requests per second; several independent ranges (C(id ge 'a' and id lt 'h')), split as the
        first page of each shows how many devices it holds, can. Every device is listed exactly once.
      - This is the most ranges read at once. The listing measures each page's round trip and reads only as
        many as keep the rate limit busy (2 when pages come back fast), the lowest ids first.
      - V(1) reads one C(nextLink) chain. The single chain is also used with O(order_by), with
        O(api_version=2022-07-31) (no list parameters), and whenever the service refuses the range filter.
    type: int
    default: 8
  rate_limit:
    description:
      - Requests per second this inventory allows itself, shared by all its threads.
      - The service allows 20 per application, counted over every client of the application. The shared client
        starts with a burst of half a second's budget and then paces itself at this rate, which keeps it clear of
        HTTP 429 (each costs at least a second of back-off). Lower it when other automation uses the same
        application at the same time from other machines; processes of this collection on the same machine share
        one budget per application by themselves (E(IOTCENTRAL_SHARED_BUDGET=false) turns that off).
    type: float
    default: 20
  include:
    description:
      - Client-side selection for what the server cannot filter. A device is kept when at least one of these Jinja
        conditionals is true (every device when the list is empty).
      - Conditionals see the host variables this plugin sets (with O(hostvars_prefix)), not O(compose) results.
      - A conditional that cannot be evaluated for a device (for example an undefined variable) fails the source.
    type: list
    elements: str
    default: []
  exclude:
    description:
      - A device is dropped when any of these Jinja conditionals is true. Evaluated after O(include), with the same variables.
    type: list
    elements: str
    default: []
  hostnames:
    description:
      - How a device's hostname is made. Entries are tried in order and the first one giving a non-empty value wins.
      - An entry is C(id), C(displayName) (or C(display_name)), or a Jinja expression over the host variables,
        for example C(iotc_display_name | lower | regex_replace('[^a-z0-9]+', '-')).
      - An expression that fails counts as giving no value, unless O(strict=true).
      - Two devices that get the same hostname fail the source with a message naming both device ids.
    type: list
    elements: str
    default: [id]
  hostvars_prefix:
    description:
      - Prefix of the host variables set for each device, C(iotc_id), C(iotc_status) and so on by default.
      - Use an empty string for bare names (C(id), C(display_name), ...).
    type: str
    default: iotc_
notes:
  - >-
    Host variables (with the default prefix): C(iotc_id), C(iotc_display_name), C(iotc_template) (null without a
    template), C(iotc_enabled), C(iotc_provisioned), C(iotc_simulated), C(iotc_organizations) (list),
    C(iotc_status) (C(blocked) for every disabled device, as the az CLI says; else C(provisioned) or C(registered)), C(iotc_type)
    (C([iotEdge]) for IoT Edge devices; preview API only) and, with O(device_group_groups), C(iotc_device_groups).
  - >-
    With O(cache=true) the devices and device group memberships read from the service are cached, never a credential.
    The cache key is made from the application URL, O(api_version), O(filter), O(order_by), O(page_size), O(device_groups)
    and O(device_group_groups). Groups, hostnames and host variables are rebuilt from the cache, so a warm cache makes
    no request. C(ansible-inventory --flush-cache) reads the service again.
  - >-
    Options that contain Jinja (O(api_token), O(base_url), O(filter), ...) are templated once when the source is
    parsed, with extra vars and lookups available; a vault-encrypted O(api_token) works as is.
seealso:
  - name: Inventory plugin guide
    description: Inventory files for common cases, AWX set-up, caching and performance figures.
    link: https://github.com/fleetops/ansible-collection-iotcentral/blob/main/docs/inventory.md
"""

EXAMPLES = r"""
# Three inventory files, each in a file of its own whose name ends in iotcentral.yml. The second and third are
# commented out here only because one EXAMPLES block holds one YAML document: uncomment them in their own file.

# fleet.iotcentral.yml: every device, grouped by template and status.
# Connection from IOTCENTRAL_APP (or IOTCENTRAL_BASE_URL) and IOTCENTRAL_API_TOKEN.
plugin: fleetops.iotcentral.devices
keyed_groups:
  - key: iotc_template
    prefix: template
  - key: iotc_status
    prefix: status


# thermostats.iotcentral.yml: enabled thermostats, named after their display name, token read from a file.
# plugin: fleetops.iotcentral.devices
# app: contoso-store
# api_token: "{{ lookup('ansible.builtin.file', 'secrets/iotcentral-token') }}"
# filter: "contains(displayName, 'Thermostat') and enabled eq true"
# hostnames:
#   - iotc_display_name | lower | regex_replace('[^a-z0-9]+', '-')
#   - id
# exclude:
#   - iotc_simulated
# groups:
#   not_provisioned: iotc_status == 'registered'


# groups.iotcentral.yml: only two device groups, every device group as an Ansible group, cached for an hour.
# plugin: fleetops.iotcentral.devices
# app: contoso-store
# device_groups:
#   - 475cad48-b7ff-4a09-b51e-1a9021385453
#   - 9e2d2ed8-2bc1-4a5a-9e62-59bc2ef47b70
# device_group_groups: true
# device_group_prefix: dg_
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.cache/iotcentral-inventory
# cache_timeout: 3600
"""

import copy

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from jinja2 import Environment, nodes
from jinja2.exceptions import TemplateError

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import HAS_REQUESTS, IoTCentralError, clip, normalize_base_url, quoted
from ansible_collections.fleetops.iotcentral.plugins.module_utils.common import build_client
from ansible_collections.fleetops.iotcentral.plugins.module_utils.inventory import (
    HOSTVAR_NAMES,
    InventoryError,
    assign_hostnames,
    cache_data,
    cache_entry,
    cache_key,
    check_options,
    device_group_groups,
    fetch_inventory,
    host_vars,
    memberships,
    needs_templating,
    records_text,
    select_devices,
)

try:
    # ansible-core 2.19+ never templates data that did not come from a trusted source, such as API answers.
    from ansible.template import trust_as_template  # noqa: F401 pylint: disable=unused-import
    HAS_DATA_TAGGING = True
except ImportError:
    HAS_DATA_TAGGING = False

if not HAS_DATA_TAGGING:
    from ansible.utils.unsafe_proxy import wrap_var
else:
    def wrap_var(value):
        return value

# Filters whose result is not a function of their input: an expression using them is evaluated for every host.
IMPURE_FILTERS = frozenset(("random", "shuffle", "password_hash"))
# Only parses expressions to see which variables they read; never renders anything.
EXPRESSION_PARSER = Environment()

CONNECTION_OPTIONS = ("app", "base_url", "api_token", "bearer_token", "api_version", "validate_certs", "ca_path", "timeout",
                      "allow_insecure_http")
SECRET_OPTIONS = ("api_token", "bearer_token")
TEMPLATED_OPTIONS = ("app", "base_url", "api_token", "bearer_token", "api_version", "ca_path", "filter", "order_by")


def _frozen(value):
    if value.__class__ is str:  # the common case first
        return ("str", value)
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    # bool and int are kept apart from each other (True == 1 must not share an entry).
    return (type(value).__name__, value)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "fleetops.iotcentral.devices"

    def __init__(self):
        super().__init__()
        self._settings = None
        self._own_vars = frozenset()
        self._inputs = {}
        self._memo = {}
        self._shadow = None

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        if path.endswith(("iotcentral.yml", "iotcentral.yaml")):
            return True
        self.display.vvv("fleetops.iotcentral.devices: skipping %s, the file name must end with iotcentral.yml or iotcentral.yaml"
                         % path)
        return False

    # ------------------------------------------------------------------ options

    def _template_option(self, name, value):
        if not isinstance(value, str) or not self.templar.is_template(value):
            return value
        try:
            return self.templar.template(value)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            detail = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            if name in SECRET_OPTIONS:
                detail = detail.replace(value, "<%s>" % name)
            raise AnsibleParserError("%s: cannot template %s: %s" % (self.NAME, name, detail))

    def _read_settings(self):
        self.templar.available_variables = self._vars or {}
        settings = {}
        for name in CONNECTION_OPTIONS + ("filter", "order_by"):
            value = self.get_option(name)
            if name in TEMPLATED_OPTIONS:
                value = self._template_option(name, value)
            # Vault-encrypted values reach us as a str-like object; the client needs a plain str.
            settings[name] = str(value) if value is not None and name in TEMPLATED_OPTIONS else value
        settings["device_groups"] = [str(self._template_option("device_groups", group))
                                     for group in self.get_option("device_groups") or []]
        for name in ("page_size", "list_concurrency", "device_group_groups", "device_group_prefix", "device_group_group_names",
                     "device_group_concurrency", "rate_limit", "include", "exclude", "hostnames", "hostvars_prefix", "strict",
                     "compose", "groups", "keyed_groups"):
            settings[name] = self.get_option(name)
        settings["hostvars_prefix"] = settings["hostvars_prefix"] or ""
        settings["device_group_prefix"] = settings["device_group_prefix"] or ""
        settings["include"] = settings["include"] or []
        settings["exclude"] = settings["exclude"] or []
        try:
            check_options(page_size=settings["page_size"], concurrency=settings["device_group_concurrency"],
                          hostnames=settings["hostnames"], hostvars_prefix=settings["hostvars_prefix"],
                          device_groups=settings["device_groups"],
                          group_name_source=settings["device_group_group_names"], rate_limit=settings["rate_limit"],
                          list_concurrency=settings["list_concurrency"])
            settings["base_url"] = normalize_base_url(settings["app"], settings["base_url"])
            # Built now (it makes no request) so a bad credential or timeout is reported even on a warm cache.
            settings["client"] = build_client(settings, rate_limit=settings["rate_limit"],
                                              pool_size=settings["device_group_concurrency"] + settings["list_concurrency"])
        except (InventoryError, ValueError) as exc:
            raise AnsibleParserError("%s: %s" % (self.NAME, exc))
        return settings

    def get_cache_key(self, path):
        settings = self._settings
        return cache_key(self.NAME, settings["base_url"], api_version=settings["api_version"], filter=settings["filter"],
                         order_by=settings["order_by"], page_size=settings["page_size"],
                         device_groups=settings["device_groups"], device_group_groups=settings["device_group_groups"])

    # ------------------------------------------------------------------ parse

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        if not HAS_REQUESTS:
            raise AnsibleParserError("%s: the requests Python library is required on the controller (pip install requests)"
                                     % self.NAME)
        self._read_config_data(path)
        self._settings = settings = self._read_settings()

        use_cache = self.get_option("cache")
        data = None
        if use_cache and cache:
            key = self.get_cache_key(path)
            try:
                data = cache_data(self._cache[key])
            except KeyError:
                data = None
        early = None
        if data is None:
            data, early = self._fetch(settings)
            early = self._held(early, data)
            if use_cache:
                head = (len(early["records"]), early["texts"]) if early is not None else None
                self._cache[self.get_cache_key(path)] = cache_entry(data, head)
        self._populate(data, settings, early)

    def _fetch(self, settings):
        """The data for the cache, and the hosts added while it was read (see :meth:`_early_hosts`)."""
        client = settings["client"]
        on_records, early = self._early_hosts(settings)
        try:
            data = fetch_inventory(client, filter=settings["filter"], order_by=settings["order_by"],
                                   page_size=settings["page_size"], device_groups=settings["device_groups"],
                                   device_group_groups=settings["device_group_groups"],
                                   concurrency=settings["device_group_concurrency"],
                                   list_concurrency=settings["list_concurrency"], on_records=on_records)
        except BaseException as exc:
            self._take_back(early["state"])
            if isinstance(exc, IoTCentralError):
                raise AnsibleParserError("%s: cannot read the devices of %s, so no host was added: %s"
                                         % (self.NAME, settings["base_url"], exc))
            raise
        finally:
            client.close()
        return data, early

    # ------------------------------------------------------------------ building the inventory

    def _memo_inputs(self, expression):
        """Names of our host variables an expression reads, or None when its value may depend on anything else.

        ansible-core compiles an expression again for every host (about 0.3 ms each). An expression that only
        reads our host variables, through pure filters and without function calls such as lookup(), has the
        same value for hosts with the same values of those variables: it is evaluated once per distinct value.
        """
        if expression in self._inputs:
            return self._inputs[expression]
        inputs = None
        try:
            tree = EXPRESSION_PARSER.parse("{{ (%s) }}" % expression)
        except (TemplateError, TypeError):
            tree = None
        if tree is not None:
            names = frozenset(node.name for node in tree.find_all(nodes.Name))
            calls = any(isinstance(node.node, nodes.Name) for node in tree.find_all(nodes.Call))
            impure = any(node.name.rsplit(".", 1)[-1] in IMPURE_FILTERS for node in tree.find_all(nodes.Filter))
            if names and names <= self._own_vars and not calls and not impure:
                inputs = tuple(sorted(names))
        self._inputs[expression] = inputs
        return inputs

    def _extra_vars_shadow(self):
        """With use_extra_vars, extra vars may shadow ours: no shortcut then. Asked once per parse (per host it cost
        more than the shortcut saves)."""
        if self._shadow is None:
            self._shadow = bool(self._vars and self.get_option("use_extra_vars"))
        return self._shadow

    def _memo_key(self, kind, expression, variables):
        if self._extra_vars_shadow() or not isinstance(expression, str):
            return None
        inputs = self._memo_inputs(expression)
        if inputs is None:
            return None
        try:
            values = tuple([_frozen(variables[name]) for name in inputs])
        except KeyError:
            return None
        return (kind, expression) + values

    def _compose(self, template, variables, *args, **kwargs):
        # A bare name of one of our own host variables (plain data, never a template) is its value.
        own = self._own_vars
        if isinstance(template, str):
            name = template.strip()
            if name in own and name in variables and not self._extra_vars_shadow():
                return variables[name]
        key = self._memo_key("expression", template, variables)
        if key is None:
            return super()._compose(template, variables, *args, **kwargs)
        if key not in self._memo:
            self._memo[key] = super()._compose(template, variables, *args, **kwargs)
        return copy.deepcopy(self._memo[key])

    def _evaluate(self, expression, variables, device_id):
        try:
            value = self._compose(expression, variables)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            if self._settings["strict"]:
                raise InventoryError("hostnames entry %s failed for device %s: %s" % (quoted(expression), device_id, clip(exc, 300)))
            return None
        return value

    def _test(self, condition, variables, device_id):
        key = self._memo_key("condition", condition, variables)
        if key is not None and key in self._memo:
            return self._memo[key]
        self.templar.available_variables = variables
        try:
            if hasattr(self.templar, "evaluate_conditional"):
                result = bool(self.templar.evaluate_conditional(condition))
            else:
                result = str(self.templar.template("{%% if %s %%} True {%% else %%} False {%% endif %%}" % condition)).strip() == "True"
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise InventoryError("include/exclude condition %s failed for device %s: %s" % (quoted(condition), device_id, clip(exc, 300)))
        if key is not None:
            self._memo[key] = result
        return result

    def _keyed_group_inputs(self, keyed_groups):
        """The expressions whose values decide a host's keyed groups, or None when something else may decide them."""
        inputs = []
        for entry in keyed_groups if isinstance(keyed_groups, list) else ():
            if not isinstance(entry, dict):
                continue
            parent = entry.get("parent_group")
            if parent is not None and (not isinstance(parent, str) or self.templar.is_template(parent)):
                return None
            inputs.append(entry.get("key"))
        return tuple(inputs)

    def _join_groups(self, step, kind, entries, inputs, variables, hostname, strict):
        """Run ansible-core's group ``step`` for a host, or repeat what it did for an earlier host with the same values.

        ``inputs`` are the expressions the step evaluates. When they only read our own host variables (see
        _memo_key), hosts with the same values of those variables end in the same groups: the step runs for the
        first such host, and the others join the groups it joined directly (ancestors follow from the groups).
        """
        key = None
        if inputs is not None:
            parts = [kind]
            for expression in inputs:
                part = self._memo_key("expression", expression, variables) if expression is not None else ("none",)
                if part is None:
                    break
                parts.append(part)
            else:
                key = tuple(parts)
        if key is None:
            step(entries, variables, hostname, strict=strict)
            return
        inventory = self.inventory
        names = self._memo.get(key)
        if names is None:
            host = inventory.get_host(hostname)
            before = set(group.name for group in host.get_groups())
            step(entries, variables, hostname, strict=strict)
            names = [group.name for group in host.get_groups()
                     if group.name not in before and hostname in group.host_names]
            self._memo[key] = names
            return
        for name in names:
            inventory.add_host(hostname, name)

    def _begin(self, settings):
        """Fresh per-parse state; what the inventory held before (for taking back what this source added)."""
        self._own_vars = frozenset(settings["hostvars_prefix"] + name for name in HOSTVAR_NAMES)
        self._inputs = {}
        self._memo = {}
        self._shadow = None
        compose = settings["compose"]
        # With compose setting one of our own variable names, the variables the group steps fetch back from
        # the host differ from ours: no shortcut then.
        shortcut = not any(name in self._own_vars for name in (compose or {}))
        keyed_groups = settings["keyed_groups"]
        return {"known_hosts": set(self.inventory.hosts), "known_groups": set(self.inventory.groups), "owners": {},
                "shortcut": shortcut,
                "keyed_inputs": self._keyed_group_inputs(keyed_groups) if shortcut and keyed_groups else None}

    def _plan(self, records, settings, state, groups_of=None):
        prefix = settings["hostvars_prefix"]
        items = [(record, wrap_var(host_vars(record, prefix, groups_of))) for record in records]
        items = select_devices(items, settings["include"], settings["exclude"], self._test)
        evaluate = self._evaluate if needs_templating(settings["hostnames"]) else None
        return assign_hostnames(items, settings["hostnames"], evaluate, owners=state["owners"])

    def _add_hosts(self, hosts, settings, state):
        inventory = self.inventory
        strict = settings["strict"]
        compose, groups, keyed_groups = settings["compose"], settings["groups"], settings["keyed_groups"]
        shortcut = state["shortcut"]
        for hostname, _record, variables in hosts:
            inventory.add_host(hostname)
            host = inventory.get_host(hostname)
            # Host.set_variable() per variable costs more than everything else per host at 50,000 hosts; it only
            # untags and validates the name (ours are fixed, valid names) and merges mappings (ours are none).
            host.vars.update(variables)
            if compose:
                self._set_composite_vars(compose, variables, hostname, strict=strict)
            if groups:
                inputs = tuple(groups.values()) if shortcut and isinstance(groups, dict) else None
                self._join_groups(self._add_host_to_composed_groups, "groups", groups, inputs, variables,
                                  hostname, strict)
            if keyed_groups:
                self._join_groups(self._add_host_to_keyed_groups, "keyed_groups", keyed_groups, state["keyed_inputs"],
                                  variables, hostname, strict)

    def _take_back(self, state):
        """Remove every host and group added since ``state`` was taken: Ansible keeps whatever a failed source added."""
        inventory = self.inventory
        for hostname in set(inventory.hosts) - state["known_hosts"]:
            inventory.remove_host(inventory.hosts[hostname])
        for group_name in set(inventory.groups) - state["known_groups"]:
            inventory.remove_group(inventory.groups[group_name])

    def _early_hosts(self, settings):
        """A listener that adds hosts while the device list is still being read, and its state.

        The listing waits on the rate limiter most of the time: the parts of the id space it has finished are
        turned into hosts meanwhile, in id order (a part is taken once every part before it has arrived), exactly
        as :meth:`_populate` would add them. Any error stops it and takes its hosts back; :meth:`_populate` then
        builds everything again from the full list, so errors and their order are the ones it gives.
        """
        early = {"state": self._begin(settings), "records": [], "texts": [], "parts": {}, "next": (None, True),
                 "failed": False}
        # The cache's text of each part is made here too, while the listing waits (see cache_entry).
        keep_text = self.get_option("cache")

        def on_records(span, records):
            if early["failed"]:
                return
            low, low_included, high, high_included = span
            early["parts"][(low, low_included)] = (high, high_included, records)
            try:
                while early["next"] in early["parts"]:
                    high, high_included, part = early["parts"].pop(early["next"])
                    hosts = self._plan(part, settings, early["state"])
                    self._add_hosts(hosts, settings, early["state"])
                    early["records"].extend(part)
                    if keep_text:
                        early["texts"].append(records_text(part))
                    if high is None:
                        break
                    # The next part starts right after this one: "id gt <last>" or "id ge <bound>".
                    early["next"] = (high, not high_included)
            except Exception:  # pylint: disable=broad-exception-caught
                early["failed"] = True
                self._take_back(early["state"])

        return on_records, early

    def _held(self, early, data):
        """``early`` if the hosts it added are those of the first devices of ``data``; else None, its hosts taken back.

        The parts are a preview of the listing: they count only if the list starts with exactly them. When the
        listing held they are the list's own records (fetch_inventory), and ``is`` answers without comparing.
        """
        if early is None:
            return None
        done, records = early["records"], data["devices"]
        if not early["failed"] and len(done) <= len(records) and all(a is b or a == b for a, b in zip(done, records)):
            return early
        self._take_back(early["state"])
        return None

    def _populate(self, data, settings, early=None):
        """Add the hosts and groups of ``data``; ``early`` (held, see :meth:`_held`) already added its first ones."""
        records = data["devices"]
        if early is not None:
            state, records = early["state"], records[len(early["records"]):]
        else:
            state = self._begin(settings)
        try:
            try:
                hosts = self._plan(records, settings, state, memberships(data))
            except InventoryError as exc:
                raise AnsibleParserError("%s: %s" % (self.NAME, exc))
            self._add_hosts(hosts, settings, state)
            if settings["device_group_groups"]:
                inventory = self.inventory
                hostname_of = dict((device_id, hostname) for hostname, device_id in state["owners"].items())
                made, warnings = device_group_groups(data, settings["device_group_prefix"],
                                                     settings["device_group_group_names"], self._sanitize_group_name,
                                                     hostname_of)
                for warning in warnings:
                    self.display.warning("%s: %s" % (self.NAME, warning))
                for group_name, members in made:
                    group_name = inventory.add_group(group_name)
                    for hostname in members:
                        inventory.add_child(group_name, hostname)
        except Exception as exc:
            self._take_back(state)
            if isinstance(exc, AnsibleError):
                raise
            raise AnsibleParserError("%s: %s" % (self.NAME, exc))
