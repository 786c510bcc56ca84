"""Agents of a restarted hub come back spread over the backoff window, not in waves; a hub
busy with resumes tells the rest when to come back."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from pathlib import Path

import aiohttp
import pytest

from ioa.backoff import Backoff
from ioa.client import ClientError, HubClient
from ioa.hub import Hub
from protocols import Chat, ErrorCode
from tests.conftest import card, hub_config

CLIENTS = 200
CAP = 2.0


def test_full_jitter_spreads_waits_over_a_doubling_window() -> None:
    waits = [Backoff(base=0.1, cap=CAP, rng=random.Random(seed)).next() for seed in range(500)]
    assert max(waits) <= 0.1
    assert statistics.pstdev(waits) > 0.02  # spread, not one instant
    grown = Backoff(base=0.1, cap=CAP, rng=random.Random(1))
    windows = [grown.next() for _ in range(12)]
    assert max(windows) <= CAP
    assert max(windows[6:]) > 0.2  # the window doubled up to the cap


def test_a_retry_after_hint_is_obeyed_with_jitter_on_top() -> None:
    waits = [Backoff(rng=random.Random(seed)).next(hint=3.0) for seed in range(200)]
    assert 1.5 <= min(waits) < 2.0  # no floor at the hint: refused clients do not come back as
    assert 4.0 < max(waits) <= 4.5  # one wave after it
    assert 2.8 < statistics.mean(waits) < 3.2


async def test_two_hundred_agents_of_a_restarted_hub_return_spread_out(db_path: Path) -> None:
    first = Hub(hub_config(db_path))
    await first.start()
    port = first.port
    clients = [HubClient(first.url, max_backoff=CAP) for _ in range(CLIENTS)]
    for i, client in enumerate(clients):
        await client.__aenter__()
        await client.register(card(f"agent-{i}"))
    await asyncio.gather(*(client.connect() for client in clients))
    await first.stop()
    down = time.monotonic()
    await asyncio.sleep(0.5)  # the hub is down: every client is in its backoff

    async with Hub(hub_config(db_path, port=port)):
        back = await asyncio.gather(*(client.wait_synced() for client in clients))
    delays = sorted(t - down for t in back)
    buckets = {int(d / 0.1) for d in delays}
    assert len(buckets) >= 5, delays  # spread over the window, not one instant
    assert statistics.pstdev(delays) > 0.1
    await asyncio.gather(*(client.close() for client in clients))


async def test_a_hub_busy_with_resumes_answers_503_with_retry_after(db_path: Path) -> None:
    config = hub_config(db_path, max_resuming=1, resume_wait=0)  # no line: refused at once
    async with Hub(config) as hub, aiohttp.ClientSession() as http:
        tokens = []
        for name in ("a", "b"):
            async with http.post(f"{hub.url}/v1/agents", json={"name": name}) as resp:
                tokens.append((await resp.json())["token"])
        ws_url = hub.url.replace("http", "ws", 1) + "/v1/ws"
        resuming = await http.ws_connect(ws_url, headers={"Authorization": f"Bearer {tokens[0]}"})
        async with http.get(ws_url, headers={"Authorization": f"Bearer {tokens[1]}"}) as resp:
            assert resp.status == 503
            assert int(resp.headers["Retry-After"]) >= 1
            assert (await resp.json())["error"]["code"] == ErrorCode.BUSY
        await resuming.send_str('{"op":"hello"}')  # its replay ends: the next one gets in
        while "synced" not in (await resuming.receive_str()):
            pass
        again = await http.ws_connect(ws_url, headers={"Authorization": f"Bearer {tokens[1]}"})
        await again.close()
        await resuming.close()


async def test_a_client_replaced_by_a_newer_connection_stops_instead_of_fighting_back(
    tmp_path: Path,
) -> None:
    async with Hub(hub_config(tmp_path / "hub.db")) as hub:
        first = HubClient(hub.url, max_backoff=0.1)
        async with first:
            await first.register(card("twin"))
            await first.connect()
            second = HubClient(hub.url, token=first.token, agent_id=first.agent_id)
            async with second:
                await second.connect()
                with pytest.raises(ClientError) as ended:
                    await first.receive(timeout=5)
                assert ended.value.code == "closed"
                await asyncio.sleep(1.0)  # the first would have reconnected within 0.1 s
                socket = second._ws
                assert socket is not None
                assert not socket.closed
                group = await second.create_group([])
                sent = await second.say(group.id, Chat(text="still mine"))
                assert sent.seq == 1
