"""Readable transcripts: one event as console text, and an episode saved for replay."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from agents.robots.record import EpisodeRecord, Event

WIDTH = 100
INDENT = "      "


def format_event(event: Event, width: int = WIDTH) -> str:
    """One event as a few lines of text (no trailing newline)."""
    data = event.data
    if event.kind == "episode":
        cap = f", stopping after {data['cap']}" if data.get("cap") else ""
        return (
            f"=== {event.text} ({data['task']}, seed {data['seed']}) — mode {data['mode']}; "
            f"robots {', '.join(data['robots'])}; budget {data['budget']} steps{cap}"
        )
    if event.kind == "attempt":
        return f"\n--- round {event.step}, attempt {event.attempt} of {data['attempts']}"
    if event.kind == "say":
        return _say(event, width)
    if event.kind == "plan":
        if data["executed"]:
            return "  ✓ plan passed the checks and was executed"
        if not event.text:
            verdict = "✗ no plan"
        elif not data["parsed"]:
            verdict = "✗ not a parseable plan"
        else:
            verdict = "✗ plan rejected by the environment"
        return f"  {verdict}:\n" + textwrap.indent(data["feedback"], INDENT)
    if event.kind == "skip":
        return f"  round {event.step} skipped: no plan passed in {event.attempt} attempts"
    outcome = "SUCCESS" if data["success"] else "FAILURE"
    capped = " (stopped by the step cap)" if data.get("capped") else ""
    return f"\n=== {outcome} after {data['steps']} step(s){capped}"


def _say(event: Event, width: int) -> str:
    data = event.data
    kind = data.get("type", "")
    if kind == "goal":
        first = event.text.strip().splitlines()[-1]
        return f"  [hub] new group {data['group'][:8]}: {first}"
    to = f" → {', '.join(data['to'])}" if data.get("to") else ""
    note = " (does not count yet)" if kind == "execute" and not data.get("counted", True) else ""
    head = f"  {event.robot}{to} [{kind}{note}]: "
    lines = [
        textwrap.fill(head + " ".join(event.text.split()), width=width, subsequent_indent=INDENT)
    ]
    plan = data.get("plan")
    if plan:
        lines.append(textwrap.indent(plan, INDENT))
    return "\n".join(lines)


def transcript_text(record: EpisodeRecord) -> str:
    return "\n".join(format_event(e) for e in record.events) + "\n"


def save_transcript(record: EpisodeRecord, folder: Path) -> Path:
    """Write `<task>-<mode>-seed<k>.json` (events and figures) and a `.txt` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{record.task}-{record.mode}-seed{record.seed}"
    path = folder / f"{stem}.json"
    path.write_text(json.dumps(record.to_dict(), indent=1))
    (folder / f"{stem}.txt").write_text(transcript_text(record))
    return path
