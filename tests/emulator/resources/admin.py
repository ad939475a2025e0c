"""Test-only endpoints shared by all resources (no auth, not counted, not rate limited).

GET  /__emulator__/stats         request counters and spec violations
POST /__emulator__/stats/reset   zero the counters
POST /__emulator__/reset         empty the app (collections marked resettable; templates stay)

Resource-specific test endpoints (seed, provision) live with their resource.
"""

from ..common import ok

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

    router = emulator.admin_router
    router.add("GET", "/__emulator__/stats", stats)
    router.add("POST", "/__emulator__/stats/reset", reset_stats)
    router.add("POST", "/__emulator__/reset", reset)
    router.add("GET", "/__emulator__/info", info)
