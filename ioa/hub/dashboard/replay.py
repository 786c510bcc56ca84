"""Time travel: a stored conversation's state as it was right after message N.

The state at N is the group's initial state with messages 1..N folded in, by the same pure
machine the hub enforces with (`protocols.conversation.replay`). Folding is linear in N, so
states are remembered every `CHECKPOINT_EVERY` messages per group (a bounded cache): stepping
through a long conversation folds at most that many messages per step.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from ioa.hub.entries import Group
from ioa.hub.errors import InvalidRequest
from ioa.store import Store
from protocols import Envelope, ProtocolError
from protocols.conversation import ConversationState, replay
from protocols.conversation.settings import conversation_for_group

CHECKPOINT_EVERY = 500
MAX_CHECKPOINTS = 2_000
PAGE = 500


class Replayer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._checkpoints: OrderedDict[tuple[str, int], ConversationState] = OrderedDict()

    async def state_at(self, group: Group, seq: int) -> ConversationState | None:
        """The conversation's state after message `seq`; None for a group without a protocol."""
        if group.protocol != "ioa":
            return None
        if not 0 <= seq <= group.head:
            raise InvalidRequest(f"seq {seq} is not between 0 and the group's head {group.head}")
        base = seq - seq % CHECKPOINT_EVERY
        while base > 0 and (group.id, base) not in self._checkpoints:
            base -= CHECKPOINT_EVERY
        if base:
            state = self._checkpoints[(group.id, base)]
            self._checkpoints.move_to_end((group.id, base))
        else:
            state = self._initial(group)
        after = base
        while after < seq:
            page = await self.store.messages_after(group.id, after, min(PAGE, seq - after))
            if not page:
                break
            try:
                state = replay(state, (Envelope.model_validate_json(m.body) for m in page))
            except ProtocolError as exc:
                raise InvalidRequest(f"the transcript cannot be replayed: {exc.message}") from None
            after = page[-1].seq
            if after % CHECKPOINT_EVERY == 0:
                self._remember((group.id, after), state)
        return state

    def _initial(self, group: Group) -> ConversationState:
        members: list[Any] = list(group.members)
        try:
            return conversation_for_group(group.id, members, group.meta, group.created_at)
        except ProtocolError as exc:
            why = f"the group's settings cannot be replayed: {exc.message}"
            raise InvalidRequest(why) from None

    def _remember(self, key: tuple[str, int], state: ConversationState) -> None:
        self._checkpoints[key] = state
        self._checkpoints.move_to_end(key)
        while len(self._checkpoints) > MAX_CHECKPOINTS:
            self._checkpoints.popitem(last=False)
