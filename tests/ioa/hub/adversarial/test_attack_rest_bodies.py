"""REST bodies split over TCP writes, trickled, chunked, and sized in bytes, not characters.

A body is read whole however it is cut into segments; a body over `max_frame_bytes` is refused
with 413 `frame_too_large` whether its Content-Length says so or its chunks grow past the limit;
the limit counts UTF-8 bytes.
"""

from __future__ import annotations

import json

import pytest

from tests.ioa.hub.adversarial.conftest import LIMIT, Scene
from tests.ioa.hub.adversarial.wire import HttpConn, assert_unchanged, compact, snapshot

CARD = compact(
    {
        "name": "split",
        "description": "a card that crosses the network in pieces, with some é and 😀 in it",
        "skills": [{"name": "python", "tags": ["python", "review"]}],
    }
).encode()


def card_of_size(size: int, char: str = "é") -> bytes:
    """A valid card whose JSON is exactly `size` bytes of UTF-8, mostly multi-byte characters,
    so that its character count is well under `size`."""
    base = len(compact({"name": "exact", "description": ""}).encode())
    width = len(char.encode())
    wide, narrow = divmod(size - base, width)
    body = compact({"name": "exact", "description": char * wide + "a" * narrow}).encode()
    assert len(body) == size
    return body


@pytest.mark.parametrize("is_chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("split", [2, 3, 5])
async def test_a_card_sent_in_pieces_registers(scene: Scene, split: int, is_chunked: bool) -> None:
    before = await snapshot(scene.hub)
    async with HttpConn(scene.hub) as conn:
        reply = await conn.request(
            "POST", "/v1/agents", CARD, split=split, pause=0.05, is_chunked=is_chunked, chunk=37
        )
        assert reply.status == 201, reply.body
        assert reply.json()["card"]["name"] == "split"
        assert await conn.is_open(), "the keep-alive connection must survive a split body"
    after = await snapshot(scene.hub)
    assert after.agents == before.agents + 1


@pytest.mark.parametrize("is_chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_trickled_byte_by_byte_registers(scene: Scene, is_chunked: bool) -> None:
    body = compact({"name": "slow", "description": "one byte at a time"}).encode()
    async with HttpConn(scene.hub) as conn:
        reply = await conn.request(
            "POST", "/v1/agents", body, split=len(body), pause=0.003, is_chunked=is_chunked, chunk=7
        )
        assert reply.status == 201, reply.body
        assert reply.json()["card"]["description"] == "one byte at a time"


async def test_a_body_declared_over_the_limit_is_refused(scene: Scene) -> None:
    before = await snapshot(scene.hub)
    body = compact({"name": "big", "description": "x" * (2 * LIMIT)}).encode()
    async with HttpConn(scene.hub) as conn:
        reply = await conn.request("POST", "/v1/agents", body, split=3)
    assert (reply.status, reply.code) == (413, "frame_too_large")
    await assert_unchanged(scene.hub, before)


@pytest.mark.parametrize("chunk", [500, 1000, LIMIT - 1])
async def test_a_chunked_body_growing_past_the_limit_is_refused(scene: Scene, chunk: int) -> None:
    before = await snapshot(scene.hub)
    body = compact({"name": "grows", "description": "y" * (2 * LIMIT)}).encode()
    async with HttpConn(scene.hub) as conn:
        reply = await conn.request(
            "POST", "/v1/agents", body, split=8, pause=0.03, is_chunked=True, chunk=chunk
        )
    assert (reply.status, reply.code) == (413, "frame_too_large")
    await assert_unchanged(scene.hub, before)


@pytest.mark.parametrize("char", ["é", "€", "😀"])
@pytest.mark.parametrize("is_chunked", [False, True], ids=["content-length", "chunked"])
async def test_the_body_limit_counts_bytes_not_characters(
    scene: Scene, char: str, is_chunked: bool
) -> None:
    exact = card_of_size(LIMIT, char)
    over = card_of_size(LIMIT + 1, char)
    assert len(over.decode()) < LIMIT / 1.5  # far fewer characters than bytes
    before = await snapshot(scene.hub)
    async with HttpConn(scene.hub) as conn:
        refused = await conn.request(
            "POST", "/v1/agents", over, split=2, is_chunked=is_chunked, chunk=1000
        )
        assert (refused.status, refused.code) == (413, "frame_too_large")
    await assert_unchanged(scene.hub, before)
    async with HttpConn(scene.hub) as conn:
        accepted = await conn.request(
            "POST", "/v1/agents", exact, split=2, is_chunked=is_chunked, chunk=1000
        )
        assert accepted.status == 201, accepted.body
        assert accepted.json()["card"]["description"] == json.loads(exact)["description"]
    assert (await snapshot(scene.hub)).agents == before.agents + 1


async def test_a_message_posted_in_pieces_is_stored_once(scene: Scene) -> None:
    envelope = {
        "id": "split-message",
        "group": scene.group,
        "sender": scene.alice.id,
        "payload": {"type": "chat", "text": "ça va 😀 " * 40},
    }
    body = compact(envelope).encode()
    path = f"/v1/groups/{scene.group}/messages"
    async with HttpConn(scene.hub) as conn:
        for _ in range(2):  # the resend is acked with the same seq
            reply = await conn.request(
                "POST", path, body, token=scene.alice.token, split=4, pause=0.03
            )
            assert reply.status == 201, reply.body
            assert reply.json()["seq"] == 1
    snap = await snapshot(scene.hub, scene.alice, [scene.group])
    assert snap.stored[scene.group] == [(1, "split-message")]
