"""Agents run their conversations end to end through a real hub."""

from __future__ import annotations

import asyncio
from typing import Any

from agents.brain import Job, ScriptedBrain, Turn
from agents.runtime import Agent
from agents.runtime.agent import _cancel_all
from ioa.hub import Hub
from tests.conftest import AgentFactory, card


def lead_moves(turn: Turn) -> dict[str, Any]:
    """Assign one synchronous task to the other member, then conclude with its result."""
    state = turn.state
    if "conclusion" in turn.legal.types:
        return {"type": "conclusion", "text": f"result: {state.tasks[0].result}"}
    if state.tasks:
        return {"type": "conclude", "text": "we have it"}
    other = next(m for m in turn.names if m != turn.me)
    return {
        "type": "sync_task_assign",
        "assignees": [other],
        "title": "compute",
        "description": "what is 6 times 7?",
    }


async def test_lead_assigns_a_task_and_concludes_with_its_result(hub: Hub) -> None:
    worker_brain = ScriptedBrain(
        work=lambda job: str(6 * 7) if "6 times 7" in job.description else "?"
    )
    async with (
        Agent(card("worker", "math"), worker_brain, hub.url) as worker,
        Agent(card("lead", "planning"), ScriptedBrain(lead_moves), hub.url) as lead,
    ):
        group = await lead.launch("multiply", roster=[worker.id])
        assert await lead.conclusion(group, timeout=30) == "result: 42"
        assert await worker.conclusion(group, timeout=30) == "result: 42"
        assert lead.rejections == worker.rejections == 0


async def test_garbage_from_a_brain_becomes_a_legal_fallback(hub: Hub) -> None:
    junk = ScriptedBrain(lambda turn: {"type": "shout", "text": 7})
    async with (
        Agent(card("a"), junk, hub.url) as a,
        Agent(card("b"), ScriptedBrain(), hub.url) as b,
    ):
        group = await a.launch("anything", roster=[b.id], meta={"max_turns": 4})
        text = await a.conclusion(group, timeout=30)
        assert text
        assert a.rejections == 0


async def test_an_agent_sees_a_conversation_the_hub_ended_as_over(
    hub: Hub, make_agent: AgentFactory
) -> None:
    async def too_slow(turn: Turn) -> dict[str, Any]:
        await asyncio.sleep(1.0)  # longer than the three lapsed turns that end the group
        return {"type": "discussion", "text": "sorry, I was thinking"}

    silent = await make_agent("silent", connect=False)
    async with Agent(card("slow"), ScriptedBrain(too_slow), hub.url) as slow:
        group = await slow.launch(
            "anyone?", roster=[str(silent.agent_id)], meta={"turn_timeout": 0.2}
        )
        text = await slow.conclusion(group, timeout=10)
        assert text == "ended by the hub: no member spoke for 3 turns"
        history = await silent.history(group)
        assert [e.type for e in history] == ["timeout"] * 3 + ["conclusion"]


async def test_stopping_repeats_a_cancellation_that_was_swallowed() -> None:
    """LangGraph can swallow a cancellation that lands inside a run, and the agent's loop then
    waited for its next event: `stop()` hung for ever (a CI timeout, 1 run in ~90)."""
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            swallowed += 1
        await asyncio.Event().wait()

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(_cancel_all({task}, patience=0.05), 10)
    assert swallowed == 1
    assert task.cancelled()


async def test_team_formation_by_discovery(hub: Hub) -> None:
    seen: list[Job] = []

    def work(job: Job) -> str:
        seen.append(job)
        return "haiku written"

    def lead(turn: Turn) -> dict[str, Any]:
        if "conclusion" in turn.legal.types:
            return {"type": "conclusion", "text": turn.state.tasks[0].result or ""}
        if turn.state.tasks:
            return {"type": "conclude", "text": ""}
        poet = next(m for m, n in turn.names.items() if n == "poet")
        return {
            "type": "sync_task_assign",
            "assignees": [poet],
            "title": "poem",
            "description": "write a haiku",
        }

    async with (
        Agent(
            card("poet", "poetry", description="writes poems and haiku"),
            ScriptedBrain(work=work),
            hub.url,
        ),
        Agent(card("chef", "cooking", description="cooks pasta"), ScriptedBrain(), hub.url),
        Agent(card("lead"), ScriptedBrain(lead), hub.url) as boss,
    ):
        group = await boss.launch("a haiku poem about spring")
        assert await boss.conclusion(group, timeout=30) == "haiku written"
        members = (await boss.client.group(group)).members
        names = {(await boss.client.agent(m)).card.name for m in members}
        assert "poet" in names
        assert len(seen) == 1
