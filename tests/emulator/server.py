"""HTTP/1.1 server around :class:`emulator.app.Emulator` and the in-process API.

    from emulator.server import start_emulator
    emu = start_emulator(port=0, rate_limit=0)
    ... requests.get(emu.base_url + "/api/devices?api-version=2022-07-31", headers=...)
    emu.stop()
"""

import json
import logging
import os
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .app import Config, Emulator
from .common import RequestContext
from .errors import ApiError, error_body

LOG = logging.getLogger("emulator.http")
MAX_BODY = 16 * 1024 * 1024
NO_BODY_STATUSES = (204, 304)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "IoTCentralEmulator/1.0"
    sys_version = ""
    # Idle keep-alive connections are dropped after this many seconds.
    timeout = 120
    # Small responses otherwise wait on delayed ACKs (~40 ms per request).
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def setup(self):
        super().setup()
        self.server.track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        LOG.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch(head=True)

    def do_OPTIONS(self):
        self._dispatch()

    def __getattr__(self, name):
        # Other methods (TRACE, made-up ones) go through the pipeline too, so they get the API's JSON
        # 404/405 instead of http.server's HTML 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def send_error(self, code, message=None, explain=None):
        # http.server's own errors (bad request line, line too long, ...) are HTML by default; the API
        # answers every error with the spec's Error body and x-ms-error-code.
        # A request line that could not be parsed leaves HTTP/0.9 behind, which would suppress the status
        # line and headers.
        self.request_version = self.protocol_version
        self._send_error(ApiError(code, message or "The request could not be understood."), head=self.command == "HEAD")

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        length = int(length)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length)

    def _dispatch(self, head=False):
        try:
            body = self._read_body()
        except ValueError:
            self._send_error(ApiError(400, "Unreadable request body framing."), head)
            return
        split = urlsplit(self.path)
        host = self.headers.get("Host") or authority(self.server.server_address)
        ctx = RequestContext(self.command.upper(), split.path or "/", split.query,
                             parse_qsl(split.query, keep_blank_values=True), self.headers, body,
                             str(uuid.uuid4()), host)
        response = self.server.emulator.handle(ctx)
        self._send_raw(response.status, response.body, response.headers, head)

    def _send_error(self, exc, head=False):
        """An error found before the request reached the pipeline; the rest of the stream cannot be trusted."""
        self.close_connection = True
        request_id = str(uuid.uuid4())
        headers = {"Connection": "close", "x-ms-error-code": exc.code, "x-ms-request-id": request_id}
        self._send_raw(exc.status, error_body(exc.code, exc.message, request_id), headers, head)

    def _send_raw(self, status, body, headers, head=False):
        payload = b""
        if body is not None and status not in NO_BODY_STATUSES:
            payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        if status not in NO_BODY_STATUSES:
            # Always framed by length so keep-alive clients never wait for a close.
            self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        # Headers and body leave in one write (end_headers would flush the headers alone).
        self._headers_buffer.append(b"\r\n")
        if payload and not head:
            self._headers_buffer.append(payload)
        self.flush_headers()


def authority(address):
    """``host:port`` of a socket address, with an IPv6 host in brackets so URLs built on it stay valid."""
    host, port = address[:2]
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, emulator):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.emulator = emulator
        self._connections = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection, add):
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def close_connections(self):
        # Keep-alive connections would otherwise keep answering after stop().
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EmulatorHandle:
    """A running emulator: ``base_url``, ``port``, ``store``, ``stats()``, ``reset_stats()``, ``stop()``."""

    def __init__(self, emulator, server, thread):
        self.emulator = emulator
        self.server = server
        self._thread = thread
        host = emulator.config.host
        self.host = host
        self.port = server.server_address[1]
        self.base_url = "http://" + authority((host, self.port))
        self._stopped = False

    @property
    def store(self):
        return self.emulator.store

    @property
    def config(self):
        return self.emulator.config

    def stats(self):
        return self.emulator.stats.snapshot()

    def reset_stats(self):
        self.emulator.stats.reset()

    def reset(self):
        """Empty the app (templates stay), like POST /__emulator__/reset."""
        self.emulator.reset()

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.close_connections()
        self.server.server_close()
        self._thread.join(timeout=5)
        with self.store.lock:
            self.store.save_if_dirty()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_emulator(**options):
    """Start an emulator in a background thread. Options are :class:`emulator.app.Config` keywords."""
    config = Config(**options)
    emulator = Emulator(config)
    server = EmulatorHTTPServer((config.host, config.port), emulator)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="iotc-emulator-%d" % server.server_address[1], daemon=True)
    thread.start()
    handle = EmulatorHandle(emulator, server, thread)
    if config.port_file:
        write_port_file(config.port_file, handle.port)
    return handle


def write_port_file(path, port):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write("%d\n" % port)
    # Renamed into place so a watcher never reads a half-written file.
    os.replace(tmp, path)
