"""One A2A task as the hub keeps it: its state, what was said, its artifacts, who watches it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ioa.hub.a2a.wire import (
    INTERRUPTED_STATES,
    TERMINAL_STATES,
    Artifact,
    Message,
    StreamResponse,
    Task,
    TaskState,
    TaskStatus,
)

Watcher = asyncio.Queue[StreamResponse | None]
OnTask = Callable[["A2ATask"], None]
"""Called once a request's task is known, before anything is said for it (streams start here)."""


def timestamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class A2ATask:
    id: str
    context_id: str
    owner: str
    """The caller: an IoA agent (a member of the conversation when `agent` is set)."""
    agent: str | None
    """The agent the message was sent to; None: the hub (a goal with a team)."""
    state: TaskState = TaskState.SUBMITTED
    status_message: Message | None = None
    updated: float = field(default_factory=time.time)
    group_id: str | None = None
    goal_id: str | None = None
    history: list[Message] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    watchers: set[Watcher] = field(default_factory=set)
    cancel_requested: bool = False

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def settled(self) -> bool:
        """The client must act next (or nothing will happen any more)."""
        return self.state in TERMINAL_STATES or self.state in INTERRUPTED_STATES

    def status(self) -> TaskStatus:
        return TaskStatus(
            state=self.state, message=self.status_message, timestamp=timestamp(self.updated)
        )

    def snapshot(self, history_length: int | None = None, artifacts: bool = True) -> Task:
        history = self.history if history_length is None else self.history[-history_length:]
        if history_length == 0:
            history = []
        return Task(
            id=self.id,
            context_id=self.context_id,
            status=self.status(),
            artifacts=list(self.artifacts) if artifacts and self.artifacts else None,
            history=list(history) or None,
        )
