"""The random-legal baseline: model-free, deterministic per seed, only legal options."""

from __future__ import annotations

import pytest

from agents.robots import EpisodeOptions, make_planner, run_episode
from agents.robots.options import action_options
from agents.robots.planner import PlanContext
from agents.robots.record import ignore
from environments.rocobench import TASKS, make_env


@pytest.mark.parametrize("task", list(TASKS))
async def test_random_plans_use_only_legal_options(task: str) -> None:
    env = make_env(task, seed=1)
    planner = make_planner("random", None)
    for attempt in range(1, 6):
        ctx = PlanContext(env=env, step=1, attempt=attempt, attempts=5)
        proposal = await planner.propose(ctx, ignore)
        assert proposal.plan is not None
        plan = env.parse(proposal.plan)
        for action in plan.actions:
            assert action.text in {a.text for a in action_options(env, action.robot)}


@pytest.mark.parametrize("task", list(TASKS))
async def test_random_episodes_are_deterministic_per_seed(task: str) -> None:
    records = []
    for _ in range(2):
        env = make_env(task, seed=2)
        record = await run_episode(env, make_planner("random", None), EpisodeOptions())
        records.append(([h.plan for h in env.history], record.success, record.attempts))
    assert records[0] == records[1]
    assert records[0][2]
    assert all(1 <= a <= 5 for a in records[0][2])
