"""The group protocols over the wire: each illegal move of dialectic, contract net, voting and
the structured speech acts is refused with its code, over the WebSocket and over REST, and changes
nothing (head and transcript unchanged)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ioa.hub import Hub
from tests.ioa.hub.adversarial.conftest import Scene
from tests.ioa.hub.adversarial.wire import (
    Agent,
    RawWs,
    assert_unchanged,
    connect,
    create_group,
    head,
    http,
    messages,
    move,
    register,
    send_frame,
    snapshot,
)

PLAN = {"plan": "alice lifts the cup"}
SCHEMA = {
    "type": "object",
    "properties": {"plan": {"type": "string", "maxLength": 60}},
    "required": ["plan"],
    "additionalProperties": False,
}


class Referee:
    """A group on a real hub, with one greeted socket per member."""

    def __init__(self, hub: Hub, group: str, members: Sequence[Agent]) -> None:
        self.hub, self.group, self.lead = hub, group, members[0]
        self.sockets: dict[str, RawWs] = {}

    @classmethod
    async def open(cls, hub: Hub, members: Sequence[Agent], meta: dict[str, Any]) -> Referee:
        group = await create_group(hub, members[0], members[1:], protocol="ioa", meta=meta)
        referee = cls(hub, group, members)
        for agent in members:
            referee.sockets[agent.id] = await connect(hub, agent)
        return referee

    async def accepted(
        self, sender: Agent, payload: dict[str, Any], to: Sequence[Agent] = ()
    ) -> None:
        before = await head(self.hub, self.lead, self.group)
        ack = await self.sockets[sender.id].send_and_ack(move(self.group, sender, payload, to))
        assert ack["seq"] == before + 1, ack

    async def __aenter__(self) -> Referee:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in self.sockets.values():
            await ws.close()

    async def refused(
        self,
        code: str,
        sender: Agent,
        payload: dict[str, Any],
        to: Sequence[Agent] = (),
        rest_code: str | None = None,
    ) -> None:
        before = await snapshot(self.hub, self.lead, [self.group])
        before_head = await head(self.hub, self.lead, self.group)
        ws = self.sockets[sender.id]
        await ws.send(send_frame(move(self.group, sender, payload, to)))
        while (frame := await ws.recv_json())["op"] == "deliver":
            pass
        assert frame["op"] == "error", frame
        assert frame["error"]["code"] == code, (payload, frame)
        rest = await http(
            self.hub,
            "POST",
            f"/v1/groups/{self.group}/messages",
            move(self.group, sender, payload, to),
            token=sender.token,
        )
        assert rest.code == (rest_code or code), rest.body
        assert rest.status in (400, 403, 409), rest.body
        assert await head(self.hub, self.lead, self.group) == before_head
        await assert_unchanged(self.hub, before, self.lead)


async def _cast(scene: Scene) -> tuple[Agent, Agent, Agent]:
    return scene.alice, scene.bob, await register(scene.hub, "carol")


def _proposal(pid: str, content: Any = None) -> dict[str, Any]:
    return {"type": "proposal", "proposal_id": pid, "content": PLAN if content is None else content}


async def test_structured_acts_are_enforced(scene: Scene) -> None:
    alice, bob, carol = await _cast(scene)
    links = {alice.id: [bob.id], bob.id: [alice.id, carol.id], carol.id: [alice.id]}
    meta = {"checker": carol.id, "content_schema": SCHEMA, "links": links}
    async with await Referee.open(scene.hub, [alice, bob, carol], meta) as ref:
        await ref.refused("invalid_content", alice, _proposal("p1", {"plan": 7}))
        await ref.refused("invalid_content", alice, _proposal("p1", {"plan": "x", "extra": 1}))
        await ref.refused("not_linked", alice, {"type": "discussion", "text": "hi"}, [carol])
        await ref.refused(
            "unknown_proposal", alice, {"type": "acceptance", "proposal_id": "p9"}, [bob]
        )
        await ref.refused(
            "illegal_move", bob, {"type": "check_result", "proposal_id": "p1", "passed": True}
        )
        await ref.accepted(alice, _proposal("p1"), [bob])
        # the checker owes its check before anyone else moves; only the checker sends it
        await ref.refused("not_your_turn", bob, {"type": "discussion", "text": "me?"})
        await ref.refused(
            "illegal_move", alice, {"type": "check_result", "proposal_id": "p1", "passed": True}
        )
        await ref.refused(
            "illegal_move", carol, {"type": "check_result", "proposal_id": "p2", "passed": True}
        )
        await ref.accepted(carol, {"type": "check_result", "proposal_id": "p1", "passed": False})
        await ref.refused("duplicate_proposal", bob, _proposal("p1"))
        await ref.refused("unchecked_plan", bob, {"type": "conclude", "proposal_id": "p1"})
        await ref.accepted(bob, _proposal("p2"), [alice])
        await ref.accepted(carol, {"type": "check_result", "proposal_id": "p2", "passed": True})
        await ref.accepted(alice, {"type": "acceptance", "proposal_id": "p2"}, [bob])
        await ref.accepted(bob, {"type": "conclude", "proposal_id": "p2"})
        await ref.refused(
            "unchecked_plan", bob, {"type": "conclusion", "text": "x", "proposal_id": "p1"}
        )
        await ref.accepted(bob, {"type": "conclusion", "text": "p2 it is", "proposal_id": "p2"})


async def test_dialectic_is_enforced(scene: Scene) -> None:
    alice, bob, carol = await _cast(scene)
    meta = {"protocol": "dialectic", "content_schema": SCHEMA, "max_turns": 5}
    async with await Referee.open(scene.hub, [alice, bob, carol], meta) as ref:
        execute = {"type": "execute", "proposal_id": "p1", "content": PLAN}
        await ref.refused("not_your_turn", bob, {"type": "proceed", "text": "out of order"})
        await ref.refused("illegal_move", alice, execute)  # before everyone spoke
        await ref.refused("illegal_move", alice, {"type": "discussion", "text": "not a move here"})
        await ref.accepted(alice, {"type": "proceed", "text": "I take the cup"})
        await ref.accepted(bob, {"type": "proceed", "text": "I take the bowl"})
        await ref.refused("not_your_turn", alice, {"type": "proceed", "text": "again"})
        await ref.accepted(carol, {"type": "proceed", "text": "fine"})
        await ref.refused("invalid_content", alice, {**execute, "content": {"plan": None}})
        await ref.accepted(alice, execute)
        await ref.refused("not_your_turn", bob, {"type": "proceed", "text": "late"})
        await ref.refused("illegal_move", alice, {"type": "conclusion", "text": "done"})
        done = {"type": "conclusion", "text": "done", "proposal_id": "p1"}
        await ref.accepted(alice, done)
        await ref.refused("conversation_over", bob, {"type": "proceed", "text": "late"})


async def test_dialectic_ends_at_its_cap_without_a_turn_timeout(scene: Scene) -> None:
    """The last call's plan fails its check: the hub concludes at once, though no clock runs."""
    alice, bob, carol = await _cast(scene)
    meta = {"protocol": "dialectic", "checker": carol.id, "open_execute": True, "max_turns": 2}
    async with await Referee.open(scene.hub, [alice, bob, carol], meta) as ref:
        failed = {"type": "check_result", "passed": False, "reasons": ["collides"]}
        await ref.accepted(alice, {"type": "execute", "proposal_id": "p1", "content": PLAN})
        await ref.accepted(carol, {**failed, "proposal_id": "p1"})
        await ref.refused("turn_limit", bob, {"type": "proceed", "text": "talk on"})
        await ref.accepted(bob, {"type": "execute", "proposal_id": "p2", "content": PLAN})
        await ref.accepted(carol, {**failed, "proposal_id": "p2"})
        stored = await messages(scene.hub, alice, ref.group)
        last = stored[-1]
        assert (last["sender"], last["payload"]["type"]) == ("hub", "conclusion"), last
        assert "turn cap" in last["payload"]["text"]
        await ref.refused("conversation_over", alice, {"type": "proceed", "text": "late"})


