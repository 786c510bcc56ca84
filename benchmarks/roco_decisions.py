"""Dev decisions: how often each decoder picks a best-graded option along the oracle's paths.

A cheap proxy for the robot benchmark, on scenes no benchmark or demonstration uses: for each
task and dev seed (110–112 by default; the benchmark runs 0–4, the `*-shots` examples come from
100–109), the scripted oracle is replayed, and at each state every robot decides among all its
legal, not pointless options (no effect prior), each described by its effect beside the oracle's
lines for its teammates. A decision counts where the options' grades differ; the decoder is right
when its choice has the best grade. `random` is the exact expectation of a uniform pick (the share
of best-graded options). `away` is the share of decisions where the decoder chose an option that
moves away from the goal (grade < 0) although one that does not existed: the error that undoes
Sort. Ends with one `RESULT {json}` line.

    PYTHONPATH=. python benchmarks/roco_decisions.py [--decoders judge judge-shots] [--shots 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from agents.robots.chooser import DECODINGS, ActionChooser
from agents.robots.demonstrations import DEMO_SEEDS, oracle_walk
from agents.robots.options import action_options
from environments.rocobench.effects import effect
from ioa.llm import Engine, load_engine

TASKS = ("sort", "cabinet", "sweep", "sandwich")
EVAL_SEEDS = (110, 111, 112)
BENCHMARK_SEEDS = (0, 1, 2, 3, 4)
DECODERS = ("random", "judge", "judge-shots", "score", "score-shots")


async def evaluate(
    engine: Engine | None, decoder: str, task: str, seeds: tuple[int, ...], args: argparse.Namespace
) -> tuple[float, float, int, int]:
    """(best-graded picks, picks away from the goal, decisions, model calls) of `decoder` on
    `task` over `seeds`."""
    right, away, decisions, calls = 0.0, 0.0, 0, 0
    for seed in seeds:
        for env, plan in oracle_walk(task, seed):
            lines = {a.robot: a for a in plan.actions}
            context = f"Task {task}, round {env.steps + 1}, attempt 1 of 5."
            for robot in env.robots:
                options = action_options(env, robot)
                partners = {r: a for r, a in lines.items() if r != robot}
                values = [effect(env, a, partners).value for a in options]
                best = max(values, default=0.0)
                if len(set(values)) < 2:
                    continue
                decisions += 1
                avoidable = best >= 0
                if decoder == "random" or engine is None:
                    right += values.count(best) / len(values)
                    away += avoidable * sum(v < 0 for v in values) / len(values)
                    continue
                chooser = ActionChooser(
                    engine,
                    env,
                    robot,
                    decoding=decoder,  # type: ignore[arg-type]
                    prior="none",
                    shots=args.shots,
                    shot_style=args.style,
                )
                chosen = await chooser.choose(robot, options, context, partners=partners)
                calls += chosen.calls
                value = values[options.index(chosen.action)]
                right += value >= best
                away += avoidable and value < 0
    return right, away, decisions, calls


async def main(args: argparse.Namespace) -> dict[str, Any]:
    seeds = tuple(args.seeds)
    if set(seeds) & (set(DEMO_SEEDS) | set(BENCHMARK_SEEDS)):
        raise SystemExit("dev decisions must use seeds outside the demo and benchmark seeds")
    needs_model = any(d != "random" for d in args.decoders)
    engine = await load_engine(args.model, n_threads=args.threads) if needs_model else None
    table: dict[str, dict[str, Any]] = {}
    try:
        for decoder in args.decoders:
            row: dict[str, Any] = {}
            total_right, total_away, total_n, total_calls = 0.0, 0.0, 0, 0
            started = time.monotonic()
            for task in args.tasks:
                right, away, n, calls = await evaluate(engine, decoder, task, seeds, args)
                row[task] = round(right / n, 3) if n else None
                row[f"{task}_away"] = round(away / n, 3) if n else None
                total_right, total_away = total_right + right, total_away + away
                total_n, total_calls = total_n + n, total_calls + calls
                print(
                    f"{decoder:12} {task:9} {right / max(1, n):.3f} of {n}, away "
                    f"{away / max(1, n):.3f} ({calls} calls)"
                )
            row["all"] = round(total_right / max(1, total_n), 3)
            row["away"] = round(total_away / max(1, total_n), 3)
            row["calls"] = total_calls
            row["decisions"] = total_n
            row["seconds"] = round(time.monotonic() - started, 1)
            table[decoder] = row
            print(f"{decoder:12} all       {row['all']:.3f} of {total_n} ({row['seconds']} s)")
    finally:
        if engine is not None:
            await engine.close()
    result = {
        "suite": "roco_decisions",
        "seeds": list(seeds),
        "shots": args.shots,
        "style": args.style,
        "accuracy": table,
    }
    print("RESULT " + json.dumps(result))
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="GGUF path or catalog name (default: the bundled one)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(EVAL_SEEDS))
    parser.add_argument(
        "--decoders", nargs="+", choices=("random", *DECODINGS), default=list(DECODERS)
    )
    parser.add_argument("--shots", type=int, default=8, help="examples per *-shots prompt")
    parser.add_argument("--style", choices=("turns", "system", "inline"), default="inline")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
