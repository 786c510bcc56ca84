"""The WebSocket endpoint `/v1/ws`: authenticate, resume, then accept frames until close.

A bad frame is answered with an error frame and the connection stays open. The connection
ends when the agent is gone (deleted: 4001), has not said `hello` in time (4008), falls too far
behind (1013), the store cannot replay (1011), a frame passes aiohttp's hard size limit, or the
peer stops answering pings (`Liveness`). Text frames are mostly handled inside the socket's read
callback (`ioa.hub.wsread`), the others by the session's task, one at a time and in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from aiohttp import WSMsgType, web
from pydantic import ValidationError

from ioa.hub.admission import Slot
from ioa.hub.connection import Connection
from ioa.hub.entries import Agent
from ioa.hub.errors import (
    DuplicateHello,
    FrameTooLarge,
    HelloRequired,
    HubError,
    MalformedJson,
    Unauthorized,
    Unavailable,
    first_error,
)
from ioa.hub.rest import bearer_token
from ioa.hub.state import STATE, HubState
from ioa.hub.wsread import FRAMES_PER_TURN, HubWebSocket, Started, finish, run_now
from ioa.store import StoreError
from protocols import ErrorCode, InvalidEnvelope, ProtocolError
from protocols.frames import CLIENT_FRAME, Hello, Send, Welcome, error_text, frame_text

log = logging.getLogger("ioa.hub")

CLOSE_DELETED = 4001
CLOSE_NO_HELLO = 4008
_ENDED = frozenset((WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED))
"""What ends `async for msg in ws`."""


def frame_size(raw: str) -> int:
    """The frame's size in UTF-8 bytes (what the limit is stated in), cheap for ASCII."""
    return len(raw) if raw.isascii() else len(raw.encode("utf-8", "surrogatepass"))


def parse_frame(raw: str, limit: int) -> Hello | Send:
    size = frame_size(raw)
    if size > limit:
        raise FrameTooLarge(f"frame of {size} bytes exceeds the limit of {limit}")
    try:  # the validator itself: `TypeAdapter.validate_json`'s keywords cost ~3 k instructions
        return CLIENT_FRAME.validator.validate_json(raw)  # type: ignore[no-any-return]
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise MalformedJson("the frame is not valid JSON (or nested too deeply)") from None
        raise InvalidEnvelope(first_error(exc)) from None


def _named(raw: str) -> tuple[str | None, str | None]:
    """Best effort: the (message id, group) a rejected frame carried, to name them."""
    with contextlib.suppress(ValueError, TypeError, KeyError, RecursionError, AttributeError):
        envelope = json.loads(raw)["envelope"]
        return _short(envelope.get("id")), _short(envelope.get("group"))
    return None, None


