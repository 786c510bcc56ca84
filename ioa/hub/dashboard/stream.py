"""One watching page's event stream: its queue of events and the conversation it has open.

A page opens `GET /v1/dashboard/events` (server-sent events); the first event, `ready`, names
the stream. The page then tells the hub which conversation it has open with
`POST /v1/dashboard/events/{stream}/follow` `{"group": id or null}`, with the same person's
token (a token never goes in a URL): only that conversation's messages come to it whole; the
rest of the hub reaches it as `tick` summaries (`feed`). A tick carries what every view needs
(presence, new groups, refusals, how many messages were stored) and, of the rest, only the
sections the page shows (`want`, default the network's `edges`); the same request changes them
(`{"want": ["moved", "counts"]}`), and only the fields it names. A stream can be steered only by
the person (or operator) who opened it; any other gets `not_found`, as for a stream that ended.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import deque
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

Section = Literal["edges", "moved", "counts", "goals"]
"""What a tick may carry beyond what every page gets: who talks to whom (the network), the
groups whose heads, phases or refusals moved (conversation lists), agents' counts and model use
(accounting, an agent's card), goals' model use (goals)."""
SECTIONS: frozenset[str] = frozenset(get_args(Section))
DEFAULT_WANT: frozenset[str] = frozenset({"edges"})
"""A page opens on the network view."""
MAX_BACKLOG = 20_000
"""Events a page may have queued before it is cut off (it sees `overflow` and reloads), so a
stalled tab never holds hub memory."""


class Stream:
    """One watching page's queue. The page drains it in one write per wake-up, and a stream
    wakes once per tick: a followed conversation's messages wait for the next tick (at most
    `feed.TICK`), so a page gets one write, and draws one frame, per tick, however busy."""

    def __init__(self, watcher_id: str | None) -> None:
        self.id = "s-" + secrets.token_urlsafe(16)
        self.watcher_id = watcher_id
        """Who opened it (None: the operator); only they may steer it."""
        self.following: str | None = None
        """The group whose messages this page receives whole (and whose row of `moved` it gets
        whatever it wants)."""
        self.want: frozenset[str] = DEFAULT_WANT
        """The tick's sections this page shows now."""
        self.events: deque[str] = deque()
        self.wake = asyncio.Event()
        self.overflowed = False

    def put(self, event: str, *, wake: bool = True) -> None:
        """Queue an event; with `wake` false it waits for the next wake-up (the next tick)."""
        if self.overflowed:
            return
        if len(self.events) >= MAX_BACKLOG:
            self.overflowed = True
            self.events.clear()
            self.events.append(json.dumps({"kind": "overflow"}))
            self.wake.set()
            return
        self.events.append(event)
        if wake:
            self.wake.set()

    def take(self) -> list[str]:
        events = list(self.events)
        self.events.clear()
        self.wake.clear()
        return events

    def end(self) -> None:
        """Let the page's response finish (the hub is stopping)."""
        self.overflowed = True
        self.wake.set()


class FollowRequest(BaseModel):
    """Which conversation a page has open (null: none), and which sections of a tick it shows;
    a field left out stays as it was."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    group: str | None = Field(default=None, min_length=1, max_length=200)
    want: list[Section] = Field(default_factory=list, max_length=len(SECTIONS))

    @model_validator(mode="after")
    def _names_something(self) -> FollowRequest:
        if not self.model_fields_set:
            raise ValueError("name the conversation ('group'), the sections ('want'), or both")
        return self
