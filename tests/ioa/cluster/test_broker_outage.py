"""Redis dies for a few seconds: each hub goes on serving its own members, and when the broker
returns (or its periodic look at the store comes first) members on the other hub get every
message once, in order."""

from __future__ import annotations

import asyncio

from ioa.hub import Hub
from protocols import Chat
from tests.ioa.cluster.conftest import RedisServer, eventually, joined


async def test_hubs_serve_through_a_broker_outage_and_lose_nothing(
    two_hubs: list[Hub], redis_server: RedisServer
) -> None:
    a, b = two_hubs
    alice, carol = await joined(a.url, "alice"), await joined(a.url, "carol")
    bob = await joined(b.url, "bob")
    try:
        group = await alice.create_group([carol.agent_id, bob.agent_id])  # type: ignore[list-item]
        await alice.say(group.id, Chat(text="before"))
        assert (await bob.receive(timeout=10)).payload.text == "before"  # type: ignore[attr-defined]
        assert (await carol.receive(timeout=10)).payload.text == "before"  # type: ignore[attr-defined]

        redis_server.kill()
        await eventually(lambda: not a.cluster.broker.up and not b.cluster.broker.up)  # type: ignore[union-attr]
        during = [await alice.say(group.id, Chat(text=f"down {i}")) for i in range(10)]
        during.append(await bob.say(group.id, Chat(text="bob while down")))
        local = [await carol.receive(timeout=5) for _ in range(10)]  # same hub: no broker needed
        assert [e.payload.text for e in local] == [f"down {i}" for i in range(10)]  # type: ignore[attr-defined]
        await asyncio.sleep(0.5)
        redis_server.start()

        got = [await bob.receive(timeout=15) for _ in range(10)]
        assert [e.payload.text for e in got] == [f"down {i}" for i in range(10)]  # type: ignore[attr-defined]
        from_bob = await carol.receive(timeout=15)
        assert from_bob.payload.text == "bob while down"  # type: ignore[attr-defined]
        stored = await a.store.messages_after(group.id, 0)
        assert [m.seq for m in stored] == list(range(1, 13))
        assert sorted(e.seq for e in during) == list(range(2, 13))  # type: ignore[type-var]
        await eventually(lambda: a.cluster.broker.up and b.cluster.broker.up)  # type: ignore[union-attr]
        await alice.say(group.id, Chat(text="after"))
        assert (await bob.receive(timeout=10)).payload.text == "after"  # type: ignore[attr-defined]
        with_nothing_more = bob.receive(timeout=0.5)
        try:
            extra = await with_nothing_more
        except TimeoutError:
            extra = None
        assert extra is None, f"delivered twice: {extra}"
    finally:
        for client in (alice, carol, bob):
            await client.close()
