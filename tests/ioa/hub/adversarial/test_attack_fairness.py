"""One client writing thousands of frames at once does not stall the others, and none of its
frames is lost: each is acked or refused."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ioa.hub import Hub
from tests.ioa.hub.adversarial.wire import (
    TEXT,
    chat,
    connect,
    create_group,
    http,
    messages,
    register,
    send_frame,
    ws_frame,
)

FLOOD = 5000
ROUND_TRIPS = 20
BOUND = 5.0
"""Seconds any one round trip of the polite client may take during the flood: generous."""


async def test_a_flood_does_not_stall_a_polite_client_and_loses_nothing(hub: Hub) -> None:
    flooder, victim, polite = [await register(hub, n) for n in ("flooder", "victim", "polite")]
    loud = await create_group(hub, flooder, [victim])
    quiet = await create_group(hub, polite, [victim])
    flood_ws = await connect(hub, flooder)
    polite_ws = await connect(hub, polite)

    valid, frames = [], []
    for i in range(FLOOD):
        if i % 10 == 9:  # one in ten is refused: spoofed sender, or not JSON at all
            bad = chat(loud, victim, "spoof") if i % 20 == 9 else None
            frames.append(send_frame(bad) if bad else '{"op":"send","envelope":{')
        else:
            env = chat(loud, flooder, f"flood {i}")
            valid.append(env["id"])
            frames.append(send_frame(env))
    blob = b"".join(ws_frame(TEXT, f.encode()) for f in frames)

    async def flood() -> list[dict[str, Any]]:
        await flood_ws.send_raw(blob)  # thousands of frames in one write
        replies: list[dict[str, Any]] = []
        while len(replies) < FLOOD:
            frame = await flood_ws.recv_json(timeout=30)
            if frame["op"] in ("ack", "error"):
                replies.append(frame)
        return replies

    flooding = asyncio.create_task(flood())
    slowest = 0.0
    for i in range(ROUND_TRIPS):
        started = time.monotonic()
        env = chat(quiet, polite, f"polite {i}")
        ack = await asyncio.wait_for(polite_ws.send_and_ack(env), BOUND)
        assert ack["seq"] == i + 1
        reply = await asyncio.wait_for(http(hub, "GET", "/v1/health"), BOUND)
        assert reply.status == 200
        slowest = max(slowest, time.monotonic() - started)
    replies = await asyncio.wait_for(flooding, 60)

    acks = [r for r in replies if r["op"] == "ack"]
    errors = [r for r in replies if r["op"] == "error"]
    assert sorted(a["id"] for a in acks) == sorted(valid)
    assert sorted(a["seq"] for a in acks) == list(range(1, len(valid) + 1))
    codes = {e["error"]["code"] for e in errors}
    assert len(errors) == FLOOD - len(valid)
    assert codes == {"sender_mismatch", "malformed_json"}
    stored = await messages(hub, flooder, loud)
    assert [m["id"] for m in stored] == [a["id"] for a in sorted(acks, key=lambda a: a["seq"])]
    assert len(await messages(hub, polite, quiet)) == ROUND_TRIPS
    assert slowest < BOUND
    await flood_ws.close()
    await polite_ws.close()


async def test_a_polite_message_is_not_queued_behind_the_whole_flood(hub: Hub) -> None:
    """Order, not time: when the polite client's ack comes back, most of a flood written before
    it must still be waiting. Without per-connection fairness the hub read every frame of the
    flood first (each stored ahead of the polite one) and stalled everyone for all of them."""
    flooder, victim, polite = [await register(hub, n) for n in ("flooder", "victim", "polite")]
    loud = await create_group(hub, flooder, [victim])
    quiet = await create_group(hub, polite, [victim])
    flood_ws = await connect(hub, flooder)
    polite_ws = await connect(hub, polite)
    blob = b"".join(
        ws_frame(TEXT, send_frame(chat(loud, flooder, f"{i} " + "x" * 1000)).encode())
        for i in range(FLOOD)
    )
    await flood_ws.send_raw(blob)
    while (await flood_ws.recv_json(timeout=30))["op"] != "ack":  # the hub is taking the flood
        pass
    acked = 1
    await polite_ws.send_and_ack(chat(quiet, polite, "excuse me"))
    stored_first = len(await messages(hub, flooder, loud))
    assert stored_first < FLOOD // 2, f"{stored_first} of {FLOOD} flood frames went first"
    while acked < FLOOD:  # and the flood itself is all taken in the end
        if (await flood_ws.recv_json(timeout=30))["op"] == "ack":
            acked += 1
    await flood_ws.close()
    await polite_ws.close()
