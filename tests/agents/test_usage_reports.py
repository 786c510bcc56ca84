"""Agents report their model use on the messages they send: each move what it cost, a task's
result what the task cost, a team's first message what forming it cost; nothing is lost or
counted twice."""

from __future__ import annotations

from typing import Any

from agents.brain import Candidate, Job, ScriptedBrain, Turn
from agents.runtime import Agent
from ioa.hub import Hub
from ioa.llm import AgentStats, ScriptedEngine
from protocols import Envelope
from protocols.usage import Spend, add_spends
from tests.conftest import card

SYSTEM = "You are a member of a small team. Answer with one short sentence, in plain words."


def ask(*context: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": " ".join(context)}]


class Thinking(ScriptedBrain):
    """A scripted brain that asks its engine before each decision, as a model-backed one does:
    moves as the agent itself, work as `work:<group>`, team picks as `team-formation`."""

    def __init__(self, engine: ScriptedEngine, **kw: Any) -> None:
        super().__init__(**kw)
        self.engine = engine

    async def move(self, turn: Turn) -> dict[str, Any]:
        said = " ".join(line.text for line in turn.transcript)
        await self.engine.chat(ask("Goal:", turn.goal, "So far:", said), agent=turn.me)
        return await super().move(turn)

    async def work(self, job: Job) -> str:
        await self.engine.chat(ask("Task:", job.description), agent=f"work:{job.group}")
        return await super().work(job)

    async def pick(
        self, goal: str, candidates: list[Candidate], max_members: int, forced: bool
    ) -> list[str] | None:
        await self.engine.chat(ask("Pick a team for:", goal), agent="team-formation")
        return await super().pick(goal, candidates, max_members, forced)


def lead_moves(turn: Turn) -> dict[str, Any]:
    if "conclusion" in turn.legal.types:
        return {"type": "conclusion", "text": f"result: {turn.state.tasks[0].result}"}
    if turn.state.tasks:
        return {"type": "conclude", "text": "we have it"}
    other = next(m for m in turn.names if m != turn.me)
    return {"type": "sync_task_assign", "assignees": [other], "title": "t", "description": "6*7"}


def reported(history: list[Envelope], sender: str, part: str) -> tuple[Spend, ...]:
    return add_spends(
        *([s for s in e.usage if s.part == part] for e in history if e.sender == sender and e.usage)
    )


def matches(spent: tuple[Spend, ...], stats: AgentStats) -> bool:
    (line,) = spent
    return (line.calls, line.prompt, line.evaluated, line.generated) == (
        stats.calls,
        stats.prompt_tokens,
        stats.evaluated_prompt_tokens,
        stats.completion_tokens,
    )


async def test_moves_and_work_are_reported_on_the_messages_they_produced(hub: Hub) -> None:
    engine = ScriptedEngine(["four words of reply"] * 50)
    async with (
        Agent(card("worker", "math"), Thinking(engine, work=lambda job: "42"), hub.url) as worker,
        Agent(card("lead", "planning"), Thinking(engine, moves=lead_moves), hub.url) as lead,
    ):
        group = await lead.launch("multiply", roster=[worker.id])
        assert await lead.conclusion(group, timeout=30) == "result: 42"
        history = await lead.client.history(group)

    moves = [e for e in history if e.sender == lead.id]
    assert all(e.usage and e.usage[0].part == "coordination" for e in moves)
    assert matches(reported(history, lead.id, "coordination"), engine.stats(lead.id))
    (result,) = [e for e in history if e.type == "task_result"]
    assert result.usage is not None
    assert [(s.part, s.where) for s in result.usage] == [("work", "local")]
    assert matches(reported(history, worker.id, "work"), engine.stats(f"work:{group}"))
    everything = add_spends(*(e.usage for e in history if e.usage))
    assert sum(s.calls for s in everything) == engine.stats().calls  # none lost, none twice


async def test_forming_a_team_is_reported_on_the_leads_first_message_there(hub: Hub) -> None:
    engine = ScriptedEngine(["a reply"] * 50)
    async with (
        Agent(card("worker", "math"), Thinking(engine, work=lambda job: "42"), hub.url) as worker,
        Agent(card("lead", "planning"), Thinking(engine, moves=lead_moves), hub.url) as lead,
    ):
        group = await lead.launch("math: multiply 6 by 7")  # no roster: the lead picks a team
        await lead.conclusion(group, timeout=30)
        history = await lead.client.history(group)
        members = (await lead.client.group(group)).members
    assert members == [lead.id, worker.id]
    first = history[0]
    assert first.sender == lead.id
    assert first.usage is not None
    formation = engine.stats("team-formation")
    assert formation.calls >= 1
    coordination = reported(history, lead.id, "coordination")[0]
    assert coordination.calls == formation.calls + engine.stats(lead.id).calls
