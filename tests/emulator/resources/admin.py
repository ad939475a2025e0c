"""Test-only endpoints shared by all resources (no auth, not counted, not rate limited).

GET  /__emulator__/stats         request counters and spec violations
POST /__emulator__/stats/reset   zero the counters
POST /__emulator__/reset         empty the app (collections marked resettable; templates stay)
POST /__emulator__/storm         {"seconds", "rate"}: a 429 storm, only ``rate`` requests/second (0: none) for a while

Resource-specific test endpoints (seed, provision) live with their resource.
"""

from ..common import json_object, ok
from ..errors import ApiError

PRIORITY = 0


def register(emulator):
    def stats(ctx):
        return ok(emulator.stats.snapshot())

    def reset_stats(ctx):
        emulator.stats.reset()
        return ok(emulator.stats.snapshot())

    def reset(ctx):
        emulator.reset()
        emulator.limiter.reset()
        return ok({"reset": True})

    def info(ctx):
        return ok({"app": emulator.config.app, "idScope": emulator.store.id_scope,
                   "apiVersions": sorted(emulator.spec.versions) if emulator.spec else None,
                   "specCheck": emulator.spec is not None,
                   "collections": {name: len(c) for name, c in emulator.store.collections.items()}})

    def storm(ctx):
        body = json_object(ctx.json_body()) if ctx.body else {}
        seconds, rate = body.get("seconds", 10), body.get("rate", 0)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (seconds, rate))
        if not numbers or not 0 <= seconds <= 3600 or rate < 0:
            raise ApiError(422, "seconds must be 0 to 3600 and rate a non-negative number of requests per second.")
        emulator.limiter.storm(seconds, rate)
        return ok({"seconds": seconds, "rate": rate})

    router = emulator.admin_router
    router.add("GET", "/__emulator__/stats", stats)
    router.add("POST", "/__emulator__/stats/reset", reset_stats)
    router.add("POST", "/__emulator__/reset", reset)
    router.add("GET", "/__emulator__/info", info)
    router.add("POST", "/__emulator__/storm", storm)
