"""The legal-moves JSON Schema: every instance is a move the state machine accepts."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from protocols import (
    ConversationState,
    IllegalMove,
    InvalidMove,
    Limits,
    NoLegalMove,
    Phase,
    apply,
    legal_moves,
    move_to_envelope,
    moves_schema,
)
from protocols.acts import (
    Ballot,
    Bid,
    CallForProposals,
    CheckResult,
    PassTurn,
    Proceed,
    Proposal,
    Refuse,
)
from tests.protocols.kit import (
    PLAN,
    async_,
    conclude,
    env,
    group,
    new,
    pause,
    result,
    run,
    say,
    sync,
)

# Keywords llama.cpp's JSON-Schema-to-grammar converter handles, and the only ones we may emit.
ALLOWED_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "const", "enum", "oneOf",
    "items", "minItems", "maxItems", "maxLength",
}  # fmt: skip


def _states() -> dict[str, ConversationState]:
    """One state per interesting situation, each seen by every member."""
    base = new(max_turns=6)
    with_tasks = run(
        base,
        env("alice", async_("t1"), ["bob", "carol"]),
        env("alice", async_("t2"), ["carol"]),
        env("alice", async_("t3"), ["bob"]),
        env("bob", result("t1")),
        env("bob", result("t3")),
    )
    return {
        "start": base,
        "with_tasks": with_tasks,
        "awaiting": run(base, env("alice", sync("t1"), ["bob"])),
        "paused": run(with_tasks, env("alice", pause("t1", "t2"))),
        "at_limit": run(new(max_turns=2), env("alice", say(), ["bob"])),
        "concluding": run(with_tasks, env("alice", conclude())),
        "solo": new(members=["solo"]),
        **_protocol_states(),
    }


def _protocol_states() -> dict[str, ConversationState]:
    """States of the structured acts and of the other group protocols."""
    checked = group("ioa", checker="carol")
    proposed = run(checked, env("alice", Proposal(proposal_id="p1", content=PLAN), ["bob"]))
    passed = run(proposed, env("carol", CheckResult(proposal_id="p1", passed=True)))
    dialectic = group("dialectic", limits=Limits(max_turns=4))
    spoken = run(dialectic, env("alice", Proceed(text="a")), env("bob", Proceed(text="b")))
    net = group("contract_net")
    called = run(net, env("alice", CallForProposals(description="d"), ["bob", "carol"]))
    bid = run(called, env("bob", Bid(cost=2, content=PLAN)), env("carol", Refuse()))
    votes = run(
        group("voting", voting_rule="borda"), env("alice", Proposal(proposal_id="p1", content=PLAN))
    )
    votes2 = run(
        votes, env("bob", Proposal(proposal_id="p2", content=PLAN)), env("carol", PassTurn())
    )
    plural = group("voting")
    plural = run(
        plural,
        env("alice", Proposal(proposal_id="p1", content=PLAN)),
        env("bob", PassTurn()),
        env("carol", PassTurn()),
    )
    return {
        "checking": proposed,
        "checked": passed,
        "dialectic": spoken,
        "dialectic_last": run(spoken, env("carol", Proceed(text="c"))),
        "bidding": called,
        "awarding": bid,
        "proposing": votes,
        "borda_ballots": votes2,
        "plurality_ballots": plural,
        "tallied": run(
            plural, *(env(m, Ballot(proposal_id="p1")) for m in ("alice", "bob", "carol"))
        ),
    }


STATES = _states()
VIEWS = [(name, agent) for name, s in STATES.items() for agent in s.members]


def _keywords(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key == "properties":
                for sub in value.values():
                    yield from _keywords(sub)
            elif key != "const" and key != "enum":
                yield from _keywords(value)
    elif isinstance(node, list):
        for item in node:
            yield from _keywords(item)


def _alternatives(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return schema.get("oneOf", [schema])


def _instances(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every instance up to free text: enums, consts and arrays of enums enumerated."""
    for alt in _alternatives(schema):
        names = list(alt["properties"])
        choices: list[list[Any]] = []
        for name in names:
            prop = alt["properties"][name]
            if "const" in prop:
                choices.append([prop["const"]])
            elif "enum" in prop:
                choices.append(list(prop["enum"]))
            elif prop.get("type") == "boolean":
                choices.append([True, False])
            elif prop.get("type") == "number":
                choices.append([0, 2.5])
            elif prop.get("type") == "object":
                choices.append([{k: "x" for k in prop["properties"]}])
            elif prop.get("type") == "array" and "enum" not in prop["items"]:
                choices.append([[], ["x" * prop["items"]["maxLength"]]])
            elif prop.get("type") == "array":
                items = prop["items"]["enum"]
                choices.append(
                    [
                        list(c)
                        for k in range(prop["minItems"], prop["maxItems"] + 1)
                        for c in itertools.product(items, repeat=k)
                    ]
                )
            else:
                choices.append(["", "x" * prop["maxLength"]])
        for values in itertools.product(*choices):
            yield dict(zip(names, values, strict=True))


