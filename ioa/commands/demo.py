"""`ioa demo`: the main job on a fresh install — a local team solves a small goal, live."""

from __future__ import annotations

import argparse
import asyncio

from ioa.commands.run import add_local_options, follow_goal, local_team

DEMO_GOAL = (
    "Plan a small picnic for four friends: list what to bring, and compute the cost of "
    "4 sandwiches at 3.5 euros each plus 2 bottles of juice at 2 euros each."
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="watch a local team of agents solve a small goal",
        description="Start a hub and a small team of agents on the local model (the bundled "
        "SmolLM2 unless IOA_MODEL or --model names a MiniCPM GGUF), give them a goal, and print "
        "their conversation and conclusion.",
    )
    add_local_options(parser)
    parser.set_defaults(handler=run, max_turns=8)


def run(args: argparse.Namespace) -> int:
    async def demo() -> int:
        async with local_team(args.model) as team:
            code = await follow_goal(team.user, DEMO_GOAL, args.max_turns, args.timeout)
            team.print_stats()
            return code

    return asyncio.run(demo())
