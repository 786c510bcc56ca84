"""The dashboard's event stream over real HTTP: ticks with what every view needs and the sections
the page's view shows, whole messages only for the conversation a page follows, and nothing at
all on the hub's hot path while nobody watches."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import aiohttp
import pytest

from ioa.client import ClientError, HubClient
from ioa.hub import Hub
from protocols import AgentCard, Chat, Discussion
from tests.conftest import AgentFactory
from tests.ioa.hub.dashboard.test_dashboard_api import get

Event = dict[str, Any]


class Watching:
    """A page's event stream, read in the background over a real HTTP connection."""

    def __init__(self, hub: Hub, token: str) -> None:
        self.hub = hub
        self.token = token
        self.session = aiohttp.ClientSession()
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.stream = ""
        self._reader: asyncio.Task[None] | None = None
        self._response: aiohttp.ClientResponse | None = None

    async def __aenter__(self) -> Watching:
        headers = {"Authorization": f"Bearer {self.token}"}
        response = await self.session.get(self.hub.url + "/v1/dashboard/events", headers=headers)
        self._response = response
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        self._reader = asyncio.create_task(self._read(response))
        ready = await self.next("ready")
        self.stream = ready["stream"]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._response is not None:
            self._response.close()
        await self.session.close()

    async def _read(self, response: aiohttp.ClientResponse) -> None:
        async for line in response.content:
            if line.startswith(b"data: "):
                await self.events.put(json.loads(line[6:]))

    async def next(self, kind: str, where: Callable[[Event], bool] = lambda e: True) -> Event:
        """The next event of `kind` that satisfies `where` (others are passed over)."""
        async with asyncio.timeout(5):
            while True:
                event = await self.events.get()
                if event["kind"] == kind and where(event):
                    return event

    def drain(self) -> list[Event]:
        taken = []
        while not self.events.empty():
            taken.append(self.events.get_nowait())
        return taken

    async def follow(self, group: str | None, stream: str | None = None) -> tuple[int, Any]:
        return await self.steer({"group": group}, stream)

    async def steer(self, body: dict[str, Any], stream: str | None = None) -> tuple[int, Any]:
        path = f"/v1/dashboard/events/{stream or self.stream}/follow"
        return await post(self.hub, path, self.token, body)


