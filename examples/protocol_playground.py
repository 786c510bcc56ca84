"""Protocol playground: four kinds of agent solve a small goal under the conversation protocol.

The cast (each is an `agents.runtime.Agent`; only the brain differs):

- Reviewer: a scripted brain, plain Python and no model. It opens the conversation, hands the
  goal to both thinkers at once, has the calculator check the arithmetic, then concludes.
- Planner: a local-model brain. For the task it gets, it forms a sub-team: it searches the hub
  for helpers by capability and its model picks who joins. The sub-team's conclusion becomes
  the Planner's task result.
- Analyst: a local-model brain that works alone.
- Calculator: a plain Python function turned into an agent.

The hub runs in this process on a free loopback port. Every move a model makes is decoded under
a grammar built from the moves the protocol allows it right now, so the hub refuses nothing.
The transcript printed is the hub's live stream for the goal, the same one `ioa run` prints.

    python examples/protocol_playground.py               # the bundled model (SmolLM2-135M)
    python examples/protocol_playground.py --tiny        # a tiny generated model: fast, noise text
    python examples/protocol_playground.py --model FILE.gguf --goal "..."

(Run it from a checkout after `pip install -e .`, or with `PYTHONPATH=.`.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import textwrap
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.brain import Job, ScriptedBrain, Turn
from agents.calculator import calculate
from agents.fallback import fallback_move
from agents.llm_brain import LLMBrain
from agents.runtime import Agent, AgentOptions
from agents.tool import ToolBrain, tool_card
from ioa.client import HubClient
from ioa.config import HubConfig
from ioa.console import describe
from ioa.hub import Hub
from ioa.llm import Engine, load_engine, write_tiny_gguf
from protocols import AgentCard, Skill
from protocols.views import GoalDone, GoalStatus

GOAL = (
    "Plan a team lunch for 6 people: the menu costs 12.50 each plus a 15% tip. "
    "Work out 6 * 12.50 * 1.15 and suggest what to order."
)

PLANNER = AgentCard(
    name="Planner",
    description="Plans events and meals step by step, and brings in helpers when useful.",
    skills=[Skill(name="planning", tags=["plan", "lunch", "menu"])],
)
ANALYST = AgentCard(
    name="Analyst",
    description="Weighs options and costs, and explains the trade-offs briefly.",
    skills=[Skill(name="analysis", tags=["costs", "budget", "compare"])],
)
CALCULATOR = tool_card(calculate, name="Calculator", tags=["math", "arithmetic"])
"""Any function becomes an agent: its card comes from the function's name and docstring."""
REVIEWER = AgentCard(
    name="Reviewer",
    description="Hands out the goal, checks the answers and signs off the result.",
    kind="scripted",
    skills=[Skill(name="review", tags=["review", "check"])],
)


# --- the brains -------------------------------------------------------------------------------


class TeamPlanner(LLMBrain):
    """A model-driven brain that always forms a sub-team for a task given at the top level.

    `LLMBrain.wants_team` asks the model; fixing the answer here makes the playground show a
    sub-team every time. Who joins is still up to the model (discovery, then its pick).
    """

    async def wants_team(self, job: Job) -> bool:
        return job.depth == 0


def reviewer_moves(turn: Turn) -> dict[str, Any]:
    """The Reviewer's whole policy: plain code over the conversation state it is shown.

    A move is a dict shaped like the legal-move schema (`protocols.moves`); the runtime checks
    it against the moves the protocol allows right now before sending it.
    """
    if turn.state.initiator != turn.me:
        # Someone else's team (the Planner's model may pick the Reviewer): pass the turn on, or
        # if the turn cap lands here, close with what was said last.
        said = " | ".join(f"{line.sender}: {line.text}" for line in turn.transcript[-2:])
        return fallback_move(turn.legal, summary=short(said, 400)) or {}
    ids = {name: member for member, name in turn.names.items()}
    tasks = turn.state.tasks
    if "conclusion" in turn.legal.types:  # we concluded: now the answer itself
        return {"type": "conclusion", "text": final_answer(turn)}
    if not tasks:
        # One synchronous task for two assignees: the group waits until both have reported.
        return {
            "type": "sync_task_assign",
            "assignees": [ids["Planner"], ids["Analyst"]],
            "title": "plan the lunch",
            "description": turn.goal,
        }
    if len(tasks) == 1:
        return {
            "type": "sync_task_assign",
            "assignees": [ids["Calculator"]],
            "title": "check the arithmetic",
            "description": f"Check the arithmetic: {turn.goal}",
        }
    return {"type": "conclude", "text": "Both plans are in and the arithmetic is checked."}


def final_answer(turn: Turn) -> str:
    plan, check = turn.state.tasks[0], turn.state.tasks[1]
    said = [f"{turn.names[r.agent]}: {short(r.result)}" for r in plan.reports]
    return f"Total checked by the calculator: {check.result}. " + " | ".join(said)


def review(job: Job) -> str:
    """What the Reviewer answers when a task is handed to it (inside someone's sub-team)."""
    return f"Reviewed '{job.title or short(job.description, 60)}': fine by me."


def short(text: str, width: int = 160) -> str:
    return textwrap.shorten(" ".join(text.split()) or "(empty)", width, placeholder="…")


