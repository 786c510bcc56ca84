"""The environment API: tasks, robots and their exact reach boxes, budgets, seeds and views."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from environments.rocobench import (
    ORACLES,
    TASKS,
    UnknownRobotName,
    UnknownTask,
    make_env,
    run_oracle,
)
from environments.rocobench.robots import ROBOT_MODELS

ROOT = Path(__file__).resolve().parents[3]

REACH = {
    "sort": {
        "Alice": ((-1.4, -0.1), (0.1, 1.3), (0.16, 1)),
        "Bob": ((-0.7, 0.7), (-0.21, 1.3), (0.16, 1)),
        "Chad": ((0.2, 1.5), (0.1, 1.3), (0.16, 1)),
    },
    "cabinet": {
        "Alice": ((-1.3, 1.6), (-0.4, 1.5), (0.16, 1)),
        "Bob": ((-1.4, 1.4), (0, 1.5), (0.16, 1)),
        "Chad": ((-1.4, 1.6), (0, 1.5), (0.16, 1)),
    },
    "sweep": {"Alice": ((-1.3, 1.6), (-0.4, 1.5), (0, 1)), "Bob": ((-1.3, 1.6), (0, 1.5), (0, 1))},
    "pack": {"Alice": ((-1.3, 1.6), (-0.4, 1.5), (0, 1)), "Bob": ((-1.3, 1.6), (0, 1.5), (0, 1))},
    "rope": {"Alice": ((-1.4, 1.6), (-0.4, 1.5), (0, 1)), "Bob": ((-1.3, 1.6), (0, 1.5), (0, 1))},
    "sandwich": {
        "Chad": ((-0.1, 1.3), (-0.2, 0.7), (0.16, 1)),
        "Dave": ((-1.4, 0.1), (0.3, 1.5), (0.16, 1)),
    },
}
BASES = {
    "sort": {"Alice": (-0.7, 1.05), "Bob": (0.0, -0.05), "Chad": (0.9, 1.05)},
    "cabinet": {"Alice": (-0.1, -0.2), "Bob": (-0.7, 1.3), "Chad": (0.6, 1.1)},
    "sweep": {"Alice": (-0.2, -0.2), "Bob": (0.6, 1.02)},
    "pack": {"Alice": (-0.2, -0.07), "Bob": (-0.2, 1.05)},
    "rope": {"Alice": (-0.4, -0.2), "Bob": (-0.5, 1.1)},
    "sandwich": {"Chad": (-0.1, -0.2), "Dave": (0.2, 1.06)},
}


@pytest.mark.parametrize("task", TASKS)
def test_robots_reach_boxes_and_bases_are_roco_s(task: str) -> None:
    env = make_env(task, 0)
    assert env.robots == tuple(REACH[task])
    for robot, (x, y, z) in REACH[task].items():
        spec = env.specs[robot]
        assert (spec.reach.lo, spec.reach.hi) == ((x[0], y[0], z[0]), (x[1], y[1], z[1]))
        assert spec.base == BASES[task][robot]
        assert spec.model == ROBOT_MODELS[robot]
        assert spec.reaches(spec.home)
        assert spec.solves(spec.home)


def test_budgets_and_path_mode_follow_roco() -> None:
    assert {t: c.max_steps for t, c in TASKS.items()} == {
        "sort": 10,
        "cabinet": 10,
        "sweep": 10,
        "pack": 10,
        "rope": 5,
        "sandwich": 10,
    }
    assert {t for t in TASKS if make_env(t).path_mode} == {"pack", "rope"}
    assert (TASKS["pack"].evenness_threshold, TASKS["rope"].evenness_threshold) == (0.19, 0.3)
    assert TASKS["rope"].height_band is not None
    assert TASKS["rope"].height_band[1] == 0.55


@pytest.mark.parametrize("task", TASKS)
def test_the_same_seed_gives_the_same_scene_and_texts(task: str) -> None:
    a, b = make_env(task, 3), make_env(task, 3)
    assert a.full_observation() == b.full_observation()
    assert [a.observation(r) for r in a.robots] == [b.observation(r) for r in b.robots]
    run_oracle(a)
    a.reset()
    assert a.full_observation() == b.full_observation()
    assert (a.steps, a.history) == (0, [])


@pytest.mark.parametrize("task", TASKS)
def test_different_seeds_give_different_scenes(task: str) -> None:
    envs = [make_env(task, seed) for seed in range(8)]
    scenes = {repr({k: v for k, v in vars(e).items() if k != "seed"}) for e in envs}
    assert len(scenes) == 8
    texts = {e.full_observation() for e in envs}
    assert len(texts) >= 3


def test_seeds_do_not_depend_on_the_process_hash_seed() -> None:
    code = (
        "from environments.rocobench import make_env; print(make_env('pack', 7).full_observation())"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(h), "PYTHONPATH": str(ROOT)},
        ).stdout
        for h in (1, 2)
    }
    assert len(outs) == 1
    assert "apple" in outs.pop()


def test_unknown_task_and_unknown_robot_raise_typed_errors() -> None:
    with pytest.raises(UnknownTask, match="'stack'"):
        make_env("stack")
    with pytest.raises(UnknownRobotName):
        make_env("sort").observation("Dave")
    with pytest.raises(UnknownRobotName):
        make_env("sandwich").action_schema("Alice")


def test_sort_views_hold_only_the_robots_own_goal_and_reach() -> None:
    env = make_env("sort", 1)
    alice, bob = env.observation("Alice"), env.observation("Bob")
    assert "Your goal is to put blue_square on panel2" in alice
    assert "You can reach only panel1, panel2, panel3" in alice
    assert "pink_polygon on panel4" not in alice
    assert "Your goal is to put pink_polygon on panel4" in bob
    assert "reaches panel5, panel6, panel7" in env.full_observation()


def test_sandwich_views_show_only_the_own_side_and_the_stack() -> None:
    env = make_env("sandwich", 2)
    for robot in env.robots:
        view = env.observation(robot)
        for food, owner in env.owners().items():
            assert (f"{food} is on your side" in view) == (owner == robot)
    full = env.full_observation()
    assert all(food in full for food in env.owners())


def test_sweep_and_cabinet_views_differ_by_role() -> None:
    sweep = make_env("sweep", 0)
    assert "dustpan" in sweep.observation("Alice")
    assert "You hold a broom" in sweep.observation("Bob")
    cabinet = make_env("cabinet", 0)
    assert "You can reach: right_door_handle." in cabinet.observation("Bob")
    assert "You can reach: left_door_handle, mug, cup." in cabinet.observation("Alice")


def test_action_instructions_carry_the_output_contract_and_path_rules() -> None:
    assert "PATH" not in make_env("sort").action_instructions().split("[Action Output")[0]
    text = make_env("rope").action_instructions()
    assert "[Action Output Instruction]" in text
    assert "exactly four waypoints" in text
    for task in TASKS:
        env = make_env(task)
        example = env.action_instructions().split("Example:\n")[1].split("\n[Path")[0]
        assert env.parse(example).robots == env.robots


def test_oracles_are_registered_for_every_task() -> None:
    assert set(ORACLES) == set(TASKS)


def test_the_package_imports_nothing_of_the_runtime() -> None:
    code = (
        "import sys, environments.rocobench; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('ioa', 'agents', 'protocols', 'pydantic', 'numpy', 'llama_cpp')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT)},
    ).stdout
    assert out.strip() == "[]"
