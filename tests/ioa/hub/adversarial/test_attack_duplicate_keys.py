"""Repeated keys in a JSON object: the last value wins, and nobody can see another one.

Refusing them would mean a second parse of every frame (~9 µs, an eighth of the hub's whole
cost per message). It is not needed for safety: the hub validates the parsed value and never
forwards a client's bytes; it stores and delivers its own serialisation of what it checked.
So a repeated `sender` cannot smuggle a spoofed identity past the check, and every reader of
the transcript sees the one value the hub judged.
"""

from __future__ import annotations

import json

from tests.ioa.hub.adversarial.conftest import Scene
from tests.ioa.hub.adversarial.wire import TEXT, chat, compact, connect, http, messages, snapshot


def frame_with(scene: Scene, field: str, first: str, last: str) -> tuple[str, bytes]:
    env = chat(scene.group, scene.alice, "twice")
    text = compact({"op": "send", "envelope": env})
    repeated = f'"{field}":{json.dumps(first)},"{field}":{json.dumps(last)}'
    return env["id"], text.replace(f'"{field}":{json.dumps(env[field])}', repeated).encode()


async def test_a_spoofed_sender_before_the_real_one_is_stored_as_the_real_one(
    wide_scene: Scene,
) -> None:
    s = wide_scene
    message_id, frame = frame_with(s, "sender", s.bob.id, s.alice.id)
    ws = await connect(s.hub, s.alice)
    await ws.send_frame(TEXT, frame)
    ack = await ws.expect("ack")
    assert ack["id"] == message_id
    stored = (await messages(s.hub, s.alice, s.group))[0]
    assert stored["sender"] == s.alice.id
    raw = (await http(s.hub, "GET", f"/v1/groups/{s.group}/messages", token=s.alice.token)).body
    assert raw.count(b'"sender"') == 1  # one value for every reader
    await ws.close()


async def test_a_spoofed_sender_after_the_real_one_is_refused(wide_scene: Scene) -> None:
    s = wide_scene
    before = await snapshot(s.hub, s.alice, [s.group])
    _, frame = frame_with(s, "sender", s.alice.id, s.bob.id)
    ws = await connect(s.hub, s.alice)
    await ws.send_frame(TEXT, frame)
    assert await ws.expect_error() == "sender_mismatch"
    assert (await snapshot(s.hub, s.alice, [s.group])).stored == before.stored
    await ws.close()


async def test_a_repeated_op_is_read_as_its_last_value(wide_scene: Scene) -> None:
    s = wide_scene
    env = chat(s.group, s.alice, "op twice")
    frame = compact({"op": "send", "envelope": env}).replace(
        '{"op":"send"', '{"op":"hello","op":"send"'
    )
    ws = await connect(s.hub, s.alice)
    await ws.send_frame(TEXT, frame.encode())
    assert (await ws.expect("ack"))["id"] == env["id"]
    assert [m["id"] for m in await messages(s.hub, s.alice, s.group)] == [env["id"]]
    await ws.close()


async def test_a_card_with_a_repeated_name_keeps_the_last_and_shows_one(scene: Scene) -> None:
    reply = await http(scene.hub, "POST", "/v1/agents", b'{"name":"first","name":"second"}')
    assert reply.status == 201
    agent_id = reply.json()["agent_id"]
    shown = await http(scene.hub, "GET", f"/v1/agents/{agent_id}", token=scene.alice.token)
    assert shown.json()["card"]["name"] == "second"
    assert shown.body.count(b'"name"') == 1
