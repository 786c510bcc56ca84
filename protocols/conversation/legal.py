"""Judging moves: what an agent may send now (`legal_moves`) and why a message is refused (`check`).

Both read the same transition table (the group protocol's, see `registry`) and the same state,
so an agent that picks from its `LegalMoves` is never refused by the hub, and the hub's refusal
names the rule that was broken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from protocols.acts import (
    Acceptance,
    Award,
    Ballot,
    Bid,
    CheckResult,
    Execute,
    Objection,
    Proposal,
)
from protocols.conversation.content import content_error
from protocols.conversation.records import DECIDING_PROTOCOLS
from protocols.conversation.registry import protocol_of
from protocols.conversation.specs import LegalMoves, MoveSpec
from protocols.conversation.state import HUB_SENDER, WAITING_PHASES, ConversationState, Phase
from protocols.conversation.table import Actor, Addressing, Rule, TaskRef
from protocols.envelope import Envelope
from protocols.errors import (
    ConversationOver,
    DuplicateProposal,
    DuplicateTask,
    IllegalMove,
    NotAMember,
    NotAssignee,
    NotLinked,
    NotYourTurn,
    ProtocolError,
    TaskClosed,
    TurnLimit,
    UncheckedPlan,
    UnknownProposal,
    UnknownTask,
    WrongGroup,
)
from protocols.messages import (
    AsyncTaskAssignment,
    Conclude,
    Conclusion,
    Pause,
    Payload,
    SyncTaskAssignment,
    TaskProgress,
    TaskResult,
)

__all__ = ["LegalMoves", "MoveSpec", "check", "legal_moves", "refusal"]

_TURN_ACTORS = frozenset({Actor.SPEAKER, Actor.CONCLUDER, Actor.CHECKER})
_REFERENCES = frozenset({"objection", "acceptance"})
_CONCLUDING = frozenset({"conclude", "conclusion"})
_PLANS = frozenset({"proposal", "execute", "bid"})


def legal_moves(state: ConversationState, agent: str) -> LegalMoves:
    """What `agent` may send in `state`: types, addressees, task and proposal ids.

    A non-member (including the hub) gets no moves; what the hub sends follows
    `ConversationState.due` instead.
    """
    proto = protocol_of(state)
    moves: list[MoveSpec] = []
    for message_type, rule in proto.table.items():
        if agent == HUB_SENDER or refusal(state, agent, message_type) is not None:
            continue
        spec = _spec(state, agent, message_type, rule)
        if spec is not None:
            moves.append(spec)
    return LegalMoves(
        agent=agent,
        group=state.group,
        phase=state.phase,
        speaker=state.speaker,
        at_turn_limit=state.at_turn_limit,
        new_task_id=fresh_task_id(state),
        taken_task_ids=tuple(t.id for t in state.tasks),
        moves=tuple(moves),
        protocol=state.protocol,
        new_proposal_id=fresh_proposal_id(state),
        taken_proposal_ids=tuple(p.id for p in state.proposals),
        content_schema=state.rules.content_schema,
    )


def _spec(state: ConversationState, agent: str, message_type: str, rule: Rule) -> MoveSpec | None:
    task_ids: tuple[str, ...] = ()
    waitable: tuple[str, ...] = ()
    if rule.task is TaskRef.OWN:
        task_ids = tuple(t.id for t in state.tasks if t.awaits(agent))
    elif rule.task is TaskRef.KNOWN:
        task_ids = tuple(t.id for t in state.tasks)
        waitable = tuple(t.id for t in state.tasks if not t.finished)
    if rule.task in (TaskRef.OWN, TaskRef.KNOWN) and not task_ids:
        return None
    addressees = addressable(state, agent)
    if rule.addressing in (Addressing.OTHERS, Addressing.ONE):
        addressees = tuple(m for m in addressees if m != agent)
    if message_type == "award":
        eligible = set(_bidders(state))
        addressees = tuple(m for m in addressees if m in eligible)
    low, high = addressee_bounds(len(addressees), rule)
    if low > high:
        return None
    spec = MoveSpec(
        message_type,
        addressees,
        low,
        high,
        task_ids,
        waitable,
        content=message_type in _PLANS,
        turn=rule.actor in _TURN_ACTORS,
    )
    all_ids = tuple(p.id for p in state.proposals)
    if message_type in _REFERENCES:
        if not all_ids:
            return None
        return replace(spec, proposal_ids=all_ids, proposal_required=True)
    if message_type == "check_result":
        return replace(spec, proposal_ids=(state.check_due or "",), proposal_required=True)
    if message_type == "ballot":
        ranked = state.rules.voting_rule == "borda"
        return replace(spec, proposal_ids=all_ids, proposal_required=not ranked, ranked=ranked)
    if message_type in _CONCLUDING:
        if state.protocol in DECIDING_PROTOCOLS:
            winner = state.winner
            return replace(
                spec, proposal_ids=(winner,) if winner else (), proposal_required=bool(winner)
            )
        return replace(spec, proposal_ids=concludable(state))
    return spec


def concludable(state: ConversationState) -> tuple[str, ...]:
    """The proposals a conclusion may carry: with a checker, those whose latest check passed."""
    if state.rules.checker is None:
        return tuple(p.id for p in state.proposals)
    return tuple(p.id for p in state.proposals if p.check is True)


def _bidders(state: ConversationState) -> tuple[str, ...]:
    return tuple(b.agent for b in state.bids if not b.refused and not b.awarded)


def addressable(state: ConversationState, sender: str) -> tuple[str, ...]:
    """Whom `sender` may address, in roster order: its `links` and itself (everyone without).
    The hub stands outside the topology: its timeouts and conclusions reach whoever they concern."""
    links = state.rules.links
    if links is None or sender == HUB_SENDER:
        return state.members
    allowed = set(links.get(sender, ()))
    return tuple(m for m in state.members if m == sender or m in allowed)


def check(state: ConversationState, envelope: Envelope, now: float) -> None:
    """Raise the `ProtocolError` that refuses `envelope` in `state` at time `now`, if any.

    Checks, in this order: the group (`wrong_group`); the sender's membership (`not_a_member`);
    the conversation is live, and for a member not expiring (`conversation_over`); the type,
    phase and actor (`illegal_move`, `not_your_turn`) and the protocol's own guard; the turn cap
    (`turn_limit`); the addressees (`not_a_member`, `not_linked`, `illegal_move`); the task ids
    (`duplicate_task`, `unknown_task`, `not_assignee`, `task_closed`); the proposals and their
    content (`duplicate_proposal`, `unknown_proposal`, `invalid_content`, `unchecked_plan`);
    the protocol's checks of the fields (`illegal_move`); for a message from the hub, that the
    hub owes exactly it now (`illegal_move`): a due timeout, or the conclusion of a
    conversation that ran out.
    """
    if envelope.group != state.group:
        raise WrongGroup(f"message for group {envelope.group!r} applied to group {state.group!r}")
    payload, sender = envelope.payload, envelope.sender
    error = refusal(state, sender, payload.type)
    if error is not None:
        raise error
    proto = protocol_of(state)
    rule = proto.table[payload.type]
    _check_addressees(state, sender, rule, payload.type, envelope.to)
    _check_tasks(state, sender, payload)
    if sender != HUB_SENDER:
        _check_proposals(state, payload)
    proto.check(state, envelope)
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
    proto = protocol_of(state)
    rule = proto.table.get(message_type)
    if rule is None:
        return IllegalMove(f"{message_type!r} is not a move of the {state.protocol!r} protocol")
    acts = _acts_as(state, sender, rule.actor)
    if is_hub and not (acts and state.phase in rule.phases):
        return IllegalMove(
            f"the hub sends timeouts, and the conclusion of a conversation that ran out, "
            f"not {message_type!r} now"
        )
    if rule.actor is Actor.HUB and not is_hub:
        return IllegalMove(f"only the hub sends {message_type!r}")
    if rule.actor is Actor.CHECKER and sender != state.rules.checker:
        who = state.rules.checker
        return IllegalMove(
            f"only the group's checker ({who!r}) sends {message_type!r}"
            if who
            else f"group {state.group!r} has no checker"
        )
    if state.phase not in rule.phases or not acts:
        return _out_of_turn(state, sender, message_type, rule)
    if rule.takes_turn and rule.capped and state.at_turn_limit and not rule.at_turn_limit:
        last = [t for t, r in proto.table.items() if r.takes_turn and r.at_turn_limit]
        return TurnLimit(
            f"turn {state.turns + 1} of {state.limits.max_turns} must be "
            + " or ".join(repr(t) for t in last)
        )
    return proto.guard(state, sender, message_type)


def _acts_as(state: ConversationState, sender: str, actor: Actor) -> bool:
    """Whether `sender` is who the table's `actor` names, in this state (phases aside)."""
    if actor is Actor.HUB:
        return sender == HUB_SENDER
    if actor is Actor.ASSIGNEE:
        return sender != HUB_SENDER  # which tasks it may report on is `_check_tasks`
    if actor is Actor.CHECKER:
        return sender == state.rules.checker and sender == state.speaker
    return sender == state.speaker


