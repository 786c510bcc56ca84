"""The part of the router that exists because other hubs write to the same groups.

Mixed into `Router`: a batch is stored only for groups whose stored head is still the one this
hub numbered from (`SharedStore.append_checked`); a group another hub wrote first is caught up
from the store — its new messages folded into the state and delivered to the members connected
here — and the taken-back messages are admitted again in order. Hints from the other hubs
(`ioa.hub.cluster`) start the same catch-up for the groups this hub serves.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

from ioa.hub.connection import Connection
from ioa.hub.entries import Group
from ioa.hub.errors import HubError, Unavailable
from ioa.hub.registry import Registry
from ioa.store import Store, StoredMessage, StoreError
from protocols import Envelope, ProtocolError
from protocols.frames import deliver_text, error_text

if TYPE_CHECKING:
    from collections.abc import Callable

    from ioa.hub.cluster import Cluster
    from ioa.hub.router import _Pending

log = logging.getLogger("ioa.hub")

PAGE = 1000
"""Stored messages read per query when a group catches up."""


class CatchUp:
    registry: Registry
    store: Store
    connections: dict[str, Connection]
    listeners: list[Callable[[Group, StoredMessage], None]]
    cluster: Cluster | None
    _queue: deque[_Pending]
    _syncs: set[asyncio.Future[None]]

    if TYPE_CHECKING:  # the router's (`Router._admit`), which mixes this class in

        async def _admit(
            self,
            agent_id: str,
            envelope: Envelope,
            origin: Connection | None,
            future: asyncio.Future[tuple[int, float]] | None,
            redo: bool = False,
        ) -> None: ...

    @staticmethod
    def _rewind(refused: list[_Pending]) -> None:
        """Take messages back: each group returns to its state before the first of them."""
        for pending in reversed(refused):  # newest first: each group ends at its earliest state
            pending.group.pending -= 1
            if pending.before is not None:
                pending.group.head, checkpoint = pending.before
                pending.group.policy.rewind(checkpoint)
                pending.group.seen.forget(pending.message.id)

    async def _persist(self, batch: list[_Pending]) -> set[str]:
        """Store the batch; with other hubs, only for the groups whose stored head is still
        the one this hub numbered from, returning the others."""
        fresh = [p.message for p in batch if not p.duplicate]
        if self.registry.shared is None:
            await self.store.append_messages(fresh)
            return set()
        expected: dict[str, int] = {}
        for pending in batch:
            if pending.before is not None:
                expected.setdefault(pending.group.id, pending.before[0])
        return await self.registry.shared.append_checked(fresh, expected)

    def _redo_stale(self, batch: list[_Pending], stale: set[str]) -> list[_Pending]:
        """Another hub wrote to these groups first: take their messages back (and whatever of
        them is queued), catch the groups up, and admit the messages again in order — each is
        judged as if it had arrived after the other hub's. Returns the rest of the batch."""
        redo = [p for p in batch if p.group.id in stale]  # resends too: their seq may be
        redo += [p for p in self._queue if p.group.id in stale]  # one being taken back
        self._queue = deque(p for p in self._queue if p.group.id not in stale)
        self._rewind(redo)
        for pending in redo:
            if pending.origin is not None:
                pending.origin.settled()
        for group_id in stale:
            mine = [p for p in redo if p.group.id == group_id]
            self.sync(mine[0].group, mine)
        return [p for p in batch if p.group.id not in stale]

    def _announce_heads(self, batch: list[_Pending]) -> None:
        assert self.cluster is not None
        heads: dict[str, int] = {}
        rows: dict[str, list[StoredMessage]] = {}
        groups: dict[str, Group] = {}
        for pending in batch:
            if not pending.duplicate:
                heads[pending.group.id] = pending.message.seq
                rows.setdefault(pending.group.id, []).append(pending.message)
                groups[pending.group.id] = pending.group
        if heads:
            self.cluster.stored(heads, rows)
        for group in groups.values():
            if group.behind > group.head and not group.pending and self.serves(group):
                self.sync(group)

    def serves(self, group: Group) -> bool:
        """True when a member of the group is connected here: its new messages are read at
        once; other groups only catch up when used."""
        connections = self.connections
        return any(member in connections for member in group.members)

    def hint(self, group: Group, seq: int, rows: list[StoredMessage] | None = None) -> None:
        """Another hub stored the group's messages up to `seq` (`rows`, when the hint carried
        them: taken as they are if they follow this hub's head, else read from the store)."""
        if seq <= group.head:
            return
        if (
            rows
            and rows[0].seq == group.head + 1
            and len(rows) == seq - group.head
            and group.restored
            and not group.pending
            and group.syncing is None
            and self.serves(group)
        ):
            self._take_stored(group, rows)
            return
        group.behind = max(group.behind, seq)
        if not group.pending and group.syncing is None and self.serves(group):
            self.sync(group)

    def sync(self, group: Group, redo: list[_Pending] | None = None) -> asyncio.Future[None]:
        """Catch the group up from the store (once at a time), then admit `redo` again."""
        if group.syncing is None or redo:  # with redo: after the catch-up under way, if any
            group.syncing = asyncio.ensure_future(
                self._catch_up(group, redo or [], after=group.syncing)
            )
            self._syncs.add(group.syncing)
            group.syncing.add_done_callback(self._syncs.discard)
        return group.syncing

    async def _caught_up(self, group: Group) -> None:
        """Before judging a move: wait for a catch-up in progress, or make one if another hub
        is known to have written what this one has not read."""
        for _ in range(3):  # a store that keeps failing is the commit's to report
            if group.syncing is None and (group.behind <= group.head or group.pending):
                return
            await asyncio.shield(self.sync(group))

    async def _was_behind(self, group: Group) -> bool:
        """A move was refused: was that judged on a state another hub had moved on from? Only
        asked when nothing of the group is in flight here (else the commit check decides)."""
        if self.cluster is None or group.pending or group.syncing is not None:
            return False
        head = group.head
        await asyncio.shield(self.sync(group))
        return group.head != head

    async def _catch_up(
        self, group: Group, redo: list[_Pending], after: asyncio.Future[None] | None = None
    ) -> None:
        if after is not None:
            await asyncio.gather(after, return_exceptions=True)
        try:
            try:
                await self.registry.ready(group)
                while True:
                    page = await self.store.messages_after(group.id, group.head, PAGE)
                    self._take_stored(group, page)
                    if len(page) < PAGE:  # the last page: no query to find it empty
                        break
            except (StoreError, HubError) as exc:
                self._refuse_all(redo, Unavailable())
                log.warning("group %s could not catch up: %s", group.id, exc)
                return
            for pending in redo:
                await self._admit_again(pending)
        finally:
            if group.syncing is asyncio.current_task():
                group.syncing = None
            if group.behind <= group.head:
                group.behind = 0

    def _take_stored(self, group: Group, page: list[StoredMessage]) -> None:
        """Messages another hub stored: into the group's state, then to members connected here."""
        corked: list[Connection] = []
        for msg in page:
            if msg.seq <= group.head:
                continue
            group.seen.remember(msg.id, msg.seq, msg.ts)
            group.policy.fold([msg])
            group.head = msg.seq
            for listener in self.listeners:
                listener(group, msg)
            frame = deliver_text(msg.body)
            for member in group.members:
                if member != msg.sender and (conn := self.connections.get(member)) is not None:
                    conn.push(frame, msg.group_id, msg.seq, corked)
        for conn in corked:
            conn.flush()

    async def _admit_again(self, pending: _Pending) -> None:
        """A message taken back from a stale batch; the hub's own (a timeout) is dropped: its
        clock sends it again if it is still due after the catch-up."""
        if pending.envelope is None:
            return
        try:
            await self._admit(
                pending.message.sender, pending.envelope, pending.origin, pending.future, True
            )
        except (HubError, ProtocolError) as exc:
            self._refuse_all([pending], exc)

    @staticmethod
    def _refuse_all(refused: list[_Pending], error: HubError | ProtocolError) -> None:
        for pending in refused:
            if pending.origin is not None:
                pending.origin.push(error_text(error.code, error.message, pending.message.id))
            if pending.future is not None and not pending.future.done():
                pending.future.set_exception(error)
