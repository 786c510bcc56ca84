"""Numbers out of range: hello cursors, query parameters, hub-owned envelope fields and the
numbers of a conversation's settings are checked at the edge and change nothing."""

from __future__ import annotations

import pytest

from tests.ioa.hub.adversarial.conftest import Scene
from tests.ioa.hub.adversarial.wire import (
    RawWs,
    assert_unchanged,
    chat,
    compact,
    connect,
    http,
    messages,
    snapshot,
)

BAD_CURSORS = {
    "two-to-the-64": "18446744073709551616",
    "ten-to-the-30": "1" + "0" * 30,
    "negative": "-1",
    "very-negative": "-" + "9" * 40,
    "fraction": "1.5",
    "exponent": "1e3",
    "string": '"abc"',
    "numeric-string": '"1"',
    "null": "null",
    "list": "[1]",
}


async def _two_messages(scene: Scene) -> list[str]:
    ws = await connect(scene.hub, scene.alice)
    ids = []
    for text in ("one", "two"):
        env = chat(scene.group, scene.alice, text)
        await ws.send_and_ack(env)
        ids.append(env["id"])
    await ws.close()
    return ids


@pytest.mark.parametrize("raw", list(BAD_CURSORS.values()), ids=list(BAD_CURSORS))
async def test_a_hello_with_a_bad_cursor_is_refused_and_a_good_hello_still_works(
    scene: Scene, raw: str
) -> None:
    ids = await _two_messages(scene)
    before = await snapshot(scene.hub, scene.alice, [scene.group])
    ws = await RawWs.open(scene.hub, scene.bob.token)
    await ws.expect("welcome")
    await ws.send('{"op":"hello","cursors":{"' + scene.group + '":' + raw + "}}")
    assert await ws.expect_error() == "invalid_envelope"
    await assert_unchanged(scene.hub, before, scene.alice)

    replayed = await ws.hello({scene.group: 1})  # the refused hello did not count as one
    assert [e["id"] for e in replayed] == ids[1:]
    ack = await ws.send_and_ack(chat(scene.group, scene.bob, "after"))
    assert ack["seq"] == 3
    await ws.close()


@pytest.mark.parametrize("raw", ["[]", '"all"', "null", "1", '{"":1}'])
async def test_a_hello_whose_cursors_are_not_a_map_of_groups_is_refused(
    scene: Scene, raw: str
) -> None:
    ws = await RawWs.open(scene.hub, scene.bob.token)
    await ws.expect("welcome")
    await ws.send('{"op":"hello","cursors":' + raw + "}")
    frame = await ws.recv_json()
    if raw == '{"":1}':  # an unknown group name is harmless: ignored or refused
        assert frame["op"] in ("synced", "error")
        if frame["op"] == "error":
            assert frame["error"]["code"] == "invalid_envelope"
            await ws.hello()
    else:
        assert frame["op"] == "error"
        assert frame["error"]["code"] == "invalid_envelope"
        await ws.hello()
    assert (await ws.send_and_ack(chat(scene.group, scene.bob)))["seq"] == 1
    await ws.close()


BAD_QUERIES = [
    "after=" + "9" * 30,
    "after=18446744073709551616",
    "after=-1",
    "after=abc",
    "after=",
    "after=1.5",
    "after=1e3",
    "after=0x10",
    "limit=0",
    "limit=-5",
    "limit=" + "9" * 30,
    "limit=ten",
    "limit=1e2",
]


@pytest.mark.parametrize("query", BAD_QUERIES)
async def test_bad_numbers_in_message_queries_are_400(scene: Scene, query: str) -> None:
    path = f"/v1/groups/{scene.group}/messages?{query}"
    reply = await http(scene.hub, "GET", path, token=scene.alice.token)
    assert (reply.status, reply.code) == (400, "invalid_request")


@pytest.mark.parametrize(
    "query", ["k=" + "9" * 30, "k=-1", "k=0", "k=abc", "k=", "k=2.5", "k=18446744073709551616"]
)
async def test_bad_numbers_in_discovery_queries_are_400(scene: Scene, query: str) -> None:
    reply = await http(scene.hub, "GET", f"/v1/discover?q=x&{query}", token=scene.alice.token)
    assert (reply.status, reply.code) == (400, "invalid_request")


