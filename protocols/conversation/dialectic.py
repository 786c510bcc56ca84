"""RoCo's dialectic as a group protocol: PROCEED or EXECUTE, in a fixed round robin.

Members speak in roster order from the initiator (no addressing: the order is the protocol); the
checker (meta `checker`), if any, only checks and is skipped by the round robin. A
reply is `proceed` (talk on) or `execute` (commit to a plan, validated by the group's
`content_schema`). Unless meta `open_execute` is set, EXECUTE is legal only once every member has
spoken; `max_turns` bounds the calls, and on the last call only EXECUTE is legal. An EXECUTE ends
the conversation with its plan (`state.concluded_with`); with a checker, it first goes through
the checker (phase CHECKING): passed ends the conversation, failed hands the turn to the next
member, RoCo's environment feedback moved inside the conversation. A turn timeout passes the turn
on, as in "ioa".

The cap makes it finite with or without a clock: once the last call's plan fails its check the
members have run out, so the group is EXPIRING and the hub owes, at once, the conclusion naming no
plan (EXPIRED). The hub sends it as soon as the move that ran the members out is admitted, so an
untimed group ends too; replay rebuilds the same end from the stored hub conclusion.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import cast

from protocols.acts import CheckResult, Execute
from protocols.conversation import effects as fx
from protocols.conversation.state import ConversationState, Phase, next_member
from protocols.conversation.table import (
    CHECK_RULE,
    CONCLUSION_RULE,
    TIMEOUT_RULE,
    Actor,
    Addressing,
    Rule,
    TaskRef,
)
from protocols.envelope import Envelope
from protocols.errors import IllegalMove, ProtocolError

_OPEN = frozenset({Phase.OPEN})
_S, _FREE, _NONE = Actor.SPEAKER, Addressing.FREE, TaskRef.NONE

# fmt: off
TABLE: MappingProxyType[str, Rule] = MappingProxyType({
    #                    phases  actor addressing task   turn  at cap
    "proceed":      Rule(_OPEN,  _S,   _FREE,     _NONE, True, False,
        "open: the next member in roster order speaks"),
    "execute":      Rule(_OPEN,  _S,   _FREE,     _NONE, True, True,
        "concluding with the plan; with a checker, checking first (failed: the next member)"),
    "check_result": CHECK_RULE,
    "conclusion":   CONCLUSION_RULE,
    "timeout":      TIMEOUT_RULE,
})
# fmt: on


def guard(state: ConversationState, sender: str, message_type: str) -> ProtocolError | None:
    """EXECUTE waits until every member has spoken once (unless `open_execute`)."""
    if message_type != "execute" or state.rules.open_execute or state.at_turn_limit:
        return None
    silent = [m for m in _speakers(state) if m not in state.spoken]
    if silent:
        return IllegalMove(f"EXECUTE is legal once every member has spoken; not yet: {silent[0]!r}")
    return None


def _speakers(state: ConversationState) -> tuple[str, ...]:
    """Who takes turns: every member but the checker."""
    return tuple(m for m in state.members if m != state.rules.checker) or state.members


def _next(state: ConversationState, sender: str) -> str:
    """The next speaker after `sender` in roster order, the checker skipped."""
    speakers = _speakers(state)
    if sender in speakers:
        return next_member(speakers, sender)
    start = state.members.index(sender)
    ring = state.members[start + 1 :] + state.members[: start + 1]
    return next(m for m in ring if m in speakers)


def _spoke(state: ConversationState, sender: str) -> ConversationState:
    if sender in state.spoken:
        return state
    return replace(state, spoken=(*state.spoken, sender))


def _proceed(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    return fx.turn_to(_spoke(state, env.sender), _next(state, env.sender), t)


def _commit(state: ConversationState, proposal_id: str, t: float) -> ConversationState:
    """The group is committed to a plan: its author owes the conclusion naming it."""
    author = fx.plan_of(state, proposal_id).author
    owing = fx.turn_to(state, author, t, Phase.CONCLUDING)
    return replace(owing, winner=proposal_id)


def _execute(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(Execute, env.payload)
    planned = fx.add_plan(_spoke(state, env.sender), env)
    if state.rules.checker is None:
        return _commit(planned, payload.proposal_id, t)
    nxt = _next(state, env.sender)
    return fx.check_or_turn(planned, payload.proposal_id, nxt, t)


def _check_result(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(CheckResult, env.payload)
    checked = fx.record_check(state, env)
    if payload.passed:
        return _commit(checked, payload.proposal_id, t)
    return fx.turn_to(checked, state.after_check or env.sender, t)


def _timeout(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    """As in "ioa", but a turn passed on skips the checker."""
    lapsed = fx.IOA_EFFECTS["timeout"](state, env, t)
    checker = state.rules.checker
    if lapsed.phase is Phase.OPEN and checker is not None and lapsed.speaker == checker:
        return fx.turn_to(lapsed, _next(lapsed, checker), t)
    return lapsed


EFFECTS: dict[str, fx.Effect] = {
    "proceed": _proceed,
    "execute": _execute,
    "check_result": _check_result,
    "conclusion": fx.conclusion,
    "timeout": _timeout,
}