def _short(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= 64 else None


class _Session:
    """One agent's socket after the upgrade: its hello, its frames, its end.

    A text frame is handled by `take` in the socket's read callback while the session is idle
    (its task parked in `receive()`, no frame of it unfinished); the first frame that must wait
    (for credit, the store, a replay) goes on in a task, `pending`, and the frames after it take
    aiohttp's queue to the session's task, which finishes `pending` before it handles them.
    """

    def __init__(
        self,
        state: HubState,
        agent: Agent,
        ws: web.WebSocketResponse,
        conn: Connection,
        slot: Slot,
    ):
        self.state = state
        self.agent = agent
        self.ws = ws
        self.conn = conn
        self.slot = slot
        """Its resume slot, held from before the upgrade until the replay is over."""
        self.greeted = False
        self.closing: asyncio.Future[bool] | None = None
        self.parked = False
        """The session's task waits in `receive()` with nothing else to do."""
        self.pending: asyncio.Task[None] | None = None
        """The frame `take` began that is still waiting for something."""

    def resumed(self, *, measured: bool = False) -> None:
        """The replay is over (`measured`: it ran to its end) or will not happen."""
        self.state.admission.leave(self.slot, measured=measured)

    def still_registered(self) -> None:
        if self.state.registry.agents.get(self.agent.id) is not self.agent:
            raise Unauthorized("this agent has been deleted")

    async def handle(self, raw: str) -> None:
        frame = parse_frame(raw, self.state.config.max_frame_bytes)
        self.still_registered()
        if isinstance(frame, Hello):
            if self.greeted:
                raise DuplicateHello()
            self.greeted = True
            replayed = False
            try:
                await self.state.router.resume(self.conn, frame.cursors)
                replayed = not self.conn.gone
            except StoreError as exc:
                raise Unavailable("the hub could not replay the history; reconnect") from exc
            finally:
                self.resumed(measured=replayed)
            self.state.presence_changed(self.agent.id)
            return
        if not self.greeted:
            raise HelloRequired()
        if not self.conn.has_credit:
            await self.conn.credit()
        await self.state.router.accept(self.agent.id, frame.envelope, origin=self.conn)

    async def refuse(self, raw: str, error: HubError | ProtocolError) -> None:
        message_id, group = _named(raw)
        self.state.count_rejection(error.code, self.agent.id, group)
        self.conn.push(error_text(error.code, error.message, message_id))
        if isinstance(error, Unauthorized):
            await self.ws.close(code=CLOSE_DELETED, message=b"agent deleted")
        elif isinstance(error, Unavailable) and self.conn.replaying:
            await self.ws.close(code=1011, message=b"replay failed; reconnect")

    async def frame(self, raw: str, started: Started | None = None) -> None:
        """Handle one text frame (or finish one `take` began); what the hub refuses is
        answered with an error frame."""
        try:
            await (self.handle(raw) if started is None else started)
        except Exception as exc:
            await self.refuse(raw, self.refusal(exc))

    def refusal(self, exc: Exception) -> HubError | ProtocolError:
        """What a frame that raised `exc` is answered with (a bug is logged, not shown)."""
        if isinstance(exc, HubError | ProtocolError):
            return exc
        log.error("internal error on a frame from %s", self.agent.id, exc_info=exc)
        return HubError("internal error; the hub's log has it")

    def take(self, raw: str) -> bool:
        """`FrameTaker.take`: handle the frame now if the session is idle."""
        if not self.parked or self.pending is not None or self.ws.closed:
            return False
        try:  # `handle`, not `frame`: one coroutine fewer for most frames
            started = run_now(self.handle(raw))
        except Exception as exc:
            self._go_on(run_now(self.refuse(raw, self.refusal(exc))))
        else:
            if started is not None:
                self.pending = asyncio.ensure_future(self.frame(raw, started))
        return True

    def _go_on(self, started: Started | None) -> None:
        if started is not None:
            self.pending = asyncio.ensure_future(finish(started))

    async def _finish_pending(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            await pending

    async def run(self) -> None:
        handled = 0
        receive = self.ws.receive  # what `async for` calls, one coroutine fewer per frame
        try:
            while True:
                self.parked = True
                msg = await receive()
                self.parked = False
                await self._finish_pending()
                if msg.type is not WSMsgType.TEXT:
                    if msg.type in _ENDED:
                        return
                    if msg.type is WSMsgType.BINARY:
                        self.conn.push(
                            error_text(ErrorCode.INVALID_ENVELOPE, "frames must be JSON text")
                        )
                    continue
                await self.frame(msg.data)
                handled += 1
                if handled % FRAMES_PER_TURN == 0:
                    await asyncio.sleep(0)
        except asyncio.CancelledError:  # the hub stops: so does the frame `take` began
            if self.pending is not None:
                self.pending.cancel()
            raise
        finally:
            self.parked = False
            pending, self.pending = self.pending, None
            if pending is not None:  # a frame begun before the close is finished, as before
                await asyncio.wait([pending])
                if not pending.cancelled() and (exc := pending.exception()) is not None:
                    log.error("a frame from %s failed: %r", self.agent.id, exc)


def _close_if_silent(session: _Session) -> None:
    if not session.greeted and not session.ws.closed:
        session.closing = asyncio.ensure_future(
            session.ws.close(code=CLOSE_NO_HELLO, message=b"no hello in time")
        )


async def websocket(request: web.Request) -> web.WebSocketResponse:
    state = request.app[STATE]
    token = bearer_token(request) or request.query.get("token")
    agent = await state.registry.find_by_token(token)
    config = state.config
    slot = await state.admission.enter()  # at once, after a wait in line, or `Busy`
    ws = HubWebSocket(max_msg_size=config.max_frame_bytes * 4)
    try:
        await ws.prepare(request)  # fails if the client left while it waited in line
    except BaseException:
        state.admission.leave(slot, measured=False)
        raise
    conn = Connection(agent.id, ws, config.outbox_bytes, config.max_inflight, request.transport)
    session = _Session(state, agent, ws, conn, slot)
    frames = ws.frames
    if frames is not None and request.transport is not None:
        frames.taker = session
        state.liveness.watch(frames, request.transport, agent.id)
    timer = asyncio.get_running_loop().call_later(config.hello_timeout, _close_if_silent, session)
    try:
        try:
            await state.registry.reload_groups_of(agent.id)  # created by other hubs, maybe unheard
        except StoreError as exc:
            log.warning("agent %s: its groups could not be read: %s", agent.id, exc)
        conn.push_replayed(
            frame_text(Welcome(agent_id=agent.id, groups=state.registry.groups_of(agent.id)))
        )
        await session.run()
    finally:
        if frames is not None:
            frames.taker = None
            state.liveness.forget(frames)
        session.resumed()
        timer.cancel()
        state.router.disconnect(conn)
        await conn.close()
        state.presence_changed(agent.id)
    return ws
