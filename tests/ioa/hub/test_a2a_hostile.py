"""Raw HTTP against the hub's A2A endpoint: every bad request gets the spec's error, and a
refused request changes nothing (no task, no group, no message)."""

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
from ioa.client import HubClient
from ioa.hub import Hub
from tests.conftest import hub_config

V1 = {"A2A-Version": "1.0"}


@dataclass
class Target:
    hub: Hub
    url: str
    http: aiohttp.ClientSession

    async def call(
        self, body: Any, headers: dict[str, str] | None = None, status: int = 200
    ) -> dict[str, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Content-Type": "application/json"} | V1 | (headers or {})
        async with self.http.post(self.url, data=data, headers=sent) as response:
            assert response.status == status
            answer: dict[str, Any] = await response.json(content_type=None)
            return answer

    def counts(self) -> tuple[int, int]:
        return len(self.hub.a2a.book.tasks), len(self.hub.state.registry.groups)


@pytest.fixture
async def target(db_path: Path) -> AsyncIterator[Target]:
    config = hub_config(db_path, a2a_guests=True, max_frame_bytes=64 * 1024)
    async with Hub(config) as hub, HubClient(hub.url) as agent, aiohttp.ClientSession() as http:
        await agent.register(CARD)
        await agent.connect()
        runner = asyncio.create_task(TckAgent(agent).run())
        try:
            yield Target(hub, f"{hub.url}/a2a/agents/{agent.agent_id}", http)
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner


def send(message_id: str, **extra: Any) -> dict[str, Any]:
    message = {"messageId": message_id, "role": "ROLE_USER", "parts": [{"text": "hi"}]} | extra
    return {"jsonrpc": "2.0", "id": 7, "method": "SendMessage", "params": {"message": message}}


def reason(answer: dict[str, Any]) -> str:
    return str(answer["error"]["data"][0]["reason"])


async def test_malformed_json_is_a_parse_error_with_no_id(target: Target) -> None:
    answer = await target.call(b'{"jsonrpc": "2.0", "id": 1, "method": ')
    assert answer == {"jsonrpc": "2.0", "id": None, "error": answer["error"]}
    assert answer["error"]["code"] == -32700


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([send("tck-complete-task-b")], -32600),  # a batch
        ({"id": 3, "method": "SendMessage"}, -32600),  # no "jsonrpc"
        ({"jsonrpc": "1.0", "id": 3, "method": "GetTask"}, -32600),
        ({"jsonrpc": "2.0", "id": True, "method": "GetTask"}, -32600),
        ({"jsonrpc": "2.0", "id": 3, "method": "message/send", "params": {}}, -32601),
        ({"jsonrpc": "2.0", "id": 3, "method": "GetTask", "params": {"id": ""}}, -32602),
        ({"jsonrpc": "2.0", "id": 3, "method": "GetTask", "params": {"id": "nope"}}, -32001),
        ({"jsonrpc": "2.0", "id": 3, "method": "CancelTask", "params": {"id": "nope"}}, -32001),
        ({"jsonrpc": "2.0", "id": 3, "method": "SubscribeToTask", "params": {"id": "n"}}, -32001),
        ({"jsonrpc": "2.0", "id": 3, "method": "GetTaskPushNotificationConfig"}, -32003),
        ({"jsonrpc": "2.0", "id": 3, "method": "GetExtendedAgentCard"}, -32007),
        ({"jsonrpc": "2.0", "id": 3, "method": "ListTasks", "params": {"pageSize": 0}}, -32602),
        ({"jsonrpc": "2.0", "id": 3, "method": "ListTasks", "params": {"pageToken": "x"}}, -32602),
        (send("m", parts=[]), -32602),
        (send("m", role="ROLE_AGENT"), -32602),
        (send("m", parts=[{"text": "a", "data": {}}]), -32602),
        (send("m", parts=[{"raw": "dGNr", "mediaType": "application/x-tck"}]), -32005),
        (send("m", parts=[{"url": "https://x.test/a.txt", "mediaType": "text/plain"}]), -32005),
        (send("m", parts=[{"raw": "not base64!", "mediaType": "text/plain"}]), -32602),
        (send("m", parts=[{"raw": "/w==", "mediaType": "text/plain"}]), -32602),  # not UTF-8
        (send("m", parts=[{"raw": "A" * 64_004, "mediaType": "text/plain"}]), -32602),
        (send("m", taskId="no-such-task"), -32001),
        (send("m", parts=[{"text": "x" * 8001}]), -32602),
    ],
)
async def test_bad_requests_get_the_specs_error_and_change_nothing(
    target: Target, body: Any, code: int
) -> None:
    before = target.counts()
    answer = await target.call(body)
    assert answer["error"]["code"] == code
    assert target.counts() == before


