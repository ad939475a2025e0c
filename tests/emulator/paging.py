"""Keyset paging with opaque ``$skiptoken`` values and absolute ``nextLink`` URLs.

A skip token records the sort key of the last item returned (the sort value
plus the id as tie-breaker), never an offset. The next page starts strictly
after that key, so adding or removing items between pages neither repeats nor
skips any item that exists for the whole walk (as long as its sort key does not
change).
"""

import base64
import bisect
import binascii
import json
from urllib.parse import parse_qsl, quote, urlencode

from .errors import ApiError

SKIP_TOKEN_PARAM = "$skiptoken"


class Ordering:
    """How a list is sorted: by id, or by ``keyfunc(item)`` then id, ascending or descending."""

    def __init__(self, name="id", keyfunc=None, descending=False):
        self.name = name
        self.keyfunc = keyfunc
        self.descending = descending

    @property
    def token_name(self):
        return "%s %s" % (self.name, "desc" if self.descending else "asc")


def encode_skip_token(collection_name, ordering, last_key):
    payload = {"c": collection_name, "o": ordering.token_name, "k": list(last_key)}
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_skip_token(token, collection_name, ordering):
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        key = payload["k"]
        valid = (isinstance(payload, dict) and payload.get("c") == collection_name
                 and payload.get("o") == ordering.token_name and isinstance(key, list)
                 and all(isinstance(part, str) for part in key))
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        valid = False
    if not valid:
        raise ApiError(400, "The %s value is not valid for this list and ordering. Use the nextLink exactly as "
                            "returned." % SKIP_TOKEN_PARAM)
    expected = 1 if ordering.keyfunc is None else 2
    if len(key) != expected:
        raise ApiError(400, "The %s value is not valid for this list and ordering." % SKIP_TOKEN_PARAM)
    return tuple(key)


def paginate(collection, ordering, page_size, skip_token=None, predicate=None):
    """Return ``(items, next_skip_token_or_None)`` for one page of ``collection``."""
    last_key = decode_skip_token(skip_token, collection.name, ordering) if skip_token else None
    if ordering.keyfunc is None:
        ids = collection.ids()
        keys = None
        start = bisect.bisect_right(ids, last_key[0]) if last_key else 0
        sequence = ids
    else:
        keys = collection.sorted_keys(ordering.token_name.split()[0], ordering.keyfunc)
        sequence = keys
        if ordering.descending:
            start = bisect.bisect_left(keys, last_key) - 1 if last_key else len(keys) - 1
        else:
            start = bisect.bisect_right(keys, last_key) if last_key else 0
    # A filter that bounds the id (id ge 'a' and id lt 'h') lets a list in id order seek instead of testing every id,
    # as the service's index does; the answer is the same.
    id_range = getattr(predicate, "id_range", None) if keys is None else None
    if id_range is not None and id_range[0] is not None:
        seek = bisect.bisect_left if id_range[1] else bisect.bisect_right
        start = max(start, seek(ids, id_range[0]))
    step = -1 if ordering.descending and keys is not None else 1
    items = []
    index = start
    last = None
    more = False
    while 0 <= index < len(sequence):
        entry = sequence[index]
        item_id = entry if keys is None else entry[1]
        if id_range is not None and id_range[2] is not None and (
                item_id > id_range[2] or (item_id == id_range[2] and not id_range[3])):
            break
        item = collection.get(item_id)
        index += step
        if predicate is not None and not predicate(item):
            continue
        if len(items) == page_size:
            more = True
            break
        items.append(item)
        last = (entry,) if keys is None else entry
    next_token = encode_skip_token(collection.name, ordering, last) if more else None
    return items, next_token


def next_link(origin, path, raw_query, skip_token):
    """Absolute URL of the next page (``origin`` = ``scheme://host``): the original query with ``$skiptoken`` replaced."""
    pairs = [(k, v) for k, v in parse_qsl(raw_query, keep_blank_values=True) if k != SKIP_TOKEN_PARAM]
    pairs.append((SKIP_TOKEN_PARAM, skip_token))
    return "%s%s?%s" % (origin, path, urlencode(pairs, quote_via=quote, safe="$"))