@pytest.mark.parametrize(("name", "agent"), VIEWS)
def test_every_enumerated_schema_instance_applies(name: str, agent: str) -> None:
    state = STATES[name]
    legal = legal_moves(state, agent)
    try:
        schema = moves_schema(legal, text_max=12)
    except NoLegalMove:
        assert not legal.moves or legal.types == ("pause",)
        return
    assert set(_keywords(schema)) <= ALLOWED_KEYWORDS
    json.dumps(schema)
    applied = [apply(state, move_to_envelope(legal, i)) for i in _instances(schema)]
    assert applied


def test_the_schema_offers_the_right_choices() -> None:
    legal = legal_moves(STATES["with_tasks"], "alice")
    by_type = {
        alt["properties"]["type"]["const"]: alt for alt in _alternatives(moves_schema(legal))
    }
    assert list(by_type) == [
        "discussion",
        "proposal",
        "sync_task_assign",
        "async_task_assign",
        "pause",
        "conclude",
    ]
    assert by_type["discussion"]["properties"]["next_speaker"] == {"enum": ["bob", "carol"]}
    assert by_type["pause"]["properties"]["task_ids"]["items"] == {"enum": ["t1", "t2"]}
    carol = moves_schema(legal_moves(STATES["with_tasks"], "carol"))
    assert [a["properties"]["task_id"]["enum"] for a in _alternatives(carol)] == [["t1", "t2"]] * 2
    assert moves_schema(legal_moves(STATES["at_limit"], "bob"))["properties"]["type"] == {
        "const": "conclude"
    }


def test_a_new_task_gets_a_fresh_id_and_duplicate_assignees_collapse() -> None:
    state = STATES["with_tasks"]
    legal = legal_moves(state, "alice")
    message = move_to_envelope(
        legal,
        {"type": "sync_task_assign", "assignees": ["bob", "bob"], "title": "t", "description": "d"},
    )
    assert message.payload.task_id == "t4"
    assert message.to == ["bob"]
    assert apply(state, message).phase is Phase.AWAITING


def test_the_schema_converts_to_a_llama_cpp_grammar() -> None:
    grammar = pytest.importorskip("llama_cpp.llama_grammar")
    for name, agent in VIEWS:
        legal = legal_moves(STATES[name], agent)
        if legal.moves and legal.types != ("pause",):
            gbnf = grammar.json_schema_to_gbnf(json.dumps(moves_schema(legal, text_max=64)))
            assert "root ::=" in gbnf
            assert all(f'\\"{t}\\"' in gbnf for t in legal.types if t != "pause")


@pytest.mark.parametrize(
    ("move", "error"),
    [
        ("discussion", InvalidMove),
        ({"type": "dance"}, InvalidMove),
        ({"type": "discussion", "text": "x", "mood": "happy"}, InvalidMove),
        ({"type": "discussion", "text": 5}, InvalidMove),
        ({"type": "discussion", "text": "x", "next_speaker": ["bob"]}, InvalidMove),
        ({"type": "discussion", "text": "x", "next_speaker": "mallory"}, IllegalMove),
        ({"type": "sync_task_assign", "assignees": "bob", "description": "d"}, InvalidMove),
        ({"type": "sync_task_assign", "assignees": [], "description": "d"}, IllegalMove),
        ({"type": "pause", "task_ids": ["ghost"]}, IllegalMove),
        ({"type": "conclusion", "text": "x"}, IllegalMove),
        ({"type": "task_result", "task_id": "t2", "result": "r"}, IllegalMove),
    ],
)
def test_garbage_moves_get_a_typed_error(move: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        move_to_envelope(legal_moves(STATES["with_tasks"], "alice"), move)


def test_no_schema_for_an_agent_with_nothing_to_say() -> None:
    with pytest.raises(NoLegalMove):
        moves_schema(legal_moves(STATES["start"], "bob"))
    with pytest.raises(ValueError, match="text_max"):
        moves_schema(legal_moves(STATES["start"], "alice"), text_max=0)
