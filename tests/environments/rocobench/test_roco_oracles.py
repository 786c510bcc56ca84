"""Every task, as built, is solvable: the scripted oracle succeeds on 20 seeds within budget."""

from __future__ import annotations

import pytest

from environments.rocobench import TASKS, make_env, run_oracle

SEEDS = range(20)
OPTIMAL = {"cabinet": 4, "sweep": 7, "pack": 6, "rope": 2}


@pytest.mark.parametrize("task", TASKS)
def test_the_oracle_solves_twenty_seeds_within_the_step_budget(task: str) -> None:
    steps = []
    for seed in SEEDS:
        env = make_env(task, seed)
        results = run_oracle(env)
        assert env.success(), (task, seed)
        assert results[-1].success
        assert results[-1].done
        assert all(r.valid and r.executed for r in results)
        assert env.steps == len(results) == len(env.history) <= env.max_steps
        steps.append(env.steps)
    assert len(steps) == len(SEEDS)
    if task in OPTIMAL:
        assert set(steps) == {OPTIMAL[task]}
