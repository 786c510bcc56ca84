"""The generic edge: unknown routes and methods, missing or garbage tokens, spoofed senders,
non-members, and request heads too long to parse — typed JSON errors, no traceback in the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import pytest

from ioa.hub import Hub
from tests.conftest import hub_config
from tests.ioa.hub.adversarial.conftest import Scene
from tests.ioa.hub.adversarial.wire import (
    assert_unchanged,
    chat,
    close_writer,
    connect,
    health,
    http,
    read_reply,
    register,
    send_frame,
    snapshot,
)

ROUTES = [
    ("GET", "/v1/nowhere", 404, "not_found"),
    ("GET", "/nowhere", 404, "not_found"),
    ("GET", "/v1/agents/a-x/nothing/here", 404, "not_found"),
    ("POST", "/v1/health", 405, "method_not_allowed"),
    ("PATCH", "/v1/agents", 405, "method_not_allowed"),
    ("DELETE", "/v1/groups", 405, "method_not_allowed"),
    ("PUT", "/v1/ws", 405, "method_not_allowed"),
]


@pytest.mark.parametrize(("method", "path", "status", "code"), ROUTES)
async def test_unknown_routes_and_methods_get_json_errors(
    scene: Scene, method: str, path: str, status: int, code: str
) -> None:
    reply = await http(scene.hub, method, path, token=scene.alice.token)
    assert (reply.status, reply.code) == (status, code)
    assert reply.headers["content-type"].startswith("application/json")


TOKENS = {
    "missing": None,
    "garbage": "Bearer nope",
    "empty": "Bearer ",
    "basic": "Basic YWxpY2U6c2VjcmV0",
    "scheme-only": "Bearer",
    "long": "Bearer " + "z" * 4000,
    "agent-id": "Bearer a-0000000000000000",
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/agents"),
        ("POST", "/v1/groups"),
        ("GET", "/v1/groups/GROUP/messages"),
        ("POST", "/v1/groups/GROUP/messages"),
        ("DELETE", "/v1/agents/ALICE"),
    ],
)
async def test_requests_without_a_valid_token_are_401(scene: Scene, method: str, path: str) -> None:
    path = path.replace("GROUP", scene.group).replace("ALICE", scene.alice.id)
    before = await snapshot(scene.hub, scene.alice, [scene.group])
    body = chat(scene.group, scene.alice) if method == "POST" else None
    answers = {}
    for name, auth in TOKENS.items():
        headers = {} if auth is None else {"Authorization": auth}
        reply = await http(scene.hub, method, path, body, headers=headers)
        answers[name] = (reply.status, reply.code)
    assert answers == dict.fromkeys(TOKENS, (401, "unauthorized"))
    await assert_unchanged(scene.hub, before, scene.alice)


async def test_a_spoofed_sender_is_refused_over_both_channels(scene: Scene) -> None:
    s = scene
    before = await snapshot(s.hub, s.alice, [s.group])
    forged = chat(s.group, s.alice, "it was alice, honest")
    reply = await http(s.hub, "POST", f"/v1/groups/{s.group}/messages", forged, token=s.bob.token)
    assert (reply.status, reply.code) == (403, "sender_mismatch")
    ws = await connect(s.hub, s.bob)
    await ws.send(send_frame(forged))
    assert await ws.expect_error() == "sender_mismatch"
    await assert_unchanged(s.hub, before, s.alice)
    assert (await ws.send_and_ack(chat(s.group, s.bob)))["seq"] == 1
    await ws.close()


async def test_a_non_member_can_neither_post_nor_read(scene: Scene) -> None:
    s = scene
    before = await snapshot(s.hub, s.alice, [s.group])
    intrusion = chat(s.group, s.mallory, "let me in")
    path = f"/v1/groups/{s.group}/messages"
    posted = await http(s.hub, "POST", path, intrusion, token=s.mallory.token)
    assert (posted.status, posted.code) == (403, "not_a_member")
    read = await http(s.hub, "GET", path, token=s.mallory.token)
    assert (read.status, read.code) == (403, "not_a_member")
    ws = await connect(s.hub, s.mallory, {s.group: 0})  # a cursor for a foreign group: nothing
    await ws.send(send_frame(intrusion))
    assert await ws.expect_error() == "not_a_member"
    await assert_unchanged(s.hub, before, s.alice)
    await ws.close()


@pytest.mark.parametrize(
    "head",
    [
        b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v1/health?" + b"q=1&" * 25_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 100_000 + b"\r\n\r\n",
        b"GET /v1/health HTTP/1.1\r\n" + b"X-H: v\r\n" * 20_000 + b"\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) * 4,
        b"G\x00T /v1/health HTTP/1.1\r\n\r\n",
    ],
    ids=[
        "long-path",
        "long-query",
        "long-header",
        "many-headers",
        "tls-hello",
        "nul-in-method",
    ],
)
async def test_an_unparseable_request_head_gets_4xx_or_a_close_and_no_traceback(
    scene: Scene, head: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    before = await snapshot(scene.hub)
    reader, writer = await asyncio.open_connection("127.0.0.1", scene.hub.port)
    writer.write(head)
    with contextlib.suppress(ConnectionError):  # the hub may stop reading half way: fine
        await writer.drain()
    try:
        reply = await read_reply(reader)
        assert 400 <= reply.status < 500, reply
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # closed without an answer: fine too
    await close_writer(writer)
    assert (await health(scene.hub))["status"] == "ok"
    await assert_unchanged(scene.hub, before)
    tracebacks = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR
        and r.exc_info
        and (r.name.startswith("ioa.hub") or r.name.startswith("aiohttp"))
    ]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


async def test_operator_endpoints_refuse_agents_strangers_and_unknown_groups(db_path: Path) -> None:
    """With an admin token set, an agent's token or garbage is refused; a retry of a group that
    is not quarantined names it; nothing changes."""
    async with Hub(hub_config(db_path, admin_token="s3cret")) as hub:
        agent = await register(hub, "agent")
        before = await snapshot(hub)
        for token in (agent.token, "garbage", None):
            reply = await http(hub, "GET", "/v1/admin/quarantine", token=token)
            assert (reply.status, reply.code) == (403, "forbidden")
            reply = await http(hub, "POST", "/v1/admin/quarantine/g-x/retry", token=token)
            assert (reply.status, reply.code) == (403, "forbidden")
        reply = await http(hub, "POST", "/v1/admin/quarantine/g-nowhere/retry", token="s3cret")
        assert (reply.status, reply.code) == (404, "unknown_group")
        reply = await http(hub, "POST", "/v1/admin/quarantine/../../agents/retry", token="s3cret")
        assert reply.status in (400, 404)
        await assert_unchanged(hub, before)
