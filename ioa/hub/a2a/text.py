"""What is said, both ways: an A2A message as a conversation's text, an agent's move as text
and its task result as an artifact's parts."""

from __future__ import annotations

import base64
import binascii
import json

from ioa.hub.a2a.cards import MODES
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
    TaskResult,
    Timeout,
)

TEXT_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii"})


def goal_text(parts: list[Part]) -> str:
    """What a message says, for the conversation: its text, its data parts as JSON, and files
    that are text (raw, of a media type the card lists) as text under their name. Other files,
    and files by URL (the hub fetches nothing), are a content type it does not support."""
    pieces: list[str] = []
    for part in parts:
        if part.text is not None:
            pieces.append(part.text)
        elif part.data is not None:
            pieces.append(json.dumps(part.data, ensure_ascii=False))
        elif part.raw is not None:
            pieces.append(_file_text(part.raw, part.media_type, part.filename))
        else:
            raise ContentTypeNotSupported(
                "files by URL are not supported: the hub does not fetch them; send the content"
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


def _file_text(raw: str, media_type: str | None, filename: str | None) -> str:
    kind, _, params = (media_type or "").partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"') or "utf-8"
    if kind.strip().lower() not in MODES or charset not in TEXT_CHARSETS:
        raise ContentTypeNotSupported(
            f"a file part must be UTF-8 {' or '.join(MODES)}; not {(media_type or '-')[:80]!r}"
        )
    try:
        text = base64.b64decode(raw, validate=True).decode()
    except (binascii.Error, ValueError):
        raise InvalidParams("a raw part is base64 of UTF-8 text") from None
    return f"{filename}:\n{text}" if filename else text


def result_parts(result: TaskResult) -> list[Part]:
    """A task result as an artifact's parts: its text (if any), its data, its files."""
    parts = [Part(text=result.result)] if result.result else []
    if result.data is not None:
        parts.append(Part(data=result.data))
    for file in result.files:
        parts.append(
            Part(url=file.url, raw=file.content, filename=file.name, media_type=file.media_type)
        )
    return parts or [Part(text="")]
