"""What the group protocols remember beyond turns and tasks: the group's rules, its plans, bids
and ballots. Plain immutable records, part of `ConversationState` and of its stored JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

PROTOCOL_NAMES = ("ioa", "dialectic", "contract_net", "voting")
DECIDING_PROTOCOLS = frozenset({"dialectic", "voting"})
"""Protocols whose conclusion must name the plan the group decided on (`winner`)."""
"""The group protocols (meta `protocol`); see `protocols.conversation.registry`."""
VotingRule = Literal["plurality", "majority", "borda", "unanimity"]


@dataclass(frozen=True)
class Rules:
    """A group's protocol settings from its `meta` (see `settings`), fixed for its lifetime."""

    checker: str | None = None
    """The one member who may send `check_result`; enables check-before-commit."""
    content_schema: dict[str, Any] | None = None
    """JSON Schema every plan's `content` must validate against (see `content`)."""
    links: dict[str, tuple[str, ...]] | None = None
    """Topology: whom each member may address; a member missing from it addresses nobody."""
    voting_rule: VotingRule = "plurality"
    open_execute: bool = False
    """Dialectic: EXECUTE is legal before every member has spoken once."""


@dataclass(frozen=True)
class PlanRecord:
    """A plan put to the group (a `proposal`, or a dialectic `execute`) and what came of it."""

    id: str
    author: str
    content: dict[str, Any]
    text: str = ""
    check: bool | None = None
    """The latest check's verdict; None while unchecked."""
    reasons: tuple[str, ...] = ()
    """The latest check's reasons."""
    accepted_by: tuple[str, ...] = ()
    objected_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class BidRecord:
    """Contract net: one contractor's answer to the current call (a refusal has no cost)."""

    agent: str
    cost: float | None
    content: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    awarded: bool = False

    @property
    def refused(self) -> bool:
        return self.cost is None


@dataclass(frozen=True)
class BallotRecord:
    """Voting: one member's ballot; `choice` is empty for an abstention (a lapsed turn)."""

    agent: str
    choice: tuple[str, ...]
