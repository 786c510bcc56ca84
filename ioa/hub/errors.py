"""Hub errors: each has a stable wire code and an HTTP status.

Errors from `protocols` (bad moves) carry their own codes and map to 409; everything the hub
answers is `{"error": {"code": ..., "message": ...}}`.
"""

from __future__ import annotations

from ioa.errors import IoAError


class HubError(IoAError):
    code = "internal_error"
    status = 500
    default_message = "the hub failed"


class Unauthorized(HubError):
    code = "unauthorized"
    status = 401
    default_message = "a valid bearer token is required"


class Forbidden(HubError):
    code = "forbidden"
    status = 403
    default_message = "this agent may not do that"


class NotAMember(HubError):
    code = "not_a_member"
    status = 403
    default_message = "the agent is not a member of this group"


class SenderMismatch(HubError):
    code = "sender_mismatch"
    status = 403
    default_message = "the envelope's sender is not the authenticated agent"


class UnknownAgent(HubError):
    code = "unknown_agent"
    status = 404
    default_message = "no such agent"


class UnknownGroup(HubError):
    code = "unknown_group"
    status = 404
    default_message = "no such group"


class NotFound(HubError):
    code = "not_found"
    status = 404
    default_message = "no such resource"


class MethodNotAllowed(HubError):
    code = "method_not_allowed"
    status = 405
    default_message = "method not allowed here"


class InvalidRequest(HubError):
    code = "invalid_request"
    status = 400
    default_message = "the request is not valid"


class MalformedJson(HubError):
    code = "malformed_json"
    status = 400
    default_message = "the body is not valid JSON"


class InvalidEnvelope(HubError):
    code = "invalid_envelope"
    status = 422
    default_message = "the frame does not match the wire schema"


class InvalidAddressee(HubError):
    code = "invalid_addressee"
    status = 422
    default_message = "an addressee is not a member of the group"


class HelloRequired(HubError):
    code = "hello_required"
    status = 400
    default_message = "send a hello frame first"


class DuplicateHello(HubError):
    code = "duplicate_hello"
    status = 409
    default_message = "this connection has already said hello; reconnect to resume again"


class FrameTooLarge(HubError):
    code = "frame_too_large"
    status = 413
    default_message = "the frame is larger than the hub accepts"


class Unavailable(HubError):
    code = "unavailable"
    status = 503
    default_message = "the hub could not store the message; try again"
