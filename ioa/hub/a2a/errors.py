"""A2A errors: one root, one class per error of the spec (§5.4, §9.5), each with its JSON-RPC
code and the `reason` its `google.rpc.ErrorInfo` detail names."""

from __future__ import annotations

from typing import Any, ClassVar

from ioa.errors import IoAError

ERROR_DOMAIN = "a2a-protocol.org"


class A2AError(IoAError):
    """Answered as a JSON-RPC error object; `http_status` is 200 unless the transport itself
    refuses the request (no credentials, a body too large)."""

    code = "a2a_error"
    rpc_code: ClassVar[int] = -32603
    reason: ClassVar[str | None] = None
    """UPPER_SNAKE_CASE name of an A2A-specific error; None for JSON-RPC's own errors."""
    http_status: ClassVar[int] = 200
    default_message = "Internal error"

    def error_object(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.rpc_code, "message": self.message}
        if self.reason is not None:
            detail = {"@type": "type.googleapis.com/google.rpc.ErrorInfo"}
            error["data"] = [detail | {"reason": self.reason, "domain": ERROR_DOMAIN}]
        return error


class ParseError(A2AError):
    rpc_code = -32700
    default_message = "Invalid JSON payload"


class InvalidRequest(A2AError):
    rpc_code = -32600
    default_message = "Request payload validation error"


class RequestTooLarge(InvalidRequest):
    http_status = 413
    default_message = "the request body is larger than the hub accepts"


class MethodNotFound(A2AError):
    rpc_code = -32601
    default_message = "Method not found"


class InvalidParams(A2AError):
    rpc_code = -32602
    default_message = "Invalid parameters"


class InternalError(A2AError):
    rpc_code = -32603


class Unauthenticated(InvalidRequest):
    """No valid bearer token (HTTP 401 with `WWW-Authenticate`, as the spec's §7 asks)."""

    http_status = 401
    default_message = "a valid bearer token (an IoA agent token) is required"


class TaskNotFound(A2AError):
    rpc_code = -32001
    reason = "TASK_NOT_FOUND"
    default_message = "Task not found"


class TaskNotCancelable(A2AError):
    rpc_code = -32002
    reason = "TASK_NOT_CANCELABLE"
    default_message = "Task cannot be canceled"


class PushNotificationNotSupported(A2AError):
    rpc_code = -32003
    reason = "PUSH_NOTIFICATION_NOT_SUPPORTED"
    default_message = "Push notifications are not supported"


class UnsupportedOperation(A2AError):
    rpc_code = -32004
    reason = "UNSUPPORTED_OPERATION"
    default_message = "This operation is not supported"


class ContentTypeNotSupported(A2AError):
    rpc_code = -32005
    reason = "CONTENT_TYPE_NOT_SUPPORTED"
    default_message = "Incompatible content types"


class ExtendedAgentCardNotConfigured(A2AError):
    rpc_code = -32007
    reason = "EXTENDED_AGENT_CARD_NOT_CONFIGURED"
    default_message = "Extended agent card not configured"


class VersionNotSupported(A2AError):
    rpc_code = -32009
    reason = "VERSION_NOT_SUPPORTED"
    default_message = "A2A protocol version not supported"


class AgentNotFound(InvalidRequest):
    http_status = 404
    default_message = "no such agent on this hub"
