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
and each of those splits again if its own first page shows it is larger than estimated. Range bounds fall on whole
pages of the estimated density (half an id past the last one), so evenly spaced ids ("sensor-00042") fill every
page of a range and no request is spent on a partial page. Two things keep every worker busy when latency binds:
the open end of the id space is probed by several ranges of growing size at once, not one after the other, and
whenever a worker is idle (near the end, when ranges finish at different times) a range with more than
``IDLE_SPLIT_MIN_PAGES`` pages left hands part of its rest to it instead of reading it page after page alone.

Anything unexpected (an unsorted page, a device seen twice, the service refusing the range filter) falls back to
the single chain, which is always exact.
"""

from __future__ import annotations

import bisect
import os
import threading

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
# With a worker idle, a rest this large is shared with it: reading 2 pages side by side instead of one after the
# other saves a round trip for half a request (the partial page a new range may end with) at most.
IDLE_SPLIT_MIN_PAGES = 1.5
# The open end of the id space is probed by up to this many bounded ranges at once (plus the open rest), each
# OPEN_GROWTH times the size of the one before: 8, 32 and 128 pages past the page just read. The open end thus
# moves 168 pages a round trip, far more than the rate limit lets anyone read in one (20 requests/s * 0.2 s), and
# at most OPEN_RANGES + 1 requests read past the last id.
OPEN_RANGES = 3
OPEN_GROWTH = 4
# Idle workers get part of a rest, and the open end is probed by several ranges, only when a page takes at least
# this long to come back (the time one request is worth of the service's 20 requests/s): then waiting on round
# trips, not on the budget, is what is left to save. With faster answers the extra ranges would cost requests
# (partial and empty pages) and save next to nothing.
SLOW_ROUND_TRIP = 0.05


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


def split_rest(id_range, page_ids, page_size, fanout, idle=0):
    """Ranges covering the rest of ``id_range`` after a page holding ``page_ids`` (sorted), or [] to keep paging.

    The page's spread of positions estimates how many pages the rest holds. A bounded rest of at least
    ``1.5 * TARGET_PAGES`` pages becomes up to ``fanout`` ranges of growing size (TARGET_PAGES, TARGET_PAGES, then
    doubling; the last one reaching the bound); with ``idle`` workers waiting, a smaller rest (over
    IDLE_SPLIT_MIN_PAGES pages) is shared evenly among up to ``idle + 1`` ranges. An open-ended rest (the end of
    the id space) says nothing about how far the ids go: it becomes up to OPEN_RANGES bounded ranges of growing
    size (TARGET_PAGES * OPEN_GROWTH**n pages; as many as ``idle`` allows, at least one) plus a new open-ended rest,
    which splits the same way after its first page.
    """
    if len(page_ids) < 2 or fanout < 2:
        return []
    alphabet = position_alphabets(page_ids)
    first, last = id_position(page_ids[0], alphabet), id_position(page_ids[-1], alphabet)
    gaps = len(page_ids) - 1
    per_page = (last - first) * page_size // gaps
    if per_page <= 0:
        return []
    # A bound half an id past a whole number of pages: with evenly spaced ids, every page of the range is full.
    half_id = (last - first) // (2 * gaps)

    def bound_after(pages):
        return id_at(last + pages * per_page + half_id, alphabet)

    # A range made for TARGET_PAGES pages that holds about that many keeps its chain: splitting it again would
    # only add partial pages (unless a worker is idle).
    threshold = max(SPLIT_MIN_PAGES, 1.5 * TARGET_PAGES)
    if id_range.high is None:
        top = 1
        for characters in alphabet:
            top *= len(characters)
        sizes = [TARGET_PAGES * OPEN_GROWTH ** index for index in range(max(1, min(OPEN_RANGES, idle)))]
        if last + sum(sizes) * per_page < top:
            bounds, covered = [], 0
            for size in sizes:
                covered += size
                bounds.append(bound_after(covered))
            return _ranges_between(id_range, page_ids[-1], bounds, None)
        # The rest of the id space is within reach: split it like a bounded range.
        end, threshold = top, SPLIT_MIN_PAGES
    else:
        end = id_position(id_range.high, alphabet)
    if end <= last:
        return []
    pages_left = (end - last) / per_page
    if pages_left >= threshold:
        # Pieces of TARGET_PAGES, TARGET_PAGES, 2x, 4x, ... pages: a bound past the first page is an estimate (an
        # open-end probe's bound is a guess), so the pieces grow with the distance from what was read, and a wrong
        # estimate leaves few of them empty; the large far pieces split again after their own first page.
        marks = []
        mark = TARGET_PAGES
        while mark < pages_left and len(marks) < fanout - 1:
            marks.append(mark)
            mark *= 2
    elif idle > 0 and pages_left > IDLE_SPLIT_MIN_PAGES:
        # Rounded: an estimate a hair over a whole number of pages (the bound is exclusive) must not add a range.
        pieces = min(fanout, idle + 1, int(pages_left + 0.5))
        pages_each = max(1, int(pages_left / pieces + 0.5))
        marks = [index * pages_each for index in range(1, pieces)]
    else:
        return []
    return _ranges_between(id_range, page_ids[-1], [bound_after(pages) for pages in marks], id_range.high)


def _ranges_between(id_range, last_id, bounds, high):
    """``id gt last_id`` up to the first bound, bound to bound, and the last bound up to ``high``.

    Bounds that do not increase strictly, or that reach ``high``, are dropped (an estimate can round onto an id
    already read or past the range); [] when none is left.
    """
    kept = []
    previous = last_id
    for bound in bounds:
        if bound > previous and (high is None or bound < high):
            kept.append(bound)
            previous = bound
    if not kept:
        return []
    ranges = [IdRange(last_id, kept[0], low_open=True, order=id_range.order + (1,))]
    for index, bound in enumerate(kept):
        upper = kept[index + 1] if index + 1 < len(kept) else high
        ranges.append(IdRange(bound, upper, order=id_range.order + (index + 2,)))
    return ranges


def _page(response, where):
    body = response.body if isinstance(response.body, dict) else {}
    items = body.get("value")
    if not isinstance(items, list):
        raise IoTCentralError("List response has no 'value' array", status=response.status, method="GET", path=where)
    return items, body.get("nextLink")


class Workers:
    """How many ranges are being read or waiting, how many may be read at once, and how long a page takes.

    Each :func:`read_range` call keeps the count of ranges itself (under the lock, together with its decision to
    split), so two ranges splitting at the same moment do not both hand their rest to the same idle worker.

    Only as many ranges are read at once as it takes to keep the client's rate busy (``rate`` requests/second
    times the page round trip, a quarter more, plus two), at most ``concurrency``: 2 when the answers are fast, 7
    at 200 ms and 20 requests/second. The others wait, lowest ids first, so the parts of the id space finish in about their
    order instead of all progressing slowly side by side behind the rate limiter.
    """

    def __init__(self, concurrency, rate=None):
        self.concurrency = concurrency
        self.rate = rate
        self.ranges = 1
        self.reading = 0
        self.round_trip = None
        self.lock = threading.Lock()
        self.turn = threading.Condition(self.lock)
        # Set when the listing has failed: no range starts or reads another page.
        self.stopped = threading.Event()

    def limit(self):
        if not self.rate or self.round_trip is None:
            return self.concurrency
        return max(2, min(self.concurrency, int(self.round_trip * self.rate * 1.25) + 2))

    def idle(self):
        return max(0, self.limit() - self.ranges)

    def took(self, seconds):
        """Record one page's round trip (a moving average, so one slow page does not change the pace)."""
        with self.lock:
            self.round_trip = seconds if self.round_trip is None else 0.7 * self.round_trip + 0.3 * seconds


