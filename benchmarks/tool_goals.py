"""Tool goals: the share of the shipped goals the crew answers correctly, with tools and without.

Each of `environments.toolgoals.GOALS` runs through a real hub (loopback) with the bundled model
(`--model` to change it), as `ioa run` would: once with the crew's tool agents, once without
them (the no-tool baseline: the same generalists must answer from the model alone). With tools,
each finite choice is made by likelihood scoring where the engine can score, and by sampling
under the grammar otherwise (`--decoding both` runs each). A goal counts as correct when its
checker finds the expected value in the conclusion. Ends with one `RESULT {json}` line.

    python benchmarks/tool_goals.py [--threads 1] [--goals add,lyon] [--decoding sample]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from agents.choosing import can_score
from agents.goal_runner import ToolGoalOutcome, run_tool_goal
from environments.toolgoals import GOALS
from ioa.commands.local_hub import local_hub
from ioa.llm import load_engine


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="GGUF path or catalog name (default: the bundled one)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--goals", help="comma-separated goal ids (default: all)")
    parser.add_argument(
        "--decoding", choices=["score", "sample", "both"], default="both",
        help="how the tool-using crew makes finite choices",
    )  # fmt: skip
    parser.add_argument("--no-baseline", action="store_true", help="skip the no-tool run")
    parser.add_argument("--max-turns", type=int, default=6)
    parser.add_argument("--transcripts", type=Path, help="write every transcript here (JSON)")
    return parser.parse_args()


def share(outcomes: list[ToolGoalOutcome]) -> float:
    return round(sum(o.correct for o in outcomes) / len(outcomes), 3) if outcomes else 0.0


async def main(args: argparse.Namespace) -> dict[str, Any]:
    chosen = set(args.goals.split(",")) if args.goals else None
    goals = [g for g in GOALS if chosen is None or g.id in chosen]
    conditions: list[tuple[str, bool, Any]] = []
    async with await load_engine(args.model, n_threads=args.threads) as engine:
        decodings = ["score", "sample"] if args.decoding == "both" else [args.decoding]
        if not can_score(engine):
            decodings = [d for d in decodings if d == "sample"] or ["sample"]
        conditions = [(f"tools-{d}", True, d) for d in decodings]
        if not args.no_baseline:
            conditions.append(("no-tools", False, None))
        results: dict[str, list[ToolGoalOutcome]] = {}
        with tempfile.TemporaryDirectory(prefix="ioa-toolgoals-") as tmp:
            async with local_hub(Path(tmp) / "hub.db") as hub_url:
                for name, tools, decoding in conditions:
                    outcomes = results.setdefault(name, [])
                    for goal in goals:
                        outcome = await run_tool_goal(
                            engine, hub_url, goal, tools=tools, decoding=decoding,
                            max_turns=args.max_turns,
                        )  # fmt: skip
                        outcomes.append(outcome)
                        mark = "ok " if outcome.correct else "-- "
                        print(
                            f"{name:13} {mark}{goal.id:14} tool={outcome.tool_assigned} "
                            f"{outcome.seconds:5.1f}s  {outcome.conclusion[:90]!r}",
                            flush=True,
                        )
    if args.transcripts:
        dump = {n: [o.__dict__ for o in os_] for n, os_ in results.items()}
        args.transcripts.write_text(json.dumps(dump, indent=1))
    summary: dict[str, Any] = {"goals": len(goals), "threads": args.threads}
    for name, outcomes in results.items():
        summary[name] = {
            "correct": share(outcomes),
            "right_tool": share([o for o in outcomes if o.right_tool])
            and round(sum(o.right_tool for o in outcomes) / len(outcomes), 3),
            "seconds_per_goal": round(sum(o.seconds for o in outcomes) / len(outcomes), 1),
            "model_calls_per_goal": round(sum(o.model_calls for o in outcomes) / len(outcomes), 1),
            "by_kind": {
                kind: share([o for o, g in zip(outcomes, goals, strict=True) if g.kind == kind])
                for kind in ("arithmetic", "units", "lookup")
            },
        }
    summary["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return summary


if __name__ == "__main__":
    result = asyncio.run(main(parse_args()))
    print("RESULT " + json.dumps(result))
