"""One cell of the grid, what it needs to run, and what it leaves behind.

A cell is one run: a task of a task set, played by one arm (`model`, or a model-free baseline:
`oracle`, `random`) under one protocol and topology, with one model, on one seed. Its outcome is
written as one JSON file (atomically), so an interrupted experiment resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agents.lab.experiment import Budgets
from ioa.llm import Engine
from protocols import ModelFacts

__all__ = ["NA", "Cell", "CellContext", "Outcome", "read_outcome", "write_outcome"]

NA = "—"
"""A grid axis that does not apply to the cell (the oracle's protocol, RoCo's topology)."""
ARMS = ("oracle", "random", "model")


@dataclass(frozen=True)
class Cell:
    family: str
    """The task set: roco, goals, tools, company."""
    task: str
    arm: str
    """`oracle`, `random` (model-free baselines) or `model`."""
    protocol: str
    topology: str
    model: str
    """The model spec as the experiment names it (`none` for the baselines)."""
    seed: int
    decoding: str = NA
    """How a model picks among finite options (`score` or `grammar`), where the mode lets it."""

    @property
    def id(self) -> str:
        model = _slug(Path(self.model).stem if self.model.endswith(".gguf") else self.model)
        parts = (self.family, self.task, self.arm, self.protocol, self.topology, model)
        decoding = "" if self.decoding == NA else f".{_slug(self.decoding)}"
        return ".".join(_slug(p) for p in parts) + decoding + f".s{self.seed}"

    @property
    def row(self) -> tuple[str, str, str, str, str, str, str]:
        """The table row this cell counts in (all but the seed)."""
        return (self.family, self.task, self.arm, self.protocol, self.topology, self.model,
                self.decoding)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CellContext:
    """What a worker hands a task set to run one cell."""

    budgets: Budgets
    temperature: float
    folder: Path
    """Where the cell may write files of its own (company runs)."""
    engine: Engine | None = None
    facts: ModelFacts | None = None
    hub_url: str | None = None
    launcher: Callable[[Path], contextlib.AbstractAsyncContextManager[str]] | None = None
    """Runs a hub over a database file (the company starts its own per run)."""


@dataclass
class Outcome:
    """What a cell measured; `success` is 0..1 (a rate for cells with several checks)."""

    success: float
    steps: float | None = None
    """Environment steps (RoCo) or messages (group goals); None when nothing was counted."""
    tokens_coordination: int = 0
    """Model tokens (prompt + completion) spent talking to teammates."""
    tokens_work: int = 0
    """Model tokens spent on the task itself (plans, tool calls, code)."""
    illegal: int = 0
    """Moves a model-free agent drew that the protocol refused (0 expected)."""
    figures: dict[str, Any] = field(default_factory=dict)
    """Task-set specific figures (unparseable plans, executability...)."""
    transcript: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""
    """The transcript as readable text."""
    error: str | None = None
    seconds: float = 0.0


def write_outcome(path: Path, cell: Cell, outcome: Outcome, started: float) -> None:
    """The cell's result file, written atomically: a reader sees all of it or none."""
    data = {
        "cell": cell.to_dict(),
        "id": cell.id,
        "started": started,
        **{k: v for k, v in asdict(outcome).items() if k not in ("transcript", "text")},
    }
    _atomic(path, json.dumps(data, indent=1))


def write_transcript(folder: Path, cell: Cell, outcome: Outcome) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    body = {"cell": cell.to_dict(), "events": outcome.transcript}
    _atomic(folder / f"{cell.id}.json", json.dumps(body, indent=1))
    _atomic(folder / f"{cell.id}.txt", outcome.text or "(no transcript)\n")


def read_outcome(path: Path) -> dict[str, Any] | None:
    """A finished cell's result, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "success" in data else None


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _slug(text: str) -> str:
    if text == NA:
        return "na"
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "x"
