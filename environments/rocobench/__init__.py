"""RoCoBench-style robot-team tasks as pure, seeded, symbolic Python.

The six tasks of RoCo (Mandi, Jain, Song 2023; MIT) rebuilt without MuJoCo: RoCo's robots and
exact reach boxes, its action grammars, task rules, success thresholds and step budgets, and its
validation order and feedback shape, over a small symbolic state per task. Each task's module
says what is lost against the simulator. Results are "symbolic RoCoBench-style" and not
numerically comparable to MuJoCo RoCoBench.

    env = make_env("sort", seed=3)
    env.observation("Alice")            # Alice's own, partial view
    result = env.step("EXECUTE\\nNAME Alice ACTION WAIT\\n...")
    result.feedback, result.success, result.done
"""

from __future__ import annotations

from environments.rocobench.base import RocoEnv, StepRecord, StepResult
from environments.rocobench.cabinet import CabinetEnv
from environments.rocobench.errors import (
    BadArguments,
    BadJsonAction,
    BadPath,
    DuplicateRobot,
    EpisodeOver,
    MalformedLine,
    MissingExecute,
    MissingPath,
    MissingRobot,
    PlanError,
    RocoBenchError,
    UnexpectedPath,
    UnknownAction,
    UnknownObject,
    UnknownRobot,
    UnknownRobotName,
    UnknownTask,
    WrongWaypointCount,
)
from environments.rocobench.feedback import Failure, FailureKind, Feedback
from environments.rocobench.oracles import (
    ORACLES,
    OracleStuck,
    run_oracle,
    solve_cabinet,
    solve_pack,
    solve_rope,
    solve_sandwich,
    solve_sort,
    solve_sweep,
)
from environments.rocobench.pack import PackEnv
from environments.rocobench.plan import PATH_WAYPOINTS, Action, Grammar, Plan, parse_plan
from environments.rocobench.rope import RopeEnv
from environments.rocobench.sandwich import SandwichEnv
from environments.rocobench.schema import Option, action_from_json
from environments.rocobench.sort import SortEnv
from environments.rocobench.sweep import SweepEnv

TASKS: dict[str, type[RocoEnv]] = {
    "sort": SortEnv,
    "cabinet": CabinetEnv,
    "sweep": SweepEnv,
    "pack": PackEnv,
    "rope": RopeEnv,
    "sandwich": SandwichEnv,
}
"""Task name (RoCo's `--task` value) → environment class."""


def make_env(name: str, seed: int = 0) -> RocoEnv:
    """A fresh environment for task `name` whose scene is drawn from `seed`."""
    if name not in TASKS:
        raise UnknownTask(f"no task {name!r}; the tasks are {', '.join(TASKS)}")
    return TASKS[name](seed=seed)


def plan_from_json(env: RocoEnv, actions: dict[str, dict[str, object]]) -> str:
    """EXECUTE text from one JSON action per robot (as decoded under `env.action_schema`)."""
    lines = [
        action_from_json(env.grammar, robot, actions.get(robot, {})).line() for robot in env.robots
    ]
    return "EXECUTE\n" + "\n".join(lines)


__all__ = [
    "ORACLES",
    "PATH_WAYPOINTS",
    "TASKS",
    "Action",
    "BadArguments",
    "BadJsonAction",
    "BadPath",
    "CabinetEnv",
    "DuplicateRobot",
    "EpisodeOver",
    "Failure",
    "FailureKind",
    "Feedback",
    "Grammar",
    "MalformedLine",
    "MissingExecute",
    "MissingPath",
    "MissingRobot",
    "Option",
    "OracleStuck",
    "PackEnv",
    "Plan",
    "PlanError",
    "RocoBenchError",
    "RocoEnv",
    "RopeEnv",
    "SandwichEnv",
    "SortEnv",
    "StepRecord",
    "StepResult",
    "SweepEnv",
    "UnexpectedPath",
    "UnknownAction",
    "UnknownObject",
    "UnknownRobot",
    "UnknownRobotName",
    "UnknownTask",
    "WrongWaypointCount",
    "action_from_json",
    "make_env",
    "parse_plan",
    "plan_from_json",
    "run_oracle",
    "solve_cabinet",
    "solve_pack",
    "solve_rope",
    "solve_sandwich",
    "solve_sort",
    "solve_sweep",
]
