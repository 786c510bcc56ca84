"""The dashboard's live side: what changed on the hub, for the pages watching, and nothing more.

While no page watches, the feed is not on the hub's hot path at all: it listens to stored
messages, presence and new groups only from the first page's stream to the last one's end (the
tally then reads back from the store what was said meanwhile). Only refusals are counted all
the time: they are not stored anywhere else, they are rare, and counting one is O(1).

While pages watch, each gets:
- a `tick` at most every `TICK` seconds, shared by all pages and built once: the agents and
  groups that changed (new nodes, heads, phases, turns, refusals), the edges and counters that
  moved (absolute values, so a page that loaded a snapshot meanwhile never counts twice: an
  agent's and a goal's model use too), the refusals themselves (at most `MAX_REFUSALS` a tick),
  and how many messages were stored;
- a `message` event, whole (envelope included), at once, for the one conversation it follows
  (`Stream.following`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from ioa.hub.dashboard.stream import Stream
from ioa.hub.dashboard.tally import Tally, addressees
from ioa.hub.dashboard.usage import Prices
from ioa.hub.dashboard.views import agent_node, group_summary, turn_of
from ioa.hub.registry import Group
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
        self._ticker: asyncio.Task[None] | None = None
        state.rejection_listeners.append(self._refused)

    def counts(self) -> Tally:
        """The counts; with no page watching, what was stored since they were last brought up
        to date is read back now, in the background (while pages watch, they count live)."""
        if not self.streams:
            self.tally.catch_up()
        return self.tally

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

    def _attach(self) -> None:
        self.state.router.listeners.append(self._stored)
        self.state.presence_listeners.append(self._presence)
        self.state.registry.group_listeners.append(self._group)
        self.tally.take_changes()  # what changed before is in the snapshot the page loads
        self._refusals, self._refusals_more = [], 0
        self._ticker = asyncio.ensure_future(self._tick_loop())

    def _detach(self) -> None:
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
        to = self.tally.live(msg)
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
                "to": addressees(msg.body) if to is None else to,
                "ts": msg.ts,
                "phase": phase,
                "speaker": speaker,
            }
        )
        event = head[:-1] + ',"envelope":' + msg.body + "}"
        for stream in followers:
            stream.put(event)

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
            event = self._summary()
            if event is not None:
                for stream in self.streams.values():
                    stream.put(event)

    def _summary(self) -> str | None:
        """What changed since the last tick, as one event for every page; None if nothing."""
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
        moved: list[dict[str, Any]] = []
        for group_id in changes.groups:
            group = registry.groups.get(group_id)
            if group is not None:
                phase, speaker = turn_of(group)
                counted = tally.groups.get(group_id)
                refused = dict(counted.refusals) if counted else {}
                moved.append(
                    {"id": group_id, "head": group.head, "phase": phase, "speaker": speaker}
                    | {"refusals": refused}
                )
        counts: dict[str, dict[str, Any]] = {}
        usage, prices = tally.usage, self.prices
        for agent_id in changes.agents:
            account = tally.agents.get(agent_id)
            if account is not None:
                refusals_of = sum(account.refusals.values())
                counts[agent_id] = {"messages": account.messages, "refusals": refusals_of}
                if (ledger := usage.agents.get(agent_id)) is not None:
                    counts[agent_id]["usage"] = ledger.summary(prices)
        goals = {g: usage.goals[g].summary(prices) for g in changes.goals if g in usage.goals}
        return json.dumps(
            {
                "kind": "tick",
                "agents": nodes,
                "gone": gone,
                "groups": [group_summary(g) for g in new],
                "moved": moved,
                "counts": counts,
                "goals_usage": goals,
                "edges": [[a, b, tally.edges[(a, b)]] for a, b in changes.edges],
                "messages": changes.messages,
                "refusals": refusals,
                "refusals_more": more,
                "rejections": dict(self.state.rejections) if refusals or more else None,
            },
            separators=(",", ":"),
        )

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


FEED = web.AppKey("dashboard_feed", Feed)
