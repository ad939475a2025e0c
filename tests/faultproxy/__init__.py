"""A seeded fault-injecting HTTP proxy for the emulator (tests and benchmarks only).

    from faultproxy import start_fault_proxy
    proxy = start_fault_proxy(emulator.base_url, rate=0.1, seed=7, hold_seconds=1.5)
    ... point IOTCENTRAL_BASE_URL at proxy.base_url ...
    proxy.stats()      # {"requests": n, "faults": n, "5xx_before": n, ...}
    proxy.stop()

See :mod:`faultproxy.proxy` for the faults.
"""

from .proxy import FAULTS, FaultProxy, start_fault_proxy  # noqa: F401
