"""Message flow through the hub: accept, persist in batches, then ack and fan out.

A message is acked and delivered only after the transaction that stores it has committed
(group commit: whatever arrived while the previous batch was being written goes in the next one).
Frames go straight to a connection's socket while it keeps up, else into its own outbox drained
by its own task, so one slow reader never holds up the others; a reader that falls too far
behind is dropped and resumes from its cursor when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from ioa.config import HubConfig
from ioa.hub.errors import HubError, InvalidAddressee, SenderMismatch, Unavailable
from ioa.hub.registry import Group, Registry
from ioa.store import DuplicateMessage, Store, StoredMessage
from protocols import Envelope

log = logging.getLogger("ioa.hub")

SYNCED = '{"op":"synced"}'
REPLAY_PAGE = 1000


def compact(data: object) -> str:
    """JSON without spaces, like every frame the hub sends."""
    return json.dumps(data, separators=(",", ":"))


def ack_frame(message_id: str, group_id: str, seq: int, ts: float) -> str:
    return compact({"op": "ack", "id": message_id, "group": group_id, "seq": seq, "ts": ts})


def error_frame(code: str, message: str, message_id: str | None = None) -> str:
    return compact({"op": "error", "id": message_id, "error": {"code": code, "message": message}})


def text_frame(text: str) -> bytes:
    """An unmasked, uncompressed WebSocket text frame (RFC 6455 §5.2), as a server sends it."""
    data = text.encode()
    size = len(data)
    if size < 126:
        return bytes((0x81, size)) + data
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + data
    return struct.pack("!BBQ", 0x81, 127, size) + data


class Connection:
    """One agent's live WebSocket: frames written at once while the socket keeps up, else an
    outbox and the task that drains it in order.

    Most frames go straight to the transport: going through a task per connection cost two
    event-loop turns per message (ack and delivery), a fifth of the hub's CPU with one message in
    flight. The socket must be opened with `compress=False` so that raw text frames are valid.
    """

    def __init__(
        self,
        agent_id: str,
        ws: web.WebSocketResponse,
        limit: int,
        transport: asyncio.Transport | None = None,
    ) -> None:
        self.agent_id = agent_id
        self.ws = ws
        self.limit = limit
        self.transport = transport
        self.replaying = True
        self._pending: list[tuple[str, int, str]] = []
        self._outbox: deque[str] = deque()
        self._wake = asyncio.Event()
        self._pump = asyncio.create_task(self._drain())
        self._closer: asyncio.Future[bool] | None = None

    def push(self, frame: str, group_id: str | None = None, seq: int = 0) -> None:
        """Queue a frame. While replaying, frames of a group (`seq` > 0 marks a delivery, which
        replay may already have sent) wait, so that order and dedupe hold; errors go at once."""
        if self.replaying and group_id is not None:
            self._pending.append((group_id, seq, frame))
            return
        if self._write_now(frame):
            return
        self._outbox.append(frame)
        self._wake.set()
        if len(self._outbox) > self.limit:
            log.warning("dropping slow connection of %s", self.agent_id)
            self._outbox.clear()
            self._closer = asyncio.ensure_future(
                self.ws.close(code=1013, message=b"too far behind; resume")
            )

    def _write_now(self, frame: str) -> bool:
        """Write the frame if nothing is queued before it and the socket's buffer is empty."""
        transport = self.transport
        if (
            transport is None
            or self._outbox
            or self.ws.closed
            or transport.is_closing()
            or transport.get_write_buffer_size()
        ):
            return False
        transport.write(text_frame(frame))
        return True

    def push_replayed(self, frame: str) -> None:
        self._outbox.append(frame)
        self._wake.set()

    def finish_replay(self, last_seq: dict[str, int]) -> None:
        self.replaying = False
        for group_id, seq, frame in self._pending:
            if seq == 0 or seq > last_seq.get(group_id, 0):
                self._outbox.append(frame)
        self._pending.clear()
        self._outbox.append(SYNCED)
        self._wake.set()

    async def _drain(self) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._outbox:
                    await self.ws.send_str(self._outbox.popleft())

    async def close(self) -> None:
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump


@dataclass(slots=True)
class _Pending:
    message: StoredMessage
    group: Group
    origin: Connection | None
    future: asyncio.Future[tuple[int, float]] | None
    duplicate: bool = False


