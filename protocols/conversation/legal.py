"""Judging moves: what an agent may send now (`legal_moves`) and why a message is refused (`check`).

Both read the same transition table and the same state, so an agent that picks from its
`LegalMoves` is never refused by the hub, and the hub's refusal names the rule that was broken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from protocols.conversation.state import (
    HUB_SENDER,
    WAITING_PHASES,
    ConversationState,
    Phase,
)
from protocols.conversation.table import TRANSITIONS, Actor, Addressing, Rule, TaskRef
from protocols.envelope import Envelope
from protocols.errors import (
    ConversationOver,
    DuplicateTask,
    IllegalMove,
    InvalidMove,
    NotAMember,
    NotAssignee,
    NotYourTurn,
    ProtocolError,
    TaskClosed,
    TurnLimit,
    UnknownTask,
    WrongGroup,
)
from protocols.messages import (
    AsyncTaskAssignment,
    Pause,
    Payload,
    SyncTaskAssignment,
    TaskProgress,
    TaskResult,
)


@dataclass(frozen=True)
class MoveSpec:
    """One message type an agent may send now, with the values its fields may take."""

    type: str
    addressees: tuple[str, ...]
    """Ids the envelope's `to` may name (distinct), in roster order."""
    min_to: int
    max_to: int
    task_ids: tuple[str, ...] = ()
    """`task_progress`/`task_result`: the tasks it may report on. `pause`: the group's tasks; a
    pause must name at least one of them (other ids are ignored)."""
    waitable: tuple[str, ...] = ()
    """`pause` only: the unfinished tasks among `task_ids`, the ones worth waiting for."""


