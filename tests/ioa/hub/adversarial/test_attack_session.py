"""The WebSocket session: hello once and first, by an agent that still exists; a bad token gets
no socket; a replaced socket is told why."""

from __future__ import annotations

import contextlib

import pytest

from tests.ioa.hub.adversarial.conftest import Scene
from tests.ioa.hub.adversarial.wire import (
    HandshakeRefused,
    RawWs,
    assert_unchanged,
    chat,
    connect,
    hello_frame,
    http,
    send_frame,
    snapshot,
)


async def test_a_socket_opened_before_its_agent_was_deleted_cannot_say_hello(
    scene: Scene,
) -> None:
    ws = await RawWs.open(scene.hub, scene.bob.token)
    await ws.expect("welcome")
    deleted = await http(scene.hub, "DELETE", f"/v1/agents/{scene.bob.id}", token=scene.bob.token)
    assert deleted.status == 204
    before = await snapshot(scene.hub, scene.alice, [scene.group])

    with contextlib.suppress(ConnectionError):  # the hub may have closed it at the deletion
        await ws.send(hello_frame())
    while (text := await ws.recv()) is not None:  # at most an `unauthorized` error, then closed
        assert '"code":"unauthorized"' in text, text
    assert ws.close_code == 4001
    await assert_unchanged(scene.hub, before, scene.alice)


async def test_a_second_hello_is_refused_and_the_socket_stays_usable(scene: Scene) -> None:
    ws = await connect(scene.hub, scene.alice)
    first = await ws.send_and_ack(chat(scene.group, scene.alice, "one"))
    await ws.send(hello_frame({scene.group: 0}))
    second = chat(scene.group, scene.alice, "two")
    await ws.send(send_frame(second))
    assert await ws.expect_error() == "duplicate_hello"
    ack = await ws.expect("ack")  # and no replay came before it
    assert (first["seq"], ack["id"], ack["seq"]) == (1, second["id"], 2)
    await ws.close()


async def test_a_send_before_hello_is_refused_then_hello_works(scene: Scene) -> None:
    ws = await RawWs.open(scene.hub, scene.alice.token)
    await ws.expect("welcome")
    early = chat(scene.group, scene.alice, "too early")
    await ws.send(send_frame(early))
    assert await ws.expect_error() == "hello_required"
    assert await ws.hello() == []
    assert (await ws.send_and_ack(chat(scene.group, scene.alice)))["seq"] == 1
    await ws.close()


@pytest.mark.parametrize(
    "token",
    [None, "", "nope", "x" * 4000, "Bearer", "%00", "a-" + "0" * 16],
    ids=["none", "empty", "garbage", "long", "scheme-twice", "encoded-nul", "an-agent-id"],
)
async def test_a_websocket_without_a_valid_token_is_refused_401(
    scene: Scene, token: str | None
) -> None:
    with pytest.raises(HandshakeRefused) as refused:
        await RawWs.open(scene.hub, token)
    assert (refused.value.reply.status, refused.value.reply.code) == (401, "unauthorized")


async def test_a_token_in_the_query_string_that_is_wrong_is_refused(scene: Scene) -> None:
    with pytest.raises(HandshakeRefused) as refused:
        await RawWs.open(scene.hub, None, path="/v1/ws?token=nope")
    assert (refused.value.reply.status, refused.value.reply.code) == (401, "unauthorized")


async def test_a_newer_socket_replaces_the_older_which_is_closed_with_4000(scene: Scene) -> None:
    old = await connect(scene.hub, scene.alice)
    new = await connect(scene.hub, scene.alice)
    assert await old.wait_closed() == 4000
    assert (await new.send_and_ack(chat(scene.group, scene.alice)))["seq"] == 1
    await new.close()
