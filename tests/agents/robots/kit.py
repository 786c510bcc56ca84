"""Helpers shared by the robot-team tests: plans as the JSON a model decodes, scripted replies."""

from __future__ import annotations

from typing import Any

from environments.rocobench import ORACLES, Plan, RocoEnv
from ioa.llm.engine import Request


def plan_json(plan: Plan) -> dict[str, Any]:
    """A plan as the JSON instance of `env.plan_schema()` (action-only tasks)."""
    return {a.robot: {"action": a.form, **dict(a.args)} for a in plan.actions}


def oracle_json(env: RocoEnv) -> dict[str, Any]:
    """The oracle's next plan for `env`'s current state, as decoded JSON."""
    return plan_json(ORACLES[env.name](env))


def all_wait(env: RocoEnv) -> dict[str, Any]:
    """A well-formed plan every task's rules reject when nothing is done ("can't all WAIT")."""
    return {robot: {"action": "WAIT"} for robot in env.robots}


def offered(schema: dict[str, Any] | None) -> set[str]:
    """The `type` consts a structured reply under `schema` may use."""
    if schema is None:
        raise AssertionError("the call had no schema")
    return {alt["properties"]["type"]["const"] for alt in schema.get("oneOf", [schema])}


def schema_of(request: Request) -> dict[str, Any] | None:
    return request.schema.schema if request.schema is not None else None
