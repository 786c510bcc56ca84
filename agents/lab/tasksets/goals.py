"""Goal tasks in the lab: a team with a calculator agent, under a group protocol and topology.

Each goal has one checkable answer (`goals.yaml`). The team is `budgets.team` members in roster
order: a lead, generalists, and the calculator (a tool agent, the last node). The lead opens one
group whose meta selects the protocol (`protocol`) and, when the topology is not complete, who may
address whom (`links`, from `agents.lab.topology`); the hub enforces both. The run is correct when
the answer appears, as a whole number, in the group's conclusion; steps are the messages sent.

Arms: `model` members think with the cell's engine (`LLMBrain`, which knows how to call the
calculator: `agents.tool_use`); `random` members draw uniformly
among their legal moves (`RandomBrain`); the `oracle` is a scripted lead that hands the goal's
expression to the calculator and concludes with its result (under `ioa`, complete topology).

Tokens: `coordination` are the members' move calls (what they say to each other); `work` the
rest (answering tasks handed to them).
"""

from __future__ import annotations

import contextlib
import json
import re
from importlib.resources import files
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from agents.brain import Brain, ScriptedBrain, Turn
from agents.crew import TOOLS
from agents.fallback import fallback_move
from agents.lab.cell import Cell, CellContext, Outcome
from agents.lab.errors import LabError
from agents.lab.tasksets.base import TaskSet
from agents.lab.topology import build_graph, links, parse_topology
from agents.llm_brain import LLMBrain
from agents.random_brain import RandomBrain
from agents.runtime import Agent
from agents.tool import ToolBrain
from ioa.console import describe
from protocols import HUB_SENDER, AgentCard, Envelope, Skill

__all__ = ["GROUP_PROTOCOLS", "Goal", "GoalTasks", "load_goals"]

GROUP_PROTOCOLS = ("ioa", "dialectic", "contract_net", "voting")
CALCULATOR = next(t for t in TOOLS if t.name == "calculate")
"""The crew's calculator: its agent card, and the brain's knowledge of how to call it."""
"""Group protocols a goal team may run under (selected by the group's meta `protocol`)."""


class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    goal: str = Field(min_length=1, max_length=500)
    expression: str = Field(min_length=1, max_length=200)
    answer: str = Field(min_length=1, max_length=40)

    def solved_by(self, conclusion: str) -> bool:
        return re.search(rf"(?<![\d.]){re.escape(self.answer)}(?![\d])", conclusion) is not None


def load_goals() -> tuple[Goal, ...]:
    text = files("agents.lab").joinpath("goals.yaml").read_text(encoding="utf-8")
    return tuple(TypeAdapter(list[Goal]).validate_python(yaml.safe_load(text)))


