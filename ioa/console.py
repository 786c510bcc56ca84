"""Readable live transcripts for people watching a goal in a terminal."""

from __future__ import annotations

import textwrap
from typing import Any

TYPE_LABELS = {
    "discussion": "says",
    "sync_task_assign": "assigns (waits)",
    "async_task_assign": "assigns",
    "task_progress": "progress",
    "task_result": "reports",
    "pause": "pauses for",
    "conclude": "concludes",
    "conclusion": "CONCLUSION",
    "timeout": "timeout",
    "chat": "says",
}


def describe(
    envelope: dict[str, Any], names: dict[str, str], width: int = 100, *, show_type: bool = False
) -> str:
    """One envelope as `#seq Sender → Addressees  action: text` (wrapped); with `show_type`,
    the wire type follows the action, as in `assigns (waits) [sync_task_assign]`."""
    payload = envelope["payload"]
    kind = payload["type"]
    sender = names.get(envelope["sender"], envelope["sender"])
    to = ", ".join(names.get(t, t) for t in envelope.get("to", []))
    arrow = f" → {to}" if to else ""
    text = payload.get("text") or payload.get("description") or payload.get("result") or ""
    if kind in ("sync_task_assign", "async_task_assign"):
        title = payload.get("title") or ""
        text = (
            f"[{payload['task_id']}] {title}: {text}" if title else f"[{payload['task_id']}] {text}"
        )
    elif kind in ("task_result", "task_progress"):
        text = f"[{payload['task_id']}] {text}"
    elif kind == "pause":
        text = ", ".join(payload.get("task_ids", []))
    elif kind == "timeout":
        text = f"{payload.get('kind')} {payload.get('agent') or payload.get('task_id') or ''}"
    label = TYPE_LABELS.get(kind, kind)
    if show_type and label != kind:
        label = f"{label} [{kind}]"
    head = f"#{envelope.get('seq', '?'):>3} {sender}{arrow}  {label}: "
    body = " ".join(text.split())
    return textwrap.fill(head + body, width=width, subsequent_indent=" " * 6)
