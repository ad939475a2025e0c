"""Helpers shared by every resource: request context, responses, content types,
body parsing, etag preconditions and list (filter/orderby/paging) handling."""

import copy
import json
import re

from . import defaults
from .errors import ApiError
from .odata import ODataError, fields_by_name, parse_filter, parse_orderby
from .paging import SKIP_TOKEN_PARAM, Ordering, next_link, paginate

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"

# Per api-version names of the list query parameters. The 2022-07-31 how-to
# documents $top/$filter/$orderby; 2022-10-31-preview's spec declares
# maxpagesize/filter/orderby. A name from the other version is just an unknown
# parameter there, and unknown parameters are ignored.
LIST_PARAMS = {
    defaults.STABLE_VERSION: {"size": "$top", "filter": "$filter", "orderby": "$orderby"},
    defaults.PREVIEW_VERSION: {"size": "maxpagesize", "filter": "filter", "orderby": "orderby"},
}


class Response:
    __slots__ = ("status", "body", "headers")

    def __init__(self, status=200, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def ok(body):
    return Response(200, body)


def no_content():
    return Response(204, None)


class RequestContext:
    """Everything a handler needs about one request."""

    def __init__(self, method, path, query_string, query, headers, body, request_id, host):
        self.method = method
        self.path = path
        self.query_string = query_string
        self.query = query
        self.headers = headers
        self.body = body
        self.request_id = request_id
        self.host = host
        self.api_version = None
        self.params = {}
        self.role = None
        self.emulator = None

    @property
    def store(self):
        return self.emulator.store

    @property
    def is_preview(self):
        return self.api_version == defaults.PREVIEW_VERSION

    def arg(self, name):
        for key, value in self.query:
            if key == name:
                return value
        return None

    def header(self, name):
        return self.headers.get(name)

    def origin(self):
        """``scheme://host`` the client used, for absolute links such as ``nextLink``.

        Behind a TLS-terminating proxy the request reaches us over plain HTTP; the proxy says what the client
        used in ``Forwarded`` (RFC 7239, first hop) or ``X-Forwarded-Proto`` / ``X-Forwarded-Host``.
        """
        forwarded = forwarded_pairs(self.headers.get("Forwarded"))
        proto = forwarded.get("proto") or _first(self.headers.get("X-Forwarded-Proto"))
        host = forwarded.get("host") or _first(self.headers.get("X-Forwarded-Host")) or self.host
        scheme = proto.lower() if proto and proto.lower() in ("http", "https") else "http"
        return "%s://%s" % (scheme, host)

    def content_type(self):
        raw = self.headers.get("Content-Type")
        return raw.split(";", 1)[0].strip().lower() if raw else None

    def json_body(self, allowed=(JSON,)):
        """Parse the JSON body: 415 for another media type, 400 if missing or unparsable."""
        if not self.body:
            raise ApiError(400, "The request body is required and must be a JSON document.")
        media = self.content_type()
        if media not in allowed:
            raise ApiError(415, "Content-Type %r is not supported here; use %s."
                           % (self.headers.get("Content-Type") or "(none)", " or ".join(allowed)))
        try:
            return json.loads(self.body.decode("utf-8"))
        except UnicodeDecodeError:
            raise ApiError(400, "The request body is not UTF-8 encoded JSON.") from None
        except ValueError as exc:
            raise ApiError(400, "The request body is not valid JSON: %s." % exc) from None


def _first(value):
    """The first (client-side) entry of a comma-separated proxy header, or None."""
    if not value:
        return None
    return value.split(",", 1)[0].strip() or None


def forwarded_pairs(value):
    """The parameters of the first element of an RFC 7239 ``Forwarded`` header, names lower-cased, quotes removed."""
    pairs = {}
    first = value.split(",", 1)[0] if value else ""
    for part in first.split(";"):
        name, sep, raw = part.partition("=")
        if sep and name.strip():
            pairs[name.strip().lower()] = raw.strip().strip('"') or None
    return pairs


def json_object(value, what="The request body"):
    if not isinstance(value, dict):
        raise ApiError(422, "%s must be a JSON object, not %s." % (what, json_type(value)))
    return value


def json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def expect_type(body, name, kind, nullable=False):
    """422 naming the field unless ``body[name]`` (when present) has JSON type ``kind``."""
    if name not in body:
        return
    value = body[name]
    if value is None and nullable:
        return
    checks = {
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
    }
    if not checks[kind](value):
        raise ApiError(422, "Field '%s' must be %s %s, not %s." % (
            name, "an" if kind[0] in "aeiou" else "a", kind, json_type(value)))


def expect_string_list(body, name, max_items=None):
    expect_type(body, name, "array", nullable=True)
    value = body.get(name)
    if value is None:
        return
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ApiError(422, "Field '%s[%d]' must be a string, not %s." % (name, index, json_type(item)))
    if max_items is not None and len(value) > max_items:
        raise ApiError(422, "Field '%s' accepts at most %d item(s)." % (name, max_items))


_ETAG_SPLIT = re.compile(r"\s*,\s*")


def if_match_satisfied(header_value, current_etag):
    """RFC 9110 If-Match: ``*`` or any listed etag (quotes and W/ ignored) matches the current one."""
    if header_value is None:
        return True
    if current_etag is None:
        return False
    for candidate in _ETAG_SPLIT.split(header_value.strip()):
        if candidate == "*":
            return True
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate.strip('"') == current_etag:
            return True
    return False


def check_id(value, pattern, what, rule, shown=300):
    """400 unless the path parameter ``value`` matches ``pattern``; checked before the resource is looked up."""
    if not pattern.match(value or ""):
        raise ApiError(400, "Invalid %s ID %r: use %s." % (what, value[:shown], rule))
    return value


def fetch(collection, item_id, what):
    """The stored item ``item_id`` of ``collection``, or 404 naming it (``what``: "device group", ...)."""
    item = collection.get(item_id)
    if item is None:
        raise ApiError(404, "%s%s %r was not found." % (what[:1].upper(), what[1:], item_id))
    return item


def check_present(body, names, partial):
    """422 naming the field: a replace (PUT) requires each of ``names``; a merge patch may leave one out
    but may not remove it with ``null``."""
    for name in names:
        if partial:
            if name in body and body[name] is None:
                raise ApiError(422, "Field '%s' cannot be removed (null)." % name)
        elif body.get(name) is None:
            raise ApiError(422, "Field '%s' is required." % name)


def check_preconditions(ctx, body, current_etag, what):
    """412 when the If-Match header or the body's etag does not match ``current_etag``.

    If-Match is a 2022-10-31-preview parameter; 2022-07-31 ignores the header.
    """
    if ctx.is_preview and not if_match_satisfied(ctx.header("If-Match"), current_etag):
        raise ApiError(412, "The If-Match header does not match the current etag of %s." % what)
    check_body_etag(body, current_etag, what)


def check_body_etag(body, current_etag, what):
    """412 when the body carries an etag that is not the current one."""
    etag = body.get("etag")
    if etag is None:
        return
    if not isinstance(etag, str):
        raise ApiError(422, "Field 'etag' must be a string, not %s." % json_type(etag))
    if current_etag is None or etag.strip('"') != current_etag:
        raise ApiError(412, "The etag in the request body does not match the current etag of %s; read it again "
                            "and retry." % what)


def page_size(ctx):
    name = LIST_PARAMS[ctx.api_version]["size"]
    raw = ctx.arg(name)
    if raw is None:
        return defaults.DEFAULT_PAGE_SIZE
    try:
        size = int(raw.strip())
    except ValueError:
        size = None
    if size is None or not 1 <= size <= defaults.MAX_PAGE_SIZE:
        raise ApiError(400, "%s must be an integer from 1 to %d, not %r." % (name, defaults.MAX_PAGE_SIZE, raw))
    return size


def list_response(ctx, collection, fields, sortable, render, supported=None, where=None):
    """One page of ``collection`` honouring the api-version's filter/orderby/page-size parameters.

    ``fields``: list of :class:`emulator.odata.Field` usable in filters.
    ``sortable``: {canonical field name: keyfunc(item)} usable in orderby.
    ``render``: item -> JSON for this api-version.
    ``supported``: the subset of ``("size", "filter", "orderby")`` the operation declares in this
    api-version (None = all three); the others are ignored like any unknown query parameter.
    ``where``: an extra predicate every listed item must satisfy (e.g. device group membership).
    """
    names = LIST_PARAMS[ctx.api_version]
    supported = ("size", "filter", "orderby") if supported is None else supported
    size = page_size(ctx) if "size" in supported else defaults.DEFAULT_PAGE_SIZE
    predicate = None
    filter_text = ctx.arg(names["filter"]) if "filter" in supported else None
    if filter_text is not None:
        try:
            predicate = parse_filter(filter_text, fields_by_name(fields))
        except ODataError as exc:
            raise ApiError(400, "Invalid %s: %s." % (names["filter"], exc)) from None
    if where is not None:
        predicate = where if predicate is None else _both(predicate, where)
    ordering = Ordering()
    orderby_text = ctx.arg(names["orderby"]) if "orderby" in supported else None
    if orderby_text is not None:
        try:
            name, descending = parse_orderby(orderby_text, {k.lower(): k for k in sortable})
        except ODataError as exc:
            raise ApiError(400, "Invalid %s: %s." % (names["orderby"], exc)) from None
        ordering = Ordering(name, sortable[name], descending)
    items, token = paginate(collection, ordering, size, ctx.arg(SKIP_TOKEN_PARAM), predicate)
    body = {"value": [render(item) for item in items]}
    if token:
        body["nextLink"] = next_link(ctx.origin(), ctx.path, ctx.query_string, token)
    return ok(body)


def _both(first, second):
    return lambda item: first(item) and second(item)


def merge_patch(target, patch):
    """RFC 7396 JSON merge patch: objects merge member by member, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
