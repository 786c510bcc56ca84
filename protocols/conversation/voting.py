"""Voting as a group protocol: proposals, then ballots, then a tally under a stated rule.

PROPOSING: each member once, in roster order from the initiator, posts a `proposal` (a plan,
validated by `content_schema`) or a `pass`. BALLOTING (skipped when nobody proposed): each member
once, in the same order, casts a `ballot`; a lapsed ballot turn is an abstention. Then the state
machine tallies (`tally`) under meta `voting_rule` and the initiator owes the `conclusion`, whose
`proposal_id` must be the winner (and absent when the rule yields no decision). No move here
counts against `max_turns`: the structure bounds the conversation at two turns per member.

Rules (ties always go to the earlier proposal; abstentions are ballots for nothing):
- plurality: most votes among ballots cast; no ballot cast, no decision.
- majority: more than half of all members (abstentions count against); else no decision.
- borda: a ranking of k proposals gives k-1, k-2, ... 0 points (unranked: 0); most points wins;
  no ballot cast, no decision.
- unanimity: every member voted for the same proposal; an abstention blocks it.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import cast

from protocols.acts import Ballot
from protocols.conversation import effects as fx
from protocols.conversation.state import BallotRecord, ConversationState, Phase, next_member
from protocols.conversation.table import (
    CONCLUSION_RULE,
    TIMEOUT_RULE,
    Actor,
    Addressing,
    Rule,
    TaskRef,
)
from protocols.envelope import Envelope
from protocols.errors import IllegalMove
from protocols.messages import Conclusion

_PROPOSING = frozenset({Phase.PROPOSING})
_BALLOTING = frozenset({Phase.BALLOTING})
_S, _FREE, _NONE = Actor.SPEAKER, Addressing.FREE, TaskRef.NONE

# fmt: off
TABLE: MappingProxyType[str, Rule] = MappingProxyType({
    #                  phases       actor addressing task   turn  at cap capped
    "proposal":   Rule(_PROPOSING,  _S,   _FREE,     _NONE, True, True,
        "proposing goes on; after the last member, balloting", False),
    "pass":       Rule(_PROPOSING,  _S,   _FREE,     _NONE, True, True,
        "like proposal, without a plan", False),
    "ballot":     Rule(_BALLOTING,  _S,   _FREE,     _NONE, True, True,
        "balloting goes on; after the last member, the tally: the initiator concludes", False),
    "conclusion": CONCLUSION_RULE,
    "timeout":    TIMEOUT_RULE,
})
# fmt: on


def tally(state: ConversationState) -> str | None:
    """The winning proposal id under the group's rule, or None for no decision."""
    order = [p.id for p in state.proposals]
    if not order:
        return None
    rule = state.rules.voting_rule
    cast_ballots = [b.choice for b in state.ballots if b.choice]
    scores = dict.fromkeys(order, 0)
    for choice in cast_ballots:
        if rule == "borda":
            for rank, pid in enumerate(choice):
                scores[pid] += len(order) - 1 - rank
        else:
            scores[choice[0]] += 1
    best = max(order, key=lambda pid: (scores[pid], -order.index(pid)))
    if rule == "majority":
        return best if scores[best] * 2 > len(state.members) else None
    if rule == "unanimity":
        return best if scores[best] == len(state.members) else None
    return best if cast_ballots else None


def check(state: ConversationState, env: Envelope) -> None:
    payload = env.payload
    if (
        isinstance(payload, Conclusion)
        and state.phase is Phase.CONCLUDING
        and payload.proposal_id != state.winner
    ):
        named = "no proposal (no decision)" if state.winner is None else repr(state.winner)
        raise IllegalMove(f"the conclusion must name the vote's outcome: {named}")


def _advance(state: ConversationState, sender: str, t: float) -> ConversationState:
    """The member's turn in this phase is over: the next member's, or the next phase."""
    spoken = (*state.spoken, sender)
    nxt = next_member(state.members, sender)
    if len(spoken) < len(state.members):
        return fx.turn_to(replace(state, spoken=spoken), nxt, t, state.phase)
    if state.phase is Phase.PROPOSING and state.proposals:
        return fx.turn_to(replace(state, spoken=()), state.initiator, t, Phase.BALLOTING)
    decided = replace(state, spoken=(), winner=tally(state))
    return fx.turn_to(decided, state.initiator, t, Phase.CONCLUDING)


def _proposal(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    return _advance(fx.add_plan(state, env), env.sender, t)


def _pass(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    return _advance(state, env.sender, t)


def _ballot(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    payload = cast(Ballot, env.payload)
    choice = tuple(payload.ranking) if payload.ranking else (payload.proposal_id or "",)
    voted = replace(state, ballots=(*state.ballots, BallotRecord(env.sender, choice)))
    return _advance(voted, env.sender, t)


def _timeout(state: ConversationState, env: Envelope, t: float) -> ConversationState:
    failed = fx.task_timeout(state, env, t)
    if failed is not None:
        return failed
    lapsed = fx.lapse(state, counts=False)
    if lapsed.ran_out is not None:
        return fx.expiring(lapsed)
    speaker = state.speaker or ""
    if state.phase is Phase.CONCLUDING:
        return fx.turn_to(lapsed, next_member(state.members, speaker), t, Phase.CONCLUDING)
    if state.phase is Phase.BALLOTING:  # an abstention
        lapsed = replace(lapsed, ballots=(*state.ballots, BallotRecord(speaker, ())))
    return _advance(lapsed, speaker, t)


EFFECTS: dict[str, fx.Effect] = {
    "proposal": _proposal,
    "pass": _pass,
    "ballot": _ballot,
    "conclusion": fx.conclusion,
    "timeout": _timeout,
}
