"""API token and bearer token checks.

IoT Central API tokens look like
``SharedAccessSignature sr=<app>&sig=<signature>&skn=<token name>&se=<expiry ms>``.
The emulator cannot verify signatures, so it accepts exactly the configured
tokens, but it parses them first so that an expired or malformed token gets the
same kind of answer the service gives.
"""

import time
from urllib.parse import unquote

from .errors import ApiError

WRITE_METHODS = frozenset({"PUT", "PATCH", "DELETE", "POST"})
ADMIN = "admin"
READER = "reader"
_SAS_FIELDS = ("sr", "sig", "skn", "se")


def parse_sas(token):
    """Return the SAS fields of ``token`` (without the scheme) or raise ValueError."""
    fields = {}
    for part in token.strip().split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError("every segment must be key=value")
        fields[key.strip().lower()] = unquote(value.strip())
    missing = [name for name in _SAS_FIELDS if not fields.get(name)]
    if missing:
        raise ValueError("missing %s" % ", ".join(missing))
    try:
        fields["se"] = int(fields["se"])
    except ValueError:
        raise ValueError("se must be an integer (milliseconds since the epoch)") from None
    return fields


def _sas_key(token):
    scheme, dummy, rest = token.partition(" ")
    if scheme != "SharedAccessSignature":
        raise ValueError("configured API tokens must start with 'SharedAccessSignature '")
    fields = parse_sas(rest)
    return tuple(fields[name] for name in _SAS_FIELDS)


class Authenticator:
    def __init__(self, admin_token, reader_token, admin_bearer, reader_bearer, clock=time.time):
        self._sas = {}
        for token, role in ((admin_token, ADMIN), (reader_token, READER)):
            if token:
                self._sas[_sas_key(token)] = role
        self._bearer = {}
        for token, role in ((admin_bearer, ADMIN), (reader_bearer, READER)):
            if token:
                self._bearer[token] = role
        self._clock = clock

    def role_for(self, authorization):
        """Return the role for an Authorization header value or raise a 401 ApiError."""
        if not authorization or not authorization.strip():
            raise ApiError(401, "The request has no Authorization header. Send an API token or a bearer token.",
                           headers={"WWW-Authenticate": "Bearer"})
        scheme, dummy, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() == "bearer":
            role = self._bearer.get(credential)
            if role is None:
                raise ApiError(401, "The bearer token is not valid for this application.",
                               headers={"WWW-Authenticate": "Bearer"})
            return role
        if scheme.lower() == "sharedaccesssignature":
            try:
                fields = parse_sas(credential)
            except ValueError as exc:
                raise ApiError(401, "The API token is malformed: %s." % exc) from None
            if fields["se"] <= self._clock() * 1000:
                raise ApiError(401, "The API token has expired (se=%d). Create a new API token." % fields["se"])
            role = self._sas.get(tuple(fields[name] for name in _SAS_FIELDS))
            if role is None:
                raise ApiError(401, "The API token is not valid for this application.")
            return role
        # The scheme is not echoed: a client that forgot it would see its token in the message.
        raise ApiError(401, "Unsupported authorization scheme. Use an API token (SharedAccessSignature ...) "
                            "or 'Bearer <token>'.", headers={"WWW-Authenticate": "Bearer"})

    def authorize(self, authorization, method, path):
        role = self.role_for(authorization)
        if role == READER and method.upper() in WRITE_METHODS:
            raise ApiError(403, "The caller's role does not allow %s %s; a read-only token can only read."
                           % (method.upper(), path))
        return role
