"""Errors of the agent layer."""

from __future__ import annotations

from ioa.errors import IoAError


class AgentError(IoAError):
    code = "agent_error"
    default_message = "the agent failed"


class TeamFormationFailed(AgentError):
    code = "team_formation_failed"
    default_message = "no team could be formed for the goal"
