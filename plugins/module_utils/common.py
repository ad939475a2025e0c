# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every fleetops.iotcentral module shares: connection options, the module wrapper, and diffing."""

from __future__ import annotations

import base64
import binascii

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import (
    HAS_REQUESTS,
    SUPPORTED_API_VERSIONS,
    IoTCentralClient,
    IoTCentralError,
    check_ca_path,
    check_transport,
    normalize_base_url,
    quoted,
)

CONNECTION_ARGSPEC = dict(
    app=dict(type="str", fallback=(env_fallback, ["IOTCENTRAL_APP"])),
    base_url=dict(type="str", fallback=(env_fallback, ["IOTCENTRAL_BASE_URL"])),
    api_token=dict(type="str", no_log=True, fallback=(env_fallback, ["IOTCENTRAL_API_TOKEN"])),
    bearer_token=dict(type="str", no_log=True, fallback=(env_fallback, ["IOTCENTRAL_BEARER_TOKEN"])),
    api_version=dict(type="str", choices=list(SUPPORTED_API_VERSIONS), fallback=(env_fallback, ["IOTCENTRAL_API_VERSION"])),
    validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["IOTCENTRAL_VALIDATE_CERTS"])),
    ca_path=dict(type="path", fallback=(env_fallback, ["IOTCENTRAL_CA_PATH"])),
    timeout=dict(type="float", default=30.0, fallback=(env_fallback, ["IOTCENTRAL_TIMEOUT"])),
    allow_insecure_http=dict(type="bool", default=False, fallback=(env_fallback, ["IOTCENTRAL_ALLOW_INSECURE_HTTP"])),
)


def connection_argspec():
    """A fresh copy, so a module that adjusts an option does not change it for the others."""
    return dict((name, dict(spec)) for name, spec in CONNECTION_ARGSPEC.items())


def state_argspec(id_alias, **options):
    """The options of a module that makes one resource present or absent.

    ``id`` (required; ``id_alias`` is its other name), then the module's own ``options``, then ``state``.
    """
    spec = dict(id=dict(type="str", required=True, aliases=[id_alias]))
    spec.update(options)
    spec["state"] = dict(type="str", default="present", choices=["present", "absent"])
    return spec


def build_client(params, rate_limit=None, pool_size=10):
    """An :class:`IoTCentralClient` from connection options; ValueError names a wrong option."""
    kwargs = {}
    if rate_limit is not None:
        kwargs["rate_limit"] = rate_limit
    if params.get("timeout") is not None and params["timeout"] <= 0:
        raise ValueError("timeout must be a positive number of seconds")
    base_url = normalize_base_url(params.get("app"), params.get("base_url"))
    check_transport(base_url, params.get("allow_insecure_http"))
    check_ca_path(params.get("ca_path"), params.get("validate_certs", True))
    return IoTCentralClient(
        base_url,
        api_token=params.get("api_token"),
        bearer_token=params.get("bearer_token"),
        api_version=params.get("api_version"),
        validate_certs=params.get("validate_certs", True),
        ca_path=params.get("ca_path"),
        timeout=params.get("timeout") or 30.0,
        pool_size=pool_size,
        **kwargs
    )


