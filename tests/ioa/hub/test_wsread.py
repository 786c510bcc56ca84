"""The hub's WebSocket read path (`ioa.hub.wsread`) on the raw wire: frames cut anywhere,
fragments, control frames between them, RFC 6455 violations, the close handshake, and frames
that queue behind one that waits keep their order."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ioa.hub import Hub
from ioa.hub.wsread import FRAMES_PER_TURN
from tests.conftest import hub_config
from tests.ioa.hub.adversarial.conftest import Scene, make_scene
from tests.ioa.hub.adversarial.wire import (
    CLOSE,
    CONT,
    PING,
    PONG,
    TEXT,
    RawWs,
    assert_gap_free,
    chat,
    connect,
    health,
    messages,
    send_frame,
    ws_frame,
)


@pytest.fixture
async def wide_scene(hub: Hub) -> Scene:
    """alice and bob in a chat group, on a hub with the default limits."""
    return await make_scene(hub)


def numbered(envelopes: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(id, seq) of each envelope, stored in the order given."""
    return [(e["id"], i + 1) for i, e in enumerate(envelopes)]


async def closed_with(ws: RawWs) -> int:
    """The code the hub closes with (it must close)."""
    assert await ws.recv() is None
    assert ws.close_code is not None
    return ws.close_code


async def test_a_frame_written_one_byte_at_a_time_is_acked(wide_scene: Scene) -> None:
    s = wide_scene
    ws = await connect(s.hub, s.alice)
    env = chat(s.group, s.alice, "slowly")
    for byte in ws_frame(TEXT, send_frame(env).encode()):
        await ws.send_raw(bytes((byte,)))
    ack = await ws.expect("ack")
    assert (ack["id"], ack["seq"]) == (env["id"], 1)
    await ws.close()


async def test_frames_cut_across_writes_anywhere_are_acked_in_order(wide_scene: Scene) -> None:
    s = wide_scene
    ws = await connect(s.hub, s.alice)
    envelopes = [chat(s.group, s.alice, f"{i} " + "y" * (i * 37)) for i in range(12)]
    wire = b"".join(ws_frame(TEXT, send_frame(e).encode()) for e in envelopes)
    for start in range(0, len(wire), 97):  # cuts inside headers, masks and payloads
        await ws.send_raw(wire[start : start + 97])
    acks = [await ws.expect("ack") for _ in envelopes]
    assert [(a["id"], a["seq"]) for a in acks] == numbered(envelopes)
    await ws.close()


async def test_a_burst_in_one_write_past_the_per_turn_budget_keeps_its_order(
    wide_scene: Scene,
) -> None:
    s = wide_scene
    ws = await connect(s.hub, s.alice)
    envelopes = [chat(s.group, s.alice, str(i)) for i in range(FRAMES_PER_TURN * 5 + 3)]
    replies = await ws.pipeline([send_frame(e) for e in envelopes])
    assert [(r["op"], r["id"], r["seq"]) for r in replies] == [
        ("ack", e["id"], i + 1) for i, e in enumerate(envelopes)
    ]
    assert_gap_free(await messages(s.hub, s.alice, s.group))
    await ws.close()


@pytest.fixture
async def one_in_flight(db_path: Path) -> AsyncIterator[Scene]:
    """A hub that lets each connection have one message in flight: every frame after the
    first of a burst waits for credit."""
    async with Hub(hub_config(db_path, max_inflight=1)) as hub:
        yield await make_scene(hub)


async def test_frames_behind_one_waiting_for_credit_are_handled_after_it_in_order(
    one_in_flight: Scene,
) -> None:
    s = one_in_flight
    ws = await connect(s.hub, s.alice)
    envelopes = [chat(s.group, s.alice, str(i)) for i in range(40)]
    frames = [send_frame(e) for e in envelopes]
    frames.insert(20, '{"op":"send","envelope":')  # a refusal in the middle of the queue
    replies = await ws.pipeline(frames)
    errors = [i for i, r in enumerate(replies) if r["op"] == "error"]
    assert len(errors) == 1
    assert errors[0] >= 19  # handled after the 20th send, which waited for the 19th ack
    acks = [r for r in replies if r["op"] == "ack"]
    assert [(a["id"], a["seq"]) for a in acks] == numbered(envelopes)
    await ws.close()


