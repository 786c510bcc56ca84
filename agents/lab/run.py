"""Running an experiment: the grid, the cells still to run (in parallel), the table, the plots.

Resumable: each cell's result is a file in `cells/`, written atomically when the cell ends; a
rerun reads those and runs only the cells without one (`fresh` clears them first). Parallel:
`jobs` worker processes (spawned, each with its own model and hub) take cells from one queue; with
one job the cells run in this process. The run folder:

    experiment.yaml        the experiment as validated
    cells/<cell>.json      one result per cell
    transcripts/<cell>.*   every cell's transcript, JSON and text
    runs/<cell>/           what a cell keeps of its own (company run folders)
    hub-<worker>.db        each worker's hub database (group conversations, replayable)
    results.json, results.md, success_steps.png, tokens.png

Ends by printing the table and one line `RESULT {json}`.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from agents.lab.cell import Cell, read_outcome
from agents.lab.errors import LabError
from agents.lab.experiment import Experiment
from agents.lab.grid import Grid, expand
from agents.lab.plots import success_steps_chart, tokens_chart
from agents.lab.table import Row, markdown, rows_of, text_table
from agents.lab.worker import ResourcesFactory, run_cells, worker_main

__all__ = ["LabRun", "default_jobs", "run_experiment"]


@dataclass(frozen=True)
class LabRun:
    rows: list[Row]
    result: dict[str, Any]
    ran: int
    reused: int


def default_jobs(threads: int, cells: int) -> int:
    """As many workers as the CPUs hold at `threads` llama threads each, and no more than cells."""
    return max(1, min(cells, (os.cpu_count() or 1) // max(1, threads)))


def run_experiment(
    experiment: Experiment,
    out: Path,
    factory: ResourcesFactory,
    *,
    jobs: int | None = None,
    fresh: bool = False,
) -> LabRun:
    grid = expand(experiment)
    cells_dir = out / "cells"
    if fresh:
        for sub in ("cells", "transcripts", "runs"):
            shutil.rmtree(out / sub, ignore_errors=True)
    cells_dir.mkdir(parents=True, exist_ok=True)
    (out / "experiment.yaml").write_text(
        yaml.safe_dump(experiment.model_dump(mode="json"), sort_keys=False)
    )
    todo = [c for c in grid.cells if read_outcome(cells_dir / f"{c.id}.json") is None]
    reused = len(grid.cells) - len(todo)
    workers = jobs or experiment.jobs or default_jobs(experiment.threads, max(1, len(todo)))
    workers = max(1, min(workers, len(todo) or 1))
    print(
        f"ioa lab {experiment.name}: {len(grid.cells)} cells, {reused} finished earlier, "
        f"{len(todo)} to run, {workers} at a time; run folder {out}",
        flush=True,
    )
    todo.sort(key=lambda c: c.model)  # a worker keeps its model loaded while the next cell uses it
    if todo and workers == 1:
        asyncio.run(run_cells(todo, experiment, out, factory))
    elif todo:
        _in_processes(todo, experiment, out, factory, workers)
    return _report(experiment, grid, out, ran=len(todo), reused=reused)


def _in_processes(
    todo: list[Cell], experiment: Experiment, out: Path, factory: ResourcesFactory, workers: int
) -> None:
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[Cell | None] = context.Queue()
    for cell in todo:
        queue.put(cell)
    for _ in range(workers):
        queue.put(None)
    processes = [
        context.Process(
            target=worker_main,
            args=(queue, experiment, out, factory, k),
            name=f"lab-worker-{k}",
            daemon=True,
        )
        for k in range(workers)
    ]
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupted) if main else None
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        for process in processes:  # stopped early: a finished cell is saved, the others rerun
            if process.is_alive():
                process.terminate()
                process.join(10)
    failed = [p.name for p in processes if p.exitcode]
    if failed:
        print(f"worker(s) {', '.join(failed)} stopped early; rerun to finish", file=sys.stderr)


def _interrupted(signum: int, frame: object) -> None:
    """SIGTERM to the lab stops its workers too (through the `finally` that joins them)."""
    raise KeyboardInterrupt


def _report(experiment: Experiment, grid: Grid, out: Path, *, ran: int, reused: int) -> LabRun:
    results = [read_outcome(out / "cells" / f"{c.id}.json") for c in grid.cells]
    finished = [r for r in results if r is not None]
    missing = len(results) - len(finished)
    if not finished:
        raise LabError(f"no cell finished; see the output above (run folder {out})")
    rows = rows_of(finished)
    notes = [
        *grid.notes,
        f"{len(experiment.seed_list)} seed(s) per row: {experiment.seed_list}",
        f"budgets: {experiment.budgets.model_dump(exclude_none=True)}; "
        f"temperature {experiment.temperature}; {experiment.threads} llama thread(s) per worker",
    ]
    if missing:
        notes.append(f"{missing} cell(s) unfinished: rerun the same command to finish them")
    title = f"ioa lab {experiment.name}"
    result = {
        "experiment": experiment.name,
        "cells": len(grid.cells),
        "finished": len(finished),
        "ran": ran,
        "reused": reused,
        "rows": [
            {
                "task": f"{r.family}:{r.task}",
                "arm": r.arm,
                "protocol": r.protocol,
                "topology": r.topology,
                "model": r.model,
                "decoding": r.decoding,
                "success": round(r.success, 3),
                "se": round(r.success_se, 3),
                "steps": None if r.steps is None else round(r.steps, 2),
                "illegal": r.illegal,
            }
            for r in rows
        ],
        "out": str(out),
    }
    data = {
        "result": result,
        "notes": notes,
        "rows": [r.to_dict() for r in rows],
        "cells": finished,
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / "results.json").write_text(json.dumps(data, indent=1))
    (out / "results.md").write_text(markdown(title, rows, notes))
    success_steps_chart(rows, title, out / "success_steps.png")
    tokens_chart(rows, title, out / "tokens.png")
    print()
    print(text_table(rows))
    print(f"\noutputs in {out}")
    print("RESULT " + json.dumps(result), flush=True)
    return LabRun(rows, result, ran, reused)
