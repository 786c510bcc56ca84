"""The dashboard's live event stream: what changed on the hub, for every page watching.

The feed listens where the hub already tells (stored messages, presence, new groups, refusals),
counts into the `Tally`, and, only while pages watch, turns each change into one JSON event
(`kind`: agent, agent_gone, group, message, refusal) queued for every page. Each page drains its
queue in one write per wake-up, so a burst of messages costs one socket write per page, not one
per message; a page that falls `MAX_BACKLOG` events behind is cut off and reloads (the page sees
an `overflow` event first), so a stalled tab never holds hub memory.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

from ioa.hub.dashboard.tally import Tally
from ioa.hub.dashboard.views import agent_node, group_summary, turn_of
from ioa.hub.registry import Group
from ioa.hub.state import HubState, Rejection
from ioa.store import StoredMessage

MAX_BACKLOG = 20_000
"""Events a page may have queued before it is cut off."""


class Subscriber:
    """One watching page's queue."""

    def __init__(self) -> None:
        self.events: deque[str] = deque()
        self.wake = asyncio.Event()
        self.overflowed = False

    def put(self, event: str) -> None:
        if self.overflowed:
            return
        if len(self.events) >= MAX_BACKLOG:
            self.overflowed = True
            self.events.clear()
            self.events.append(json.dumps({"kind": "overflow"}))
        else:
            self.events.append(event)
        self.wake.set()

    def take(self) -> list[str]:
        events = list(self.events)
        self.events.clear()
        self.wake.clear()
        return events


class Feed:
    def __init__(self, state: HubState) -> None:
        self.state = state
        self.tally = Tally(state.registry.groups.values())
        self.subscribers: set[Subscriber] = set()
        self._nodes: dict[str, dict[str, Any]] = {}
        """agent id → the node last announced, to send only real changes."""
        state.router.listeners.append(self._stored)
        state.presence_listeners.append(self._presence)
        state.registry.group_listeners.append(self._group)
        state.rejection_listeners.append(self._refused)

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber()
        self.subscribers.add(subscriber)
        self.tally.start_backfill(self.state.store)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def close(self) -> None:
        """Wake every page's stream so it ends (the hub is stopping)."""
        for subscriber in self.subscribers:
            subscriber.overflowed = True
            subscriber.wake.set()

    def _publish(self, event: str) -> None:
        for subscriber in self.subscribers:
            subscriber.put(event)

    def _stored(self, group: Group, msg: StoredMessage) -> None:
        to = self.tally.count(msg)
        if not self.subscribers:
            return
        phase, speaker = turn_of(group)
        head = json.dumps(
            {
                "kind": "message",
                "group": msg.group_id,
                "seq": msg.seq,
                "type": msg.type,
                "sender": msg.sender,
                "to": to,
                "ts": msg.ts,
                "phase": phase,
                "speaker": speaker,
            }
        )
        self._publish(head[:-1] + ',"envelope":' + msg.body + "}")

    def _presence(self, agent_id: str) -> None:
        agent = self.state.registry.agents.get(agent_id)
        if agent is None:
            if self._nodes.pop(agent_id, None) is not None and self.subscribers:
                self._publish(json.dumps({"kind": "agent_gone", "id": agent_id}))
            return
        node = agent_node(self.state, agent)
        if self._nodes.get(agent_id) == node:
            return
        self._nodes[agent_id] = node
        if self.subscribers:
            self._publish(json.dumps({"kind": "agent", "agent": node}))

    def _group(self, group: Group) -> None:
        if self.subscribers:
            self._publish(json.dumps({"kind": "group", "group": group_summary(group)}))

    def _refused(self, rejection: Rejection) -> None:
        self.tally.refused(rejection)
        if self.subscribers:
            self._publish(
                json.dumps(
                    {
                        "kind": "refusal",
                        "code": rejection.code,
                        "agent": rejection.agent,
                        "group": rejection.group,
                        "ts": rejection.ts,
                    }
                )
            )
