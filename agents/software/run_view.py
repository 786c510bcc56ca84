"""Readable lines for people: the live view of a run, its replay, and its metrics summary.

The live view (`event_lines`) and the replay (`replay_lines`, from `transcript.jsonl`) print the
same way, so replaying a run looks like watching it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from agents.software.runfolder import RunFolder
from ioa.console import describe

__all__ = ["event_lines", "replay_lines", "summary_lines"]


def _phase_header(entry: Mapping[str, Any]) -> str:
    cycle = f" (cycle {entry['cycle']})" if entry.get("cycle") else ""
    edge = f" edge {entry['edge'][0]}→{entry['edge'][1]}" if entry.get("edge") else ""
    return (
        f"\n== {entry['phase']}{cycle}{edge}: {entry['instructor']} instructs {entry['assistant']}"
    )


def _check_lines(entry: Mapping[str, Any]) -> list[str]:
    verdict = "PASS" if entry["passed"] else "FAIL"
    label = "final check" if entry["step"] == "finish" else f"sandbox check ({entry['step']})"
    return [f"-- {label}: {verdict}"] + [f"   {line}" for line in entry["report"].splitlines()[:8]]


def event_lines(event: Mapping[str, Any]) -> list[str]:
    """What to print for one live event of a run (see `Company(on_event=...)`)."""
    kind = event.get("kind")
    if kind == "phase":
        return [_phase_header(event)]
    if kind == "message":
        return [describe(dict(event["envelope"]), dict(event.get("names", {})))]
    if kind == "phase_done":
        art = event["artifact"]
        how = f" [{art['method']}]" if art["method"] not in ("json", "text") else ""
        return [f"-> {art['summary']}{how}"]
    if kind == "check":
        return _check_lines(event)
    if kind == "loop":
        if event.get("exit"):
            return [
                f"-- loop {event['loop']} ends after {event['cycles']} cycle(s): {event['exit']}"
            ]
        return [f"-- loop {event['loop']}: cycle {event['cycles']}"]
    if kind == "network":
        edges = ", ".join(f"{u}→{v}" for u, v in event["edges"]) or "none"
        return [f"\n## MacNet {event['topology']}: {event['nodes']} nodes, edges {edges}"]
    if kind == "final":
        return _check_lines(event)
    return []


def summary_lines(metrics: Mapping[str, Any]) -> list[str]:
    """The metrics of a run, in a few lines."""
    tokens = metrics["tokens"]["total"]
    seconds = metrics["seconds"]
    lines = [
        f"\nrun {metrics['run']}: {metrics['status']} (model {metrics['model']}, "
        f"sandbox {metrics['sandbox']})",
        f"time: {seconds['in_steps']:.1f} s in steps, {seconds['wall']:.1f} s wall, "
        f"{seconds['sessions']} session(s)",
        f"model calls: {tokens['calls']}, prompt tokens {tokens['prompt_tokens']} "
        f"({tokens['evaluated_prompt_tokens']} evaluated), generated {tokens['completion_tokens']}",
    ]
    for role, row in metrics["tokens"]["by_role"].items():
        lines.append(
            f"  {role:<11} {row['calls']:>3} calls  {row['prompt_tokens']:>7} prompt  "
            f"{row['completion_tokens']:>6} generated  {row['seconds']:>7.1f} s"
        )
    lines.append("phases done: " + (", ".join(metrics["phases_done"]) or "none"))
    for name, loop in metrics["loops"].items():
        if "cap" in loop:
            lines.append(
                f"loop {name}: {loop['cycles']}/{loop['cap']} cycles, ended by {loop['exit']}"
            )
        else:
            lines.append(f"network {name}: {loop.get('topology')}, {loop.get('nodes')} nodes")
    context = metrics["context"]
    lines.append(
        f"context: longest prompt {context['max_prompt_tokens']} of {context['n_ctx']} tokens"
    )
    final = metrics.get("final")
    if final:
        tests = final["tests"]
        lines.append(
            f"result: runs {'yes' if final['executable'] else 'no'} ({final['program']}); "
            f"tests {tests['passed']}/{tests['total']} passed; "
            f"complete {'yes' if final['complete'] else 'no'} ({final['completeness']:.2f})"
        )
    return lines


def replay_lines(folder: RunFolder) -> Iterator[str]:
    """The stored transcript of a run, then its metrics."""
    names: dict[str, str] = {}
    lines = list(folder.transcript_lines())
    for line in lines:
        if line["kind"] == "agents":
            names.update(line["names"])
    outcome: str | None = None
    for line in lines:
        kind = line["kind"]
        if kind == "message":
            yield describe(line["envelope"], names)
            continue
        if outcome is not None:
            yield outcome
            outcome = None
        if kind == "run":
            yield f"run {line['run']}: {line['requirement']}"
        elif kind == "phase":
            yield _phase_header(line)
            outcome = f"-> {line['artifact']['summary']}"
        elif kind == "check":
            yield from _check_lines(line)
    if outcome is not None:
        yield outcome
    metrics = folder.metrics()
    if metrics is not None:
        yield from summary_lines(metrics)
