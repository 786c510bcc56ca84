"""`apply`: the one transition function, plus replay and `expire`, the hub's clock.

`apply(state, envelope)` returns the next state or raises the `ProtocolError` that refuses the
message; the state passed in is never changed, so a refused message leaves no trace. Each accepted
message type has one effect function (`effects`, or the protocol's module), looked up through the
group protocol (`registry`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from protocols.conversation.effects import expiring
from protocols.conversation.legal import check
from protocols.conversation.registry import protocol_of
from protocols.conversation.state import ACTIVE_PHASES, HUB_SENDER, ConversationState
from protocols.envelope import Envelope, new_id


def apply(
    state: ConversationState, envelope: Envelope, *, now: float | None = None
) -> ConversationState:
    """The state after `envelope`, or the `ProtocolError` (with its wire `code`) refusing it.

    `now` is the time the message takes effect (deadlines are computed from it); it defaults to
    `envelope.ts`, then to the latest time the state has seen. The hub must store as `ts` the
    same `now` it applies with, so that replaying the stored envelopes (`replay`) reproduces the
    same deadlines. Which messages are refused, and with which code, is `legal.check`. Pure: no
    clock is read and the given state is not changed.
    """
    t = now if now is not None else envelope.ts if envelope.ts is not None else state.clock
    check(state, envelope, t)
    proto = protocol_of(state)
    rule = proto.table[envelope.payload.type]
    clock = max(state.clock, t)
    if rule.takes_turn:  # it breaks any silence, and counts against the cap if capped
        turns = state.turns + (1 if rule.capped else 0)
        clocked = replace(state, clock=clock, turns=turns, silent_turns=0)
    else:
        clocked = replace(state, clock=clock)
    return _settle(proto.effects[envelope.payload.type](clocked, envelope, t))


def replay(initial: ConversationState, envelopes: Iterable[Envelope]) -> ConversationState:
    """Fold `apply` over stored envelopes (each at its own `ts`): how a hub rebuilds a state."""
    state = initial
    for envelope in envelopes:
        state = apply(state, envelope)
    return state


def expire(state: ConversationState, now: float) -> tuple[ConversationState, list[Envelope]]:
    """Apply everything the hub owes at `now`; return the new state and the envelopes it sent.

    That is each timeout due and, once the members have run out (`ConversationState.ran_out`),
    the hub's own conclusion, which ends the conversation as EXPIRED: so the hub's clock sends a
    bounded number of messages to any group, however silent. The hub calls this when
    `state.next_deadline()` has passed, then stores and fans out the envelopes (stamping only
    their `seq`): every replica, and a replay, reaches the same state.
    """
    sent: list[Envelope] = []
    while due := state.due(now):
        envelope = Envelope(
            id=new_id(), group=state.group, sender=HUB_SENDER, payload=due[0], ts=now
        )
        state = apply(state, envelope)
        sent.append(envelope)
    return state, sent


def _settle(state: ConversationState) -> ConversationState:
    """A move that leaves the members out of turns hands the conversation to the hub."""
    if state.phase in ACTIVE_PHASES and state.ran_out is not None:
        return expiring(state)
    return state
