"""Test doubles shared by the inventory unit tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qsl, urlsplit

from ansible_collections.fleetops.iotcentral.plugins.module_utils.client import IoTCentralClient, IoTCentralError, Response

TOKEN = "SharedAccessSignature sr=app&sig=c2VjcmV0LXNpZw&skn=admin&se=%d" % int((time.time() + 86400 * 365) * 1000)


def device(device_id, **fields):
    result = {"id": device_id, "etag": "e-" + device_id, "displayName": fields.pop("displayName", device_id.upper()),
              "enabled": True, "provisioned": False, "simulated": False, "template": "dtmi:t;1"}
    result.update(fields)
    return result


class FakeApp(IoTCentralClient):
    """A client whose HTTP layer is an in-memory application with real paging (nextLink with a skip token).

    ``filters`` maps a filter string to a predicate; ``members`` maps a device group id to a predicate;
    ``fail`` maps a path to an error raised when that path is read (``fail_after`` pages first).
    """

    def __init__(self, devices, groups=None, members=None, filters=None, fail=None, fail_after=0, api_version=None,
                 delay=0.0):
        super().__init__("https://app.example", api_token=TOKEN, api_version=api_version, rate_limit=None)
        self.devices = devices
        self.groups = groups or []
        self.members = members or {}
        self.filters = filters or {}
        self.fail = fail or {}
        self.fail_after = fail_after
        self.delay = delay
        self.calls = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def request(self, method, path, params=None, body=None, content_type=None, api_version=None, headers=None,
                expected=None, allow_404=False, url=None):
        if url is not None:
            split = urlsplit(url)
            path = split.path[len("/api"):]
            query = dict(parse_qsl(split.query))
        else:
            query = dict(params or {}, **{"api-version": api_version or self.api_version})
        with self.lock:
            self.calls.append((method, path, query))
            page_number = sum(1 for call in self.calls if call[1] == path)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            if path in self.fail and page_number > self.fail_after:
                raise self.fail[path]
            return Response(200, self._page(path, query), {})
        finally:
            with self.lock:
                self.in_flight -= 1

    def _page(self, path, query):
        if path == "/devices":
            items = self.devices
            wanted = query.get("filter") or query.get("$filter")
            if wanted:
                items = [d for d in items if self.filters[wanted](d)]
            if query.get("orderby") == "displayName desc":
                items = sorted(items, key=lambda d: d["displayName"], reverse=True)
        elif path == "/deviceGroups":
            items = self.groups
        elif path.startswith("/deviceGroups/") and path.endswith("/devices"):
            group_id = path.split("/")[2]
            if group_id not in self.members:
                raise IoTCentralError("Device group %r was not found." % group_id, status=404, code="NotFound",
                                      request_id="req-404", method="GET", path="/api" + path)
            items = [d for d in self.devices if self.members[group_id](d)]
        else:
            raise AssertionError("unexpected path " + path)
        size = int(query.get("maxpagesize") or query.get("$top") or 25)
        start = int(query.get("$skiptoken") or 0)
        body = {"value": items[start:start + size]}
        if start + size < len(items):
            rest = dict(query)
            rest["$skiptoken"] = str(start + size)
            body["nextLink"] = "https://app.example/api%s?%s" % (path, "&".join("%s=%s" % kv for kv in rest.items()))
        return body

    def paths(self):
        return [call[1] for call in self.calls]


FLEET = [
    device("a-1", organizations=["seattle"]),
    device("a-2", enabled=False),
    device("b-1", provisioned=True, type=["iotEdge"], deploymentManifest={"id": "m", "data": {"secret": "registry-pw"}}),
    device("b-2", enabled=False, provisioned=True, template=None),
    device("c-1", displayName=""),
]
