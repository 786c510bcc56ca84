"""The group protocols by name: each a transition table, its effects and its extra rules.

A group's `meta["protocol"]` picks one (`settings`); `ConversationState.protocol` remembers it,
and `legal_moves`, `check`, `apply`, `expire` and `replay` all look it up here, so the hub's
policy, every agent's replica and the move schemas follow the same table. A new protocol is a
new module with a `TABLE` and `EFFECTS`, and one entry below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from protocols.conversation import contract_net, dialectic, voting
from protocols.conversation.effects import IOA_EFFECTS, Effect
from protocols.conversation.state import PROTOCOL_NAMES, ConversationState
from protocols.conversation.table import TRANSITIONS, Rule
from protocols.envelope import Envelope
from protocols.errors import InvalidState, ProtocolError

Guard = Callable[[ConversationState, str, str], ProtocolError | None]
"""(state, sender, message type) → the refusal of that type whatever its fields, or None."""
Check = Callable[[ConversationState, Envelope], None]
"""(state, envelope) → raise the refusal that depends on the message's fields."""


def _no_guard(state: ConversationState, sender: str, message_type: str) -> ProtocolError | None:
    return None


def _no_check(state: ConversationState, envelope: Envelope) -> None:
    return None


@dataclass(frozen=True)
class GroupProtocol:
    """One selectable protocol."""

    name: str
    table: Mapping[str, Rule]
    """Message type → its rule; a type missing here is never legal in this protocol."""
    effects: Mapping[str, Effect]
    guard: Guard = _no_guard
    check: Check = _no_check
    summary: str = ""
    """One line for prompts and documentation."""


PROTOCOLS: dict[str, GroupProtocol] = {
    "ioa": GroupProtocol(
        "ioa",
        TRANSITIONS,
        IOA_EFFECTS,
        summary="open discussion with proposals, objections, acceptances, tasks and a conclusion",
    ),
    "dialectic": GroupProtocol(
        "dialectic",
        dialectic.TABLE,
        dialectic.EFFECTS,
        guard=dialectic.guard,
        summary="round robin: PROCEED to talk on, EXECUTE to commit the group to a plan",
    ),
    "contract_net": GroupProtocol(
        "contract_net",
        contract_net.TABLE,
        contract_net.EFFECTS,
        guard=contract_net.guard,
        check=contract_net.check,
        summary="the manager calls for proposals, contractors bid, one bidder is awarded the task",
    ),
    "voting": GroupProtocol(
        "voting",
        voting.TABLE,
        voting.EFFECTS,
        check=voting.check,
        summary="each member proposes or passes, then votes; the tally decides",
    ),
}
if tuple(PROTOCOLS) != PROTOCOL_NAMES:  # pragma: no cover - a module-level consistency check
    raise RuntimeError("PROTOCOLS and PROTOCOL_NAMES disagree")


def protocol_of(state: ConversationState) -> GroupProtocol:
    try:
        return PROTOCOLS[state.protocol]
    except KeyError:
        raise InvalidState(f"unknown protocol {state.protocol!r}") from None