class GoalTasks(TaskSet):
    family = "goals"
    protocols = GROUP_PROTOCOLS
    uses_topology = True
    random_per_protocol = True
    notes = (
        "goals: a lead, generalists and a calculator agent in one group; topology = who may "
        "address whom (group meta `links`); correct = the answer in the conclusion",
    )

    def __init__(self) -> None:
        self.goals = {g.name: g for g in load_goals()}

    def tasks(self) -> tuple[str, ...]:
        return tuple(self.goals)

    def needs_hub(self, cell: Cell) -> bool:
        return True

    async def run(self, cell: Cell, ctx: CellContext) -> Outcome:
        goal = self.goals[cell.task]
        if ctx.hub_url is None:
            raise LabError("a goal cell needs a hub")
        brains = self._brains(cell, ctx, goal)
        cards = _cards(len(brains))
        before = ctx.engine.stats() if ctx.engine is not None else None
        async with contextlib.AsyncExitStack() as stack:
            agents = [
                await stack.enter_async_context(Agent(card, brain, ctx.hub_url))
                for card, brain in zip(cards, brains, strict=True)
            ]
            names = {a.id: c.name for a, c in zip(agents, cards, strict=True)}
            outcome = await self._play(cell, ctx, goal, agents, names)
        if ctx.engine is not None and before is not None:
            after = ctx.engine.stats()
            total = (after.prompt_tokens + after.completion_tokens) - (
                before.prompt_tokens + before.completion_tokens
            )
            talk = sum(_tokens(ctx, a.id) for a in agents)
            outcome.tokens_coordination, outcome.tokens_work = talk, max(0, total - talk)
        outcome.illegal = sum(b.illegal for b in brains if isinstance(b, RandomBrain))
        outcome.figures["moves"] = sum(b.moves for b in brains if isinstance(b, RandomBrain))
        return outcome

    async def _play(
        self, cell: Cell, ctx: CellContext, goal: Goal, agents: list[Agent], names: dict[str, str]
    ) -> Outcome:
        lead, *others = agents
        ids = [a.id for a in agents]
        meta: dict[str, Any] = {"max_turns": ctx.budgets.max_turns}
        protocol = "ioa" if cell.arm == "oracle" else cell.protocol
        if protocol != "ioa":
            meta["protocol"] = protocol
        if cell.arm != "oracle":
            graph = build_graph(parse_topology(cell.topology), len(ids))
            allowed = links(graph, ids)
            if allowed is not None:
                meta["links"] = allowed
        group = await lead.launch(goal.goal, roster=[a.id for a in others], meta=meta)
        error = None
        try:  # over at a conclusion, or (dialectic) at an EXECUTE that ends the group
            await lead.conclusion(group, ctx.budgets.timeout)
        except TimeoutError:
            error = f"no conclusion within {ctx.budgets.timeout:.0f} s"
        envelopes = [e async for page in lead.client.history_pages(group) for e in page]
        conclusion = concluded_text(envelopes)
        dumped = [e.model_dump(mode="json") for e in envelopes]
        lines = [f"goal: {goal.goal} (answer {goal.answer})", *(describe(d, names) for d in dumped)]
        return Outcome(
            success=1.0 if goal.solved_by(conclusion) else 0.0,
            steps=float(sum(e.sender != HUB_SENDER for e in envelopes)),
            figures={
                "conclusion": conclusion[:300],
                "by_hub": any(e.type == "conclusion" and e.sender == HUB_SENDER for e in envelopes),
                "group": group,
                "members": ids,
                "links": meta.get("links"),
            },
            transcript=dumped,
            text="\n".join(lines) + "\n",
            error=error,
        )

    def _brains(self, cell: Cell, ctx: CellContext, goal: Goal) -> list[Brain]:
        team = ctx.budgets.team
        tool: Brain = ToolBrain(CALCULATOR.fn)
        if cell.arm == "oracle":
            return [oracle_lead(goal), *(ScriptedBrain() for _ in range(team - 2)), tool]
        if cell.arm == "random":
            return [*(RandomBrain(cell.seed * 101 + k) for k in range(team - 1)), tool]
        if ctx.engine is None:
            raise LabError("a model cell needs an engine")
        brain = LLMBrain(ctx.engine, temperature=ctx.temperature, tools=[CALCULATOR])
        return [*(brain for _ in range(team - 1)), tool]


def oracle_lead(goal: Goal) -> ScriptedBrain:
    """Hand the expression to the calculator (the last member), then conclude with its result."""

    def move(turn: Turn) -> dict[str, Any]:
        done = [t for t in turn.state.tasks if t.result]
        types = turn.legal.types
        if done and "conclusion" in types:
            return {"type": "conclusion", "text": done[-1].result}
        if done and "conclude" in types:
            return {"type": "conclude", "text": done[-1].result}
        spec = turn.legal.spec("sync_task_assign")
        if spec is not None and not turn.state.tasks:
            calculator = list(turn.names)[-1]
            return {
                "type": "sync_task_assign",
                "assignees": [calculator],
                "title": "calculate",
                "description": goal.expression,
            }
        return fallback_move(turn.legal) or {}

    return ScriptedBrain(move)


def concluded_text(envelopes: list[Envelope]) -> str:
    """What the group concluded: the conclusion's (or a final EXECUTE's) text, and the text and
    content of the proposal it names (a vote's winner, a checked plan)."""
    ending = next((e for e in reversed(envelopes) if e.type in ("conclusion", "execute")), None)
    if ending is None:
        return ""
    parts = [str(getattr(ending.payload, "text", "") or "")]
    named = getattr(ending.payload, "proposal_id", None)
    if named:
        for envelope in envelopes:
            if (
                envelope.type != "conclusion"
                and getattr(envelope.payload, "proposal_id", None) == named
            ):
                parts.append(str(getattr(envelope.payload, "text", "") or ""))
                parts.append(json.dumps(getattr(envelope.payload, "content", None) or {}))
    return " ".join(p for p in parts if p)


def _cards(n: int) -> list[AgentCard]:
    members = [
        AgentCard(
            name="Lead" if k == 0 else f"Member{k}",
            description="Leads the team: splits the goal, hands steps to teammates, concludes."
            if k == 0
            else "A generalist: reasons step by step and answers briefly.",
            skills=[Skill(name="general", tags=["reasoning"])],
        )
        for k in range(n - 1)
    ]
    return [*members, CALCULATOR.card()]


def _tokens(ctx: CellContext, agent: str) -> int:
    if ctx.engine is None:
        return 0
    stats = ctx.engine.stats(agent)
    return stats.prompt_tokens + stats.completion_tokens
