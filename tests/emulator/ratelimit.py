"""Token-bucket rate limiting, one bucket per application."""

import math
import threading
import time


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` stored; the clock is injectable."""

    def __init__(self, rate, capacity=None, clock=time.monotonic):
        self.rate = float(rate)
        self.capacity = float(capacity if capacity is not None else rate)
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()
        self._lock = threading.Lock()

    def try_acquire(self):
        """Take one token. Returns (True, 0) or (False, seconds until one is available)."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._stamp)
            self._stamp = now
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
            # The epsilon absorbs float drift (1000.05 - 1000.0 < 0.05) so exact refills are not refused.
            if self._tokens >= 1.0 - 1e-9:
                self._tokens = max(0.0, self._tokens - 1.0)
                return True, 0.0
            return False, (1.0 - self._tokens) / self.rate

    def refill(self):
        with self._lock:
            self._tokens = self.capacity
            self._stamp = self._clock()


class RateLimiter:
    """Buckets keyed by application name; ``rate`` 0 (or None) disables limiting."""

    def __init__(self, rate, clock=time.monotonic):
        self.rate = rate or 0
        self._clock = clock
        self._buckets = {}
        self._lock = threading.Lock()
        self._storm_until = 0.0
        self._storm_bucket = None

    @property
    def enabled(self):
        return self.rate > 0

    def storm(self, seconds, rate=0.0):
        """For ``seconds`` the application gets only ``rate`` requests per second (0: every request is refused),
        as when the service throttles harder than its documented limit (a 429 storm). Works with limiting off too.
        """
        with self._lock:
            self._storm_until = self._clock() + max(0.0, float(seconds))
            self._storm_bucket = TokenBucket(rate, max(1.0, rate), self._clock) if rate > 0 else None

    def _storm_check(self):
        with self._lock:
            remaining = self._storm_until - self._clock()
            bucket = self._storm_bucket
        if remaining <= 0:
            return None
        if bucket is None:
            return False, remaining
        return bucket.try_acquire()

    def check(self, app):
        storm = self._storm_check()
        if storm is not None and not storm[0]:
            return storm
        if not self.enabled:
            return True, 0.0
        with self._lock:
            bucket = self._buckets.get(app)
            if bucket is None:
                bucket = self._buckets[app] = TokenBucket(self.rate, self.rate, self._clock)
        return bucket.try_acquire()

    def reset(self):
        with self._lock:
            self._buckets.clear()
            self._storm_until = 0.0
            self._storm_bucket = None


def retry_after_seconds(wait):
    return max(1, int(math.ceil(wait)))
