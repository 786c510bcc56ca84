"""Helpers shared by the robot-team tests: plans as the JSON a model decodes, scripted replies,
one IoA step through a hub."""

from __future__ import annotations

from typing import Any

from agents.robots import (
    EpisodeOptions,
    EpisodeRecord,
    IoAPlanner,
    ModeSettings,
    make_planner,
    run_episode,
)
from environments.rocobench import ORACLES, Plan, RocoEnv, make_env
from ioa.llm import Engine
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


async def one_ioa_step(
    hub_url: str, engine: Engine, task: str, settings: ModeSettings
) -> EpisodeRecord:
    """One round of `task` (seed 0) in IoA mode through the hub, every move legal and every
    plan parsed; the record, for what a test checks beyond that."""
    planner = make_planner("ioa", engine, settings, hub_url=hub_url)
    assert isinstance(planner, IoAPlanner)
    record = await run_episode(
        make_env(task, seed=0), planner, EpisodeOptions(attempts=2, max_steps=1)
    )
    assert planner.rejections == 0
    assert record.unparseable == record.rejected == 0
    assert record.steps == 1
    return record
