"""WebSocket frames between an agent and the hub, tagged by `op`.

Agent → hub: `hello` (resume cursors), `send` (an envelope). Hub → agent: `welcome`, `joined`
(made a member of a new group), `deliver`, `synced` (replay finished), `ack` (the sequence number
the hub gave a sent message) and `error`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from protocols.envelope import MAX_SEQ, PLAIN, Envelope
from protocols.messages import ID_PATTERN

GroupId = Annotated[str, Field(pattern=ID_PATTERN)]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ, strict=True)]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)


class Hello(_Frame):
    """Sent once after connecting: the last sequence seen per group, to resume from."""

    op: Literal["hello"] = "hello"
    cursors: dict[GroupId, Seq] = Field(default_factory=dict, max_length=100_000)
    """group id → last sequence number seen; groups not named are replayed from the start."""


class Send(_Frame):
    op: Literal["send"] = "send"
    envelope: Envelope


ClientFrame = Annotated[Hello | Send, Field(discriminator="op")]


class Welcome(_Frame):
    op: Literal["welcome"] = "welcome"
    agent_id: str
    groups: list[str]


class GroupInfo(BaseModel):
    """A group as the hub describes it to its members."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    id: str
    name: str
    created_by: str
    created_at: float
    members: list[str]
    protocol: str
    """Which conversation rules the hub enforces: "chat" (none) or "ioa"."""
    meta: dict[str, Any]
    """Protocol settings (initiator, limits) and context (goal, parent task...)."""
    head: int
    """The newest sequence number in the group."""


class Joined(_Frame):
    """The agent was made a member of a new group."""

    op: Literal["joined"] = "joined"
    group: GroupInfo


class Deliver(_Frame):
    op: Literal["deliver"] = "deliver"
    envelope: Envelope


class Synced(_Frame):
    """Everything missed while offline has been replayed; what follows is live."""

    op: Literal["synced"] = "synced"


class Ack(_Frame):
    op: Literal["ack"] = "ack"
    id: str
    group: str
    seq: int
    ts: float


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    code: str
    message: str


class ErrorFrame(_Frame):
    """A rejected frame; `id` names the message when the frame carried one."""

    op: Literal["error"] = "error"
    id: str | None = None
    error: ErrorBody


HubFrame = Annotated[
    Welcome | Joined | Deliver | Synced | Ack | ErrorFrame, Field(discriminator="op")
]

_LATER = ConfigDict(defer_build=True)
"""Built at first use, not at import: a process pays only for the frames it handles."""
CLIENT_FRAME: TypeAdapter[Hello | Send] = TypeAdapter(ClientFrame, config=_LATER)
HUB_FRAME: TypeAdapter[Welcome | Joined | Deliver | Synced | Ack | ErrorFrame] = TypeAdapter(
    HubFrame, config=_LATER
)


# The hot path's frames as text. The hub sends one ack and one delivery per member for every
# message, so it writes these without building a model (a model per frame cost ~8 µs); they are
# generated here, beside the models they must match, and a test validates each against them.


def _str(value: str) -> str:
    return json.dumps(value)


def _id(value: str) -> str:
    """An id as a JSON string: ids match `ID_PATTERN`, so quoting is all they need."""
    return '"' + value + '"' if PLAIN.fullmatch(value) else json.dumps(value)


SYNCED_TEXT: Final = '{"op":"synced"}'


def ack_text(message_id: str, group: str, seq: int, ts: float) -> str:
    return f'{{"op":"ack","id":{_id(message_id)},"group":{_id(group)},"seq":{seq},"ts":{ts!r}}}'


def stored_ack_text(message_id: str, group: str, seq: int, ts_json: str) -> str:
    """`ack_text` for a message the hub admitted: its ids passed `ID_PATTERN` (so they need no
    quoting beyond the quotes) and its time is already JSON (`repr(ts)`)."""
    return f'{{"op":"ack","id":"{message_id}","group":"{group}","seq":{seq},"ts":{ts_json}}}'


def deliver_text(envelope_json: str) -> str:
    """A delivery around an envelope already serialised (as stored): never parsed again."""
    return '{"op":"deliver","envelope":' + envelope_json + "}"


def send_text(envelope_json: str) -> str:
    return '{"op":"send","envelope":' + envelope_json + "}"


def error_text(code: str, message: str, message_id: str | None = None) -> str:
    ident = "null" if message_id is None else _str(message_id)
    return (
        f'{{"op":"error","id":{ident},"error":{{"code":{_str(code)},"message":{_str(message)}}}}}'
    )


def frame_text(frame: Welcome | Joined) -> str:
    """The rare frames, straight from their models."""
    return frame.model_dump_json()
