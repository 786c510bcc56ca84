"""Exactly once, for any resend: long after the hub's in-memory window of recent ids has moved
on, and after a restart, a resent id is acked with its first seq, stored once, the head does not
move and an "ioa" conversation does not take the move twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ioa.hub import Hub, registry
from tests.conftest import hub_config
from tests.ioa.hub.adversarial.wire import (
    Agent,
    RawWs,
    chat,
    connect,
    create_group,
    head,
    http,
    messages,
    move,
    register,
    send_frame,
)

WINDOW = getattr(registry, "RECENT_IDS", 4096)
FILL = WINDOW + 8
"""Newer messages sent after the one resent: more than the hub keeps in memory."""


async def _pipeline_acks(ws: RawWs, envelopes: list[dict[str, Any]]) -> list[int]:
    replies = await ws.pipeline([send_frame(e) for e in envelopes])
    assert [r["op"] for r in replies] == ["ack"] * len(envelopes), next(
        r for r in replies if r["op"] != "ack"
    )
    assert [r["id"] for r in replies] == [e["id"] for e in envelopes]
    return [int(r["seq"]) for r in replies]


def _assert_stored_once(stored: list[dict[str, Any]], count: int) -> None:
    assert [m["seq"] for m in stored] == list(range(1, count + 1))
    assert len({m["id"] for m in stored}) == count


async def test_a_resend_older_than_the_recent_window_is_acked_with_its_first_seq(
    hub: Hub,
) -> None:
    alice, bob = await register(hub, "alice"), await register(hub, "bob")
    group = await create_group(hub, alice, [bob])
    ws = await connect(hub, alice)
    first, second = chat(group, alice, "first"), chat(group, alice, "second")
    fillers = [chat(group, alice, f"filler {i}") for i in range(FILL)]
    seqs = await _pipeline_acks(ws, [first, second, *fillers])
    top = len(seqs)
    assert seqs == list(range(1, top + 1))

    listener = await connect(hub, bob, {group: top})  # live from here on
    again = await ws.send_and_ack(first)
    assert again["seq"] == 1
    over_rest = await http(hub, "POST", f"/v1/groups/{group}/messages", second, token=alice.token)
    assert (over_rest.status, over_rest.json()["seq"]) == (201, 2), over_rest.body
    assert await head(hub, alice, group) == top, "a resend moved the group's head"

    fresh = chat(group, alice, "fresh")
    assert (await ws.send_and_ack(fresh))["seq"] == top + 1
    delivered = await listener.expect("deliver")  # not the resends: they were delivered once
    assert (delivered["envelope"]["id"], delivered["envelope"]["seq"]) == (fresh["id"], top + 1)

    stored = await messages(hub, alice, group)
    _assert_stored_once(stored, top + 1)
    assert (stored[0]["id"], stored[0]["payload"]["text"]) == (first["id"], "first")
    await ws.close()
    await listener.close()


async def _ioa_game(hub: Hub) -> tuple[Agent, Agent, str, dict[str, Any], list[dict[str, Any]]]:
    """lead speaks to coder (the message to resend later), coder hands lead an async task and
    gives the turn back, lead reports progress FILL times: lead holds the turn at the end."""
    lead, coder = await register(hub, "lead"), await register(hub, "coder")
    group = await create_group(hub, lead, [coder], protocol="ioa", meta={"max_turns": 10_000})
    opening = move(group, lead, {"type": "discussion", "text": "over to you"}, [coder])
    lead_ws, coder_ws = await connect(hub, lead), await connect(hub, coder)
    assert (await lead_ws.send_and_ack(opening))["seq"] == 1
    task = {"type": "async_task_assign", "task_id": "t1", "description": "count to a lot"}
    assert (await coder_ws.send_and_ack(move(group, coder, task, [lead])))["seq"] == 2
    back = move(group, coder, {"type": "discussion", "text": "your turn"}, [lead])
    assert (await coder_ws.send_and_ack(back))["seq"] == 3
    await coder_ws.close()  # not reading thousands of deliveries it does not need
    progress = [
        move(group, lead, {"type": "task_progress", "task_id": "t1", "text": f"{i}"})
        for i in range(FILL)
    ]
    assert await _pipeline_acks(lead_ws, progress) == list(range(4, 4 + FILL))
    await lead_ws.close()
    return lead, coder, group, opening, progress


async def _assert_move_not_taken_twice(
    hub: Hub, lead: Agent, coder: Agent, group: str, opening: dict[str, Any], top: int
) -> None:
    """Resend lead's opening (legal again now: lead holds the turn). Applied a second time it
    would hand the turn to coder; taken once, the turn stays with lead."""
    lead_ws = await connect(hub, lead, {group: top})
    coder_ws = await connect(hub, coder, {group: top})
    again = await lead_ws.send_and_ack(opening)
    assert again["seq"] == 1
    assert await head(hub, lead, group) == top, "a resend moved the group's head"

    await coder_ws.send(send_frame(move(group, coder, {"type": "discussion", "text": "me?"})))
    assert await coder_ws.expect_error() == "not_your_turn"
    fresh = move(group, lead, {"type": "discussion", "text": "still mine"}, [coder])
    assert (await lead_ws.send_and_ack(fresh))["seq"] == top + 1

    stored = await messages(hub, lead, group)
    _assert_stored_once(stored, top + 1)
    assert [m["id"] for m in stored].count(opening["id"]) == 1
    await lead_ws.close()
    await coder_ws.close()


async def test_an_old_resend_in_a_conversation_is_not_applied_twice(hub: Hub) -> None:
    lead, coder, group, opening, _ = await _ioa_game(hub)
    await _assert_move_not_taken_twice(hub, lead, coder, group, opening, 3 + FILL)


async def test_a_resend_after_a_restart_is_acked_with_its_first_seq(db_path: Path) -> None:
    config = hub_config(db_path)
    async with Hub(config) as hub:
        lead, coder, group, opening, progress = await _ioa_game(hub)
    top = 3 + FILL

    async with Hub(config) as hub:
        assert await head(hub, lead, group) == top
        ws = await connect(hub, lead, {group: top})
        recent = await ws.send_and_ack(progress[-1])  # the newest message: in any window
        assert recent["seq"] == top
        older = await http(
            hub, "POST", f"/v1/groups/{group}/messages", progress[0], token=lead.token
        )
        assert (older.status, older.json()["seq"]) == (201, 4), older.body
        await ws.close()
        await _assert_move_not_taken_twice(hub, lead, coder, group, opening, top)

    async with Hub(config) as hub:  # and once more: the store holds no trace of the resends
        stored = await messages(hub, lead, group)
        _assert_stored_once(stored, top + 1)
        again = await http(hub, "POST", f"/v1/groups/{group}/messages", opening, token=lead.token)
        assert (again.status, again.json()["seq"]) == (201, 1), again.body
        assert await head(hub, lead, group) == top + 1
