"""Context spans: the values an argument may copy from its context, and their schema."""

from __future__ import annotations

import pytest

from ioa.llm import EngineError, LlamaCppEngine, prepare_schema
from ioa.llm.spans import context_spans, span_schema


def test_numbers_in_a_goal() -> None:
    goal = "add 17 and 25, then subtract -3.5 from item2 (not 17 again)"
    assert context_spans(goal, "number") == ["17", "25", "-3.5"]
    assert span_schema(context_spans(goal, "number"), as_number=True) == {"enum": [17, 25, -3.5]}


def test_names_in_an_observation() -> None:
    seen = "Alice sees blue_square on panel2 and the cup_coaster; Bob holds nothing."
    assert context_spans(seen, "name") == ["Alice", "blue_square", "panel2", "cup_coaster", "Bob"]
    assert context_spans(seen, "name", exclude=frozenset({"Alice", "Bob"})) == [
        "blue_square",
        "panel2",
        "cup_coaster",
    ]


def test_bad_kind_and_no_span_are_refused() -> None:
    with pytest.raises(EngineError):
        context_spans("x", "colour")  # type: ignore[arg-type]
    with pytest.raises(EngineError):
        span_schema([])


async def test_a_span_argument_decodes_to_a_span(engine: LlamaCppEngine) -> None:
    spans = context_spans("move the red_cube or the blue_cube to panel4", "name")
    schema = {
        "type": "object",
        "properties": {"object": span_schema(spans)},
        "required": ["object"],
        "additionalProperties": False,
    }
    prepare_schema(schema)
    value, _ = await engine.structured(
        [{"role": "user", "content": "which?"}], agent="a", schema=schema, temperature=0.8
    )
    assert value["object"] in spans
    choice = await engine.choose([{"role": "user", "content": "which?"}], spans, agent="a")
    assert choice.text in spans
