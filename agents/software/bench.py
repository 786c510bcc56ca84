"""The company benchmark: the company on a fixed set of small requirements, measured.

Each requirement of `bench_tasks.yaml` runs through the whole chain in its own run folder, on one
shared local model. Per requirement, from the final sandboxed evaluation:

- executability: the program, run with the requirement's sample arguments, exits 0, or is still
  running without a traceback at the timeout (as a game would);
- correctness: its output holds one of the expected answers — stricter than executability, which
  a program that does nothing passes;
- completeness, by syntax tree: no `pass`/`...` stub, no TODO, no NotImplementedError, every file
  parses;
- tests passed: the project's own tests exist and all pass;
- wall time, model tokens and calls (every candidate and compile retry is a call), with the
  compile retries and the sandbox runs that chose among candidates counted apart.

The levers of the company config (`levers:`) apply; `ioa bench company --levers off` measures
ChatDev's way (the whole program in one answer) for comparison.

Prints a table, writes `results.json` and `results.md` next to the run folders, and ends with
one line `RESULT {json}`. `ioa bench company` (`ioa.commands.bench_company`) parses the options,
loads the model and hands `bench` a hub launcher.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agents.software.company import Company, HubLauncher
from agents.software.config import CompanyConfig
from agents.software.errors import ConfigError
from agents.software.roster import Engines, model_facts
from environments.workspace import WorkspaceError
from ioa.errors import IoAError

__all__ = ["BenchTask", "Row", "bench", "load_tasks", "summarise", "table"]

TASKS_FILE = "bench_tasks.yaml"


class BenchTask(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    requirement: str = Field(min_length=1, max_length=1000)
    args: list[str] = Field(default_factory=list, max_length=16)
    expect: list[str] = Field(default_factory=list, max_length=8)
    """Any one of these in the program's output (case-insensitive) makes the run correct."""

    def correct(self, stdout: str) -> bool:
        low = stdout.lower()
        return any(e.lower() in low for e in self.expect)


def load_tasks(path: Path | None = None) -> list[BenchTask]:
    """The shipped requirements, or those of a YAML list at `path`."""
    if path is None:
        text = files("agents.software").joinpath(TASKS_FILE).read_text(encoding="utf-8")
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        tasks = TypeAdapter(list[BenchTask]).validate_python(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"the benchmark requirements do not parse: {exc}") from None
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ConfigError("two benchmark requirements share a name")
    return tasks


@dataclass
class Row:
    name: str
    status: str
    executable: bool
    complete: bool
    completeness: float
    tests_passed: bool
    correct: bool
    tests: str
    seconds: float
    tokens: int
    calls: int
    run: str
    error: str | None = None
    syntax_retries: int = 0
    """Model calls that rewrote a file after a syntax error (file-scoped levers)."""
    sandbox_runs: int = 0
    """Sandbox runs that chose an entry file among candidates (file-scoped levers)."""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def bench(
    tasks: list[BenchTask], engines: Engines, base: CompanyConfig, out: Path, hub: HubLauncher
) -> dict[str, Any]:
    """Run each requirement through the company in its own run folder under `out`; print a line
    per requirement, then the table and `RESULT`; write `results.json` and `results.md`.

    The caller brings the loaded engines (and closes them) and the hub launcher each run uses.
    """
    out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before the first run
    model = model_facts(engines.default).name
    print(f"ioa bench company: {len(tasks)} requirement(s), model {model}, runs in {out}")
    rows: list[Row] = []
    for number, task in enumerate(tasks, start=1):
        config = base.with_overrides(args=task.args)
        company = Company(engines, hub=hub, config=config, runs_dir=out)
        started = time.monotonic()
        try:
            summary = await company.start(task.requirement, name=task.name)
            row = _row(task, summary.status, summary.metrics, str(summary.folder.path))
        except (IoAError, WorkspaceError) as exc:
            row = Row(task.name, "failed", False, False, 0.0, False, False, "-", 0.0, 0, 0, "")
            row.error = f"{exc.code}: {exc.message}"
        row.seconds = round(time.monotonic() - started, 1)
        rows.append(row)
        print(
            f"[{number}/{len(tasks)}] {task.name}: runs {_yes(row.executable)}, correct "
            f"{_yes(row.correct)}, complete {_yes(row.complete)}, tests {row.tests}, "
            f"{row.seconds:.0f} s, {row.tokens} tokens" + (f" — {row.error}" if row.error else ""),
            flush=True,
        )
        _write(out, rows, model=model, levers=base.levers.model_dump())
    result = _write(out, rows, model=model, levers=base.levers.model_dump())
    print()
    print(table(rows))
    print(f"\nresults: {out / 'results.json'}")
    print("RESULT " + json.dumps(result))
    return result


