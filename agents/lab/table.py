"""The results table: one row per task × arm × protocol × topology × model, over its seeds.

Success is the mean over seeds with its standard error (√(p(1−p)/n), as RoCo reports it); steps
are the mean over every run (RoCo's own table counts successful runs only: that figure is in the
RoCo benchmark); tokens are means per run, split into coordination and work; wall time is the mean
per cell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["HEADERS", "Row", "markdown", "rows_of", "text_table"]

HEADERS = (
    "task",
    "arm",
    "protocol",
    "topology",
    "model",
    "decoding",
    "runs",
    "success ± SE",
    "steps ± SE",
    "coordination tok/run",
    "work tok/run",
    "wall s/cell",
    "errors",
    "illegal",
)


@dataclass(frozen=True)
class Row:
    family: str
    task: str
    arm: str
    protocol: str
    topology: str
    model: str
    decoding: str
    runs: int
    success: float
    success_se: float
    steps: float | None
    steps_se: float | None
    tokens_coordination: float
    tokens_work: float
    seconds: float
    errors: int
    illegal: int

    @property
    def label(self) -> str:
        """The row's name in plots: what differs within a task."""
        if self.arm != "model":
            parts = [self.arm, self.protocol, self.topology]
        else:
            parts = [self.protocol, self.topology, _short(self.model), self.decoding]
        return " · ".join(p for p in parts if p != "—")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in data.items()}


def rows_of(results: Sequence[dict[str, Any]]) -> list[Row]:
    """Aggregate cell results (as `write_outcome` wrote them) into rows, in first-seen order."""
    groups: dict[tuple[str, str, str, str, str, str, str], list[dict[str, Any]]] = {}
    for result in results:
        cell = result["cell"]
        key = (cell["family"], cell["task"], cell["arm"], cell["protocol"], cell["topology"],
               cell["model"], cell.get("decoding", "—"))  # fmt: skip
        groups.setdefault(key, []).append(result)
    rows = []
    for (family, task, arm, protocol, topology, model, decoding), runs in groups.items():
        n = len(runs)
        rate = sum(float(r["success"]) for r in runs) / n
        steps = [float(r["steps"]) for r in runs if r.get("steps") is not None]
        mean_steps = sum(steps) / len(steps) if steps else None
        rows.append(
            Row(
                family=family,
                task=task,
                arm=arm,
                protocol=protocol,
                topology=topology,
                model=model,
                decoding=decoding,
                runs=n,
                success=rate,
                success_se=math.sqrt(max(0.0, rate * (1 - rate)) / n),
                steps=mean_steps,
                steps_se=_se(steps) if steps else None,
                tokens_coordination=sum(int(r["tokens_coordination"]) for r in runs) / n,
                tokens_work=sum(int(r["tokens_work"]) for r in runs) / n,
                seconds=sum(float(r["seconds"]) for r in runs) / n,
                errors=sum(r.get("error") is not None for r in runs),
                illegal=sum(int(r.get("illegal", 0)) for r in runs),
            )
        )
    return rows


def cells_of(row: Row) -> tuple[str, ...]:
    steps = "—" if row.steps is None else f"{row.steps:.1f} ± {row.steps_se or 0.0:.1f}"
    return (
        f"{row.family}:{row.task}",
        row.arm,
        row.protocol,
        row.topology,
        _short(row.model),
        row.decoding,
        str(row.runs),
        f"{row.success:.2f} ± {row.success_se:.2f}",
        steps,
        f"{row.tokens_coordination:.0f}",
        f"{row.tokens_work:.0f}",
        f"{row.seconds:.1f}",
        str(row.errors),
        str(row.illegal),
    )


def text_table(rows: Sequence[Row]) -> str:
    table = [HEADERS, *(cells_of(r) for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(title: str, rows: Sequence[Row], notes: Sequence[str] = ()) -> str:
    lines = [
        f"# {title}",
        "",
        *(f"- {n}" for n in notes),
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
        *("| " + " | ".join(cells_of(r)) + " |" for r in rows),
        "",
    ]
    return "\n".join(lines)


def _se(values: Sequence[float]) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def _short(model: str) -> str:
    return model.rsplit("/", 1)[-1].removesuffix(".gguf")
