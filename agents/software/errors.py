"""Errors of the software company: one root, a stable code and a default message each."""

from __future__ import annotations

from ioa.errors import IoAError


class CompanyError(IoAError):
    """Base of every error the software company raises."""

    code = "company_error"
    default_message = "the software company failed"


class ConfigError(CompanyError):
    """The company configuration (chain, phases, roles, prompts) is not valid."""

    code = "company_config"
    default_message = "the company configuration is not valid"


class RunNotFound(CompanyError):
    """No run folder by that name or path."""

    code = "run_not_found"
    default_message = "no such run"


class RunBroken(CompanyError):
    """A run folder exists but lacks what a resume or replay needs."""

    code = "run_broken"
    default_message = "the run folder is incomplete"


class PhaseFailed(CompanyError):
    """A phase conversation could not be carried out on the hub."""

    code = "phase_failed"
    default_message = "a phase conversation failed"
