"""`Liveness` on a real hub: a silent socket is pinged, one that never answers is cut (and its
agent is free to come back), one that answers or keeps talking stays."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ioa.hub import Hub
from ioa.hub.liveness import PING
from tests.conftest import hub_config
from tests.ioa.hub.adversarial.conftest import Scene, make_scene
from tests.ioa.hub.adversarial.wire import PING as PING_OP
from tests.ioa.hub.adversarial.wire import PONG, TEXT, RawWs, chat, connect, send_frame

HEARTBEAT = 0.4


@pytest.fixture
async def scene(db_path: Path) -> AsyncIterator[Scene]:
    async with Hub(hub_config(db_path, ws_heartbeat=HEARTBEAT)) as hub:
        yield await make_scene(hub)


async def next_frame(ws: RawWs, timeout: float) -> tuple[int, bytes]:
    """The next frame from the hub, pings included (`RawWs.recv_frame` answers them)."""
    async with asyncio.timeout(timeout):
        first, size = await ws.reader.readexactly(2)
        assert size < 126  # the hub's frames in these tests are short
        return first & 0x0F, await ws.reader.readexactly(size)


async def test_a_peer_that_never_answers_a_ping_is_cut(scene: Scene) -> None:
    s = scene
    ws = await connect(s.hub, s.alice)
    started = time.monotonic()
    received = bytearray()
    async with asyncio.timeout(10 * HEARTBEAT):
        while part := await ws.reader.read(1024):  # read, but never answer
            received += part
    took = time.monotonic() - started
    assert received == PING  # pinged once, then cut without a word
    assert HEARTBEAT <= took <= 6 * HEARTBEAT
    assert not s.hub.state.router.is_connected(s.alice.id)
    ws.abort()
    again = await connect(s.hub, s.alice)
    assert (await again.send_and_ack(chat(s.group, s.alice)))["seq"] == 1
    await again.close()


async def test_a_peer_that_answers_pings_stays_connected(scene: Scene) -> None:
    s = scene
    ws = await connect(s.hub, s.alice)
    pings = 0
    deadline = time.monotonic() + 6 * HEARTBEAT
    while (left := deadline - time.monotonic()) > 0:
        try:
            opcode, payload = await next_frame(ws, left)
        except TimeoutError:
            break
        assert opcode == PING_OP
        pings += 1
        await ws.send_frame(PONG, payload)
    assert pings >= 2
    assert s.hub.state.router.is_connected(s.alice.id)
    assert (await ws.send_and_ack(chat(s.group, s.alice)))["seq"] == 1
    await ws.close()


async def test_a_peer_that_keeps_sending_is_never_pinged(scene: Scene) -> None:
    s = scene
    ws = await connect(s.hub, s.alice)
    deadline = time.monotonic() + 5 * HEARTBEAT
    while time.monotonic() < deadline:
        await ws.send(send_frame(chat(s.group, s.alice)))
        assert (await next_frame(ws, 10))[0] == TEXT  # its ack; never a ping
        await asyncio.sleep(HEARTBEAT / 8)
    assert s.hub.state.router.is_connected(s.alice.id)
    await ws.close()


async def test_a_cut_peer_is_no_longer_watched(scene: Scene) -> None:
    s = scene
    ws = await connect(s.hub, s.alice)
    assert s.hub.state.liveness.watching == 1
    await ws.close()
    assert await ws.reader.read() == b""  # the hub has ended the connection
    await asyncio.sleep(0.1)  # and its session, in its next turns
    assert s.hub.state.liveness.watching == 0
