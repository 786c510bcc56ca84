"""The prior levels (`options.by_prior`): what the effect grades leave a chooser, model or random.

`best` keeps the best grade only, `safe` refuses only what moves away from the goal, `none` keeps
everything; the random baseline draws from the same list when told to, and the model's chooser
never picks what the level refused (on real llama.cpp, a tiny generated GGUF, through the hub).
"""

from __future__ import annotations

import pytest

from agents.robots import ModeSettings, make_planner
from agents.robots.chooser import ActionChooser
from agents.robots.errors import BadOptions
from agents.robots.options import PRIORS, action_options, by_prior
from agents.robots.planner import PlanContext
from agents.robots.record import ignore
from environments.rocobench import make_env
from environments.rocobench.effects import AWAY, IDLE, effect
from ioa.hub import Hub
from ioa.llm import LlamaCppEngine
from tests.agents.robots.kit import one_ioa_step


def graded(task: str, robot: str, seed: int = 0) -> tuple[list, dict]:
    env = make_env(task, seed=seed)
    options = action_options(env, robot)
    return options, {a.text: effect(env, a) for a in options}


@pytest.mark.parametrize(("task", "robot"), [("sandwich", "Dave"), ("cabinet", "Alice")])
def test_each_level_keeps_what_it_says(task: str, robot: str) -> None:
    options, effects = graded(task, robot)
    values = {a.text: effects[a.text].value for a in options}
    assert min(values.values()) <= AWAY < IDLE < max(values.values())  # a state worth testing
    assert by_prior(options, effects, "none") == options
    safe = by_prior(options, effects, "safe")
    assert safe == [a for a in options if values[a.text] >= IDLE]  # the order is kept
    assert any(values[a.text] == IDLE for a in safe)  # idling stays for the chooser to refuse
    best = by_prior(options, effects, "best")
    assert {values[a.text] for a in best} == {max(values.values())}


def test_safe_never_leaves_nothing() -> None:
    options, effects = graded("cabinet", "Chad")
    away = [a for a in options if effects[a.text].value < IDLE]
    assert away
    assert by_prior(away, effects, "safe") == away
    assert by_prior([], effects, "best") == []


async def test_random_draws_from_what_its_prior_leaves() -> None:
    seen: dict[str, set[float]] = {"none": set(), "safe": set()}
    for level in seen:
        planner = make_planner("random", None, ModeSettings(random_prior=level))
        for seed in range(6):
            env = make_env("sandwich", seed=seed)
            for attempt in range(1, 6):
                ctx = PlanContext(env=env, step=1, attempt=attempt, attempts=5)
                proposal = await planner.propose(ctx, ignore)
                assert proposal.plan is not None
                seen[level] |= {effect(env, a).value for a in env.parse(proposal.plan).actions}
    assert min(seen["none"]) < IDLE  # drawn from everything, moving away included
    assert min(seen["safe"]) >= IDLE


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(BadOptions, match="prior"):
        ModeSettings(prior="always")  # type: ignore[arg-type]
    with pytest.raises(BadOptions, match="prior"):
        ModeSettings(random_prior="")  # type: ignore[arg-type]
    assert set(PRIORS) == {"best", "safe", "none"}


@pytest.mark.llama
async def test_the_model_never_chooses_what_safe_refused(engine: LlamaCppEngine) -> None:
    options, effects = graded("cabinet", "Alice")
    env = make_env("cabinet", seed=0)
    for decoding in ("score", "judge"):
        chooser = ActionChooser(engine, env, "Alice", decoding=decoding, prior="safe")
        chosen = await chooser.choose("Alice", options, "Task cabinet, round 1.")
        assert effects[chosen.action.text].value >= IDLE
        left = [a for a in options if effects[a.text].value >= IDLE]
        assert chosen.calls == (1 if decoding == "score" else len(left))  # the model was asked


@pytest.mark.llama
async def test_an_ioa_episode_under_safe_runs_through_the_hub(
    hub: Hub, engine: LlamaCppEngine
) -> None:
    settings = ModeSettings(max_calls=3, text_max=24, prior="safe")
    record = await one_ioa_step(hub.url, engine, "sandwich", settings)
    assert record.scored_tokens > 0  # more than one option was left: the model chose
