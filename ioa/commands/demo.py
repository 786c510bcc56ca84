"""`ioa demo`: the main job on a fresh install — a robot team plans a task together, live.

A hub starts on a free loopback port; each robot of a symbolic RoCoBench-style task joins it as
an agent thinking with the local model (the bundled SmolLM2 unless `--model` or IOA_MODEL names a
MiniCPM GGUF), beside a model-free environment checker. For each round the robots negotiate in a
group under the hub's protocol: proposals of joint plans (each robot's action chosen among its
legal actions by the model), the checker's verdicts, objections with its reasons, acceptances,
and a conclusion naming a checked plan, which the environment executes. By default the task's
whole step budget is played (the episode stops when solved). The talk prints as it happens.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from ioa.commands._options import add_model_options, at_least
from ioa.commands.bench_roco import DECODINGS, PRIORS, TASKS

__all__ = ["register", "run"]

DEFAULT_TASK = "sweep"
DEFAULT_TURNS = 24
DEFAULT_ATTEMPTS = 3
DEFAULT_STEPS = 0
DEFAULT_TIMEOUT = 1800.0
MODES = ("ioa", "dialectic")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="watch a robot team plan a RoCoBench-style task on the local model",
        description="Start a hub and one agent per robot of a symbolic RoCoBench-style task on "
        "the local model (the bundled SmolLM2 unless IOA_MODEL or --model names a MiniCPM "
        "GGUF); print their conversations, plans and the environment's verdicts live, then the "
        "outcome.",
    )
    parser.add_argument(
        "--task", choices=TASKS, default=DEFAULT_TASK, help=f"the task (default {DEFAULT_TASK})"
    )
    parser.add_argument("--seed", type=int, default=0, help="scene seed")
    add_model_options(
        parser,
        threads_default=1,
        threads_help="llama.cpp threads (default 1: on a 2-core machine that is busy with "
        "anything else, 2 threads run 7-10x slower; on an idle one, 2 are about 1.5x faster)",
    )
    parser.add_argument(
        "--mode", choices=MODES, default="ioa", help="group protocol: ioa (default) or dialectic"
    )
    parser.add_argument(
        "--decoding", choices=DECODINGS, default="score",
        help="how a robot picks its action: likelihood scoring (default), grammar sampling, or a "
        "yes/no judgement of each option on its own (-shots: with worked examples from dev seeds)",
    )  # fmt: skip
    parser.add_argument(
        "--max-turns", type=at_least(1), default=DEFAULT_TURNS,
        help=f"turns per group conversation, checks included (default {DEFAULT_TURNS})",
    )  # fmt: skip
    parser.add_argument(
        "--attempts", type=at_least(1), default=DEFAULT_ATTEMPTS, help="plans tried per round"
    )
    parser.add_argument(
        "--max-steps",
        type=at_least(0),
        default=DEFAULT_STEPS,
        help="rounds to play (default 0: the task's whole budget, stopping when solved)",
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds before giving up"
    )
    parser.add_argument(
        "--prior", nargs="?", choices=PRIORS, default="none", const="best",
        help="what the effect grades leave the model to choose among (default none: every "
        "option; --prior alone: best, the best-graded only, often one, then no model call; "
        "safe: all but those moving away from the goal)",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_demo(args))


async def _demo(args: argparse.Namespace) -> int:
    from agents.robots import EpisodeOptions, ModeSettings, format_event, make_planner, run_episode
    from environments.rocobench import make_env
    from ioa.commands.local_hub import local_hub
    from ioa.llm import inspect_gguf, load_engine
    from protocols import ModelFacts

    options = EpisodeOptions(attempts=args.attempts, max_steps=args.max_steps or None)
    settings = ModeSettings(hub_turns=args.max_turns, decoding=args.decoding, prior=args.prior)
    env = make_env(args.task, seed=args.seed)
    # Ctrl-C can land while the hub's database thread still writes there: the cleanup
    # must not turn "interrupted" into "Directory not empty".
    with tempfile.TemporaryDirectory(prefix="ioa-demo-", ignore_cleanup_errors=True) as tmp:
        print("loading the local model…", flush=True)
        async with (
            local_hub(Path(tmp) / "hub.db") as hub_url,
            await load_engine(args.model, n_threads=args.threads) as engine,
        ):
            facts = inspect_gguf(engine.path)
            name = facts.name or engine.path.stem
            print(f"hub on {hub_url}; model {name} ({facts.arch}, {facts.quant})")
            model = ModelFacts(name=name, arch=facts.arch, quant=facts.quant)
            planner = make_planner(args.mode, engine, settings, hub_url=hub_url, model=model)
            started = time.monotonic()
            episode = run_episode(
                env, planner, options, lambda e: print(format_event(e), flush=True)
            )
            try:
                record = await asyncio.wait_for(episode, args.timeout)
            except TimeoutError:
                print(f"\nstopped after {args.timeout:.0f} s (--timeout)")
                return 1
            total = engine.stats()
            print(
                f"{env.title}: {'solved' if record.success else 'not solved'} "
                f"in {record.steps} of {env.max_steps} steps; {time.monotonic() - started:.0f} s"
            )
            print(
                f"plans: {record.checks} checked in the talk ({record.checks_failed} failed the "
                f"check), {record.rejected} rejected by the environment, {record.unparseable} "
                f"unparseable, {record.no_plan} attempts without a plan"
            )
            if record.capped:
                print(f"(stopped at --max-steps {args.max_steps}; 0 plays the task's whole budget)")
            print(
                f"model: {total.calls} calls, {total.prompt_tokens} prompt tokens "
                f"({total.evaluated_prompt_tokens} evaluated), {total.scored_tokens} option "
                f"tokens scored, {total.completion_tokens} generated, {total.seconds:.1f} s"
            )
            return 0
