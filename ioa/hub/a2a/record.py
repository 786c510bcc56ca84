"""One A2A task as the hub keeps it: its state, what was said, its artifacts, who watches it,
and whether the caller's answer is that task or a direct reply."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

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


class Shape(StrEnum):
    """What answers the message that opened a task: known at once, unless the agent may reply
    directly (`AgentCard.direct_replies`); then its first move tells."""

    PENDING = "pending"
    """The agent has not moved yet: nothing is told to the caller, nobody can see the task."""
    TASK = "task"
    """The task: answered, streamed, listed, and open to `GetTask` and the rest."""
    MESSAGE = "message"
    """A direct reply (`A2ATask.reply`): the task stays the hub's own record of the
    conversation, unknown to every caller; the context lives on."""


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
    shape: Shape = Shape.TASK
    opening: str | None = None
    """The id of the envelope the caller's first message became: a direct reply names it."""
    reply: Message | None = None
    """The agent's direct reply, once `shape` is MESSAGE."""
    shaped: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a PENDING shape is decided."""

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