async def test_contract_net_is_enforced(scene: Scene) -> None:
    alice, bob, carol = await _cast(scene)
    async with await Referee.open(
        scene.hub, [alice, bob, carol], {"protocol": "contract_net"}
    ) as ref:
        cfp = {"type": "call_for_proposals", "description": "sum 17 and 25"}
        await ref.refused("not_your_turn", bob, {"type": "bid", "cost": 1, "content": PLAN})
        await ref.refused("illegal_move", alice, cfp)  # a call names its contractors
        await ref.accepted(alice, cfp, [bob, carol])
        await ref.refused("not_your_turn", carol, {"type": "refuse"})  # bob answers first
        await ref.refused(
            "invalid_envelope",
            bob,
            {"type": "bid", "cost": -1, "content": PLAN},
            rest_code="invalid_request",
        )
        await ref.accepted(bob, {"type": "bid", "cost": 3, "content": PLAN})
        await ref.accepted(carol, {"type": "refuse", "text": "busy"})
        award = {"type": "award", "task_id": "t1", "description": "do it"}
        await ref.refused("illegal_move", alice, award, [carol])  # carol refused
        await ref.accepted(alice, award, [bob])
        await ref.refused(
            "not_assignee", carol, {"type": "task_result", "task_id": "t1", "result": "?"}
        )
        await ref.accepted(bob, {"type": "task_result", "task_id": "t1", "result": "42"})
        await ref.accepted(alice, {"type": "conclude"})
        await ref.accepted(alice, {"type": "conclusion", "text": "42"})


