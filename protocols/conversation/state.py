"""The state of one conversation: who is in it, whose turn it is, what the group waits for.

The state is an immutable value: every transition returns a new one, so the hub keeps the last good
state when it rejects a message, and an agent computes its legal moves from the same value the hub
holds. It serialises to plain JSON (`to_dict`/`from_dict`) for the hub's store; a hub may equally
rebuild it after a restart by replaying the stored envelopes (`replay` in `machine`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from protocols.conversation.records import (
    PROTOCOL_NAMES,
    BallotRecord,
    BidRecord,
    PlanRecord,
    Rules,
)
from protocols.errors import InvalidConversation, InvalidState
from protocols.messages import ID_PATTERN, Conclusion, TaskStatus, Timeout

HUB_SENDER = "hub"
"""The reserved sender id of messages the hub itself originates (timeouts, and the conclusion of
a conversation whose members ran out). Never a member."""

SILENT_TURNS_MAX = 100
"""The largest `Limits.max_silent_turns`: patience must stay finite, whatever a group asks for."""


class Phase(StrEnum):
    """Where a conversation is; the transition table says which moves each phase allows."""

    OPEN = "open"
    """Someone holds the turn (`speaker`) and may discuss, assign, pause or conclude."""
    AWAITING = "awaiting"
    """A synchronous task is out: nobody speaks until every assignee has reported."""
    PAUSED = "paused"
    """The speaker paused until chosen tasks finish; the group is silent meanwhile."""
    CHECKING = "checking"
    """The group's checker owes a `check_result` on the latest plan (`check_due`), then the turn
    goes on (`after_check`)."""
    PROPOSING = "proposing"
    """Voting: each member in turn proposes or passes, once."""
    BALLOTING = "balloting"
    """Voting: each member in turn casts a ballot, once."""
    BIDDING = "bidding"
    """Contract net: each contractor called, in roster order, bids or refuses, once."""
    CONCLUDING = "concluding"
    """The speaker concluded and now owes the conclusion."""
    EXPIRING = "expiring"
    """The members ran out (see `ConversationState.ran_out`): the hub owes the conclusion."""
    CONCLUDED = "concluded"
    """Over: the conclusion is in."""
    EXPIRED = "expired"
    """Over without an answer: the hub's conclusion says why the members ran out."""


TERMINAL_PHASES = frozenset({Phase.CONCLUDED, Phase.EXPIRED})
WAITING_PHASES = frozenset({Phase.AWAITING, Phase.PAUSED})
"""Phases in which the turn is held back until the tasks in `waiting_on` finish."""
TURN_PHASES = frozenset(
    {
        Phase.OPEN,
        Phase.CHECKING,
        Phase.PROPOSING,
        Phase.BALLOTING,
        Phase.BIDDING,
        Phase.CONCLUDING,
    }
)
"""Phases in which one agent owes the next move, so a turn clock runs."""
LIVE_PHASES = frozenset(Phase) - TERMINAL_PHASES
ACTIVE_PHASES = LIVE_PHASES - {Phase.EXPIRING}
"""Phases in which members (and the hub's clock) may still move the conversation."""

TaskMode = Literal["sync", "async"]
OPEN_TASK_STATUSES: frozenset[TaskStatus] = frozenset({"pending", "running"})
FINISHED_TASK_STATUSES: frozenset[TaskStatus] = frozenset({"done", "failed", "canceled"})

_ID = re.compile(ID_PATTERN)


_OWED_PHASES = frozenset({Phase.CONCLUDING, Phase.CHECKING})
"""Phases in which a member owes the move that follows the last turn (the conclusion, or the
last plan's check), so the turn cap does not count against it."""


@dataclass(frozen=True)
class Limits:
    """Bounds that keep every conversation finite, whatever its members do."""

    max_turns: int = 40
    """Hard cap on turns (a forfeited turn counts); the last one must be `conclude`."""
    turn_timeout: float | None = None
    """Seconds the agent holding the turn has before it passes round robin; None: no limit."""
    task_timeout: float | None = None
    """Seconds a task may stay unfinished before it is marked failed; None: no limit of its own
    (see `task_time`)."""
    max_silent_turns: int = 3
    """Turn timeouts in a row, with no turn taken in between, after which the hub ends the
    conversation: a group nobody speaks in must not keep the hub's clock busy for ever."""

    @property
    def task_time(self) -> float | None:
        """Seconds a task has before it fails: `task_timeout`; without one, in a group with a
        turn clock, `max_silent_turns` turn periods, so that a wait on an assignee that never
        answers ends like a silence does. None: the group has no clock at all."""
        if self.task_timeout is not None or self.turn_timeout is None:
            return self.task_timeout
        return self.max_silent_turns * self.turn_timeout


