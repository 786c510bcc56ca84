"""A message to the hub's own A2A card becomes a goal: the best-matching agent leads it with a
team it forms, and the A2A task follows the goal to its conclusion (through the a2a-sdk client)."""

from __future__ import annotations

import httpx
from a2a.client import ClientConfig, create_client
from a2a.types import Message, Part, Role, SendMessageRequest, TaskState

from agents.brain import ScriptedBrain
from agents.runtime import Agent
from ioa.hub import Hub
from protocols import AgentCard
from tests.agents.scripts import Pick, delegate_then_conclude
from tests.conftest import AgentFactory, card


def ask(text: str) -> SendMessageRequest:
    msg = Message(message_id="m-1", role=Role.ROLE_USER, parts=[Part(text=text)])
    return SendMessageRequest(message=msg)


async def test_a_message_to_the_hub_is_a_goal_a_team_answers(
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
        Agent(lead_card, Pick(["booker"], moves=delegate_then_conclude("booker")), hub.url),
        httpx.AsyncClient(headers={"Authorization": f"Bearer {user.token}"}) as http,
    ):
        config = ClientConfig(httpx_client=http, streaming=True)
        client = await create_client(f"{hub.url}/a2a", client_config=config)
        events = [e async for e in client.send_message(ask("plan travel to Rome"))]
        await client.close()
    states = [e.status_update.status.state for e in events if e.HasField("status_update")]
    assert states[0] == TaskState.TASK_STATE_WORKING
    assert states[-1] == TaskState.TASK_STATE_COMPLETED
    said = [
        e.status_update.status.message.parts[0].text
        for e in events
        if e.HasField("status_update") and e.status_update.status.HasField("message")
    ]
    assert said[-1] == "booked"
    assert len(said) > 2  # the sub-team's talk streams too
    artifacts = [e.artifact_update.artifact for e in events if e.HasField("artifact_update")]
    assert artifacts[-1].parts[0].text == "booked"


async def test_a_goal_nobody_can_lead_is_rejected(hub: Hub, make_agent: AgentFactory) -> None:
    user = await make_agent("user", connect=False)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {user.token}"}) as http:
        config = ClientConfig(httpx_client=http, streaming=False)
        client = await create_client(f"{hub.url}/a2a", client_config=config)
        (event,) = [e async for e in client.send_message(ask("anything"))]
        await client.close()
    assert event.task.status.state == TaskState.TASK_STATE_REJECTED
    assert "no online agent" in event.task.status.message.parts[0].text
    assert hub.state.registry.groups == {}
