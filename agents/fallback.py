"""A safe legal move for when a brain's answer is not one: the conversation must go on."""

from __future__ import annotations

from typing import Any

from protocols.conversation import TRANSITIONS, Actor, LegalMoves
from protocols.conversation.specs import MoveSpec
from protocols.moves import DEFAULT_CONTENT_SCHEMA

TURN_TYPES = frozenset(
    t for t, rule in TRANSITIONS.items() if rule.actor in (Actor.SPEAKER, Actor.CONCLUDER)
)
"""Moves of "ioa" made by whoever holds the turn (the speaker, or the concluder owing its
conclusion), read from the table. Every protocol's `MoveSpec.turn` says the same per move."""


def fallback_move(legal: LegalMoves, summary: str = "") -> dict[str, Any] | None:
    """The most conservative legal turn move: finish what is owed, else pass the turn on.

    Under every protocol: the conclusion owed (naming the plan it must name, if any); a check
    owed is failed ("not checked"); a contractor refuses, a voter passes or votes for the first
    proposal; a manager awards the cheapest bid's bidder, else concludes; in the dialectic,
    PROCEED (EXECUTE only when it is the only move and a plan in words fits the group)."""
    types = set(legal.types)
    spec = legal.spec
    if (owed := spec("conclusion")) is not None:
        move = {"type": "conclusion", "text": summary or "No conclusion was reached."}
        return _with_plan(move, owed)
    if (check := spec("check_result")) is not None:
        proposal = check.proposal_ids[0]
        return {"type": "check_result", "proposal_id": proposal, "passed": False, "reasons": []}
    for simple, text in (("refuse", "I cannot take this on."), ("pass", "I pass.")):
        if simple in types:
            return {"type": simple, "text": text}
    if (ballot := spec("ballot")) is not None:
        if ballot.ranked:
            return {"type": "ballot", "ranking": list(ballot.proposal_ids)}
        return {"type": "ballot", "proposal_id": ballot.proposal_ids[0]}
    if (award := spec("award")) is not None:
        return {
            "type": "award",
            "awardee": award.addressees[0],
            "title": "",
            "description": "Do it.",
        }
    if "proceed" in types:
        return {"type": "proceed", "text": summary[:200] or "I have nothing to add."}
    if "execute" in types and legal.content_schema is None:
        plan = {"plan": (summary or "as discussed")[:400]}
        return {"type": "execute", "content": plan, "text": "Executing."}
    if (conclude := spec("conclude")) is not None and (
        legal.at_turn_limit or "discussion" not in types
    ):
        return _with_plan({"type": "conclude", "text": "Wrapping up."}, conclude)
    if (discussion := spec("discussion")) is not None:
        others = [m for m in discussion.addressees if m != legal.agent]
        move: dict[str, Any] = {"type": "discussion", "text": "I have nothing to add."}
        if others:
            index = (others.index(legal.agent) + 1) if legal.agent in others else 0
            move["next_speaker"] = others[index % len(others)]
        return move
    return None


def _with_plan(move: dict[str, Any], spec: MoveSpec) -> dict[str, Any]:
    """A conclusion names the plan it must name (voting's winner); otherwise none."""
    if spec.proposal_required:
        move["proposal_id"] = spec.proposal_ids[0]
    elif spec.proposal_ids:
        move["proposal_id"] = None
    return move


__all__ = ["DEFAULT_CONTENT_SCHEMA", "TURN_TYPES", "fallback_move"]
