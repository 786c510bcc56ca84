"""A client given several hubs fails over: a hub that dies or never answers is left for the next
one, where the same token and cursors resume the same conversations, nothing missed and nothing
twice; when no hub answers, a typed error after the backoff budget, not a hang.

The hubs here are real hubs on loopback sharing one `SqlStore`; one runs at a time (a hub of
this branch keeps its registry and sequence heads in memory, loaded from the store at start),
which is what the client sees of a cluster whose hub died.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ioa.client import HubClient, HubsUnreachable
from ioa.hub import Hub
from ioa.hub_list import HubList, HubUrlError
from ioa.store import SqlStore
from protocols import Chat, Envelope
from tests.conftest import card, hub_config
from tests.redis_server import free_port

BACKOFF = 0.5
"""The tests' backoff cap: failover within a second or two."""


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[SqlStore]:
    async with SqlStore(str(db_path)) as opened:
        yield opened


def nowhere() -> str:
    """The URL of a loopback port that refuses connections."""
    return f"http://127.0.0.1:{free_port()}"


def text(envelope: Envelope) -> str:
    assert isinstance(envelope.payload, Chat)
    return envelope.payload.text


async def drain(client: HubClient, count: int) -> list[str]:
    """Exactly `count` more deliveries (then none for a moment): their texts, in order."""
    got = [text(await client.receive(timeout=15)) for _ in range(count)]
    with pytest.raises(TimeoutError):
        await client.receive(timeout=0.3)
    return got


async def assert_stored_once_gap_free(store: SqlStore, group: str, texts: list[str]) -> None:
    stored = await store.messages_after(group, 0)
    assert [m.seq for m in stored] == list(range(1, len(texts) + 1))
    assert len({m.id for m in stored}) == len(stored)
    assert [text(Envelope.model_validate_json(m.body)) for m in stored] == texts


async def test_agents_whose_hub_dies_resume_on_the_next_one(db_path: Path, store: SqlStore) -> None:
    hub_a = await Hub(hub_config(db_path), store=store).start()
    port_b = free_port()
    hubs = [hub_a.url, f"http://127.0.0.1:{port_b}"]
    async with (
        HubClient(hubs, max_backoff=BACKOFF) as alice,
        HubClient(hubs, max_backoff=BACKOFF) as bob,
    ):
        await alice.register(card("alice"))
        await bob.register(card("bob"))
        await alice.connect()
        await bob.connect()
        group = await alice.create_group([str(bob.agent_id)])
        for i in range(3):
            await alice.say(group.id, Chat(text=f"a{i}"))
        assert await drain(bob, 3) == ["a0", "a1", "a2"]

        await hub_a.stop()
        # sent while no hub is up: unacked, so resent (same id) to whichever hub comes back
        pending = asyncio.create_task(alice.say(group.id, Chat(text="while down")))
        await asyncio.sleep(0.5)
        async with Hub(hub_config(db_path, port=port_b), store=store) as hub_b:
            resent = await asyncio.wait_for(pending, 20)
            assert resent.seq == 4
            for i in range(2):
                await bob.say(group.id, Chat(text=f"b{i}"))
            assert await drain(bob, 1) == ["while down"]
            assert await drain(alice, 2) == ["b0", "b1"]
            assert alice.url == bob.url == hub_b.url
            assert alice.cursors[group.id] == bob.cursors[group.id] == 6
    await assert_stored_once_gap_free(store, group.id, ["a0", "a1", "a2", "while down", "b0", "b1"])


async def test_a_hub_that_refuses_from_the_start_is_passed_over(hub: Hub) -> None:
    dead = nowhere()
    async with HubClient([dead, hub.url]) as alice, HubClient(hub.url) as bob:
        await alice.register(card("alice"))  # the POST goes to the first hub that answers
        assert alice.url == hub.url
        await bob.register(card("bob"))
        await bob.connect()
        group = await bob.create_group([str(alice.agent_id)])
        await bob.say(group.id, Chat(text="before alice connects"))

    # a fresh process of alice, with her token: the WebSocket too starts on the dead hub
    async with (
        HubClient(f"{dead},{hub.url}", token=alice.token, max_backoff=BACKOFF) as again,
        HubClient(hub.url, token=bob.token) as bob_again,
    ):
        assert again.url == dead
        await again.connect()
        assert again.url == hub.url
        await bob_again.connect()
        await bob_again.say(group.id, Chat(text="after"))
        assert await drain(again, 2) == ["before alice connects", "after"]


