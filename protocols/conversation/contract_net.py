"""Contract net (FIPA's, after Smith 1980) as a group protocol: call, bids, award, result.

The manager is the initiator and holds the turn in phase OPEN: it sends `call_for_proposals`
(a task description; the addressees are the contractors called, within its `links`). In phase
BIDDING each contractor called, in roster order, holds the turn once: `bid` (a finite cost and a
plan) or `refuse`; a turn timeout counts as a refusal. Then the manager `award`s the task to
exactly one bidder of the current call (a synchronous task: the group awaits the awardee's
`task_result`, done or failed, and a task timeout fails it), may award another bidder after a
failure, call again, or `conclude` (then owes the conclusion) whenever it holds the turn.
The manager's moves count against `max_turns`; bids and refusals do not (one per contractor per
call). A manager whose turn lapses keeps it: nobody else can manage.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import cast

from protocols.acts import Award, Bid, Refuse
from protocols.conversation import effects as fx
from protocols.conversation.state import BidRecord, ConversationState, Phase, deadline
from protocols.conversation.table import (
    CONCLUSION_RULE,
    PROGRESS_RULE,
    RESULT_RULE,
    TIMEOUT_RULE,
    Actor,
    Addressing,
    Rule,
    TaskRef,
)
from protocols.envelope import Envelope
from protocols.errors import IllegalMove, ProtocolError
from protocols.messages import Timeout

_OPEN = frozenset({Phase.OPEN})
_BIDDING = frozenset({Phase.BIDDING})
_S = Actor.SPEAKER
_FREE, _OTHERS, _ONE = Addressing.FREE, Addressing.OTHERS, Addressing.ONE
_NONE, _NEW = TaskRef.NONE, TaskRef.NEW

# fmt: off
TABLE: MappingProxyType[str, Rule] = MappingProxyType({
    #                          phases     actor addressing task   turn  at cap capped
    "call_for_proposals": Rule(_OPEN,     _S,   _OTHERS,   _NONE, True, False,
        "bidding: each contractor called, in roster order, bids or refuses"),
    "bid":                Rule(_BIDDING,  _S,   _FREE,     _NONE, True, True,
        "bidding goes on with the next contractor; after the last, the manager's turn", False),
    "refuse":             Rule(_BIDDING,  _S,   _FREE,     _NONE, True, True,
        "like bid, without an offer", False),
    "award":              Rule(_OPEN,     _S,   _ONE,      _NEW,  True, False,
        "awaiting: the awardee works on the task, then the manager speaks"),
    "conclude":           Rule(_OPEN,     _S,   _FREE,     _NONE, True, True,
        "concluding: the manager must send the conclusion"),
    "conclusion":         CONCLUSION_RULE,
    "task_progress":      PROGRESS_RULE,
    "task_result":        RESULT_RULE,
    "timeout":            TIMEOUT_RULE,
})
# fmt: on


def bidders(state: ConversationState) -> tuple[str, ...]:
    """Who may still be awarded the current call's task: bidders not awarded yet."""
    return tuple(b.agent for b in state.bids if not b.refused and not b.awarded)


def guard(state: ConversationState, sender: str, message_type: str) -> ProtocolError | None:
    if message_type == "award" and not bidders(state):
        return IllegalMove("award needs a bidder of the current call who was not awarded yet")
    return None


def check(state: ConversationState, env: Envelope) -> None:
    if isinstance(env.payload, Award) and env.to and env.to[0] not in bidders(state):
        raise IllegalMove(f"{env.to[0]!r} is not a bidder of the current call awaiting an award")


def _next_contractor(state: ConversationState, t: float) -> ConversationState:
    answered = {b.agent for b in state.bids}
    waiting = [c for c in state.contractors if c not in answered]
    if waiting:
        return fx.turn_to(state, waiting[0], t, Phase.BIDDING)
    return fx.turn_to(state, state.initiator, t)


def _call(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    called = set(env.to)
    contractors = tuple(m for m in state.members if m in called)
    payload = env.payload
    description = getattr(payload, "description", "")
    fresh = replace(state, contractors=contractors, bids=(), call=description)
    return _next_contractor(fresh, t)


def _bid(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = env.payload
    if isinstance(payload, Bid):
        record = BidRecord(env.sender, payload.cost, dict(payload.content), payload.text)
    else:
        record = BidRecord(env.sender, None, text=cast(Refuse, payload).text)
    return _next_contractor(replace(state, bids=(*state.bids, record)), t)


def _award(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    awardee = env.to[0]
    bids = tuple(replace(b, awarded=True) if b.agent == awardee else b for b in state.bids)
    return fx.assign(replace(state, bids=bids), env, t)


def _timeout(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    failed = fx.task_timeout(state, env, t)
    if failed is not None:
        return failed
    kind = cast(Timeout, env.payload)
    lapsed = fx.lapse(state, counts=state.phase is Phase.OPEN)
    if lapsed.ran_out is not None:
        return fx.expiring(lapsed)
    if state.phase is Phase.BIDDING:  # a contractor who does not bid has refused
        refused = BidRecord(kind.agent or state.speaker or "", None)
        return _next_contractor(replace(lapsed, bids=(*state.bids, refused)), t)
    if state.phase is Phase.CONCLUDING:
        return replace(lapsed, turn_deadline=deadline(t, state.limits.turn_timeout))
    return fx.turn_to(lapsed, state.initiator, t)


EFFECTS: dict[str, fx.Effect] = {
    "call_for_proposals": _call,
    "bid": _bid,
    "refuse": _bid,
    "award": _award,
    "conclude": fx.conclude,
    "conclusion": fx.conclusion,
    "task_progress": fx.progress,
    "task_result": fx.result,
    "timeout": _timeout,
}
