"""Limits are in bytes: a WebSocket frame is measured in UTF-8 bytes, and a member that never
reads costs the hub at most `outbox_bytes` before it is dropped (1013) to resume later."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ioa.hub import Hub
from tests.conftest import hub_config
from tests.ioa.hub.adversarial.conftest import LIMIT, Scene
from tests.ioa.hub.adversarial.wire import (
    RawWs,
    assert_unchanged,
    chat,
    connect,
    create_group,
    register,
    send_frame,
    snapshot,
)


def frame_of_size(scene: Scene, size: int, char: str) -> tuple[str, str]:
    """(message id, send frame) whose UTF-8 encoding is exactly `size` bytes, its text mostly
    `char` (multi-byte), so that it has far fewer characters than bytes."""
    env = chat(scene.group, scene.alice, "")
    base = len(send_frame(env).encode())
    wide, narrow = divmod(size - base, len(char.encode()))
    env["payload"]["text"] = char * wide + "a" * narrow
    frame = send_frame(env)
    assert len(frame.encode()) == size
    return env["id"], frame


@pytest.mark.parametrize("char", ["é", "€", "😀"])
async def test_a_frame_over_the_limit_in_bytes_but_not_in_characters_is_too_large(
    scene: Scene, char: str
) -> None:
    ws = await connect(scene.hub, scene.alice)
    before = await snapshot(scene.hub, scene.alice, [scene.group])
    for size in (LIMIT + 1, LIMIT + len(char.encode()), LIMIT + LIMIT // 2):
        _, frame = frame_of_size(scene, size, char)
        assert len(frame) < LIMIT
        await ws.send(frame)
        assert await ws.expect_error() == "frame_too_large", size
    await assert_unchanged(scene.hub, before, scene.alice)

    message_id, exact = frame_of_size(scene, LIMIT, char)
    await ws.send(exact)
    ack = await ws.expect("ack")
    assert (ack["id"], ack["seq"]) == (message_id, 1)
    await ws.close()


async def test_a_member_that_never_reads_is_dropped_at_its_byte_budget_then_resumes(
    db_path: Path,
) -> None:
    """30 KB messages: far fewer frames than the old 10,000-frame limit, far more bytes than
    `outbox_bytes` and than loopback's socket buffers hold; only a budget in bytes catches it."""
    count, text = 600, "x" * 30_000
    config = hub_config(db_path, outbox_bytes=256 * 1024)
    async with Hub(config) as hub:
        alice, bob = await register(hub, "alice"), await register(hub, "bob")
        group = await create_group(hub, alice, [bob])
        stalled = await RawWs.open(hub, bob.token)
        await stalled.send('{"op":"hello","cursors":{}}')  # and then never reads
        sender = await connect(hub, alice)
        envelopes = [chat(group, alice, f"{i} {text}") for i in range(count)]
        replies = await sender.pipeline([send_frame(e) for e in envelopes])
        assert [r.get("seq") for r in replies] == list(range(1, count + 1))

        seen: list[int] = []
        while (frame := await stalled.recv(timeout=30)) is not None:
            if (data := json.loads(frame))["op"] == "deliver":
                seen.append(data["envelope"]["seq"])
        assert stalled.close_code == 1013
        assert len(seen) < count
        assert seen == list(range(1, len(seen) + 1))

        resumed = await RawWs.open(hub, bob.token)
        await resumed.expect("welcome")
        cursor = {group: seen[-1]} if seen else {}
        replayed = await resumed.hello(cursor, timeout=30)
        assert [e["seq"] for e in replayed] == list(range(len(seen) + 1, count + 1))
        assert all(e["payload"]["text"].endswith(text) for e in replayed)
        await resumed.close()
        await sender.close()