async def test_voting_is_enforced(scene: Scene) -> None:
    alice, bob, carol = await _cast(scene)
    meta = {"protocol": "voting", "voting_rule": "majority"}
    async with await Referee.open(scene.hub, [alice, bob, carol], meta) as ref:
        await ref.refused("not_your_turn", bob, {"type": "pass"})
        await ref.refused("illegal_move", alice, {"type": "ballot", "proposal_id": "p1"})
        await ref.accepted(alice, _proposal("p1"))
        await ref.accepted(bob, _proposal("p2"))
        await ref.accepted(carol, {"type": "pass"})
        await ref.refused("unknown_proposal", alice, {"type": "ballot", "proposal_id": "p7"})
        await ref.refused("illegal_move", alice, {"type": "ballot", "ranking": ["p1", "p2"]})
        await ref.accepted(alice, {"type": "ballot", "proposal_id": "p2"})
        await ref.refused("not_your_turn", alice, {"type": "ballot", "proposal_id": "p2"})  # twice
        await ref.accepted(bob, {"type": "ballot", "proposal_id": "p2"})
        await ref.accepted(carol, {"type": "ballot", "proposal_id": "p1"})
        await ref.refused(
            "illegal_move", alice, {"type": "conclusion", "text": "p1", "proposal_id": "p1"}
        )
        await ref.refused("illegal_move", alice, {"type": "conclusion", "text": "none"})
        await ref.accepted(alice, {"type": "conclusion", "text": "p2 wins", "proposal_id": "p2"})


async def test_bad_protocol_settings_are_refused_at_group_creation(scene: Scene) -> None:
    alice, bob = scene.alice, scene.bob
    bad_metas: list[dict[str, Any]] = [
        {"protocol": "auction"},
        {"checker": "a-stranger"},
        {"protocol": "voting", "checker": bob.id},
        {"protocol": "voting", "voting_rule": "dictator"},
        {"links": {alice.id: ["a-stranger"]}},
        {"content_schema": {"type": "string", "pattern": "(a+)+$"}},
        {"content_schema": {"$ref": "https://example.org/schema.json"}},
        {"content_schema": {"type": 12}},
        {
            "content_schema": {
                "items": {
                    "items": {
                        "items": {
                            "items": {
                                "items": {
                                    "items": {
                                        "items": {
                                            "items": {"items": {"items": {"items": {"items": {}}}}}
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ]
    for meta in bad_metas:
        before = await snapshot(scene.hub)
        body = {"members": [bob.id], "protocol": "ioa", "meta": meta}
        reply = await http(scene.hub, "POST", "/v1/groups", body, token=alice.token)
        assert (reply.status, reply.code) == (400, "invalid_request"), (meta, reply.body)
        await assert_unchanged(scene.hub, before)