async def test_a2a_errors_carry_error_info_with_the_reason(target: Target) -> None:
    answer = await target.call(
        {"jsonrpc": "2.0", "id": "x", "method": "GetTask", "params": {"id": "n"}}
    )
    assert answer["id"] == "x"
    assert answer["error"]["data"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert reason(answer) == "TASK_NOT_FOUND"


@pytest.mark.parametrize("version", ["", "0.3", "2.0", "1.1", "x" * 300])
async def test_a_version_other_than_1_0_is_refused(target: Target, version: str) -> None:
    before = target.counts()
    answer = await target.call(send("tck-complete-task-v"), headers={"A2A-Version": version})
    assert answer["error"]["code"] == -32009
    assert reason(answer) == "VERSION_NOT_SUPPORTED"
    assert target.counts() == before


async def test_the_version_may_come_as_a_query_parameter(target: Target) -> None:
    url = target.url + "?A2A-Version=1.0"
    body = json.dumps(send("tck-complete-task-q")).encode()
    headers = {"Content-Type": "application/json"}
    async with target.http.post(url, data=body, headers=headers) as response:
        answer = await response.json()
    assert answer["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"


async def test_a_body_over_the_limit_is_refused_before_it_is_read(target: Target) -> None:
    body = send("tck-complete-task-big", parts=[{"text": "x" * 70_000}])
    answer = await target.call(body, status=413)
    assert answer["error"]["code"] == -32600


async def test_a_chunked_body_over_the_limit_is_refused_while_it_is_read(target: Target) -> None:
    """No Content-Length to refuse up front: the hub counts the chunks as they come."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":"'
        for _ in range(20):
            yield b"x" * 8192

    before = target.counts()
    headers = {"Content-Type": "application/json"} | V1
    async with target.http.post(target.url, data=chunks(), headers=headers) as response:
        assert response.status == 413
        answer = await response.json(content_type=None)
    assert answer["error"]["code"] == -32600
    assert target.counts() == before


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"jsonrpc":"2.0","id":1,"method":"Nope"}'])
async def test_the_hubs_own_endpoint_refuses_what_an_agents_does(
    target: Target, body: bytes
) -> None:
    before = target.counts()
    hub_url = target.url.split("/a2a/", 1)[0] + "/a2a"
    async with target.http.post(
        hub_url, data=body, headers={"Content-Type": "application/json"} | V1
    ) as response:
        answer = await response.json(content_type=None)
    assert answer["error"]["code"] in (-32700, -32600, -32601)
    assert target.counts() == before


async def test_deeply_nested_json_is_refused_and_the_hub_stays_up(target: Target) -> None:
    deep = b'{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":' + b"[" * 20_000
    answer = await target.call(deep + b"]" * 20_000 + b"}}")
    assert answer["error"]["code"] == -32700
    nested: Any = "v"
    for _ in range(40):
        nested = {"k": nested}
    answer = await target.call(send("tck-complete-task-d", metadata=nested))
    assert answer["error"]["code"] == -32602
    assert (await target.call(send("tck-complete-task-ok")))["result"]["task"]["status"]


async def test_a_wrong_content_type_is_refused(target: Target) -> None:
    answer = await target.call(b"{'python': 'repr'}", headers={"Content-Type": "text/plain"})
    assert answer["error"]["code"] == -32005


async def test_an_unknown_agent_is_a_404(target: Target) -> None:
    url = f"{target.hub.url}/a2a/agents/a-nobody"
    async with target.http.post(url, json=send("m"), headers=V1) as response:
        assert response.status == 404
    async with target.http.get(url + "/.well-known/agent-card.json") as response:
        assert response.status == 404


async def test_without_guests_a_call_needs_a_token(db_path: Path) -> None:
    async with Hub(hub_config(db_path)) as hub, aiohttp.ClientSession() as http:
        url = f"{hub.url}/a2a"
        for token in (None, "not-a-token"):
            headers = V1 | ({"Authorization": f"Bearer {token}"} if token else {})
            async with http.post(url, json=send("m"), headers=headers) as response:
                assert response.status == 401
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert len(hub.state.registry.agents) == 0


async def test_a_finished_task_takes_no_more_input_nor_a_subscription(target: Target) -> None:
    done = (await target.call(send("tck-complete-task-f")))["result"]["task"]
    again = await target.call(send("tck-complete-task-g", taskId=done["id"]))
    assert again["error"]["code"] == -32004
    mismatch = await target.call(send("m2", taskId=done["id"], contextId="another"))
    assert mismatch["error"]["code"] == -32602
    call = {"jsonrpc": "2.0", "id": 1, "method": "SubscribeToTask", "params": {"id": done["id"]}}
    assert (await target.call(call))["error"]["code"] == -32004
    cancel = {"jsonrpc": "2.0", "id": 1, "method": "CancelTask", "params": {"id": done["id"]}}
    assert reason(await target.call(cancel)) == "TASK_NOT_CANCELABLE"


async def test_a_message_to_an_offline_agent_is_rejected(target: Target) -> None:
    async with HubClient(target.hub.url) as quiet:
        await quiet.register(CARD)
        url = f"{target.hub.url}/a2a/agents/{quiet.agent_id}"
        async with target.http.post(url, json=send("m"), headers=V1) as response:
            task = (await response.json())["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_REJECTED"
    assert "offline" in task["status"]["message"]["parts"][0]["text"]


async def test_a_reused_message_id_is_a_new_turn_the_agent_still_recognises(
    target: Target,
) -> None:
    asked = (await target.call(send("tck-input-required-same")))["result"]["task"]
    for _ in range(2):
        again = await target.call(send("tck-input-required-same", taskId=asked["id"]))
        assert again["result"]["task"]["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
    done = await target.call(send("tck-complete-task-same", taskId=asked["id"]))
    task = done["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    assert [m["role"] for m in task["history"]].count("ROLE_USER") == 4


async def test_open_streams_end_when_the_hub_stops(db_path: Path) -> None:
    hub = await Hub(hub_config(db_path, a2a_guests=True)).start()
    try:
        async with HubClient(hub.url) as agent, aiohttp.ClientSession() as http:
            await agent.register(CARD)
            await agent.connect()
            runner = asyncio.create_task(TckAgent(agent).run())
            url = f"{hub.url}/a2a/agents/{agent.agent_id}"
            async with http.post(url, json=send("tck-input-required-s"), headers=V1) as response:
                task = (await response.json())["result"]["task"]
            call = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "SubscribeToTask",
                "params": {"id": task["id"]},
            }
            async with http.post(url, json=call, headers=V1) as stream:
                first = await stream.content.readline()
                assert b"TASK_STATE_INPUT_REQUIRED" in first
                await hub.stop()
                rest = await asyncio.wait_for(stream.content.read(), 10)
            assert b"data:" not in rest
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
    finally:
        await hub.stop()
