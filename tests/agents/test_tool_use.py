"""Tools used when a goal needs them: arguments only from spans of the goal, the tool's result in
the conclusion, prompt words never parroted, and garbage from a model never stopping a run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agents.choosing import Decoding
from agents.echo import echoes, strip_echoes, strip_invented_numbers, strip_restatements
from agents.goal_runner import run_tool_goal
from agents.spans import Arguments, names_in, numbers_in
from agents.units import quantities_in
from environments.toolgoals import goal
from ioa.commands.teams import TeamView
from ioa.hub import Hub
from ioa.llm import LlamaCppEngine, ScriptedEngine, load_engine, write_tiny_gguf
from protocols import Envelope


def test_spans_are_numbers_and_names_written_in_the_text() -> None:
    assert numbers_in("add 17 and 25, then 17 again; t2 and 1,000") == ["17", "25", "1000"]
    assert names_in("From Lyon to porto, not Lyonnais", {"lyon": "Lyon", "porto": "Porto"}) == [
        "Lyon",
        "Porto",
    ]
    assert quantities_in("How many kilometres is 26.2 miles? 100 degrees Fahrenheit") == [
        ("26.2", "mi"),
        ("100", "F"),
    ]


def test_arguments_give_an_enum_schema_and_the_rendered_calls() -> None:
    args = Arguments({"a": ["1", "2"], "op": ["+"], "b": ["1", "2"]}, "{a} {op} {b}", ("a", "b"))
    assert args.usable
    assert args.options() == ["1 + 2", "2 + 1"]
    schema = args.schema()
    assert schema["properties"]["a"] == {"enum": ["1", "2"]}
    assert schema["required"] == ["a", "op", "b"]
    assert schema["additionalProperties"] is False
    assert args.render({"a": "2", "op": "+", "b": "1"}) == "2 + 1"
    assert not Arguments({"a": []}, "{a}").usable
    assert Arguments({"a": [str(i) for i in range(60)]}, "{a}", max_options=48).options() == []


def test_prompt_words_are_cut_out_of_replies_and_so_are_invented_numbers() -> None:
    copied = "Work toward the team's goal. The sum is 42."
    assert echoes(copied)
    assert strip_echoes(copied) == "The sum is 42."
    assert strip_echoes("Lyon is large.") == "Lyon is large."
    given = "add 17 and 25 17 + 25 = 42"
    said = "17 and 25 make 42. Then 41 is it. Easy."
    assert strip_invented_numbers(said, given) == "17 and 25 make 42. Easy."


def test_a_sentence_that_only_restates_the_goal_is_cut() -> None:
    goal = "add 17 and 25 then explain"
    said = "Goal: Add 17 and 25 then explain. Adding 17 and 25 gives 42. add 17 and 25 then explain"
    assert strip_restatements(said, goal) == "Adding 17 and 25 gives 42."
    assert strip_restatements("Add 17 and 25, then explain why.", goal) == (
        "Add 17 and 25, then explain why."
    )


@pytest.fixture(scope="module")
def tiny_minicpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny-minicpm.gguf", "minicpm")


@pytest.fixture
async def engine(tiny_minicpm: Path) -> AsyncIterator[LlamaCppEngine]:
    async with await load_engine(tiny_minicpm, n_ctx=2048, n_threads=1) as loaded:
        yield loaded


@pytest.mark.llama
@pytest.mark.parametrize("decoding", ["score", "sample"])
async def test_a_goal_runs_through_the_real_engine_to_the_tool_and_its_value(
    hub: Hub, engine: LlamaCppEngine, decoding: Decoding
) -> None:
    lyon = goal("lyon")
    outcome = await run_tool_goal(
        engine, hub.url, lyon, decoding=decoding, always_use_tools=True, timeout=180
    )
    assert outcome.status == "done"
    assert outcome.tool_assigned == "look up"
    assert outcome.right_tool
    assert "522250" in outcome.conclusion
    assert outcome.correct
    envelopes = [Envelope.model_validate(e) for e in outcome.transcript]
    groups = list(dict.fromkeys(e.group for e in envelopes))
    assert len(groups) == 2  # the goal's team and the sub-team its leader formed
    goal_group = envelopes[-1].group
    view = TeamView(goal_group, outcome.names)
    lines = [view.header()] + [line for e in envelopes for line in view.lines(e)]
    text = "\n".join(lines)
    assert "┌ team 1: the goal's team" in text
    assert "    ┌ team 2: sub-team of team 1 for the goal" in text
    assert "    │ team 2 #  1" in text
    assert "[sync_task_assign]" in text
    assert any(line.startswith("│ team 1 ") and "[conclusion]" in line for line in lines)


@pytest.mark.llama
async def test_a_model_that_only_writes_garbage_never_stops_the_run(
    hub: Hub, tiny_minicpm: Path
) -> None:
    garbage = ScriptedEngine(["}{ not json, not an option"] * 500)
    outcome = await run_tool_goal(garbage, hub.url, goal("add"), max_turns=4, timeout=120)
    assert outcome.status in ("done", "failed")  # an answer or the hub's verdict, never a hang
    assert outcome.conclusion
