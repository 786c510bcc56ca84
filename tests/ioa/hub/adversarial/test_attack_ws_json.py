"""Pathological JSON over the WebSocket: an error frame with a code, nothing stored, and the
socket stays usable (the next valid send is acked with the next seq)."""

from __future__ import annotations

import asyncio

import pytest

from tests.ioa.hub.adversarial.conftest import Scene
from tests.ioa.hub.adversarial.wire import (
    BINARY,
    CONT,
    TEXT,
    RawWs,
    assert_unchanged,
    chat,
    compact,
    connect,
    health,
    send_frame,
    snapshot,
)

DEEP = 100_000
BIG = b"9" * 10_000
NOT_JSON = {"malformed_json"}
SCHEMA = {"invalid_envelope"}
EITHER = NOT_JSON | SCHEMA
"""JSON by the grammar but not data the hub can hold (lone surrogates, NaN, numbers past any
range): refused as either code, but refused. Repeated keys: `test_attack_duplicate_keys`."""
WIDE_FIELDS = ",".join(f'"k{i}":{i}' for i in range(15_000))


def envelope_bytes(scene: Scene, **fields: str) -> bytes:
    """A valid send frame for alice; `fields` replace envelope fields with raw JSON text."""
    env = chat(scene.group, scene.alice, "attack")
    text = compact({"op": "send", "envelope": env})
    for name, raw in fields.items():
        text = text.replace(f'"{name}":{compact(env[name])}', f'"{name}":{raw}')
    return text.encode()


def with_text(scene: Scene, raw: str) -> bytes:
    """A send frame whose chat text is the raw JSON `raw`."""
    return envelope_bytes(scene, payload='{"type":"chat","text":' + raw + "}")


def with_field(scene: Scene, raw: bytes) -> bytes:
    """A send frame with the raw `"name":value` pair `raw` added to its envelope."""
    return envelope_bytes(scene).replace(b'"payload"', raw + b',"payload"')


def cases(scene: Scene) -> dict[str, tuple[int, bytes, set[str]]]:
    group = scene.group
    nested = "[" * DEEP + "]" * DEEP
    return {
        "deep-open": (TEXT, b"[" * DEEP, NOT_JSON),
        "deep-balanced": (TEXT, nested.encode(), NOT_JSON),
        "deep-in-envelope": (TEXT, with_text(scene, nested), NOT_JSON),
        "wide-envelope": (TEXT, with_field(scene, WIDE_FIELDS.encode()), SCHEMA),
        "wide-frame": (TEXT, ("{" + WIDE_FIELDS + "}").encode(), SCHEMA),
        "lone-surrogate": (TEXT, with_text(scene, '"a\\ud800b"'), EITHER),
        "lone-low-surrogate": (TEXT, with_text(scene, '"\\udc00"'), EITHER),
        "nan-ts": (TEXT, with_field(scene, b'"ts":NaN'), EITHER),
        "infinity-text": (TEXT, with_text(scene, "Infinity"), EITHER),
        "minus-infinity-seq": (TEXT, with_field(scene, b'"seq":-Infinity'), EITHER),
        "big-number-to": (TEXT, with_field(scene, b'"to":[' + BIG + b"]"), EITHER),
        "big-number-envelope": (TEXT, b'{"op":"send","envelope":' + BIG + b"}", EITHER),
        "empty-text": (TEXT, b"", NOT_JSON),
        "whitespace-text": (TEXT, b" \r\n\t ", NOT_JSON),
        "null": (TEXT, b"null", SCHEMA),
        "string": (TEXT, b'"send"', SCHEMA),
        "array": (TEXT, b"[]", SCHEMA),
        "unknown-op": (TEXT, b'{"op":"shout","text":"hi"}', SCHEMA),
        "binary-valid-json": (BINARY, envelope_bytes(scene), SCHEMA),
        "binary-empty": (BINARY, b"", SCHEMA),
        "binary-garbage": (BINARY, bytes(range(256)), SCHEMA),
        "group-not-string": (TEXT, envelope_bytes(scene, group=f'["{group}"]'), SCHEMA),
    }