def _write(out: Path, rows: list[Row], *, model: str, levers: dict[str, Any]) -> dict[str, Any]:
    """`results.json` and `results.md` for the rows so far (rewritten after each requirement,
    so a benchmark stopped half-way still reports what it measured)."""
    result = {**summarise(rows, model=model), "levers": levers}
    (out / "results.json").write_text(
        json.dumps({"summary": result, "requirements": [r.as_dict() for r in rows]}, indent=1)
    )
    (out / "results.md").write_text(f"# ioa bench company — {model}\n\n{table(rows)}\n")
    return result


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _row(task: BenchTask, status: str, metrics: dict[str, Any], run: str) -> Row:
    final = metrics.get("final") or {}
    tokens = metrics["tokens"]["total"]
    counts = final.get("tests", {"passed": 0, "total": 0})
    return Row(
        name=task.name,
        status=status,
        executable=bool(final.get("executable")),
        complete=bool(final.get("complete")),
        completeness=float(final.get("completeness", 0.0)),
        tests_passed=bool(final.get("tests_passed")),
        correct=bool(final.get("executable")) and task.correct(str(final.get("stdout", ""))),
        tests=f"{counts['passed']}/{counts['total']}",
        seconds=0.0,
        tokens=int(tokens["prompt_tokens"] + tokens["completion_tokens"]),
        calls=int(tokens["calls"]),
        run=run,
        syntax_retries=int(metrics.get("levers", {}).get("syntax_retries", 0)),
        sandbox_runs=int(metrics.get("levers", {}).get("sandbox_runs", 0)),
    )


def summarise(rows: list[Row], *, model: str) -> dict[str, Any]:
    """The RESULT figures: rates over requirements, and totals."""
    n = len(rows) or 1
    return {
        "suite": "company",
        "model": model,
        "requirements": len(rows),
        "executability": round(sum(r.executable for r in rows) / n, 3),
        "completeness": round(sum(r.complete for r in rows) / n, 3),
        "completeness_score": round(sum(r.completeness for r in rows) / n, 3),
        "tests_passed": round(sum(r.tests_passed for r in rows) / n, 3),
        "correct": round(sum(r.correct for r in rows) / n, 3),
        "failed_runs": sum(r.status != "done" for r in rows),
        "seconds": round(sum(r.seconds for r in rows), 1),
        "seconds_per_requirement": round(sum(r.seconds for r in rows) / n, 1),
        "tokens": sum(r.tokens for r in rows),
        "calls": sum(r.calls for r in rows),
        "syntax_retries": sum(r.syntax_retries for r in rows),
        "sandbox_runs": sum(r.sandbox_runs for r in rows),
    }


def table(rows: list[Row]) -> str:
    """A Markdown table, one row per requirement."""
    head = (
        "| requirement | runs | correct | complete | tests passed | calls | syntax retries "
        "| sandbox picks | tokens | time (s) |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r.name} | {_yes(r.executable)} | {_yes(r.correct)} | {_yes(r.complete)} "
            f"({r.completeness:.2f}) | {r.tests} | {r.calls} | {r.syntax_retries} "
            f"| {r.sandbox_runs} | {r.tokens} | {r.seconds:.0f} |"
        )
    return "\n".join(lines)
