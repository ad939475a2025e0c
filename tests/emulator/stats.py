"""Request counters exposed at ``/__emulator__/stats``."""

import copy
import threading

MAX_VIOLATIONS = 1000


class Stats:
    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._requests = 0
            self._writes = 0
            self._by_method = {}
            self._throttled = 0
            self._violations = []

    def count_request(self, method):
        with self._lock:
            self._requests += 1
            self._by_method[method] = self._by_method.get(method, 0) + 1

    def count_write(self):
        with self._lock:
            self._writes += 1

    def count_throttled(self):
        with self._lock:
            self._throttled += 1

    def add_violation(self, violation):
        with self._lock:
            # Bounded so a client stuck in a loop cannot grow memory without limit.
            if len(self._violations) < MAX_VIOLATIONS:
                self._violations.append(violation)

    def snapshot(self):
        with self._lock:
            return {
                "requests": self._requests,
                "writes": self._writes,
                "by_method": dict(self._by_method),
                "throttled": self._throttled,
                "spec_violations": copy.deepcopy(self._violations),
            }
