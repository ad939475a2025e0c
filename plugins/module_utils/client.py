# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One HTTP client for the IoT Central data-plane REST API.

Shared by every module and by the inventory plugin, so retries, paging, rate limiting, error
reporting and secret handling behave the same everywhere. It knows nothing of Ansible: callers
turn :class:`IoTCentralError` into ``fail_json`` (modules) or ``AnsibleError`` (plugins).

``requests`` is imported lazily, when the first session is built: a module that fails argument
validation never pays for it, and ``import`` of this file stays cheap (measured in
``tests/benchmarks/bench_import.py``).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import random
import re
import reprlib
import threading
import time
import uuid
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ansible_collections.fleetops.iotcentral.plugins.module_utils.ratelimit import (
    RateLimiter,
    RetryBudget,
    shared_bucket_for,
)

COLLECTION_VERSION = "1.0.0"
USER_AGENT = "fleetops.iotcentral/" + COLLECTION_VERSION

STABLE_API_VERSION = "2022-07-31"
PREVIEW_API_VERSION = "2022-10-31-preview"
SUPPORTED_API_VERSIONS = (STABLE_API_VERSION, PREVIEW_API_VERSION)

# The service allows 20 requests per second per application, shared by every token.
SERVICE_RATE_LIMIT = 20.0
MAX_PAGE_SIZE = 100

RETRYABLE_STATUSES = frozenset((429, 500, 502, 503, 504))
# PATCH bodies here are merge patches of absolute values: sending one twice has the effect of once.
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "PUT", "DELETE", "PATCH"))

HAS_REQUESTS = importlib.util.find_spec("requests") is not None

APP_SUBDOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")

# A value quoted in a message is cut to this many characters: a 1 MB id must not make a 1 MB message.
MAX_QUOTED_CHARS = 120
# The service's own error message, and a path, are cut to these lengths.
MAX_SERVICE_MESSAGE_CHARS = 500
MAX_PATH_CHARS = 200
# Methods whose effect a lost response leaves in doubt.
WRITE_METHODS = frozenset(("PUT", "PATCH", "DELETE", "POST"))
TLS_HINT = ("set ca_path to the PEM bundle of the certificate authority that signed the service's certificate, "
            "or validate_certs: false for a test endpoint you control")


def clip(text, limit=MAX_QUOTED_CHARS):
    """``text`` cut to ``limit`` characters, saying how long it was, so a message stays readable."""
    text = str(text)
    if len(text) <= limit:
        return text
    return "%s...(%d characters)" % (text[:limit], len(text))


_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = MAX_QUOTED_CHARS
_SHORT_REPR.maxlevel = 3


def quoted(value, limit=MAX_QUOTED_CHARS):
    """``repr(value)`` for a message, cut like :func:`clip` (without first building the repr of a huge value)."""
    if isinstance(value, str):
        text = repr(value[:limit])
        return clip(text, limit + 2) if len(value) <= limit else "%s...(%d characters)" % (text, len(value))
    return clip(_SHORT_REPR.repr(value), limit)


class IoTCentralError(Exception):
    """A failed API call, or a client-side problem found before any call.

    ``status`` is the HTTP status (None when no response arrived), ``code``/``message``/``request_id``
    come from the service's ``{"error": {...}}`` body. ``str()`` gives one line a user can act on and
    never contains credentials.
    """

    def __init__(self, message, status=None, code=None, request_id=None, method=None, path=None, hint=None,
                 may_have_applied=False):
        super().__init__(message)
        self.message = message
        # True when a write may have reached the service although it failed (a lost response, a 5xx):
        # callers re-read the resource instead of reporting a failure that may not be one.
        self.may_have_applied = may_have_applied
        self.status = status
        self.code = code
        self.request_id = request_id
        self.method = method
        self.path = path
        self.hint = hint

    def __str__(self):
        parts = []
        if self.method and self.path:
            parts.append("%s %s failed:" % (self.method, clip(self.path, MAX_PATH_CHARS)))
        if self.status is not None:
            parts.append("HTTP %s" % self.status)
        if self.code:
            parts.append("%s:" % self.code if self.message else self.code)
        elif self.status is not None and self.message:
            parts[-1] += ":"
        if self.message:
            parts.append(clip(self.message, MAX_SERVICE_MESSAGE_CHARS))
        if self.request_id:
            parts.append("(requestId %s)" % self.request_id)
        text = " ".join(parts)
        if self.hint:
            text += ". " + self.hint
        return text

    def to_dict(self):
        """Fields a module puts next to ``msg`` in its failure result."""
        return {
            "status": self.status,
            "error_code": self.code,
            "error_message": self.message,
            "request_id": self.request_id,
        }


