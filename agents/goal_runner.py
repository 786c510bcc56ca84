"""Running one tool goal through a real hub: the crew works it, the checker marks the answer.

`run_tool_goal` is what `benchmarks/tool_goals.py` and the lab's "tools" task set call: it
starts the default crew (with or without its tools) on a hub it is handed, posts the goal as a
person would, follows the goal's messages to its conclusion, stops the crew, and says whether
the conclusion states the expected value. Nothing is shared between calls but the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from agents.choosing import Decoding
from agents.crew import TOOLS, crew
from environments.toolgoals import ToolGoal, check
from ioa.client import HubClient
from ioa.llm import Engine
from protocols import AgentCard, Envelope, ModelFacts
from protocols.views import GoalDone


@dataclass
class ToolGoalOutcome:
    goal: str
    """The goal's id in the shipped set."""
    correct: bool
    status: str
    """"done", "failed" (the hub ended the team) or "timeout"."""
    conclusion: str
    tool_assigned: str | None
    """The first tool a task was assigned to, if any."""
    right_tool: bool
    seconds: float
    model_calls: int
    transcript: list[dict[str, object]] = field(default_factory=list)
    """Every message of the goal's groups, as JSON."""
    names: dict[str, str] = field(default_factory=dict)
    """agent id → display name, for everyone in the transcript."""


async def post_and_follow(
    user: HubClient, goal: str, max_turns: int, transcript: list[Envelope]
) -> tuple[str, str]:
    """Register `user` as the person asking, post `goal`, and collect its messages into
    `transcript` until it ends; returns the goal's status and conclusion."""
    await user.register(AgentCard(name="you", kind="human", description="the user"))
    posted = await user.post_goal(goal, max_turns=max_turns)
    async for event in user.goal_events(posted.id):
        if isinstance(event, GoalDone):
            return event.goal.status, event.goal.conclusion or ""
        transcript.append(event.envelope)
    final = await user.goal(posted.id)
    return final.status, final.conclusion or ""


async def run_tool_goal(
    engine: Engine,
    hub_url: str,
    goal: ToolGoal,
    *,
    tools: bool = True,
    decoding: Decoding | None = None,
    always_use_tools: bool = False,
    max_turns: int = 6,
    timeout: float = 300.0,
    model: ModelFacts | None = None,
) -> ToolGoalOutcome:
    """Work `goal` with the crew on the hub at `hub_url`; `tools=False` is the no-tool baseline."""
    calls_before = engine.stats().calls
    started = time.monotonic()
    tool_names = {t.name for t in TOOLS}
    transcript: list[Envelope] = []
    async with contextlib.AsyncExitStack() as stack:
        agents = crew(
            engine,
            hub_url,
            model,
            tools=tools,
            decoding=decoding,
            always_use_tools=always_use_tools,
        )
        for agent in agents:
            await stack.enter_async_context(agent)
        user = await stack.enter_async_context(HubClient(hub_url))
        names: dict[str, str] = {"hub": "hub"}
        try:
            status, conclusion = await asyncio.wait_for(
                post_and_follow(user, goal.text, max_turns, transcript), timeout
            )
        except TimeoutError:
            status, conclusion = "timeout", ""
        names.update({a.id: a.card.name for a in agents})
    assigned = next(
        (
            names.get(e.to[0])
            for e in transcript
            if e.type in ("sync_task_assign", "async_task_assign")
            and e.to
            and names.get(e.to[0]) in tool_names
        ),
        None,
    )
    return ToolGoalOutcome(
        goal=goal.id,
        correct=status == "done" and check(goal, conclusion),
        status=status,
        conclusion=conclusion,
        tool_assigned=assigned,
        right_tool=assigned == goal.tool,
        seconds=time.monotonic() - started,
        model_calls=engine.stats().calls - calls_before,
        transcript=[e.model_dump(mode="json") for e in transcript],
        names=names,
    )
