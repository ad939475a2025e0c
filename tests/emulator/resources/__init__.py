"""Resource registry.

Every module in this package that defines ``register(emulator)`` is loaded at
startup, in ascending ``PRIORITY`` (default 100; modules whose collections
others depend on use a lower number). ``register`` adds routes to
``emulator.api_router`` (and, for test-only endpoints, ``emulator.admin_router``),
creates its collections with ``emulator.store.collection(name)`` and records
their id field in ``emulator.id_fields``. See tests/emulator/README.md.
"""

import importlib
import pkgutil

DEFAULT_PRIORITY = 100


def discover():
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module("%s.%s" % (__name__, info.name))
        if callable(getattr(module, "register", None)):
            modules.append(module)
    return sorted(modules, key=lambda m: (getattr(m, "PRIORITY", DEFAULT_PRIORITY), m.__name__))


def register_all(emulator):
    for module in discover():
        module.register(emulator)
