"""Group policies: the conversation rules the hub enforces, per group, on every frame.

A policy sees each envelope after the hub's own checks (sender, membership, addressees) and
before a sequence number is assigned; it raises a `protocols.ProtocolError` to reject the move.
The plain "chat" policy admits every message type meant for free-form groups.
"""

from __future__ import annotations

from typing import Any, Protocol

from ioa.hub.errors import InvalidRequest
from ioa.store import Store
from protocols import Envelope, ProtocolError


class IllegalMessageType(ProtocolError):
    code = "illegal_move"
    default_message = "this message type is not allowed in this group"


class GroupPolicy(Protocol):
    def apply(self, envelope: Envelope, now: float) -> None:
        """Accept the move and advance the group's state, or raise `ProtocolError`."""

    async def restore(self, store: Store, group_id: str) -> None:
        """Rebuild the state from the stored transcript after a hub restart."""


class ChatPolicy:
    """Free-form chat: any member may send `chat` to any members, in any order."""

    def __init__(self, members: list[str], meta: dict[str, Any]) -> None:
        self.members = members

    def apply(self, envelope: Envelope, now: float) -> None:
        if envelope.type != "chat":
            raise IllegalMessageType(
                f"message type {envelope.type!r} needs a group running a conversation protocol; "
                "this group is plain chat"
            )

    async def restore(self, store: Store, group_id: str) -> None:
        return None


POLICIES: dict[str, type[ChatPolicy]] = {"chat": ChatPolicy}


def make_policy(protocol: str, members: list[str], meta: dict[str, Any]) -> GroupPolicy:
    try:
        cls = POLICIES[protocol]
    except KeyError:
        known = ", ".join(sorted(POLICIES))
        raise InvalidRequest(f"unknown protocol {protocol!r} (known: {known})") from None
    return cls(members, meta)