def read_range(client, id_range, user_filter, page_size, api_version, fanout, workers):
    """``(devices, new ranges)``: the range's devices up to where it splits, and the ranges covering the rest.

    ``workers`` (a :class:`Workers`) counts this range until it returns.
    """
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
            with workers.lock:
                workers.ranges -= 1
            return devices, []
        # Split only while the chain has come in ascending id order: then it has returned every id of the range
        # up to the page's last one, and the rest is exactly "id gt <last>".
        ascending = bool(ids) and (last_id is None or last_id < ids[0]) and all(
            ids[index] < ids[index + 1] for index in range(len(ids) - 1))
        if ascending:
            last_id = ids[-1]
            # A client that does not know the round trip (no elapsed) is taken as answering fast.
            slow = False
            if response.elapsed is not None:
                workers.took(response.elapsed)
                slow = response.elapsed >= SLOW_ROUND_TRIP
            with workers.lock:
                rest = split_rest(id_range, ids, page_size or len(ids), fanout, idle=workers.idle() if slow else 0)
                # This range ends here; its rest goes on as len(rest) ranges.
                workers.ranges += len(rest) - 1 if rest else 0
            if rest:
                return devices, rest
        else:
            fanout = 1
        if next_link in seen_links:
            raise IoTCentralError("The service returned the same nextLink twice; stopping instead of looping",
                                  method="GET", path="/api/devices")
        seen_links.add(next_link)
        if workers.stopped.is_set():
            return devices, []
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
    import heapq  # pylint: disable=import-outside-toplevel
    import queue  # pylint: disable=import-outside-toplevel
    from concurrent.futures import ThreadPoolExecutor  # pylint: disable=import-outside-toplevel

    results = {}
    limiter = getattr(client, "rate_limiter", None)
    workers = Workers(concurrency, getattr(limiter, "rate", None))
    finished = queue.Queue()
    # Ranges waiting for a worker (under workers.lock), lowest ids first: the parts of the id space then finish
    # roughly in id order, so a caller acting on them in order (the inventory adds hosts in id order) is not held
    # back by one early part read last. Orders are unique, so the IdRange itself is never compared.
    waiting = []

    def schedule(pool, id_range):
        with workers.lock:
            heapq.heappush(waiting, (id_range.order, id_range))
        pool.submit(read, pool)

    def read(pool):
        # One turn, one range: the lowest waiting when the turn comes.
        with workers.turn:
            while workers.reading >= workers.limit() and not workers.stopped.is_set():
                workers.turn.wait(0.5)
            workers.reading += 1
            id_range = heapq.heappop(waiting)[1]
        try:
            if workers.stopped.is_set():
                return
            devices, rest = read_range(client, id_range, user_filter, page_size, api_version, concurrency, workers)
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            finished.put((id_range, None, None, exc))
            return
        finally:
            with workers.turn:
                workers.reading -= 1
                workers.turn.notify()
        # Reported before the rest is scheduled, so the caller counts the new ranges before any of them can finish.
        finished.put((id_range, devices, rest, None))
        # The worker schedules the rest itself: the listing never waits for the caller's thread, which may be busy
        # in on_span.
        for new_range in rest:
            if workers.stopped.is_set():
                return
            try:
                schedule(pool, new_range)
            except RuntimeError:  # the listing failed meanwhile and the pool is shutting down
                return

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="iotc-list") as pool:
        schedule(pool, IdRange())
        outstanding = 1
        try:
            while outstanding:
                done_range, devices, rest, error = finished.get()
                if error is not None:
                    raise error
                outstanding += len(rest) - 1
                results[done_range.order] = devices
                if on_span is not None:
                    on_span(read_span(done_range, rest), devices)
        except BaseException:
            # Ranges not started yet return at once, and the ones being read stop before their next page.
            workers.stopped.set()
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