class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in total time.

    Throttling (429) is not bounded per request: the client's :class:`RetryBudget` ends it only when no request
    got through for ``max_stall`` seconds (at most ``max_throttle_retries`` per request), while the adaptive rate
    limiter slows every request down. Backoff after a 429 grows only up to ``throttle_backoff_cap`` doublings.
    """

    def __init__(self, max_retries=6, base_delay=0.5, max_delay=30.0, max_total=120.0, throttle_window=1.0,
                 max_stall=120.0, max_throttle_retries=100, throttle_backoff_cap=3):
        self.max_stall = max_stall
        self.max_throttle_retries = max_throttle_retries
        self.throttle_backoff_cap = throttle_backoff_cap
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_total = max_total
        # Without Retry-After, wait at least one rate-limit window after a 429 so the retry meets a refilled budget.
        self.throttle_window = throttle_window

    def delay(self, attempt, status=None, retry_after=None, rand=random.random):
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        backoff = rand() * min(self.max_delay, self.base_delay * (2 ** attempt))
        if status == 429:
            return self.throttle_window + backoff
        return backoff


def parse_retry_after(value, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    # Lazy: email.utils costs a few milliseconds of every module's start, and HTTP-date Retry-After values are rare.
    from email.utils import parsedate_to_datetime  # pylint: disable=import-outside-toplevel

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def exception_chain(exc):
    """``exc`` and every exception it wraps: ``reason`` (urllib3), ``__cause__``, ``__context__`` and exception args."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        yield current
        pending.append(getattr(current, "reason", None))
        pending.append(current.__cause__)
        pending.append(current.__context__)
        pending.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))


def never_reached_service(exc):
    """True when a connection error means no request reached the service (refused or unresolvable host).

    requests wraps urllib3's NewConnectionError (NameResolutionError is a subclass) in a MaxRetryError as
    ``reason``; walk that chain rather than matching message text. Only such errors are safe to retry for a
    POST: after a reset or a read timeout the service may already have acted.
    """
    try:
        from urllib3.exceptions import NewConnectionError  # pylint: disable=import-outside-toplevel
    except ImportError:  # pragma: no cover - urllib3 comes with requests
        return False
    return any(isinstance(current, NewConnectionError) for current in exception_chain(exc))


def certificate_problem(exc):
    """What certificate verification said (``self-signed certificate``, ``Hostname mismatch, ...``), or None when
    ``exc`` is not a verification failure (a handshake cut short is a network fault like any other)."""
    import ssl  # pylint: disable=import-outside-toplevel

    for current in exception_chain(exc):
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or current.reason or "certificate verify failed"
    return None


def tls_verify_setting(validate_certs, ca_path):
    """The ``verify`` argument for every request: False, the user's CA bundle, or True (the system store).

    Given per request, because requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace a session's
    ``verify`` (and even ``verify=False``) when the request itself does not say; what the user set must win.
    """
    if not validate_certs:
        return False
    return ca_path or True


def check_ca_path(ca_path, validate_certs=True):
    """ValueError naming the option when ``ca_path`` cannot be used (requests would raise a bare OSError)."""
    if ca_path and validate_certs and not os.path.exists(ca_path):
        raise ValueError("ca_path %s does not exist: give the path of a PEM file (or c_rehash directory) of the "
                         "certificate authorities to trust, or leave ca_path unset to use the system store"
                         % quoted(ca_path))


