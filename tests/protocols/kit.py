"""Small builders shared by the protocol tests: envelopes and scripted conversations."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

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
from protocols.acts import (
    Acceptance,
    Award,
    Ballot,
    Bid,
    CallForProposals,
    CheckResult,
    Execute,
    Objection,
    PassTurn,
    Proceed,
    Proposal,
    Refuse,
)
from protocols.conversation import LegalMoves, MoveSpec, Rules

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


PLAN = {"plan": "x"}
"""A plan's content that fits `DEFAULT_CONTENT_SCHEMA`."""


def enumerate_moves(
    legal: LegalMoves, content: dict[str, Any] | None = None
) -> Iterator[tuple[Payload, list[str]]]:
    """Every message `legal` allows, up to the choice of free text and content (exhaustive over
    ids and addressees), under any group protocol."""
    plan = content if content is not None else PLAN
    for spec in legal.moves:
        tos = [
            list(c)
            for k in range(spec.min_to, spec.max_to + 1)
            for c in itertools.combinations(spec.addressees, k)
        ]
        for to in tos:
            yield from _payloads(legal, spec, plan, to)


def _payloads(
    legal: LegalMoves, spec: MoveSpec, plan: dict[str, Any], to: list[str]
) -> Iterator[tuple[Payload, list[str]]]:
    kind = spec.type
    pid = legal.new_proposal_id
    refs: list[str | None] = list(spec.proposal_ids)
    if not spec.proposal_required:
        refs.append(None)
    simple: dict[str, Payload] = {
        "discussion": Discussion(text="d"),
        "sync_task_assign": SyncTaskAssignment(task_id=legal.new_task_id, description="x"),
        "async_task_assign": AsyncTaskAssignment(task_id=legal.new_task_id, description="x"),
        "proposal": Proposal(proposal_id=pid, content=plan),
        "execute": Execute(proposal_id=pid, content=plan),
        "proceed": Proceed(text="p"),
        "call_for_proposals": CallForProposals(description="task"),
        "bid": Bid(cost=float(len(to) + 1), content=plan),
        "refuse": Refuse(),
        "award": Award(task_id=legal.new_task_id, description="x"),
        "pass": PassTurn(),
    }
    if kind in simple:
        yield simple[kind], to
    elif kind == "pause":
        for k in range(1, len(spec.task_ids) + 1):
            for ids in itertools.combinations(spec.task_ids, k):
                yield Pause(task_ids=[*ids, "ghost"]), to
    elif kind in ("conclude", "conclusion"):
        for ref in refs:
            yield (
                (
                    Conclude(proposal_id=ref)
                    if kind == "conclude"
                    else Conclusion(text="c", proposal_id=ref)
                ),
                to,
            )
    elif kind in ("task_progress", "task_result"):
        for task_id in spec.task_ids:
            if kind == "task_progress":
                yield TaskProgress(task_id=task_id, text="p"), to
            else:
                for status in ("done", "failed"):
                    yield TaskResult(task_id=task_id, status=status, result="r"), to
    elif kind == "objection":
        for ref in spec.proposal_ids:
            yield Objection(proposal_id=ref, reason="r", conflicts=["x"]), to
    elif kind == "acceptance":
        for ref in spec.proposal_ids:
            yield Acceptance(proposal_id=ref), to
    elif kind == "check_result":
        for passed in (True, False):
            yield CheckResult(proposal_id=spec.proposal_ids[0], passed=passed), to
    elif kind == "ballot":
        if spec.ranked:
            for k in range(1, len(spec.proposal_ids) + 1):
                for ranking in itertools.permutations(spec.proposal_ids, k):
                    yield Ballot(ranking=list(ranking)), to
        else:
            for ref in spec.proposal_ids:
                yield Ballot(proposal_id=ref), to
    else:
        raise AssertionError(f"no enumeration for {kind}")


def group(
    protocol: str,
    members: Sequence[str] = MEMBERS,
    *,
    limits: Limits | None = None,
    **rules: Any,
) -> ConversationState:
    """A new conversation under `protocol` with `Rules(**rules)`."""
    return start(GROUP, list(members), limits=limits, protocol=protocol, rules=Rules(**rules))