async def test_a_ping_between_the_fragments_of_a_message_is_answered_and_the_message_acked(
    wide_scene: Scene,
) -> None:
    s = wide_scene
    ws = await connect(s.hub, s.alice)
    env = chat(s.group, s.alice, "in pieces " * 20)
    data = send_frame(env).encode()
    half = len(data) // 2
    await ws.send_frame(TEXT, data[:half], fin=False)
    await ws.send_frame(PING, b"are you there")
    assert await ws.recv_frame() == (PONG, b"are you there")
    await ws.send_frame(CONT, data[half:])
    ack = await ws.expect("ack")
    assert (ack["id"], ack["seq"]) == (env["id"], 1)
    await ws.close()


async def test_the_client_closing_gets_the_close_frame_back_and_the_connection_ends(
    wide_scene: Scene,
) -> None:
    s = wide_scene
    ws = await connect(s.hub, s.alice)
    await ws.send_frame(CLOSE, struct.pack("!H", 1000) + b"bye")
    opcode, payload = await ws.recv_frame()
    assert (opcode, payload[:2]) == (CLOSE, struct.pack("!H", 1000))
    assert await ws.reader.read() == b""  # then the hub ends the TCP connection
    await ws.close()
    again = await connect(s.hub, s.alice)
    assert (await again.send_and_ack(chat(s.group, s.alice)))["seq"] == 1
    await again.close()


PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
TOO_BIG = 1009


@pytest.mark.parametrize(
    ("case", "wire", "code"),
    [
        ("ping in fragments", ws_frame(PING, b"x", fin=False), PROTOCOL_ERROR),
        ("control frame over 125 bytes", ws_frame(PING, b"p" * 126), PROTOCOL_ERROR),
        ("reserved bits set", bytes((0xC1,)) + ws_frame(TEXT, b"{}")[1:], PROTOCOL_ERROR),
        ("continuation of nothing", ws_frame(CONT, b"{}"), PROTOCOL_ERROR),
        ("unknown opcode", ws_frame(0x3, b"{}"), PROTOCOL_ERROR),
        (
            "text inside a fragmented text",
            ws_frame(TEXT, b'{"op"', fin=False) + ws_frame(TEXT, b"{}"),
            PROTOCOL_ERROR,
        ),
        ("invalid UTF-8", ws_frame(TEXT, b'{"op":"\xff\xfe"}'), INVALID_DATA),
        ("a 64-bit length", bytes((0x81, 0xFF)) + struct.pack("!Q", 2**63 + 5), TOO_BIG),
        ("a length past the limit", bytes((0x81, 0xFF)) + struct.pack("!Q", 2**21), TOO_BIG),
        ("close code out of range", ws_frame(CLOSE, struct.pack("!H", 999)), PROTOCOL_ERROR),
    ],
)
async def test_a_frame_breaking_rfc_6455_closes_the_socket_with_its_code(
    wide_scene: Scene, case: str, wire: bytes, code: int
) -> None:
    s = wide_scene
    ws = await connect(s.hub, s.alice)
    await ws.send_raw(wire)
    assert await closed_with(ws) == code, case
    assert (await health(s.hub))["status"] == "ok"
    again = await connect(s.hub, s.alice)  # the agent is not harmed by its broken socket
    assert (await again.send_and_ack(chat(s.group, s.alice)))["seq"] == 1
    await again.close()


async def test_a_frame_after_a_protocol_error_in_the_same_write_is_not_handled(
    wide_scene: Scene,
) -> None:
    s = wide_scene
    ws = await connect(s.hub, s.alice)
    late = chat(s.group, s.alice, "after the violation")
    await ws.send_raw(ws_frame(PING, b"x", fin=False) + ws_frame(TEXT, send_frame(late).encode()))
    assert await closed_with(ws) == PROTOCOL_ERROR
    assert await messages(s.hub, s.alice, s.group) == []
