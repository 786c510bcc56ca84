"""A worker: runs cells with its own model and hub, writing each result.

Each worker process (or the lab's own process when it runs one cell at a time) opens its
resources through a `Resources` the composition root provides (`ioa.commands.lab`): the engine of
the model a cell names, loaded once and kept while the next cells use the same model, with one
llama thread by default; and a hub on loopback, started the first time a cell needs one. A cell's
result is written the moment it ends, so a worker killed midway loses only the cell it was in.

With `concurrent` above 1, a worker runs that many cells of the same model at once: their agents
think at the same time through the one engine, which batches their decoding (`ioa.llm.batch`).
Cells that need the hub still run alone: agents that discover peers on a shared hub would meet
the other cells' agents.
Each such cell sees the engine through an `EngineView` (its own token figures, its own agent
names), so its result is what it would be alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import sys
import time
import traceback
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Protocol

from agents.lab.cell import Cell, CellContext, Outcome, write_outcome, write_transcript
from agents.lab.experiment import Experiment
from agents.lab.tasksets import taskset
from agents.software.company import HubLauncher
from ioa.errors import IoAError
from ioa.llm import Engine
from ioa.llm.view import EngineView
from protocols import ModelFacts

__all__ = ["GRACE", "Resources", "ResourcesFactory", "run_cells", "worker_main"]

GRACE = 30.0
"""Seconds past a cell's own timeout before the worker gives up on it (cleanup time)."""


class Resources(Protocol):
    """What cells share within one worker; an async context manager that closes them. Cells
    running at once call `engine` and `hub` concurrently: each resource is made once."""

    @property
    def launcher(self) -> HubLauncher:
        """Runs a hub over a database file (for task sets that start their own)."""

    async def engine(self, model: str) -> tuple[Engine, ModelFacts]:
        """The engine of `model` (a GGUF path or catalog name), loading it if it is not the
        current one; an `IoAError` when it cannot be loaded."""

    async def hub(self) -> str:
        """The URL of this worker's hub, started on first use."""

    async def __aenter__(self) -> Resources: ...

    async def __aexit__(self, *exc: object) -> None: ...


ResourcesFactory = Callable[[Path, int, int], Resources]
"""(run folder, worker number, llama threads) → the worker's resources (picklable by reference)."""


async def run_cells(
    cells: AsyncIterable[Cell] | Iterable[Cell],
    experiment: Experiment,
    out: Path,
    factory: ResourcesFactory,
    worker: int = 0,
) -> int:
    """Run `cells` in order, up to `experiment.concurrent` of one model at a time; the number run.
    Resource failures (a model that does not load) raise; anything a cell itself does wrong is
    recorded in its result."""
    count = 0
    running: set[asyncio.Task[None]] = set()
    async with factory(out, worker, experiment.threads) as resources:
        try:
            model: str | None = None
            async for cell in _each(cells):
                alone = taskset(cell.family).needs_hub(cell)  # discovery would meet other cells
                if running and (cell.model != model or alone):
                    await _settle(running, all_of_them=True)  # or the engine is about to change
                while len(running) >= experiment.concurrent:
                    await _settle(running, all_of_them=False)
                model = cell.model
                count += 1
                if alone:
                    await _run_one(cell, experiment, out, resources)
                    continue
                running.add(asyncio.create_task(_run_one(cell, experiment, out, resources)))
            await _settle(running, all_of_them=True)
        finally:
            for task in running:
                task.cancel()
    return count


async def _settle(running: set[asyncio.Task[None]], *, all_of_them: bool) -> None:
    """Wait for one (or every) running cell; a resource failure in one raises here."""
    if not running:
        return
    done, _ = await asyncio.wait(
        running, return_when=asyncio.ALL_COMPLETED if all_of_them else asyncio.FIRST_COMPLETED
    )
    running.difference_update(done)
    for task in done:
        task.result()


async def _each(cells: AsyncIterable[Cell] | Iterable[Cell]) -> AsyncIterator[Cell]:
    if isinstance(cells, AsyncIterable):
        async for cell in cells:
            yield cell
    else:
        for cell in cells:
            yield cell


async def _run_one(cell: Cell, experiment: Experiment, out: Path, resources: Resources) -> None:
    ts = taskset(cell.family)
    started = time.time()
    engine, facts = await resources.engine(cell.model) if cell.arm == "model" else (None, None)
    if engine is not None:  # a cell's own agent names (and so seeds), however many run at once
        engine = EngineView(engine, cell.id)
    hub_url = await resources.hub() if ts.needs_hub(cell) else None
    folder = out / "runs" / cell.id
    ctx = CellContext(
        budgets=experiment.budgets,
        temperature=experiment.temperature,
        folder=folder,
        engine=engine,
        facts=facts,
        hub_url=hub_url,
        launcher=resources.launcher,
    )
    clock = time.perf_counter()
    try:
        async with asyncio.timeout(experiment.budgets.timeout + GRACE):
            outcome = await ts.run(cell, ctx)
    except TimeoutError:
        outcome = Outcome(success=0.0, error=f"timed out after {experiment.budgets.timeout:.0f} s")
    except (IoAError, ValueError, OSError, RuntimeError, KeyError) as exc:
        detail = traceback.format_exception_only(exc)[-1].strip()
        outcome = Outcome(success=0.0, error=detail[:500])
    except Exception:  # a bug, not the team's failure: left unfinished, so a rerun retries it
        print(f"cell {cell.id}: crashed, left unfinished", file=sys.stderr, flush=True)
        traceback.print_exc()
        return
    outcome.seconds = round(time.perf_counter() - clock, 2)
    write_transcript(out / "transcripts", cell, outcome)
    write_outcome(out / "cells" / f"{cell.id}.json", cell, outcome, started)
    verdict = "error: " + outcome.error if outcome.error else f"success {outcome.success:.2f}"
    print(f"cell {cell.id}: {verdict} ({outcome.seconds:.1f} s)", flush=True)


def worker_main(
    queue: multiprocessing.Queue[Cell | None],
    experiment: Experiment,
    out: Path,
    factory: ResourcesFactory,
    worker: int,
) -> None:
    """A worker process: take cells from `queue` until its `None`."""

    async def take() -> AsyncIterator[Cell]:
        while (cell := await asyncio.to_thread(queue.get)) is not None:
            yield cell

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_cells(take(), experiment, out, factory, worker))
