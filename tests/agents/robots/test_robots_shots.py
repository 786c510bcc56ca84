"""Worked examples in the chooser's prompt: generated from the environment on dev seeds only.

The demonstrations are checked against the environment (replayed, re-graded) and against the
benchmark's seeds; the `*-shots` decoders run on a tiny generated MiniCPM GGUF through the real
engine and a real hub, and on the bundled SmolLM2-135M for one decision the examples should fix.
"""

from __future__ import annotations

import pytest

from agents.robots import ModeSettings
from agents.robots.chooser import ActionChooser, Decoding
from agents.robots.demonstrations import DEMO_SEEDS, demonstrations, label, oracle_walk
from agents.robots.errors import BadOptions
from agents.robots.options import action_options
from environments.rocobench import make_env
from environments.rocobench.effects import Effect, effect
from ioa.hub import Hub
from ioa.llm import LlamaCppEngine, ScriptedEngine
from tests.agents.robots.kit import one_ioa_step

BENCHMARK_SEEDS = range(0, 5)
"""`ioa bench roco --runs 5` (seed 0 + k)."""
DEV_EVAL_SEEDS = (110, 111, 112)
"""`benchmarks/roco_decisions.py`."""
SYMBOLIC = ("sort", "cabinet", "sweep", "sandwich")


@pytest.mark.parametrize("task", [*SYMBOLIC, "pack", "rope"])
def test_demonstrations_come_only_from_dev_seeds_and_are_balanced(task: str) -> None:
    shots = demonstrations(task, 8)
    assert 4 <= len(shots) <= 8
    seeds = {s.seed for s in shots}
    assert seeds <= set(DEMO_SEEDS)
    assert not seeds & set(BENCHMARK_SEEDS)
    assert not set(DEMO_SEEDS) & (set(BENCHMARK_SEEDS) | set(DEV_EVAL_SEEDS))
    yes = sum(s.answer == "Yes" for s in shots)
    assert abs(yes - (len(shots) - yes)) <= 1
    assert len({s.effect for s in shots}) == len(shots)  # distinct phrasings
    assert demonstrations(task, 8) == shots  # deterministic


@pytest.mark.parametrize("task", SYMBOLIC)
def test_every_example_is_labelled_by_the_environment_where_it_was_drawn(task: str) -> None:
    for shot in demonstrations(task, 8):
        walk = oracle_walk(task, shot.seed)
        env, plan = next((e, p) for e, p in walk if e.steps == shot.step)
        partners = {a.robot: a for a in plan.actions if a.robot != shot.robot}
        graded = {a.text: (a, effect(env, a, partners)) for a in action_options(env, shot.robot)}
        action, eff = graded[shot.action]
        best = max(e.value for _, e in graded.values())
        assert eff.text == shot.effect
        assert label(eff, best, action.form == "WAIT") == shot.answer


def test_demonstrations_refuse_benchmark_seeds() -> None:
    with pytest.raises(BadOptions):
        demonstrations("sort", 4, seeds=(0, 100))


@pytest.mark.parametrize(
    ("value", "best", "idle", "expected"),
    [
        (3.0, 3.0, False, "Yes"),
        (1.0, 1.0, True, "Yes"),  # holding a door open is the best there is
        (-2.0, 3.0, False, "No"),
        (-2.0, 0.0, False, "No"),  # takes a sorted cube off while waiting was possible
        (0.0, 3.0, True, "No"),  # idles while progress was possible
        (1.0, 3.0, True, "No"),  # holds the next item instead of stacking it
        (1.0, 3.0, False, None),  # a step, but not the best one
        (0.0, 0.0, True, None),  # nothing makes progress
        (-1.0, -1.0, False, None),
    ],
)
def test_labels_follow_the_grades(value: float, best: float, idle: bool, expected: str) -> None:
    assert label(Effect("x", value), best, idle) == expected


@pytest.mark.parametrize("style", ["inline", "turns", "system"])
async def test_the_judge_with_shots_asks_once_per_option_after_the_examples(
    engine: LlamaCppEngine, style: str
) -> None:
    env = make_env("sandwich", seed=0)
    chooser = ActionChooser(
        engine, env, "Chad", decoding="judge-shots", prior="none", shot_style=style
    )
    lead = "\n".join(m["content"] for m in chooser.judge_lead())
    assert chooser.shots
    assert all(s.effect in lead for s in chooser.shots)
    options = action_options(env, "Chad")
    before = engine.stats("robot:Chad").calls
    chosen = await chooser.choose("Chad", options, "Task sandwich, round 1.")
    assert chosen.calls == len(options) == engine.stats("robot:Chad").calls - before
    assert chosen.action in options


async def test_score_with_shots_lists_the_examples_and_scores_once(
    engine: LlamaCppEngine,
) -> None:
    env = make_env("sort", seed=0)
    chooser = ActionChooser(engine, env, "Bob", decoding="score-shots", prior="none")
    options = action_options(env, "Bob")
    effects = {a.text: effect(env, a) for a in options}
    system = chooser.messages("Bob", "Task sort, round 1.", effects)[0]["content"]
    assert all(s.effect in system for s in chooser.shots)
    chosen = await chooser.choose("Bob", options, "Task sort, round 1.")
    assert chosen.calls == 1
    assert chosen.action in options


@pytest.mark.parametrize("decoding", ["judge-shots", "score-shots"])
async def test_garbage_from_the_model_never_stops_the_shots_decoders(decoding: Decoding) -> None:
    env = make_env("cabinet", seed=0)
    chooser = ActionChooser(ScriptedEngine({}), env, "Alice", decoding=decoding, prior="none")
    options = action_options(env, "Alice")
    chosen = await chooser.choose("Alice", options, "Task cabinet, round 1.")
    assert chosen.action in options


@pytest.mark.parametrize(("task", "decoding"), [("sweep", "judge-shots"), ("sort", "score-shots")])
async def test_the_ioa_mode_runs_with_shots_through_a_hub(
    hub: Hub, engine: LlamaCppEngine, task: str, decoding: Decoding
) -> None:
    settings = ModeSettings(max_calls=3, text_max=24, decoding=decoding, prior="none")
    record = await one_ioa_step(hub.url, engine, task, settings)
    assert record.calls > 0


@pytest.mark.llama
async def test_with_shots_the_bundled_model_stacks_the_next_item_instead_of_holding_it(
    smollm: LlamaCppEngine,
) -> None:
    """Sandwich, dev seed 110: the cook holding the next recipe item; plain `judge` held it."""
    env, plan, holder = next(
        (env, plan, robot)
        for env, plan in oracle_walk("sandwich", 110)
        for robot, gripper in env.grippers.items()
        if gripper.holding == env.recipe[len(env.stack)]
    )
    options = action_options(env, holder)
    partners = {a.robot: a for a in plan.actions if a.robot != holder}
    chooser = ActionChooser(smollm, env, holder, decoding="judge-shots", prior="none")
    chosen = await chooser.choose(holder, options, "Task sandwich.", partners=partners)
    assert chosen.action.form == "PUT", [a.text for a in options]
