"""A reverse proxy in front of the emulator that injects the faults a real network and service produce.

Every ``/api`` request draws from one seeded random stream: with probability ``rate`` it meets a fault, chosen
with ``weights`` among:

``5xx_before``  503 without forwarding: the service never saw the request.
``5xx_after``   forwarded (the service acted), then answered 500: the client cannot tell it from ``5xx_before``.
``reset_before``  the connection is reset without forwarding.
``reset_after``   forwarded, then the connection is reset instead of answering.
``hold``        forwarded, then the answer is held for ``hold_seconds`` (past the client's timeout) and dropped.
``burst_429``   this request and the next ``burst - 1`` ``/api`` requests get 429 without ``Retry-After``.

Test endpoints (``/__emulator__/...``) always pass through. ``script(method, path_part, kinds)`` queues faults
(or ``"pass"``) for the next matching requests, ahead of the random draw, for deterministic tests.
``stats()`` counts requests and faults per kind; ``writes_lost_after_forwarding`` counts writes the service
applied whose answer the client never got (what a client must settle by re-reading).
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULTS = ("5xx_before", "5xx_after", "reset_before", "reset_after", "hold", "burst_429")
DEFAULT_WEIGHTS = {"5xx_before": 2, "5xx_after": 2, "reset_before": 2, "reset_after": 2, "hold": 1, "burst_429": 1}
WRITES = ("PUT", "PATCH", "DELETE", "POST")
HOP_HEADERS = ("connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FaultProxy/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 120

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass

    # ------------------------------------------------------------------ faults
    def _reset(self):
        # SO_LINGER 0: close() sends a TCP RST, what a crashed gateway or a dropped NAT entry looks like.
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _answer(self, status, body, headers=()):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def _error(self, status, code, message):
        request_id = str(uuid.uuid4())
        self._answer(status, {"error": {"code": code, "message": message, "requestId": request_id}},
                     headers=(("Content-Type", "application/json"), ("x-ms-error-code", code),
                              ("x-ms-request-id", request_id)))

    # ------------------------------------------------------------------ forwarding
    def _forward(self, body):
        proxy = self.server.proxy
        conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
        try:
            headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in HOP_HEADERS)
            headers["Host"] = "%s:%d" % (proxy.upstream_host, proxy.upstream_port)
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def _relay(self, status, headers, data):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_HEADERS:
                self.send_header(name, value)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self):
        try:
            self._proxy_one()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first (its timeout is shorter than a held answer): nothing left to answer.
            self.close_connection = True

    def _proxy_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        proxy = self.server.proxy
        fault = proxy.draw(self.command, urlsplit(self.path).path)
        if fault == "5xx_before":
            self._error(503, "ServiceUnavailable", "injected: the service is unavailable")
            return
        if fault == "burst_429":
            self._error(429, "TooManyRequests", "injected: too many requests")
            return
        if fault == "reset_before":
            self._reset()
            return
        status, headers, data = self._forward(body)
        applied = self.command in WRITES and status < 300
        if fault == "5xx_after":
            proxy.note_lost(applied)
            self._error(500, "InternalServerError", "injected: the request failed after it reached the service")
        elif fault == "reset_after":
            proxy.note_lost(applied)
            self._reset()
        elif fault == "hold":
            proxy.note_lost(applied)
            proxy.released.wait(proxy.hold_seconds)
            self._reset()
        else:
            self._relay(status, headers, data)


class FaultProxy:
    """The proxy's state: the seeded draw, the scripted faults and the counters."""

    def __init__(self, upstream, rate=0.1, seed=0, weights=None, hold_seconds=2.0, burst=(3, 6)):
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.rate = float(rate)
        self.hold_seconds = float(hold_seconds)
        self.burst = burst
        self._weights = dict(weights or DEFAULT_WEIGHTS)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._burst_left = 0
        self._scripts = []
        self.released = threading.Event()
        self._stats = {}
        self.reset_stats()
        self._server = None
        self._thread = None
        self._tls = False

    # ------------------------------------------------------------------ control
    def reset_stats(self):
        with self._lock:
            self._stats = dict((kind, 0) for kind in FAULTS)
            self._stats.update({"requests": 0, "faults": 0, "writes_lost_after_forwarding": 0})

    def stats(self):
        with self._lock:
            return dict(self._stats)

    def set_rate(self, rate):
        with self._lock:
            self.rate = float(rate)
            self._burst_left = 0

    def script(self, method, path_part, kinds):
        """The next requests with ``method`` whose path contains ``path_part`` meet ``kinds`` in order."""
        with self._lock:
            self._scripts.append([method.upper(), path_part, list(kinds)])

    def draw(self, method, path):
        """The fault for one request (None: forward and answer normally)."""
        if not path.startswith("/api/"):
            return None
        with self._lock:
            self._stats["requests"] += 1
            kind = self._scripted(method, path)
            if kind is None:
                kind = self._random_kind()
            if kind == "pass":
                kind = None
            if kind is not None:
                self._stats["faults"] += 1
                self._stats[kind] += 1
            return kind

    def _scripted(self, method, path):
        for entry in self._scripts:
            wanted_method, part, kinds = entry
            if kinds and wanted_method == method and part in path:
                kind = kinds.pop(0)
                return kind
        return None

    def _random_kind(self):
        if self._burst_left > 0:
            self._burst_left -= 1
            return "burst_429"
        if self.rate <= 0 or self._random.random() >= self.rate:
            return None
        kinds = sorted(self._weights)
        kind = self._random.choices(kinds, weights=[self._weights[k] for k in kinds])[0]
        if kind == "burst_429":
            self._burst_left = self._random.randint(*self.burst) - 1
        return kind

    def note_lost(self, applied):
        if applied:
            with self._lock:
                self._stats["writes_lost_after_forwarding"] += 1

    # ------------------------------------------------------------------ server
    @property
    def base_url(self):
        host, port = self._server.server_address[:2]
        return "%s://%s:%d" % ("https" if self._tls else "http", host, port)

    def start(self, host="127.0.0.1", port=0, ssl_context=None):
        """Listen on ``host:port`` (0: a free port); with ``ssl_context`` (server side) the proxy speaks HTTPS."""
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._tls = ssl_context is not None
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self._server.daemon_threads = True
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def start_fault_proxy(upstream, ssl_context=None, **kwargs):
    """A started :class:`FaultProxy` in front of ``upstream`` (the emulator's base URL)."""
    return FaultProxy(upstream, **kwargs).start(ssl_context=ssl_context)
