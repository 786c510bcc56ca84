"""The IoA and dialectic modes end to end through a real hub: robots and an environment checker
as agents, one checked group conversation per plan attempt.

Scripted engines choose actions deterministically (`ScriptedEngine(scorer=...)`); the real
llama.cpp runs live in `test_robots_llm.py`.
"""

from __future__ import annotations

import pytest

from agents.robots import EpisodeOptions, IoAPlanner, ModeSettings, make_planner, run_episode
from agents.robots.planner import Said
from agents.robots.record import EpisodeRecord
from environments.rocobench import ORACLES, RocoEnv, make_env
from ioa.hub import Hub
from ioa.llm import ScriptedEngine
from ioa.llm.engine import Request
from protocols import HUB_SENDER, Conclusion, Envelope


def oracle_scorer(env: RocoEnv) -> ScriptedEngine:
    """Scores each robot's oracle action highest: the talk should converge at once."""

    def score(request: Request, option: str) -> float:
        ask = request.messages[-1]["content"].rsplit("\n", 1)[-1]
        actor = next(r for r in env.robots if r in ask)
        return 0.0 if option == ORACLES[env.name](env)[actor].text else -1.0

    return ScriptedEngine(scorer=score)


def wait_first(request: Request, option: str) -> float:
    """Scores WAIT highest: every first proposal fails the rules ("someone must act")."""
    return 0.0 if option == "WAIT" else -float(len(option))


def says(record: EpisodeRecord, kind: str) -> list[str]:
    return [e.text for e in record.events if e.kind == "say" and e.data.get("type") == kind]


async def test_checked_plans_solve_sort_with_no_wasted_environment_attempt(hub: Hub) -> None:
    env = make_env("sort", seed=0)
    planner = make_planner("ioa", oracle_scorer(env), hub_url=hub.url)
    record = await run_episode(env, planner)
    assert record.success
    assert record.rejected == record.unparseable == record.no_plan == 0
    assert record.attempts == [1] * record.steps
    assert record.checks >= record.steps
    assert says(record, "proposal")
    assert says(record, "check_result")
    assert says(record, "acceptance")
    assert all(p.startswith("EXECUTE\n") for p in planner_plans(record))


async def test_each_robot_chooses_its_own_line_and_the_latest_agreed_plan_is_concluded(
    hub: Hub,
) -> None:
    env = make_env("sweep", seed=0)
    planner = make_planner("ioa", oracle_scorer(env), hub_url=hub.url)
    record = await run_episode(env, planner, EpisodeOptions(max_steps=1, attempts=1))
    proposals = says(record, "proposal")
    assert proposals[0].endswith("; Bob WAIT")  # a draft: Alice speaks for herself only
    assert len(proposals) == 2  # Bob put his own choice in
    plan = next(e.data["plan"] for e in record.events if e.data.get("type") == "conclusion")
    lines = [line.split(" ACTION ", 1) for line in plan.splitlines()[1:]]
    concluded = "; ".join(f"{who.removeprefix('NAME ')} {what}" for who, what in lines)
    assert proposals[-1].split("] ", 1)[1] == concluded  # the latest, not the first, passed plan


async def test_the_checker_reasons_reach_the_robots_and_are_objected_with(hub: Hub) -> None:
    env = make_env("sort", seed=0)
    engine = ScriptedEngine(scorer=wait_first)
    planner = make_planner("ioa", engine, hub_url=hub.url)
    record = await run_episode(env, planner, EpisodeOptions(max_steps=1, attempts=1))
    failed = [t for t in says(record, "check_result") if "failed" in t]
    assert failed
    assert record.checks_failed >= 1
    reasons = [t.split(" failed: ", 1)[1] for t in failed]
    proposals = [p.split("] ", 1)[1] for p in says(record, "proposal")]
    assert len(set(proposals)) == len(proposals) > 1  # a failed plan is amended, not repeated
    objections = says(record, "objection")  # robots a reason does not name quote it
    assert all(any(o.split("] ", 1)[1] in r for r in reasons) for o in objections)
    assert record.rejected == 0  # whatever was concluded had passed the check
    assert record.unparseable == 0


@pytest.mark.parametrize("task", ["cabinet", "sandwich"])
async def test_dialectic_through_the_hub_executes_only_checked_plans(hub: Hub, task: str) -> None:
    env = make_env(task, seed=0)
    planner = make_planner("dialectic", oracle_scorer(env), hub_url=hub.url)
    record = await run_episode(env, planner, EpisodeOptions(max_steps=2))
    assert record.steps == 2 or record.success
    assert says(record, "proceed")
    assert says(record, "execute")
    assert record.rejected == record.unparseable == 0


async def test_no_conclusion_names_an_unchecked_plan(hub: Hub) -> None:
    env = make_env("cabinet", seed=0)
    settings = ModeSettings(hub_turns=1)  # the only move left is to conclude, with no plan
    planner = make_planner("ioa", ScriptedEngine(scorer=wait_first), settings, hub_url=hub.url)
    record = await run_episode(env, planner, EpisodeOptions(max_steps=1, attempts=2))
    assert record.rejected == 0
    assert record.no_plan == 2
    assert env.history[0].plan is None
    assert all("no plan" in text or "No plan" in text for text in says(record, "conclusion"))


def planner_plans(record: EpisodeRecord) -> list[str]:
    return [e.data["plan"] for e in record.events if e.kind == "say" and e.data.get("plan")]


def test_a_conclusion_from_the_hub_is_a_reason_not_a_plan() -> None:
    planner = IoAPlanner(ScriptedEngine({}), "http://127.0.0.1:9")
    reason = "ended by the hub: no member spoke for 3 turns"
    ended = Envelope(group="g", sender=HUB_SENDER, payload=Conclusion(text=reason))
    assert planner._said(ended) == Said("hub", "conclusion", reason, None)
