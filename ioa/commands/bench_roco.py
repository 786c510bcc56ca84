"""`ioa bench roco`: the robot-team benchmark (`agents.robots.bench`) from the command line.

This module is the benchmark's composition: it parses the options, loads the model (unless only
the oracle runs), starts a hub for the IoA mode and hands both to `agents.robots.bench.bench`.

The parser names the tasks, modes and numeric defaults without importing the robots package
(which loads llama.cpp and LangGraph), so `ioa --help` stays fast; a test keeps these copies
equal to the library's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ioa.commands._options import add_model_options, at_least

if TYPE_CHECKING:
    from agents.robots.bench import BenchModel
    from ioa.llm import Engine

__all__ = ["DEFAULTS", "MODES", "PRIORS", "TASKS", "register", "run"]

TASKS = ("sort", "cabinet", "sweep", "pack", "rope", "sandwich")
"""`environments.rocobench.TASKS`, by name."""
MODES = ("central", "dialog", "ioa", "dialectic", "oracle", "random")
"""`agents.robots.MODES`."""
DEFAULT_MODES = ("central", "dialog", "ioa", "dialectic", "oracle", "random")
"""`agents.robots.bench.DEFAULT_MODES`."""
MODEL_FREE = ("oracle", "random")
HUB_MODES = ("ioa", "dialectic")
DECODINGS = ("score", "grammar", "judge", "judge-calibrated", "judge-shots", "score-shots")
"""`agents.robots.chooser.DECODINGS`."""
PRIORS = ("best", "safe", "none")
"""`agents.robots.options.PRIORS`."""
DEFAULTS = {
    "attempts": 5,
    "max_calls": 10,
    "text_max": 160,
    "temperature": 0.0,
    "hub_turns": 24,
    "decoding": "score",
    "prior": "best",
    "random_prior": "none",
}
"""`agents.robots.runner.DEFAULT_ATTEMPTS` and `agents.robots.ModeSettings`' defaults."""


def register(suites: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = suites.add_parser(
        "roco",
        help="robot teams on six symbolic RoCoBench-style tasks",
        description="Run Central Plan, RoCo Dialog, IoA (robots negotiating checked plans as hub "
        "agents) and RoCo's dialectic through the hub on the symbolic RoCoBench-style tasks "
        "with a local model, beside the scripted oracle and the random-legal baseline.",
    )
    parser.add_argument(
        "--tasks", nargs="+", choices=TASKS, default=list(TASKS), help="tasks to run (default: all)"
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=MODES,
        default=list(DEFAULT_MODES),
        help=f"modes to compare (default: {' '.join(DEFAULT_MODES)})",
    )
    parser.add_argument("--runs", type=at_least(1), default=3, help="seeded runs per task × mode")
    parser.add_argument("--seed", type=int, default=0, help="scene seed of the first run")
    add_model_options(parser)
    parser.add_argument("--out", type=Path, help="output folder (default runs/roco/<time>)")
    parser.add_argument(
        "--attempts", type=at_least(1), default=DEFAULTS["attempts"], help="plans tried per step"
    )
    parser.add_argument(
        "--max-calls", type=at_least(1), default=DEFAULTS["max_calls"],
        help="dialog calls per round",
    )  # fmt: skip
    parser.add_argument(
        "--hub-turns", type=at_least(1), default=DEFAULTS["hub_turns"],
        help="IoA / dialectic turns per group, checks included",
    )  # fmt: skip
    parser.add_argument(
        "--decoding", choices=DECODINGS, default=DEFAULTS["decoding"],
        help="IoA / dialectic: choose actions by likelihood scoring, grammar sampling, or a yes/no "
        "judgement of each option on its own (-shots: after worked examples generated on dev seeds "
        "100-109)",
    )  # fmt: skip
    parser.add_argument(
        "--prior", choices=PRIORS, default=DEFAULTS["prior"],
        help="IoA / dialectic: what the effect grades leave the model to choose among: best "
        "(only the best-graded options, often one), safe (all but those moving away from the "
        "goal), none (all, each shown with its effect)",
    )  # fmt: skip
    parser.add_argument(
        "--no-prior", dest="prior", action="store_const", const="none",
        help="the same as --prior none",
    )  # fmt: skip
    parser.add_argument(
        "--random-prior", choices=PRIORS, default=DEFAULTS["random_prior"],
        help="what the random baseline draws from (default none: every legal option; give the "
        "model's --prior for a row that differs only in who chooses)",
    )  # fmt: skip
    parser.add_argument("--max-steps", type=at_least(1), help="cap below the tasks' step budgets")
    parser.add_argument("--no-history", action="store_true", help="RoCo's w/o-history ablation")
    parser.add_argument(
        "--text-max",
        type=at_least(1),
        default=DEFAULTS["text_max"],
        help=f"longest utterance in characters (default {DEFAULTS['text_max']})",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        default=DEFAULTS["temperature"],
        help="sampling temperature (default 0, as RoCo ran its models)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from agents.robots import EpisodeOptions, ModeSettings
    from agents.robots.bench import BenchConfig, bench

    config = BenchConfig(
        tasks=tuple(dict.fromkeys(args.tasks)),
        modes=tuple(dict.fromkeys(args.modes)),
        runs=args.runs,
        seed=args.seed,
        episode=EpisodeOptions(
            attempts=args.attempts, history=not args.no_history, max_steps=args.max_steps
        ),
        settings=ModeSettings(
            max_calls=args.max_calls,
            text_max=args.text_max,
            temperature=args.temperature,
            hub_turns=args.hub_turns,
            decoding=args.decoding,
            prior=args.prior,
            random_prior=args.random_prior,
            seed=args.seed,
        ),
        **({"out": args.out} if args.out else {}),
    )

    async def main() -> None:
        config.out.mkdir(parents=True, exist_ok=True)
        async with _resources(config.modes, args.model, args.threads, config.out) as resources:
            await bench(config, *resources)

    asyncio.run(main())
    return 0


@contextlib.asynccontextmanager
async def _resources(
    modes: tuple[str, ...], model: str | None, threads: int | None, out: Path
) -> AsyncIterator[tuple[Engine | None, str | None, BenchModel]]:
    """The engine (unless only model-free modes run) and a hub (for the hub modes)."""
    from agents.robots.bench import ORACLE_ONLY, BenchModel
    from ioa.commands.local_hub import local_hub
    from ioa.llm import inspect_gguf, load_engine
    from protocols import ModelFacts

    async with contextlib.AsyncExitStack() as stack:
        engine: Any = None
        facts = ORACLE_ONLY
        if any(m not in MODEL_FREE for m in modes):
            print("loading the model…", file=sys.stderr, flush=True)
            engine = await stack.enter_async_context(await load_engine(model, n_threads=threads))
            found = inspect_gguf(engine.path)
            name = found.name or engine.path.stem
            facts = BenchModel(
                f"{name} ({found.arch}, {found.quant})",
                ModelFacts(name=name, arch=found.arch, quant=found.quant),
            )
        hub_url = None
        if any(m in HUB_MODES for m in modes):
            hub_url = await stack.enter_async_context(local_hub(out / "hub.db"))
        yield engine, hub_url, facts
