"""In-memory application state shared by every resource.

One :class:`Store` holds one IoT Central application: named
:class:`Collection` objects (devices, deviceTemplates, ... one per resource
type) plus a few app-wide values. Handlers run with ``store.lock`` held, so a
resource never needs its own locking. Collections keep an id-sorted index so
listing and keyset paging stay O(page) instead of O(n) sorts per request.
"""

import base64
import bisect
import hashlib
import json
import os
import tempfile
import threading

STATE_FORMAT = 1


class Collection:
    def __init__(self, name, store):
        self.name = name
        self._store = store
        self._items = {}
        self._ids = []
        self.version = 0
        self._sorted_cache = {}

    def __len__(self):
        return len(self._items)

    def __contains__(self, item_id):
        return item_id in self._items

    def get(self, item_id):
        return self._items.get(item_id)

    def put(self, item_id, item):
        if item_id not in self._items:
            bisect.insort(self._ids, item_id)
        self._items[item_id] = item
        self._touch()

    def delete(self, item_id):
        item = self._items.pop(item_id, None)
        if item is not None:
            index = bisect.bisect_left(self._ids, item_id)
            del self._ids[index]
            self._touch()
        return item

    def bulk_put(self, items):
        """Insert many (id, item) pairs with one sort instead of one insort each."""
        for item_id, item in items:
            self._items[item_id] = item
        self._ids = sorted(self._items)
        self._touch()

    def clear(self):
        self._items.clear()
        self._ids = []
        self._touch()

    def ids(self):
        return self._ids

    def values(self):
        return [self._items[i] for i in self._ids]

    def sorted_keys(self, sort_name, keyfunc):
        """Sorted list of ``(keyfunc(item), id)``, cached until the next write."""
        cached = self._sorted_cache.get(sort_name)
        if cached is not None and cached[0] == self.version:
            return cached[1]
        keys = sorted((keyfunc(item), item_id) for item_id, item in self._items.items())
        self._sorted_cache[sort_name] = (self.version, keys)
        return keys

    def _touch(self):
        self.version += 1
        self._sorted_cache.clear()
        self._store.dirty = True


class Store:
    def __init__(self, app="fleetops-emulator", state_file=None):
        self.lock = threading.RLock()
        self.app = app
        self.id_scope = id_scope_for(app)
        self.state_file = state_file
        self.collections = {}
        self.dirty = False
        self._etag_counter = 0
        # Collections that /__emulator__/reset empties; resources opt in.
        self.resettable = set()

    def collection(self, name, resettable=True):
        coll = self.collections.get(name)
        if coll is None:
            coll = self.collections[name] = Collection(name, self)
        if resettable:
            self.resettable.add(name)
        return coll

    def new_etag(self):
        """Opaque etag in the shape the service uses (base64 of a quoted id)."""
        with self.lock:
            self._etag_counter += 1
            counter = self._etag_counter
        raw = '"%08x-0000-0d00-0000-%012x"' % (int.from_bytes(os.urandom(4), "big"), counter)
        return base64.b64encode(raw.encode("ascii")).decode("ascii")

    def reset(self):
        with self.lock:
            for name in self.resettable:
                self.collections[name].clear()

    # Persistence -----------------------------------------------------------------

    def to_state(self):
        return {
            "format": STATE_FORMAT,
            "app": self.app,
            "idScope": self.id_scope,
            "etagCounter": self._etag_counter,
            "collections": {name: coll.values() for name, coll in self.collections.items()},
        }

    def load_state(self, state, id_field_by_collection):
        if state.get("format") != STATE_FORMAT:
            raise ValueError("unsupported state file format %r" % state.get("format"))
        with self.lock:
            self.id_scope = state.get("idScope") or self.id_scope
            self._etag_counter = max(self._etag_counter, int(state.get("etagCounter", 0)))
            for name, items in state.get("collections", {}).items():
                id_field = id_field_by_collection.get(name, "id")
                self.collection(name, resettable=name in self.resettable).bulk_put(
                    (item[id_field], item) for item in items)
            self.dirty = False

    def save(self, path=None):
        path = path or self.state_file
        if not path:
            return
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        # Held for the whole write so two saves can never land out of order.
        with self.lock:
            data = json.dumps(self.to_state(), separators=(",", ":"), sort_keys=True)
            # Write-then-rename: a crash mid-write never leaves a truncated state file.
            fd, tmp = tempfile.mkstemp(prefix=".emulator-state-", suffix=".tmp", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(data)
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
            self.dirty = False

    def save_if_dirty(self):
        if self.state_file and self.dirty:
            self.save()


def id_scope_for(app):
    """Stable per-app ID scope shaped like the service's (``0ne`` + 8 hex digits)."""
    return "0ne" + hashlib.sha256(app.encode("utf-8")).hexdigest()[:8].upper()


def read_state_file(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
