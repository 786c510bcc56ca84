"""The broker: what the hubs of one cluster tell each other, over Redis pub/sub.

Only hints travel here — a group's new head, that an agent, group or goal changed, who is
connected where, that a hub is alive. Every fact they point at is in the shared store, so
pub/sub's at-most-once delivery is enough: a lost hint costs latency, never a message, because
the next hint (or the periodic look at the store, or the catch-up after a reconnect) makes the
hub read what it missed. While Redis is down the hubs go on serving their own members; events
published meanwhile are dropped, and every (re)subscription is reported to the hub
(`on_connected`) so it catches up from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from ioa.backoff import Backoff

log = logging.getLogger("ioa.hub.cluster")

CHANNEL = "ioa:hubs"
MAX_QUEUED = 100_000
"""Events waiting to be published; past it (the broker is down or slow) new ones are dropped."""
BATCH_BYTES = 256 * 1024
"""Events queued while a publish is under way leave together, as one JSON array of up to about
this many bytes: a reconnect wave queues one presence event per agent, and one round trip to
Redis each (and one message for every other hub to parse) was most of the broker's cost."""

Event = dict[str, Any]


class Broker:
    """One hub's connection to the cluster's Redis: publish events, hear the others'."""

    def __init__(
        self,
        url: str,
        hub_id: str,
        on_event: Callable[[Event], None],
        on_connected: Callable[[], Awaitable[None]],
        channel: str = CHANNEL,
    ) -> None:
        self.url = url
        self.hub_id = hub_id
        self.channel = channel
        self._on_event = on_event
        self._on_connected = on_connected
        self._client: aioredis.Redis | None = None
        self._outbox: asyncio.Queue[str] = asyncio.Queue(MAX_QUEUED)
        self._tasks: list[asyncio.Task[None]] = []
        self.up = False
        """True while subscribed; events heard only while it is."""
        self.dropped = 0
        """Events not published because the broker was down or the outbox full."""

    async def start(self) -> None:
        self._client = aioredis.from_url(
            self.url, socket_connect_timeout=2, socket_timeout=None, health_check_interval=5
        )
        self._tasks = [
            asyncio.create_task(self._listen()),
            asyncio.create_task(self._send()),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._client is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._client.aclose()
            self._client = None

    def publish(self, event: Event) -> None:
        """Queue an event for the other hubs; never blocks, never raises."""
        event["hub"] = self.hub_id
        try:
            self._outbox.put_nowait(json.dumps(event, separators=(",", ":")))
        except asyncio.QueueFull:
            self.dropped += 1

    async def _send(self) -> None:
        assert self._client is not None
        while True:
            data, count = await self._outbox.get(), 1
            if not self._outbox.empty():
                data, count = self._batch(data)
            try:
                await self._client.publish(self.channel, data)
            except (RedisError, OSError) as exc:
                self.dropped += count + self._outbox.qsize()
                while not self._outbox.empty():  # the store has it all; the others will catch up
                    self._outbox.get_nowait()
                log.debug("broker publish failed: %s", exc)
                await asyncio.sleep(0.2)

    def _batch(self, first: str) -> tuple[str, int]:
        """`first` and the events queued after it, up to `BATCH_BYTES`, as one JSON array;
        and how many events it holds."""
        events, size = [first], len(first)
        while size < BATCH_BYTES and not self._outbox.empty():
            event = self._outbox.get_nowait()
            events.append(event)
            size += len(event)
        return "[" + ",".join(events) + "]", len(events)

    async def _listen(self) -> None:
        assert self._client is not None
        backoff = Backoff(base=0.1, cap=2.0)
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    kind = message.get("type")
                    if kind == "subscribe":  # first time, and after redis-py reconnected
                        self.up = True
                        backoff.reset()
                        await self._on_connected()
                    elif kind == "message":
                        self._heard(message["data"])
            except (RedisError, OSError) as exc:
                if self.up:
                    log.warning("broker %s lost: %s; serving local members", self.url, exc)
                self.up = False
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(backoff.next())

    def _heard(self, data: bytes | str) -> None:
        """One event, or several published together (a JSON array of them)."""
        try:
            heard = json.loads(data)
        except ValueError:
            log.warning("broker: ignored a message that is not JSON")
            return
        for event in heard if isinstance(heard, list) else [heard]:
            if not isinstance(event, dict) or event.get("hub") == self.hub_id:
                continue
            try:
                self._on_event(event)
            except Exception:  # one bad event must not end the subscription
                log.exception("broker: failed to handle %r", event.get("t"))
