"""What a remote A2A agent answered: its task followed to a settled state, read as text.

A `SendMessage` answer is a bare `Message` or a `Task`; a stream is the task (or a message)
followed by status and artifact updates. `Follow` folds either into one task, so streaming and
polling end in the same place; `read` turns a settled task into an `Answer`: its state, its words
(the artifacts, else the last status message, else the agent's last message in the history) and
its JSON data parts (a remote that speaks IoA may send a move as data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from a2a.helpers import get_data_parts
from a2a.types import Artifact, Message, Role, StreamResponse, Task, TaskState

from protocols.text import scrub

__all__ = ["INTERRUPTED", "SETTLED", "TERMINAL", "Answer", "Follow", "parts_text", "state_name"]

TERMINAL = frozenset(
    {
        TaskState.TASK_STATE_COMPLETED,
        TaskState.TASK_STATE_FAILED,
        TaskState.TASK_STATE_CANCELED,
        TaskState.TASK_STATE_REJECTED,
    }
)
INTERRUPTED = frozenset({TaskState.TASK_STATE_INPUT_REQUIRED, TaskState.TASK_STATE_AUTH_REQUIRED})
SETTLED = TERMINAL | INTERRUPTED
"""States where following a task stops: it ended, or it waits for the caller."""

ANSWER_MAX = 32_000
"""Characters of a remote answer kept (the conversation's own text limit)."""


def state_name(state: int) -> str:
    """`TASK_STATE_INPUT_REQUIRED` → `input-required`, as the spec's prose names states."""
    name = TaskState.Name(state) if state in TaskState.values() else "TASK_STATE_UNSPECIFIED"
    return name.removeprefix("TASK_STATE_").lower().replace("_", "-")


def _shown(text: str) -> str:
    """`text` fit to show people: lines kept, control characters made harmless."""
    return "\n".join(scrub(line) for line in text.split("\n")).strip()


def parts_text(parts: Any) -> str:
    """The parts as words: texts as they are, data as JSON, files named, not fetched."""
    pieces: list[str] = []
    for part in parts:
        kind = part.WhichOneof("content")
        if kind == "text":
            pieces.append(part.text)
        elif kind == "data":
            pieces.append(json.dumps(get_data_parts([part])[0], ensure_ascii=False))
        elif kind in ("raw", "url"):
            what = part.filename or (part.url if kind == "url" else "") or "unnamed"
            media = f", {part.media_type}" if part.media_type else ""
            pieces.append(f"[file: {what}{media}]")
    return _shown("\n".join(p for p in pieces if p))


def _data(parts: Any) -> list[Any]:
    return get_data_parts(list(parts))


@dataclass(frozen=True)
class Answer:
    """A settled answer of the remote agent."""

    state: str
    """`completed`, `input-required`, `failed`…, or `message` for a bare message."""
    text: str
    context_id: str
    task_id: str
    """Empty for a bare message (no task to continue)."""
    data: list[Any] = field(default_factory=list)
    """The JSON values of its data parts, in order."""


@dataclass
class Follow:
    """Folds a task's events, in order, into the task as it stands."""

    task: Task | None = None
    message: Message | None = None
    """A bare message answer (then there is no task)."""

    @property
    def settled(self) -> bool:
        return self.message is not None or (
            self.task is not None and self.task.status.state in SETTLED
        )

    @property
    def state(self) -> str:
        return state_name(self.task.status.state) if self.task is not None else "submitted"

    def fold(self, event: StreamResponse) -> None:
        kind = event.WhichOneof("payload")
        if kind == "message":
            self.message = event.message
        elif kind == "task":
            self.task = Task()
            self.task.CopyFrom(event.task)
        elif kind == "status_update":
            task = self._task(event.status_update.task_id, event.status_update.context_id)
            task.status.CopyFrom(event.status_update.status)
            if event.status_update.status.HasField("message"):
                task.history.append(event.status_update.status.message)
        elif kind == "artifact_update":
            update = event.artifact_update
            task = self._task(update.task_id, update.context_id)
            _add_artifact(task, update.artifact, append=update.append)

    def replace(self, task: Task) -> None:
        """The task as `GetTask` returned it (polling)."""
        self.task = task

    def _task(self, task_id: str, context_id: str) -> Task:
        if self.task is None:  # an update before the task: the server skipped it
            self.task = Task(id=task_id, context_id=context_id)
        return self.task

    def answer(self) -> Answer:
        """The settled answer (call once `settled`)."""
        if self.message is not None:
            parts = self.message.parts
            return Answer(
                state="message",
                text=parts_text(parts)[:ANSWER_MAX],
                context_id=self.message.context_id,
                task_id="",
                data=_data(parts),
            )
        task = self.task if self.task is not None else Task()
        parts = [p for a in task.artifacts for p in a.parts]
        if not parts_text(parts) and task.status.HasField("message"):
            parts = list(task.status.message.parts)
        if not parts_text(parts):
            spoken = [m for m in task.history if m.role == Role.ROLE_AGENT]
            parts = list(spoken[-1].parts) if spoken else []
        return Answer(
            state=state_name(task.status.state),
            text=parts_text(parts)[:ANSWER_MAX],
            context_id=task.context_id,
            task_id=task.id,
            data=_data(parts),
        )


def _add_artifact(task: Task, artifact: Artifact, *, append: bool) -> None:
    """A chunk appends to its artifact (same id); otherwise the artifact is added or replaced."""
    for existing in task.artifacts:
        if existing.artifact_id == artifact.artifact_id:
            if append:
                _append_parts(existing, artifact)
            else:
                existing.CopyFrom(artifact)
            return
    task.artifacts.append(artifact)


def _append_parts(existing: Artifact, chunk: Artifact) -> None:
    """A streamed chunk continues its artifact: text running on joins the last text part."""
    for part in chunk.parts:
        last = existing.parts[-1] if existing.parts else None
        if last is not None and last.HasField("text") and part.HasField("text"):
            last.text += part.text
        else:
            existing.parts.append(part)
