"""One watching page's event stream: its queue of events and the conversation it has open.

A page opens `GET /v1/dashboard/events` (server-sent events); the first event, `ready`, names
the stream. The page then tells the hub which conversation it has open with
`POST /v1/dashboard/events/{stream}/follow` `{"group": id or null}`, with the same person's
token (a token never goes in a URL): only that conversation's messages come to it whole; the
rest of the hub reaches it as `tick` summaries (`feed`). A stream can be steered only by the
person (or operator) who opened it; any other gets `not_found`, as for a stream that ended.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import deque

from pydantic import BaseModel, ConfigDict, Field

MAX_BACKLOG = 20_000
"""Events a page may have queued before it is cut off (it sees `overflow` and reloads), so a
stalled tab never holds hub memory."""


class Stream:
    """One watching page's queue. The page drains it in one write per wake-up, so a burst of
    events costs one socket write per page, not one per event."""

    def __init__(self, watcher_id: str | None) -> None:
        self.id = "s-" + secrets.token_urlsafe(16)
        self.watcher_id = watcher_id
        """Who opened it (None: the operator); only they may steer it."""
        self.following: str | None = None
        """The group whose messages this page receives whole."""
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

    def end(self) -> None:
        """Let the page's response finish (the hub is stopping)."""
        self.overflowed = True
        self.wake.set()


class FollowRequest(BaseModel):
    """Which conversation a page has open; null when none."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    group: str | None = Field(default=None, min_length=1, max_length=200)
