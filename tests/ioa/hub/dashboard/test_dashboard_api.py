"""The dashboard's endpoints over raw HTTP: who may watch, typed errors, replay (the event
stream has its own file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ioa.client import HubClient
from ioa.hub import Hub
from ioa.hub.dashboard import replay as replay_module
from protocols import AgentCard, Chat, Discussion
from tests.conftest import AgentFactory, hub_config


async def get(hub: Hub, path: str, token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(hub.url + path, headers=headers) as response,
    ):
        return response.status, await response.json()


ENDPOINTS = [
    "/v1/dashboard/me",
    "/v1/dashboard/overview",
    "/v1/dashboard/agents",
    "/v1/dashboard/groups",
    "/v1/dashboard/edges",
    "/v1/dashboard/goals",
    "/v1/dashboard/events",
    "/v1/dashboard/agents/a-nobody",
    "/v1/dashboard/groups/g-nobody",
    "/v1/dashboard/groups/g-nobody/messages",
    "/v1/dashboard/groups/g-nobody/replay?seq=1",
    "/v1/dashboard/usage",
    "/v1/dashboard/goals/goal-nobody",
    "/v1/dashboard/runs",
    "/v1/dashboard/runs/detail?root=0&path=lab/x",
    "/v1/dashboard/runs/file?root=0&path=lab/x/results.json",
]


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_without_a_token_nothing_is_answered(hub: Hub, path: str) -> None:
    status, body = await get(hub, path, None)
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    status, body = await get(hub, path, "not-a-token")
    assert (status, body["error"]["code"]) == (401, "unauthorized")


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_an_agents_token_is_forbidden(hub: Hub, make_agent: AgentFactory, path: str) -> None:
    coder = await make_agent("coder", connect=False)
    status, body = await get(hub, path, coder.token)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert "people" in body["error"]["message"]


async def test_a_person_and_the_operator_may_watch(db_path: Path) -> None:
    async with Hub(hub_config(db_path, admin_token="op-secret")) as hub:
        async with HubClient(hub.url) as ada:
            await ada.register(AgentCard(name="ada", kind="human"))
            status, body = await get(hub, "/v1/dashboard/me", ada.token)
            assert (status, body["name"], body["id"]) == (200, "ada", ada.agent_id)
        status, body = await get(hub, "/v1/dashboard/me", "op-secret")
        assert (status, body["name"], body["id"]) == (200, "operator", None)


async def test_no_secret_reaches_the_page(
    hub: Hub, person: HubClient, make_agent: AgentFactory
) -> None:
    coder = await make_agent("coder", "python")
    group = await coder.create_group([person.agent_id or ""], name="g")
    await coder.say(group.id, Chat(text="hi"))
    seen = []
    for path in [
        "/v1/dashboard/agents",
        f"/v1/dashboard/agents/{coder.agent_id}",
        "/v1/dashboard/groups",
        f"/v1/dashboard/groups/{group.id}",
        f"/v1/dashboard/groups/{group.id}/messages",
    ]:
        status, body = await get(hub, path, person.token)
        assert status == 200, body
        seen.append(json.dumps(body))
    text = "\n".join(seen)
    assert coder.token not in text
    assert person.token not in text
    agent = hub.state.registry.agents[coder.agent_id or ""]
    assert agent.token_hash not in text
    assert "token" not in text


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/dashboard/agents?limit=abc", 400, "invalid_request"),
        ("/v1/dashboard/agents?limit=0", 400, "invalid_request"),
        ("/v1/dashboard/agents?offset=-1", 400, "invalid_request"),
        ("/v1/dashboard/groups?q=" + "x" * 201, 400, "invalid_request"),
        ("/v1/dashboard/agents/a-nobody", 404, "unknown_agent"),
        ("/v1/dashboard/groups/g-nothing", 404, "unknown_group"),
        ("/v1/dashboard/groups/g-nothing/messages", 404, "unknown_group"),
        ("/v1/dashboard/groups/g-nothing/replay?seq=1", 404, "unknown_group"),
        ("/v1/dashboard/edges?limit=99999999", 400, "invalid_request"),
        ("/v1/dashboard/nothing", 404, "not_found"),
    ],
)
async def test_bad_input_is_a_typed_json_error(
    hub: Hub, person: HubClient, path: str, status: int, code: str
) -> None:
    got, body = await get(hub, path, person.token)
    assert (got, body["error"]["code"]) == (status, code)


async def test_replay_past_the_head_is_refused(
    hub: Hub, person: HubClient, make_agent: AgentFactory
) -> None:
    lead, coder = await make_agent("lead"), await make_agent("coder")
    group = await lead.create_group([coder.agent_id or ""], protocol="ioa")
    await lead.say(group.id, Discussion(text="one"))
    path = f"/v1/dashboard/groups/{group.id}/replay"
    status, body = await get(hub, path + "?seq=2", person.token)
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    status, body = await get(hub, path + "?seq=1", person.token)
    assert status == 200
    assert body["message"]["payload"]["text"] == "one"
    assert (body["state"]["phase"], body["state"]["speaker"]) == ("open", coder.agent_id)


async def test_replay_from_a_checkpoint_equals_replay_from_the_start(
    hub: Hub, person: HubClient, make_agent: AgentFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead, coder = await make_agent("lead"), await make_agent("coder")
    group = await lead.create_group([coder.agent_id or ""], protocol="ioa")
    speakers = [lead, coder]
    for turn in range(11):
        await speakers[turn % 2].say(group.id, Discussion(text=f"turn {turn}"))
    path = f"/v1/dashboard/groups/{group.id}/replay?seq="

    async def states(order: range) -> list[Any]:
        return [(await get(hub, path + str(n), person.token))[1]["state"] for n in order]

    monkeypatch.setattr(replay_module, "CHECKPOINT_EVERY", 10**9)  # every step from the start
    plain = await states(range(12))
    monkeypatch.setattr(replay_module, "CHECKPOINT_EVERY", 4)
    monkeypatch.setattr(replay_module, "PAGE", 4)
    forward = await states(range(12))
    backward = await states(range(11, -1, -1))
    assert forward == plain
    assert backward[::-1] == plain
    assert [s["turns"] for s in plain] == list(range(12))
    assert plain[11]["speaker"] == coder.agent_id


async def test_the_page_is_served_with_a_strict_content_policy(hub: Hub) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(hub.url + "/") as response:
            assert response.status == 200
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert '<script type="module" src="/dashboard/app.js">' in await response.text()
        async with session.get(hub.url + "/dashboard/app.js") as response:
            assert response.status == 200
            assert "javascript" in response.headers["Content-Type"]
