"""What is said, both ways: an A2A message as a conversation's text, an agent's move as text."""

from __future__ import annotations

import json

from ioa.hub.a2a.errors import ContentTypeNotSupported, InvalidParams
from ioa.hub.a2a.wire import Part
from protocols import Envelope
from protocols.acts import Proposal
from protocols.messages import (
    AsyncTaskAssignment,
    Conclude,
    Conclusion,
    Discussion,
    SyncTaskAssignment,
    TaskProgress,
    Timeout,
)


def goal_text(parts: list[Part]) -> str:
    """What a message says, for the conversation: its text, and its data parts as JSON."""
    pieces: list[str] = []
    for part in parts:
        if part.text is not None:
            pieces.append(part.text)
        elif part.data is not None:
            pieces.append(json.dumps(part.data, ensure_ascii=False))
        else:
            raise ContentTypeNotSupported(
                "the hub takes text and data parts; files (raw, url) are not supported"
            )
    text = "\n".join(pieces).strip()
    if not text:
        raise InvalidParams("the message has no text")
    return text


def spoken_text(envelope: Envelope) -> str | None:
    """What an agent's message says to the caller, or None for moves that say nothing."""
    payload = envelope.payload
    if isinstance(payload, Discussion | Conclude | Conclusion | TaskProgress | Proposal):
        return payload.text or None
    if isinstance(payload, SyncTaskAssignment | AsyncTaskAssignment):
        return f"Working on: {payload.title or payload.description}"
    if isinstance(payload, Timeout):
        return f"The hub's clock ran out on a {payload.kind}."
    return None
