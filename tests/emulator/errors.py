"""Error type raised by handlers and the spec's error body.

The service does not document its error codes, only the statuses
(https://learn.microsoft.com/rest/api/iotcentral/common-error-codes), so the
emulator uses one generic code per status plus the two api-version codes that
Azure services share. Clients should branch on the HTTP status; the message says
what went wrong.
"""

import email.utils
import http
import re

GENERIC_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    412: "PreconditionFailed",
    415: "UnsupportedMediaType",
    422: "UnprocessableEntity",
    429: "TooManyRequests",
    500: "InternalServerError",
    501: "NotImplemented",
}


class ApiError(Exception):
    """An error response: status, code, message and optional extra headers."""

    def __init__(self, status, message, code=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code or generic_code(status)
        self.message = message
        self.headers = dict(headers or {})


def generic_code(status):
    """The generic code of ``status``; statuses outside the table get their reason phrase in CamelCase."""
    if status in GENERIC_CODES:
        return GENERIC_CODES[status]
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]+", phrase))


def rfc1123_now():
    return email.utils.formatdate(usegmt=True)


def error_body(code, message, request_id):
    return {"error": {"code": code, "message": message, "requestId": request_id, "time": rfc1123_now()}}


def bad_request(message, code=None):
    return ApiError(400, message, code=code)


def not_found(message):
    return ApiError(404, message)


def unprocessable(message):
    return ApiError(422, message)


def precondition_failed(message):
    return ApiError(412, message)