@dataclass(frozen=True)
class LegalMoves:
    """Exactly what one agent may send in one state; `apply` accepts a message iff `permits` does.

    Assignments need a fresh task id: any id not in `taken_task_ids` is legal, and `new_task_id`
    is one ready to use. A message type missing from `moves` is refused whatever its fields.
    """

    agent: str
    group: str
    phase: Phase
    speaker: str | None
    """Who holds the turn (or gets it back when the current wait ends)."""
    at_turn_limit: bool
    new_task_id: str
    taken_task_ids: tuple[str, ...]
    moves: tuple[MoveSpec, ...]

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(m.type for m in self.moves)

    @property
    def may_speak(self) -> bool:
        """True when the agent holds the turn (it may discuss, assign, pause, conclude, or send
        its conclusion), as opposed to only reporting on its tasks or nothing at all."""
        return any(TRANSITIONS[m.type].actor in _TURN_ACTORS for m in self.moves)

    def spec(self, message_type: str) -> MoveSpec | None:
        return next((m for m in self.moves if m.type == message_type), None)

    def permits(self, payload: Payload, to: Sequence[str] = ()) -> bool:
        """Whether a message with this payload and these addressees would be accepted now."""
        spec = self.spec(payload.type)
        if spec is None or len(set(to)) != len(to) or not set(to) <= set(spec.addressees):
            return False
        if not spec.min_to <= len(to) <= spec.max_to:
            return False
        if isinstance(payload, SyncTaskAssignment | AsyncTaskAssignment):
            return payload.task_id not in self.taken_task_ids
        if isinstance(payload, TaskProgress | TaskResult):
            return payload.task_id in spec.task_ids
        if isinstance(payload, Pause):
            return not set(payload.task_ids).isdisjoint(spec.task_ids)
        return True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, e.g. for a hub endpoint serving moves to remote agents."""
        data: dict[str, Any] = _LEGAL.dump_python(self, mode="json")
        return data

    @classmethod
    def from_dict(cls, data: Any) -> LegalMoves:
        """Parse `to_dict` output; raises `InvalidMove` if it is not a `LegalMoves`."""
        try:
            return _LEGAL.validate_python(data)
        except ValidationError as exc:
            raise InvalidMove(f"not a description of legal moves: {exc}") from exc


_LEGAL: TypeAdapter[LegalMoves] = TypeAdapter(LegalMoves)
_TURN_ACTORS = frozenset({Actor.SPEAKER, Actor.CONCLUDER})


def legal_moves(state: ConversationState, agent: str) -> LegalMoves:
    """What `agent` may send in `state`: types, addressees and task ids (see `LegalMoves`).

    A non-member (including the hub) gets no moves; what the hub sends follows
    `ConversationState.due` instead.
    """
    moves: list[MoveSpec] = []
    for message_type, rule in TRANSITIONS.items():
        if agent == HUB_SENDER or refusal(state, agent, message_type) is not None:
            continue
        task_ids: tuple[str, ...] = ()
        waitable: tuple[str, ...] = ()
        if rule.task is TaskRef.OWN:
            task_ids = tuple(t.id for t in state.tasks if t.awaits(agent))
        elif rule.task is TaskRef.KNOWN:
            task_ids = tuple(t.id for t in state.tasks)
            waitable = tuple(t.id for t in state.tasks if not t.finished)
        if rule.task in (TaskRef.OWN, TaskRef.KNOWN) and not task_ids:
            continue
        low, high = addressee_bounds(state, rule)
        moves.append(MoveSpec(message_type, state.members, low, high, task_ids, waitable))
    taken = tuple(t.id for t in state.tasks)
    return LegalMoves(
        agent=agent,
        group=state.group,
        phase=state.phase,
        speaker=state.speaker,
        at_turn_limit=state.at_turn_limit,
        new_task_id=fresh_task_id(state),
        taken_task_ids=taken,
        moves=tuple(moves),
    )


def check(state: ConversationState, envelope: Envelope, now: float) -> None:
    """Raise the `ProtocolError` that refuses `envelope` in `state` at time `now`, if any.

    Checks, in this order: the group (`wrong_group`); the sender's membership (`not_a_member`);
    the conversation is live, and for a member not expiring (`conversation_over`); the type,
    phase and actor (`illegal_move`, `not_your_turn`); the turn cap (`turn_limit`); the
    addressees (`not_a_member`, `illegal_move`); the task ids (`duplicate_task`, `unknown_task`,
    `not_assignee`, `task_closed`); for a message from the hub, that the hub owes exactly it
    now (`illegal_move`): a due timeout, or the conclusion of a conversation that ran out.
    """
    if envelope.group != state.group:
        raise WrongGroup(f"message for group {envelope.group!r} applied to group {state.group!r}")
    payload, sender = envelope.payload, envelope.sender
    error = refusal(state, sender, payload.type)
    if error is not None:
        raise error
    rule = TRANSITIONS[payload.type]
    _check_addressees(state, rule, payload.type, envelope.to)
    _check_tasks(state, sender, payload)
    if sender == HUB_SENDER and payload not in state.due(now):
        raise IllegalMove(f"the hub owes no such {payload.type!r} at {now}")


def refusal(state: ConversationState, sender: str, message_type: str) -> ProtocolError | None:
    """The error refusing `message_type` from `sender` whatever its fields, or None."""
    is_hub = sender == HUB_SENDER
    if not is_hub and sender not in state.members:
        return NotAMember(f"{sender!r} is not a member of group {state.group!r}")
    if state.over:
        return ConversationOver(f"group {state.group!r} is over ({state.phase.value})")
    if state.phase is Phase.EXPIRING and not is_hub:
        return ConversationOver(
            f"group {state.group!r} is ending: {state.ran_out}; the hub sends its conclusion"
        )
    rule = TRANSITIONS.get(message_type)
    if rule is None:
        return IllegalMove(f"{message_type!r} is not a move of the conversation protocol")
    acts = _acts_as(state, sender, rule.actor)
    if is_hub and not (acts and state.phase in rule.phases):
        return IllegalMove(
            f"the hub sends timeouts, and the conclusion of a conversation that ran out, "
            f"not {message_type!r} now"
        )
    if rule.actor is Actor.HUB and not is_hub:
        return IllegalMove(f"only the hub sends {message_type!r}")
    if state.phase not in rule.phases or not acts:
        return _out_of_turn(state, sender, message_type, rule)
    if rule.takes_turn and state.at_turn_limit and not rule.at_turn_limit:
        return TurnLimit(f"turn {state.turns + 1} of {state.limits.max_turns} must be 'conclude'")
    return None


def _acts_as(state: ConversationState, sender: str, actor: Actor) -> bool:
    """Whether `sender` is who the table's `actor` names, in this state (phases aside)."""
    if actor is Actor.HUB:
        return sender == HUB_SENDER
    if actor is Actor.ASSIGNEE:
        return sender != HUB_SENDER  # which tasks it may report on is `_check_tasks`
    return sender == state.speaker


