"""Pathological JSON and hostile strings in REST bodies: always a 400 with a code, never a 500,
and nothing registered or created."""

from __future__ import annotations

import pytest

from tests.ioa.hub.adversarial.conftest import Scene
from tests.ioa.hub.adversarial.wire import HttpConn, assert_unchanged, http, snapshot

DEEP = 100_000
NOT_JSON = {"malformed_json"}
EITHER = {"malformed_json", "invalid_request"}
"""For shapes that are JSON by the grammar but not data the hub can hold (lone surrogates, NaN,
numbers past any range): refused as either, but refused."""

BIG = "9" * 10_000

# (name, body, codes allowed)
CARD_BODIES: list[tuple[str, bytes, set[str]]] = [
    ("empty", b"", NOT_JSON),
    ("deep-open", b"[" * DEEP, NOT_JSON),
    ("deep-balanced", b"[" * DEEP + b"]" * DEEP, NOT_JSON),
    ("deep-in-field", b'{"name":"x","description":' + b"[" * DEEP + b"]" * DEEP + b"}", NOT_JSON),
    ("invalid-utf8", b'{"name":"\xff\xfe\xfd"}', NOT_JSON),
    ("overlong-utf8", b'{"name":"\xc0\xaf"}', NOT_JSON),
    ("truncated", b'{"name":"x"', NOT_JSON),
    (
        "wide",
        b'{"name":"x",' + b",".join(b'"k%d":0' % i for i in range(20_000)) + b"}",
        {"invalid_request"},
    ),
    ("lone-surrogate", b'{"name":"\\ud800"}', EITHER),
    ("lone-low-surrogate", b'{"name":"x\\udc00y"}', EITHER),
    ("nan", b'{"name":"x","model":{"name":"m","n_ctx":NaN}}', EITHER),
    ("infinity", b'{"name":"x","model":{"name":"m","n_ctx":Infinity}}', EITHER),
    (
        "ten-thousand-digits",
        b'{"name":"x","model":{"name":"m","n_ctx":' + BIG.encode() + b"}}",
        EITHER,
    ),
    ("not-an-object", b'["name","x"]', {"invalid_request"}),
    ("string-for-list", b'{"name":"x","skills":"python"}', {"invalid_request"}),
]

GROUP_BODIES: list[tuple[str, bytes, set[str]]] = [
    ("deep-meta", b'{"meta":' + b"[" * DEEP + b"]" * DEEP + b"}", NOT_JSON),
    ("nan-meta", b'{"meta":{"weight":NaN}}', EITHER),
    ("infinity-meta", b'{"meta":{"weight":-Infinity}}', EITHER),
    ("big-number-meta", b'{"meta":{"weight":' + BIG.encode() + b"}}", EITHER),
    ("surrogate-meta", b'{"meta":{"note":"\\udfff"}}', EITHER),
    ("surrogate-name", b'{"name":"\\ud83d"}', EITHER),
    ("members-not-list", b'{"members":{"a":1}}', {"invalid_request"}),
]


@pytest.mark.parametrize(
    ("body", "codes"), [c[1:] for c in CARD_BODIES], ids=[c[0] for c in CARD_BODIES]
)
async def test_pathological_cards_are_refused_with_400(
    wide_scene: Scene, body: bytes, codes: set[str]
) -> None:
    before = await snapshot(wide_scene.hub)
    async with HttpConn(wide_scene.hub) as conn:
        reply = await conn.request("POST", "/v1/agents", body)
        assert reply.status == 400, reply.body[:300]
        assert reply.code in codes
        assert await conn.is_open(), "keep-alive must survive a refused body it read whole"
    await assert_unchanged(wide_scene.hub, before)


@pytest.mark.parametrize(
    ("body", "codes"), [c[1:] for c in GROUP_BODIES], ids=[c[0] for c in GROUP_BODIES]
)
async def test_pathological_group_requests_are_refused_with_400(
    wide_scene: Scene, body: bytes, codes: set[str]
) -> None:
    before = await snapshot(wide_scene.hub)
    async with HttpConn(wide_scene.hub) as conn:
        reply = await conn.request("POST", "/v1/groups", body, token=wide_scene.alice.token)
        assert reply.status == 400, reply.body[:300]
        assert reply.code in codes
        assert await conn.is_open(), "keep-alive must survive a refused body it read whole"
    await assert_unchanged(wide_scene.hub, before)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * DEEP,
        b'{"id":"m1","group":"G","sender":"S","payload":{"type":"chat","text":"\\ud800"}}',
        b'{"id":"m1","group":"G","sender":"S","payload":{"type":"chat","text":"x"},"ts":NaN}',
        b'{"id":"m1","group":"G","sender":"S","to":[' + BIG.encode() + b'],"payload":{}}',
        b'{"id":"m1","group":"G","sender":"S","payload":{"type":"chat","text":"\xff"}}',
    ],
    ids=["deep", "surrogate", "nan-ts", "big-number", "invalid-utf8"],
)
async def test_pathological_messages_over_rest_are_refused_and_not_stored(
    wide_scene: Scene, body: bytes
) -> None:
    s = wide_scene
    body = body.replace(b'"G"', f'"{s.group}"'.encode()).replace(b'"S"', f'"{s.alice.id}"'.encode())
    before = await snapshot(s.hub, s.alice, [s.group])
    reply = await http(s.hub, "POST", f"/v1/groups/{s.group}/messages", body, token=s.alice.token)
    assert reply.status == 400, reply.body[:300]
    assert reply.code in EITHER
    await assert_unchanged(s.hub, before, s.alice)


HOSTILE = ["nul\x00byte", "esc\x1b[31mred", "\u202eevil-bidi"]


@pytest.mark.parametrize("field", ["name", "description"])
@pytest.mark.parametrize("text", HOSTILE, ids=["nul", "esc", "rlo"])
async def test_control_characters_in_cards_are_refused(scene: Scene, field: str, text: str) -> None:
    card = {"name": "ok", "description": "fine"} | {field: text}
    before = await snapshot(scene.hub)
    reply = await http(scene.hub, "POST", "/v1/agents", card)
    assert (reply.status, reply.code) == (400, "invalid_request")
    await assert_unchanged(scene.hub, before)
    listed = await http(scene.hub, "GET", "/v1/agents", token=scene.alice.token)
    assert sorted(a["card"]["name"] for a in listed.json()["agents"]) == [
        "alice",
        "bob",
        "mallory",
    ]


async def test_ordinary_text_with_newlines_and_accents_is_still_welcome(scene: Scene) -> None:
    """The control-character rule must not refuse what people write."""
    card = {"name": "Zoë — naïve café", "description": "line one\nline two\ttabbed, 日本語 😀"}
    reply = await http(scene.hub, "POST", "/v1/agents", card)
    assert reply.status == 201, reply.body
    assert reply.json()["card"]["name"] == card["name"]
