"""Hub errors, and the one table from wire code to HTTP status.

Every failure has one class and one `ErrorCode` (from `protocols.errors`, where clients find
them): the hub's own below, the conversation's in `protocols`. Whatever the hub answers is
`{"error": {"code": ..., "message": ...}}` with the status `http_status` gives.
"""

from __future__ import annotations

from pydantic import ValidationError

from ioa.errors import IoAError
from protocols import ErrorCode, ProtocolError

HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.BUSY: 503,
    ErrorCode.GROUP_QUARANTINED: 503,
    ErrorCode.DISCOVERY_ERROR: 500,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_A_MEMBER: 403,
    ErrorCode.SENDER_MISMATCH: 403,
    ErrorCode.UNKNOWN_AGENT: 404,
    ErrorCode.UNKNOWN_GROUP: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.MALFORMED_JSON: 400,
    ErrorCode.HELLO_REQUIRED: 400,
    ErrorCode.INVALID_QUERY: 400,
    ErrorCode.INVALID_VECTOR: 400,
    ErrorCode.INVALID_CONVERSATION: 400,
    ErrorCode.DUPLICATE_HELLO: 409,
    ErrorCode.FRAME_TOO_LARGE: 413,
    ErrorCode.FILE_TOO_LARGE: 413,
    ErrorCode.INVALID_ENVELOPE: 422,
    ErrorCode.INVALID_ADDRESSEE: 422,
}
"""Any code not listed (a conversation rule refusing a move) answers 409 Conflict."""


def http_status(error: HubError | ProtocolError) -> int:
    return HTTP_STATUS.get(error.code, 409)


class HubError(IoAError):
    code: ErrorCode = ErrorCode.INTERNAL_ERROR
    default_message = "the hub failed"


class Unauthorized(HubError):
    code = ErrorCode.UNAUTHORIZED
    default_message = "a valid bearer token is required"


class Forbidden(HubError):
    code = ErrorCode.FORBIDDEN
    default_message = "this agent may not do that"


class SenderMismatch(HubError):
    code = ErrorCode.SENDER_MISMATCH
    default_message = "the envelope's sender is not the authenticated agent"


class UnknownAgent(HubError):
    code = ErrorCode.UNKNOWN_AGENT
    default_message = "no such agent"


class UnknownGroup(HubError):
    code = ErrorCode.UNKNOWN_GROUP
    default_message = "no such group"


class NotFound(HubError):
    code = ErrorCode.NOT_FOUND
    default_message = "no such resource"


class MethodNotAllowed(HubError):
    code = ErrorCode.METHOD_NOT_ALLOWED
    default_message = "method not allowed here"


class InvalidRequest(HubError):
    code = ErrorCode.INVALID_REQUEST
    default_message = "the request is not valid"


class MalformedJson(HubError):
    code = ErrorCode.MALFORMED_JSON
    default_message = "the body is not valid JSON"


class InvalidVector(HubError):
    """Raised by `ioa.hub.vectors`, defined here so the discovery index can name it without
    importing numpy."""

    code = ErrorCode.INVALID_VECTOR
    default_message = "the embedding vector is invalid"


class InvalidAddressee(HubError):
    code = ErrorCode.INVALID_ADDRESSEE
    default_message = "an addressee is not a member of the group"


class HelloRequired(HubError):
    code = ErrorCode.HELLO_REQUIRED
    default_message = "send a hello frame first"


class DuplicateHello(HubError):
    code = ErrorCode.DUPLICATE_HELLO
    default_message = "this connection has already said hello; reconnect to resume again"


class FrameTooLarge(HubError):
    code = ErrorCode.FRAME_TOO_LARGE
    default_message = "the frame is larger than the hub accepts"


class FileTooLarge(HubError):
    code = ErrorCode.FILE_TOO_LARGE
    default_message = "the file is larger than the dashboard shows"


class GroupQuarantined(HubError):
    code = ErrorCode.GROUP_QUARANTINED
    default_message = "this group could not be restored; an operator must look at it"


class Busy(HubError):
    """Too many agents are resuming at once; `retry_after` seconds is the hub's hint."""

    code = ErrorCode.BUSY
    default_message = "the hub is busy replaying history to other agents; retry shortly"

    def __init__(self, message: str | None = None, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(HubError):
    code = ErrorCode.UNAVAILABLE
    default_message = "the hub could not store the message; try again"


def first_error(exc: ValidationError, whole: str = "") -> str:
    """`where: what` of a validation's first error (`whole` names the top level), for the
    typed error a client gets back."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or whole
    return f"{where}: {first['msg']}"
