"""The task sets an experiment may name (`family[:task]`), built only when an experiment uses
them (the company loads its config, the goals their file)."""

from __future__ import annotations

from collections.abc import Callable

from agents.lab.errors import BadExperiment
from agents.lab.tasksets.base import TaskSet

__all__ = ["FAMILIES", "TaskSet", "taskset"]


def _roco() -> TaskSet:
    from agents.lab.tasksets.roco import RocoTasks

    return RocoTasks()


def _goals() -> TaskSet:
    from agents.lab.tasksets.goals import GoalTasks

    return GoalTasks()


def _tools() -> TaskSet:
    from agents.lab.tasksets.tools import ToolTasks

    return ToolTasks()


def _company() -> TaskSet:
    from agents.lab.tasksets.company import CompanyTasks

    return CompanyTasks()


FAMILIES: dict[str, Callable[[], TaskSet]] = {
    "roco": _roco,
    "goals": _goals,
    "tools": _tools,
    "company": _company,
}
_built: dict[str, TaskSet] = {}


def taskset(family: str) -> TaskSet:
    """The task set named `family` (one instance per process)."""
    if family not in FAMILIES:
        raise BadExperiment(
            f"tasks: no task set {family!r}; choose from {', '.join(sorted(FAMILIES))}"
        )
    if family not in _built:
        _built[family] = FAMILIES[family]()
    return _built[family]
