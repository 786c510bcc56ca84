"""The effect of each accepted move: one small function per message type, shared by the tables.

`apply` (in `machine`) has already checked the move and, for a row that takes the turn, counted
it; an effect only says where the conversation goes. The "ioa" protocol's effects are `IOA_EFFECTS`;
the other protocols reuse the shared ones here (conclusion, task reports, checks) and add their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import cast

from protocols.acts import Acceptance, CheckResult, Execute, Objection, Proposal
from protocols.conversation.state import (
    HUB_SENDER,
    WAITING_PHASES,
    ConversationState,
    Phase,
    PlanRecord,
    Task,
    TaskReport,
    deadline,
    next_member,
)
from protocols.envelope import Envelope
from protocols.messages import (
    AsyncTaskAssignment,
    Conclusion,
    Pause,
    SyncTaskAssignment,
    TaskProgress,
    TaskResult,
    Timeout,
)

Effect = Callable[[ConversationState, Envelope, float], ConversationState]


def turn_to(
    state: ConversationState, speaker: str, t: float, phase: Phase = Phase.OPEN
) -> ConversationState:
    """`speaker` takes the (next) turn at time `t`, with a fresh turn clock."""
    return replace(
        state,
        phase=phase,
        speaker=speaker,
        waiting_on=(),
        check_due=None,
        after_check=None,
        turn_deadline=deadline(t, state.limits.turn_timeout),
    )


def expiring(state: ConversationState) -> ConversationState:
    """The members ran out: the hub owes the conclusion."""
    return replace(
        state, phase=Phase.EXPIRING, speaker=HUB_SENDER, turn_deadline=None, check_due=None,
        after_check=None, waiting_on=(),
    )  # fmt: skip


def lapse(state: ConversationState, *, counts: bool) -> ConversationState:
    """A turn timeout: one more silent turn (and a forfeited turn, when `counts`)."""
    return replace(
        state, silent_turns=state.silent_turns + 1, turns=state.turns + (1 if counts else 0)
    )


def linked_next(state: ConversationState, sender: str) -> str:
    """Round robin under the group's links: the next member in roster order that `sender` may
    address; plain round robin when it may address nobody (the turn must go on)."""
    links = state.rules.links
    if links is None:
        return next_member(state.members, sender)
    allowed = set(links.get(sender, ()))
    n = len(state.members)
    start = state.members.index(sender)
    for step in range(1, n):
        candidate = state.members[(start + step) % n]
        if candidate in allowed:
            return candidate
    return next_member(state.members, sender)


def _wait_for(
    state: ConversationState, task_ids: tuple[str, ...], phase: Phase
) -> ConversationState:
    return replace(state, phase=phase, waiting_on=task_ids, turn_deadline=None)


def with_task(state: ConversationState, task: Task) -> ConversationState:
    tasks = tuple(task if t.id == task.id else t for t in state.tasks)
    return replace(state, tasks=tasks)


def with_plan(state: ConversationState, plan: PlanRecord) -> ConversationState:
    plans = tuple(plan if p.id == plan.id else p for p in state.proposals)
    return replace(state, proposals=plans)


def resume_if_ready(state: ConversationState, t: float) -> ConversationState:
    """Drop finished tasks from the wait; when none is left, the waiter speaks again."""
    if state.phase not in WAITING_PHASES or state.speaker is None:
        return state
    remaining = tuple(i for i in state.waiting_on if not task_of(state, i).finished)
    if remaining:
        return replace(state, waiting_on=remaining)
    return turn_to(state, state.speaker, t)


def task_of(state: ConversationState, task_id: str) -> Task:
    task = state.task(task_id)
    if task is None:
        raise KeyError(task_id)  # unreachable: `check` has vetted every id an effect reads
    return task


def plan_of(state: ConversationState, proposal_id: str) -> PlanRecord:
    plan = state.proposal(proposal_id)
    if plan is None:
        raise KeyError(proposal_id)  # unreachable: `check` has vetted every id an effect reads
    return plan


def next_speaker(state: ConversationState, env: Envelope) -> str:
    """Who speaks after a discussion-like move: the one named, else round robin (links kept)."""
    named = env.to[0] if env.to and env.to[0] != env.sender else None
    return named or linked_next(state, env.sender)


def add_plan(state: ConversationState, env: Envelope) -> ConversationState:
    payload = cast(Proposal | Execute, env.payload)
    plan = PlanRecord(payload.proposal_id, env.sender, dict(payload.content), payload.text)
    return replace(state, proposals=(*state.proposals, plan))


def check_or_turn(
    state: ConversationState, proposal_id: str, nxt: str, t: float
) -> ConversationState:
    """With a checker, the checker owes a check on the plan first; then (or else) `nxt` speaks."""
    checker = state.rules.checker
    if checker is None:
        return turn_to(state, nxt, t)
    checking = turn_to(state, checker, t, Phase.CHECKING)
    return replace(checking, check_due=proposal_id, after_check=nxt)


def record_check(state: ConversationState, env: Envelope) -> ConversationState:
    payload = cast(CheckResult, env.payload)
    plan = plan_of(state, payload.proposal_id)
    checked = replace(plan, check=payload.passed, reasons=tuple(payload.reasons))
    return with_plan(replace(state, silent_turns=0), checked)


def _discussion(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    return turn_to(state, next_speaker(state, env), t)


def _proposal(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(Proposal, env.payload)
    return check_or_turn(add_plan(state, env), payload.proposal_id, next_speaker(state, env), t)


def _objection(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    plan = plan_of(state, cast(Objection, env.payload).proposal_id)
    marked = replace(plan, objected_by=(*plan.objected_by, env.sender))
    return turn_to(with_plan(state, marked), next_speaker(state, env), t)


def _acceptance(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    plan = plan_of(state, cast(Acceptance, env.payload).proposal_id)
    marked = replace(plan, accepted_by=(*plan.accepted_by, env.sender))
    return turn_to(with_plan(state, marked), next_speaker(state, env), t)


def _check_result(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    return turn_to(record_check(state, env), state.after_check or env.sender, t)


def _assign(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(SyncTaskAssignment | AsyncTaskAssignment, env.payload)
    synchronous = not isinstance(payload, AsyncTaskAssignment)
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
    return turn_to(assigned, env.sender, t)


def assign(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    """A synchronous task for the addressees (also contract net's `award`)."""
    return _assign(state, env, t)


def _pause(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(Pause, env.payload)
    known = dict.fromkeys(i for i in payload.task_ids if state.task(i) is not None)
    waiting = tuple(i for i in known if not task_of(state, i).finished)
    if not waiting:
        return turn_to(state, env.sender, t)
    return _wait_for(state, waiting, Phase.PAUSED)


def conclude(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    return replace(
        state,
        phase=Phase.CONCLUDING,
        speaker=env.sender,
        turn_deadline=deadline(t, state.limits.turn_timeout),
    )


def finish(
    state: ConversationState, text: str, phase: Phase, plan: str | None
) -> ConversationState:
    """The conversation is over: unfinished tasks are canceled."""
    tasks = tuple(
        replace(task, status="canceled") if not task.finished else task for task in state.tasks
    )
    return replace(
        state,
        phase=phase,
        speaker=None,
        waiting_on=(),
        turn_deadline=None,
        check_due=None,
        after_check=None,
        tasks=tasks,
        conclusion=text,
        concluded_with=plan,
    )


def conclusion(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(Conclusion, env.payload)
    return finish(state, payload.text, _ENDS[state.phase], payload.proposal_id)


def progress(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    task = task_of(state, cast(TaskProgress, env.payload).task_id)
    return with_task(state, replace(task, status="running"))


def result(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(TaskResult, env.payload)
    task = task_of(state, payload.task_id)
    reports = (*task.reports, TaskReport(env.sender, payload.status, payload.result))
    if len(reports) < len(task.assignees):
        updated = replace(task, reports=reports, status="running")
    else:
        failed = any(r.status == "failed" for r in reports)
        updated = replace(task, reports=reports, status="failed" if failed else "done")
    return resume_if_ready(with_task(state, updated), t)


def task_timeout(state: ConversationState, env: Envelope, t: float) -> ConversationState | None:
    """A task timeout (it fails), or None for a turn timeout (the protocol's own effect)."""
    payload = cast(Timeout, env.payload)
    if payload.kind != "task":
        return None
    task = task_of(state, payload.task_id or "")
    return resume_if_ready(with_task(state, replace(task, status="failed")), t)


def _timeout(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    failed = task_timeout(state, env, t)
    if failed is not None:
        return failed
    lapsed = lapse(state, counts=state.phase is Phase.OPEN)  # a forfeited turn counts
    if lapsed.ran_out is not None:
        return expiring(lapsed)
    if state.phase is Phase.CHECKING:  # the plan stays unchecked
        return turn_to(lapsed, state.after_check or state.speaker or "", t)
    nxt = next_member(state.members, state.speaker or "")
    if state.phase is Phase.CONCLUDING:
        return replace(lapsed, speaker=nxt, turn_deadline=deadline(t, state.limits.turn_timeout))
    return turn_to(lapsed, nxt, t)


_ENDS = {Phase.CONCLUDING: Phase.CONCLUDED, Phase.EXPIRING: Phase.EXPIRED}
"""Where a conclusion leads: a member's answers the goal; the hub's says the members ran out."""

IOA_EFFECTS: dict[str, Effect] = {
    "discussion": _discussion,
    "proposal": _proposal,
    "objection": _objection,
    "acceptance": _acceptance,
    "check_result": _check_result,
    "sync_task_assign": _assign,
    "async_task_assign": _assign,
    "pause": _pause,
    "conclude": conclude,
    "conclusion": conclusion,
    "task_progress": progress,
    "task_result": result,
    "timeout": _timeout,
}
