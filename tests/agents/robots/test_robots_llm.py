"""Every mode on real llama.cpp with a tiny generated MiniCPM GGUF (noise weights).

The model's words are noise, but every plan it proposes must parse: the grammars allow nothing
else. Episodes are capped small so the suite stays fast on two cores.
"""

from __future__ import annotations

import pytest

from agents.robots import EpisodeOptions, IoAPlanner, ModeSettings, make_planner, run_episode
from environments.rocobench import TASKS, make_env
from ioa.hub import Hub
from ioa.llm import LlamaCppEngine

pytestmark = pytest.mark.llama

OPTIONS = EpisodeOptions(attempts=2, max_steps=1)
SETTINGS = ModeSettings(max_calls=3, text_max=24)
ALL_OPTIONS = ModeSettings(max_calls=3, text_max=24, prior="none")
"""The model chooses among every legal option (the effect prior may leave only one)."""


@pytest.mark.parametrize("mode", ["central", "dialog"])
@pytest.mark.parametrize("task", list(TASKS))
async def test_model_modes_propose_only_parseable_plans(
    engine: LlamaCppEngine, mode: str, task: str
) -> None:
    env = make_env(task, seed=0)
    record = await run_episode(env, make_planner(mode, engine, SETTINGS), OPTIONS)
    plans = [e for e in record.events if e.kind == "plan"]
    assert plans
    assert all(e.data["parsed"] for e in plans)
    assert record.unparseable == 0
    assert record.steps == 1
    assert record.calls >= len(plans)
    assert record.completion_tokens > 0


@pytest.mark.parametrize("task", list(TASKS))
async def test_the_ioa_mode_runs_on_the_local_model_through_a_hub(
    hub: Hub, engine: LlamaCppEngine, task: str
) -> None:
    env = make_env(task, seed=0)
    planner = make_planner("ioa", engine, ALL_OPTIONS, hub_url=hub.url)
    assert isinstance(planner, IoAPlanner)
    record = await run_episode(env, planner, OPTIONS)
    assert planner.rejections == 0  # every move of the team was legal: no refused frame
    assert record.unparseable == record.rejected == 0
    assert record.steps == 1
    assert record.checks >= 1
    assert record.scored_tokens > 0  # actions were chosen by likelihood on the real model
    conclusions = [e for e in record.events if e.kind == "say" and e.data["type"] == "conclusion"]
    assert len(conclusions) == record.attempts[0] == len(planner.groups)  # a group per attempt
    executed = [e for e in record.events if e.kind == "plan" and e.data["executed"]]
    if executed:  # a concluded plan had passed the check, so the environment took it
        assert conclusions[-1].data["plan"] == executed[0].text


@pytest.mark.parametrize("task", ["cabinet", "sandwich"])
async def test_the_dialectic_mode_runs_on_the_local_model_through_a_hub(
    hub: Hub, engine: LlamaCppEngine, task: str
) -> None:
    env = make_env(task, seed=0)
    planner = make_planner("dialectic", engine, SETTINGS, hub_url=hub.url)
    assert isinstance(planner, IoAPlanner)
    record = await run_episode(env, planner, OPTIONS)
    assert planner.rejections == 0
    assert record.unparseable == record.rejected == 0
    kinds = {e.data["type"] for e in record.events if e.kind == "say"}
    assert {"proceed", "execute", "check_result"} <= kinds
