"""Conversation rules over the wire: every refused move gets its code and changes nothing (head
and transcript unchanged), over the WebSocket and over REST alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tests.ioa.hub.adversarial.conftest import Scene
from tests.ioa.hub.adversarial.wire import (
    Agent,
    RawWs,
    assert_unchanged,
    connect,
    create_group,
    head,
    http,
    move,
    register,
    send_frame,
    snapshot,
)


async def test_refused_moves_change_nothing(scene: Scene) -> None:
    hub = scene.hub
    lead, coder, critic = scene.alice, scene.bob, await register(hub, "critic")
    group = await create_group(hub, lead, [coder, critic], protocol="ioa", meta={"goal": "42"})
    sockets = {a.id: await connect(hub, a) for a in (lead, coder, critic)}

    async def accepted(sender: Agent, payload: dict[str, Any], to: Sequence[Agent] = ()) -> None:
        before = await head(hub, lead, group)
        ack = await sockets[sender.id].send_and_ack(move(group, sender, payload, to))
        assert ack["seq"] == before + 1

    async def refused(
        code: str,
        sender: Agent,
        payload: dict[str, Any],
        to: Sequence[Agent] = (),
        status: int = 409,
    ) -> None:
        before = await snapshot(hub, lead, [group])
        before_head = await head(hub, lead, group)
        ws: RawWs = sockets[sender.id]
        await ws.send(send_frame(move(group, sender, payload, to)))
        while (frame := await ws.recv_json())["op"] == "deliver":
            pass
        assert frame["op"] == "error", frame
        assert frame["error"]["code"] == code, (payload, frame)
        rest = await http(
            hub,
            "POST",
            f"/v1/groups/{group}/messages",
            move(group, sender, payload, to),
            token=sender.token,
        )
        assert (rest.status, rest.code) == (status, code), rest.body
        assert await head(hub, lead, group) == before_head
        await assert_unchanged(hub, before, lead)

    talk = {"type": "discussion", "text": "..."}
    await refused("not_your_turn", coder, talk)
    await refused("illegal_move", lead, {"type": "chat", "text": "plain chat"})
    await refused("illegal_move", lead, {"type": "timeout", "kind": "turn", "agent": lead.id})
    await refused("illegal_move", lead, talk, [coder, critic])  # one next speaker at most
    await refused("invalid_addressee", lead, talk, [scene.mallory], status=422)
    await refused("unknown_task", lead, {"type": "task_result", "task_id": "t9", "result": "?"})
    await refused("unknown_task", lead, {"type": "task_progress", "task_id": "t9", "text": "?"})
    await accepted(lead, talk, [coder])

    assign = {"type": "sync_task_assign", "task_id": "t1", "description": "build it"}
    await refused("not_your_turn", lead, assign, [critic])
    await accepted(coder, assign, [critic])
    await refused("not_your_turn", coder, talk)  # waiting for t1
    await refused("not_assignee", lead, {"type": "task_result", "task_id": "t1", "result": "x"})
    await accepted(critic, {"type": "task_result", "task_id": "t1", "result": "built"})
    await refused("task_closed", critic, {"type": "task_result", "task_id": "t1", "result": "y"})
    await refused("duplicate_task", coder, assign, [lead])

    await accepted(coder, {"type": "conclude", "text": "enough"})
    await refused("not_your_turn", lead, {"type": "conclusion", "text": "mine"})
    await accepted(coder, {"type": "conclusion", "text": "42"})
    for sender, payload in [
        (lead, talk),
        (coder, {"type": "conclusion", "text": "again"}),
        (critic, {"type": "task_progress", "task_id": "t1", "text": "late"}),
        (coder, {"type": "conclude"}),
    ]:
        await refused("conversation_over", sender, payload)

    snap = await snapshot(hub, lead, [group])  # checks 1..N without a gap
    assert len(snap.stored[group]) == 5
    for ws in sockets.values():
        await ws.close()
