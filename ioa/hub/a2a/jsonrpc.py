"""The JSON-RPC 2.0 envelope of A2A: reading a call safely, answering results and errors.

A body is read up to the hub's frame limit, parsed by pydantic-core's JSON reader (which
refuses nesting past its recursion limit instead of exhausting the stack), and must be one
request object: batches and notifications are not part of A2A. The `A2A-Version` service
parameter (header, else query parameter) is checked before anything else runs: empty means 0.3,
which this hub does not speak, so it answers `VersionNotSupportedError` like any version but 1.0
(0.3's method names, `message/send` and the like, only come with 0.3, so they never get further).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic_core
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from ioa.hub.a2a.errors import (
    A2AError,
    ContentTypeNotSupported,
    InvalidParams,
    InvalidRequest,
    ParseError,
    RequestTooLarge,
    Unauthenticated,
    VersionNotSupported,
)
from ioa.hub.errors import FrameTooLarge, first_error
from ioa.hub.rest import read_body

VERSION_HEADER = "A2A-Version"
SUPPORTED_VERSIONS = ("1.0",)

RequestId = StrictStr | StrictInt | None
M = TypeVar("M", bound=BaseModel)


class Call(BaseModel):
    """One JSON-RPC request."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    jsonrpc: str = Field(pattern=r"^2\.0$")
    id: RequestId = Field(union_mode="left_to_right")
    method: str = Field(min_length=1, max_length=100)
    params: dict[str, Any] | None = None


@dataclass(frozen=True)
class Parsed:
    call: Call | None
    request_id: RequestId
    error: A2AError | None = None


async def read_call(request: web.Request, limit: int) -> Parsed:
    """The call in the body, or the error to answer (with the call's id when it has one)."""
    media = request.headers.get("Content-Type", "application/json").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        error = ContentTypeNotSupported(f"the body must be application/json, not {media[:60]}")
        return Parsed(None, None, error)
    try:
        raw = await _read(request, limit)
        data = pydantic_core.from_json(raw)
    except A2AError as exc:
        return Parsed(None, None, exc)
    except ValueError as exc:
        return Parsed(None, None, ParseError(f"Invalid JSON payload: {str(exc)[:120]}"))
    if not isinstance(data, dict):
        return Parsed(None, None, InvalidRequest("the body must be one JSON-RPC request object"))
    request_id = data.get("id")
    if not isinstance(request_id, str | int) or isinstance(request_id, bool):
        request_id = None
    try:
        call = Call.model_validate(data)
    except ValidationError as exc:
        return Parsed(None, request_id, InvalidRequest(first_error(exc, "request")))
    return Parsed(call, call.id)


async def _read(request: web.Request, limit: int) -> bytes:
    try:
        return await read_body(request, limit)
    except FrameTooLarge as exc:
        raise RequestTooLarge(exc.message) from None


def check_version(request: web.Request) -> str:
    value = request.headers.get(VERSION_HEADER) or request.query.get(VERSION_HEADER) or ""
    version = value.strip() or "0.3"
    major_minor = ".".join(version.split(".")[:2])
    if major_minor not in SUPPORTED_VERSIONS:
        shown = version[:20]
        raise VersionNotSupported(
            f"A2A version {shown} is not supported; this hub speaks {', '.join(SUPPORTED_VERSIONS)}"
            f" (send the header {VERSION_HEADER}: 1.0)"
        )
    return major_minor


def params_of(call: Call, model: type[M]) -> M:
    try:
        return model.model_validate(call.params or {})
    except ValidationError as exc:
        raise InvalidParams(first_error(exc, "params")[:300]) from None


def result_body(request_id: RequestId, result: Any) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "result": result})


def error_response(request_id: RequestId, error: A2AError) -> web.Response:
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "error": error.error_object()})
    response = web.Response(text=body, status=error.http_status, content_type="application/json")
    if isinstance(error, Unauthenticated):
        response.headers["WWW-Authenticate"] = 'Bearer realm="ioa"'
    return response
