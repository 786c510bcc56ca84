"""`ioa lab EXPERIMENT.yaml`: run an experiment grid (`agents.lab`) and report it.

This module is the lab's composition: it validates the file, then hands `agents.lab` a factory
of worker resources (`LocalResources`: a model loaded per worker with one llama thread by
default, and a hub on loopback started on first use). The factory is a class defined here, so a
spawned worker process finds it by name.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ioa.commands._options import at_least

if TYPE_CHECKING:
    from agents.software.company import HubLauncher
    from ioa.llm import Engine
    from protocols import ModelFacts

__all__ = ["BUNDLED", "LocalResources", "register", "resolve_model", "run"]

BUNDLED = ("default", "bundled")
"""Model names that mean the default model (IOA_MODEL, else the bundled SmolLM2)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "lab",
        help="run an experiment: protocols × topologies × models × tasks × seeds",
        description="Run the grid an experiment file describes, beside the oracle and a random "
        "legal-action baseline; resumable (a rerun skips finished cells). Writes every "
        "transcript, results.json/.md and PNG charts to the run folder and ends with one line "
        "`RESULT {json}`. Examples in examples/lab/.",
    )
    parser.add_argument(
        "experiment", type=Path, metavar="EXPERIMENT.yaml", help="the experiment file to run"
    )
    parser.add_argument("--out", type=Path, help="run folder (default runs/lab/<name>)")
    parser.add_argument(
        "--jobs", type=at_least(1), help="cells at once (default: the file's, else CPUs/threads)"
    )
    parser.add_argument(
        "--concurrent",
        type=at_least(1),
        help="cells each worker runs at once through its one model (default: the file's, else 1)",
    )
    parser.add_argument("--fresh", action="store_true", help="forget finished cells, run all")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from agents.lab import BadExperiment, expand, load_experiment, run_experiment

    experiment = load_experiment(args.experiment)
    if args.concurrent:
        experiment = experiment.model_copy(update={"concurrent": args.concurrent})
    try:
        expand(experiment)  # a bad task or protocol fails here, before any folder is made
    except BadExperiment as exc:
        raise BadExperiment(f"{args.experiment.name}: {exc.message}") from None
    out = args.out or Path("runs") / "lab" / experiment.name
    # concurrent cells batch their decoding on the worker's one model: a sequence slot each
    factory = functools.partial(LocalResources, slots=experiment.concurrent)
    lab = run_experiment(experiment, out, factory, jobs=args.jobs, fresh=args.fresh)
    return 0 if lab.result["finished"] == lab.result["cells"] else 1


def resolve_model(spec: str) -> Path | None:
    """A GGUF path, a catalog name (in the models folder) or `default`; None for the default."""
    from ioa.llm.catalog import find_entry, models_dir
    from ioa.llm.errors import ModelNotFound

    if spec in BUNDLED:
        return None
    path = Path(spec).expanduser()
    if path.suffix == ".gguf" or path.exists():
        if not path.is_file():
            raise ModelNotFound(path, "no such GGUF file")
        return path
    entry = find_entry(spec)
    found = models_dir() / entry.filename
    if not found.is_file():
        raise ModelNotFound(found, f"run `ioa models pull {entry.name}` first")
    return found


class LocalResources:
    """One worker's model (the current one) and hub, closed when the worker ends."""

    def __init__(self, out: Path, worker: int, threads: int, slots: int = 1) -> None:
        self.out, self.worker, self.threads, self.slots = out, worker, threads, slots
        self._stack = contextlib.AsyncExitStack()
        self._engine_stack: contextlib.AsyncExitStack | None = None
        self._model: str | None = None
        self._engine: tuple[Engine, ModelFacts] | None = None
        self._hub: str | None = None
        self._lock = asyncio.Lock()  # concurrent cells must not load a model or start a hub twice

    @property
    def launcher(self) -> HubLauncher:
        from ioa.commands.local_hub import local_hub

        return local_hub

    async def engine(self, model: str) -> tuple[Engine, ModelFacts]:
        async with self._lock:
            return await self._load(model)

    async def _load(self, model: str) -> tuple[Engine, ModelFacts]:
        from ioa.llm import inspect_gguf, load_engine
        from protocols import ModelFacts

        if self._engine is not None and self._model == model:
            return self._engine
        if self._engine_stack is not None:
            await self._engine_stack.aclose()
        self._engine_stack = contextlib.AsyncExitStack()
        print(f"worker {self.worker}: loading {model}…", file=sys.stderr, flush=True)
        engine: Any = await self._engine_stack.enter_async_context(
            await load_engine(resolve_model(model), n_threads=self.threads, slots=self.slots)
        )
        found = inspect_gguf(engine.path)
        name = found.name or engine.path.stem
        self._model = model
        self._engine = (engine, ModelFacts(name=name, arch=found.arch, quant=found.quant))
        return self._engine

    async def hub(self) -> str:
        async with self._lock:
            return await self._start_hub()

    async def _start_hub(self) -> str:
        from ioa.commands.local_hub import local_hub

        if self._hub is None:
            database = self.out / f"hub-{self.worker}-{time.strftime('%Y%m%d-%H%M%S')}.db"
            self._hub = await self._stack.enter_async_context(local_hub(database))
        return self._hub

    async def __aenter__(self) -> LocalResources:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._engine_stack is not None:
            await self._engine_stack.aclose()
        await self._stack.aclose()
