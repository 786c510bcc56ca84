"""Errors of the lab: a bad experiment file, a task set or cell that cannot run."""

from __future__ import annotations

from agents.errors import AgentError


class LabError(AgentError):
    code = "lab_error"
    default_message = "the experiment failed"


class BadExperiment(LabError):
    code = "bad_experiment"
    default_message = "the experiment file is not valid"
