"""`Conversation`: an agent's replica of one group's conversation, the only one it keeps.

The hub holds the authoritative state of every "ioa" group; each member keeps its own copy by
applying every message in sequence order with the same pure state machine (`protocols`), so it
knows its legal moves without asking. The replica is built from the group's `GroupInfo` (members,
meta, creation time: what `conversation_for_group` needs to start from the hub's state), folds
each delivered envelope once, rebuilds itself from the hub's stored transcript when it drifted or
a move was refused, and turns a move into the envelope to send, a safe fallback included.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from agents.fallback import fallback_move
from ioa.client import HubClient
from protocols import Envelope, ProtocolError
from protocols.conversation import ConversationState, LegalMoves, apply, legal_moves, replay
from protocols.conversation.settings import conversation_for_group
from protocols.frames import GroupInfo
from protocols.moves import move_to_envelope

__all__ = ["Conversation"]

log = logging.getLogger("ioa.agent")


class Conversation:
    """The state of one group's conversation as this agent has seen it.

    `state` is the protocol state after every message up to `seq`. A replica only moves forward:
    `fold` skips what it has already applied, and raises the `ProtocolError` of a message its
    state refuses (then it has drifted from the hub's: `resync`). Not thread-safe; one owner.
    """

    def __init__(
        self, info: GroupInfo, state: ConversationState | None = None, seq: int = 0
    ) -> None:
        self.info = info
        self.state = state if state is not None else self.initial()
        self.seq = seq
        """The highest sequence number applied."""

    def initial(self) -> ConversationState:
        """The state the hub started the group in."""
        info = self.info
        return conversation_for_group(info.id, info.members, info.meta, info.created_at)

    @property
    def group(self) -> str:
        return self.info.id

    @property
    def over(self) -> bool:
        return self.state.over

    def fold(self, envelope: Envelope) -> bool:
        """Apply a message of this group; False when its `seq` was applied already.

        A message without a `seq` (not stored by the hub yet) is applied as it is. Raises the
        `ProtocolError` refusing it, and leaves the replica unchanged, when the state does not
        admit it: the replica has drifted and needs `resync`.
        """
        seq = envelope.seq
        if seq is not None and seq <= self.seq:
            return False
        self.state = apply(self.state, envelope)
        if seq is not None:
            self.seq = seq
        return True

    async def resync(self, client: HubClient) -> None:
        """Rebuild the state from the hub's stored transcript, from the group's start."""
        state, seq = self.initial(), 0
        async for page in client.history_pages(self.group):
            state = replay(state, page)
            seq = page[-1].seq or seq
        self.state, self.seq = state, seq

    def legal(self, agent: str) -> LegalMoves:
        """Every move `agent` may send now, task reports included."""
        return legal_moves(self.state, agent)

    def turn_moves(self, agent: str) -> LegalMoves:
        """The moves of whoever holds the turn (`MoveSpec.turn`) that `agent` may send now: what
        a brain chooses from; task reports are sent by the agent's work, not chosen."""
        legal = self.legal(agent)
        return replace(legal, moves=tuple(m for m in legal.moves if m.turn))

    def envelope(
        self, agent: str, move: Mapping[str, Any] | None, *, summary: str = ""
    ) -> Envelope | None:
        """The envelope that sends `move` (a decoded turn move) from `agent`.

        When `move` is None or not legal now, the most conservative legal turn move instead
        (`fallback_move`, concluding with `summary` if a conclusion is owed); None when `agent`
        has no turn move at all.
        """
        legal = self.turn_moves(agent)
        if move is not None:
            try:
                return move_to_envelope(legal, move)
            except ProtocolError as exc:
                log.info("%s: move is not legal (%s); using the fallback", agent, exc)
        fallback = fallback_move(legal, summary=summary)
        return move_to_envelope(legal, fallback) if fallback is not None else None
