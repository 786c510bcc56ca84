"""Errors of the robot-team layer (modes, runner, benchmark)."""

from __future__ import annotations

from agents.errors import AgentError


class RobotTeamError(AgentError):
    code = "robot_team_error"
    default_message = "the robot team failed"


class UnknownMode(RobotTeamError):
    code = "unknown_mode"
    default_message = "no such robot-team mode"


class BadOptions(RobotTeamError):
    code = "bad_robot_options"
    default_message = "invalid robot-team options"