class Router:
    def __init__(self, registry: Registry, store: Store, config: HubConfig) -> None:
        self.registry = registry
        self.store = store
        self.config = config
        self.connections: dict[str, Connection] = {}
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.listeners: list[Callable[[Group, StoredMessage], None]] = []
        """Called for every newly stored message, after its commit (goals listen here)."""

    async def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop())

    async def stop(self) -> None:
        """Flush what is queued, then stop writing."""
        await self._queue.join()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    def accept(self, agent_id: str, envelope: Envelope, origin: Connection) -> None:
        """Admit a message from a WebSocket; its ack goes back through `origin`'s outbox."""
        self._admit(agent_id, envelope, origin, None)

    def submit(self, agent_id: str, envelope: Envelope) -> asyncio.Future[tuple[int, float]]:
        """Admit a message from HTTP; the future gives (seq, ts) once it is stored."""
        future: asyncio.Future[tuple[int, float]] = asyncio.get_running_loop().create_future()
        self._admit(agent_id, envelope, None, future)
        return future

    def _admit(
        self,
        agent_id: str,
        envelope: Envelope,
        origin: Connection | None,
        future: asyncio.Future[tuple[int, float]] | None,
    ) -> None:
        """Check a message, give it the group's next seq and queue it for persistence.

        Raises `HubError`/`ProtocolError` for anything the hub rejects; nothing is stored then.
        A message id the group has seen is not stored again: it is acked with its first seq.
        """
        if envelope.sender != agent_id:
            raise SenderMismatch(
                f"envelope sender {envelope.sender!r} is not the authenticated agent {agent_id!r}"
            )
        group = self.registry.member_group(envelope.group, agent_id)
        for addressee in envelope.to:
            if addressee not in group.member_set:
                raise InvalidAddressee(f"addressee {addressee!r} is not a member of {group.id!r}")
        known = group.recent.get(envelope.id)
        if known is not None:
            seq, ts = known
            stored = StoredMessage(group.id, seq, envelope.id, agent_id, envelope.type, ts, "")
            self._queue.put_nowait(_Pending(stored, group, origin, future, duplicate=True))
            return
        now = time.time()
        group.policy.apply(envelope, now)
        group.head += 1
        stamped = envelope.model_copy(update={"seq": group.head, "ts": now})
        group.remember(envelope.id, group.head, now)
        stored = StoredMessage(
            group.id,
            group.head,
            envelope.id,
            agent_id,
            envelope.type,
            now,
            stamped.model_dump_json(),
        )
        self._queue.put_nowait(_Pending(stored, group, origin, future))

    def originate(self, group: Group, envelope: Envelope) -> None:
        """Queue a message the hub itself sends (a timeout), already applied to the policy."""
        group.head += 1
        ts = envelope.ts if envelope.ts is not None else time.time()
        stamped = envelope.model_copy(update={"seq": group.head, "ts": ts})
        group.remember(envelope.id, group.head, ts)
        stored = StoredMessage(
            group.id,
            group.head,
            envelope.id,
            envelope.sender,
            envelope.type,
            ts,
            stamped.model_dump_json(),
        )
        self._queue.put_nowait(_Pending(stored, group, None, None))

    def announce(self, group: Group) -> None:
        """Tell the group's connected members that they belong to it now."""
        frame = compact({"op": "joined", "group": group.view()})
        for member in group.members:
            if (conn := self.connections.get(member)) is not None:
                conn.push(frame)

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.config.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            new = [p.message for p in batch if not p.duplicate]
            try:
                try:
                    await self.store.append_messages(new)
                except DuplicateMessage:
                    await self._write_one_by_one(batch)
            except Exception as exc:  # the writer must outlive any failure of one batch
                log.error("store failed, %d messages rejected: %s", len(new), exc)
                self._reject(batch, Unavailable())
            else:
                self._dispatch(batch)
            for _ in batch:
                self._queue.task_done()

    async def _write_one_by_one(self, batch: list[_Pending]) -> None:
        """A batch hit an id stored before a restart: store the rest, ack duplicates as stored."""
        for pending in batch:
            if pending.duplicate:
                continue
            msg = pending.message
            try:
                await self.store.append_messages([msg])
            except DuplicateMessage:
                stored = await self.store.find_message(msg.group_id, msg.id)
                if stored is None:
                    raise
                pending.message = stored
                pending.duplicate = True

    def _reject(self, batch: list[_Pending], error: HubError) -> None:
        for pending in batch:
            if pending.origin is not None:
                pending.origin.push(error_frame(error.code, error.message, pending.message.id))
            if pending.future is not None and not pending.future.done():
                pending.future.set_exception(error)

    def _dispatch(self, batch: list[_Pending]) -> None:
        for pending in batch:
            msg = pending.message
            if pending.origin is not None:
                pending.origin.push(ack_frame(msg.id, msg.group_id, msg.seq, msg.ts), msg.group_id)
            if pending.future is not None and not pending.future.done():
                pending.future.set_result((msg.seq, msg.ts))
            if pending.duplicate:
                continue
            for listener in self.listeners:
                listener(pending.group, msg)
            frame = '{"op":"deliver","envelope":' + msg.body + "}"
            for member in pending.group.members:
                if member != msg.sender and (conn := self.connections.get(member)) is not None:
                    conn.push(frame, msg.group_id, msg.seq)

    async def resume(self, conn: Connection, cursors: dict[str, int]) -> None:
        """Replay what the agent missed in each of its groups, then go live.

        The replay includes the agent's own messages: an agent restarted from an older cursor
        must see everything it said too, or its copy of a conversation's state would drift.
        """
        previous = self.connections.get(conn.agent_id)
        self.connections[conn.agent_id] = conn
        if previous is not None and previous is not conn:
            await previous.ws.close(code=4000, message=b"replaced by a newer connection")
        last_seq: dict[str, int] = {}
        for group_id in self.registry.groups_of(conn.agent_id):
            after = max(0, cursors.get(group_id, 0))
            while True:
                page = await self.store.messages_after(group_id, after, REPLAY_PAGE)
                for msg in page:
                    conn.push_replayed('{"op":"deliver","envelope":' + msg.body + "}")
                if page:
                    after = page[-1].seq
                if len(page) < REPLAY_PAGE:
                    break
            last_seq[group_id] = after
        conn.finish_replay(last_seq)

    def disconnect(self, conn: Connection) -> None:
        if self.connections.get(conn.agent_id) is conn:
            del self.connections[conn.agent_id]

    def is_connected(self, agent_id: str) -> bool:
        return agent_id in self.connections
