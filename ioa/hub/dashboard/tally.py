"""Counts the dashboard shows: who talks to whom, and each agent's and group's accounting.

Kept in memory from every stored message and every refusal while the hub runs; what was stored
before the hub started is counted once, in the background, on the first look (`backfill`), so a
hub with a long history starts as fast as before and pays only when someone watches. A message is
counted either live or by the backfill, never both: the backfill stops at each group's head as it
was when the tally began.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ioa.hub.registry import Group
from ioa.hub.state import Rejection
from ioa.store import Store, StoredMessage

_TO = re.compile(r'"to":\[([^\]]*)\]')
"""The addressees in a stored envelope's JSON (ids never hold quotes or brackets): reading them
this way costs a few microseconds, where parsing the whole body costs ten times that."""

PAGE = 1000


def addressees(body: str) -> list[str]:
    found = _TO.search(body)
    if found is None or not found.group(1):
        return []
    return [item.strip().strip('"') for item in found.group(1).split(",")]


@dataclass(slots=True)
class AgentTally:
    """One agent's accounting as the hub sees it (its model's tokens stay on its device)."""

    sent: Counter[str] = field(default_factory=Counter)
    """Messages stored, by type."""
    bytes_sent: int = 0
    received: int = 0
    """Messages addressed to it by name (not broadcasts)."""
    refusals: Counter[str] = field(default_factory=Counter)
    last_ts: float | None = None

    def view(self) -> dict[str, Any]:
        return {
            "messages": sum(self.sent.values()),
            "by_type": dict(self.sent),
            "bytes": self.bytes_sent,
            "received": self.received,
            "refusals": dict(self.refusals),
            "last_ts": self.last_ts,
        }


@dataclass(slots=True)
class GroupTally:
    by_type: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)


class Tally:
    def __init__(self, groups: Iterable[Group]) -> None:
        self.agents: dict[str, AgentTally] = {}
        self.groups: dict[str, GroupTally] = {}
        self.edges: Counter[tuple[str, str]] = Counter()
        """(sender, addressee) → messages; a message to the whole group counts (sender, group)."""
        self._baseline = {group.id: group.head for group in groups}
        self._backfill: asyncio.Task[None] | None = None
        self.counted_history = not any(self._baseline.values())

    def agent(self, agent_id: str) -> AgentTally:
        tally = self.agents.get(agent_id)
        if tally is None:
            tally = self.agents[agent_id] = AgentTally()
        return tally

    def group(self, group_id: str) -> GroupTally:
        tally = self.groups.get(group_id)
        if tally is None:
            tally = self.groups[group_id] = GroupTally()
        return tally

    def count(self, msg: StoredMessage) -> list[str]:
        """Count one stored message; its addressees."""
        sender = self.agent(msg.sender)
        sender.sent[msg.type] += 1
        sender.bytes_sent += len(msg.body)
        sender.last_ts = msg.ts
        self.group(msg.group_id).by_type[msg.type] += 1
        to = addressees(msg.body)
        if to:
            for addressee in to:
                self.edges[(msg.sender, addressee)] += 1
                self.agent(addressee).received += 1
        else:
            self.edges[(msg.sender, msg.group_id)] += 1
        return to

    def refused(self, rejection: Rejection) -> None:
        if rejection.agent is not None:
            self.agent(rejection.agent).refusals[rejection.code] += 1
        if rejection.group is not None:
            self.group(rejection.group).refusals[rejection.code] += 1

    def start_backfill(self, store: Store) -> None:
        """Count the history stored before the hub started, once, in the background."""
        if self._backfill is None and not self.counted_history:
            self._backfill = asyncio.ensure_future(self._count_history(store))

    async def stop(self) -> None:
        if self._backfill is not None and not self._backfill.done():
            self._backfill.cancel()
            await asyncio.gather(self._backfill, return_exceptions=True)

    async def _count_history(self, store: Store) -> None:
        for group_id, head in self._baseline.items():
            after = 0
            while after < head:
                page = await store.messages_after(group_id, after, min(PAGE, head - after))
                if not page:
                    break
                for msg in page:
                    self.count(msg)
                after = page[-1].seq
                await asyncio.sleep(0)
        self.counted_history = True

    def edge_list(self, limit: int) -> list[dict[str, Any]]:
        return [
            {"from": sender, "to": target, "messages": n}
            for (sender, target), n in self.edges.most_common(limit)
        ]
