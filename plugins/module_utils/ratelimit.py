# -*- coding: utf-8 -*-
# Copyright: fleetops.iotcentral contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pacing requests to an application's budget: adaptive token buckets, one per process and one per machine.

The service allows 20 requests per second per application, counted over every client. Three layers keep the
collection under it:

* :class:`RateLimiter`: the process's own bucket (``rate_limit``, shared by its threads), so a task can take a
  share of the budget;
* :class:`SharedBucket`: one bucket per application host for every process of the collection on this machine
  (forks, concurrent jobs on one AWX execution node, an inventory sync next to a playbook), kept in a small
  lock-protected file under the user's temp dir. It holds only numbers (tokens, rate, times), never a host name,
  credential or request;
* both adapt like TCP: a 429 halves the rate (at most once per second, since the answers to requests sent at the
  same moment report the same overload), and each second adds back a tenth of the ceiling, so a storm
  of 429s slows the run down instead of ending it. :class:`RetryBudget` decides when throttling has lasted too
  long: only when no request at all has got through for ``max_stall`` seconds.

The service counts a request when it arrives, the buckets when its token is taken: the client takes a token only
once the request is ready to leave (``IoTCentralClient.request`` builds its session first), since every moment in
between lets the buckets refill while requests already counted by the service are still to arrive.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time

# Multiplicative decrease on a 429, at most once per CUT_WINDOW seconds, down to ceiling * MIN_FRACTION.
DECREASE = 0.5
CUT_WINDOW = 1.0
MIN_FRACTION = 0.05
# Additive increase: each second adds this fraction of the ceiling back (half rate -> full in 5 s).
RECOVERY_PER_SECOND = 0.1
# Throttling gives up only after this long without a single request getting through.
DEFAULT_MAX_STALL = 120.0

SHARED_BUDGET_ENV = "IOTCENTRAL_SHARED_BUDGET"
_OFF = ("0", "false", "no", "off")


class AdaptiveBucket:
    """The arithmetic of one adaptive token bucket over a plain ``state`` dict (so it can live in a file).

    ``ceiling`` requests per second at most; the current ``rate`` moves between ``ceiling * MIN_FRACTION`` and
    ``ceiling``; at most ``burst_seconds`` of the current rate is stored.
    """

    def __init__(self, ceiling, burst=None):
        if ceiling <= 0:
            raise ValueError("rate must be positive")
        self.ceiling = float(ceiling)
        # Half a second's budget by default, not a whole second's: a process cannot know what the seconds before
        # it spent of the application's budget (the previous task, another fork), and the headroom absorbs
        # timing jitter between our clock and the service's, so a steady stream at the limit is not throttled
        # (tests/benchmarks/bench_limiter.py: one 429 per run with a full second's burst, none with half).
        self.burst = float(burst) if burst is not None else max(1.0, self.ceiling / 2.0)

    def new_state(self, now):
        return {"tokens": self.burst, "updated": now, "rate": self.ceiling, "paused_until": 0.0, "last_cut": -1e18}

    def capacity(self, state):
        return max(1.0, self.burst * state["rate"] / self.ceiling)

    def take(self, state, now):
        """Take one token: 0.0 when taken, else the seconds to wait before trying again."""
        if now < state["paused_until"]:
            return state["paused_until"] - now
        elapsed = max(0.0, now - state["updated"])
        # Additive increase: RECOVERY_PER_SECOND * ceiling per second since the last look or cut (not while paused,
        # since a pause moves "updated" to its end), so an idle bucket is back at the ceiling too.
        recovered = max(0.0, now - max(state["updated"], state["last_cut"]))
        rate = min(self.ceiling, max(self.ceiling * MIN_FRACTION, state["rate"])
                   + RECOVERY_PER_SECOND * self.ceiling * recovered)
        state["rate"] = rate
        state["tokens"] = min(self.capacity(state), state["tokens"] + elapsed * rate)
        state["updated"] = now
        # The tolerance keeps float rounding from leaving a bucket at 0.9999999 forever.
        if state["tokens"] >= 1.0 - 1e-9:
            state["tokens"] = max(0.0, state["tokens"] - 1.0)
            return 0.0
        return max((1.0 - state["tokens"]) / rate, 1e-4)

    def pause(self, state, now, seconds):
        until = now + seconds
        if until > state["paused_until"]:
            state["paused_until"] = until
        # A throttled service means our bucket was optimistic: start again from empty.
        state["tokens"] = 0.0
        state["updated"] = max(state["updated"], until)

    def throttled(self, state, now):
        """Multiplicative decrease; True when this 429 cut the rate (not one of the same moment's others)."""
        if now - state["last_cut"] < CUT_WINDOW:
            return False
        state["rate"] = max(self.ceiling * MIN_FRACTION, state["rate"] * DECREASE)
        state["tokens"] = min(state["tokens"], self.capacity(state))
        state["last_cut"] = now
        return True