def addressee_bounds(available: int, rule: Rule) -> tuple[int, int]:
    """How many (distinct) members a message of this rule may address, out of `available`."""
    if rule.addressing is Addressing.NEXT_SPEAKER:
        return 0, 1
    if rule.addressing in (Addressing.ASSIGNEES, Addressing.OTHERS):
        return 1, available
    if rule.addressing is Addressing.ONE:
        return 1, 1
    return 0, available


def fresh_task_id(state: ConversationState) -> str:
    """A task id not yet used in the group: `t<n>` for the smallest free n ≥ number of tasks + 1."""
    taken = {t.id for t in state.tasks}
    n = len(state.tasks) + 1
    while f"t{n}" in taken:
        n += 1
    return f"t{n}"


def fresh_proposal_id(state: ConversationState) -> str:
    """A proposal id not yet used in the group: `p<n>`, as `fresh_task_id`."""
    taken = {p.id for p in state.proposals}
    n = len(state.proposals) + 1
    while f"p{n}" in taken:
        n += 1
    return f"p{n}"


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
    if sender == state.speaker and rule.actor is Actor.SPEAKER:
        phases = ", ".join(sorted(p.value for p in rule.phases))
        return IllegalMove(f"{message_type!r} is a move of phase {phases}, not {state.phase.value}")
    return NotYourTurn(f"it is {state.speaker!r}'s turn ({state.phase.value})")


