"""The official a2a-sdk client against the hub's A2A server: a real hub on a loopback port, the
scenario agent of `examples/a2a_tck_agent.py` as a real agent on it, the SDK's own client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from a2a.client import ClientConfig, create_client
from a2a.client.client import Client
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskNotCancelableError,
    TaskNotFoundError,
    TaskState,
    VersionNotSupportedError,
)

from examples.a2a_tck_agent import CARD, TckAgent
from ioa.client import HubClient
from ioa.hub import Hub
from tests.conftest import card, hub_config


@dataclass
class Setup:
    hub: Hub
    agent_id: str
    caller_token: str

    @property
    def agent_url(self) -> str:
        return f"{self.hub.url}/a2a/agents/{self.agent_id}"


@pytest.fixture
async def setup(db_path: Path) -> AsyncIterator[Setup]:
    async with (
        Hub(hub_config(db_path)) as hub,
        HubClient(hub.url) as agent,
        HubClient(hub.url) as caller,
    ):
        await agent.register(CARD)
        await agent.connect()
        await caller.register(card("Caller", "asking"))
        runner = asyncio.create_task(TckAgent(agent).run())
        try:
            assert caller.token is not None
            assert agent.agent_id is not None
            yield Setup(hub, agent.agent_id, caller.token)
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner


@contextlib.asynccontextmanager
async def sdk_client(
    url: str, token: str, streaming: bool = False, version: str | None = None
) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"}
    if version is not None:
        headers["A2A-Version"] = version  # the SDK sends 1.0 unless the header is set
    async with httpx.AsyncClient(headers=headers) as http:
        config = ClientConfig(httpx_client=http, streaming=streaming)
        client = await create_client(url, client_config=config)
        try:
            yield client
        finally:
            await client.close()


def message(message_id: str, text: str = "hello", **ids: str) -> SendMessageRequest:
    msg = Message(message_id=message_id, role=Role.ROLE_USER, parts=[Part(text=text)], **ids)
    return SendMessageRequest(message=msg)


async def events(client: Client, request: SendMessageRequest) -> list[StreamResponse]:
    return [event async for event in client.send_message(request)]


async def sent_task(client: Client, request: SendMessageRequest) -> Task:
    (only,) = await events(client, request)
    assert only.HasField("task")
    return only.task


async def test_the_sdk_reads_the_agent_card_from_the_well_known_path(setup: Setup) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{setup.agent_url}/.well-known/agent-card.json")
        root = await http.get(f"{setup.hub.url}/.well-known/agent-card.json")
    data = response.json()
    assert data["supportedInterfaces"] == [
        {"url": setup.agent_url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}
    ]
    assert data["skills"][0]["id"] == "tck-conformance"
    assert data["securityRequirements"] == [{"schemes": {"bearer": {"list": []}}}]
    assert "bearer" in data["securitySchemes"]
    assert response.headers["ETag"]
    hub_skills = [s["id"] for s in root.json()["skills"]]
    assert f"{setup.agent_id}.tck-conformance" in hub_skills
    async with sdk_client(setup.agent_url, setup.caller_token) as client:
        task = await sent_task(client, message("tck-complete-task-1"))
    assert task.status.state == TaskState.TASK_STATE_COMPLETED


async def test_a_message_completes_a_task_with_the_agents_conclusion(setup: Setup) -> None:
    async with sdk_client(setup.agent_url, setup.caller_token) as client:
        task = await sent_task(client, message("tck-complete-task-2"))
        assert task.status.message.parts[0].text == "Hello from TCK"
        assert [a.artifact_id for a in task.artifacts] == ["conclusion"]
        assert [m.role for m in task.history] == [Role.ROLE_USER, Role.ROLE_AGENT]
        got = await client.get_task(GetTaskRequest(id=task.id, history_length=1))
    assert got.status.state == TaskState.TASK_STATE_COMPLETED
    assert len(got.history) == 1


async def test_a_stream_follows_the_conversation_in_order(setup: Setup) -> None:
    async with sdk_client(setup.agent_url, setup.caller_token, streaming=True) as client:
        got = await events(client, message("tck-stream-001-a"))
    kinds = [e.WhichOneof("payload") for e in got]
    assert kinds[0] == "task"
    states = [e.status_update.status.state for e in got if e.HasField("status_update")]
    assert states[0] == TaskState.TASK_STATE_WORKING
    assert states[-1] == TaskState.TASK_STATE_COMPLETED
    artifacts = [e.artifact_update.artifact for e in got if e.HasField("artifact_update")]
    assert artifacts[0].parts[0].text == "Stream hello from TCK"
    assert kinds.index("artifact_update") < len(kinds) - 1  # before the final status


@pytest.mark.parametrize("streaming", [False, True])
async def test_the_sdk_reads_a_direct_reply_as_a_message(setup: Setup, streaming: bool) -> None:
    async with sdk_client(setup.agent_url, setup.caller_token, streaming=streaming) as client:
        (only,) = await events(client, message("tck-message-response-sdk"))
    assert only.WhichOneof("payload") == "message"
    assert only.message.role == Role.ROLE_AGENT
    assert only.message.parts[0].text == "Direct message response"
    assert only.message.context_id
    assert not only.message.task_id


async def test_input_required_then_the_reply_continues_the_same_task(setup: Setup) -> None:
    async with sdk_client(setup.agent_url, setup.caller_token) as client:
        asked = await sent_task(client, message("tck-input-required-1"))
        assert asked.status.state == TaskState.TASK_STATE_INPUT_REQUIRED
        assert asked.status.message.parts[0].text == "Please provide more input."
        reply = message("tck-complete-task-3", "here you are", task_id=asked.id)
        done = await sent_task(client, reply)
        assert done.id == asked.id
        assert done.context_id == asked.context_id
        assert done.status.state == TaskState.TASK_STATE_COMPLETED
        assert len(done.history) == 4
        again = await sent_task(
            client, message("tck-complete-task-4", "more", context_id=asked.context_id)
        )
    assert again.id != asked.id
    assert again.context_id == asked.context_id


async def test_cancel_ends_a_task_waiting_for_input_and_not_a_finished_one(setup: Setup) -> None:
    async with sdk_client(setup.agent_url, setup.caller_token) as client:
        asked = await sent_task(client, message("tck-input-required-2"))
        canceled = await client.cancel_task(CancelTaskRequest(id=asked.id))
        assert canceled.status.state == TaskState.TASK_STATE_CANCELED
        with pytest.raises(TaskNotCancelableError):
            await client.cancel_task(CancelTaskRequest(id=asked.id))
        with pytest.raises(TaskNotFoundError):
            await client.get_task(GetTaskRequest(id="no-such-task"))
    group = next(g for g in setup.hub.state.registry.groups.values() if g.meta.get("goal"))
    assert group.policy.outcome() is not None  # the conversation itself ended


async def test_list_tasks_pages_newest_first_and_only_the_callers(setup: Setup) -> None:
    async with sdk_client(setup.agent_url, setup.caller_token) as client:
        ids = [(await sent_task(client, message(f"tck-complete-task-l{i}"))).id for i in range(3)]
        first = await client.list_tasks(ListTasksRequest(page_size=2))
        assert [t.id for t in first.tasks] == ids[::-1][:2]
        assert first.total_size == 3
        assert first.next_page_token
        rest = await client.list_tasks(
            ListTasksRequest(page_size=2, page_token=first.next_page_token)
        )
        assert [t.id for t in rest.tasks] == ids[:1]
        assert not rest.next_page_token
    async with HubClient(setup.hub.url) as other:
        await other.register(card("Other", "asking"))
        assert other.token is not None
        async with sdk_client(setup.agent_url, other.token) as client:
            assert len((await client.list_tasks(ListTasksRequest())).tasks) == 0
            with pytest.raises(TaskNotFoundError):
                await client.get_task(GetTaskRequest(id=ids[0]))


async def test_subscribe_follows_a_running_task_to_its_end(setup: Setup) -> None:
    async with sdk_client(setup.agent_url, setup.caller_token, streaming=True) as client:
        config = SendMessageConfiguration(return_immediately=True)
        request = message("test-resubscribe-message-id-1")
        request.configuration.CopyFrom(config)
        stream = client.send_message(request)
        first = await anext(stream)
        await stream.aclose()
        task_id = first.task.id
        got = [e async for e in client.subscribe(SubscribeToTaskRequest(id=task_id))]
    assert got[0].task.id == task_id
    assert got[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED


async def test_the_sdk_maps_the_hubs_errors_to_its_own_types(setup: Setup) -> None:
    async with sdk_client(setup.agent_url, setup.caller_token, version="0.3") as client:
        with pytest.raises(VersionNotSupportedError):
            await sent_task(client, message("tck-complete-task-v"))
    async with sdk_client(setup.agent_url, setup.caller_token, streaming=True) as client:
        with pytest.raises(TaskNotFoundError):
            [e async for e in client.subscribe(SubscribeToTaskRequest(id="no-such-task"))]
    assert setup.hub.a2a.book.tasks == {}
