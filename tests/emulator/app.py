"""The emulator core: configuration, the request pipeline and resource loading.

HTTP plumbing lives in :mod:`emulator.server`; this module turns a
:class:`~emulator.common.RequestContext` into a :class:`~emulator.common.Response`:

``/api/...``: count -> latency -> auth -> rate limit -> api-version -> route ->
handler -> persist -> spec check of request and response.
``/__emulator__/...``: route -> handler (no auth, not counted, not limited).
"""

import ipaddress
import logging
import os
import time
import traceback

from . import defaults
from .auth import WRITE_METHODS, Authenticator
from .common import Response
from .errors import ApiError, error_body
from .ratelimit import RateLimiter, retry_after_seconds
from .router import Router
from .stats import Stats
from .store import Store, read_state_file

LOG = logging.getLogger("emulator")
API_PREFIX = "/api"
ADMIN_PREFIX = "/__emulator__"


class Config:
    """Emulator options; the keyword names match the CLI flags (``--rate-limit`` -> ``rate_limit``)."""

    def __init__(self, host=defaults.DEFAULT_HOST, port=0, app=defaults.DEFAULT_APP,
                 rate_limit=defaults.DEFAULT_RATE_LIMIT, latency_ms=0, state_file=None, seed_devices=0,
                 seed_prefix=defaults.DEFAULT_SEED_PREFIX, seed_template=defaults.DEFAULT_SEED_TEMPLATE,
                 templates_file=None, admin_token=defaults.ADMIN_TOKEN, reader_token=defaults.READER_TOKEN,
                 admin_bearer=defaults.ADMIN_BEARER, reader_bearer=defaults.READER_BEARER, spec_dir=None,
                 spec_check=None, retry_after=False, clock=time.time, rate_clock=time.monotonic, port_file=None,
                 no_spec_check=False):
        self.host = host
        self.port = int(port)
        self.port_file = port_file
        self.app = app
        self.rate_limit = float(rate_limit or 0)
        self.latency_ms = int(latency_ms or 0)
        self.state_file = state_file
        self.seed_devices = int(seed_devices or 0)
        self.seed_prefix = seed_prefix
        self.seed_template = seed_template
        self.templates_file = templates_file
        self.admin_token = admin_token
        self.reader_token = reader_token
        self.admin_bearer = admin_bearer
        self.reader_bearer = reader_bearer
        self.spec_dir = spec_dir
        # None = check when the spec directory exists; no_spec_check mirrors the CLI flag.
        self.spec_check = False if no_spec_check else spec_check
        self.retry_after = bool(retry_after)
        self.clock = clock
        self.rate_clock = rate_clock
        self.validate()

    def validate(self):
        if not is_loopback(self.host):
            raise ValueError("refusing to listen on %r: the emulator only binds loopback addresses" % self.host)
        if self.rate_limit < 0 or self.latency_ms < 0 or self.seed_devices < 0:
            raise ValueError("rate_limit, latency_ms and seed_devices must not be negative")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be 0..65535")


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Emulator:
    def __init__(self, config):
        from .resources import register_all  # Resources import common helpers; avoid a cycle at import time.

        self.config = config
        self.store = Store(app=config.app, state_file=config.state_file)
        self.stats = Stats()
        self.auth = Authenticator(config.admin_token, config.reader_token, config.admin_bearer,
                                  config.reader_bearer, clock=config.clock)
        self.limiter = RateLimiter(config.rate_limit, clock=config.rate_clock)
        self.api_router = Router()
        self.admin_router = Router()
        # Collection name -> id field, so the state file loader knows each collection's key.
        self.id_fields = {}
        # Hooks resources add to run after startup (seeding) and on /__emulator__/reset.
        self.startup_hooks = []
        self.reset_hooks = []
        # Called with a device id after the device is deleted (its properties, commands, ... go with it).
        self.device_delete_hooks = []
        self.spec = self._load_spec()
        register_all(self)
        if config.state_file and os.path.exists(config.state_file):
            self.store.load_state(read_state_file(config.state_file), self.id_fields)
        for hook in self.startup_hooks:
            hook()
        self.store.save_if_dirty()

    def _load_spec(self):
        from .spec import default_spec_dir

        spec_dir = self.config.spec_dir or default_spec_dir()
        if self.config.spec_check is False:
            return None
        exists = all(os.path.isdir(os.path.join(spec_dir, v)) for v in defaults.API_VERSIONS)
        if not exists:
            # An explicit --spec-dir or spec_check=True that cannot be honoured is a usage error.
            if self.config.spec_check or self.config.spec_dir:
                raise ValueError("spec checking requested but %s has no %s folders"
                                 % (spec_dir, " / ".join(defaults.API_VERSIONS)))
            LOG.info("spec directory %s not found; spec checking is off", spec_dir)
            return None
        from .spec import SpecChecker

        return SpecChecker(spec_dir, defaults.API_VERSIONS)

    # Pipeline -----------------------------------------------------------------------

    def handle(self, ctx):
        ctx.emulator = self
        path = ctx.path
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            response = self._run(ctx, self._admin)
        elif path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            response = self._api(ctx)
        else:
            response = self._error(ctx, ApiError(404, "No resource at %s; the API lives under /api." % path))
        response.headers["x-ms-request-id"] = ctx.request_id
        client_request_id = ctx.header("x-ms-client-request-id")
        if client_request_id:
            response.headers["x-ms-client-request-id"] = client_request_id
        return response

    def _admin(self, ctx):
        match = self.admin_router.lookup(ctx.method, ctx.path)
        if match.route is None:
            return self._no_route(ctx, match, operation_known=False)
        ctx.params = match.params
        with self.store.lock:
            response = match.route.handler(ctx)
            self.store.save_if_dirty()
        return response

    def _api(self, ctx):
        self.stats.count_request(ctx.method)
        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000.0)
        version = ctx.arg("api-version")
        spec_version = version if version in defaults.API_VERSIONS else defaults.STABLE_VERSION
        operation = self.spec.match(spec_version, ctx.method, ctx.path) if self.spec else None
        if operation is not None:
            # An unknown api-version has no spec to check the request against.
            if version is None or version in defaults.API_VERSIONS:
                self._check_request(ctx, operation, version)
        response = self._run(ctx, self._api_steps)
        if operation is not None:
            self._check_response(ctx, operation, version, response)
        return response

    def _api_steps(self, ctx):
        ctx.role = self.auth.authorize(ctx.header("Authorization"), ctx.method, ctx.path)
        allowed, wait = self.limiter.check(self.config.app)
        if not allowed:
            self.stats.count_throttled()
            headers = {"Retry-After": str(retry_after_seconds(wait))} if self.config.retry_after else None
            raise ApiError(429, "Too many requests for application %s; the limit is %g requests per second."
                           % (self.config.app, self.config.rate_limit), headers=headers)
        if ctx.method in WRITE_METHODS:
            self.stats.count_write()
        ctx.api_version = self._api_version(ctx)
        match = self.api_router.lookup(ctx.method, ctx.path, ctx.api_version)
        if match.route is None:
            known = bool(self.spec and self.spec.has_operation(ctx.api_version, ctx.method, ctx.path))
            return self._no_route(ctx, match, operation_known=known)
        ctx.params = match.params
        with self.store.lock:
            response = match.route.handler(ctx)
            if 200 <= response.status < 300:
                self.store.save_if_dirty()
        return response

    def _api_version(self, ctx):
        versions = [value for key, value in ctx.query if key == "api-version"]
        supported = ", ".join(defaults.API_VERSIONS)
        if not versions or not versions[0]:
            raise ApiError(400, "The api-version query parameter is required. Supported versions: %s." % supported,
                           code="MissingApiVersionParameter")
        if versions[0] not in defaults.API_VERSIONS or len(set(versions)) > 1:
            raise ApiError(400, "The api-version %r is not supported. Supported versions: %s."
                           % (",".join(versions), supported), code="InvalidApiVersionParameter")
        return versions[0]

    def _no_route(self, ctx, match, operation_known):
        if operation_known:
            raise ApiError(501, "%s %s is part of the IoT Central API but the emulator does not implement it."
                           % (ctx.method, ctx.path))
        if match.path_known:
            raise ApiError(405, "%s is not allowed on %s; allowed: %s."
                           % (ctx.method, ctx.path, ", ".join(match.allowed_methods)),
                           headers={"Allow": ", ".join(match.allowed_methods)})
        raise ApiError(404, "No resource at %s%s." % (
            ctx.path, " in api-version %s" % ctx.api_version if ctx.api_version else ""))

    def _run(self, ctx, step):
        try:
            return step(ctx)
        except ApiError as exc:
            return self._error(ctx, exc)
        except Exception:  # pylint: disable=broad-except
            LOG.error("unhandled error for %s %s\n%s", ctx.method, ctx.path, traceback.format_exc())
            return self._error(ctx, ApiError(500, "The emulator failed to handle the request."))

    @staticmethod
    def _error(ctx, exc):
        headers = dict(exc.headers)
        headers["x-ms-error-code"] = exc.code
        return Response(exc.status, error_body(exc.code, exc.message, ctx.request_id), headers)

    # Spec checks --------------------------------------------------------------------

    def _record(self, ctx, operation, version, side, messages, status=None):
        for message in messages:
            violation = {"method": ctx.method, "path": ctx.path, "api_version": version, "side": side,
                         "operation": operation.operation_id, "status": status, "message": message}
            self.stats.add_violation(violation)
            LOG.warning("spec violation (%s, %s %s, api-version=%s): %s", side, ctx.method, ctx.path, version,
                        message)

    def _check_request(self, ctx, operation, version):
        try:
            messages = self.spec.check_request(operation, ctx.query, ctx.headers, ctx.body,
                                               ctx.headers.get("Content-Type"))
        except Exception as exc:  # pylint: disable=broad-except
            messages = ["request check failed: %s" % exc]
        self._record(ctx, operation, version, "request", messages)

    def _check_response(self, ctx, operation, version, response):
        try:
            messages = self.spec.check_response(operation, response.status, response.headers, response.body)
        except Exception as exc:  # pylint: disable=broad-except
            messages = ["response check failed: %s" % exc]
        self._record(ctx, operation, version, "response", messages, status=response.status)

    # Convenience for tests and the admin endpoints ----------------------------------------

    def reset(self):
        with self.store.lock:
            self.store.reset()
            for hook in self.reset_hooks:
                hook()
            self.store.save_if_dirty()
