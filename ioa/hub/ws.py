"""The WebSocket endpoint `/v1/ws`: authenticate, resume, then accept frames until close.

A bad frame is answered with an error frame and the connection stays open; only an
unauthenticated upgrade or a frame past aiohttp's hard size limit ends it.
"""

from __future__ import annotations

import contextlib
import json
import logging

from aiohttp import WSMsgType, web
from pydantic import ValidationError

from ioa.hub.errors import FrameTooLarge, HelloRequired, HubError, InvalidEnvelope, MalformedJson
from ioa.hub.rest import bearer_token
from ioa.hub.router import Connection, compact, error_frame
from ioa.hub.state import STATE
from protocols import ProtocolError
from protocols.frames import CLIENT_FRAME, Hello, Send

log = logging.getLogger("ioa.hub")


def parse_frame(raw: str, limit: int) -> Hello | Send:
    if len(raw) > limit:
        raise FrameTooLarge(f"frame of {len(raw)} bytes exceeds the limit of {limit}")
    try:
        return CLIENT_FRAME.validate_json(raw)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise MalformedJson("the frame is not valid JSON") from None
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidEnvelope(f"{where}: {first['msg']}") from None


def _message_id(raw: str) -> str | None:
    """Best effort: the id of the message a rejected frame carried, to name it in the error."""
    with contextlib.suppress(ValueError, TypeError, KeyError):
        value = json.loads(raw)["envelope"]["id"]
        return value if isinstance(value, str) and len(value) <= 64 else None
    return None


async def websocket(request: web.Request) -> web.WebSocketResponse:
    state = request.app[STATE]
    token = bearer_token(request) or request.query.get("token")
    agent = state.registry.authenticate(token)
    limit = state.config.max_frame_bytes
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=limit * 4, compress=False)
    await ws.prepare(request)
    conn = Connection(agent.id, ws, state.config.outbox_limit, request.transport)
    conn.push_replayed(
        compact(
            {"op": "welcome", "agent_id": agent.id, "groups": state.registry.groups_of(agent.id)}
        )
    )
    greeted = False
    try:
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                if msg.type is WSMsgType.BINARY:
                    conn.push(error_frame("invalid_envelope", "frames must be JSON text"))
                continue
            raw = msg.data
            try:
                frame = parse_frame(raw, limit)
                if isinstance(frame, Hello):
                    if not greeted:
                        greeted = True
                        await state.router.resume(conn, frame.cursors)
                        state.presence_changed(agent.id)
                    continue
                if not greeted:
                    raise HelloRequired()
                state.router.accept(agent.id, frame.envelope, origin=conn)
            except (HubError, ProtocolError) as exc:
                state.count_rejection(exc.code)
                conn.push(error_frame(exc.code, exc.message, _message_id(raw)))
            except Exception:
                log.exception("internal error on a frame from %s", agent.id)
                error = HubError("internal error; the hub's log has the details")
                conn.push(error_frame(error.code, error.message, _message_id(raw)))
    finally:
        state.router.disconnect(conn)
        await conn.close()
        state.presence_changed(agent.id)
    return ws
