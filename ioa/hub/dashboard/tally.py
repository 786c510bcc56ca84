"""Counts the dashboard shows: who talks to whom, and each agent's and group's accounting.

The counts cost the hub nothing while nobody watches: messages are counted live only while a
page is open (the feed attaches `count` to the router then), and whatever was stored while
nobody watched is read back from the store, in the background, when someone looks
(`catch_up`). Each group's messages are counted in seq order, exactly once: whoever meets a
group's next uncounted seq first counts it, the live listener or the catch-up reading the
store; a live message past a gap (the group talked while nobody watched) leaves the gap to the
catch-up. Refusals are not in the store, so they are counted as they happen (they are rare and
cost O(1)).

Every count also marks what it changed (`take_changes`), so the feed can send pages only the
groups, agents and edges that moved since its last tick. A message's usage report (its
sender's model use) is counted with it, per agent and per goal (`usage`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ioa.hub.dashboard.usage import UsageBook, usage_of
from ioa.hub.registry import Registry
from ioa.hub.state import Rejection
from ioa.store import Store, StoredMessage, StoreError
from protocols.usage import Spend

log = logging.getLogger("ioa.hub")

TO = '"to":['
"""Where a stored envelope's addressees start (ids never hold quotes or brackets): finding them
this way costs a microsecond, where parsing the whole body costs twenty times that."""

PAGE = 1000


def addressees(body: str) -> list[str]:
    return split_to(to_text(body))


def to_text(body: str) -> str:
    """The addressees' part of a stored envelope's JSON, as it is ('' for none)."""
    at = body.find(TO)
    if at < 0:
        return ""
    at += len(TO)
    end = body.find("]", at)
    return body[at:end] if end > at else ""


def split_to(inner: str) -> list[str]:
    if not inner:
        return []
    if inner[0] == '"' and " " not in inner:
        return inner[1:-1].split('","')
    return [item.strip().strip('"') for item in inner.split(",")]


@dataclass(slots=True)
class _Run:
    """Messages alike (one group, sender, type and addressees), added up before counting."""

    n: int
    size: int
    ts: float


@dataclass(slots=True)
class AgentTally:
    """One agent's accounting as the hub sees it (its model's tokens stay on its device)."""

    sent: Counter[str] = field(default_factory=Counter)
    """Messages stored, by type."""
    messages: int = 0
    """All messages stored (the sum of `sent`, kept so a tick need not add it up)."""
    bytes_sent: int = 0
    received: int = 0
    """Messages addressed to it by name (not broadcasts)."""
    refusals: Counter[str] = field(default_factory=Counter)
    last_ts: float | None = None

    def view(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
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
    counted: int = 0
    """Every message with a seq up to this one is counted."""


@dataclass(slots=True)
class Changes:
    """What moved since the last `take_changes`: ids whose counts a tick should resend."""

    groups: set[str] = field(default_factory=set)
    agents: set[str] = field(default_factory=set)
    edges: set[tuple[str, str]] = field(default_factory=set)
    goals: set[str] = field(default_factory=set)
    """Goals whose model use grew."""
    messages: int = 0
    """Messages counted live (the catch-up's are history, not news)."""

    @property
    def any(self) -> bool:
        return bool(self.groups or self.agents or self.edges or self.goals or self.messages)


class Tally:
    def __init__(self, registry: Registry, store: Store) -> None:
        self.registry = registry
        self.store = store
        self.agents: dict[str, AgentTally] = {}
        self.groups: dict[str, GroupTally] = {}
        self.edges: Counter[tuple[str, str]] = Counter()
        """(sender, addressee) → messages; a message to the whole group counts (sender, group)."""
        self.usage = UsageBook()
        self.changes = Changes()
        self._behind: dict[str, None] = {}
        """Groups the catch-up still has to read, in the order they fell behind."""
        self._catching_up: asyncio.Task[None] | None = None

    @property
    def counted_history(self) -> bool:
        """Whether every stored message is counted (no catch-up pending)."""
        return not self._behind and not any(
            group.head > self.groups[group.id].counted if group.id in self.groups else group.head
            for group in self.registry.groups.values()
        )

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

    def take_changes(self) -> Changes:
        taken, self.changes = self.changes, Changes()
        return taken

    def live(self, msgs: list[StoredMessage]) -> None:
        """Count messages just stored, in the order they were stored (the feed hands them over
        in batches). A message whose group has an earlier one not counted yet is left to the
        catch-up, which counts both, in order."""
        groups, fresh = self.groups, []
        for msg in msgs:
            group = groups.get(msg.group_id) or self.group(msg.group_id)
            if msg.seq != group.counted + 1:
                if msg.seq > group.counted:
                    self._fell_behind(msg.group_id)
                continue
            group.counted = msg.seq
            fresh.append(msg)
        self._count(fresh)
        self.changes.messages += len(fresh)

    def _count(self, msgs: list[StoredMessage]) -> None:
        """Count messages whose groups' `counted` already moved past them. Alike ones are added
        up first, so a busy conversation costs a dict update per message and the counting
        itself once per kind of message in the batch."""
        runs: dict[tuple[str, str, str, str], _Run] = {}
        for msg in msgs:
            body = msg.body
            key = (msg.group_id, msg.sender, msg.type, to_text(body))
            run = runs.get(key)
            if run is None:
                runs[key] = _Run(1, len(body), msg.ts)
            else:
                run.n += 1
                run.size += len(body)
                run.ts = max(run.ts, msg.ts)
            spends = usage_of(body)
            if spends:
                self._used(msg, spends)
        changes, edges = self.changes, self.edges
        for (group_id, sender_id, kind, to), run in runs.items():
            n = run.n
            self.group(group_id).by_type[kind] += n
            changes.groups.add(group_id)
            changes.agents.add(sender_id)
            sender = self.agent(sender_id)
            sender.sent[kind] += n
            sender.messages += n
            sender.bytes_sent += run.size
            sender.last_ts = run.ts if sender.last_ts is None else max(sender.last_ts, run.ts)
            targets = split_to(to)
            for target in targets or [group_id]:
                edges[(sender_id, target)] += n
                changes.edges.add((sender_id, target))
            for target in targets:
                self.agent(target).received += n

    def _used(self, msg: StoredMessage, spends: tuple[Spend, ...]) -> None:
        found = self.registry.groups.get(msg.group_id)
        goal = found.meta.get("goal_id") if found is not None else None
        goal_id = goal if isinstance(goal, str) else None
        self.usage.count(msg.sender, msg.group_id, goal_id, spends)
        if goal_id is not None:
            self.changes.goals.add(goal_id)

    def refused(self, rejection: Rejection) -> None:
        if rejection.agent is not None:
            self.agent(rejection.agent).refusals[rejection.code] += 1
            self.changes.agents.add(rejection.agent)
        if rejection.group is not None:
            self.group(rejection.group).refusals[rejection.code] += 1
            self.changes.groups.add(rejection.group)

    def catch_up(self) -> None:
        """Count, in the background, what was stored while nobody watched."""
        for group in self.registry.groups.values():
            tally = self.groups.get(group.id)
            if group.head > (tally.counted if tally else 0):
                self._fell_behind(group.id)

    def _fell_behind(self, group_id: str) -> None:
        self._behind[group_id] = None
        if self._catching_up is None:
            self._catching_up = asyncio.ensure_future(self._read_behind())

    async def stop(self) -> None:
        if self._catching_up is not None:
            self._catching_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catching_up

    async def _read_behind(self) -> None:
        try:
            while self._behind:
                group_id = next(iter(self._behind))
                del self._behind[group_id]
                await self._read_group(group_id)
        except StoreError as exc:  # counts stay short; the next look tries again
            log.warning("the dashboard could not read back history: %s", exc)
            self._behind.clear()
        finally:
            self._catching_up = None

    async def _read_group(self, group_id: str) -> None:
        group = self.group(group_id)
        while True:
            page = await self.store.messages_after(group_id, group.counted, PAGE)
            fresh = []
            for msg in page:
                if msg.seq > group.counted:  # not counted live while the page was read
                    group.counted = msg.seq
                    fresh.append(msg)
            self._count(fresh)
            if len(page) < PAGE:
                return
            await asyncio.sleep(0)

    def edge_list(self, limit: int) -> list[dict[str, Any]]:
        return [
            {"from": sender, "to": target, "messages": n}
            for (sender, target), n in self.edges.most_common(limit)
        ]
