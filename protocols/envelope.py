"""The `Envelope`: the one wire type every message travels in.

The sender fills in the header fields it owns (id, group, sender, addressees, reply-to, payload);
the hub stamps the per-group sequence number and the timestamp when it accepts the message. One
`TypeAdapter` serves hub and client alike.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

import protocols.acts  # noqa: F401  (registers the structured speech acts in the union)
from protocols.messages import ID_PATTERN, Payload
from protocols.usage import USAGE, Usage

PROTOCOL_VERSION: Final = "1"
MAX_SEQ: Final = 2**53
"""The largest sequence number on the wire: exact in every JSON reader, and far beyond what
any group reaches; anything larger is refused at the edge instead of failing in the store."""


PLAIN = re.compile(r"[A-Za-z0-9_.:\-]*")
"""Text that JSON writes as it is, with no escapes (every id matches `ID_PATTERN`)."""


def new_id() -> str:
    return uuid.uuid4().hex


def _absent(value: object) -> bool:
    return value is None


def _payload_union() -> Any:
    members = tuple(Payload.registry.values())
    return Annotated[Union[members], Field(discriminator="type")]  # noqa: UP007


if TYPE_CHECKING:
    AnyPayload = Payload
else:
    AnyPayload = _payload_union()


class Envelope(BaseModel):
    """A message as it crosses the wire and as it is stored."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

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
    usage: Usage | None = Field(default=None, exclude_if=_absent)
    """What the sender's model spent on this message since its previous one in the group
    (`protocols.usage`); left out of the JSON when there is none. Last, so the hub's stamped
    text appends it after the payload."""

    @property
    def type(self) -> str:
        return self.payload.type

    def stamped_json(self, seq: int, ts: float, ts_json: str | None = None) -> str:
        """The envelope with the hub's `seq` and `ts`, as JSON: the very text of
        `model_copy(update={"seq": seq, "ts": ts}).model_dump_json()`, for a third of its cost.

        Only the payload goes through pydantic; the header is spliced around it (its ids match
        `ID_PATTERN`, so they need no escaping). Addressees that would need escapes, or a time
        that JSON would write in exponent form, take the model's own path. `ts_json` is
        `repr(ts)` when the caller has it already (writing a float costs as much as the rest
        of the header; the hub writes each message's time once, for its body and its ack).
        """
        # fields read from `__dict__`: a pydantic model's `__getattr__` makes each attribute
        # read cost ~450 instructions, a dict lookup ~50; this reads nine
        fields = self.__dict__
        addressees: list[str] = fields["to"]
        if (
            type(ts) is not float
            or not 1e-4 <= ts < 1e15
            or (addressees and not PLAIN.fullmatch("".join(addressees)))
        ):
            return self.model_copy(update={"seq": seq, "ts": ts}).model_dump_json()
        to = '"' + '","'.join(addressees) + '"' if addressees else ""
        reply_to = "null" if fields["reply_to"] is None else '"' + fields["reply_to"] + '"'
        # the serialisers themselves: `model_dump_json` and `TypeAdapter.dump_json` pass a
        # dozen keyword arguments through Python to them, which cost as much as the payload's
        # whole serialisation (~6 k instructions of ~13 k, measured under callgrind)
        payload = fields["payload"]
        usage = fields["usage"]
        body = payload.__pydantic_serializer__.to_json(payload).decode()
        if usage is not None:
            body += ',"usage":' + USAGE.serializer.to_json(usage).decode()
        return (
            f'{{"v":"{fields["v"]}","id":"{fields["id"]}","group":"{fields["group"]}",'
            f'"sender":"{fields["sender"]}","to":[{to}],"seq":{seq},"reply_to":{reply_to},'
            f'"ts":{ts_json or repr(ts)},"payload":{body}}}'
        )


ENVELOPE = TypeAdapter(Envelope)