def is_loopback_host(host):
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1): traffic that never leaves the machine."""
    host = (host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(base_url, allow_insecure_http=False):
    """Refuse plain ``http://`` to a host that is not loopback unless the user allowed it: the token would travel
    in clear text. Loopback (the emulator, a local tunnel) is allowed."""
    parts = urlsplit(base_url)
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback_host(parts.hostname):
        raise ValueError("base_url %s uses plain http to a host that is not loopback, so the credential would be sent "
                         "in clear text: use https, or set allow_insecure_http: true (IOTCENTRAL_ALLOW_INSECURE_HTTP) "
                         "if the network path is trusted" % quoted(base_url))


def parse_sas_token(token):
    """Split ``SharedAccessSignature sr=..&sig=..&skn=..&se=..`` into its fields.

    Raises ValueError naming what is wrong (never echoing the token).
    """
    prefix = "SharedAccessSignature "
    if not token.startswith(prefix):
        raise ValueError(
            "api_token must be the whole API token as IoT Central shows it, starting with 'SharedAccessSignature sr='"
        )
    fields = dict(parse_qsl(token[len(prefix):], keep_blank_values=True))
    missing = [name for name in ("sr", "sig", "skn", "se") if not fields.get(name)]
    if missing:
        raise ValueError("api_token is missing its %s field; copy the whole token from IoT Central" % ", ".join(missing))
    try:
        int(fields["se"])
    except ValueError:
        raise ValueError("api_token has a non-numeric expiry (se); copy the whole token from IoT Central")
    return fields


def sas_token_expiry(token):
    """Expiry of an API token in seconds since the epoch (IoT Central writes ``se`` in milliseconds)."""
    se = int(parse_sas_token(token)["se"])
    return se / 1000.0 if se > 10 ** 11 else float(se)


def normalize_base_url(app=None, base_url=None):
    """The URL in front of ``/api``: from ``base_url`` if given, else ``https://{app}.azureiotcentral.com``."""
    if base_url:
        url = base_url.strip().rstrip("/")
        if url.endswith("/api"):
            url = url[:-4]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must be an absolute http(s) URL such as https://myapp.azureiotcentral.com")
        if parts.username or parts.password or parts.query or parts.fragment:
            # Credentials in the URL would be echoed in every error message; a query would break every path.
            raise ValueError("base_url must not carry a user name, password, query or fragment; give only "
                             "scheme://host[:port][/path] and the credential in api_token or bearer_token")
        return url
    if app:
        app = app.strip()
        if not APP_SUBDOMAIN.match(app):
            raise ValueError(
                "app is the application subdomain only: letters, digits and '-' (myapp for myapp.azureiotcentral.com); "
                "use base_url for a full URL"
            )
        return "https://%s.azureiotcentral.com" % app
    raise ValueError("Either app or base_url is required (or the IOTCENTRAL_APP / IOTCENTRAL_BASE_URL environment variables)")


def outcome_in_doubt(method, status, error):
    """True when one attempt of a write may have been applied although no success came back: the connection
    failed after the request was sent, or the service (or a gateway in front of it) answered 5xx."""
    if method not in WRITE_METHODS:
        return False
    if error is not None:
        return error[0] == "read"
    return status is not None and status >= 500


class Response:
    """``elapsed``: seconds from sending the request to its answer's headers (the last attempt's, without the time
    spent waiting on the rate limiter or between retries), when known."""

    __slots__ = ("status", "body", "headers", "elapsed")

    def __init__(self, status, body, headers, elapsed=None):
        self.status = status
        self.body = body
        self.headers = headers
        self.elapsed = elapsed