class IoTCentralModule:
    """Wraps AnsibleModule: adds the connection options, builds the client, reports API errors.

    Modules stay thin: they validate their own options, then call one ``ensure_*``/``read_*``
    function from module_utils with ``module.client``.
    """

    def __init__(self, argument_spec, supports_check_mode=True, **kwargs):
        spec = connection_argspec()
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=supports_check_mode, **kwargs)
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"))
        self._client = None

    @property
    def params(self):
        return self.module.params

    @property
    def check_mode(self):
        return self.module.check_mode

    @property
    def diff_mode(self):
        return self.module._diff  # pylint: disable=protected-access

    def client_for(self, rate_limit=None, pool_size=10):
        if self._client is None:
            error = None
            try:
                self._client = build_client(self.params, rate_limit=rate_limit, pool_size=pool_size)
            except ValueError as exc:
                error = str(exc)
            if error is not None:
                self.fail(error)
        return self._client

    @property
    def client(self):
        return self.client_for()

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    def fail_from_error(self, error, **kwargs):
        if isinstance(error, IoTCentralError):
            result = error.to_dict()
            result.update(kwargs)
            self.module.fail_json(msg=str(error), **result)
        self.module.fail_json(msg=str(error), **kwargs)

    def exit(self, **kwargs):
        self.module.exit_json(**kwargs)

    def converge(self, ensure, result_key, present_view=None, **ensure_kwargs):
        """The result of one ``ensure_*(client, params, check_mode=...)`` -> ``(action, resource, diff)`` call.

        Shapes what every state-based module returns: ``changed``, ``action``, the resource under
        ``result_key`` (when ``state=present``; through ``present_view`` if given) and ``diff`` in diff mode.
        """
        action, resource, diff = ensure(self.client, self.params, check_mode=self.check_mode, **ensure_kwargs)
        result = {"changed": action != "unchanged", "action": action}
        if self.params["state"] == "present":
            result[result_key] = present_view(resource) if present_view else resource
        if self.diff_mode:
            result["diff"] = diff
        return result

    def converge_state(self, ensure, result_key, validate_id=None, local_inputs=None, present_view=None,
                       diff_side_view=None):
        """What a module that makes one resource present or absent returns (see :meth:`converge`).

        Local checks come first, so bad input fails before the connection settings are even used:
        ``validate_id(params["id"])``, then ``local_inputs(self)``, which checks and loads what the module reads
        from its options or files and returns more keyword arguments for ``ensure``. ``diff_side_view`` shapes each
        side of the diff (as ``present_view`` shapes the resource), e.g. to mask secrets.
        """
        if validate_id is not None:
            validate_id(self.params["id"])
        ensure_kwargs = local_inputs(self) if local_inputs is not None else {}
        result = self.converge(ensure, result_key, present_view=present_view, **ensure_kwargs)
        if diff_side_view is not None and "diff" in result:
            result["diff"] = dict((side, diff_side_view(view)) for side, view in result["diff"].items())
        return result

    def run_state(self, ensure, result_key, **kwargs):
        """Converge one resource to ``state`` (:meth:`converge_state`, same arguments) and exit with the result."""
        self.run(self.converge_state, ensure, result_key, **kwargs)

    def read_one_or_all(self, get_one, list_all, validate_id=None):
        """What an ``_info`` module with an optional ``id`` reads: ``[get_one(client, id)]`` when an id is asked
        for (``[]`` when there is no such resource; ``validate_id(id)`` first), else ``list_all(client)``."""
        client = self.client
        wanted = self.params["id"]
        if wanted is None:
            return list_all(client)
        if validate_id is not None:
            validate_id(wanted)
        found = get_one(client, wanted)
        return [found] if found else []

    def run(self, function, *args, **kwargs):
        """Call ``function(*args, **kwargs)`` and exit with its result, turning known errors into one-line failures.

        A result with ``failed: True`` (and a ``msg``) fails the task with the rest of the result attached.
        """
        error = None
        try:
            result = function(*args, **kwargs)
        except (IoTCentralError, ValueError) as exc:
            error = exc
        # Failing outside the except block: ansible-core 2.19 would otherwise attach the traceback
        # of the handled exception to the result, and a user mistake must not look like a crash.
        if error is not None:
            self.fail_from_error(error)
        if result.pop("failed", False):
            self.module.fail_json(**result)
        self.exit(**result)


def validate_id(value, pattern, what, rule, field="id"):
    """``value`` if it is a string matching ``pattern``; else a ValueError naming ``field`` and the ``rule`` to follow."""
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError("%s %s is not a valid %s: use %s" % (field, quoted(value), what, rule))
    return value


def decode_base64(value):
    """``(text, data)``: ``value`` without white space, and the bytes that base64 text encodes (None when ``value``
    is no base64 text). For checking keys given as base64, in messages that never repeat the value."""
    text = "".join(value.split()) if isinstance(value, str) else ""
    if not text:
        return text, None
    try:
        return text, base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text, None


