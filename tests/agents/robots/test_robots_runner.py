"""The episode loop: re-plans with feedback, the attempt limit, skipped steps, history, metrics."""

from __future__ import annotations

from typing import Any

import pytest

from agents.robots import (
    BadOptions,
    CentralPlanner,
    DialogPlanner,
    EpisodeOptions,
    ModeSettings,
    UnknownMode,
    make_planner,
    run_episode,
    summarize,
)
from agents.robots.record import Event
from environments.rocobench import TASKS, make_env
from ioa.llm import ScriptedEngine
from ioa.llm.engine import Request
from tests.agents.robots.kit import all_wait, offered, oracle_json, schema_of


@pytest.mark.parametrize("task", list(TASKS))
async def test_the_oracle_row_solves_every_task_with_single_plans(task: str) -> None:
    env = make_env(task, seed=2)
    record = await run_episode(env, make_planner("oracle", None))
    assert record.success
    assert record.attempts == [1] * record.steps
    assert record.unparseable == 0
    assert record.calls == 0
    assert record.events[-1].kind == "end"


async def test_a_failed_plan_is_replanned_with_feedback_up_to_the_attempt_limit() -> None:
    env = make_env("sort", seed=0)
    engine = ScriptedEngine([all_wait(env)] * 6)
    events: list[Event] = []
    options = EpisodeOptions(attempts=3, max_steps=2)
    record = await run_episode(env, CentralPlanner(engine), options, events.append)
    assert record.attempts == [3, 3]  # each step: three plans, all rejected, then skipped
    assert record.steps == 2
    assert record.capped
    assert not record.success
    assert record.unparseable == 0
    assert [e.kind for e in events].count("skip") == 2
    first, second, third = (call.messages[-1]["content"] for call in engine.calls[:3])
    assert "[Environment Feedback]" not in first
    assert "can't all WAIT" in second
    assert third.count("[Environment Feedback]") == 2  # the feedback of every earlier attempt
    assert record.calls == 6
    assert record.prompt_tokens > 0


async def test_a_plan_that_passes_is_executed_and_the_episode_ends_at_success() -> None:
    env = make_env("cabinet", seed=1)
    engine = ScriptedEngine([lambda r: oracle_json(env) for _ in range(10)])
    record = await run_episode(env, CentralPlanner(engine))
    assert record.success
    assert record.steps == len(record.attempts) == 4  # RoCo's optimal cabinet horizon
    assert record.replans == 1.0
    summary = summarize([record])
    assert summary.success == 1.0
    assert summary.steps == 4
    assert summary.unparseable == 0


async def test_a_reply_that_is_no_plan_counts_as_unparseable_and_is_fed_back() -> None:
    env = make_env("sort", seed=0)
    engine = ScriptedEngine(["garbage", "more garbage", lambda r: oracle_json(env)])
    record = await run_episode(env, CentralPlanner(engine), EpisodeOptions(max_steps=1))
    assert record.unparseable == 1
    assert record.attempts == [2]
    assert "No plan was given" in engine.calls[2].messages[-1]["content"]


def _dialog_script(env: Any) -> Any:
    """Everyone proceeds until an EXECUTE would count; then the oracle's plan."""

    def reply(request: Request) -> dict[str, Any]:
        if "execute" in offered(schema_of(request)):
            return {"type": "execute", "text": "agreed", "plan": oracle_json(env)}
        return {"type": "proceed", "text": f"{request.agent} is ready"}

    return reply


@pytest.mark.parametrize("history", [True, False])
async def test_history_on_shows_earlier_rounds_and_off_hides_them(history: bool) -> None:
    env = make_env("sort", seed=0)
    engine = ScriptedEngine([_dialog_script(env)] * 6)
    options = EpisodeOptions(history=history, max_steps=2)
    record = await run_episode(env, DialogPlanner(engine), options)
    assert record.steps == 2
    assert record.attempts == [1, 1]
    step_two_alice = engine.calls[3]
    assert step_two_alice.agent == "dialog:Alice"
    prompt = step_two_alice.messages[-1]["content"]
    assert ("[History]" in prompt) is history
    assert ("dialog:Alice is ready" in prompt) is history
    assert ("[Executed Action]" in prompt) is history


def test_bad_options_and_modes_are_refused_with_a_clear_error() -> None:
    with pytest.raises(BadOptions, match="attempts"):
        EpisodeOptions(attempts=0)
    with pytest.raises(BadOptions, match="max_steps"):
        EpisodeOptions(max_steps=0)
    with pytest.raises(UnknownMode, match="central, dialog, ioa, dialectic, oracle, random"):
        make_planner("telepathy", None)
    with pytest.raises(BadOptions, match="engine"):
        make_planner("dialog", None)
    with pytest.raises(BadOptions, match="hub"):
        make_planner("ioa", ScriptedEngine([]))
    with pytest.raises(BadOptions, match="decoding"):
        ModeSettings(decoding="telepathy")  # type: ignore[arg-type]
