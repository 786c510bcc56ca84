"""The `Envelope`: the one wire type every message travels in.

The sender fills in the header fields it owns (id, group, sender, addressees, reply-to, payload);
the hub stamps the per-group sequence number and the timestamp when it accepts the message. One
`TypeAdapter` serves hub and client alike.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

import protocols.acts  # noqa: F401  (registers the structured speech acts in the union)
from protocols.messages import ID_PATTERN, Payload

PROTOCOL_VERSION: Final = "1"
MAX_SEQ: Final = 2**53
"""The largest sequence number on the wire: exact in every JSON reader, and far beyond what
any group reaches; anything larger is refused at the edge instead of failing in the store."""


def new_id() -> str:
    return uuid.uuid4().hex


def _payload_union() -> Any:
    members = tuple(Payload.registry.values())
    return Annotated[Union[members], Field(discriminator="type")]  # noqa: UP007


if TYPE_CHECKING:
    AnyPayload = Payload
else:
    AnyPayload = _payload_union()


class Envelope(BaseModel):
    """A message as it crosses the wire and as it is stored."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    v: Literal["1"] = PROTOCOL_VERSION
    """Protocol version."""
    id: str = Field(default_factory=new_id, pattern=ID_PATTERN)
    """Message id, chosen by the sender; resending the same id is idempotent."""
    group: str = Field(pattern=ID_PATTERN)
    """The group (team) the message belongs to."""
    sender: str = Field(pattern=ID_PATTERN)
    """Agent id of the sender; the hub checks it against the authenticated agent."""
    to: list[str] = Field(default_factory=list, max_length=256)
    """Addressees (who is expected to act next); empty means the whole group."""
    seq: int | None = Field(default=None, ge=1, le=MAX_SEQ)
    """Per-group sequence number, assigned by the hub."""
    reply_to: str | None = Field(default=None, pattern=ID_PATTERN)
    """Id of the message this one answers."""
    ts: float | None = None
    """Unix time at which the hub accepted the message."""
    payload: AnyPayload
    """The typed body; its `type` is the message type."""

    @property
    def type(self) -> str:
        return self.payload.type


ENVELOPE = TypeAdapter(Envelope)
