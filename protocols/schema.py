"""The JSON Schema of the whole wire format, for `ioa schema` and for other implementations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from protocols.card import AgentCard
from protocols.envelope import Envelope
from protocols.frames import Ack, Deliver, ErrorFrame, Hello, Joined, Send, Synced, Welcome


def wire_schema() -> dict[str, Any]:
    """One document whose `$defs` hold the card, the envelope, every payload and every frame."""
    models: list[type[BaseModel]] = [
        AgentCard,
        Envelope,
        Hello,
        Send,
        Welcome,
        Joined,
        Deliver,
        Synced,
        Ack,
        ErrorFrame,
    ]
    _, schema = models_json_schema(
        [(m, "validation") for m in models], title="IoA wire format, protocol version 1"
    )
    return schema
