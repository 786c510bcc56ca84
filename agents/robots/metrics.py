"""The benchmark's figures per task × mode, as RoCo reports them (plus cost).

Success rate with its standard error over runs; mean environment steps over *successful* runs;
mean plans tried per step (RoCo's "re-plans": 1.0 means every first plan passed); unparseable
plans (0 by construction under grammars); tokens, model calls and wall time per run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from agents.robots.record import EpisodeRecord


@dataclass(frozen=True)
class Summary:
    task: str
    mode: str
    runs: int
    success: float
    success_se: float
    steps: float | None
    """Mean steps of the successful runs; None when none succeeded."""
    replans: float
    unparseable: int
    no_plan: int
    rejected: float
    """Plans the environment rejected per run (wasted environment attempts)."""
    checks: float
    """Plans checked inside the conversation per run."""
    calls: float
    prompt_tokens: float
    completion_tokens: float
    scored_tokens: float
    seconds: float
    model_seconds: float
    capped: int
    """Runs stopped by a step cap below the task's budget."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, float):
                data[key] = round(value, 3)
        return data


def summarize(records: Sequence[EpisodeRecord]) -> Summary:
    """The figures of the runs of one task in one mode."""
    if not records:
        raise ValueError("no runs to summarise")
    n = len(records)
    wins = [r for r in records if r.success]
    rate = len(wins) / n
    attempts = [a for r in records for a in r.attempts]
    return Summary(
        task=records[0].task,
        mode=records[0].mode,
        runs=n,
        success=rate,
        success_se=math.sqrt(rate * (1 - rate) / n),
        steps=sum(r.steps for r in wins) / len(wins) if wins else None,
        replans=sum(attempts) / len(attempts) if attempts else 0.0,
        unparseable=sum(r.unparseable for r in records),
        no_plan=sum(r.no_plan for r in records),
        rejected=sum(r.rejected for r in records) / n,
        checks=sum(r.checks for r in records) / n,
        calls=sum(r.calls for r in records) / n,
        prompt_tokens=sum(r.prompt_tokens for r in records) / n,
        completion_tokens=sum(r.completion_tokens for r in records) / n,
        scored_tokens=sum(r.scored_tokens for r in records) / n,
        seconds=sum(r.seconds for r in records) / n,
        model_seconds=sum(r.model_seconds for r in records) / n,
        capped=sum(r.capped for r in records),
    )