async def test_when_no_hub_answers_connect_gives_up_with_a_typed_error(tmp_path: Path) -> None:
    hubs = [nowhere(), nowhere()]
    async with HubClient(hubs, token="t", give_up_after=1.0, max_backoff=BACKOFF) as client:
        started = time.monotonic()
        with pytest.raises(HubsUnreachable) as gave_up:
            await asyncio.wait_for(client.connect(), 10)
        took = time.monotonic() - started
        assert 1.0 <= took < 1.0 + 2 * BACKOFF + 1.0, took  # the budget, one more wait at most
        assert gave_up.value.code == "unreachable"
        assert all(url in gave_up.value.message for url in hubs)

        started = time.monotonic()
        with pytest.raises(HubsUnreachable) as refused:  # REST: one round, no backoff
            await client.register(card("x"))
        assert time.monotonic() - started < 1.0
        assert refused.value.message.startswith("cannot reach any of the 2 hubs: ")


async def test_a_dropped_client_gives_up_after_reconnect_for(db_path: Path) -> None:
    hub = await Hub(hub_config(db_path)).start()
    client = HubClient([hub.url, nowhere()], max_backoff=BACKOFF, reconnect_for=1.0)
    async with client:
        await client.register(card("alice"))
        await client.connect()
        group = await client.create_group([])
        await hub.stop()
        pending = asyncio.create_task(client.say(group.id, Chat(text="lost")))
        with pytest.raises(HubsUnreachable):
            await asyncio.wait_for(client.receive(), 10)
        with pytest.raises(HubsUnreachable):
            await asyncio.wait_for(pending, 1)
        with pytest.raises(HubsUnreachable):
            await client.wait_synced()
        with pytest.raises(HubsUnreachable):
            await client.say(group.id, Chat(text="after giving up"))
        with pytest.raises(HubsUnreachable):
            async for _ in client.messages():
                pass
        with pytest.raises(HubsUnreachable):
            await client.connect()  # done for good: a new client starts over


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ("http://a:1,ftp://b:2", "'ftp://b:2'"),
        ("http://a:1,,http://b:2", "empty hub URL"),
        ("http://a:1,http://b:99999", "'http://b:99999'"),
        ("127.0.0.1:8765", "'127.0.0.1:8765'"),
        ("http://:80", "'http://:80'"),
        ("http://user:pw@a:1", "credentials"),
        ("http://a:1?x=1", "'http://a:1?x=1'"),
        ("http://a b:1", "'http://a b:1'"),
        (" , ", "no hub URL"),
    ],
)
def test_a_malformed_list_names_the_bad_url(given: str, named: str) -> None:
    with pytest.raises(HubUrlError, match=named.replace("?", r"\?")):
        HubList.parse(given)
    with pytest.raises(HubUrlError):
        HubClient(given)


def test_a_list_is_spelled_one_way_and_turns_round() -> None:
    hubs = HubList.parse(" http://a:1/ ,https://b:2,http://a:1")
    assert str(hubs) == "http://a:1,https://b:2"  # trailing slash, spaces, repeats dropped
    assert [hubs.current, hubs.advance(), hubs.advance()] == [
        "http://a:1",
        "https://b:2",
        "http://a:1",
    ]


async def test_in_a_live_cluster_the_agents_of_a_stopped_hub_go_on_on_another(
    fresh_postgres_url: str, redis_url: str
) -> None:
    config = hub_config(fresh_postgres_url, broker_url=redis_url)
    async with Hub(config) as hub_b:
        hub_a = await Hub(config).start()
        hubs = [hub_a.url, hub_b.url]
        async with (
            HubClient(hubs, max_backoff=BACKOFF) as alice,
            HubClient(hubs, max_backoff=BACKOFF) as bob,
        ):
            await alice.register(card("alice"))
            await bob.register(card("bob"))
            await alice.connect()
            await bob.connect()
            group = await alice.create_group([str(bob.agent_id)])
            await alice.say(group.id, Chat(text="on a"))
            assert await drain(bob, 1) == ["on a"]
            assert alice.url == bob.url == hub_a.url

            await hub_a.stop()
            resent = await asyncio.wait_for(alice.say(group.id, Chat(text="failing over")), 20)
            await bob.say(group.id, Chat(text="on b"))
            assert await drain(bob, 1) == ["failing over"]
            assert await drain(alice, 1) == ["on b"]
            assert alice.url == bob.url == hub_b.url
            assert resent.seq == 2
        stored = await hub_b.store.messages_after(group.id, 0)
        assert [m.seq for m in stored] == [1, 2, 3]
        assert len({m.id for m in stored}) == 3
