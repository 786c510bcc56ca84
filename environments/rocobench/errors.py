"""The root of every error the RoCoBench-style environments raise.

A plan that breaks the output contract raises a `PlanError` subclass whose message names exactly
what is wrong, so a dialog runner can hand it back to the model as re-plan feedback. Each class has
a stable `code` (safe to log or put on the wire) and a default message.
"""

from __future__ import annotations


class RocoBenchError(Exception):
    """Base of every error in `environments.rocobench`."""

    code: str = "rocobench_error"
    default_message: str = "the RoCoBench-style environment failed"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class UnknownTask(RocoBenchError):
    code = "unknown_task"
    default_message = "no such task"


class UnknownRobotName(RocoBenchError):
    """A robot name passed to the API (not inside a plan) is not in this task."""

    code = "unknown_robot_name"
    default_message = "no such robot in this task"


class EpisodeOver(RocoBenchError):
    code = "episode_over"
    default_message = "the episode is over; call reset() to start again"


class PlanError(RocoBenchError):
    """A plan text (or JSON action) that does not follow the output contract."""

    code = "plan_error"
    default_message = "the plan does not follow the output format"

    def __init__(self, message: str | None = None, *, robot: str | None = None) -> None:
        super().__init__(message)
        self.robot = robot


class MissingExecute(PlanError):
    code = "missing_execute"
    default_message = "the plan must start with a line holding only EXECUTE"


class MalformedLine(PlanError):
    code = "malformed_line"
    default_message = "a plan line must read NAME <robot> ACTION <action>"


class UnknownRobot(PlanError):
    code = "unknown_robot"
    default_message = "the plan names a robot that is not in this task"


class MissingRobot(PlanError):
    code = "missing_robot"
    default_message = "the plan has no line for a robot"


class DuplicateRobot(PlanError):
    code = "duplicate_robot"
    default_message = "the plan has more than one line for a robot"


class UnknownAction(PlanError):
    code = "unknown_action"
    default_message = "the action is not one of this task's actions"


class BadArguments(PlanError):
    code = "bad_arguments"
    default_message = "the action has the wrong number or kind of arguments"


class UnknownObject(PlanError):
    code = "unknown_object"
    default_message = "the action names an object or target that is not in this task"


class MissingPath(PlanError):
    code = "missing_path"
    default_message = "this task needs a PATH after every action"


class UnexpectedPath(PlanError):
    code = "unexpected_path"
    default_message = "this task takes no PATH"


class BadPath(PlanError):
    code = "bad_path"
    default_message = "a PATH must read [(x, y, z), ...] with numbers"


class WrongWaypointCount(PlanError):
    code = "wrong_waypoint_count"
    default_message = "the PATH has the wrong number of waypoints"


class BadJsonAction(PlanError):
    """A JSON action (from a grammar-constrained model) that does not fit the task's forms."""

    code = "bad_json_action"
    default_message = "the JSON action does not match the action schema"
