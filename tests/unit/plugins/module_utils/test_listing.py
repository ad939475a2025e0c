"""The partitioned device listing (module_utils/listing.py) returns exactly what the single nextLink chain returns.

Against the in-process emulator over real HTTP, on both api-versions, with ids that are sequential, random and
skewed, and while devices are created and deleted between the pages.
"""

from __future__ import annotations

import random
import threading

import pytest

from emulator import defaults
from emulator.testing import emulator_module  # noqa: F401 pylint: disable=unused-import

from ansible_collections.fleetops.iotcentral.plugins.module_utils import listing
from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import (
    PREVIEW_API_VERSION,
    STABLE_API_VERSION,
    IoTCentralClient,
    IoTCentralError,
)
from ansible_collections.fleetops.iotcentral.plugins.module_utils.devices import list_devices
from ansible_collections.fleetops.iotcentral.plugins.module_utils.listing import (
    IdRange,
    id_at,
    id_position,
    split_rest,
)

PAGE = 50


@pytest.fixture
def app(emulator_module):  # pylint: disable=redefined-outer-name
    emulator_module.reset()
    return emulator_module


@pytest.fixture(params=["fast", "slow"])
def pace(request, monkeypatch):
    """Pages answered fast (no idle-worker split, one open-end probe) or slow (every page counts as a long round
    trip: idle workers get parts of a rest, the open end is probed by several ranges). The in-process emulator
    answers in a few ms, or more on a loaded machine; fixing the threshold keeps each mode's splits the same."""
    monkeypatch.setattr(listing, "SLOW_ROUND_TRIP", float("inf") if request.param == "fast" else 0.0)
    return request.param


