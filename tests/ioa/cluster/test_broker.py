"""The broker on a real `redis-server`: a burst of events leaves in few messages and arrives
whole, in order, without the publisher's own."""

from __future__ import annotations

import asyncio

from redis import asyncio as aioredis

from ioa.hub.broker import Broker, Event
from tests.ioa.cluster.conftest import eventually
from tests.redis_server import RedisServer

BURST = 500


async def publishes(server: RedisServer) -> int:
    """PUBLISH commands the server has run so far (its own count, `INFO commandstats`)."""
    client = aioredis.from_url(server.url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    return int(stats.get("cmdstat_publish", {}).get("calls", 0))


async def test_a_burst_of_events_arrives_whole_and_in_order_in_fewer_messages(
    redis_server: RedisServer,
) -> None:
    heard: dict[str, list[Event]] = {"a": [], "b": []}
    ready = {"a": asyncio.Event(), "b": asyncio.Event()}

    def broker(name: str) -> Broker:
        async def connected() -> None:
            ready[name].set()

        return Broker(redis_server.url, name, heard[name].append, connected)

    a, b = broker("a"), broker("b")
    await a.start()
    await b.start()
    try:
        await asyncio.wait_for(asyncio.gather(ready["a"].wait(), ready["b"].wait()), 10)
        before = await publishes(redis_server)
        for i in range(BURST):  # as a reconnect wave does: one presence event per agent
            a.publish({"t": "p", "id": f"agent-{i}", "on": True})
        await eventually(lambda: len(heard["b"]) >= BURST)
        assert [e["id"] for e in heard["b"]] == [f"agent-{i}" for i in range(BURST)]
        assert all(e["hub"] == "a" for e in heard["b"])
        assert heard["a"] == []  # a hub does not hear itself, batched or not
        assert await publishes(redis_server) - before < BURST / 10  # queued ones left together
        a.publish({"t": "p", "id": "alone", "on": False})  # a lone event: as before, no array
        await eventually(lambda: heard["b"][-1]["id"] == "alone")
        assert a.dropped == 0
    finally:
        await a.stop()
        await b.stop()
