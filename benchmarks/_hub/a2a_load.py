"""Load on the a2a-sdk echo agent: closed-loop JSON-RPC `SendMessage` calls over aiohttp.

aiohttp, not httpx, because httpx costs several times more CPU per request and would be what is
measured. Each client keeps one call in flight; the latency is the round trip of the message and
its echo, the equivalent of one delivery through the hub. Bodies are pre-built strings.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from _hub.measure import Run

HEADERS = {"Content-Type": "application/json", "A2A-Version": "1.0"}


async def _client(session: aiohttp.ClientSession, url: str, run: Run, index: int, pad: str) -> None:
    head = '{"jsonrpc":"2.0","id":'
    mid = ',"method":"SendMessage","params":{"message":{"messageId":"c' + str(index) + "-"
    role = '","role":"ROLE_USER","parts":[{"text":"'
    tail = ":" + pad + '"}]}}}'
    count = 0
    while run.sending:
        count += 1
        sent = time.perf_counter_ns()
        stamp = str(sent)
        body = head + str(count) + mid + str(count) + role + stamp + tail
        run.sent += 1
        try:
            async with session.post(url, data=body.encode(), headers=HEADERS) as resp:
                raw = await resp.read()
                status = resp.status
        except aiohttp.ClientError as exc:
            run.sent -= 1
            run.errors.append(f"{type(exc).__name__}: {exc}")
            continue
        now = time.perf_counter_ns()
        if status != 200 or b'"result"' not in raw or stamp.encode() not in raw:
            run.errors.append(f"HTTP {status}: {raw[:300]!r}")
            continue
        run.acked += 1
        run.delivered += 1
        if run.t0 <= now < run.t1:
            run.latencies.append(now - sent)


def start_clients(
    session: aiohttp.ClientSession, url: str, run: Run, clients: int, payload_bytes: int
) -> list[asyncio.Task[None]]:
    pad = "x" * payload_bytes
    return [asyncio.create_task(_client(session, url, run, i, pad)) for i in range(clients)]
