# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the device list as several id ranges at once, every device exactly once.

Following ``nextLink`` costs one round trip per page, one after the other: with 80-200 ms per page the latency,
not the service's 20 requests/second, sets the pace. The 2022-10-31-preview how-to documents ``lt``/``ge`` on
``id`` (``id ge '26whl7mure6'``), so the list can be read as independent ranges, each with its own ``nextLink``
chain, all under the client's shared rate limiter.

Exactness: the ranges are ``id lt b1``, ``id ge b1 and id lt b2``, ..., ``id ge bk``. Whatever order the service
compares ids in, ``ge`` is the complement of ``lt``, so every id falls in exactly one range; inside a range the
service's own paging applies, exactly as for a single chain. A range is split only after a page that is sorted by
id (the service's default order), so the rest of it is ``id gt <last id of the page>``.

Adaptive split: the first page of a range shows how densely ids sit (their positions in the id alphabet); when
the rest of the range looks larger than a few pages, it is cut into ranges of about ``TARGET_PAGES`` pages each,
and each of those splits again if its own first page shows it is larger than estimated.

Anything unexpected (an unsorted page, a device seen twice, the service refusing the range filter) falls back to
the single chain, which is always exact.
"""

from __future__ import annotations

import bisect
import os

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralError

# Characters of a device id ("letters, numbers, and the - character"), in ordinal (code point) order.
ID_ALPHABET = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Positions are exact integers over this many characters after the common prefix of a page's ids.
POSITION_DEPTH = 24

DEFAULT_LIST_CONCURRENCY = 8
MAX_LIST_CONCURRENCY = 32
# A new range covers about this many pages: each range ends with a partial page (half a request wasted on
# average), so longer ranges waste less; shorter ones spread better over the workers.
TARGET_PAGES = 8
# The rest of a range is split only when it looks at least this large; smaller rests follow their nextLink.
SPLIT_MIN_PAGES = 3


class RangeFilterRefused(Exception):
    """The service did not accept an id range filter: read the single chain instead."""


def id_position(device_id, alphabets=None):
    """Integer position of an id: a number whose digit ``i`` is the id's character ``i`` in ``alphabets[i]``.

    Monotone in ordinal order, and only used to estimate how many ids lie between two ids. Over the characters the
    ids actually use after their common prefix (digits only, for "sensor-00042"), equal distances hold about equally
    many ids. Without ``alphabets``: every position over ID_ALPHABET, POSITION_DEPTH positions.
    """
    alphabets = alphabets or [ID_ALPHABET] * POSITION_DEPTH
    position = 0
    for index, alphabet in enumerate(alphabets):
        digit = 0
        if index < len(device_id):
            digit = min(bisect.bisect_left(alphabet, device_id[index]), len(alphabet) - 1)
        position = position * len(alphabet) + digit
    return position


def id_at(position, alphabets=None):
    """The shortest id string at ``position``: the inverse of :func:`id_position` up to trailing lowest characters."""
    alphabets = alphabets or [ID_ALPHABET] * POSITION_DEPTH
    digits = []
    for alphabet in reversed(alphabets):
        position, digit = divmod(position, len(alphabet))
        digits.append(alphabet[digit])
    text = "".join(reversed(digits))
    while len(text) > 1 and text[-1] == alphabets[len(text) - 1][0]:
        text = text[:-1]
    return text


def position_alphabets(page_ids):
    """Per-position alphabets for a page: ID_ALPHABET over the page's common prefix, then the characters used after
    it, so that for "sensor-00042" the number part counts in decimal ('sensor-00999' + 1 -> 'sensor-01000')."""
    prefix = len(os.path.commonprefix([page_ids[0], page_ids[-1]]))
    used = "".join(sorted(set("".join(device_id[prefix:] for device_id in page_ids))))
    if len(used) < 2:
        used = ID_ALPHABET
    # The end of the prefix made of the same characters is part of the number ("sensor-00|9xx" is "sensor-|009xx").
    while prefix and page_ids[0][prefix - 1] in used:
        prefix -= 1
    return [ID_ALPHABET] * prefix + [used] * POSITION_DEPTH


def _quote(value):
    return "'%s'" % value.replace("'", "''")


class IdRange:
    """Ids after ``low`` (``id ge low``, or ``id gt low`` when ``low_open``) and before ``high`` (``id lt high``).

    ``order`` is a tuple placing the range among all ranges in id order, for putting the result back together.
    """

    __slots__ = ("low", "low_open", "high", "order")

    def __init__(self, low=None, high=None, low_open=False, order=()):
        self.low = low
        self.low_open = low_open
        self.high = high
        self.order = order

    def conditions(self):
        parts = []
        if self.low is not None:
            parts.append("id %s %s" % ("gt" if self.low_open else "ge", _quote(self.low)))
        if self.high is not None:
            parts.append("id lt %s" % _quote(self.high))
        return parts

    def filter(self, user_filter=None):
        parts = self.conditions()
        if user_filter:
            parts.insert(0, "(%s)" % user_filter if parts else user_filter)
        return " and ".join(parts) or None

    def contains(self, device_id):
        if self.low is not None and (device_id <= self.low if self.low_open else device_id < self.low):
            return False
        return self.high is None or device_id < self.high

    def __repr__(self):
        return "IdRange(%r)" % (" and ".join(self.conditions()) or "all")


def split_rest(id_range, page_ids, page_size, fanout):
    """Ranges covering the rest of ``id_range`` after a page holding ``page_ids`` (sorted), or [] to keep paging.

    The page's spread of positions estimates how many pages the rest holds. A bounded rest becomes up to
    ``fanout`` ranges of about TARGET_PAGES pages each (the last one reaching the bound). An open-ended rest (the
    end of the id space) says nothing about how far the ids go, so it becomes one bounded range of
    TARGET_PAGES * 2**n pages (n: how many open-ended splits came before) plus a new open-ended rest: the covered
    span doubles each time, and at most one range (the last open-ended one) reads past the last id.
    """
    if len(page_ids) < 2 or fanout < 2:
        return []
    alphabet = position_alphabets(page_ids)
    first, last = id_position(page_ids[0], alphabet), id_position(page_ids[-1], alphabet)
    per_page = (last - first) * page_size // (len(page_ids) - 1)
    if per_page <= 0:
        return []
    # A range made for TARGET_PAGES pages that holds about that many keeps its chain: splitting it again would
    # only add partial pages.
    threshold = max(SPLIT_MIN_PAGES, 1.5 * TARGET_PAGES)
    if id_range.high is None:
        top = 1
        for characters in alphabet:
            top *= len(characters)
        reach = last + per_page * TARGET_PAGES * 2 ** len(id_range.order)
        if reach < top:
            bound = id_at(reach, alphabet)
            if bound <= page_ids[-1]:
                return []
            return [IdRange(page_ids[-1], bound, low_open=True, order=id_range.order + (1,)),
                    IdRange(bound, None, order=id_range.order + (2,))]
        # The rest of the id space is within reach: split it like a bounded range.
        end, threshold = top, SPLIT_MIN_PAGES
    else:
        end = id_position(id_range.high, alphabet)
    if end <= last:
        return []
    pages_left = (end - last) / per_page
    if pages_left < threshold:
        return []
    pieces = min(fanout, max(2, int(-(-pages_left // TARGET_PAGES))))
    step = (end - last) // pieces if pieces * TARGET_PAGES >= pages_left else per_page * TARGET_PAGES
    bounds = []
    previous = page_ids[-1]
    for index in range(1, pieces):
        bound = id_at(last + index * step, alphabet)
        if bound > previous and (id_range.high is None or bound < id_range.high):
            bounds.append(bound)
            previous = bound
    if not bounds:
        return []
    ranges = [IdRange(page_ids[-1], bounds[0], low_open=True, order=id_range.order + (1,))]
    for index, bound in enumerate(bounds):
        high = bounds[index + 1] if index + 1 < len(bounds) else id_range.high
        ranges.append(IdRange(bound, high, order=id_range.order + (index + 2,)))
    return ranges


def _page(response, where):
    body = response.body if isinstance(response.body, dict) else {}
    items = body.get("value")
    if not isinstance(items, list):
        raise IoTCentralError("List response has no 'value' array", status=response.status, method="GET", path=where)
    return items, body.get("nextLink")


def read_range(client, id_range, user_filter, page_size, api_version, fanout):
    """``(devices, new ranges)``: the range's devices up to where it splits, and the ranges covering the rest."""
    params = client.list_params(filter=id_range.filter(user_filter), page_size=page_size, api_version=api_version)
    try:
        response = client.request("GET", "/devices", params=params, api_version=api_version)
    except IoTCentralError as exc:
        if exc.status == 400 and id_range.conditions():
            raise RangeFilterRefused(str(exc))
        raise
    devices = []
    seen_links = set()
    last_id = None
    while True:
        items, next_link = _page(response, "/api/devices")
        ids = [item.get("id") for item in items]
        if not all(isinstance(device_id, str) and id_range.contains(device_id) for device_id in ids):
            raise RangeFilterRefused("a range page returned ids outside the range")
        devices.extend(items)
        if not next_link:
            return devices, []
        # Split only while the chain has come in ascending id order: then it has returned every id of the range
        # up to the page's last one, and the rest is exactly "id gt <last>".
        ascending = bool(ids) and (last_id is None or last_id < ids[0]) and all(
            ids[index] < ids[index + 1] for index in range(len(ids) - 1))
        if ascending:
            last_id = ids[-1]
            rest = split_rest(id_range, ids, page_size or len(ids), fanout)
            if rest:
                return devices, rest
        else:
            fanout = 1
        if next_link in seen_links:
            raise IoTCentralError("The service returned the same nextLink twice; stopping instead of looping",
                                  method="GET", path="/api/devices")
        seen_links.add(next_link)
        response = client.request("GET", None, url=client.rebase_link(next_link, api_version))


def read_span(id_range, rest):
    """The ids a finished :func:`read_range` call has listed completely: ``(low, low_included, high, high_included)``
    (None for no bound). Without ``rest`` it is the whole range; otherwise the range up to and including the last
    id read (the first range of ``rest`` starts after it, ``id gt <last>``)."""
    if rest:
        return id_range.low, not id_range.low_open, rest[0].low, True
    return id_range.low, not id_range.low_open, id_range.high, False


def list_partitioned(client, user_filter=None, page_size=100, concurrency=DEFAULT_LIST_CONCURRENCY, api_version=None,
                     on_span=None):
    """Every device matching ``user_filter``, in id order, read as up to ``concurrency`` id ranges at once.

    Returns the raw device dicts. Raises :class:`RangeFilterRefused` when the service refuses a range filter, or
    when its answers do not allow an exact split (the caller then reads the single chain).
    ``on_span(span, devices)`` is called (in the caller's thread) as soon as a part of the id space has been listed
    completely: ``span`` as :func:`read_span` gives it, ``devices`` the raw devices in it. The parts are disjoint
    and together cover the id space; a caller can act on the devices of a part (or on the absence of an id from
    it) before the other parts are read.
    """
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait  # pylint: disable=import-outside-toplevel

    results = {}
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="iotc-list") as pool:
        pending = set([pool.submit(read_range, client, IdRange(), user_filter, page_size, api_version, concurrency)])
        ranges = {}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    devices, rest = future.result()
                    order, done_range = ranges.pop(future, ((), IdRange()))
                    results[order] = devices
                    for id_range in rest:
                        new = pool.submit(read_range, client, id_range, user_filter, page_size, api_version,
                                          concurrency)
                        ranges[new] = (id_range.order, id_range)
                        pending.add(new)
                    if on_span is not None:
                        # After the rest is submitted: the listing goes on while the caller acts on this part.
                        on_span(read_span(done_range, rest), devices)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    devices = []
    seen = set()
    for order in sorted(results):
        for device in results[order]:
            if device["id"] in seen:
                raise RangeFilterRefused("device %s was listed by two ranges" % device["id"])
            seen.add(device["id"])
            devices.append(device)
    return devices