class RateLimiter:
    """One process's adaptive token bucket, shared by its threads.

    ``acquire()`` blocks until a request may go; ``pause(seconds)`` holds every thread back after a 429;
    ``throttled()`` lowers the rate. Optionally chained to a :class:`SharedBucket` (``shared``), which every
    request must pass too: this bucket is the process's share, the shared one the machine's total.
    """

    def __init__(self, rate, burst=None, clock=time.monotonic, sleep=time.sleep, shared=None):
        self.bucket = AdaptiveBucket(rate, burst)
        self.shared = shared
        self._clock = clock
        self._sleep = sleep
        self._state = self.bucket.new_state(clock())
        self._lock = threading.Lock()

    @property
    def rate(self):
        """The current (adapted) rate of this process's bucket."""
        return self._state["rate"]

    @property
    def capacity(self):
        return self.bucket.burst

    def acquire(self):
        while True:
            with self._lock:
                wait = self.bucket.take(self._state, self._clock())
            if wait <= 0:
                break
            self._sleep(wait)
        if self.shared is not None:
            self.shared.acquire()

    def pause(self, seconds):
        with self._lock:
            self.bucket.pause(self._state, self._clock(), seconds)
        if self.shared is not None:
            self.shared.pause(seconds)

    def throttled(self):
        with self._lock:
            self.bucket.throttled(self._state, self._clock())
        if self.shared is not None:
            self.shared.throttled()


class SharedBucket:
    """An :class:`AdaptiveBucket` whose state lives in a file, so every process on the machine draws from it.

    The file is locked (``fcntl.flock``) only for the read-modify-write of a few numbers. Times are wall-clock
    seconds (the one clock all processes share). Any problem with the file (no ``fcntl``, a read-only or foreign
    temp dir) turns sharing off for this process instead of failing: the process's own bucket and the 429 backoff
    still apply.
    """

    def __init__(self, path, rate, burst=None, clock=time.time, sleep=time.sleep):
        import fcntl  # pylint: disable=import-outside-toplevel

        self._fcntl = fcntl
        self.path = path
        self.bucket = AdaptiveBucket(rate, burst)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(path, flags, 0o600)
        if os.fstat(self._fd).st_uid != os.getuid():
            os.close(self._fd)
            raise OSError("%s belongs to another user" % path)

    def _update(self, change):
        """Run ``change(state, now)`` on the file's state under both locks; returns its result."""
        with self._lock:
            self._fcntl.flock(self._fd, self._fcntl.LOCK_EX)
            try:
                now = self._clock()
                os.lseek(self._fd, 0, os.SEEK_SET)
                raw = os.read(self._fd, 4096)
                state = None
                try:
                    state = json.loads(raw.decode("ascii")) if raw else None
                except ValueError:
                    state = None
                if not isinstance(state, dict) or set(state) != set(self.bucket.new_state(0.0)) \
                        or not all(isinstance(value, (int, float)) for value in state.values()) \
                        or state["updated"] > now + 60:
                    # Missing, unreadable, or from a clock that jumped back: start afresh.
                    state = self.bucket.new_state(now)
                result = change(state, now)
                data = json.dumps(state, separators=(",", ":")).encode("ascii")
                os.lseek(self._fd, 0, os.SEEK_SET)
                os.write(self._fd, data)
                os.ftruncate(self._fd, len(data))
                return result
            finally:
                self._fcntl.flock(self._fd, self._fcntl.LOCK_UN)

    def acquire(self):
        while True:
            wait = self._update(self.bucket.take)
            if wait <= 0:
                return
            self._sleep(wait)

    def pause(self, seconds):
        self._update(lambda state, now: self.bucket.pause(state, now, seconds))

    def throttled(self):
        self._update(self.bucket.throttled)

    def rate(self):
        return self._update(lambda state, now: state["rate"])

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def shared_bucket_path(base_url, directory=None):
    """``<tmp>/fleetops-iotcentral-<uid>/<hash of the application URL>.bucket``: the URL itself is not written."""
    directory = directory or os.path.join(tempfile.gettempdir(), "fleetops-iotcentral-%d" % os.getuid())
    digest = hashlib.sha256(base_url.rstrip("/").lower().encode("utf-8")).hexdigest()[:32]
    return os.path.join(directory, digest + ".bucket")


def shared_bucket_for(base_url, rate, burst=None, directory=None, environ=None):
    """The machine-wide bucket of an application, or None when sharing is off or impossible here."""
    environ = os.environ if environ is None else environ
    if str(environ.get(SHARED_BUDGET_ENV, "true")).strip().lower() in _OFF:
        return None
    path = shared_bucket_path(base_url, directory)
    try:
        folder = os.path.dirname(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.stat(folder)
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            # Someone else's (or a writable-by-others) folder: their numbers could starve us; do not share.
            return None
        return SharedBucket(path, rate, burst)
    except (ImportError, OSError, AttributeError):
        return None


class RetryBudget:
    """How long throttling may go on for one run (one client): until no request got through for ``max_stall`` s.

    Replaces a fixed number of retries per request for 429s: while some requests get through, a storm only slows
    the run (the limiters adapt); only a service that refuses everything for ``max_stall`` seconds ends it.
    """

    def __init__(self, max_stall=DEFAULT_MAX_STALL, clock=time.monotonic):
        self.max_stall = max_stall
        self._clock = clock
        self._last_progress = None
        self.exhausted = False

    def progress(self):
        """A request got an answer other than 429."""
        self._last_progress = self._clock()

    def allows_retry(self):
        """May a throttled request be retried? The stall counts from the last answer that was not a 429."""
        if self.exhausted:
            return False
        if self._last_progress is None:
            self._last_progress = self._clock()
        if self._clock() - self._last_progress > self.max_stall:
            # Once spent, every further 429 fails at once: the rest of the run would only wait the same way.
            self.exhausted = True
        return not self.exhausted

    def stalled_for(self):
        return 0.0 if self._last_progress is None else self._clock() - self._last_progress