def addressee_bounds(state: ConversationState, rule: Rule) -> tuple[int, int]:
    """How many (distinct) members a message of this rule may address."""
    if rule.addressing is Addressing.NEXT_SPEAKER:
        return 0, 1
    if rule.addressing is Addressing.ASSIGNEES:
        return 1, len(state.members)
    return 0, len(state.members)


def fresh_task_id(state: ConversationState) -> str:
    """A task id not yet used in the group: `t<n>` for the smallest free n ≥ number of tasks + 1."""
    taken = {t.id for t in state.tasks}
    n = len(state.tasks) + 1
    while f"t{n}" in taken:
        n += 1
    return f"t{n}"


def _out_of_turn(
    state: ConversationState, sender: str, message_type: str, rule: Rule
) -> ProtocolError:
    if sender == state.speaker and state.phase is Phase.CONCLUDING:
        return IllegalMove("you concluded: the only move left to you is the conclusion")
    if sender == state.speaker and state.phase is Phase.OPEN and rule.actor is Actor.CONCLUDER:
        return IllegalMove(f"send 'conclude' before {message_type!r}")
    if state.phase in WAITING_PHASES:
        waits = ", ".join(state.waiting_on)
        return NotYourTurn(f"the group is {state.phase.value}: it waits for task(s) {waits}")
    return NotYourTurn(f"it is {state.speaker!r}'s turn ({state.phase.value})")


def _check_addressees(
    state: ConversationState, rule: Rule, message_type: str, to: Sequence[str]
) -> None:
    strangers = [a for a in to if a not in state.members]
    if strangers:
        raise NotAMember(f"addressee {strangers[0]!r} is not a member of group {state.group!r}")
    if len(set(to)) != len(to):
        raise IllegalMove("an addressee is named twice")
    low, high = addressee_bounds(state, rule)
    if not low <= len(to) <= high:
        raise IllegalMove(f"{message_type!r} takes {low} to {high} addressees, not {len(to)}")


def _check_tasks(state: ConversationState, sender: str, payload: Payload) -> None:
    if isinstance(payload, SyncTaskAssignment | AsyncTaskAssignment):
        if state.task(payload.task_id) is not None:
            raise DuplicateTask(f"task {payload.task_id!r} already exists in the group")
    elif isinstance(payload, TaskProgress | TaskResult):
        task = state.task(payload.task_id)
        if task is None:
            raise UnknownTask(f"no task {payload.task_id!r} in group {state.group!r}")
        if sender not in task.assignees:
            raise NotAssignee(f"{sender!r} is not an assignee of task {task.id!r}")
        if not task.awaits(sender):
            why = "you already reported its result" if task.reported(sender) else task.status
            raise TaskClosed(f"task {task.id!r} takes no more reports from you ({why})")
    elif isinstance(payload, Pause) and all(state.task(i) is None for i in payload.task_ids):
        raise UnknownTask(f"none of {payload.task_ids} is a task of group {state.group!r}")
