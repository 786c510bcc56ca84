"""An agent's replica of a conversation: fold, resync, legal moves and envelopes, in one place."""

from __future__ import annotations

import pytest

from agents.conversation import Conversation
from agents.fallback import TURN_TYPES
from ioa.hub import Hub
from protocols import Envelope, ProtocolError
from protocols.conversation import TRANSITIONS
from protocols.frames import GroupInfo
from protocols.messages import Discussion
from tests.conftest import AgentFactory


def info(members: list[str], **meta: object) -> GroupInfo:
    return GroupInfo(
        id="g1",
        name="",
        created_by=members[0],
        created_at=0.0,
        members=members,
        protocol="ioa",
        meta=dict(meta),
        head=0,
    )


def said(sender: str, seq: int | None, text: str = "hi") -> Envelope:
    return Envelope(group="g1", sender=sender, seq=seq, payload=Discussion(text=text))


def test_turn_types_are_read_from_the_table_and_include_the_conclusion() -> None:
    assert "conclusion" in TURN_TYPES
    assert "task_result" not in TURN_TYPES
    assert set(TRANSITIONS) >= TURN_TYPES


def test_a_replica_folds_each_message_once() -> None:
    conversation = Conversation(info(["a", "b"]))
    assert conversation.fold(said("a", 1))
    assert not conversation.fold(said("a", 1))
    assert conversation.seq == 1
    assert conversation.state.speaker == "b"


def test_a_refused_message_leaves_the_replica_unchanged() -> None:
    conversation = Conversation(info(["a", "b"]))
    before = conversation.state
    with pytest.raises(ProtocolError):
        conversation.fold(said("b", 1))
    assert conversation.state == before
    assert conversation.seq == 0


def test_an_illegal_move_becomes_the_fallback_and_a_legal_one_is_kept() -> None:
    conversation = Conversation(info(["a", "b"]))
    kept = conversation.envelope("a", {"type": "discussion", "text": "x", "next_speaker": "b"})
    assert kept is not None
    assert kept.type == "discussion"
    fallback = conversation.envelope("a", {"type": "shout"})
    assert fallback is not None
    assert fallback.type == "discussion"
    assert conversation.envelope("b", None) is None


def test_the_turn_limit_leaves_only_conclude_and_then_the_conclusion() -> None:
    conversation = Conversation(info(["a", "b"], max_turns=1))
    conclude = conversation.envelope("a", None)
    assert conclude is not None
    assert conclude.type == "conclude"
    conversation.fold(conclude.model_copy(update={"seq": 1}))
    conclusion = conversation.envelope("a", None, summary="all done")
    assert conclusion is not None
    assert conclusion.type == "conclusion"
    assert getattr(conclusion.payload, "text", None) == "all done"


async def test_resync_rebuilds_the_state_from_the_hub(hub: Hub, make_agent: AgentFactory) -> None:
    a = await make_agent("a")
    b = await make_agent("b")
    assert a.agent_id is not None
    assert b.agent_id is not None
    group = await a.create_group([b.agent_id], protocol="ioa", meta={"max_turns": 5})
    await a.say(group.id, Discussion(text="one"), to=[b.agent_id])
    await b.say(group.id, Discussion(text="two"), to=[a.agent_id])
    conversation = Conversation(group)
    await conversation.resync(b)
    assert conversation.seq == 2
    assert conversation.state.turns == 2
    assert conversation.state.speaker == a.agent_id
