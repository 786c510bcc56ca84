"""The experiment's charts as PNGs (matplotlib, Agg backend: no display needed).

- `success_steps.png`: per row, success rate and mean steps, each with its standard error;
- `tokens.png`: per row, model tokens per run spent on coordination and on work, stacked.

Rows are grouped by task; model-free baselines are drawn in grey so a model's bar is read
against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from agents.lab.table import Row

__all__ = ["success_steps_chart", "tokens_chart"]

BASELINE_COLOURS = {"oracle": "#bbbbbb", "random": "#777777"}
MODEL_COLOUR = "#3b75af"


def success_steps_chart(rows: Sequence[Row], title: str, path: Path) -> Path:
    labels = [f"{r.task} · {r.label}" for r in rows]
    colours = [BASELINE_COLOURS.get(r.arm, MODEL_COLOUR) for r in rows]
    ys = range(len(rows))
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(11, max(2.5, 0.32 * len(rows) + 1.4)), sharey=True
    )
    left.barh(ys, [r.success for r in rows], xerr=[r.success_se for r in rows],
              color=colours, capsize=3)  # fmt: skip
    left.set_xlim(0, 1.05)
    left.set_xlabel("success rate (± SE)")
    left.set_yticks(list(ys), labels, fontsize=7)
    left.invert_yaxis()
    right.barh(ys, [r.steps or 0.0 for r in rows], xerr=[r.steps_se or 0.0 for r in rows],
               color=colours, capsize=3)  # fmt: skip
    right.set_xlabel("steps per run (± SE)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def tokens_chart(rows: Sequence[Row], title: str, path: Path) -> Path:
    labels = [f"{r.task} · {r.label}" for r in rows]
    ys = range(len(rows))
    talk = [r.tokens_coordination for r in rows]
    work = [r.tokens_work for r in rows]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.32 * len(rows) + 1.4)))
    ax.barh(ys, talk, color="#e08a3c", label="coordination")
    ax.barh(ys, work, left=talk, color=MODEL_COLOUR, label="work")
    ax.set_yticks(list(ys), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("model tokens per run (prompt + completion)")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