# --- running it -------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str
    """"done" once the top-level conversation concluded."""
    conclusion: str
    group: str
    """The goal's top-level group."""
    sub_teams: list[str] = field(default_factory=list)
    """Groups formed below it, in the order they first spoke."""
    rejections: int = 0
    """Frames the hub refused, by its own count plus each agent's (0 when all is well)."""
    transcript: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def local_engine(
    model: Path | None, tiny: bool, threads: int | None
) -> AsyncIterator[Engine]:
    """The local model both thinkers share: a tiny generated GGUF, `model`, or the bundled one."""
    if not tiny:
        async with await load_engine(model, n_threads=threads) as engine:
            yield engine
        return
    with tempfile.TemporaryDirectory(prefix="ioa-playground-") as tmp:
        gguf = write_tiny_gguf(Path(tmp) / "tiny-minicpm.gguf", "minicpm")
        # One thread: a 64-wide model gains nothing from more, and loses to thread handoffs.
        async with await load_engine(gguf, n_ctx=2048, n_threads=threads or 1) as engine:
            yield engine


async def play(
    goal: str = GOAL,
    *,
    model: Path | None = None,
    tiny: bool = False,
    threads: int | None = None,
    max_turns: int = 8,
    timeout: float = 900.0,
    out: Callable[[str], None] = print,
) -> Outcome:
    """Run the playground once; `out` receives the transcript line by line."""
    with tempfile.TemporaryDirectory(prefix="ioa-playground-hub-") as tmp:
        config = HubConfig(host="127.0.0.1", port=0, database_url=str(Path(tmp) / "hub.db"))
        async with Hub(config) as hub, local_engine(model, tiny, threads) as engine:
            # Small, bounded texts keep a tiny or CPU-only model quick.
            text_max, work_tokens = (40, 16) if tiny else (240, 120)
            # max_depth: how deep sub-teams may nest below the top-level team. The Planner may
            # form one level; the Analyst none (it is never even asked).
            one_level, no_teams = AgentOptions(max_depth=1), AgentOptions(max_depth=0)
            cast = [
                Agent(REVIEWER, ScriptedBrain(reviewer_moves, work=review), hub.url),
                Agent(
                    PLANNER,
                    TeamPlanner(engine, text_max=text_max, work_tokens=work_tokens),
                    hub.url,
                    options=one_level,
                ),
                Agent(
                    ANALYST,
                    LLMBrain(engine, text_max=text_max, work_tokens=work_tokens),
                    hub.url,
                    options=no_teams,
                ),
                Agent(CALCULATOR, ToolBrain(calculate), hub.url),
            ]
            async with contextlib.AsyncExitStack() as stack:
                for agent in cast:
                    await stack.enter_async_context(agent)
                you = await stack.enter_async_context(HubClient(hub.url))
                await you.register(AgentCard(name="you", kind="human", description="the user"))
                # The first member of the roster opens the conversation: the Reviewer.
                posted = await you.post_goal(
                    goal, roster=[agent.id for agent in cast], max_turns=max_turns
                )
                out(f"goal: {goal}\n")
                outcome = await asyncio.wait_for(follow(you, posted, cast, out), timeout)
                health = await you.request("GET", "/v1/health")
                outcome.rejections = sum(health["rejections"].values()) + sum(
                    agent.rejections for agent in cast
                )
                return outcome


async def follow(
    you: HubClient, goal: GoalStatus, cast: list[Agent], out: Callable[[str], None]
) -> Outcome:
    """Print every message of the goal's groups as the hub stores it, then the conclusion."""
    outcome = Outcome(status="running", conclusion="", group=goal.group)
    names = {agent.id: agent.card.name for agent in cast}

    def emit(line: str) -> None:
        outcome.transcript.append(line)
        out(line)

    async for event in you.goal_events(goal.id):
        if isinstance(event, GoalDone):
            outcome.status, outcome.conclusion = event.goal.status, event.goal.conclusion or ""
            break
        data = event.envelope.model_dump(mode="json")
        group = event.envelope.group
        if group != outcome.group and group not in outcome.sub_teams:
            outcome.sub_teams.append(group)
            emit(await sub_team_banner(group, cast, names))
        line = describe(data, names)
        emit(textwrap.indent(line, "    | ") if group != outcome.group else line)
    emit(f"\n{outcome.status.upper()}: {outcome.conclusion}")
    return outcome


async def sub_team_banner(group: str, cast: list[Agent], names: dict[str, str]) -> str:
    """`you` is not in the sub-team, but its members are: ask one of them who is in it."""
    for agent in cast:
        if group in agent.client.groups:
            info = await agent.client.group(group)
            members = ", ".join(names.get(m, m) for m in info.members)
            lead = names.get(info.meta.get("initiator", ""), "?")
            return f"    +-- sub-team of {lead} (depth {info.meta['depth']}): {members}"
    return "    +-- a sub-team"


def main() -> None:
    parser = argparse.ArgumentParser(description="Four agents solve a goal; watch them.")
    parser.add_argument("--goal", default=GOAL)
    parser.add_argument("--model", type=Path, help="GGUF file (default: the bundled model)")
    parser.add_argument("--tiny", action="store_true", help="a tiny generated model (noise)")
    parser.add_argument("--threads", type=int, help="llama.cpp threads (default: the cores)")
    parser.add_argument("--max-turns", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    outcome = asyncio.run(
        play(
            args.goal,
            model=args.model,
            tiny=args.tiny,
            threads=args.threads,
            max_turns=args.max_turns,
            timeout=args.timeout,
        )
    )
    print(f"sub-teams: {len(outcome.sub_teams)}; frames refused by the hub: {outcome.rejections}")


if __name__ == "__main__":
    main()