CASES = [
    "deep-open",
    "deep-balanced",
    "deep-in-envelope",
    "wide-envelope",
    "wide-frame",
    "lone-surrogate",
    "lone-low-surrogate",
    "nan-ts",
    "infinity-text",
    "minus-infinity-seq",
    "big-number-to",
    "big-number-envelope",
    "empty-text",
    "whitespace-text",
    "null",
    "string",
    "array",
    "unknown-op",
    "binary-valid-json",
    "binary-empty",
    "binary-garbage",
    "group-not-string",
]


@pytest.mark.parametrize("case", CASES)
async def test_pathological_frame_gets_an_error_and_the_socket_survives(
    wide_scene: Scene, case: str
) -> None:
    s = wide_scene
    opcode, payload, codes = cases(s)[case]
    before = await snapshot(s.hub, s.alice, [s.group])
    ws = await connect(s.hub, s.alice)
    await ws.send_frame(opcode, payload)
    code = await ws.expect_error()
    assert code in codes
    await assert_unchanged(s.hub, before, s.alice)

    good = chat(s.group, s.alice, "still here")
    ack = await ws.send_and_ack(good)
    assert ack["seq"] == 1
    stored = await snapshot(s.hub, s.alice, [s.group])
    assert stored.stored[s.group] == [(1, good["id"])]
    await ws.close()


async def test_invalid_utf8_in_a_text_frame_closes_or_errors_and_stores_nothing(
    wide_scene: Scene,
) -> None:
    s = wide_scene
    before = await snapshot(s.hub, s.alice, [s.group])
    ws = await connect(s.hub, s.alice)
    bad = envelope_bytes(s).replace(b'"attack"', b'"\xff\xfe\xc0\xaf"')
    await ws.send_frame(TEXT, bad)
    text = await ws.recv()
    if text is None:  # aiohttp's verdict on a protocol violation: 1007, invalid frame data
        assert ws.close_code == 1007
    else:
        assert '"error"' in text
    assert (await health(s.hub))["status"] == "ok"
    await assert_unchanged(s.hub, before, s.alice)
    await ws.close()

    again = await connect(s.hub, s.alice)  # the agent is not harmed by its broken socket
    assert (await again.send_and_ack(chat(s.group, s.alice)))["seq"] == 1
    await again.close()


async def test_a_message_in_fragments_with_pauses_is_acked(wide_scene: Scene) -> None:
    s = wide_scene
    ws = await connect(s.hub, s.alice)
    env = chat(s.group, s.alice, "fragmented " * 50)
    data = send_frame(env).encode()
    third = len(data) // 3
    await ws.send_frame(TEXT, data[:third], fin=False)
    await asyncio.sleep(0.05)
    await ws.send_frame(CONT, data[third : 2 * third], fin=False)
    await asyncio.sleep(0.05)
    await ws.send_frame(CONT, data[2 * third :])
    ack = await ws.expect("ack")
    assert (ack["id"], ack["seq"]) == (env["id"], 1)
    await ws.close()


async def test_an_unmasked_client_frame_is_not_a_crash(wide_scene: Scene) -> None:
    """RFC 6455 says a server must close on an unmasked client frame; either way the hub lives
    and its store stays gap-free."""
    s = wide_scene
    ws = await connect(s.hub, s.alice)
    await ws.send_frame(TEXT, send_frame(chat(s.group, s.alice)).encode(), masked=False)
    text = await ws.recv()
    assert text is None or '"ack"' in text or '"error"' in text
    assert (await health(s.hub))["status"] == "ok"
    await snapshot(s.hub, s.alice, [s.group])  # checks gap-free
    await ws.close()


async def test_the_same_socket_survives_every_pathological_frame_in_a_row(
    wide_scene: Scene,
) -> None:
    s = wide_scene
    ws: RawWs = await connect(s.hub, s.alice)
    assert list(cases(s)) == CASES
    for case, (opcode, payload, codes) in cases(s).items():
        await ws.send_frame(opcode, payload)
        reply = await ws.recv_json()
        assert reply["op"] == "error", (case, reply)
        assert reply["error"]["code"] in codes, (case, reply)
    ack = await ws.send_and_ack(chat(s.group, s.alice))
    assert ack["seq"] == 1
    await ws.close()
