"""A member that stops reading is dropped instead of holding up the hub, and loses nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from ioa.client import HubClient
from ioa.hub import Hub
from protocols import Chat
from tests.conftest import card, hub_config

MESSAGES = 600
TEXT = "x" * 30_000
"""18 MB in all: far more than loopback's socket buffers hold for a reader that never reads."""


async def test_a_reader_that_stops_reading_is_dropped_then_resumes_without_loss(
    db_path: Path,
) -> None:
    async with Hub(hub_config(db_path, outbox_bytes=64 * 1024)) as hub:
        alice, bob = HubClient(hub.url), HubClient(hub.url)
        await alice.register(card("alice"))
        await bob.register(card("bob"))
        await alice.connect()
        group = (await alice.create_group([bob.agent_id])).id  # type: ignore[list-item]
        ws_url = hub.url.replace("http", "ws", 1) + "/v1/ws"
        async with aiohttp.ClientSession() as session:
            # no automatic reply to the close frame: the hub closes the socket right behind
            # it, and a reply that finds the socket gone makes aiohttp report 1006 instead of
            # the code the hub sent, depending on which of the two the client sees first
            stalled = await session.ws_connect(
                ws_url,
                headers={"Authorization": f"Bearer {bob.token}"},
                max_msg_size=0,
                autoclose=False,
            )
            await stalled.send_str(json.dumps({"op": "hello", "cursors": {}}))
            for i in range(MESSAGES):  # the sender is never slowed down by the stalled reader
                await alice.say(group, Chat(text=f"{i} {TEXT}"))

            delivered = 0
            async with asyncio.timeout(30):  # the hub must have closed it: this read ends
                async for frame in stalled:  # what reached the socket before the hub gave up
                    if frame.type is aiohttp.WSMsgType.TEXT and '"deliver"' in frame.data[:20]:
                        delivered += 1
            assert stalled.close_code == 1013
            assert delivered < MESSAGES

        await bob.connect()  # resumes from the start: all of it, in order, once
        got = [await bob.receive(timeout=10) for _ in range(MESSAGES)]
        assert [e.seq for e in got] == list(range(1, MESSAGES + 1))
        assert all(e.payload.text.endswith(TEXT) for e in got)  # type: ignore[attr-defined]
        await alice.close()
        await bob.close()
