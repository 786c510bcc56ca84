"""The robot-team benchmark: the six symbolic RoCoBench-style tasks × the modes × N seeded runs.

Prints a table of success rate (± standard error), mean steps in successful runs, plans per step,
unparseable plans, model calls, tokens and wall time per task × mode; saves it as JSON, Markdown
and a PNG chart, with every episode's transcript (JSON and text) for replay (the IoA mode's group
conversations also stay in the hub database beside them); and ends with one line
`RESULT {json}`. Runs are seeded (run k uses scene seed `--seed + k`), so a rerun with the same
model and options replays the same scenes.

`ioa bench roco` (`ioa.commands.bench_roco`) parses the options, loads the model, starts the hub
and calls `bench`.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.robots import report
from agents.robots.metrics import Summary, summarize
from agents.robots.modes import ModeSettings, make_planner
from agents.robots.record import EpisodeRecord, Event
from agents.robots.runner import EpisodeOptions, run_episode
from agents.robots.transcript import save_transcript
from environments.rocobench import TASKS, make_env
from ioa.llm import Engine
from protocols import ModelFacts

DEFAULT_MODES = ("central", "dialog", "ioa", "dialectic", "oracle", "random")


@dataclass(frozen=True)
class BenchConfig:
    tasks: tuple[str, ...] = tuple(TASKS)
    modes: tuple[str, ...] = DEFAULT_MODES
    runs: int = 3
    seed: int = 0
    out: Path = field(
        default_factory=lambda: Path("runs") / "roco" / time.strftime("%Y%m%d-%H%M%S")
    )
    episode: EpisodeOptions = field(default_factory=EpisodeOptions)
    settings: ModeSettings = field(default_factory=ModeSettings)


@dataclass(frozen=True)
class BenchModel:
    """The model the benchmark runs on, as the outputs name it and as agent cards state it."""

    label: str
    facts: ModelFacts | None


ORACLE_ONLY = BenchModel("none (oracle only)", None)


async def bench(
    config: BenchConfig, engine: Engine | None, hub_url: str | None, model: BenchModel
) -> dict[str, Any]:
    """Run every task × mode × run; write the outputs; print the table and `RESULT`.

    The caller brings the resources the modes need, and closes them: the engine (None when
    only the oracle runs) and, for the IoA mode, the URL of a running hub.
    """
    config.out.mkdir(parents=True, exist_ok=True)
    records: list[EpisodeRecord] = []
    progress = Progress(len(config.tasks) * len(config.modes) * config.runs)
    for task in config.tasks:
        for mode in config.modes:
            planner = make_planner(
                mode, engine, config.settings, hub_url=hub_url, model=model.facts
            )
            for k in range(config.runs):
                env = make_env(task, seed=config.seed + k)
                progress.start(f"{task}/{mode} seed {env.seed}")
                record = await run_episode(env, planner, config.episode, progress.event)
                save_transcript(record, config.out / "transcripts")
                records.append(record)
                progress.finish(record)
    progress.close()
    summaries = [
        summarize([r for r in records if r.task == t and r.mode == m])
        for t in config.tasks
        for m in config.modes
    ]
    result = _write(config, model.label, summaries, records)
    print(report.text_table(summaries))
    print(f"\nmodel {model.label}; outputs in {config.out}")
    print("RESULT " + json.dumps(result["result"]))
    return result


def _write(
    config: BenchConfig, model: str, summaries: list[Summary], records: list[EpisodeRecord]
) -> dict[str, Any]:
    last_seed = config.seed + config.runs - 1
    notes = [
        f"{config.runs} run(s) per task × mode, scene seeds {config.seed}..{last_seed}",
        f"plans per step ≤ {config.episode.attempts}; dialog calls / IoA turns ≤ "
        f"{config.settings.max_calls}; history {'on' if config.episode.history else 'off'}; "
        f"temperature {config.settings.temperature}; IoA/dialectic effect prior "
        f"{config.settings.prior}; random's {config.settings.random_prior}",
    ]
    if config.episode.max_steps:
        notes.append(f"episodes capped at {config.episode.max_steps} step(s)")
    result = {
        "suite": "roco",
        "label": report.LABEL,
        "model": model,
        "runs": config.runs,
        "results": {
            t: {
                s.mode: {
                    "success": round(s.success, 3),
                    "se": round(s.success_se, 3),
                    "steps": None if s.steps is None else round(s.steps, 2),
                    "replans": round(s.replans, 3),
                    "unparseable": s.unparseable,
                    "no_plan": s.no_plan,
                    "env_rejects": round(s.rejected, 2),
                    "checks": round(s.checks, 2),
                    "seconds": round(s.seconds, 1),
                    "model_seconds": round(s.model_seconds, 1),
                }
                for s in summaries
                if s.task == t
            }
            for t in config.tasks
        },
    }
    data = {
        "result": result,
        "notes": notes,
        "summaries": [s.to_dict() for s in summaries],
        "episodes": [r.figures() for r in records],
    }
    (config.out / "results.json").write_text(json.dumps(data, indent=1))
    (config.out / "results.md").write_text(report.markdown(summaries, model, notes))
    if report.chart(summaries, model, config.out / "results.png") is None:
        print("no PNG chart: matplotlib is not installed", file=sys.stderr)
    return data


class Progress:
    """A one-line progress bar on stderr: episodes done, the current one, its round."""

    def __init__(self, total: int, width: int = 24) -> None:
        self.total, self.width = total, width
        self.done = 0
        self.label = ""
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()

    def start(self, label: str) -> None:
        self.label = label
        self._draw("")

    def event(self, event: Event) -> None:
        if event.kind == "attempt":
            self._draw(f"round {event.step} try {event.attempt}")

    def finish(self, record: EpisodeRecord) -> None:
        self.done += 1
        verdict = "success" if record.success else "failure"
        self._draw(f"{verdict} in {record.steps} steps", final=not self.tty)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr, flush=True)

    def _draw(self, detail: str, final: bool = False) -> None:
        if not self.tty and not final:
            return
        filled = self.width * self.done // max(1, self.total)
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.monotonic() - self.started
        line = f"[{bar}] {self.done}/{self.total} {self.label} {detail} ({elapsed:.0f} s)"
        print(("\r" + line.ljust(100)) if self.tty else line, end="" if self.tty else "\n",
              file=sys.stderr, flush=True)  # fmt: skip
