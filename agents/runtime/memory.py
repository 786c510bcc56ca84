"""What an agent remembers between events: plain JSON, checkpointed after every step.

The memory is the LangGraph state of the agent's loop. Each node works on a `fresh` copy whose
containers it may change in place; the checkpointer stores what a node returns, so an agent
restarted mid-conversation finds its cursors, groups, conversations and jobs where they were.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal, TypedDict

from agents.brain import Line
from protocols import Envelope


class JobState(StrEnum):
    """Where the agent's work on a task (or on a goal it leads) is."""

    RUNNING = "running"
    """The agent is working on it (again, after a restart)."""
    DELEGATED = "delegated"
    """A sub-team works on it; its conclusion becomes the result."""
    DONE = "done"
    """Finished: the result is to be reported (or the goal concluded)."""


class JobRecord(TypedDict, total=False):
    """The agent's work on one task, keyed by `job_key`."""

    group: str
    task_id: str | None
    """None for the goal of a group the agent leads."""
    state: str
    """A `JobState` value, kept as plain text: LangGraph's checkpoint serialiser warns about (and
    will one day refuse) any type it was not told about, an enum included."""
    status: Literal["done", "failed"]
    """Set with `DONE`: how the task ended."""
    result: str


class LineRecord(TypedDict):
    """One message of a group as prompts will show it (ids, not names)."""

    seq: int
    sender: str
    type: str
    text: str
    to: list[str]


class Memory(TypedDict, total=False):
    """What the agent remembers between events (all plain JSON, checkpointed)."""

    applied: dict[str, int]
    """group → highest seq folded into memory; the hub replays from here after a restart."""
    groups: dict[str, dict[str, Any]]
    """group → its `GroupInfo`, as JSON."""
    convs: dict[str, dict[str, Any]]
    """group → the replica's `ConversationState`, as JSON ("ioa" groups only)."""
    lines: dict[str, list[LineRecord]]
    names: dict[str, str]
    """agent id → display name."""
    jobs: dict[str, JobRecord]
    """"group/task" → the agent's work on a task (or "group/goal" for a goal it leads)."""
    inflight: dict[str, str]
    """group → id of the agent's own message not yet seen back from the hub."""
    event: dict[str, Any] | None
    """The event being handled (an `Event` as JSON)."""
    outbox: list[dict[str, Any]]
    """Envelopes (as JSON) decided but not sent yet."""
    usage: dict[str, list[dict[str, Any]]]
    """group → model spending (`Spend`s as JSON) the agent's next message there reports."""
    status: str


def job_key(group: str, task_id: str | None) -> str:
    return f"{group}/{task_id or 'goal'}"


def fresh(mem: Memory) -> Memory:
    """A working copy of memory whose containers a node may change in place."""
    return Memory(
        applied=dict(mem.get("applied", {})),
        groups=dict(mem.get("groups", {})),
        convs=dict(mem.get("convs", {})),
        lines={k: list(v) for k, v in mem.get("lines", {}).items()},
        names=dict(mem.get("names", {})),
        jobs=dict(mem.get("jobs", {})),
        inflight=dict(mem.get("inflight", {})),
        event=mem.get("event"),
        outbox=list(mem.get("outbox", [])),
        usage=dict(mem.get("usage", {})),
        status=mem.get("status", ""),
    )


def remember_line(m: Memory, envelope: Envelope, keep: int) -> None:
    """Add a delivered message to its group's recent lines, keeping the last `keep`."""
    lines = m["lines"].setdefault(envelope.group, [])
    lines.append(
        LineRecord(
            seq=envelope.seq or 0,
            sender=envelope.sender,
            type=envelope.type,
            text=text_of(envelope),
            to=list(envelope.to),
        )
    )
    del lines[:-keep]


def transcript(m: Memory, group_id: str) -> list[Line]:
    """A group's recent lines with display names, as brains see them."""
    names = m["names"]
    return [
        Line(
            seq=line["seq"],
            sender=names.get(line["sender"], line["sender"]),
            type=line["type"],
            text=line["text"],
            to=tuple(names.get(t, t) for t in line["to"]),
        )
        for line in m["lines"].get(group_id, [])
    ]


def summary(lines: list[Line]) -> str:
    """The last few things said, for a conclusion nobody wrote."""
    said = [f"{line.sender}: {line.text}" for line in lines if line.text][-3:]
    return " | ".join(said)[:2000] or "No conclusion was reached."


STRUCTURE_CHARS = 300
"""Characters of a structured act's content shown in a transcript line."""


def text_of(envelope: Envelope) -> str:
    structured = _structure_of(envelope)
    plain = _plain_text_of(envelope)
    return f"{structured} {plain}".strip() if structured else plain


def _structure_of(envelope: Envelope) -> str:
    """The structured part of a speech act (proposal id, verdict, reasons, plan, cost), so
    prompts show what was proposed or judged, not only the free text beside it."""
    payload = envelope.payload
    parts: list[str] = []
    for name in ("proposal_id", "passed", "cost", "reason"):
        value = getattr(payload, name, None)
        if value is not None and value != "":
            parts.append(f"{name}={value}")
    for name in ("conflicts", "reasons", "ranking"):
        values = getattr(payload, name, None)
        if values:
            parts.append(f"{name}={', '.join(values)}")
    content = getattr(payload, "content", None)
    if content:
        parts.append("plan=" + json.dumps(content, ensure_ascii=False)[:STRUCTURE_CHARS])
    return f"[{'; '.join(parts)}]" if parts else ""


def _plain_text_of(envelope: Envelope) -> str:
    payload = envelope.payload
    for name in ("text", "description", "result"):
        value = getattr(payload, name, None)
        if isinstance(value, str) and value:
            title = getattr(payload, "title", "")
            return f"{title}: {value}" if title and name == "description" else value
    if envelope.type == "pause":
        return "waiting for " + ", ".join(getattr(payload, "task_ids", []))
    if envelope.type == "timeout":
        return json.dumps(payload.model_dump(exclude={"type"}, exclude_none=True))
    return ""
