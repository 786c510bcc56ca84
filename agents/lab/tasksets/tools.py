"""Tool goals in the lab: the shipped tool-requiring goals (`environments.toolgoals`), worked by
the default crew as `ioa run` works a goal (`agents.goal_runner.run_tool_goal`).

Protocols: `ioa` is the crew with its tool agents (calculator, unit converter, table look-up);
`no_tools` is the same crew without them, the issue's no-tool baseline. Decoding (`score` or
`grammar`, i.e. sampling under the grammar) applies to the crew with tools. The random baseline
is the crew with its generalists replaced by `RandomBrain`s (uniform legal moves, content drawn
from the goal and the talk) beside the same tools. There is no oracle row: a scripted crew that
states the expected value would measure the checker, not a team. Topology does not apply: the
hub's leader forms the team by discovery. Correct = the checker finds the expected value in the
conclusion. Tokens: `work` are the generalists' answers to tasks handed to them, `coordination`
everything else (moves, tool choice and arguments, team formation).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from agents.crew import CREW, TOOLS
from agents.goal_runner import post_and_follow, run_tool_goal
from agents.lab.cell import Cell, CellContext, Outcome
from agents.lab.errors import LabError
from agents.lab.tasksets.base import TaskSet
from agents.random_brain import RandomBrain
from agents.runtime import Agent
from agents.tool import ToolBrain
from environments.toolgoals import GOALS, ToolGoal, check
from ioa.client import HubClient
from ioa.console import describe
from protocols import Envelope

__all__ = ["ToolTasks"]

DECODING = {"score": "score", "grammar": "sample"}
"""The lab's decoding names → the crew's."""


class ToolTasks(TaskSet):
    family = "tools"
    protocols = ("ioa", "no_tools")
    baselines = ("random",)
    decodings = tuple(DECODING)
    notes = (
        "tools: protocol ioa = the crew with its tools, no_tools = without (the no-tool "
        "baseline); no oracle row; topology does not apply (the leader forms the team)",
    )

    def __init__(self) -> None:
        self.goals: dict[str, ToolGoal] = {g.id: g for g in GOALS}

    def tasks(self) -> tuple[str, ...]:
        return tuple(self.goals)

    def needs_hub(self, cell: Cell) -> bool:
        return True

    def decides(self, protocol: str) -> bool:
        return protocol == "ioa"

    async def run(self, cell: Cell, ctx: CellContext) -> Outcome:
        goal = self.goals[cell.task]
        if ctx.hub_url is None:
            raise LabError("a tool goal needs a hub")
        if cell.arm == "random":
            return await _random_crew(goal, cell.seed, ctx)
        if ctx.engine is None:
            raise LabError("a model cell needs an engine")
        before = ctx.engine.stats()
        decoding: Any = DECODING[cell.decoding]
        outcome = await run_tool_goal(
            ctx.engine,
            ctx.hub_url,
            goal,
            tools=cell.protocol == "ioa",
            decoding=decoding,
            max_turns=ctx.budgets.max_turns,
            timeout=ctx.budgets.timeout,
            model=ctx.facts,
        )
        after = ctx.engine.stats()
        total = after.prompt_tokens + after.completion_tokens
        total -= before.prompt_tokens + before.completion_tokens
        work = _work_tokens(ctx, outcome.transcript)
        return Outcome(
            success=1.0 if outcome.correct else 0.0,
            steps=float(len(outcome.transcript)),
            tokens_coordination=max(0, total - work),
            tokens_work=work,
            figures={
                "status": outcome.status,
                "conclusion": outcome.conclusion[:300],
                "tool": outcome.tool_assigned,
                "right_tool": outcome.right_tool,
                "calls": outcome.model_calls,
            },
            transcript=outcome.transcript,
            text=_text(goal, outcome.transcript, outcome.conclusion),
        )


def _work_tokens(ctx: CellContext, transcript: list[dict[str, Any]]) -> int:
    """Tokens of the crew's task answers: `LLMBrain.work` calls, one engine agent per group."""
    if ctx.engine is None:
        return 0
    groups = {str(e.get("group")) for e in transcript}
    stats = [ctx.engine.stats(f"work:{g}") for g in groups]
    return sum(s.prompt_tokens + s.completion_tokens for s in stats)


async def _random_crew(goal: ToolGoal, seed: int, ctx: CellContext) -> Outcome:
    """The crew with uniformly random legal moves, beside the real tools, on the same goal."""
    if ctx.hub_url is None:
        raise LabError("a tool goal needs a hub")
    brains = [RandomBrain(seed * 101 + k) for k in range(len(CREW))]
    transcript: list[Envelope] = []
    status, conclusion = "timeout", ""
    async with contextlib.AsyncExitStack() as stack:
        for card, brain in zip(CREW, brains, strict=True):
            await stack.enter_async_context(Agent(card, brain, ctx.hub_url))
        for tool in TOOLS:
            await stack.enter_async_context(Agent(tool.card(), ToolBrain(tool.fn), ctx.hub_url))
        user = await stack.enter_async_context(HubClient(ctx.hub_url))
        with contextlib.suppress(TimeoutError):
            status, conclusion = await asyncio.wait_for(
                post_and_follow(user, goal.text, ctx.budgets.max_turns, transcript),
                ctx.budgets.timeout,
            )
    dumped = [e.model_dump(mode="json") for e in transcript]
    return Outcome(
        success=1.0 if status == "done" and check(goal, conclusion) else 0.0,
        steps=float(len(transcript)),
        illegal=sum(b.illegal for b in brains),
        figures={
            "status": status,
            "conclusion": conclusion[:300],
            "moves": sum(b.moves for b in brains),
        },
        transcript=dumped,
        text=_text(goal, dumped, conclusion),
        error=None if status != "timeout" else f"no conclusion within {ctx.budgets.timeout:.0f} s",
    )


def _text(goal: ToolGoal, transcript: list[dict[str, Any]], conclusion: str) -> str:
    names: dict[str, str] = {}
    lines = [f"goal: {goal.text} (answer {goal.answer})"]
    lines += [describe(e, names) for e in transcript]
    lines.append(f"conclusion: {conclusion}")
    return "\n".join(lines) + "\n"
