"""Structured content both ways through the hub's A2A server: an agent's task result with data
or files becomes an artifact's data and file parts (the a2a-sdk client reads them), a text file
a client sends becomes text the agent reads, and hostile structured results never get stored."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from a2a.client import ClientConfig, create_client
from a2a.client.client import Client
from a2a.helpers import get_data_parts
from a2a.types import (
    ContentTypeNotSupportedError,
    Message,
    Part,
    Role,
    SendMessageRequest,
    Task,
    TaskState,
)

from examples.a2a_tck_agent import CARD, TckAgent
from ioa.client import HubClient
from ioa.hub import Hub
from protocols.values import CONTENT_DEPTH_MAX
from tests.conftest import card, hub_config
from tests.ioa.hub.adversarial.wire import (
    Agent,
    assert_unchanged,
    create_group,
    http,
    messages,
    move,
    register,
    snapshot,
)


@contextlib.asynccontextmanager
async def served(db_path: Path) -> AsyncIterator[tuple[Hub, Client, Agent]]:
    """A hub, the scenario agent on it, and an a2a-sdk client acting as a registered caller."""
    async with (
        Hub(hub_config(db_path)) as hub,
        HubClient(hub.url) as agent,
        HubClient(hub.url) as caller,
    ):
        await agent.register(CARD)
        await agent.connect()
        await caller.register(card("Caller", "asking"))
        assert caller.token is not None
        assert caller.agent_id is not None
        runner = asyncio.create_task(TckAgent(agent).run())
        headers = {"Authorization": f"Bearer {caller.token}"}
        try:
            async with httpx.AsyncClient(headers=headers) as http_client:
                config = ClientConfig(httpx_client=http_client, streaming=False)
                url = f"{hub.url}/a2a/agents/{agent.agent_id}"
                client = await create_client(url, client_config=config)
                try:
                    yield hub, client, Agent(caller.agent_id, caller.token, "Caller")
                finally:
                    await client.close()
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner


@pytest.fixture
async def a2a(db_path: Path) -> AsyncIterator[tuple[Hub, Client, Agent]]:
    async with served(db_path) as setup:
        yield setup


async def sent(client: Client, message_id: str, *parts: Part) -> Task:
    msg = Message(
        message_id=message_id, role=Role.ROLE_USER, parts=list(parts) or [Part(text="go")]
    )
    (only,) = [e async for e in client.send_message(SendMessageRequest(message=msg))]
    assert only.HasField("task")
    assert only.task.status.state == TaskState.TASK_STATE_COMPLETED
    return only.task


async def test_a_results_data_is_a_data_part(a2a: tuple[Hub, Client, Agent]) -> None:
    _, client, _ = a2a
    task = await sent(client, "tck-artifact-data-1")
    result, conclusion = task.artifacts
    assert [p.WhichOneof("content") for p in result.parts] == ["data"]
    assert get_data_parts(list(result.parts)) == [{"key": "value", "count": 42}]
    assert conclusion.artifact_id == "conclusion"


async def test_a_results_files_are_file_parts_inline_and_by_url(
    a2a: tuple[Hub, Client, Agent],
) -> None:
    _, client, _ = a2a
    inline = (await sent(client, "tck-artifact-file-1")).artifacts[0].parts
    linked = (await sent(client, "tck-artifact-file-url-1")).artifacts[0].parts
    assert [p.WhichOneof("content") for p in [*inline, *linked]] == ["raw", "url"]
    assert inline[0].raw == b"Generated file content"
    assert linked[0].url == "https://example.com/output.txt"
    for part in (inline[0], linked[0]):
        assert (part.filename, part.media_type) == ("output.txt", "text/plain")


async def test_a_text_file_from_the_client_is_text_for_the_agent(
    a2a: tuple[Hub, Client, Agent],
) -> None:
    hub, client, caller = a2a
    notes = Part(raw="Ünïcode notes".encode(), media_type="text/plain", filename="notes.txt")
    task = await sent(client, "tck-complete-task-f", Part(text="Read this"), notes)
    group = hub.a2a.book.tasks[task.id].group_id
    assert group is not None
    first = (await messages(hub, caller, group))[0]["payload"]
    assert first == {"type": "discussion", "text": "Read this\nnotes.txt:\nÜnïcode notes"}


@pytest.mark.parametrize(
    "part",
    [
        Part(raw=b"\x89PNG", media_type="image/png", filename="a.png"),
        Part(raw=b"text", filename="no-type.txt"),
        Part(raw=b"text", media_type="text/plain; charset=latin-1"),
        Part(url="https://example.com/a.txt", media_type="text/plain"),
    ],
)
async def test_files_the_hub_cannot_pass_on_are_an_unsupported_content_type(
    a2a: tuple[Hub, Client, Agent], part: Part
) -> None:
    hub, client, _ = a2a
    msg = Message(message_id="m-file", role=Role.ROLE_USER, parts=[Part(text="see"), part])
    with pytest.raises(ContentTypeNotSupportedError):
        [e async for e in client.send_message(SendMessageRequest(message=msg))]
    assert hub.a2a.book.tasks == {}


def deep(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"x": value}
    return value


@pytest.mark.parametrize(
    "fields",
    [
        {"data": {"s": "x" * 40_000}},
        {"data": deep(CONTENT_DEPTH_MAX + 5)},
        {"data": ["not", "an", "object"]},
        {"files": "output.txt"},
        {"files": [{"name": "a", "media_type": "text/plain", "url": "javascript:alert(1)"}]},
        {"files": [{"name": "a", "media_type": "text/plain", "content": "%%%"}]},
    ],
)
async def test_an_agents_hostile_structured_result_is_refused_and_changes_nothing(
    db_path: Path, fields: dict[str, Any]
) -> None:
    async with Hub(hub_config(db_path)) as hub:
        lead, coder = await register(hub, "lead"), await register(hub, "coder")
        group = await create_group(hub, lead, [coder], protocol="ioa", meta={"goal": "build"})
        path = f"/v1/groups/{group}/messages"
        assign = {"type": "async_task_assign", "task_id": "t1", "description": "build it"}
        reply = await http(hub, "POST", path, move(group, lead, assign, [coder]), token=lead.token)
        assert reply.status < 300, reply.body
        before = await snapshot(hub, lead, [group])
        bad = {"type": "task_result", "task_id": "t1", "result": "built"} | fields
        reply = await http(hub, "POST", path, move(group, coder, bad), token=coder.token)
        assert reply.code == "invalid_request", reply.body
        assert "payload.task_result." + next(iter(fields)) in reply.json()["error"]["message"]
        await assert_unchanged(hub, before, lead)
        good = bad | {"data": {"rows": 3}, "files": []}
        reply = await http(hub, "POST", path, move(group, coder, good), token=coder.token)
        assert reply.status < 300, reply.body  # the same result, well formed, is a legal move
