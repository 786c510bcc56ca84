"""Structured output: schemas are enforced or refused loudly, replies validated, one repair."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field

from ioa.llm import (
    LlamaCppEngine,
    SchemaNotSupported,
    ScriptedEngine,
    ScriptExhausted,
    StructuredOutputError,
    prepare_schema,
)
from ioa.llm.engine import Request
from ioa.llm.prompts import REPAIR_PROMPT
from ioa.llm.structured import DEFAULT_ITEMS_CAP, DEFAULT_STRING_CAP

S = {"type": "string", "maxLength": 10}

REFUSED: dict[str, tuple[Any, str]] = {
    "free object": ({"type": "object"}, "without properties"),
    "open object": (
        {"type": "object", "properties": {"a": S}, "additionalProperties": True},
        "additionalProperties must be false",
    ),
    "any value": ({"type": "object", "properties": {"a": {}}}, "#/properties/a: no type"),
    "true schema": ({"type": "array", "items": True}, "needs an items schema"),
    "required ghost": (
        {"type": "object", "properties": {"a": S}, "required": ["a", "b"]},
        "required ['b'] are not properties",
    ),
    "not": ({"type": "string", "not": {"const": "x"}}, "['not']"),
    "allOf": ({"allOf": [{"type": "string"}]}, "['allOf']"),
    "if": ({"type": "string", "if": {}, "then": {}}, "cannot be enforced"),
    "patternProperties": ({"type": "object", "patternProperties": {}}, "patternProperties"),
    "unbounded pattern": ({"type": "string", "pattern": "^a+$"}, "unbounded"),
    "unanchored pattern": ({"type": "string", "pattern": "a{1,3}"}, "anchored"),
    "recursive ref": (
        {
            "$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}},
            "$ref": "#/$defs/N",
        },
        "recursive",
    ),
    "remote ref": ({"$ref": "https://example.com/s.json"}, "only local"),
    "union beside type": ({"type": "string", "anyOf": [S]}, "move those keywords"),
    "openai wrapper": ({"type": "json_schema", "json_schema": {"schema": S}}, "response_format"),
    "invalid schema": ({"type": "strin"}, "invalid JSON Schema"),
    "not json": ({"type": "string", "default": {1, 2}}, "not JSON"),
    "not a dict": ([S], "must be a dict"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_schemas_a_grammar_cannot_enforce_are_refused(case: str) -> None:
    schema, words = REFUSED[case]
    with pytest.raises(SchemaNotSupported) as raised:
        prepare_schema(schema)
    assert words in raised.value.message


def test_the_grammar_gets_a_bounded_copy() -> None:
    prepared = prepare_schema(
        {
            "type": "object",
            "properties": {
                "free": {"type": "string"},
                "list": {"type": "array", "items": {"type": ["integer", "null"]}},
            },
            "required": ["free"],
        }
    )
    props = prepared.bounded["properties"]
    assert props["free"]["maxLength"] == DEFAULT_STRING_CAP
    assert props["list"]["maxItems"] == DEFAULT_ITEMS_CAP
    assert props["list"]["items"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert "char{" not in prepared.grammar
    assert "\\x00-\\x1F" in prepared.grammar
    assert prepared.max_tokens > 4 * DEFAULT_STRING_CAP


class Step(BaseModel):
    action: Literal["move", "grab", "wait"]
    target: str = Field(min_length=1, max_length=12)
    note: str | None = Field(default=None, max_length=20)


class Plan(BaseModel):
    steps: list[Step] = Field(min_length=1, max_length=3)
    robot: Literal["alpha", "beta"]
    priority: int


FEATURES: dict[str, dict[str, Any]] = {
    "enum, const, required, optional": {
        "type": "object",
        "properties": {
            "kind": {"const": "vote"},
            "choice": {"enum": ["yes", "no", 3, None]},
            "why": {"type": "string", "minLength": 2, "maxLength": 15},
        },
        "required": ["kind", "choice"],
        "additionalProperties": False,
    },
    "anyOf, oneOf, type list": {
        "type": "object",
        "properties": {
            "a": {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
            "b": {"oneOf": [{"const": "x"}, {"type": "integer"}]},
            "c": {"type": ["number", "string"], "maxLength": 5},
        },
        "required": ["a", "b", "c"],
        "additionalProperties": False,
    },
    "arrays and tuples": {
        "type": "object",
        "properties": {
            "to": {
                "type": "array",
                "items": {"enum": ["bob", "carol"]},
                "minItems": 1,
                "maxItems": 2,
            },
            "pair": {"type": "array", "prefixItems": [{"type": "integer"}, S], "items": False},
        },
        "required": ["to", "pair"],
        "additionalProperties": False,
    },
    "pattern and format": {
        "type": "object",
        "properties": {
            "task_id": {"type": "string", "pattern": "^[a-z0-9_]{3,8}$"},
            "due": {"type": "string", "format": "date"},
        },
        "required": ["task_id", "due"],
        "additionalProperties": False,
    },
    "pydantic $defs/$ref": Plan.model_json_schema(),
}


@pytest.mark.llama
@pytest.mark.parametrize("feature", list(FEATURES))
async def test_each_schema_feature_is_enforced_on_a_noise_model(
    feature: str, tiny_minicpm: Path
) -> None:
    schema = FEATURES[feature]
    async with LlamaCppEngine(tiny_minicpm, n_threads=1) as engine:
        for i in range(5):
            messages = [{"role": "user", "content": f"call {i}: answer in JSON"}]
            value, completion = await engine.structured(messages, agent=f"a{i}", schema=schema)
            jsonschema.validate(value, schema)
            assert completion.attempts == 1
            assert completion.finish_reason == "stop"


@pytest.mark.llama
async def test_a_pydantic_model_comes_back_as_an_instance(tiny_minicpm: Path) -> None:
    async with LlamaCppEngine(tiny_minicpm, n_threads=1) as engine:
        plan, _ = await engine.structured(
            [{"role": "user", "content": "plan"}], agent="r", model=Plan
        )
    assert isinstance(plan, Plan)
    assert 1 <= len(plan.steps) <= 3


@pytest.mark.llama
async def test_string_bounds_keep_a_noise_model_from_running_out_of_tokens(
    tiny_minicpm: Path,
) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "minLength": 150, "maxLength": 200}, "b": S},
        "required": ["a", "b"],
        "additionalProperties": False,
    }
    async with LlamaCppEngine(tiny_minicpm, n_threads=1) as engine:
        for i in range(3):
            value, completion = await engine.structured(
                [{"role": "user", "content": f"write {i}"}],
                agent="w",
                schema=schema,
                temperature=1.5,
            )
            assert 150 <= len(value["a"]) <= 200
            assert completion.finish_reason == "stop"
            assert completion.completion_tokens <= prepare_schema(schema).max_tokens


VOTE = {
    "type": "object",
    "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}},
    "required": ["score"],
    "additionalProperties": False,
}
ASK = [{"role": "user", "content": "Rate it."}]


async def test_an_invalid_reply_gets_one_repair_attempt() -> None:
    engine = ScriptedEngine(['{"score": 9}', {"score": 4}])
    value, completion = await engine.structured(ASK, agent="judge", schema=VOTE)
    assert value == {"score": 4}
    assert completion.attempts == 2
    repair = engine.calls[1].messages
    assert repair[-2] == {"role": "assistant", "content": '{"score": 9}'}
    assert repair[-1]["content"].startswith(REPAIR_PROMPT.split("{")[0])
    assert "9 is greater than the maximum of 5" in repair[-1]["content"]
    assert engine.stats("judge").calls == 2


async def test_two_invalid_replies_raise_a_typed_error_with_both_texts() -> None:
    engine = ScriptedEngine(["not json", '{"score": 0}'])
    with pytest.raises(StructuredOutputError, match="twice") as raised:
        await engine.structured(ASK, agent="judge", schema=VOTE)
    assert raised.value.texts == ("not json", '{"score": 0}')
    assert "not valid JSON" in engine.calls[1].messages[-1]["content"]


async def test_pydantic_validation_is_part_of_the_check() -> None:
    class Strict(BaseModel):
        score: int = Field(ge=1, le=5)
        tag: str = Field(pattern=r"^[a-z]{1,5}$")

    engine = ScriptedEngine([{"score": 3, "tag": "BAD!"}, {"score": 3, "tag": "good"}])
    value, completion = await engine.structured(ASK, agent="j", model=Strict)
    assert value == Strict(score=3, tag="good")
    assert completion.attempts == 2


async def test_scripted_engine_scripts_per_agent_and_records_calls() -> None:
    def echo(request: Request) -> dict[str, Any]:
        return {"score": len(request.messages)}

    engine = ScriptedEngine({"alice": ["hi alice"], "bob": [echo]})
    assert (await engine.chat(ASK, agent="alice")).text == "hi alice"
    value, _ = await engine.structured(ASK, agent="bob", schema=VOTE)
    assert value == {"score": 1}
    assert [c.agent for c in engine.calls] == ["alice", "bob"]
    assert engine.calls[1].schema == VOTE
    assert engine.remaining() == 0
    with pytest.raises(ScriptExhausted, match="alice"):
        await engine.chat(ASK, agent="alice")
    with pytest.raises(SchemaNotSupported):
        await ScriptedEngine(["{}"]).chat(ASK, agent="x", schema={"type": "object"})
    stats = engine.stats("alice")
    assert stats.calls == 1
    assert stats.completion_tokens == 2
