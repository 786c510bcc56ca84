"""A safe legal move for when a brain's answer is not one: the conversation must go on."""

from __future__ import annotations

from typing import Any

from protocols.conversation import TRANSITIONS, Actor, LegalMoves

TURN_TYPES = frozenset(
    t for t, rule in TRANSITIONS.items() if rule.actor in (Actor.SPEAKER, Actor.CONCLUDER)
)
"""Moves made by whoever holds the turn (the speaker, or the concluder owing its conclusion), read
from the table; task reports are the worker's, not the brain's. Wider than the table's own
`TURN_TYPES`, the types that *use up* a turn, which leaves out the conclusion."""


def fallback_move(legal: LegalMoves, summary: str = "") -> dict[str, Any] | None:
    """The most conservative legal turn move: finish what is owed, else pass the turn on."""
    types = set(legal.types)
    if "conclusion" in types:
        return {"type": "conclusion", "text": summary or "No conclusion was reached."}
    if "conclude" in types and (legal.at_turn_limit or "discussion" not in types):
        return {"type": "conclude", "text": "Wrapping up."}
    if "discussion" in types:
        spec = legal.spec("discussion")
        others = [m for m in spec.addressees if m != legal.agent] if spec else []
        move: dict[str, Any] = {"type": "discussion", "text": "I have nothing to add."}
        if others:
            index = (others.index(legal.agent) + 1) if legal.agent in others else 0
            move["next_speaker"] = others[index % len(others)]
        return move
    return None