class IoTCentralClient:
    """Calls ``{base_url}/api/{path}?api-version=...`` with auth, timeouts, retries and rate limiting."""

    def __init__(self, base_url, api_token=None, bearer_token=None, api_version=None, validate_certs=True,
                 ca_path=None, timeout=30.0, rate_limit=SERVICE_RATE_LIMIT, retry_policy=None, pool_size=10,
                 sleep=time.sleep, clock=time.monotonic, shared_budget=True):
        self.base_url = base_url.rstrip("/")
        self._base_parts = urlsplit(self.base_url)
        if api_version is not None and api_version not in SUPPORTED_API_VERSIONS:
            raise ValueError(
                "api_version %s is not supported; use one of %s" % (quoted(api_version), ", ".join(SUPPORTED_API_VERSIONS))
            )
        # Pinned means the user chose it: then we never switch to the preview version on their behalf.
        self.api_version_pinned = api_version is not None
        self.api_version = api_version or STABLE_API_VERSION
        self._auth_header = self._build_auth_header(api_token, bearer_token)
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self._verify = tls_verify_setting(validate_certs, ca_path)
        self.timeout = float(timeout)
        self.connect_timeout = min(10.0, self.timeout)
        self.retry_policy = retry_policy or RetryPolicy()
        self.rate_limiter = None
        if rate_limit:
            # This process's share (rate_limit), chained to the machine-wide bucket of the application (the
            # service's budget, shared by every process of the collection here; ratelimit.py).
            shared = shared_bucket_for(self.base_url, SERVICE_RATE_LIMIT) if shared_budget else None
            self.rate_limiter = RateLimiter(rate_limit, sleep=sleep, clock=clock, shared=shared)
        self.retry_budget = RetryBudget(self.retry_policy.max_stall, clock=clock)
        self.pool_size = pool_size
        self._sleep = sleep
        self._clock = clock
        self._session = None
        self._session_lock = threading.Lock()
        self.stats = {"requests": 0, "retries": 0, "throttled": 0}
        self._stats_lock = threading.Lock()
        self._local = threading.local()

    # ----------------------------------------------------------------- setup
    @staticmethod
    def _build_auth_header(api_token, bearer_token):
        if api_token and bearer_token:
            raise ValueError("api_token and bearer_token are mutually exclusive; give only one")
        if api_token:
            api_token = api_token.strip()
            expiry = sas_token_expiry(api_token)
            if expiry < time.time():
                raise ValueError(
                    "api_token expired on %s UTC; create a new API token in IoT Central"
                    % time.strftime("%Y-%m-%d %H:%M", time.gmtime(expiry))
                )
            return ("api_token", api_token)
        if bearer_token:
            bearer_token = bearer_token.strip()
            if bearer_token.lower().startswith("bearer "):
                bearer_token = bearer_token[7:].strip()
            if not bearer_token:
                raise ValueError("bearer_token is empty")
            return ("bearer_token", "Bearer " + bearer_token)
        raise ValueError(
            "No credential: set api_token (IOTCENTRAL_API_TOKEN) or bearer_token (IOTCENTRAL_BEARER_TOKEN)"
        )

    @property
    def credential_name(self):
        return self._auth_header[0]

    def _get_session(self):
        if self._session is None:
            with self._session_lock:
                if self._session is None:
                    import requests  # pylint: disable=import-outside-toplevel
                    from requests.adapters import HTTPAdapter  # pylint: disable=import-outside-toplevel

                    session = requests.Session()
                    # Retries are ours (they know about 429 and idempotency); urllib3 must not add its own.
                    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, self.pool_size), max_retries=0)
                    session.mount("https://", adapter)
                    session.mount("http://", adapter)
                    session.verify = self.ca_path if (self.validate_certs and self.ca_path) else bool(self.validate_certs)
                    session.headers["User-Agent"] = USER_AGENT
                    session.headers["Accept"] = "application/json"
                    self._session = session
        return self._session

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None

    # ----------------------------------------------------------------- versions and paths
    def count_into(self, counter):
        """From now on, also count the requests this thread sends (retries included) in ``counter["requests"]``;
        None stops. Tells apart the requests of work that runs while other work uses the same client
        (``device_fleet`` writes while its listing goes on)."""
        self._local.counter = counter

    def list_api_version(self):
        """Version for list calls with filter/orderby/page size: the preview, unless the user pinned one."""
        return self.api_version if self.api_version_pinned else PREVIEW_API_VERSION

    def require_preview(self, feature):
        """Version for preview-only features; refuses when the user pinned the stable version."""
        if self.api_version_pinned and self.api_version != PREVIEW_API_VERSION:
            raise IoTCentralError(
                "%s needs api_version %s, but api_version is pinned to %s; remove api_version or set it to %s"
                % (feature, PREVIEW_API_VERSION, self.api_version, PREVIEW_API_VERSION)
            )
        return PREVIEW_API_VERSION

    def list_params(self, filter=None, order_by=None, page_size=None, api_version=None):  # pylint: disable=redefined-builtin
        """Query parameters for a list call, named as the chosen api-version's how-to names them."""
        version = api_version or self.list_api_version()
        preview = version == PREVIEW_API_VERSION
        params = {}
        if page_size is not None:
            if not 1 <= int(page_size) <= MAX_PAGE_SIZE:
                raise IoTCentralError("page_size must be between 1 and %d" % MAX_PAGE_SIZE)
            params["maxpagesize" if preview else "$top"] = int(page_size)
        if filter:
            params["filter" if preview else "$filter"] = filter
        if order_by:
            params["orderby" if preview else "$orderby"] = order_by
        return params

    @staticmethod
    def path(*segments):
        """``/seg1/seg2``, each segment percent-encoded (template ids carry ``:`` and ``;``)."""
        return "".join("/" + quote(str(segment), safe="") for segment in segments)

    def url_for(self, path):
        return self.base_url + "/api" + path

    # ----------------------------------------------------------------- requests
    def request(self, method, path, params=None, body=None, content_type="application/json", api_version=None,
                headers=None, expected=(200, 201, 204), allow_404=False, url=None):
        """Send one call (with retries) and return a :class:`Response`; raise :class:`IoTCentralError` otherwise.

        ``path`` is relative to ``/api``. ``url`` (absolute, e.g. a nextLink) replaces path and params.
        With ``allow_404`` a 404 returns ``None`` instead of raising.
        """
        method = method.upper()
        if url is None:
            query = {"api-version": api_version or self.api_version}
            query.update(params or {})
            url = self.url_for(path) + "?" + urlencode(query, quote_via=quote)
            display_path = "/api" + path
        else:
            display_path = urlsplit(url).path
        send_headers = {"Authorization": self._auth_header[1]}
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":"))
            send_headers["Content-Type"] = content_type
        if headers:
            send_headers.update(headers)

        idempotent = method in IDEMPOTENT_METHODS
        policy = self.retry_policy
        # What a process's first request costs before it can leave (importing requests, building the session)
        # comes before its token: the service counts a request when it arrives, so a token taken earlier lets the
        # buckets refill while the request is still on its way, and many processes starting at once (forks) then
        # arrive together, beyond the budget the shared bucket gave out.
        self._get_session()
        started = self._clock()
        attempt = 0
        throttled = 0
        may_have_applied = False
        while True:
            send_headers["x-ms-client-request-id"] = str(uuid.uuid4())
            if self.rate_limiter is not None:
                self.rate_limiter.acquire()
            with self._stats_lock:
                self.stats["requests"] += 1
                counter = getattr(self._local, "counter", None)
                if counter is not None:
                    counter["requests"] += 1
            status, error, retry_after, resp = self._send_once(method, url, send_headers, data)
            may_have_applied = may_have_applied or outcome_in_doubt(method, status, error)
            retryable = False
            if error is not None:
                # A refused connection never reached the service; anything later may have been applied.
                # A certificate problem is no transient one: retrying only hides its cause.
                retryable = error[0] != "tls" and (error[0] == "connect" or idempotent)
            elif status in RETRYABLE_STATUSES:
                retryable = status == 429 or idempotent
                if status == 429:
                    with self._stats_lock:
                        self.stats["throttled"] += 1
            if status is not None and status != 429:
                self.retry_budget.progress()
            if retryable and retry_after is not None and retry_after > policy.max_delay:
                # Retrying before the time the service asked for would only meet another refusal.
                retryable = False
            if retryable and status == 429:
                # Throttling slows the run down rather than ending it: the rate adapts for every thread, and only
                # the run's budget (no request through for max_stall seconds) ends the retries.
                if throttled < policy.max_throttle_retries and self.retry_budget.allows_retry():
                    delay = policy.delay(min(throttled, policy.throttle_backoff_cap), status=status,
                                         retry_after=retry_after)
                    if self.rate_limiter is not None:
                        self.rate_limiter.throttled()
                        self.rate_limiter.pause(delay)
                    else:
                        self._sleep(delay)
                    throttled += 1
                    with self._stats_lock:
                        self.stats["retries"] += 1
                    continue
            elif retryable and attempt < policy.max_retries:
                delay = policy.delay(attempt, status=status, retry_after=retry_after)
                if self._clock() - started + delay <= policy.max_total:
                    self._sleep(delay)
                    attempt += 1
                    with self._stats_lock:
                        self.stats["retries"] += 1
                    continue
            break

        if error is not None:
            kind, detail = error
            if kind == "tls":
                raise IoTCentralError("%s for %s" % (detail, self._base_parts.netloc), method=method, path=display_path,
                                      hint=TLS_HINT[0].upper() + TLS_HINT[1:])
            raise IoTCentralError(
                "%s error talking to %s: %s%s" % (
                    "Connection" if kind == "connect" else "Network", self._base_parts.netloc, detail,
                    " (gave up after %d retries)" % attempt if attempt else "",
                ),
                method=method, path=display_path,
                hint="Check app/base_url, validate_certs/ca_path and network access" if kind == "connect" else None,
                may_have_applied=may_have_applied,
            )
        if status == 404 and allow_404:
            return None
        if status in expected:
            elapsed = getattr(resp, "elapsed", None)
            return Response(status, self._json_or_none(resp), resp.headers,
                            elapsed.total_seconds() if elapsed is not None else None)
        error = self._error_from_response(method, display_path, resp, attempt + throttled)
        error.may_have_applied = may_have_applied
        if status == 429 and self.retry_budget.exhausted:
            error.retry_budget_exhausted = True
            error.hint = ("Throttled for %.0f s without one request getting through (the run's retry budget); lower "
                          "rate_limit or run fewer jobs against this application at once"
                          % self.retry_budget.stalled_for())
        raise error

    def _send_once(self, method, url, headers, data):
        """One HTTP exchange. Returns (status, error, retry_after, response); error is (kind, text) or None."""
        import requests  # pylint: disable=import-outside-toplevel

        session = self._get_session()
        try:
            resp = session.request(method, url, headers=headers, data=data, verify=self._verify,
                                   timeout=(self.connect_timeout, self.timeout), allow_redirects=False)
        except requests.exceptions.SSLError as exc:
            problem = certificate_problem(exc)
            if problem is not None:
                return None, ("tls", "TLS certificate verification failed: %s" % clip(problem)), None, None
            # No request went out before the handshake completed: safe to retry like a refused connection.
            return None, ("connect", "TLS handshake failed (%s)" % type(exc).__name__), None, None
        except requests.exceptions.ConnectTimeout:
            return None, ("connect", "connect timeout after %.0fs" % self.connect_timeout), None, None
        except requests.exceptions.ConnectionError as exc:
            kind = "connect" if never_reached_service(exc) else "read"
            return None, (kind, "connection failed (%s)" % type(exc).__name__), None, None
        except requests.exceptions.Timeout:
            return None, ("read", "no response within %.0fs (timeout)" % self.timeout), None, None
        except requests.exceptions.RequestException as exc:
            return None, ("read", type(exc).__name__), None, None
        except OSError as exc:
            # requests reports an unusable CA bundle as a bare OSError, before anything is sent.
            if "certificate" in str(exc).lower():
                return None, ("tls", "cannot load the CA bundle: %s" % clip(exc)), None, None
            return None, ("read", "connection failed (%s)" % type(exc).__name__), None, None
        return resp.status_code, None, parse_retry_after(resp.headers.get("Retry-After")), resp

    @staticmethod
    def _json_or_none(resp):
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return None

    def _error_from_response(self, method, path, resp, retries):
        body = self._json_or_none(resp)
        details = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), dict) else {}
        code = details.get("code") or resp.headers.get("x-ms-error-code")
        message = details.get("message")
        if not message:
            text = (resp.text or "").strip().replace("\n", " ")
            message = clip(text, 300) if text else (resp.reason or "no error body")
        request_id = details.get("requestId") or resp.headers.get("x-ms-request-id")
        hint = None
        if resp.status_code == 401:
            env = "IOTCENTRAL_API_TOKEN" if self.credential_name == "api_token" else "IOTCENTRAL_BEARER_TOKEN"
            hint = ("Check %s (%s): it must be a valid, unexpired credential for this application (%s)"
                    % (self.credential_name, env, self._base_parts.netloc))
        elif resp.status_code == 403:
            hint = ("The %s is valid but its role may not do this; use a token whose role allows it "
                    "(for writes: App Administrator or Operator)" % self.credential_name)
        elif resp.status_code == 429:
            hint = "Still throttled after %d retries; lower the request rate or concurrency" % retries
        return IoTCentralError(message, status=resp.status_code, code=code, request_id=request_id,
                               method=method, path=path, hint=hint)

    # ----------------------------------------------------------------- conveniences
    def get(self, path, params=None, api_version=None, allow_404=False):
        resp = self.request("GET", path, params=params, api_version=api_version, allow_404=allow_404)
        return None if resp is None else resp.body

    def put(self, path, body, api_version=None, headers=None):
        return self.request("PUT", path, body=body, api_version=api_version, headers=headers).body

    def patch(self, path, body, api_version=None, content_type="application/json", headers=None):
        return self.request("PATCH", path, body=body, api_version=api_version, content_type=content_type,
                            headers=headers).body

    def post(self, path, body=None, api_version=None):
        return self.request("POST", path, body=body, api_version=api_version).body

    def delete(self, path, api_version=None, allow_404=True):
        """Delete; a resource that is already gone counts as deleted (returns False)."""
        return self.request("DELETE", path, api_version=api_version, allow_404=allow_404) is not None

    def paged(self, path, params=None, api_version=None, limit=None):
        """Yield every item of a collection, following ``nextLink`` until it is absent.

        The nextLink already carries the query (api-version, filter, page size, skip token): it is
        followed as given, never with our parameters added again. Only its path and query are kept,
        re-rooted on our base_url, so credentials never go to a host the user did not name.
        """
        count = 0
        seen_links = set()
        resp = self.request("GET", path, params=params, api_version=api_version)
        while True:
            body = resp.body if isinstance(resp.body, dict) else {}
            items = body.get("value")
            if not isinstance(items, list):
                raise IoTCentralError("List response has no 'value' array", status=resp.status, method="GET",
                                      path="/api" + path)
            for item in items:
                yield item
                count += 1
                if limit is not None and count >= limit:
                    return
            next_link = body.get("nextLink")
            if not next_link:
                return
            if next_link in seen_links:
                raise IoTCentralError("The service returned the same nextLink twice; stopping instead of looping",
                                      method="GET", path="/api" + path)
            seen_links.add(next_link)
            resp = self.request("GET", None, url=self._rebase(next_link, api_version or self.api_version))

    def rebase_link(self, link, api_version):
        """A nextLink re-rooted on our base_url (see :meth:`paged`), for callers that follow chains themselves."""
        return self._rebase(link, api_version)

    def _rebase(self, link, api_version):
        parts = urlsplit(link)
        query = parts.query
        if "api-version=" not in query:
            query = (query + "&" if query else "") + "api-version=" + quote(api_version)
        path = parts.path
        if not path.startswith("/api/"):
            raise IoTCentralError("Unexpected nextLink path %s from the service" % quoted(path))
        base = self._base_parts
        return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + path, query, ""))