@pytest.mark.parametrize(
    "query",
    ["after=1_0", "after=%D9%A3", "after=%EF%BC%91", "limit=1_0", "k=%D9%A3"],
    ids=["underscore", "arabic-indic-digit", "fullwidth-digit", "limit-underscore", "k-arabic"],
)
async def test_query_numbers_are_ascii_digits_only(scene: Scene, query: str) -> None:
    """Python's int() reads "1_0" and "٣" (Arabic-Indic three) as numbers; the wire must not."""
    path = f"/v1/groups/{scene.group}/messages?{query}"
    if query.startswith("k="):
        path = f"/v1/discover?q=x&{query}"
    reply = await http(scene.hub, "GET", path, token=scene.alice.token)
    assert (reply.status, reply.code) == (400, "invalid_request")


HUB_FIELDS = [
    {"seq": 99},
    {"seq": 10**30},
    {"seq": -5},
    {"ts": 1.0},
    {"ts": -1e308},
    {"ts": 1e308},
    {"seq": 7, "ts": 2.5},
]


@pytest.mark.parametrize("fields", HUB_FIELDS, ids=[compact(f) for f in HUB_FIELDS])
@pytest.mark.parametrize("channel", ["ws", "rest"])
async def test_hub_owned_fields_set_by_a_client_are_never_stored_as_given(
    scene: Scene, fields: dict[str, object], channel: str
) -> None:
    env = chat(scene.group, scene.alice, "stamped by me", **fields)
    if channel == "ws":
        ws = await connect(scene.hub, scene.alice)
        await ws.send('{"op":"send","envelope":' + compact(env) + "}")
        reply = await ws.recv_json()
        await ws.close()
        accepted = reply["op"] == "ack"
        if not accepted:
            assert reply["error"]["code"] == "invalid_envelope"
    else:
        path = f"/v1/groups/{scene.group}/messages"
        answer = await http(scene.hub, "POST", path, env, token=scene.alice.token)
        accepted = answer.status == 201
        if not accepted:
            assert (answer.status, answer.code) == (400, "invalid_request")
        reply = answer.json()
    stored = await messages(scene.hub, scene.alice, scene.group)
    if not accepted:
        assert stored == []
        return
    assert reply["seq"] == 1
    assert [(m["id"], m["seq"], m["ts"]) for m in stored] == [(env["id"], 1, reply["ts"])]
    assert stored[0]["ts"] != fields.get("ts")


BAD_SETTINGS = [
    ("max_turns", "1" + "0" * 30),
    ("max_turns", "-1"),
    ("max_turns", "0"),
    ("max_turns", "NaN"),
    ("max_turns", "1e308"),
    ("max_turns", "2.5"),
    ("turn_timeout", "1e300"),
    ("turn_timeout", "1" + "0" * 30),
    ("turn_timeout", "-1"),
    ("turn_timeout", "0"),
    ("turn_timeout", "NaN"),
    ("turn_timeout", "Infinity"),
    ("task_timeout", "1e300"),
    ("task_timeout", "-0.5"),
    ("task_timeout", "NaN"),
]


@pytest.mark.parametrize(
    ("name", "raw"), BAD_SETTINGS, ids=[f"{n}={r[:8]}" for n, r in BAD_SETTINGS]
)
async def test_out_of_range_conversation_settings_create_no_group(
    scene: Scene, name: str, raw: str
) -> None:
    before = await snapshot(scene.hub)
    body = (
        '{"protocol":"ioa","members":["' + scene.bob.id + '"],"meta":{"' + name + '":' + raw + "}}"
    )
    reply = await http(scene.hub, "POST", "/v1/groups", body, token=scene.alice.token)
    assert reply.status == 400, reply.body
    literal = raw in ("NaN", "Infinity")  # not JSON: either code is a fair answer
    assert reply.code in ({"invalid_request", "malformed_json"} if literal else {"invalid_request"})
    await assert_unchanged(scene.hub, before)
    listed = await http(scene.hub, "GET", "/v1/groups", token=scene.alice.token)
    assert [g["id"] for g in listed.json()["groups"]] == [scene.group]