def _check_addressees(
    state: ConversationState, sender: str, rule: Rule, message_type: str, to: Sequence[str]
) -> None:
    strangers = [a for a in to if a not in state.members]
    if strangers:
        raise NotAMember(f"addressee {strangers[0]!r} is not a member of group {state.group!r}")
    if len(set(to)) != len(to):
        raise IllegalMove("an addressee is named twice")
    allowed = addressable(state, sender)
    unlinked = [a for a in to if a not in allowed]
    if unlinked:
        raise NotLinked(f"{sender!r} is not linked to {unlinked[0]!r} in this group's topology")
    if rule.addressing in (Addressing.OTHERS, Addressing.ONE) and sender in to:
        raise IllegalMove(f"{message_type!r} addresses other members, not the sender")
    available = len(allowed) - (1 if rule.addressing in (Addressing.OTHERS, Addressing.ONE) else 0)
    low, high = addressee_bounds(available, rule)
    if not low <= len(to) <= high:
        raise IllegalMove(f"{message_type!r} takes {low} to {high} addressees, not {len(to)}")


def _check_tasks(state: ConversationState, sender: str, payload: Payload) -> None:
    if isinstance(payload, SyncTaskAssignment | AsyncTaskAssignment | Award):
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


def _known(state: ConversationState, proposal_id: str) -> None:
    if state.proposal(proposal_id) is None:
        raise UnknownProposal(f"no proposal {proposal_id!r} in group {state.group!r}")


def _check_proposals(state: ConversationState, payload: Payload) -> None:
    if isinstance(payload, Proposal | Execute) and state.proposal(payload.proposal_id):
        raise DuplicateProposal(f"proposal {payload.proposal_id!r} already exists in the group")
    if isinstance(payload, Proposal | Execute | Bid):
        error = content_error(state.rules.content_schema, payload.content)
        if error is not None:
            raise error
    elif isinstance(payload, Objection | Acceptance):
        _known(state, payload.proposal_id)
    elif isinstance(payload, CheckResult):
        if payload.proposal_id != state.check_due:
            raise IllegalMove(
                f"the check owed is on {state.check_due!r}, not {payload.proposal_id!r}"
            )
    elif isinstance(payload, Ballot):
        _check_ballot(state, payload)
    elif isinstance(payload, Conclusion) and state.protocol in DECIDING_PROTOCOLS:
        if payload.proposal_id != state.winner:
            named = "no proposal (no decision)" if state.winner is None else repr(state.winner)
            raise IllegalMove(f"the conclusion must name the plan the group decided on: {named}")
    elif isinstance(payload, Conclude | Conclusion) and payload.proposal_id is not None:
        _known(state, payload.proposal_id)
        if payload.proposal_id not in concludable(state):
            plan = state.proposal(payload.proposal_id)
            verdict = "failed" if plan is not None and plan.check is False else "is unchecked"
            raise UncheckedPlan(
                f"proposal {payload.proposal_id!r} {verdict}: conclude with a plan that passed "
                f"the checker's check"
            )


def _check_ballot(state: ConversationState, ballot: Ballot) -> None:
    if state.rules.voting_rule == "borda":
        if ballot.proposal_id is not None or not ballot.ranking:
            raise IllegalMove("under borda a ballot is a ranking of proposal ids, best first")
        if len(set(ballot.ranking)) != len(ballot.ranking):
            raise IllegalMove("a ranking names each proposal once")
        for proposal_id in ballot.ranking:
            _known(state, proposal_id)
        return
    if ballot.ranking or ballot.proposal_id is None:
        raise IllegalMove(f"under {state.rules.voting_rule} a ballot names one proposal_id")
    _known(state, ballot.proposal_id)
