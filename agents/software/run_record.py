"""The run's record: `transcript.jsonl` from the hub's store and `metrics.json` from the state.

Both are rewritten after every step from the checkpointed state, so they always describe exactly
what the checkpoint holds (a step killed half-way leaves no trace in them; its re-run does). The
phase conversations come from the hub's store, fetched once per finished group: the transcript
is what the hub accepted, with its sequence numbers and timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.software.config import CompanyConfig, LoopStep, NetworkStep
from agents.software.roster import USAGE_FIELDS, Roster
from agents.software.runfolder import RunFolder

__all__ = ["Recorder", "metrics", "role_of"]

PAGE = 500


def role_of(seat_key: str) -> str:
    """`programmer-2` → `programmer`: network roster count under their role."""
    return seat_key.split("-", 1)[0]


def _sum(rows: list[Mapping[str, float]]) -> dict[str, float]:
    total = {f: 0.0 for f in USAGE_FIELDS}
    for row in rows:
        for f in USAGE_FIELDS:
            total[f] += row.get(f, 0)
    total["calls"] = int(total["calls"])
    total["seconds"] = round(total["seconds"], 3)
    for f in ("prompt_tokens", "evaluated_prompt_tokens", "completion_tokens"):
        total[f] = int(total[f])
    return total


def metrics(
    state: Mapping[str, Any],
    config: CompanyConfig,
    *,
    info: Mapping[str, Any],
    model: str,
    isolation: str,
    n_ctx: int,
) -> dict[str, Any]:
    """Everything `metrics.json` reports (see the run folder's docstring)."""
    by_seat: dict[str, dict[str, float]] = dict(state.get("tokens", {}))
    roles: dict[str, list[Mapping[str, float]]] = {}
    for key, row in by_seat.items():
        roles.setdefault(role_of(key), []).append(row)
    log = list(state.get("log", []))
    phases = [e for e in log if e["kind"] == "phase"]
    methods: dict[str, int] = {}
    for entry in phases:
        method = entry["artifact"]["method"]
        methods[method] = methods.get(method, 0) + 1
    levers = {"files": 0, "calls": 0, "syntax_retries": 0, "candidates": 0, "sandbox_runs": 0}
    for entry in phases:
        for stats in entry.get("files", []):
            levers["files"] += 1
            for field in ("calls", "syntax_retries", "candidates", "sandbox_runs"):
                levers[field] += int(stats[field])
    loops = {}
    for step in config.chain:
        if isinstance(step, LoopStep):
            done = state.get("loops", {}).get(step.name, {})
            loops[step.name] = {
                "until": step.until,
                "cap": step.cycles,
                "cycles": done.get("cycles", 0),
                "exit": done.get("exit"),
            }
        elif isinstance(step, NetworkStep):
            done = state.get("loops", {}).get(step.name, {})
            loops[step.name] = {"topology": step.topology, "nodes": step.nodes, **done}
    sessions = list(info.get("sessions", []))
    wall = sum((s["ended"] or s["started"]) - s["started"] for s in sessions)
    return {
        "run": info.get("id"),
        "requirement": state.get("task"),
        "status": state.get("status", "running"),
        "model": model,
        "seconds": {
            "in_steps": round(float(state.get("seconds", 0.0)), 3),
            "wall": round(wall, 3),
            "sessions": len(sessions),
        },
        "tokens": {
            "total": _sum(list(by_seat.values())),
            "by_role": {role: _sum(rows) for role, rows in sorted(roles.items())},
            "by_seat": {key: _sum([row]) for key, row in sorted(by_seat.items())},
        },
        "phases_done": [e["phase"] for e in phases],
        "steps_done": list(state.get("steps", [])),
        "loops": loops,
        "artifacts": methods,
        "levers": levers,
        "context": {
            "n_ctx": n_ctx,
            "max_prompt_tokens": int(state.get("max_prompt_tokens", 0)),
            "chars_per_token": round(float(state.get("gauge", 0.0)), 3),
        },
        "final": state.get("final"),
        "sandbox": isolation,
    }


class Recorder:
    """Writes the transcript and the metrics of one run after each step."""

    def __init__(self, folder: RunFolder, roster: Roster, config: CompanyConfig) -> None:
        self.folder = folder
        self.roster = roster
        self.config = config
        self._histories: dict[str, list[dict[str, Any]]] = {}

    async def record(
        self, state: Mapping[str, Any], *, model: str, isolation: str, n_ctx: int
    ) -> dict[str, Any]:
        body: list[dict[str, Any]] = []
        for entry in state.get("log", []):
            body.append(entry)
            if entry["kind"] == "phase":
                for envelope in await self._history(entry):
                    body.append({"kind": "message", "phase": entry["phase"], "envelope": envelope})
        head = [
            {"kind": "run", "run": self.folder.id, "requirement": state.get("task", "")},
            {"kind": "agents", "names": self.roster.names()},
        ]
        self.folder.write_transcript(head + body)
        data = metrics(
            state,
            self.config,
            info=self.folder.info(),
            model=model,
            isolation=isolation,
            n_ctx=n_ctx,
        )
        self.folder.write_metrics(data)
        return data

    async def _history(self, entry: Mapping[str, Any]) -> list[dict[str, Any]]:
        group = entry["group"]
        if group not in self._histories:
            seat = await self.roster.seat(entry["instructor_seat"], entry["instructor_role"])
            found: list[dict[str, Any]] = []
            after = 0
            while page := await seat.client.history(group, after=after, limit=PAGE):
                found += [e.model_dump(mode="json") for e in page]
                after = page[-1].seq or after
                if len(page) < PAGE:
                    break
            self._histories[group] = found
        return self._histories[group]
