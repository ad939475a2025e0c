"""Keyset paging: skip tokens, nextLink, and correctness while items come and go."""

import random
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from emulator.errors import ApiError
from emulator.paging import Ordering, decode_skip_token, encode_skip_token, next_link, paginate
from emulator.store import Store
from emulator.testing import PREVIEW, STABLE, ApiClient, api_url


def make_collection(ids, name_of=lambda i: "name-%s" % i):
    store = Store()
    coll = store.collection("things")
    coll.bulk_put((i, {"id": i, "displayName": name_of(i)}) for i in ids)
    return coll


def walk(coll, ordering, size, between_pages=None, predicate=None):
    seen = []
    token = None
    page = 0
    while True:
        items, token = paginate(coll, ordering, size, token, predicate)
        seen.extend(item["id"] for item in items)
        if token is None:
            return seen
        if between_pages:
            between_pages(page)
        page += 1


BY_NAME = Ordering("displayName", lambda item: item["displayName"])
BY_NAME_DESC = Ordering("displayName", lambda item: item["displayName"], descending=True)


def test_pages_in_id_order_without_duplicates():
    coll = make_collection(["d%03d" % i for i in range(95)])
    assert walk(coll, Ordering(), 10) == ["d%03d" % i for i in range(95)]


def test_exact_multiple_of_page_size_has_no_empty_last_page():
    coll = make_collection(["d%02d" % i for i in range(20)])
    items, token = paginate(coll, Ordering(), 10)
    items, token = paginate(coll, Ordering(), 10, token)
    assert len(items) == 10 and token is None


def test_empty_collection():
    coll = make_collection([])
    assert paginate(coll, Ordering(), 10) == ([], None)


def test_filter_with_sparse_matches():
    coll = make_collection(["d%03d" % i for i in range(300)])
    result = walk(coll, Ordering(), 7, predicate=lambda item: item["id"].endswith("7"))
    assert result == ["d%03d" % i for i in range(300) if i % 10 == 7]


@pytest.mark.parametrize("ordering", [Ordering(), BY_NAME, BY_NAME_DESC])
def test_concurrent_adds_and_removes_never_duplicate_or_skip_survivors(ordering):
    rng = random.Random(1234)
    initial = ["d%04d" % i for i in range(0, 2000, 2)]
    # Several devices share a display name so the id tie-breaker matters.
    coll = make_collection(initial, name_of=lambda i: "name-%d" % (int(i[1:]) % 37))
    removed = set()
    added = set()

    def churn(page):
        for dummy in range(15):
            victim = rng.choice(initial)
            if victim not in removed:
                coll.delete(victim)
                removed.add(victim)
            new_id = "d%04d" % rng.randrange(1, 2000, 2)
            if new_id not in coll:
                coll.put(new_id, {"id": new_id, "displayName": "name-%d" % (int(new_id[1:]) % 37)})
                added.add(new_id)

    seen = walk(coll, ordering, 25, between_pages=churn)
    assert len(seen) == len(set(seen)), "an item was returned twice"
    survivors = set(initial) - removed
    assert survivors <= set(seen), "a device present for the whole walk was skipped"
    assert not (set(seen) - set(initial) - added)
    if ordering.keyfunc is not None:
        keys = [(ordering.keyfunc(coll.get(i) or {"displayName": "name-%d" % (int(i[1:]) % 37)}), i) for i in seen]
        assert keys == sorted(keys, reverse=ordering.descending)


def test_threads_mutating_while_paging():
    coll = make_collection(["d%05d" % i for i in range(0, 5000, 2)])
    stable_ids = {"d%05d" % i for i in range(0, 5000, 4)}
    stop = threading.Event()
    lock = threading.Lock()

    def mutate():
        rng = random.Random(7)
        while not stop.is_set():
            with lock:
                odd = "d%05d" % rng.randrange(1, 5000, 2)
                if odd in coll:
                    coll.delete(odd)
                else:
                    coll.put(odd, {"id": odd, "displayName": odd})
                victim = "d%05d" % rng.randrange(2, 5000, 4)
                if victim in coll:
                    coll.delete(victim)

    worker = threading.Thread(target=mutate)
    worker.start()
    try:
        seen = []
        token = None
        while True:
            with lock:
                items, token = paginate(coll, Ordering(), 50, token)
            seen.extend(item["id"] for item in items)
            if token is None:
                break
    finally:
        stop.set()
        worker.join()
    assert len(seen) == len(set(seen))
    assert stable_ids <= set(seen)
    assert seen == sorted(seen)