def listed(items, shown=10):
    """``a, b, c`` for a message: at most ``shown`` items, then how many more."""
    items = list(items)
    more = " and %d more" % (len(items) - shown) if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def differences(desired, current, list_as_set=()):
    """Fields of ``desired`` (None means "not asked for") whose value differs from ``current``.

    Only what the user asked for is compared, so server-generated fields (etag, provisioned, ...)
    never make a task report a change. Keys in ``list_as_set`` are compared as sets, and the API leaving
    such a list out counts as an empty list: ``organizations: []`` matches a resource shown without any.
    """
    changed = {}
    for key, want in desired.items():
        if want is None:
            continue
        have = current.get(key) if current else None
        if key in list_as_set and have is None and current is not None:
            have = []
        if key in list_as_set and isinstance(want, list) and isinstance(have, list):
            if sorted(want) == sorted(have):
                continue
        elif want == have:
            continue
        changed[key] = want
    return changed


def diff_view(before, after, keys):
    """Before/after dicts restricted to ``keys`` for ``--diff`` output (no etags or secrets)."""
    def pick(obj):
        if not obj:
            return {}
        return dict((key, obj[key]) for key in keys if key in obj)
    return {"before": pick(before), "after": pick(after)}


def guarded_patch(client, path, delta, current, compare, what, content_type="application/json", api_version=None):
    """PATCH only ``delta``, carrying the etag of ``current`` (the version the delta was computed against).

    On 412 someone changed the resource in between: read it again and recompute the delta once, so a
    concurrent change of another field does not fail the task and one of the same field is not
    overwritten blindly.
    """
    body = dict(delta)
    if current.get("etag"):
        body["etag"] = current["etag"]
    try:
        return client.patch(path, body, api_version=api_version, content_type=content_type)
    except IoTCentralError as exc:
        if exc.status != 412:
            raise
    fresh = client.get(path, api_version=api_version, allow_404=True)
    if fresh is None:
        raise IoTCentralError("%s was deleted while it was being updated" % what, status=404)
    delta = compare(delta, fresh)
    if not delta:
        return fresh
    body = dict(delta)
    if fresh.get("etag"):
        body["etag"] = fresh["etag"]
    return client.patch(path, body, api_version=api_version, content_type=content_type)


def settle_write(write, reread, applied, what):
    """``write()``, and when it fails after it may have reached the service, what a re-read shows happened.

    ``reread()`` returns the resource as it is now (None when absent) and ``applied(fresh)`` says whether that
    shows the write done. Done: the re-read resource is returned, as if the write had answered. Not done: the
    write's error is raised, saying so. The re-read failing too: "outcome unknown", with both errors.
    """
    try:
        return write()
    except IoTCentralError as exc:
        if not exc.may_have_applied:
            raise
        failure = exc
    problem = None
    try:
        fresh = reread()
    except IoTCentralError as exc:
        problem = exc
    if problem is not None:
        raise IoTCentralError("%s: outcome unknown: the write failed after it may have reached the service (%s), and "
                              "reading it back failed too (%s); run the task again to converge"
                              % (what, failure, problem), status=failure.status, code=failure.code,
                              request_id=failure.request_id)
    if applied(fresh):
        return fresh
    failure.hint = "%s%s was read back: the change was not applied" % (failure.hint + ". " if failure.hint else "", what)
    raise failure


def confirm_created(client, path, desired, compare, put_defaults, what, api_version=None,
                    content_type="application/json", recompare=None):
    """Read a resource back after its create (a PUT, which replaces) and re-converge what another writer undid.

    Two tasks that both found the resource missing both PUT it: the later PUT replaces the earlier one, and the
    fields only the earlier task asked for return to their defaults. A field back at its default (``put_defaults``:
    field -> what a PUT without it leaves) is re-applied with an etag-guarded PATCH; a field holding another value
    that someone chose is a conflict, reported rather than overwritten. Returns the resource as it is now.
    """
    fresh = client.get(path, api_version=api_version, allow_404=True)
    if fresh is None:
        raise IoTCentralError("%s was deleted by another writer right after this task created it" % what)
    delta = compare(desired, fresh)
    if not delta:
        return fresh
    raise_conflicts(what, delta, fresh, put_defaults)
    return guarded_patch(client, path, delta, fresh, recompare or compare, what, content_type=content_type,
                         api_version=api_version)


