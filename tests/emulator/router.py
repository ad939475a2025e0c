"""Method + path pattern routing.

Patterns are written like the spec's paths (``/api/devices/{deviceId}``). Each
pattern segment matches exactly one path segment; ``{name}`` captures the
percent-decoded segment, so ids containing ``:`` or ``;`` (device template
DTMIs) work when the client encodes them, and a ``/`` encoded as ``%2F`` stays
inside its segment.
"""

from urllib.parse import unquote


class Route:
    __slots__ = ("method", "pattern", "segments", "handler", "versions", "name")

    def __init__(self, method, pattern, handler, versions=None, name=None):
        self.method = method.upper()
        self.pattern = pattern
        self.segments = _split(pattern)
        self.handler = handler
        # None = served in every api-version.
        self.versions = frozenset(versions) if versions else None
        self.name = name or getattr(handler, "__name__", pattern)

    def match(self, segments):
        if len(segments) != len(self.segments):
            return None
        params = {}
        for want, got in zip(self.segments, segments):
            if want.startswith("{") and want.endswith("}"):
                if got == "":
                    return None
                params[want[1:-1]] = unquote(got)
            elif want != got:
                return None
        return params

    def specificity(self):
        # Literal segments beat captures so /devices/{id}/credentials is never
        # swallowed by a capture at the same position.
        return tuple(0 if s.startswith("{") else 1 for s in self.segments)

    def serves(self, api_version):
        return self.versions is None or api_version in self.versions


class RouteMatch:
    """Result of a lookup: the route (or None) and why nothing matched."""

    __slots__ = ("route", "params", "path_known", "allowed_methods")

    def __init__(self, route=None, params=None, path_known=False, allowed_methods=()):
        self.route = route
        self.params = params or {}
        self.path_known = path_known
        self.allowed_methods = tuple(sorted(set(allowed_methods)))


class Router:
    def __init__(self):
        self._routes = []

    def add(self, method, pattern, handler, versions=None, name=None, first=False):
        route = Route(method, pattern, handler, versions=versions, name=name)
        if first:
            self._routes.insert(0, route)
        else:
            self._routes.append(route)
        return route

    def route(self, method, pattern, versions=None):
        """Decorator form of :meth:`add`."""

        def decorate(handler):
            self.add(method, pattern, handler, versions=versions)
            return handler

        return decorate

    def remove(self, route):
        self._routes.remove(route)

    @property
    def routes(self):
        return list(self._routes)

    def lookup(self, method, raw_path, api_version=None):
        segments = _split(raw_path)
        method = method.upper()
        candidates = []
        for index, route in enumerate(self._routes):
            params = route.match(segments)
            if params is not None and route.serves(api_version):
                candidates.append((index, route, params))
        if not candidates:
            return RouteMatch()
        allowed = [candidate[1].method for candidate in candidates]
        same_method = [c for c in candidates if c[1].method == method]
        if not same_method:
            return RouteMatch(path_known=True, allowed_methods=allowed)
        # Routes added with first=True (index 0) win over equally specific ones.
        route, params = max(same_method, key=lambda c: (c[1].specificity(), -c[0]))[1:]
        return RouteMatch(route=route, params=params, path_known=True, allowed_methods=allowed)


def _split(path):
    path = path.split("?", 1)[0]
    if path.endswith("/") and len(path) > 1:
        path = path[:-1]
    return path.split("/")[1:] if path.startswith("/") else path.split("/")