def test_skip_token_round_trip_and_rejection():
    token = encode_skip_token("devices", BY_NAME, ("Thermostat", "dev-1"))
    assert decode_skip_token(token, "devices", BY_NAME) == ("Thermostat", "dev-1")
    for bad in ("garbage!", token + "x", encode_skip_token("deviceTemplates", BY_NAME, ("a", "b"))):
        with pytest.raises(ApiError) as info:
            decode_skip_token(bad, "devices", BY_NAME)
        assert info.value.status == 400
    with pytest.raises(ApiError):
        decode_skip_token(token, "devices", BY_NAME_DESC)
    with pytest.raises(ApiError):
        decode_skip_token(token, "devices", Ordering())


def test_next_link_keeps_the_query_and_replaces_the_token():
    link = next_link("http://myapp.example:8080", "/api/devices",
                     "api-version=2022-10-31-preview&filter=contains(displayName,%20'T')&maxpagesize=3"
                     "&$skiptoken=old", "NEW")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "myapp.example:8080", "/api/devices")
    query = parse_qs(parts.query)
    assert query == {"api-version": ["2022-10-31-preview"], "filter": ["contains(displayName, 'T')"],
                     "maxpagesize": ["3"], "$skiptoken": ["NEW"]}


# Over HTTP -------------------------------------------------------------------------------

@pytest.mark.parametrize("version, size_param, orderby_param", [(STABLE, "$top", "$orderby"),
                                                                (PREVIEW, "maxpagesize", "orderby")])
def test_http_paging_follows_absolute_next_links(fresh_emulator, version, size_param, orderby_param):
    emu = fresh_emulator
    emu.emulator.seed_devices(23, prefix="pg")
    client = ApiClient(emu.base_url, version)
    response = client.get("devices", params={size_param: 10, orderby_param: "displayName desc"})
    body = response.json()
    assert len(body["value"]) == 10
    link = body["nextLink"]
    assert link.startswith(emu.base_url + "/api/devices?")
    query = parse_qs(urlsplit(link).query)
    assert query[size_param] == ["10"] and query[orderby_param] == ["displayName desc"]
    assert query["api-version"] == [version]
    names = [d["displayName"] for d in client.list_all("devices", params={size_param: 10,
                                                                          orderby_param: "displayName desc"})]
    assert len(names) == 23 and names == sorted(names, reverse=True)


def test_http_next_link_uses_the_host_header(fresh_emulator):
    fresh_emulator.emulator.seed_devices(3, prefix="hh")
    response = requests.get(api_url(fresh_emulator.base_url, "devices", PREVIEW) + "&maxpagesize=1",
                            headers={"Authorization": fresh_emulator.config.admin_token,
                                     "Host": "myapp.azureiotcentral.test"}, timeout=10)
    assert response.json()["nextLink"].startswith("http://myapp.azureiotcentral.test/api/devices?")


@pytest.mark.parametrize("headers, origin", [
    ({"X-Forwarded-Proto": "https", "X-Forwarded-Host": "myapp.azureiotcentral.com"}, "https://myapp.azureiotcentral.com"),
    ({"X-Forwarded-Proto": "https, http"}, "https://myapp.test"),
    ({"Forwarded": 'for=10.0.0.1;proto=https;host="app.example:8443", for=10.0.0.2;proto=http'}, "https://app.example:8443"),
    ({"Forwarded": "proto=HTTPS"}, "https://myapp.test"),
    ({"X-Forwarded-Proto": "gopher"}, "http://myapp.test"),
])
def test_http_next_link_behind_a_tls_proxy_keeps_the_client_scheme_and_host(fresh_emulator, headers, origin):
    fresh_emulator.emulator.seed_devices(3, prefix="px")
    response = requests.get(api_url(fresh_emulator.base_url, "devices", PREVIEW) + "&maxpagesize=1",
                            headers=dict(headers, Authorization=fresh_emulator.config.admin_token, Host="myapp.test"),
                            timeout=10)
    assert response.json()["nextLink"].startswith(origin + "/api/devices?")


