"""`HubClient`: how an agent talks to a hub — REST for the registry (`HubRest`), one WebSocket
for messages.

The client remembers the last sequence number it has seen in each group. When the connection
drops it reconnects by itself, asks the hub to replay from those cursors, and resends every
message that was not yet acked (the same ids, so the hub stores each message once).

Given several hubs of one cluster (`HubList`), it fails over: a hub that refuses the connection
or drops it is left for the next one, where the same token and cursors resume the same
conversations. Each attempt waits its turn of the jittered backoff, so the agents of a dead hub
do not land on the next one all in the same instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp

from ioa.backoff import Backoff, retry_after
from ioa.client_rest import ClientError, HubRest, HubsUnreachable, unreachable
from ioa.lifecycle import Closeable
from protocols import Envelope, ErrorCode, Payload
from protocols.frames import (
    HUB_FRAME,
    Ack,
    Deliver,
    ErrorFrame,
    GroupInfo,
    Hello,
    Joined,
    Synced,
    Welcome,
    send_text,
)

__all__ = ["ClientError", "HubClient", "HubsUnreachable"]

CLOSE_REPLACED = 4000
"""The hub's close code for a socket replaced by a newer connection of the same agent."""
log = logging.getLogger("ioa.client")


class HubClient(HubRest, Closeable):
    """One agent's connection to a hub. Use as `async with HubClient(url, ...) as client:`.

    `url` is one hub, or several of one cluster (a sequence, or comma-separated text); a bad
    URL raises `HubUrlError` naming it.
    """

    def __init__(
        self,
        url: str | Sequence[str],
        *,
        token: str | None = None,
        agent_id: str | None = None,
        cursors: dict[str, int] | None = None,
        reconnect: bool = True,
        max_backoff: float = 2.0,
        give_up_after: float = 10.0,
        reconnect_for: float | None = None,
        echo: bool = False,
        on_joined: Callable[[GroupInfo], None] | None = None,
    ) -> None:
        super().__init__(url, token=token, agent_id=agent_id)
        self.cursors: dict[str, int] = dict(cursors or {})
        """group id → highest seq seen; persist it to resume across restarts of the agent."""
        self.groups: list[str] = []
        self.reconnect = reconnect
        self.backoff = Backoff(cap=max_backoff)
        """Reconnect delays: full jitter up to `max_backoff` seconds."""
        self.give_up_after = give_up_after
        """Seconds `connect()` tries the hubs in turn before it raises `HubsUnreachable`."""
        self.reconnect_for = reconnect_for
        """Seconds a dropped client tries the hubs before it gives up for good (then `receive`,
        `send`, `wait_synced` and `connect` raise `HubsUnreachable`); None: as long as it lives,
        so an agent outlives a hub restart of any length."""
        self._failure: HubsUnreachable | None = None
        self._retry_after: float | None = None
        self.echo = echo
        """Also yield this agent's own messages (once acked), in sequence order with the rest:
        what an agent needs that keeps its own copy of each conversation's state."""
        self.on_joined = on_joined
        """Called when the hub makes this agent a member of a new group."""
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[Envelope | None] = asyncio.Queue()
        self._unacked: dict[str, tuple[Envelope, asyncio.Future[Envelope]]] = {}
        self._synced = asyncio.Event()
        self._closing = False
        self._resends: set[asyncio.Task[None]] = set()

    # lifecycle
    async def __aenter__(self) -> HubClient:
        self._http()
        return self

    async def close(self) -> None:
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
        for _, future in self._unacked.values():
            if not future.done():
                future.set_exception(ClientError("client closed before the hub acked", "closed"))
        self._inbox.put_nowait(None)

    # WebSocket
    async def connect(self) -> None:
        """Open the WebSocket and wait until everything missed has been replayed.

        Tries the hubs in turn, each attempt after its backoff delay, for `give_up_after`
        seconds, then raises `HubsUnreachable`; a hub that refuses the token ends it at once
        (the hubs of a cluster share their tokens: the next one would refuse it too).
        """
        if self.token is None:
            raise ClientError("register or pass a token before connecting", "unauthorized")
        if self._failure is not None:
            raise self._failure  # a client that gave up is done: make a new one
        self._closing = False
        failures: dict[str, str] = {}
        deadline = time.monotonic() + self.give_up_after
        while True:
            try:
                await self._open()
                break
            except ClientError as exc:
                if exc.code == ErrorCode.UNAUTHORIZED:
                    raise
                if exc.code != ErrorCode.BUSY:  # a busy hub answered: no cost to the budget
                    failures[self.url] = exc.message
                    if time.monotonic() >= deadline:
                        raise unreachable(self.hubs, failures) from exc
                self.hubs.advance()
            hint, self._retry_after = self._retry_after, None
            await asyncio.sleep(self.backoff.next(hint))
        self.backoff.reset()
        self._reader = asyncio.create_task(self._read_loop())
        await self.wait_synced()

    async def wait_synced(self) -> float:
        """Until the (re)connection has replayed what was missed; the monotonic time then.
        Raises `HubsUnreachable` if the client gave up reconnecting instead."""
        await self._synced.wait()
        if self._failure is not None:
            raise self._failure
        return time.monotonic()

    async def _open(self) -> None:
        ws_url = self.url.replace("http", "ws", 1) + "/v1/ws"
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            self._ws = await self._http().ws_connect(ws_url, headers=headers, heartbeat=20.0)
        except aiohttp.WSServerHandshakeError as exc:
            self._retry_after = retry_after(exc.headers)
            codes = {401: ErrorCode.UNAUTHORIZED, 503: ErrorCode.BUSY}
            code = codes.get(exc.status, "handshake_failed")
            raise ClientError(f"the hub refused the WebSocket: HTTP {exc.status}", code) from exc
        except aiohttp.ClientConnectionError as exc:
            raise ClientError(str(exc) or type(exc).__name__, "unreachable") from exc
        self._synced.clear()
        await self._ws.send_str(Hello(cursors=self.cursors).model_dump_json())

    async def _read_loop(self) -> None:
        while True:
            ws = self._ws
            if ws is not None:
                async for msg in ws:
                    if msg.type is aiohttp.WSMsgType.TEXT:
                        self._handle(msg.data)
                        self.backoff.reset()
            if self._closing or not self.reconnect or self._replaced(ws):
                self._inbox.put_nowait(None)
                return
            self._synced.clear()
            if not await self._reconnect():
                return

    @staticmethod
    def _replaced(ws: aiohttp.ClientWebSocketResponse | None) -> bool:
        """The hub closed this socket for a newer one of the same agent: another process has
        taken the agent over, and reconnecting would only take it back, back and forth."""
        if ws is not None and ws.close_code == CLOSE_REPLACED:
            log.warning("this agent connected from elsewhere; this connection stops")
            return True
        return False

    async def _reconnect(self) -> bool:
        """After a drop: the next hub first (the lost one may be dead), each attempt after its
        backoff delay, until one takes us back or `reconnect_for` runs out (then give up)."""
        failures: dict[str, str] = {}
        lost = time.monotonic()
        while True:
            self.hubs.advance()
            hint, self._retry_after = self._retry_after, None
            await asyncio.sleep(self.backoff.next(hint))
            try:
                await self._open()
                return True
            except ClientError as exc:
                failures[self.url] = exc.message
            if self.reconnect_for is not None and time.monotonic() - lost >= self.reconnect_for:
                self._give_up(unreachable(self.hubs, failures))
                return False

    def _give_up(self, failure: HubsUnreachable) -> None:
        """Fail what waits on the connection: unacked sends, `receive`, `wait_synced`."""
        log.warning("%s", failure.message)
        self._failure = failure
        for _, future in self._unacked.values():
            if not future.done():
                future.set_exception(failure)
        self._unacked.clear()
        self._inbox.put_nowait(None)
        self._synced.set()  # wakes `wait_synced`, which raises `_failure`: no resume is coming

    def _handle(self, raw: str) -> None:
        frame = HUB_FRAME.validate_json(raw)
        if isinstance(frame, Deliver):
            env = frame.envelope
            seq = env.seq or 0
            if seq > self.cursors.get(env.group, 0):
                self.cursors[env.group] = seq
                self._inbox.put_nowait(env)
        elif isinstance(frame, Ack):
            entry = self._unacked.pop(frame.id, None)
            if entry is None:
                return
            stamped = entry[0].model_copy(update={"seq": frame.seq, "ts": frame.ts})
            if frame.seq > self.cursors.get(frame.group, 0):
                self.cursors[frame.group] = frame.seq
                if self.echo:
                    self._inbox.put_nowait(stamped)
            if not entry[1].done():
                entry[1].set_result(stamped)
        elif isinstance(frame, ErrorFrame):
            entry = self._unacked.pop(frame.id, None) if frame.id else None
            error = ClientError(frame.error.message, frame.error.code)
            if entry is not None and not entry[1].done():
                entry[1].set_exception(error)
            else:
                log.warning("hub error: %s: %s", frame.error.code, frame.error.message)
        elif isinstance(frame, Welcome):
            self.agent_id, self.groups = frame.agent_id, frame.groups
        elif isinstance(frame, Joined):
            self.groups.append(frame.group.id)
            if self.on_joined is not None:
                self.on_joined(frame.group)
        elif isinstance(frame, Synced):
            self._synced.set()
            for envelope, _ in list(self._unacked.values()):
                task = asyncio.ensure_future(self._transmit(envelope))
                self._resends.add(task)
                task.add_done_callback(self._resends.discard)

    async def _transmit(self, envelope: Envelope) -> None:
        ws = self._ws
        if ws is None or ws.closed or not self._synced.is_set():
            return  # resent after the next resume
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(send_text(envelope.model_dump_json()))

    async def send(self, envelope: Envelope, timeout: float | None = 30.0) -> Envelope:
        """Send and wait for the hub's ack; returns the envelope with its seq and ts."""
        if self.agent_id is None:
            raise ClientError("not registered", "unauthorized")
        if self._failure is not None:
            raise self._failure
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._unacked[envelope.id] = (envelope, future)
        await self._transmit(envelope)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self._unacked.pop(envelope.id, None)
            raise ClientError(
                f"no ack for message {envelope.id} in {timeout}s", "timeout"
            ) from None

    async def say(
        self,
        group: str,
        payload: Payload,
        to: list[str] | None = None,
        reply_to: str | None = None,
    ) -> Envelope:
        """Build an envelope from this agent and send it."""
        if self.agent_id is None:
            raise ClientError("not registered", "unauthorized")
        envelope = Envelope(
            group=group, sender=self.agent_id, to=to or [], reply_to=reply_to, payload=payload
        )
        return await self.send(envelope)

    async def receive(self, timeout: float | None = None) -> Envelope:
        """The next envelope delivered to this agent, in per-group sequence order."""
        item = await asyncio.wait_for(self._inbox.get(), timeout)
        if item is None:
            self._inbox.put_nowait(None)
            raise self._failure or ClientError("the connection is closed", "closed")
        return item

    async def messages(self) -> AsyncIterator[Envelope]:
        """Iterate over delivered envelopes until the client closes; raises `HubsUnreachable`
        if it ends because the client gave up reconnecting."""
        while True:
            try:
                yield await self.receive()
            except HubsUnreachable:
                raise
            except ClientError:
                return

    async def drop_connection(self) -> None:
        """Close the socket without closing the client, as a network failure would."""
        if self._ws is not None:
            await self._ws.close()
