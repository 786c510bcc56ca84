"""The dashboard's live side: what changed on the hub, for the pages watching, and nothing more.

While no page watches, the feed is not on the hub's hot path at all: it listens to stored
messages, presence and new groups only from the first page's stream to the last one's end (the
tally then reads back from the store what was said meanwhile). Only refusals are counted all
the time: they are not stored anywhere else, they are rare, and counting one is O(1).

While pages watch, a stored message costs the hub a list append (and, for a conversation a page
follows, one event built for all its followers); the tally counts what gathered once per tick,
in one pass, or sooner when a page asks for counts. Each page gets:
- a `tick` at most every `TICK` seconds, built once per kind of page (`Tick`): what every view
  needs (agents whose presence or card changed, new groups, the refusals themselves, at most
  `MAX_REFUSALS` a tick, how many messages were stored and in how many groups) and the sections
  the page's view shows (`Stream.want`): the edges, groups and agents' counts that moved, goals'
  model use (absolute values, so a page that loaded a snapshot meanwhile never counts twice);
  its followed group's row of `moved` comes whatever it wants;
- a `message` event, whole (envelope included), for the one conversation it follows
  (`Stream.following`), written with the next tick: one write, and one frame, per tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ioa.hub.dashboard.stream import Stream
from ioa.hub.dashboard.tally import Tally, addressees
from ioa.hub.dashboard.usage import Prices
from ioa.hub.dashboard.views import agent_node, group_summary, turn_of
from ioa.hub.entries import Group
from ioa.hub.state import HubState, Rejection
from ioa.store import StoredMessage

TICK = 0.25
"""Seconds between two summaries to the pages (a person does not read faster; a page redraws
once per tick instead of once per message)."""
MAX_REFUSALS = 100
"""Refusals listed one by one in a tick; past that they are only counted (a hostile client
refused in a loop must not flood every page)."""


class Feed:
    def __init__(self, state: HubState) -> None:
        self.state = state
        self.tick = TICK
        self.tally = Tally(state.registry, state.store)
        self.prices = Prices.of(state.config)
        self.streams: dict[str, Stream] = {}
        self.followers: dict[str, set[Stream]] = {}
        """group id → the streams that have it open."""
        self._nodes: dict[str, dict[str, Any]] = {}
        """agent id → the node last sent, so a tick carries only real changes."""
        self._presence_changed: set[str] = set()
        self._new_groups: dict[str, None] = {}
        self._refusals: list[dict[str, Any]] = []
        self._refusals_more = 0
        self._live: list[StoredMessage] = []
        """Stored since the last count, in order: the tally counts them in one pass."""
        self._ticker: asyncio.Task[None] | None = None
        state.rejection_listeners.append(self._refused)

    def counts(self) -> Tally:
        """The counts; with no page watching, what was stored since they were last brought up
        to date is read back now, in the background (while pages watch, they count live)."""
        if self.streams:
            self._count_live()
        else:
            self.tally.catch_up()
        return self.tally

    def _count_live(self) -> None:
        if self._live:
            stored, self._live = self._live, []
            self.tally.live(stored)

    def subscribe(self, watcher_id: str | None) -> Stream:
        stream = Stream(watcher_id)
        if not self.streams:
            self._attach()
        self.streams[stream.id] = stream
        self.tally.catch_up()
        return stream

    def unsubscribe(self, stream: Stream) -> None:
        self.follow(stream, None)
        if self.streams.pop(stream.id, None) is not None and not self.streams:
            self._detach()

    def follow(self, stream: Stream, group_id: str | None) -> None:
        if stream.following is not None:
            followers = self.followers.get(stream.following, set())
            followers.discard(stream)
            if not followers:
                self.followers.pop(stream.following, None)
        stream.following = group_id
        if group_id is not None:
            self.followers.setdefault(group_id, set()).add(stream)

    @staticmethod
    def steer(stream: Stream, want: frozenset[str]) -> None:
        """The sections of a tick this stream's page shows from its next tick on."""
        stream.want = want

    def _attach(self) -> None:
        self.state.router.listeners.append(self._stored)
        self.state.presence_listeners.append(self._presence)
        self.state.registry.group_listeners.append(self._group)
        self.tally.take_changes()  # what changed before is in the snapshot the page loads
        self._refusals, self._refusals_more = [], 0
        self._ticker = asyncio.ensure_future(self._tick_loop())

    def _detach(self) -> None:
        self._count_live()
        self.state.router.listeners.remove(self._stored)
        self.state.presence_listeners.remove(self._presence)
        self.state.registry.group_listeners.remove(self._group)
        self._nodes.clear()
        self._presence_changed.clear()
        self._new_groups.clear()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    async def close(self) -> None:
        """End every page's stream (the hub is stopping) and the background work."""
        for stream in list(self.streams.values()):
            stream.end()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self.tally.stop()

    def _stored(self, group: Group, msg: StoredMessage) -> None:
        self._live.append(msg)
        followers = self.followers.get(msg.group_id)
        if not followers:
            return
        phase, speaker = turn_of(group)
        head = json.dumps(
            {
                "kind": "message",
                "group": msg.group_id,
                "seq": msg.seq,
                "type": msg.type,
                "sender": msg.sender,
                "to": addressees(msg.body),
                "ts": msg.ts,
                "phase": phase,
                "speaker": speaker,
            }
        )
        event = head[:-1] + ',"envelope":' + msg.body + "}"
        for stream in followers:
            stream.put(event, wake=False)

    def _presence(self, agent_id: str) -> None:
        self._presence_changed.add(agent_id)

    def _group(self, group: Group) -> None:
        self._new_groups[group.id] = None

    def _refused(self, rejection: Rejection) -> None:
        self.tally.refused(rejection)
        if not self.streams:
            return
        if len(self._refusals) >= MAX_REFUSALS:
            self._refusals_more += 1
            return
        self._refusals.append(
            {
                "code": rejection.code,
                "agent": rejection.agent,
                "group": rejection.group,
                "ts": rejection.ts,
            }
        )

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            self.flush()

    def flush(self) -> None:
        """One tick: count what was stored since the last, and hand each stream its event."""
        self._count_live()
        tick = self._summary()
        for stream in self.streams.values():
            event = tick.event_for(stream) if tick is not None else None
            if event is not None:
                stream.put(event)
            elif stream.events:
                stream.wake.set()  # its followed conversation's messages

    def _summary(self) -> Tick | None:
        """What changed since the last tick, serialised once; None if nothing."""
        changes = self.tally.take_changes()
        nodes, gone = self._presence_summary()
        registry = self.state.registry
        new = [registry.groups[g] for g in self._new_groups if g in registry.groups]
        self._new_groups.clear()
        refusals, more = self._refusals, self._refusals_more
        self._refusals, self._refusals_more = [], 0
        if not (changes.any or nodes or gone or new or refusals or more):
            return None
        tally = self.tally
        wanted = frozenset().union(*(stream.want for stream in self.streams.values()))
        moving = [g for g in changes.groups if g in registry.groups]
        rows = moving if "moved" in wanted else [g for g in moving if g in self.followers]
        moved: dict[str, dict[str, Any]] = {}
        for group_id in rows:  # only what some page shows
            group = registry.groups[group_id]
            phase, speaker = turn_of(group)
            counted = tally.groups.get(group_id)
            moved[group_id] = {
                "id": group_id,
                "head": group.head,
                "phase": phase,
                "speaker": speaker,
                "refusals": dict(counted.refusals) if counted else {},
            }
        news = bool(nodes or gone or new or refusals or more or changes.messages)
        base = _json(
            {
                "kind": "tick",
                "agents": nodes,
                "gone": gone,
                "groups": [group_summary(g) for g in new],
                "messages": changes.messages,
                "conversations": len(moving),
                "refusals": refusals,
                "refusals_more": more,
                "rejections": dict(self.state.rejections) if refusals or more else None,
            }
        )
        tick = Tick(base[:-1], news, moved)
        if changes.edges and "edges" in wanted:
            tick.sections["edges"] = _json([[a, b, tally.edges[(a, b)]] for a, b in changes.edges])
        if moved and "moved" in wanted:
            tick.sections["moved"] = _json(list(moved.values()))
        if changes.agents and "counts" in wanted:
            tick.sections["counts"] = _json(self._counts(changes.agents))
        if changes.goals and "goals" in wanted:
            usage, prices = tally.usage, self.prices
            goals = {g: usage.goals[g].summary(prices) for g in changes.goals if g in usage.goals}
            if goals:
                tick.sections["goals"] = _json(goals)
        return tick

    def _counts(self, agents: set[str]) -> dict[str, dict[str, Any]]:
        tally, usage, prices = self.tally, self.tally.usage, self.prices
        counts: dict[str, dict[str, Any]] = {}
        for agent_id in agents:
            account = tally.agents.get(agent_id)
            if account is not None:
                refusals_of = sum(account.refusals.values())
                counts[agent_id] = {"messages": account.messages, "refusals": refusals_of}
                if (ledger := usage.agents.get(agent_id)) is not None:
                    counts[agent_id]["usage"] = ledger.summary(prices)
        return counts

    def _presence_summary(self) -> tuple[list[dict[str, Any]], list[str]]:
        nodes: list[dict[str, Any]] = []
        gone: list[str] = []
        for agent_id in self._presence_changed:
            agent = self.state.registry.agents.get(agent_id)
            if agent is None:
                self._nodes.pop(agent_id, None)
                gone.append(agent_id)
                continue
            node = agent_node(self.state, agent)
            if self._nodes.get(agent_id) != node:
                self._nodes[agent_id] = node
                nodes.append(node)
        self._presence_changed.clear()
        return nodes, gone


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