def raise_conflicts(what, delta, fresh, put_defaults):
    """IoTCentralError when ``fresh`` holds, for a field of ``delta``, a value another writer chose (not a default)."""
    conflicts = sorted(key for key in delta if not _is_put_default(fresh.get(key), key, put_defaults))
    if conflicts:
        raise IoTCentralError(
            "%s was written by another writer while this task created it: %s; nothing was overwritten, run the "
            "task again to apply this task's values" % (what, ", ".join(
                "%s is %s, this task asked for %s" % (key, quoted(fresh.get(key), 60), quoted(delta[key], 60))
                for key in conflicts)))


def _is_put_default(value, key, put_defaults):
    if key not in put_defaults:
        return False
    default = put_defaults[key]
    return value == default or (value in (None, []) and default in (None, []))


def converge_resource(client, path, resource_id, state, current, desired, compare, create_body, diff_keys, what,
                      check_mode=False, api_version=None, content_type="application/json", recompare=None,
                      planned_view=None, planned_create=None, put_defaults=None):
    """The skeleton every state-based resource shares: delete, create with PUT, or PATCH only what differs.

    ``current`` is the resource as read (None when it does not exist), ``desired`` the fields the user asked
    for (None = not asked), compared with ``compare(desired, current)``. ``create_body()`` builds the PUT body
    when the resource must be created (it may refuse with ValueError before anything is written).
    ``recompare(delta, fresh)`` rebuilds the delta after a 412 (default: ``compare``), ``planned_view(after)``
    adjusts what check mode shows for an update, ``planned_create(body)`` for a create (default: the body plus the
    id). ``put_defaults`` (field -> what a PUT without it leaves) makes a create read
    the resource back and re-converge what a concurrent creator's PUT undid (:func:`confirm_created`); None
    leaves that to the caller (``device_fleet`` checks all its creates with one listing).
    A write that fails after it may have reached the service is settled by a re-read (:func:`settle_write`).
    Returns ``(action, resource, diff)``.
    """
    def reread():
        return client.get(path, api_version=api_version, allow_404=True)

    if state == "absent":
        if current is None:
            return "unchanged", None, diff_view(None, None, diff_keys)
        if not check_mode:
            settle_write(lambda: client.delete(path, api_version=api_version), reread, lambda fresh: fresh is None, what)
        return "deleted", None, diff_view(current, None, diff_keys)

    if current is None:
        body = create_body()
        if check_mode:
            after = planned_create(body) if planned_create else dict(body, id=resource_id)
            return "created", after, diff_view(None, after, diff_keys)
        created = settle_write(lambda: client.put(path, body, api_version=api_version), reread,
                               lambda fresh: fresh is not None and not compare(desired, fresh), what)
        if put_defaults is not None:
            created = confirm_created(client, path, desired, compare, put_defaults, what, api_version=api_version,
                                      content_type=content_type, recompare=recompare)
        return "created", created, diff_view(None, created, diff_keys)

    delta = compare(desired, current)
    if not delta:
        return "unchanged", current, diff_view(current, current, diff_keys)
    if check_mode:
        after = dict(current, **delta)
        if planned_view is not None:
            after = planned_view(after)
        return "updated", after, diff_view(current, after, diff_keys)
    recompare = recompare or compare
    updated = settle_write(
        lambda: guarded_patch(client, path, delta, current, recompare, what, content_type=content_type,
                              api_version=api_version),
        reread, lambda fresh: fresh is not None and not recompare(delta, fresh), what)
    return "updated", updated, diff_view(current, updated, diff_keys)
