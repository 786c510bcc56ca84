"""Idle connections are closed: no request line within `header_timeout`, no hello within
`hello_timeout` (close code 4008). A greeted socket is not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ioa.hub import Hub
from tests.conftest import hub_config
from tests.ioa.hub.adversarial.wire import (
    RawWs,
    chat,
    close_writer,
    connect,
    create_group,
    health,
    read_until_closed,
    register,
)

HEADER_TIMEOUT = 0.5
HELLO_TIMEOUT = 0.5
PATIENCE = 8.0
"""How long the test waits for the hub to close: generous, many times the timeouts."""


@pytest.fixture
async def strict_hub(db_path: Path) -> AsyncIterator[Hub]:
    config = hub_config(db_path, header_timeout=HEADER_TIMEOUT, hello_timeout=HELLO_TIMEOUT)
    async with Hub(config) as hub:
        yield hub


@pytest.mark.parametrize(
    "opening",
    [b"", b"GET /v1/hea", b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"POST"],
    ids=["nothing", "half-request-line", "headers-unfinished", "one-word"],
)
async def test_a_connection_that_never_finishes_its_request_head_is_closed(
    strict_hub: Hub, opening: bytes
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", strict_hub.port)
    writer.write(opening)
    await writer.drain()
    answer = await read_until_closed(reader, PATIENCE)  # TimeoutError if the hub keeps it open
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:200]
    await close_writer(writer)
    assert (await health(strict_hub))["status"] == "ok"


async def test_many_idle_connections_are_all_closed(strict_hub: Hub) -> None:
    conns = [await asyncio.open_connection("127.0.0.1", strict_hub.port) for _ in range(50)]
    async with asyncio.timeout(PATIENCE):
        await asyncio.gather(*(read_until_closed(r, PATIENCE) for r, _ in conns))
    for _, writer in conns:
        await close_writer(writer)


async def test_a_websocket_that_never_says_hello_is_closed_with_4008(strict_hub: Hub) -> None:
    agent = await register(strict_hub, "silent")
    ws = await RawWs.open(strict_hub, agent.token)
    await ws.expect("welcome")
    assert await ws.wait_closed(PATIENCE) == 4008  # `recv` answered any ping meanwhile


async def test_a_greeted_websocket_outlives_the_hello_timeout(strict_hub: Hub) -> None:
    agent = await register(strict_hub, "talker")
    group = await create_group(strict_hub, agent)
    ws = await connect(strict_hub, agent)
    await asyncio.sleep(HELLO_TIMEOUT * 3)
    assert (await ws.send_and_ack(chat(group, agent)))["seq"] == 1
    await ws.close()
