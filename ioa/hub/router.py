"""Message flow through the hub: accept, persist in batches, then ack and fan out.

A message is acked and delivered only after the transaction that stores it has committed
(group commit: whatever arrived while the previous batch was being written goes in the next one,
and under load a batch first gathers what is still arriving). A batch's frames for one
connection go to its socket in one write while it keeps up, else into its own outbox drained by
its own task, so one slow reader never holds up the others; a reader that falls too far behind
is dropped and resumes from its cursor when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ioa.config import HubConfig
from ioa.hub.catchup import CatchUp
from ioa.hub.connection import Connection
from ioa.hub.entries import Group
from ioa.hub.errors import InvalidAddressee, SenderMismatch, Unavailable, UnknownGroup
from ioa.hub.memory import TRIMMER
from ioa.hub.registry import Registry
from ioa.store import Store, StoredMessage, StoreError
from protocols import Envelope, ProtocolError
from protocols.frames import (
    Joined,
    ack_text,
    deliver_text,
    error_text,
    frame_text,
    stored_ack_text,
)

if TYPE_CHECKING:
    from ioa.hub.cluster import Cluster

log = logging.getLogger("ioa.hub")

REPLAY_PAGE = 1000
BURST = 256
"""A batch this large means a flood: when the queue next runs dry, memory is trimmed."""
GATHER_WINDOW = 0.002
"""Longest a batch keeps gathering arrivals (the floor relay's group commit waits as long)."""


@dataclass(slots=True)
class _Pending:
    message: StoredMessage
    group: Group
    origin: Connection | None
    future: asyncio.Future[tuple[int, float]] | None
    before: tuple[int, object] | None = None
    """The group's head and policy checkpoint before this message; None for a duplicate."""
    envelope: Envelope | None = None
    """What an agent sent, kept to admit it again if another hub wrote to the group first."""
    ts_json: str = ""
    """`repr(message.ts)`, written once for the body and the ack; empty for a duplicate."""

    @property
    def duplicate(self) -> bool:
        return self.before is None


class Router(CatchUp):
    """Admits messages, writes them in batches, then acks and fans them out.

    Admission is optimistic: a message is checked against the group's rules, stamped with the
    group's next seq and applied to its policy at once, so the next message is judged against it;
    if the batch that carries it then fails to commit, every message of the affected groups still
    in flight is refused and each group is rewound to its state before the first of them. So a
    refused frame leaves no trace: not in the store, the seq head or the conversation state.
    """

    def __init__(self, registry: Registry, store: Store, config: HubConfig) -> None:
        self.registry = registry
        self.store = store
        self.config = config
        self.connections: dict[str, Connection] = {}
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self._last_batch = 0
        self.listeners: list[Callable[[Group, StoredMessage], None]] = []
        """Called for every newly stored message, after its commit (goals listen here)."""
        self.cluster: Cluster | None = None
        """Set when this hub shares its store with others (`ioa.hub.cluster`)."""
        self._syncs: set[asyncio.Future[None]] = set()

    async def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop())

    async def stop(self) -> None:
        """Flush what is queued and finish catching up, then stop writing."""
        await asyncio.gather(*self._syncs, return_exceptions=True)
        await self._idle.wait()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    def accept(self, agent_id: str, envelope: Envelope, origin: Connection) -> Awaitable[None]:
        """Admit a message from a WebSocket; its ack goes back through `origin`."""
        return self._admit(agent_id, envelope, origin, None)

    async def submit(self, agent_id: str, envelope: Envelope) -> tuple[int, float]:
        """Admit a message from HTTP; (seq, ts) once it is stored."""
        future: asyncio.Future[tuple[int, float]] = asyncio.get_running_loop().create_future()
        await self._admit(agent_id, envelope, None, future)
        return await future

    def _check(self, agent_id: str, envelope: Envelope) -> Group:
        if envelope.sender != agent_id:
            raise SenderMismatch(
                f"envelope sender {envelope.sender!r} is not the authenticated agent {agent_id!r}"
            )
        group = self.registry.member_group(envelope.group, agent_id)
        for addressee in envelope.to:
            if addressee not in group.member_set:
                raise InvalidAddressee(f"addressee {addressee!r} is not a member of {group.id!r}")
        return group

    async def _admit(
        self,
        agent_id: str,
        envelope: Envelope,
        origin: Connection | None,
        future: asyncio.Future[tuple[int, float]] | None,
        redo: bool = False,
    ) -> None:
        """Check a message, give it the group's next seq and queue it for persistence.

        Raises `HubError`/`ProtocolError` for anything the hub rejects; nothing changes then.
        A message id the group has stored, however long ago, is acked with its first seq and
        not stored again.
        """
        try:
            group = self._check(agent_id, envelope)
        except UnknownGroup:
            if self.registry.shared is None:
                raise
            await self.registry.find_group(envelope.group)  # created by another hub
            group = self._check(agent_id, envelope)
        if self.cluster is not None and not redo:
            await self._caught_up(group)
        if not group.restored:
            await self.registry.ready(group)
            group = self._check(agent_id, envelope)
        known = group.seen.recent(envelope.id)
        if known is None and group.seen.maybe_stored(envelope.id):
            try:
                stored = await self.store.find_message(group.id, envelope.id)
            except StoreError as exc:
                raise Unavailable() from exc
            group = self._check(agent_id, envelope)  # membership may have changed meanwhile
            if stored is not None:
                self._enqueue(_Pending(stored, group, origin, future, envelope=envelope))
                return
            known = group.seen.recent(envelope.id)  # admitted meanwhile by another frame?
        if known is not None:
            seq, ts = known
            stored = StoredMessage(group.id, seq, envelope.id, agent_id, envelope.type, ts, "")
            self._enqueue(_Pending(stored, group, origin, future, envelope=envelope))
            return
        before = (group.head, group.policy.checkpoint())
        now = time.time()
        try:
            group.policy.apply(envelope, now)
        except ProtocolError:
            if redo or not await self._was_behind(group):
                raise
            return await self._admit(agent_id, envelope, origin, future, redo=True)
        self._stamp(group, envelope, now, origin, future, before, envelope)
        self._settle(group, now)

    def _settle(self, group: Group, now: float) -> None:
        """Send at once what a move left the hub owing (the conclusion of a group whose members
        ran out, e.g. dialectic's last call failing its check): an untimed group is not on the
        clock's list, and would otherwise wait for it forever."""
        while (owed := group.policy.next_timeout(now)) is not None:
            self.originate(group, owed)

    def originate(self, group: Group, envelope: Envelope) -> None:
        """Admit a message the hub itself sends (a policy's timeout)."""
        before = (group.head, group.policy.checkpoint())
        now = envelope.ts if envelope.ts is not None else time.time()
        group.policy.apply(envelope, now)
        self._stamp(group, envelope, now, None, None, before)

    def _stamp(
        self,
        group: Group,
        envelope: Envelope,
        now: float,
        origin: Connection | None,
        future: asyncio.Future[tuple[int, float]] | None,
        before: tuple[int, object],
        sent: Envelope | None = None,
    ) -> None:
        group.head += 1
        group.seen.remember(envelope.id, group.head, now)
        now_json = repr(now)
        stored = StoredMessage(
            group.id,
            group.head,
            envelope.id,
            envelope.sender,
            envelope.type,
            now,
            envelope.stamped_json(group.head, now, now_json),
        )
        self._enqueue(_Pending(stored, group, origin, future, before, sent, now_json))

    def _enqueue(self, pending: _Pending) -> None:
        if pending.origin is not None:
            pending.origin.admitted()
        pending.group.pending += 1
        self._queue.append(pending)
        self._idle.clear()
        self._wake.set()

    def announce(self, group: Group) -> None:
        """Tell the group's connected members that they belong to it now."""
        frame = frame_text(Joined(group=group.info()))
        for member in group.members:
            if (conn := self.connections.get(member)) is not None:
                conn.push(frame)

    async def _write_loop(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            if len(self._queue) > 1 or self._last_batch > 1:
                await self._gather()
            batch = [self._queue.popleft()]
            while self._queue and len(batch) < self.config.max_batch:
                batch.append(self._queue.popleft())
            self._last_batch = len(batch)
            TRIMMER.busy(asyncio.get_running_loop().time())
            if len(batch) >= BURST:  # a flood: give its memory back once it is over
                TRIMMER.want()
            try:
                stale = await self._persist(batch)
            except Exception as exc:  # the writer must outlive any failure of one batch
                log.error("store failed, %d messages refused: %s", len(batch), exc)
                self._roll_back(batch)
            else:
                if stale:
                    batch = self._redo_stale(batch, stale)
                self._dispatch(batch)

    async def _gather(self) -> None:
        """Under load, let the messages already on their way join the batch: yield to the event
        loop while each turn admits more, up to `max_batch` or `GATHER_WINDOW`.

        A commit writes every page its rows touched, and the rows of one batch share pages, so
        with the thread hop a message costs less the bigger its batch (SQLite alone, measured:
        ~37 µs a row alone, ~20 in 25, ~13 in 256); committing as soon as the last commit was
        done made batches of a few messages. This never waits on a timer: it stops after two
        turns that admit nothing (a frame read in one turn is admitted in the next), and a lone
        message on an idle hub skips it altogether.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GATHER_WINDOW
        quiet = 0
        while quiet < 2 and len(self._queue) < self.config.max_batch:
            before = len(self._queue)
            await asyncio.sleep(0)
            quiet = quiet + 1 if len(self._queue) == before else 0
            if loop.time() >= deadline:
                return

    def _roll_back(self, batch: list[_Pending]) -> None:
        """Refuse the batch and everything queued after it in the same groups, and put each
        group back where it was before the first of them."""
        groups = {p.group.id for p in batch}
        later = [p for p in self._queue if p.group.id in groups]
        self._queue = deque(p for p in self._queue if p.group.id not in groups)
        refused = batch + later
        self._rewind(refused)
        error = Unavailable()
        for pending in refused:
            if pending.origin is not None:
                pending.origin.settled()
                pending.origin.push(error_text(error.code, error.message, pending.message.id))
            if pending.future is not None and not pending.future.done():
                pending.future.set_exception(error)

    def _dispatch(self, batch: list[_Pending]) -> None:
        corked: list[Connection] = []
        for pending in batch:
            pending.group.pending -= 1
            msg = pending.message
            if pending.origin is not None:
                pending.origin.settled()
                if pending.ts_json:
                    ack = stored_ack_text(msg.id, msg.group_id, msg.seq, pending.ts_json)
                else:
                    ack = ack_text(msg.id, msg.group_id, msg.seq, msg.ts)
                pending.origin.push(ack, msg.group_id, 0, corked)
            if pending.future is not None and not pending.future.done():
                pending.future.set_result((msg.seq, msg.ts))
            if pending.duplicate:
                continue
            for listener in self.listeners:
                listener(pending.group, msg)
            frame = deliver_text(msg.body)
            for member in pending.group.members:
                if member != msg.sender and (conn := self.connections.get(member)) is not None:
                    conn.push(frame, msg.group_id, msg.seq, corked)
        for conn in corked:
            conn.flush()
        if self.cluster is not None:
            self._announce_heads(batch)

    async def resume(self, conn: Connection, cursors: dict[str, int]) -> None:
        """Replay what the agent missed in each of its groups, then go live.

        The replay includes the agent's own messages: an agent restarted from an older cursor
        must see everything it said too, or its copy of a conversation's state would drift.
        Pages are read only as fast as the agent takes them, so a long history costs the hub
        at most the connection's budget in memory.
        """
        previous = self.connections.get(conn.agent_id)
        self.connections[conn.agent_id] = conn
        if previous is not None and previous is not conn:
            await previous.ws.close(code=4000, message=b"replaced by a newer connection")
        last_seq: dict[str, int] = {}
        for group_id in self.registry.groups_of(conn.agent_id):
            after = cursors.get(group_id, 0)
            while not conn.gone:
                await conn.drained()
                page = await self.store.messages_after(group_id, after, REPLAY_PAGE)
                for msg in page:
                    conn.push_replayed(deliver_text(msg.body))
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
