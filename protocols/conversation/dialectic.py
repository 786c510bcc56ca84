"""RoCo's dialectic as a group protocol: PROCEED or EXECUTE, in a fixed round robin.

Members speak in roster order from the initiator (no addressing: the order is the protocol). A
reply is `proceed` (talk on) or `execute` (commit to a plan, validated by the group's
`content_schema`). Unless meta `open_execute` is set, EXECUTE is legal only once every member has
spoken; `max_turns` bounds the calls, and on the last call only EXECUTE is legal. An EXECUTE ends
the conversation with its plan (`state.concluded_with`); with a checker, it first goes through
the checker (phase CHECKING): passed ends the conversation, failed hands the turn to the next
member, RoCo's environment feedback moved inside the conversation. A turn timeout passes the turn
on, as in "ioa".
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
        "concluded with the plan; with a checker, checking first (failed: the next member)"),
    "check_result": CHECK_RULE,
    "conclusion":   CONCLUSION_RULE,
    "timeout":      TIMEOUT_RULE,
})
# fmt: on


def guard(state: ConversationState, sender: str, message_type: str) -> ProtocolError | None:
    """EXECUTE waits until every member has spoken once (unless `open_execute`)."""
    if message_type != "execute" or state.rules.open_execute or state.at_turn_limit:
        return None
    silent = [m for m in state.members if m not in state.spoken]
    if silent:
        return IllegalMove(f"EXECUTE is legal once every member has spoken; not yet: {silent[0]!r}")
    return None


def _spoke(state: ConversationState, sender: str) -> ConversationState:
    if sender in state.spoken:
        return state
    return replace(state, spoken=(*state.spoken, sender))


def _proceed(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    return fx.turn_to(_spoke(state, env.sender), next_member(state.members, env.sender), t)


def _execute(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(Execute, env.payload)
    planned = fx.add_plan(_spoke(state, env.sender), env)
    if state.rules.checker is None:
        return fx.finish(planned, payload.text, Phase.CONCLUDED, payload.proposal_id)
    nxt = next_member(state.members, env.sender)
    return fx.check_or_turn(planned, payload.proposal_id, nxt, t)


def _check_result(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(CheckResult, env.payload)
    checked = fx.record_check(state, env)
    if payload.passed:
        plan = fx.plan_of(checked, payload.proposal_id)
        return fx.finish(checked, plan.text, Phase.CONCLUDED, plan.id)
    return fx.turn_to(checked, state.after_check or env.sender, t)


EFFECTS: dict[str, fx.Effect] = {
    "proceed": _proceed,
    "execute": _execute,
    "check_result": _check_result,
    "conclusion": fx.conclusion,
    "timeout": fx.IOA_EFFECTS["timeout"],
}
