"""Group policies: the conversation rules the hub enforces, per group, on every frame.

A policy sees each envelope after the hub's own checks (sender, membership, addressees) and
before a sequence number is assigned; it raises a `protocols.ProtocolError` to reject the move.
"chat" groups take free-form `chat` messages; "ioa" groups run a group protocol of
`protocols.conversation` (meta `protocol`: ioa, dialectic, contract_net or voting), the same state
machine every agent uses to compute its legal moves; an unknown protocol, or bad protocol settings
(`checker`, `content_schema`, `links`...), refuse the group at creation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ioa.hub.errors import InvalidRequest
from ioa.store import StoredMessage
from protocols import Envelope, ErrorCode, ProtocolError
from protocols.conversation import ConversationState, apply, expire, replay
from protocols.conversation.settings import conversation_for_group


class UnsupportedMessageType(ProtocolError):
    code = ErrorCode.UNSUPPORTED_MESSAGE_TYPE
    default_message = "this message type is not allowed in this group"


class GroupPolicy(Protocol):
    def apply(self, envelope: Envelope, now: float) -> None:
        """Accept the move and advance the group's state, or raise `ProtocolError`."""

    needs_transcript: bool
    """True when `fold` must see the stored messages to rebuild the state after a restart."""

    def fold(self, messages: Sequence[StoredMessage]) -> None:
        """Apply stored messages, in seq order: how the state is rebuilt after a restart."""

    def next_timeout(self, now: float) -> Envelope | None:
        """The first message the hub must send itself because a deadline passed, not yet
        applied: the hub admits it like any message (one at a time, so each can be undone)."""

    def deadline(self) -> float | None:
        """When the hub's clock next has something to do in this group, if ever."""

    def outcome(self) -> str | None:
        """The conversation's conclusion once it has one."""

    def checkpoint(self) -> object:
        """An opaque value of the state now, for `rewind`."""

    def rewind(self, checkpoint: object) -> None:
        """Go back to a `checkpoint`: the moves after it were never stored (the write failed)."""

    @property
    def timed(self) -> bool:
        """True when the hub's clock must call `next_timeout` for this group."""


class ChatPolicy:
    """Free-form chat: any member may send `chat` to any members, in any order."""

    timed = False

    def __init__(self, group_id: str, members: list[str], meta: dict[str, Any], at: float) -> None:
        self.members = members

    def apply(self, envelope: Envelope, now: float) -> None:
        if envelope.type != "chat":
            raise UnsupportedMessageType(
                f"message type {envelope.type!r} needs a group running a conversation protocol; "
                "this group is plain chat"
            )

    needs_transcript = False

    def fold(self, messages: Sequence[StoredMessage]) -> None:
        return None

    def next_timeout(self, now: float) -> Envelope | None:
        return None

    def deadline(self) -> float | None:
        return None

    def outcome(self) -> str | None:
        return None

    def checkpoint(self) -> object:
        return None

    def rewind(self, checkpoint: object) -> None:
        return None


class ConversationPolicy:
    """An enforced conversation under the group's protocol (see `protocols.conversation`)."""

    def __init__(self, group_id: str, members: list[str], meta: dict[str, Any], at: float) -> None:
        try:
            self.state: ConversationState = conversation_for_group(group_id, members, meta, at)
        except ProtocolError as exc:
            raise InvalidRequest(exc.message) from None
        limits = self.state.limits
        self.timed = limits.turn_timeout is not None or limits.task_timeout is not None

    def apply(self, envelope: Envelope, now: float) -> None:
        self.state = apply(self.state, envelope, now=now)

    needs_transcript = True

    def fold(self, messages: Sequence[StoredMessage]) -> None:
        self.state = replay(self.state, (Envelope.model_validate_json(m.body) for m in messages))

    def next_timeout(self, now: float) -> Envelope | None:
        deadline = self.state.next_deadline()
        if deadline is None or now < deadline:
            return None
        _, due = expire(self.state, now)
        return due[0] if due else None

    def deadline(self) -> float | None:
        return self.state.next_deadline()

    def outcome(self) -> str | None:
        return self.state.conclusion

    def checkpoint(self) -> object:
        return self.state  # immutable: the value itself is the checkpoint

    def rewind(self, checkpoint: object) -> None:
        if not isinstance(checkpoint, ConversationState):
            raise TypeError("not a checkpoint of this policy")
        self.state = checkpoint


POLICIES: dict[str, type[ChatPolicy] | type[ConversationPolicy]] = {
    "chat": ChatPolicy,
    "ioa": ConversationPolicy,
}


def make_policy(
    protocol: str, group_id: str, members: list[str], meta: dict[str, Any], at: float
) -> GroupPolicy:
    try:
        cls = POLICIES[protocol]
    except KeyError:
        known = ", ".join(sorted(POLICIES))
        raise InvalidRequest(f"unknown protocol {protocol!r} (known: {known})") from None
    return cls(group_id, members, meta, at)