class CountingClient(IoTCentralClient):
    """The real client, recording each GET's filter and running ``between_pages`` after each list page."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters = []
        self.between_pages = None
        self._hook_lock = threading.Lock()

    def request(self, method, path, params=None, **kwargs):
        response = super().request(method, path, params=params, **kwargs)
        if method == "GET" and (path == "/devices" or "/api/devices?" in (kwargs.get("url") or "")):
            with self._hook_lock:
                self.filters.append((params or {}).get("filter"))
                if self.between_pages is not None:
                    self.between_pages()
        return response


def client_for(app_handle, api_version=None):  # pylint: disable=redefined-outer-name
    return CountingClient(app_handle.base_url, api_token=defaults.ADMIN_TOKEN, api_version=api_version, rate_limit=0,
                          pool_size=8)


def seed_ids(app_handle, ids):  # pylint: disable=redefined-outer-name
    for device_id in ids:
        app_handle.store.collection("devices").put(device_id, new_device(app_handle, device_id))


def new_device(app_handle, device_id):  # pylint: disable=redefined-outer-name
    return {"id": device_id, "displayName": device_id, "template": None, "enabled": True, "simulated": False,
            "provisioned": False, "organizations": [], "type": [], "deploymentManifest": None,
            "etag": app_handle.store.new_etag(), "_keys": {"primaryKey": "a", "secondaryKey": "b"}}


def random_ids(count, seed):
    rng = random.Random(seed)
    return ["".join(rng.choice(listing.ID_ALPHABET[11:]) for _position in range(10)) for _number in range(count)]


ID_SETS = {
    "sequential": ["sensor-%05d" % number for number in range(1, 1201)],
    "random": random_ids(1200, 7),
    # A dense cluster inside a sparse spread: the first page's density is wrong for most of the rest.
    "skewed": random_ids(150, 8) + ["zz-%04d" % number for number in range(850)] + ["A%03d" % n for n in range(200)],
}


# --------------------------------------------------------------------------------------------- pure parts


def test_positions_follow_ordinal_order_and_invert():
    ids = sorted(set(ID_SETS["skewed"] + ["-", "0", "a", "a-", "a0", "Z", "zzzz"]))
    positions = [id_position(device_id) for device_id in ids]
    assert positions == sorted(positions)
    for device_id in ("sensor-00042", "Zebra", "a"):
        assert id_at(id_position(device_id)) == device_id


def test_id_range_filters_cover_each_id_once():
    ranges = [IdRange(None, "b"), IdRange("b", "m"), IdRange("m", None)]
    assert [r.filter() for r in ranges] == ["id lt 'b'", "id ge 'b' and id lt 'm'", "id ge 'm'"]
    assert ranges[1].filter("enabled eq true or simulated eq true") == (
        "(enabled eq true or simulated eq true) and id ge 'b' and id lt 'm'")
    assert IdRange("a'b", None, low_open=True).filter() == "id gt 'a''b'"
    for device_id in ("a", "b", "b0", "lzz", "m", "zz"):
        assert sum(r.contains(device_id) for r in ranges) == 1


def test_split_rest_makes_contiguous_ranges_from_the_page_density():
    page = ["sensor-%05d" % n for n in range(1, 101)]
    whole = IdRange()
    rest = split_rest(whole, page, 100, 8)
    assert 2 <= len(rest) <= 8
    assert rest[0].low == "sensor-00100" and rest[0].low_open
    assert rest[-1].high is None
    for before, after in zip(rest, rest[1:]):
        assert before.high == after.low and not after.low_open
    # A rest estimated at under SPLIT_MIN_PAGES pages follows its nextLink instead.
    assert split_rest(IdRange(None, "sensor-00250"), page, 100, 8) == []
    assert split_rest(whole, page, 100, 1) == []


def ids_in(id_range, ids):
    return [device_id for device_id in ids if id_range.contains(device_id)]


def test_bounds_fall_on_whole_pages_of_evenly_spaced_ids():
    fleet = ["sensor-%05d" % n for n in range(1, 10001)]
    page = fleet[:100]
    # A bounded rest of 99 pages: pieces of 8, 8, 16, 32 pages and the rest, every page full.
    rest = split_rest(IdRange(None, "sensor-10001"), page, 100, 8)
    assert [len(ids_in(r, fleet)) for r in rest] == [800, 800, 1600, 3200, 3500]
    # The open end: one range of 8 pages and the open rest.
    rest = split_rest(IdRange(), page, 100, 8)
    assert [len(ids_in(r, fleet)) for r in rest] == [800, 9100]
    assert rest[-1].high is None


def test_idle_workers_get_more_of_the_open_end_and_parts_of_a_small_rest():
    fleet = ["sensor-%05d" % n for n in range(1, 10001)]
    page = fleet[:100]
    # Open end with idle workers: ranges of 8, 32 and 128 pages ahead, then the open rest.
    rest = split_rest(IdRange(), page, 100, 8, idle=5)
    assert [len(ids_in(r, fleet)) for r in rest] == [800, 3200, 5900, 0]
    assert rest[-1].high is None and all(r.high for r in rest[:-1])
    # A rest of 3 pages keeps its chain, unless a worker is idle: then it is shared, page-aligned.
    small = IdRange(None, "sensor-00401")
    assert split_rest(small, page, 100, 8) == []
    assert [len(ids_in(r, fleet)) for r in split_rest(small, page, 100, 8, idle=1)] == [200, 100]
    assert [len(ids_in(r, fleet)) for r in split_rest(small, page, 100, 8, idle=7)] == [100, 100, 100]
    # One page left: nothing to share.
    assert split_rest(IdRange(None, "sensor-00201"), page, 100, 8, idle=7) == []


def test_ranges_read_at_once_follow_the_round_trip():
    workers = listing.Workers(8, rate=20)
    assert workers.limit() == 8  # nothing measured yet
    workers.took(0.2)
    assert workers.limit() == 7  # 0.2 s * 20/s = 4 in flight keep the rate busy; margin on top
    assert workers.idle() == 6
    fast = listing.Workers(8, rate=20)
    fast.took(0.004)
    assert fast.limit() == 2
    unlimited = listing.Workers(8, rate=None)
    unlimited.took(0.2)
    assert unlimited.limit() == 8


# --------------------------------------------------------------------------------------------- against the emulator


@pytest.mark.parametrize("shape, api_version", [(shape, None) for shape in sorted(ID_SETS)]
                         + [("skewed", PREVIEW_API_VERSION), ("random", STABLE_API_VERSION)])
def test_partitioned_listing_equals_single_chain(app, pace, api_version, shape):  # pylint: disable=redefined-outer-name
    seed_ids(app, ID_SETS[shape])
    client = client_for(app, api_version)
    single = list_devices(client, page_size=PAGE)
    single_requests = len(client.filters)
    client.filters = []
    parallel = list_devices(client, page_size=PAGE, concurrency=8)
    assert [d["id"] for d in parallel] == [d["id"] for d in single] == sorted(ID_SETS[shape])
    assert parallel == single
    ranged = [f for f in client.filters if f]
    if api_version == STABLE_API_VERSION:
        assert not ranged and len(client.filters) == single_requests  # no list parameters: the single chain
    else:
        assert len(ranged) >= 4, "the listing was not partitioned"
        # Exactness costs a few partial and empty pages, not a second reading; the slow pace spends some more
        # (idle-worker splits, open-end probes) to save round trips.
        assert len(client.filters) <= single_requests * (1.3 if pace == "fast" else 1.6) + 2


@pytest.mark.parametrize("api_version", (PREVIEW_API_VERSION, STABLE_API_VERSION))
def test_partitioned_listing_with_a_user_filter(app, api_version):  # pylint: disable=redefined-outer-name
    seed_ids(app, ID_SETS["random"])
    client = client_for(app, api_version)
    query = "contains(id, 'a') or contains(id, 'Q')"
    single = list_devices(client, filter=query, page_size=PAGE)
    parallel = list_devices(client, filter=query, page_size=PAGE, concurrency=4)
    assert parallel == single and 200 < len(single) < 1200


@pytest.mark.parametrize("api_version", (PREVIEW_API_VERSION, STABLE_API_VERSION))
@pytest.mark.parametrize("concurrency", (1, 8))
def test_listing_under_concurrent_writes_lists_every_lasting_device_once(app, pace, api_version, concurrency):  # pylint: disable=redefined-outer-name
    """Between pages, devices are deleted and created all over the id space (the emulator's store interleaves)."""
    original = ID_SETS["random"][:700] + ID_SETS["sequential"][:500]
    seed_ids(app, original)
    devices = app.store.collection("devices")
    rng = random.Random(11)
    doomed = rng.sample(original, 200)
    lasting = set(original) - set(doomed)
    added = []
    fresh = iter(random_ids(200, 12) + ["sensor-%05d-b" % n for n in range(0, 500, 5)])

    def write_between_pages():
        for _write in range(8):
            if doomed:
                devices.delete(doomed.pop())
            device_id = next(fresh, None)
            if device_id is not None:
                added.append(device_id)
                devices.put(device_id, new_device(app, device_id))

    client = client_for(app, api_version)
    client.between_pages = write_between_pages
    listed = [device["id"] for device in list_devices(client, page_size=PAGE, concurrency=concurrency)]
    assert len(listed) == len(set(listed)), "a device was listed twice"
    assert lasting <= set(listed), "missed %s" % sorted(lasting - set(listed))[:5]
    assert set(listed) <= set(original) | set(added)
    assert listed == sorted(listed)
    assert added, "no write happened during the listing"


def test_refused_range_filter_falls_back_to_the_single_chain(app):  # pylint: disable=redefined-outer-name
    seed_ids(app, ID_SETS["sequential"][:400])
    client = client_for(app)
    real = IoTCentralClient.request

    def refuse_ranges(self, method, path, params=None, **kwargs):
        if "id ge" in ((params or {}).get("filter") or "") or "id gt" in ((params or {}).get("filter") or ""):
            raise IoTCentralError("filter not understood", status=400)
        return real(self, method, path, params=params, **kwargs)

    client.request = refuse_ranges.__get__(client)  # pylint: disable=no-value-for-parameter
    assert [d["id"] for d in list_devices(client, page_size=PAGE, concurrency=8)] == ID_SETS["sequential"][:400]


def test_an_error_that_is_not_about_the_filter_fails_the_listing(app):  # pylint: disable=redefined-outer-name
    seed_ids(app, ID_SETS["sequential"][:400])
    client = client_for(app)
    real = IoTCentralClient.request

    def fail_ranges(self, method, path, params=None, **kwargs):
        if "id ge" in ((params or {}).get("filter") or ""):
            raise IoTCentralError("busy", status=503)
        return real(self, method, path, params=params, **kwargs)

    client.request = fail_ranges.__get__(client)  # pylint: disable=no-value-for-parameter
    with pytest.raises(IoTCentralError, match="busy"):
        list_devices(client, page_size=PAGE, concurrency=8)


@pytest.mark.parametrize("shape", sorted(ID_SETS))
def test_completed_spans_are_disjoint_cover_the_id_space_and_hold_their_devices(app, pace, shape):  # pylint: disable=redefined-outer-name
    """What device_fleet plans from while the listing goes on (on_span): every id, listed or not, lies in exactly
    one span, and each span's devices are exactly the listed devices inside it."""
    seed_ids(app, ID_SETS[shape])
    client = client_for(app, PREVIEW_API_VERSION)
    spans = []
    devices = listing.list_partitioned(client, page_size=PAGE, concurrency=8, api_version=PREVIEW_API_VERSION,
                                       on_span=lambda span, part: spans.append((span, [d["id"] for d in part])))
    assert len(spans) >= 4

    def inside(span, device_id):
        low, low_included, high, high_included = span
        above = low is None or device_id > low or (low_included and device_id == low)
        below = high is None or device_id < high or (high_included and device_id == high)
        return above and below

    listed = [device["id"] for device in devices]
    probes = listed + random_ids(300, 9) + ["-", "0", "zzzzzzzzzzzz"] + [device_id + "-" for device_id in listed[::37]]
    for device_id in probes:
        assert sum(1 for span, _ids in spans if inside(span, device_id)) == 1, device_id
    for span, ids in spans:
        assert ids == [device_id for device_id in listed if inside(span, device_id)]
