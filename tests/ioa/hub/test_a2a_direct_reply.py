"""Direct replies over raw JSON-RPC: an agent whose card allows them answers a message with a
`Message` (a stream: that one event), the conversation is still in the store, the task behind
it is nobody's to see, and nothing but the agent's own first move can make the answer a
message: not the caller, not a conclusion naming another message, not a card without the
right, not the hub stopping."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from examples.a2a_tck_agent import CARD, TckAgent
from ioa.client import ClientError, HubClient
from ioa.hub import Hub
from ioa.hub.a2a.record import A2ATask, Shape
from protocols import AgentCard, Envelope
from protocols.messages import Conclude, Conclusion, Discussion
from tests.conftest import hub_config

V1 = {"A2A-Version": "1.0", "Content-Type": "application/json"}
DIRECT_CARD = AgentCard(name="Replier", description="answers by hand", direct_replies=True)


@dataclass
class Setup:
    hub: Hub
    http: aiohttp.ClientSession
    tck_url: str

    async def call(self, body: dict[str, Any], url: str | None = None) -> dict[str, Any]:
        async with self.http.post(url or self.tck_url, json=body, headers=V1) as response:
            answer: dict[str, Any] = await response.json()
            return answer

    async def stream(self, body: dict[str, Any], url: str | None = None) -> list[dict[str, Any]]:
        """Every `data:` line of an SSE answer, parsed; the stream must end by itself."""
        async with self.http.post(url or self.tck_url, json=body, headers=V1) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            text = (await asyncio.wait_for(response.read(), 10)).decode()
        return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]

    def task_of(self, context_id: str) -> A2ATask:
        """The hub's own record behind a context's latest answer."""
        (task,) = [t for t in self.hub.a2a.book.tasks.values() if t.context_id == context_id]
        return task


@pytest.fixture
async def setup(db_path: Path) -> AsyncIterator[Setup]:
    config = hub_config(db_path, a2a_guests=True)
    async with Hub(config) as hub, HubClient(hub.url) as agent, aiohttp.ClientSession() as http:
        await agent.register(CARD)
        await agent.connect()
        runner = asyncio.create_task(TckAgent(agent).run())
        try:
            yield Setup(hub, http, f"{hub.url}/a2a/agents/{agent.agent_id}")
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner


@contextlib.asynccontextmanager
async def by_hand(setup: Setup, card: AgentCard = DIRECT_CARD) -> AsyncIterator[HubClient]:
    """An agent the test moves itself, online on the hub."""
    async with HubClient(setup.hub.url) as agent:
        await agent.register(card)
        await agent.connect()
        yield agent


def url_of(setup: Setup, agent: HubClient) -> str:
    return f"{setup.hub.url}/a2a/agents/{agent.agent_id}"


def send(message_id: str, method: str = "SendMessage", **extra: Any) -> dict[str, Any]:
    config = extra.pop("configuration", None)
    message = {"messageId": message_id, "role": "ROLE_USER", "parts": [{"text": "hi"}]} | extra
    params: dict[str, Any] = {"message": message}
    if config is not None:
        params["configuration"] = config
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def rpc(method: str, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 2, "method": method, "params": params}


async def first_message(agent: HubClient) -> Envelope:
    while True:
        envelope = await asyncio.wait_for(agent.receive(), 10)
        if isinstance(envelope.payload, Discussion):
            return envelope


async def test_a_direct_reply_is_a_message_and_the_conversation_is_stored(setup: Setup) -> None:
    answer = (await setup.call(send("tck-message-response-1")))["result"]
    assert set(answer) == {"message"}
    message = answer["message"]
    assert message["role"] == "ROLE_AGENT"
    assert message["parts"] == [{"text": "Direct message response"}]
    assert "taskId" not in message
    task = setup.task_of(message["contextId"])
    assert task.shape is Shape.MESSAGE
    assert task.group_id is not None
    stored = await setup.hub.state.store.messages_after(task.group_id, 0)
    assert [m.type for m in stored] == ["discussion", "conclude", "conclusion"]
    reply = Envelope.model_validate_json(stored[-1].body)
    assert reply.reply_to == stored[0].id == "tck-message-response-1"
    assert reply.id == message["messageId"]


async def test_a_stream_of_a_direct_reply_is_that_message_alone(setup: Setup) -> None:
    events = await setup.stream(send("tck-message-response-2", "SendStreamingMessage"))
    assert len(events) == 1
    assert events[0]["id"] == 1
    assert events[0]["result"]["message"]["parts"] == [{"text": "Direct message response"}]


async def test_return_immediately_has_no_effect_on_a_direct_reply(setup: Setup) -> None:
    body = send("tck-message-response-3", configuration={"returnImmediately": True})
    answer = (await setup.call(body))["result"]
    assert answer["message"]["parts"][0]["text"] == "Direct message response"


async def test_the_task_behind_a_direct_reply_is_nobodys_to_see(setup: Setup) -> None:
    message = (await setup.call(send("tck-message-response-4")))["result"]["message"]
    hidden = setup.task_of(message["contextId"]).id
    for call in (
        rpc("GetTask", id=hidden),
        rpc("CancelTask", id=hidden),
        rpc("SubscribeToTask", id=hidden),
        send("tck-complete-task-4", taskId=hidden),
    ):
        answer = await setup.call(call)
        assert answer["error"]["code"] == -32001, call["method"]
    listed = (await setup.call(rpc("ListTasks")))["result"]
    assert hidden not in [t["id"] for t in listed["tasks"]]


async def test_the_context_of_a_direct_reply_lives_on_in_a_new_task(setup: Setup) -> None:
    message = (await setup.call(send("tck-message-response-5")))["result"]["message"]
    context = message["contextId"]
    answer = await setup.call(send("tck-complete-task-5", contextId=context))
    task = answer["result"]["task"]
    assert task["contextId"] == context
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    goal = setup.hub.goals.goals[setup.hub.a2a.book.tasks[task["id"]].goal_id or ""]
    assert "Direct message response" in goal.text


async def test_an_agent_that_may_reply_directly_still_streams_a_task_from_its_start(
    setup: Setup,
) -> None:
    events = await setup.stream(send("tck-stream-001-d", "SendStreamingMessage"))
    first = events[0]["result"]["task"]
    assert first["status"]["state"] == "TASK_STATE_SUBMITTED"
    assert first["history"][0]["messageId"] == "tck-stream-001-d"
    last = events[-1]["result"]["statusUpdate"]["status"]["state"]
    assert last == "TASK_STATE_COMPLETED"


async def test_a_message_id_the_hub_must_make_safe_still_gets_its_reply(setup: Setup) -> None:
    answer = (await setup.call(send("tck-message-response/ü x\n")))["result"]
    assert answer["message"]["parts"][0]["text"] == "Direct message response"


async def test_until_the_agent_moves_the_caller_is_told_nothing_then_its_question_makes_a_task(
    setup: Setup,
) -> None:
    async with by_hand(setup) as agent:
        url = url_of(setup, agent)
        body = send("m-wait", configuration={"returnImmediately": True})
        pending = asyncio.create_task(setup.call(body, url))
        asked = await first_message(agent)
        await asyncio.sleep(0.2)
        assert not pending.done()
        assert (await setup.call(rpc("ListTasks"), url))["result"]["tasks"] == []
        await agent.say(asked.group, Discussion(text="Which one?"), to=[asked.sender])
        task = (await asyncio.wait_for(pending, 10))["result"]["task"]
        assert task["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
        more = send("m-more", taskId=task["id"], configuration={"returnImmediately": True})
        assert (await setup.call(more, url))["result"]["task"]["id"] == task["id"]
        again = await first_message(agent)
        await agent.say(again.group, Conclude())
        late = Conclusion(text="too late to be a message")
        await agent.say(again.group, late, reply_to=asked.id)
        got = (await setup.call(rpc("GetTask", id=task["id"]), url))["result"]
        assert got["status"]["state"] == "TASK_STATE_COMPLETED"


@pytest.mark.parametrize("reply_to", [None, "some-other-message"])
async def test_a_conclusion_that_names_no_opening_message_completes_a_task(
    setup: Setup, reply_to: str | None
) -> None:
    async with by_hand(setup) as agent:
        call = asyncio.create_task(
            setup.stream(send("m-x", "SendStreamingMessage"), url_of(setup, agent))
        )
        asked = await first_message(agent)
        await agent.say(asked.group, Conclude())
        await agent.say(asked.group, Conclusion(text="done"), reply_to=reply_to)
        events = await asyncio.wait_for(call, 10)
    assert "task" in events[0]["result"]
    assert events[-1]["result"]["statusUpdate"]["status"]["state"] == "TASK_STATE_COMPLETED"


async def test_without_the_right_on_its_card_a_reply_is_a_completed_task(setup: Setup) -> None:
    plain = DIRECT_CARD.model_copy(update={"direct_replies": False})
    async with by_hand(setup, plain) as agent:
        call = asyncio.create_task(setup.call(send("m-plain"), url_of(setup, agent)))
        asked = await first_message(agent)
        await agent.say(asked.group, Conclude())
        await agent.say(asked.group, Conclusion(text="hi"), reply_to=asked.id)
        answer = (await asyncio.wait_for(call, 10))["result"]
    assert answer["task"]["status"]["state"] == "TASK_STATE_COMPLETED"


async def test_the_caller_cannot_forge_the_reply(setup: Setup) -> None:
    """A registered caller holds a token and a seat in the conversation, but not the turn."""
    async with by_hand(setup) as agent, HubClient(setup.hub.url) as caller:
        await caller.register(AgentCard(name="Caller"))
        await caller.connect()
        headers = V1 | {"Authorization": f"Bearer {caller.token}"}

        async def call() -> dict[str, Any]:
            url = url_of(setup, agent)
            async with setup.http.post(url, json=send("m-forge"), headers=headers) as response:
                answer: dict[str, Any] = await response.json()
                return answer

        pending = asyncio.create_task(call())
        asked = await first_message(agent)
        for payload in (Conclude(), Conclusion(text="forged")):
            with pytest.raises(ClientError):
                await caller.say(asked.group, payload, reply_to=asked.id)
        await agent.say(asked.group, Discussion(text="Say more?"), to=[asked.sender])
        answer = await asyncio.wait_for(pending, 10)
    assert answer["result"]["task"]["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"


async def test_a_stream_waiting_for_the_agent_ends_with_the_task_when_the_hub_stops(
    db_path: Path,
) -> None:
    hub = await Hub(hub_config(db_path, a2a_guests=True)).start()
    try:
        async with aiohttp.ClientSession() as http, HubClient(hub.url) as agent:
            await agent.register(DIRECT_CARD)
            await agent.connect()
            url = f"{hub.url}/a2a/agents/{agent.agent_id}"
            async with http.post(url, json=send("m-stop", "SendStreamingMessage"), headers=V1) as r:
                await first_message(agent)
                await hub.stop()
                text = (await asyncio.wait_for(r.read(), 10)).decode()
        events = [json.loads(x[5:]) for x in text.splitlines() if x.startswith("data:")]
        assert events[0]["result"]["task"]["status"]["state"] == "TASK_STATE_SUBMITTED"
        assert all("message" not in e["result"] for e in events)
    finally:
        await hub.stop()