async def post(hub: Hub, path: str, token: str | None, body: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(hub.url + path, data=data, headers=headers) as response,
    ):
        return response.status, await response.json()


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait (5 s at most) until `check` holds: the hub notices a page leave in its own time."""
    for _ in range(250):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("it never happened")


async def watchers(hub: Hub, token: str | None) -> int:
    return int((await get(hub, "/v1/dashboard/overview", token))[1]["watchers"])


def listening(hub: Hub) -> tuple[int, int, int]:
    state = hub.state
    return (
        len(state.router.listeners),
        len(state.presence_listeners),
        len(state.registry.group_listeners),
    )


async def test_nobody_watching_costs_the_hot_path_nothing(
    hub: Hub, person: HubClient, make_agent: AgentFactory
) -> None:
    idle = listening(hub)
    async with Watching(hub, person.token or ""):
        assert listening(hub) == (idle[0] + 1, idle[1] + 1, idle[2] + 1)
        async with Watching(hub, person.token or ""):
            assert listening(hub) == (idle[0] + 1, idle[1] + 1, idle[2] + 1)

    async def left() -> bool:
        return listening(hub) == idle and await watchers(hub, person.token) == 0

    await eventually(left)  # the hub notices the pages left
    lead, coder = await make_agent("lead"), await make_agent("coder")
    group = await lead.create_group([coder.agent_id or ""], name="pair")
    await lead.say(group.id, Chat(text="unwatched"), to=[coder.agent_id or ""])
    assert listening(hub) == idle

    async def read_back() -> bool:  # counted when someone looks, from the store
        _, body = await get(hub, f"/v1/dashboard/agents/{lead.agent_id}", person.token)
        return bool(body["accounting"]) and body["accounting"]["messages"] == 1

    await eventually(read_back)


async def test_a_tick_tells_presence_groups_counts_edges_and_refusals(
    hub: Hub, person: HubClient, make_agent: AgentFactory
) -> None:
    async with Watching(hub, person.token or "") as page:
        everything = ["counts", "edges", "goals", "moved"]
        assert await page.steer({"want": everything}) == (
            200,
            {"stream": page.stream, "group": None, "want": everything},
        )
        coder, lead = await make_agent("coder"), await make_agent("lead")
        group = await lead.create_group([coder.agent_id or ""], name="pair", protocol="ioa")
        await lead.say(group.id, Discussion(text="plan"), to=[coder.agent_id or ""])
        with pytest.raises(ClientError) as refused:
            await lead.say(group.id, Discussion(text="again"))
        assert refused.value.code == "not_your_turn"
        ticks = [await page.next("tick")]
        while not any(t["refusals"] for t in ticks):
            ticks.append(await page.next("tick"))
        assert not [e for e in page.drain() if e["kind"] == "message"]  # followed nothing

    online = [a["name"] for t in ticks for a in t["agents"] if a["online"]]
    assert sorted(set(online)) == ["coder", "lead"]
    (created,) = [g for t in ticks for g in t["groups"]]
    assert (created["id"], created["name"], created["phase"]) == (group.id, "pair", "open")
    assert created["members"] == [lead.agent_id, coder.agent_id]  # as it is at the tick
    moved = [m for t in ticks for m in t["moved"] if m["id"] == group.id]
    assert (moved[-1]["head"], moved[-1]["speaker"]) == (1, coder.agent_id)
    assert moved[-1]["refusals"] == {"not_your_turn": 1}
    edges = {(a, b): n for t in ticks for a, b, n in t["edges"]}
    assert edges == {(lead.agent_id, coder.agent_id): 1}
    counts = [t["counts"][lead.agent_id or ""] for t in ticks if lead.agent_id in t["counts"]]
    assert counts[-1] == {"messages": 1, "refusals": 1}
    assert sum(t["messages"] for t in ticks) == 1
    refusal = ticks[-1]["refusals"][0]
    assert (refusal["code"], refusal["agent"], refusal["group"]) == (
        "not_your_turn",
        lead.agent_id,
        group.id,
    )
    assert ticks[-1]["rejections"] == {"not_your_turn": 1}


async def test_only_the_followed_conversation_comes_whole(
    hub: Hub, person: HubClient, make_agent: AgentFactory
) -> None:
    lead, coder = await make_agent("lead"), await make_agent("coder")
    one = await lead.create_group([coder.agent_id or ""], name="one")
    two = await lead.create_group([coder.agent_id or ""], name="two")
    token = person.token or ""
    async with Watching(hub, token) as following, Watching(hub, token) as other:
        assert await following.follow(one.id) == (
            200,
            {"stream": following.stream, "group": one.id, "want": ["edges"]},
        )
        await lead.say(two.id, Chat(text="in two"))
        await lead.say(one.id, Chat(text="in one"), to=[coder.agent_id or ""])
        message = await following.next("message")
        assert (message["group"], message["seq"], message["to"]) == (one.id, 1, [coder.agent_id])
        assert message["envelope"]["payload"]["text"] == "in one"
        tick = await other.next("tick", lambda t: t["messages"] > 0)
        assert 1 <= tick["conversations"] <= 2
        assert "moved" not in tick
        await asyncio.sleep(0.3)
        assert not [e for e in other.drain() if e["kind"] == "message"]
        assert not [e for e in following.drain() if e["kind"] == "message"]  # nothing from two

        assert await following.follow(None) == (
            200,
            {"stream": following.stream, "group": None, "want": ["edges"]},
        )
        await lead.say(one.id, Chat(text="unfollowed"))
        await following.next("tick", lambda t: t["messages"] > 0)
        assert not [e for e in following.drain() if e["kind"] == "message"]


async def test_a_tick_carries_only_the_sections_the_page_shows(
    hub: Hub, person: HubClient, make_agent: AgentFactory
) -> None:
    lead, coder = await make_agent("lead"), await make_agent("coder")
    one = await lead.create_group([coder.agent_id or ""], name="one")
    two = await lead.create_group([coder.agent_id or ""], name="two")
    to = [coder.agent_id or ""]
    token = person.token or ""
    async with (
        Watching(hub, token) as network,
        Watching(hub, token) as accounting,
        Watching(hub, token) as following,
    ):
        assert (await accounting.steer({"want": ["moved", "counts"]}))[1]["want"] == [
            "counts",
            "moved",
        ]
        assert (await following.follow(one.id))[1]["want"] == ["edges"]  # want left as it was
        await lead.say(one.id, Chat(text="in one"), to=to)
        await lead.say(two.id, Chat(text="in two"), to=to)

        async def stored(page: Watching) -> list[Event]:
            ticks = [await page.next("tick", lambda t: t["messages"] > 0)]
            while sum(t["messages"] for t in ticks) < 2:
                ticks.append(await page.next("tick"))
            return ticks

        seen = {
            name: await stored(page)
            for name, page in [
                ("network", network),
                ("accounting", accounting),
                ("following", following),
            ]
        }
    for ticks in seen.values():  # what every view needs
        assert all(
            {"agents", "gone", "groups", "refusals", "conversations"} <= set(t) for t in ticks
        )
    edges = {(a, b): n for t in seen["network"] for a, b, n in t["edges"]}
    assert edges == {(lead.agent_id, coder.agent_id): 2}
    assert not [k for t in seen["network"] for k in ("moved", "counts", "goals_usage") if k in t]
    assert not [t for t in seen["accounting"] if "edges" in t or "goals_usage" in t]
    assert {m["id"] for t in seen["accounting"] for m in t["moved"]} == {one.id, two.id}
    assert [t["counts"][lead.agent_id or ""]["messages"] for t in seen["accounting"]][-1] == 2
    # the followed group's row comes to the page that follows it, whatever it wants
    assert [m["id"] for t in seen["following"] for m in t.get("moved", [])] == [one.id]
    assert not [t for t in seen["following"] if "counts" in t]


async def test_what_was_said_while_nobody_watched_is_counted_once_when_someone_looks(
    hub: Hub, person: HubClient, make_agent: AgentFactory
) -> None:
    lead, coder = await make_agent("lead"), await make_agent("coder")
    group = await lead.create_group([coder.agent_id or ""], name="pair")
    to = [coder.agent_id or ""]

    async def say(n: int) -> None:
        await asyncio.gather(*(lead.say(group.id, Chat(text=f"m{i}"), to=to) for i in range(n)))

    async def counted() -> int:
        async def caught_up() -> bool:
            _, overview = await get(hub, "/v1/dashboard/overview", person.token)
            return bool(overview["history_counted"])

        await eventually(caught_up)
        _, body = await get(hub, f"/v1/dashboard/agents/{lead.agent_id}", person.token)
        _, edges = await get(hub, "/v1/dashboard/edges", person.token)
        assert edges["edges"] == [
            {
                "from": lead.agent_id,
                "to": coder.agent_id,
                "messages": body["accounting"]["messages"],
            }
        ]
        return int(body["accounting"]["messages"])

    await say(30)  # nobody watches
    assert await counted() == 30
    await say(20)
    async with Watching(hub, person.token or ""):
        await asyncio.gather(say(200), say(200))  # counted live and read back at once
        await say(10)
        assert await counted() == 460
    await say(40)
    assert await counted() == 500
    assert group.id in hub.state.registry.groups
    assert hub.state.registry.groups[group.id].head == 500


async def test_a_burst_is_counted_alike_and_apart_as_it_was_addressed(
    hub: Hub, person: HubClient, make_agent: AgentFactory
) -> None:
    ann, bob, cy = await make_agent("ann"), await make_agent("bob"), await make_agent("cy")
    a, b, c = (x.agent_id or "" for x in (ann, bob, cy))
    group = await ann.create_group([b, c], name="three")
    async with Watching(hub, person.token or "") as page:
        await page.steer({"want": ["counts", "edges"]})
        await asyncio.gather(  # one burst: counted in one pass, alike ones added up first
            *(ann.say(group.id, Chat(text=f"to bob {i}"), to=[b]) for i in range(7)),
            *(ann.say(group.id, Chat(text=f"to both {i}"), to=[b, c]) for i in range(3)),
            *(ann.say(group.id, Chat(text=f"to all {i}")) for i in range(2)),
            *(bob.say(group.id, Chat(text=f"back {i}"), to=[a]) for i in range(4)),
        )
        ticks = [await page.next("tick", lambda t: t["messages"] > 0)]
        while sum(t["messages"] for t in ticks) < 16:
            ticks.append(await page.next("tick"))
    edges = {(x, y): n for t in ticks for x, y, n in t["edges"]}
    assert edges == {(a, b): 10, (a, c): 3, (a, group.id): 2, (b, a): 4}
    _, body = await get(hub, f"/v1/dashboard/agents/{b}", person.token)
    assert body["accounting"]["by_type"] == {"chat": 4}
    assert body["accounting"]["received"] == 10
    _, body = await get(hub, f"/v1/dashboard/agents/{a}", person.token)
    assert (body["accounting"]["messages"], body["accounting"]["received"]) == (12, 4)
    _, detail = await get(hub, f"/v1/dashboard/groups/{group.id}", person.token)
    assert detail["by_type"] == {"chat": 16}


FOLLOW_HOSTILE: list[tuple[bytes | dict[str, Any], int, str]] = [
    (b"{not json", 400, "malformed_json"),
    ({"group": 42}, 400, "invalid_request"),
    ({"group": ""}, 400, "invalid_request"),
    ({"group": "g" * 201}, 400, "invalid_request"),
    ({"group": None, "also": "x"}, 400, "invalid_request"),
    ({"group": "g-nothing"}, 404, "unknown_group"),
    ({"group": "../../v1/agents"}, 404, "unknown_group"),
    (b'{"group": "' + b"x" * 300_000 + b'"}', 413, "frame_too_large"),
    ({}, 400, "invalid_request"),
    ({"want": "counts"}, 400, "invalid_request"),
    ({"want": ["counts", "everything"]}, 400, "invalid_request"),
    ({"want": [1]}, 400, "invalid_request"),
    ({"want": None}, 400, "invalid_request"),
    ({"want": [{"counts": True}]}, 400, "invalid_request"),
    ({"want": ["counts"] * 5}, 400, "invalid_request"),
    ({"want": ["counts"], "group": "g-nothing"}, 404, "unknown_group"),
    ({"want": ["COUNTS"]}, 400, "invalid_request"),
    ({"want": ["counts\u0000"]}, 400, "invalid_request"),
]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    FOLLOW_HOSTILE,
    ids=[f"{c}-{i}" for i, (_, _, c) in enumerate(FOLLOW_HOSTILE)],
)
async def test_a_bad_follow_is_a_typed_error_and_changes_nothing(
    hub: Hub,
    person: HubClient,
    make_agent: AgentFactory,
    body: bytes | dict[str, Any],
    status: int,
    code: str,
) -> None:
    lead = await make_agent("lead")
    group = await lead.create_group([], name="solo")
    async with Watching(hub, person.token or "") as page:
        assert (await page.steer({"group": group.id, "want": ["goals"]}))[0] == 200
        path = f"/v1/dashboard/events/{page.stream}/follow"
        got, answer = await post(hub, path, person.token, body)
        assert (got, answer["error"]["code"]) == (status, code)
        await lead.say(group.id, Chat(text="still followed"))
        message = await page.next("message")
        assert message["envelope"]["payload"]["text"] == "still followed"
        tick = await page.next("tick", lambda t: t["messages"] > 0)
        sections = sorted(set(tick) & {"edges", "moved", "counts", "goals_usage"})
        assert sections == ["goals_usage", "moved"]  # as wanted, and its followed group's row
        assert [m["id"] for m in tick["moved"]] == [group.id]


async def test_only_the_person_who_opened_a_stream_may_steer_it(
    hub: Hub, person: HubClient, make_agent: AgentFactory
) -> None:
    lead = await make_agent("lead")
    group = await lead.create_group([], name="solo")
    async with HubClient(hub.url) as other:
        await other.register(AgentCard(name="bea", kind="human"))
        async with Watching(hub, person.token or "") as page:
            path = f"/v1/dashboard/events/{page.stream}/follow"
            for token, status, code in [
                (None, 401, "unauthorized"),
                ("not-a-token", 401, "unauthorized"),
                (lead.token, 403, "forbidden"),
                (other.token, 404, "not_found"),  # not told whether it exists
            ]:
                got, answer = await post(hub, path, token, {"group": group.id})
                assert (got, answer["error"]["code"]) == (status, code)
            got, answer = await post(
                hub, "/v1/dashboard/events/s-nothing/follow", person.token, {"group": group.id}
            )
            assert (got, answer["error"]["code"]) == (404, "not_found")
            await lead.say(group.id, Chat(text="nobody follows it yet"))
            await page.next("tick", lambda t: t["messages"] > 0)
            assert not [e for e in page.drain() if e["kind"] == "message"]
            assert await page.follow(group.id) == (
                200,
                {"stream": page.stream, "group": group.id, "want": ["edges"]},
            )

        async def ended() -> bool:
            return await watchers(hub, person.token) == 0

        await eventually(ended)
        got, answer = await post(hub, path, person.token, {"group": group.id})  # it ended
        assert (got, answer["error"]["code"]) == (404, "not_found")