@dataclass(frozen=True)
class TaskReport:
    """One assignee's outcome of a task."""

    agent: str
    status: Literal["done", "failed"]
    result: str


@dataclass(frozen=True)
class Task:
    """A unit of work handed out by an assignment; its id is unique within the group."""

    id: str
    assigner: str
    assignees: tuple[str, ...]
    mode: TaskMode
    title: str = ""
    description: str = ""
    status: TaskStatus = "pending"
    reports: tuple[TaskReport, ...] = ()
    """One per assignee that has reported, in arrival order."""
    assigned_at: float = 0.0
    deadline: float | None = None
    """When the task fails unless finished (from `Limits.task_timeout`)."""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_TASK_STATUSES

    def reported(self, agent: str) -> bool:
        return any(r.agent == agent for r in self.reports)

    def awaits(self, agent: str) -> bool:
        """True when `agent` may still report progress or a result on this task."""
        return agent in self.assignees and not self.finished and not self.reported(agent)

    @property
    def result(self) -> str | None:
        """The reported result(s) as one text: one assignee's text, or `agent: text` lines."""
        if not self.reports:
            return None
        if len(self.assignees) == 1:
            return self.reports[0].result
        return "\n".join(f"{r.agent}: {r.result}" for r in self.reports)


@dataclass(frozen=True)
class ConversationState:
    """Everything the rules need to judge the next message of one group."""

    group: str
    members: tuple[str, ...]
    """In round-robin order."""
    initiator: str
    limits: Limits = field(default_factory=Limits)
    phase: Phase = Phase.OPEN
    speaker: str | None = None
    """Who holds the turn (OPEN), owes the conclusion (CONCLUDING; `HUB_SENDER` in EXPIRING), or
    gets the turn back when the wait ends (AWAITING, PAUSED). None once over."""
    turns: int = 0
    """Turns taken or forfeited so far."""
    silent_turns: int = 0
    """Turn timeouts since a member last took a turn (see `Limits.max_silent_turns`)."""
    turn_deadline: float | None = None
    """When the current turn lapses (only in `TURN_PHASES` with a turn timeout)."""
    waiting_on: tuple[str, ...] = ()
    """Unfinished task ids the group waits for (only in `WAITING_PHASES`)."""
    tasks: tuple[Task, ...] = ()
    """Every task of the group, in assignment order."""
    clock: float = 0.0
    """The latest time the state has seen (a fallback for messages without a timestamp)."""
    conclusion: str | None = None
    protocol: str = "ioa"
    """Which table judges the moves (`PROTOCOL_NAMES`)."""
    rules: Rules = field(default_factory=Rules)
    proposals: tuple[PlanRecord, ...] = ()
    """Every plan put to the group, in order."""
    check_due: str | None = None
    """The plan the checker owes a `check_result` for (phase CHECKING)."""
    after_check: str | None = None
    """Who takes the turn once the check is in (phase CHECKING)."""
    spoken: tuple[str, ...] = ()
    """Dialectic: members who have spoken (`proceed`/`execute`). Voting: members whose turn in
    the current phase (proposing, balloting) has passed, lapsed ones included."""
    contractors: tuple[str, ...] = ()
    """Contract net: the members the current call for proposals addressed, in roster order."""
    call: str | None = None
    """Contract net: the current call's description (None before the first call)."""
    bids: tuple[BidRecord, ...] = ()
    """Contract net: answers to the current call, in arrival order."""
    ballots: tuple[BallotRecord, ...] = ()
    winner: str | None = None
    """The plan the group decided on, which the conclusion must name: voting's tally winner
    (None: no decision, or not tallied yet), the dialectic's executed plan."""
    concluded_with: str | None = None
    """The plan (proposal id) the conversation ended with, if any."""

    def task(self, task_id: str) -> Task | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def proposal(self, proposal_id: str) -> PlanRecord | None:
        return next((p for p in self.proposals if p.id == proposal_id), None)

    @property
    def plan(self) -> dict[str, Any] | None:
        """The content of the plan the conversation ended with, if any."""
        record = self.proposal(self.concluded_with) if self.concluded_with else None
        return record.content if record is not None else None

    @property
    def over(self) -> bool:
        return self.phase in TERMINAL_PHASES

    @property
    def at_turn_limit(self) -> bool:
        """True when the next turn is the last one allowed, so it must be `conclude`."""
        return self.turns >= self.limits.max_turns - 1

    @property
    def ran_out(self) -> str | None:
        """Why the members may not go on, in words, or None while they may.

        They run out after `max_silent_turns` turn timeouts in a row, or when the last turn the
        cap allows lapsed without a `conclude` (a concluder owing the conclusion has used the
        last turn well, so the cap does not count against it).
        """
        limits = self.limits
        if self.silent_turns >= limits.max_silent_turns:
            n = limits.max_silent_turns
            return f"no member spoke for {n} turn{'s' if n > 1 else ''}"
        if self.phase not in _OWED_PHASES and self.turns >= limits.max_turns:
            return f"the turn cap of {limits.max_turns} was reached with no conclusion"
        return None

    def next_deadline(self) -> float | None:
        """The earliest time the hub owes a message (see `due`), for its timer; None if never."""
        if self.over:
            return None
        if self.phase is Phase.EXPIRING:
            return self.clock
        times = [t.deadline for t in self.tasks if not t.finished and t.deadline is not None]
        if self.phase in TURN_PHASES and self.turn_deadline is not None:
            times.append(self.turn_deadline)
        return min(times, default=None)

    def due(self, now: float) -> list[Timeout | Conclusion]:
        """What the hub owes at `now`: in EXPIRING, the conclusion saying why the members ran
        out; else the timeouts due, earliest deadline first (a turn before tasks at a tie).

        Each is to be sent by the hub as a message from `HUB_SENDER` and applied like any other;
        applying one may change what else is due (see `machine.expire`, which does the loop).
        """
        if self.over:
            return []
        if self.phase is Phase.EXPIRING:
            return [Conclusion(text=HUB_CONCLUSION.format(reason=self.ran_out))]
        due: list[tuple[float, int, Timeout]] = []
        if (
            self.phase in TURN_PHASES
            and self.speaker is not None
            and self.turn_deadline is not None
            and now >= self.turn_deadline
        ):
            due.append((self.turn_deadline, 0, Timeout(kind="turn", agent=self.speaker)))
        for i, task in enumerate(self.tasks, start=1):
            if not task.finished and task.deadline is not None and now >= task.deadline:
                due.append((task.deadline, i, Timeout(kind="task", task_id=task.id)))
        return [timeout for _, _, timeout in sorted(due, key=lambda d: (d[0], d[1]))]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data; `from_dict` gives back an equal state."""
        data: dict[str, Any] = _state_adapter().dump_python(self, mode="json")
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ConversationState:
        """Parse stored data; raises `InvalidState` naming the problem if it is no valid state."""
        try:
            state = _state_adapter().validate_python(data)
        except ValidationError as exc:
            raise InvalidState(f"stored conversation state does not parse: {exc}") from exc
        problems = invariant_violations(state)
        if problems:
            raise InvalidState("stored conversation state is inconsistent: " + "; ".join(problems))
        return state


@cache
def _state_adapter() -> TypeAdapter[ConversationState]:
    """Built at first use: building it at import cost every process that never needs it."""
    return TypeAdapter(ConversationState)


HUB_CONCLUSION = "ended by the hub: {reason}"
"""The text of the conclusion the hub sends when the members ran out (`ran_out` is the reason)."""


def start(
    group: str,
    members: list[str] | tuple[str, ...],
    *,
    initiator: str | None = None,
    limits: Limits | None = None,
    now: float = 0.0,
    protocol: str = "ioa",
    rules: Rules | None = None,
) -> ConversationState:
    """A new conversation in phase OPEN whose initiator (default: the first member) speaks first.

    Raises `InvalidConversation` for an empty or repeated roster, an initiator who is not a member,
    ids that are not wire ids, the reserved `HUB_SENDER` as a member, or limits out of range.
    """
    limits = limits or Limits()
    roster = tuple(members)
    if not roster:
        raise InvalidConversation("a conversation needs at least one member")
    bad = [m for m in (group, *roster) if not isinstance(m, str) or not _ID.match(m)]
    if bad:
        raise InvalidConversation(f"not a valid id: {bad[0]!r}")
    if len(set(roster)) != len(roster):
        raise InvalidConversation("a member is listed twice")
    if HUB_SENDER in roster:
        raise InvalidConversation(f"{HUB_SENDER!r} is reserved for the hub")
    first = roster[0] if initiator is None else initiator
    if first not in roster:
        raise InvalidConversation(f"the initiator {first!r} is not a member")
    _check_limits(limits)
    if protocol not in PROTOCOL_NAMES:
        raise InvalidConversation(
            f"unknown protocol {protocol!r} (known: {', '.join(PROTOCOL_NAMES)})"
        )
    rules = rules or Rules()
    _check_rules(rules, roster, protocol)
    return ConversationState(
        group=group,
        members=roster,
        initiator=first,
        limits=limits,
        phase=Phase.PROPOSING if protocol == "voting" else Phase.OPEN,
        speaker=first,
        turn_deadline=deadline(now, limits.turn_timeout),
        clock=now,
        protocol=protocol,
        rules=rules,
    )


def deadline(now: float, timeout: float | None) -> float | None:
    return None if timeout is None else now + timeout


def next_member(members: tuple[str, ...], agent: str) -> str:
    """Round robin: the member after `agent` in roster order (`agent` itself when alone)."""
    return members[(members.index(agent) + 1) % len(members)]


def invariant_violations(state: ConversationState) -> list[str]:
    """What is wrong with a state, as sentences; empty for every state the machine produces."""
    out: list[str] = []
    members = set(state.members)
    if not state.members or len(members) != len(state.members):
        out.append("members must be a non-empty list without repeats")
    if state.initiator not in members:
        out.append("the initiator is not a member")
    if state.over:
        if state.speaker is not None or state.waiting_on:
            out.append("a concluded conversation has no speaker and waits for nothing")
    elif state.phase is Phase.EXPIRING:
        if state.speaker != HUB_SENDER or state.ran_out is None:
            out.append("an expiring conversation has run out and waits for the hub")
    elif state.speaker not in members:
        out.append("the speaker is not a member")
    if (state.phase in WAITING_PHASES) != bool(state.waiting_on):
        out.append("waiting_on must be non-empty exactly in the awaiting and paused phases")
    ids = [t.id for t in state.tasks]
    if len(set(ids)) != len(ids):
        out.append("a task id is used twice")
    for task_id in state.waiting_on:
        task = state.task(task_id)
        if task is None or task.finished:
            out.append(f"waits for {task_id!r}, which is not an unfinished task")
    for task in state.tasks:
        if not set(task.assignees) <= members or not task.assignees:
            out.append(f"task {task.id!r} has assignees outside the group")
        if {r.agent for r in task.reports} - set(task.assignees):
            out.append(f"task {task.id!r} has a report from a non-assignee")
    if not 0 <= state.turns <= state.limits.max_turns:
        out.append("more turns than the limit")
    if state.phase in ACTIVE_PHASES and state.ran_out is not None:
        out.append("the members ran out, yet the conversation goes on")
    if not 0 <= state.silent_turns <= state.limits.max_silent_turns:
        out.append("more silent turns than the limit")
    return out


def _check_rules(rules: Rules, roster: tuple[str, ...], protocol: str) -> None:
    if rules.checker is not None:
        if rules.checker not in roster:
            raise InvalidConversation(f"the checker {rules.checker!r} is not a member")
        if protocol not in ("ioa", "dialectic"):
            raise InvalidConversation("a checker is supported by the ioa and dialectic protocols")
    if rules.links is not None:
        for member, linked in rules.links.items():
            strangers = [m for m in (member, *linked) if m not in roster]
            if strangers:
                raise InvalidConversation(f"links name {strangers[0]!r}, who is not a member")


def _check_limits(limits: Limits) -> None:
    if not isinstance(limits.max_turns, int) or limits.max_turns < 1:
        raise InvalidConversation("max_turns must be an integer of at least 1")
    for name in ("turn_timeout", "task_timeout"):
        value = getattr(limits, name)
        if value is not None and not (isinstance(value, int | float) and 0 < value < math.inf):
            raise InvalidConversation(f"{name} must be a positive number of seconds or None")
    silent = limits.max_silent_turns
    if not isinstance(silent, int) or not 1 <= silent <= SILENT_TURNS_MAX:
        raise InvalidConversation(
            f"max_silent_turns must be an integer from 1 to {SILENT_TURNS_MAX}"
        )