KEYS = {"edges": "edges", "moved": "moved", "counts": "counts", "goals": "goals_usage"}
"""A tick's section → its key in the event."""
EMPTY = {"edges": "[]", "moved": "[]", "counts": "{}", "goals": "{}"}


@dataclass(slots=True)
class Tick:
    """One tick, serialised once: what every page gets, and each section's JSON; a page's event
    is put together from them (and made once for all pages alike)."""

    base: str
    """The JSON of what every page gets, without its closing brace."""
    news: bool
    """Whether that part says anything (else a page whose sections did not move gets nothing)."""
    moved: dict[str, dict[str, Any]]
    sections: dict[str, str] = field(default_factory=dict)
    made: dict[tuple[frozenset[str], str | None], str | None] = field(default_factory=dict)

    def event_for(self, stream: Stream) -> str | None:
        own = None if "moved" in stream.want else stream.following
        if own not in self.moved:
            own = None
        key = (stream.want, own)
        if key not in self.made:
            self.made[key] = self._make(stream.want, own)
        return self.made[key]

    def _make(self, want: frozenset[str], own: str | None) -> str | None:
        parts = [f'"{KEYS[s]}":{self.sections.get(s, EMPTY[s])}' for s in sorted(want)]
        if own is not None:
            parts.append('"moved":[' + _json(self.moved[own]) + "]")
        if not self.news and own is None and not any(s in self.sections for s in want):
            return None
        return self.base + "".join("," + part for part in parts) + "}"


FEED = web.AppKey("dashboard_feed", Feed)