def test_http_last_page_has_no_next_link_and_default_size_is_25(fresh_emulator):
    fresh_emulator.emulator.seed_devices(30, prefix="ls")
    client = ApiClient(fresh_emulator.base_url, PREVIEW)
    first = client.get("devices").json()
    assert len(first["value"]) == 25
    second = client.session.get(first["nextLink"], headers=client.headers, timeout=10).json()
    assert len(second["value"]) == 5 and "nextLink" not in second


@pytest.mark.parametrize("version, param", [(STABLE, "$top"), (PREVIEW, "maxpagesize")])
@pytest.mark.parametrize("value", ["0", "101", "ten", "-1"])
def test_http_page_size_out_of_range(fresh_emulator, version, param, value):
    response = ApiClient(fresh_emulator.base_url, version).get("devices", params={param: value})
    assert response.status_code == 400
    assert param in response.json()["error"]["message"]


def test_http_other_versions_list_parameters_are_ignored(fresh_emulator):
    fresh_emulator.emulator.seed_devices(30, prefix="ig")
    # maxpagesize/filter mean nothing in 2022-07-31, $top/$filter nothing in the preview.
    stable = ApiClient(fresh_emulator.base_url, STABLE).get("devices", params={"maxpagesize": 2, "filter": "x"})
    preview = ApiClient(fresh_emulator.base_url, PREVIEW).get("devices", params={"$top": 2, "$filter": "x"})
    assert len(stable.json()["value"]) == 25 and len(preview.json()["value"]) == 25


def test_http_invalid_skip_token(fresh_emulator):
    response = ApiClient(fresh_emulator.base_url, PREVIEW).get("devices", params={"$skiptoken": "bogus"})
    assert response.status_code == 400
    assert "$skiptoken" in response.json()["error"]["message"]


def test_http_paging_while_devices_are_added_and_removed(fresh_emulator):
    emu = fresh_emulator
    emu.emulator.seed_devices(200, prefix="cc")
    client = ApiClient(emu.base_url, PREVIEW)
    survivors = {"cc-%05d" % i for i in range(1, 201) if i % 3}
    response = client.get("devices", params={"maxpagesize": 20})
    seen = []
    page = 0
    while True:
        body = response.json()
        seen.extend(d["id"] for d in body["value"])
        if "nextLink" not in body:
            break
        # Between pages: delete every third device (ahead of and behind the cursor) and add new ones.
        for i in range(1 + page * 30, min(201, 31 + page * 30)):
            if i % 3 == 0:
                client.delete("devices/cc-%05d" % i)
        client.put("devices/cc-%05da" % (page * 17 % 200 + 1), json={"displayName": "new"})
        page += 1
        response = client.session.get(body["nextLink"], headers=client.headers, timeout=10)
    assert len(seen) == len(set(seen))
    assert survivors <= set(seen)


@pytest.mark.parametrize("text", [
    "id ge 'd-0100' and id lt 'd-0200'",
    "id gt 'd-0100' and id le 'd-0200'",
    "(contains(id, '7') or id eq 'd-0150') and id ge 'd-0120' and id lt 'd-0399'",
    "id ge 'd-0300' and id ge 'd-0350' and id lt 'd-0999' and id le 'd-0400'",
    "id lt 'd-0005'",
    "id ge 'x'",
])
def test_id_bounded_filters_seek_and_return_what_a_full_scan_returns(text):
    from emulator.odata import Field, parse_filter  # pylint: disable=import-outside-toplevel

    coll = make_collection(["d-%04d" % number for number in range(500)])
    predicate = parse_filter(text, {"id": Field("id", "string", lambda item: item["id"])})
    assert getattr(predicate, "id_range", None) is not None

    def full_scan(item):  # the same test, without the id_range that lets paging seek
        return predicate(item)

    scanned = walk(coll, Ordering(), 7, predicate=full_scan)
    assert walk(coll, Ordering(), 7, predicate=predicate) == scanned
