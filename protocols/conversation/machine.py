"""`apply`: the one transition function, plus replay and `expire`, the hub's clock.

`apply(state, envelope)` returns the next state or raises the `ProtocolError` that refuses the
message; the state passed in is never changed, so a refused message leaves no trace. Each accepted
message type has one effect function below, looked up through `_EFFECTS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import cast

from protocols.conversation.legal import check
from protocols.conversation.state import (
    HUB_SENDER,
    WAITING_PHASES,
    ConversationState,
    Phase,
    Task,
    TaskReport,
    deadline,
    next_member,
)
from protocols.conversation.table import TRANSITIONS
from protocols.envelope import Envelope, new_id
from protocols.messages import (
    AsyncTaskAssignment,
    Conclusion,
    Pause,
    SyncTaskAssignment,
    TaskProgress,
    TaskResult,
    Timeout,
)


def apply(
    state: ConversationState, envelope: Envelope, *, now: float | None = None
) -> ConversationState:
    """The state after `envelope`, or the `ProtocolError` (with its wire `code`) refusing it.

    `now` is the time the message takes effect (deadlines are computed from it); it defaults to
    `envelope.ts`, then to the latest time the state has seen. The hub must store as `ts` the
    same `now` it applies with, so that replaying the stored envelopes (`replay`) reproduces the
    same deadlines. Which messages are refused, and with which code, is `legal.check`. Pure: no
    clock is read and the given state is not changed.
    """
    t = now if now is not None else envelope.ts if envelope.ts is not None else state.clock
    check(state, envelope, t)
    clocked = replace(state, clock=max(state.clock, t))
    if TRANSITIONS[envelope.payload.type].takes_turn:
        clocked = _take_turn(clocked)
    return _EFFECTS[envelope.payload.type](clocked, envelope, t)


def replay(initial: ConversationState, envelopes: Iterable[Envelope]) -> ConversationState:
    """Fold `apply` over stored envelopes (each at its own `ts`): how a hub rebuilds a state."""
    state = initial
    for envelope in envelopes:
        state = apply(state, envelope)
    return state


def expire(state: ConversationState, now: float) -> tuple[ConversationState, list[Envelope]]:
    """Apply everything the hub owes at `now`; return the new state and the envelopes it sent.

    That is each timeout due and, once the members have run out (`ConversationState.ran_out`),
    the hub's own conclusion, which ends the conversation as EXPIRED: so the hub's clock sends a
    bounded number of messages to any group, however silent. The hub calls this when
    `state.next_deadline()` has passed, then stores and fans out the envelopes (stamping only
    their `seq`): every replica, and a replay, reaches the same state.
    """
    sent: list[Envelope] = []
    while due := state.due(now):
        envelope = Envelope(
            id=new_id(), group=state.group, sender=HUB_SENDER, payload=due[0], ts=now
        )
        state = apply(state, envelope)
        sent.append(envelope)
    return state, sent


def _take_turn(state: ConversationState) -> ConversationState:
    """A member took its turn: it counts against the cap and breaks any silence."""
    return replace(state, turns=state.turns + 1, silent_turns=0)


def _turn_to(state: ConversationState, speaker: str, t: float) -> ConversationState:
    """`speaker` takes the (next) turn at time `t`, with a fresh turn clock."""
    return replace(
        state,
        phase=Phase.OPEN,
        speaker=speaker,
        waiting_on=(),
        turn_deadline=deadline(t, state.limits.turn_timeout),
    )


def _wait_for(
    state: ConversationState, task_ids: tuple[str, ...], phase: Phase
) -> ConversationState:
    return replace(state, phase=phase, waiting_on=task_ids, turn_deadline=None)


def _with_task(state: ConversationState, task: Task) -> ConversationState:
    tasks = tuple(task if t.id == task.id else t for t in state.tasks)
    return replace(state, tasks=tasks)


def _resume_if_ready(state: ConversationState, t: float) -> ConversationState:
    """Drop finished tasks from the wait; when none is left, the waiter speaks again."""
    if state.phase not in WAITING_PHASES or state.speaker is None:
        return state
    remaining = tuple(i for i in state.waiting_on if not _task(state, i).finished)
    if remaining:
        return replace(state, waiting_on=remaining)
    return _turn_to(state, state.speaker, t)


def _task(state: ConversationState, task_id: str) -> Task:
    task = state.task(task_id)
    if task is None:
        raise KeyError(task_id)  # unreachable: `check` has vetted every id an effect reads
    return task


def _discussion(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    named = env.to[0] if env.to and env.to[0] != env.sender else None
    nxt = named or next_member(state.members, env.sender)
    return _turn_to(state, nxt, t)


def _assign(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(SyncTaskAssignment | AsyncTaskAssignment, env.payload)
    synchronous = isinstance(payload, SyncTaskAssignment)
    task = Task(
        id=payload.task_id,
        assigner=env.sender,
        assignees=tuple(env.to),
        mode="sync" if synchronous else "async",
        title=payload.title,
        description=payload.description,
        assigned_at=t,
        deadline=deadline(t, state.limits.task_time),
    )
    assigned = replace(state, tasks=(*state.tasks, task))
    if synchronous:
        return _wait_for(assigned, (task.id,), Phase.AWAITING)
    return _turn_to(assigned, env.sender, t)


def _pause(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(Pause, env.payload)
    known = dict.fromkeys(i for i in payload.task_ids if state.task(i) is not None)
    waiting = tuple(i for i in known if not _task(state, i).finished)
    if not waiting:
        return _turn_to(state, env.sender, t)
    return _wait_for(state, waiting, Phase.PAUSED)


def _conclude(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    return replace(
        state,
        phase=Phase.CONCLUDING,
        speaker=env.sender,
        turn_deadline=deadline(t, state.limits.turn_timeout),
    )


def _conclusion(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(Conclusion, env.payload)
    tasks = tuple(
        replace(task, status="canceled") if not task.finished else task for task in state.tasks
    )
    return replace(
        state,
        phase=_ENDS[state.phase],
        speaker=None,
        waiting_on=(),
        turn_deadline=None,
        tasks=tasks,
        conclusion=payload.text,
    )


def _progress(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    task = _task(state, cast(TaskProgress, env.payload).task_id)
    return _with_task(state, replace(task, status="running"))


def _result(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(TaskResult, env.payload)
    task = _task(state, payload.task_id)
    reports = (*task.reports, TaskReport(env.sender, payload.status, payload.result))
    if len(reports) < len(task.assignees):
        updated = replace(task, reports=reports, status="running")
    else:
        failed = any(r.status == "failed" for r in reports)
        updated = replace(task, reports=reports, status="failed" if failed else "done")
    return _resume_if_ready(_with_task(state, updated), t)


def _timeout(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(Timeout, env.payload)
    if payload.kind == "task":
        task = _task(state, payload.task_id or "")
        return _resume_if_ready(_with_task(state, replace(task, status="failed")), t)
    lapsed = replace(state, silent_turns=state.silent_turns + 1)
    if state.phase is Phase.OPEN:
        lapsed = replace(lapsed, turns=state.turns + 1)  # a forfeited turn counts
    if lapsed.ran_out is not None:
        return replace(lapsed, phase=Phase.EXPIRING, speaker=HUB_SENDER, turn_deadline=None)
    nxt = next_member(state.members, state.speaker or "")
    if state.phase is Phase.CONCLUDING:
        return replace(lapsed, speaker=nxt, turn_deadline=deadline(t, state.limits.turn_timeout))
    return _turn_to(lapsed, nxt, t)


_ENDS = {Phase.CONCLUDING: Phase.CONCLUDED, Phase.EXPIRING: Phase.EXPIRED}
"""Where a conclusion leads: a member's answers the goal; the hub's says the members ran out."""

_Effect = Callable[[ConversationState, Envelope, float], ConversationState]

_EFFECTS: dict[str, _Effect] = {
    "discussion": _discussion,
    "sync_task_assign": _assign,
    "async_task_assign": _assign,
    "pause": _pause,
    "conclude": _conclude,
    "conclusion": _conclusion,
    "task_progress": _progress,
    "task_result": _result,
    "timeout": _timeout,
}
