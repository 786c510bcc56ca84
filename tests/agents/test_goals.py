"""Goals posted to the hub are answered by a team, with progress streamed as it happens."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from agents.brain import ScriptedBrain
from agents.runtime import Agent
from ioa.client import ClientError, HubClient
from ioa.hub import Hub
from protocols import AgentCard
from tests.agents.scripts import Pick, delegate_then_conclude
from tests.conftest import AgentFactory, card


async def wait_done(client: HubClient, goal_id: str, timeout: float = 15) -> dict[str, Any]:
    async def poll() -> dict[str, Any]:
        while True:
            goal = await client.request("GET", f"/v1/goals/{goal_id}")
            if goal["status"] != "running":
                return dict(goal)
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), timeout)


async def read_events(hub: Hub, token: str, goal_id: str) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{hub.url}/v1/goals/{goal_id}/events", headers=headers) as resp,
    ):
        kind = ""
        async for raw in resp.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    return events


async def test_goal_with_a_roster_is_concluded_and_streamed(
    hub: Hub, make_agent: AgentFactory
) -> None:
    user = await make_agent("user", connect=False)
    async with (
        Agent(card("worker"), ScriptedBrain(work=lambda j: "42"), hub.url) as worker,
        Agent(card("lead"), ScriptedBrain(delegate_then_conclude()), hub.url) as lead,
    ):
        goal = await user.request(
            "POST", "/v1/goals", {"goal": "the answer", "roster": [lead.id, worker.id]}
        )
        assert goal["status"] == "running"
        events = asyncio.create_task(read_events(hub, user.token, goal["id"]))  # type: ignore[arg-type]
        done = await wait_done(user, goal["id"])
        assert (done["status"], done["conclusion"]) == ("done", "42")
        streamed = await asyncio.wait_for(events, 10)
        kinds = [e[1]["payload"]["type"] for e in streamed if e[0] == "message"]
        assert kinds == ["sync_task_assign", "task_result", "conclude", "conclusion"]
        assert streamed[-1][0] == "done"
        assert streamed[-1][1]["conclusion"] == "42"


async def test_goal_without_roster_gets_a_leader_who_forms_the_team(
    hub: Hub, make_agent: AgentFactory
) -> None:
    user = await make_agent("user", connect=False)
    lead_card = AgentCard(name="organiser", description="organises teams for travel planning")
    async with (
        Agent(
            card("booker", "travel", description="books travel and hotels"),
            ScriptedBrain(work=lambda j: "booked"),
            hub.url,
        ),
        Agent(lead_card, Pick(["booker"], moves=delegate_then_conclude("booker")), hub.url) as lead,
    ):
        goal = await user.request("POST", "/v1/goals", {"goal": "plan travel to Rome"})
        done = await wait_done(user, goal["id"])
        assert done["conclusion"] == "booked"
        root = await lead.client.group(done["group"])
        assert root.members == [lead.id]
        assert root.meta["form_team"] is True


async def test_goal_requests_are_checked(hub: Hub, make_agent: AgentFactory) -> None:
    user, other = await make_agent("user", connect=False), await make_agent("x", connect=False)
    for body, code in [
        ({"goal": ""}, "invalid_request"),
        ({"goal": "x", "roster": ["a-nobody"]}, "unknown_agent"),
        ({"goal": "nobody online can lead this"}, "invalid_request"),
    ]:
        with pytest.raises(ClientError) as err:
            await user.request("POST", "/v1/goals", body)
        assert err.value.code == code
    with pytest.raises(ClientError) as missing:
        await user.request("GET", "/v1/goals/goal-none")
    assert missing.value.code == "not_found"
    goal = await user.request("POST", "/v1/goals", {"goal": "g", "roster": [other.agent_id]})
    with pytest.raises(ClientError) as forbidden:
        await (await make_agent("z", connect=False)).request("GET", f"/v1/goals/{goal['id']}")
    assert forbidden.value.code == "forbidden"
