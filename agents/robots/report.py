"""The benchmark's table as text and Markdown, and its chart as a PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agents.robots.metrics import Summary

LABEL = "symbolic RoCoBench-style"
CAVEAT = (
    "Pure-Python symbolic re-implementation of RoCoBench's six tasks; not numerically "
    "comparable to MuJoCo RoCoBench (RoCo, IoA)."
)
HEADERS = (
    "task",
    "mode",
    "runs",
    "success ± SE",
    "steps (successful)",
    "plans/step",
    "unparseable",
    "no plan",
    "env rejects/run",
    "checks/run",
    "calls/run",
    "prompt tok/run",
    "gen tok/run",
    "scored tok/run",
    "wall s/run",
    "model s/run",
)


def rows(summaries: Sequence[Summary]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for s in summaries:
        runs = f"{s.runs}" + (f" ({s.capped} capped)" if s.capped else "")
        out.append(
            (
                s.task,
                s.mode,
                runs,
                f"{s.success:.2f} ± {s.success_se:.2f}",
                "—" if s.steps is None else f"{s.steps:.1f}",
                f"{s.replans:.2f}",
                str(s.unparseable),
                str(s.no_plan),
                f"{s.rejected:.1f}",
                f"{s.checks:.1f}",
                f"{s.calls:.0f}",
                f"{s.prompt_tokens:.0f}",
                f"{s.completion_tokens:.0f}",
                f"{s.scored_tokens:.0f}",
                f"{s.seconds:.0f}",
                f"{s.model_seconds:.0f}",
            )
        )
    return out


def text_table(summaries: Sequence[Summary]) -> str:
    table = [HEADERS, *rows(summaries)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(summaries: Sequence[Summary], model: str, notes: Sequence[str] = ()) -> str:
    lines = [
        f"# {LABEL} results — model {model}",
        "",
        CAVEAT,
        "",
        *(f"- {n}" for n in notes),
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
        *("| " + " | ".join(r) + " |" for r in rows(summaries)),
        "",
    ]
    return "\n".join(lines)


def chart(summaries: Sequence[Summary], model: str, path: Path) -> Path | None:
    """Success rate per task, one bar per mode, with SE error bars; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    tasks = list(dict.fromkeys(s.task for s in summaries))
    modes = list(dict.fromkeys(s.mode for s in summaries))
    cells = {(s.task, s.mode): s for s in summaries}
    width = 0.8 / max(1, len(modes))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(tasks) + 2), 4.0))
    for i, mode in enumerate(modes):
        xs = [t + (i - (len(modes) - 1) / 2) * width for t in range(len(tasks))]
        found = [cells.get((task, mode)) for task in tasks]
        bars = ax.bar(
            xs,
            [s.success if s else 0.0 for s in found],
            width,
            yerr=[s.success_se if s else 0.0 for s in found],
            capsize=3,
            label=mode,
        )
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=2)
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success rate")
    ax.set_title(f"{LABEL} — {model}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
