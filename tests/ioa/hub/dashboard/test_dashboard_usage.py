"""Model use over the dashboard's REST, fed by raw WebSocket frames: reports summed per agent and
per goal, costs at the hub's prices, hostile reports refused at the edge with no trace in any
total, each report counted once, the totals kept over a restart, nothing counted unwatched."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ioa.hub import Hub
from ioa.hub.dashboard.usage import Ledger, Prices, usage_of
from protocols import Envelope, TaskResult
from protocols.usage import EXACT, MAX_TOKENS, Spend, Sums
from tests.conftest import hub_config
from tests.ioa.hub.adversarial.wire import (
    Agent,
    RawWs,
    assert_unchanged,
    chat,
    compact,
    connect,
    create_group,
    http,
    move,
    register,
    send_frame,
    snapshot,
)
from tests.ioa.hub.dashboard.test_dashboard_stream import listening

ADMIN = "operator-token"


def spend(part: str = "coordination", where: str = "local", **figures: Any) -> dict[str, Any]:
    base = {"calls": 1, "prompt": 100, "evaluated": 40, "generated": 10, "seconds": 0.5}
    return {"part": part, "where": where} | base | figures


@pytest.fixture
async def priced(db_path: Path) -> AsyncIterator[Hub]:
    config = hub_config(db_path, admin_token=ADMIN, price_local="0.5/1", price_cloud="2/4")
    async with Hub(config) as hub:
        yield hub


async def look(hub: Hub, path: str) -> Any:
    """A dashboard answer once the tally has read history back (as a page waits for it): asked
    after the overview said everything was counted, so the answer includes all of it (asked
    before, it could miss what a read-back counted between the two requests)."""
    for _ in range(250):
        overview = await http(hub, "GET", "/v1/dashboard/overview", token=ADMIN)
        reply = await http(hub, "GET", path, token=ADMIN)
        assert reply.status == 200, reply.body
        body = reply.json()
        if overview.json()["history_counted"] and body.get("history_counted", True):
            return body
        await asyncio.sleep(0.02)
    raise AssertionError("the tally never caught up")


async def goal_with(hub: Hub, lead: Agent, member: Agent) -> tuple[str, str]:
    body = {"goal": "plan the picnic", "roster": [lead.id, member.id], "max_turns": 10}
    reply = await http(hub, "POST", "/v1/goals", body, token=lead.token)
    assert reply.status == 202, reply.body
    return reply.json()["id"], reply.json()["group"]


async def test_reports_are_summed_per_agent_and_per_goal_and_priced(priced: Hub) -> None:
    alice, bob = await register(priced, "alice"), await register(priced, "bob")
    goal_id, goal_group = await goal_with(priced, alice, bob)
    side = await create_group(priced, alice, [bob])  # a chat, for no goal
    a, b = await connect(priced, alice), await connect(priced, bob)
    talk = {"type": "discussion", "text": "let us plan"}
    await a.send_and_ack(move(goal_group, alice, talk, [bob]) | {"usage": [spend()]})
    reply = move(goal_group, bob, {"type": "discussion", "text": "sure"}, [alice])
    await b.send_and_ack(reply | {"usage": [spend(), spend("work", "cloud", prompt=1000)]})
    await a.send_and_ack(chat(side, alice) | {"usage": [spend("work", "local", generated=90)]})
    await a.send_and_ack(chat(side, alice, "no report"))
    await a.close()
    await b.close()

    alice_view = (await look(priced, f"/v1/dashboard/agents/{alice.id}"))["usage"]
    assert alice_view["total"] == {
        "calls": 2, "prompt": 200, "evaluated": 80, "generated": 100, "tokens": 300, "seconds": 1.0
    }  # fmt: skip
    assert alice_view["parts"]["coordination"]["tokens"] == 110
    assert alice_view["parts"]["work"]["tokens"] == 190
    assert alice_view["cost"] == pytest.approx((200 * 0.5 + 100 * 1) / 1000)

    goal = await look(priced, f"/v1/dashboard/goals/{goal_id}")
    assert goal["usage"]["total"]["calls"] == 3  # alice's move and bob's two lines, not the chat
    assert goal["usage"]["sides"]["cloud"]["prompt"] == 1000
    assert goal["usage"]["cost"] == pytest.approx((200 * 0.5 + 20 * 1 + 1000 * 2 + 10 * 4) / 1000)
    rows = {row["name"]: row for row in goal["agents"]}
    assert (rows["bob"]["local"], rows["bob"]["cloud"]) == (110, 1010)
    assert rows["alice"]["coordination"] == 110
    assert rows["alice"]["work"] == 0
    assert [g["id"] for g in goal["groups"]] == [goal_group]
    assert goal["prices"] == {
        "local": {"prompt": 0.5, "generated": 1.0}, "cloud": {"prompt": 2.0, "generated": 4.0}
    }  # fmt: skip

    listed = (await look(priced, "/v1/dashboard/agents"))["agents"]
    assert {r["name"]: r["usage"]["tokens"] for r in listed} == {"alice": 300, "bob": 1120}
    goals = (await look(priced, "/v1/dashboard/goals"))["goals"]
    assert goals[0]["usage"]["tokens"] == 110 + 1120
    total = await look(priced, "/v1/dashboard/usage")
    assert total["total"]["total"]["tokens"] == 300 + 1120


async def test_without_a_price_no_cost_is_shown(db_path: Path) -> None:
    async with Hub(hub_config(db_path, admin_token=ADMIN)) as hub:
        alice, bob = await register(hub, "alice"), await register(hub, "bob")
        group = await create_group(hub, alice, [bob])
        ws = await connect(hub, alice)
        await ws.send_and_ack(chat(group, alice) | {"usage": [spend()]})
        await ws.close()
        detail = await look(hub, f"/v1/dashboard/agents/{alice.id}")
        assert detail["usage"]["total"]["tokens"] == 110
        assert detail["usage"]["cost"] is None
        assert (await look(hub, "/v1/dashboard/overview"))["prices"] is None


HOSTILE = {
    "negative": '[{"part":"work","where":"local","calls":1,"prompt":-1000000}]',
    "huge": '[{"part":"work","where":"local","calls":1,"prompt":' + "9" * 40 + "}]",
    "over the bound": f'[{{"part":"work","where":"local","generated":{MAX_TOKENS + 1}}}]',
    "exponent": '[{"part":"work","where":"local","generated":1e9}]',
    "float": '[{"part":"work","where":"local","generated":12.5}]',
    "string": '[{"part":"work","where":"local","generated":"12"}]',
    "boolean": '[{"part":"work","where":"local","calls":true}]',
    "infinite seconds": '[{"part":"work","where":"local","seconds":Infinity}]',
    "nan seconds": '[{"part":"work","where":"local","seconds":NaN}]',
    "evaluated over prompt": '[{"part":"work","where":"local","prompt":1,"evaluated":2}]',
    "twice the same line": '[{"part":"work","where":"local"},{"part":"work","where":"local"}]',
    "five lines": "[" + ",".join(['{"part":"work","where":"local"}'] * 5) + "]",
    "empty": "[]",
    "an object": '{"part":"work","where":"local"}',
    "unknown part": '[{"part":"gossip","where":"local","generated":5}]',
    "extra field": '[{"part":"work","where":"local","cost":-99}]',
}


@pytest.mark.parametrize("raw", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_a_hostile_report_is_refused_and_leaves_every_total_as_it_was(
    priced: Hub, raw: str
) -> None:
    alice, bob = await register(priced, "alice"), await register(priced, "bob")
    group = await create_group(priced, alice, [bob])
    ws = await connect(priced, alice)
    await ws.send_and_ack(chat(group, alice, "honest") | {"usage": [spend()]})
    before_view = (await look(priced, f"/v1/dashboard/agents/{alice.id}"))["usage"]
    before = await snapshot(priced, alice, [group])

    envelope = compact(chat(group, alice, "lying"))
    await ws.send('{"op":"send","envelope":' + envelope[:-1] + ',"usage":' + raw + "}}")
    assert await ws.expect_error() == "invalid_envelope"
    body = envelope[:-1] + ',"usage":' + raw + "}"
    posted = await http(priced, "POST", f"/v1/groups/{group}/messages", body, token=alice.token)
    assert posted.status == 400
    assert posted.code in ("invalid_request", "malformed_json")

    await assert_unchanged(priced, before, alice)
    await ws.send_and_ack(chat(group, alice, "still here"))  # the socket was not dropped
    after_view = (await look(priced, f"/v1/dashboard/agents/{alice.id}"))["usage"]
    assert after_view == before_view
    total = (await look(priced, "/v1/dashboard/usage"))["total"]["total"]
    assert total["tokens"] == 110
    await ws.close()


async def test_a_resent_message_is_counted_once(priced: Hub) -> None:
    alice, bob = await register(priced, "alice"), await register(priced, "bob")
    group = await create_group(priced, alice, [bob])
    ws = await connect(priced, alice)
    envelope = chat(group, alice) | {"usage": [spend()]}
    first = await ws.send_and_ack(envelope)
    again = await ws.send_and_ack(envelope)  # the same id: the hub keeps the first
    assert again["seq"] == first["seq"]
    await ws.close()
    usage = (await look(priced, f"/v1/dashboard/agents/{alice.id}"))["usage"]
    assert usage["total"]["calls"] == 1


async def test_totals_are_read_back_from_the_store_after_a_restart(db_path: Path) -> None:
    config = hub_config(db_path, admin_token=ADMIN)
    async with Hub(config) as hub:
        alice, bob = await register(hub, "alice"), await register(hub, "bob")
        goal_id, group = await goal_with(hub, alice, bob)
        ws = await connect(hub, alice)
        talk = {"type": "discussion", "text": "plan"}
        await ws.send_and_ack(move(group, alice, talk, [bob]) | {"usage": [spend()]})
        await ws.close()
        before = await look(hub, f"/v1/dashboard/goals/{goal_id}")
    async with Hub(config) as again:
        after = await look(again, f"/v1/dashboard/goals/{goal_id}")
        assert after["usage"] == before["usage"]
        assert after["usage"]["total"]["tokens"] == 110
        agent = await look(again, f"/v1/dashboard/agents/{alice.id}")
        assert agent["usage"]["total"]["calls"] == 1


async def test_unwatched_reports_cost_the_hot_path_nothing_and_are_read_back(
    priced: Hub,
) -> None:
    idle = listening(priced)
    alice, bob = await register(priced, "alice"), await register(priced, "bob")
    group = await create_group(priced, alice, [bob])
    ws = await connect(priced, alice)
    for _ in range(5):
        await ws.send_and_ack(chat(group, alice) | {"usage": [spend()]})
    await ws.close()
    assert listening(priced) == idle  # no listener was attached to count them
    usage = (await look(priced, f"/v1/dashboard/agents/{alice.id}"))["usage"]
    assert usage["total"]["calls"] == 5


def test_a_sum_saturates_where_a_browser_stops_counting_exactly() -> None:
    ledger = Ledger()
    ledger.lines[("work", "local")] = Sums(calls=EXACT - 1, prompt=EXACT - 1, generated=EXACT)
    big = Spend(part="work", where="local", calls=5, prompt=MAX_TOKENS, generated=MAX_TOKENS)
    for _ in range(3):
        ledger.add((big,))
    total = ledger.view(Prices())["total"]
    assert (total["calls"], total["prompt"], total["generated"], total["tokens"]) == (
        EXACT, EXACT, EXACT, EXACT,
    )  # fmt: skip
    assert json.loads(json.dumps(total))["tokens"] == 2**53


async def test_a_refused_frame_on_a_raw_socket_does_not_reach_the_tally(priced: Hub) -> None:
    """A report smuggled in a hello frame or beside the envelope is refused as a frame."""
    alice = await register(priced, "alice")
    group = await create_group(priced, alice)
    ws = await RawWs.open(priced, alice.token)
    await ws.expect("welcome")
    await ws.send('{"op":"hello","cursors":{},"usage":[{"part":"work","where":"local"}]}')
    assert await ws.expect_error() == "invalid_envelope"
    await ws.hello()
    frame = json.loads(send_frame(chat(group, alice)))
    frame["usage"] = [spend()]
    await ws.send(compact(frame))
    assert await ws.expect_error() == "invalid_envelope"
    await ws.close()
    assert (await look(priced, "/v1/dashboard/usage"))["total"]["total"]["calls"] == 0


def test_a_report_hidden_in_a_payloads_data_is_never_read_as_the_senders() -> None:
    lying = {"part": "work", "where": "cloud", "calls": 9, "prompt": 10**9, "evaluated": 0}
    result = TaskResult(task_id="t1", result="done", data={"note": "x", "usage": [lying]})
    envelope = Envelope(group="g1", sender="a1", payload=result)
    assert ',"usage":[' in envelope.stamped_json(1, 1765075300.5)
    assert usage_of(envelope.stamped_json(1, 1765075300.5)) == ()
    honest = (Spend(part="work", where="local", calls=1, prompt=7, evaluated=7),)
    reported = envelope.model_copy(update={"usage": honest})
    assert usage_of(reported.stamped_json(1, 1765075300.5)) == honest


@pytest.mark.parametrize(
    "goal_id",
    ["nope", "x" * 5000, "%00%ff", "..%2F..%2Fetc%2Fpasswd", "%F0%9F%98%80" * 50],
)
async def test_a_goal_that_is_not_there_is_a_typed_404_and_changes_nothing(
    priced: Hub, goal_id: str
) -> None:
    lead, member = await register(priced, "lead"), await register(priced, "member")
    real, _ = await goal_with(priced, lead, member)
    before = await snapshot(priced, lead)
    reply = await http(priced, "GET", f"/v1/dashboard/goals/{goal_id}", token=ADMIN)
    assert reply.status == 404, reply.body
    assert reply.json()["error"]["code"] == "not_found"
    assert len(reply.body) < 12_000  # the echoed id is the only part that grows
    assert (await http(priced, "GET", f"/v1/dashboard/goals/{goal_id}")).status == 401
    agent_view = await http(priced, "GET", f"/v1/dashboard/goals/{real}", token=lead.token)
    assert agent_view.status == 403
    await assert_unchanged(priced, before, lead)
    assert (await look(priced, f"/v1/dashboard/goals/{real}"))["id"] == real
