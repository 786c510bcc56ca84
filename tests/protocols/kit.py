"""Small builders shared by the protocol tests: envelopes and scripted conversations."""

from __future__ import annotations

from collections.abc import Sequence

from protocols import (
    AsyncTaskAssignment,
    Conclude,
    Conclusion,
    ConversationState,
    Discussion,
    Envelope,
    Limits,
    Pause,
    Payload,
    SyncTaskAssignment,
    TaskProgress,
    TaskResult,
    apply,
    start,
)

GROUP = "g1"
MEMBERS = ("alice", "bob", "carol")


def env(sender: str, payload: Payload, to: Sequence[str] = (), ts: float = 0.0) -> Envelope:
    return Envelope(group=GROUP, sender=sender, to=list(to), payload=payload, ts=ts)


def new(
    members: Sequence[str] = MEMBERS,
    max_turns: int = 40,
    turn_timeout: float | None = None,
    task_timeout: float | None = None,
    max_silent_turns: int = 3,
) -> ConversationState:
    limits = Limits(
        max_turns=max_turns,
        turn_timeout=turn_timeout,
        task_timeout=task_timeout,
        max_silent_turns=max_silent_turns,
    )
    return start(GROUP, list(members), limits=limits)


def say(text: str = "hi") -> Discussion:
    return Discussion(text=text)


def sync(task_id: str) -> SyncTaskAssignment:
    return SyncTaskAssignment(task_id=task_id, description=f"do {task_id}")


def async_(task_id: str) -> AsyncTaskAssignment:
    return AsyncTaskAssignment(task_id=task_id, description=f"do {task_id}")


def progress(task_id: str) -> TaskProgress:
    return TaskProgress(task_id=task_id, text="working")


def result(task_id: str, status: str = "done") -> TaskResult:
    return TaskResult(task_id=task_id, result=f"{task_id} {status}", status=status)  # type: ignore[arg-type]


def pause(*task_ids: str) -> Pause:
    return Pause(task_ids=list(task_ids))


def conclude() -> Conclude:
    return Conclude(text="enough")


def conclusion(text: str = "the answer") -> Conclusion:
    return Conclusion(text=text)


def run(state: ConversationState, *steps: Envelope) -> ConversationState:
    for step in steps:
        state = apply(state, step)
    return state
