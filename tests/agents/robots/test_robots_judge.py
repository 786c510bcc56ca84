"""The `judge` decoder on real llama.cpp: one yes/no question per option, and the effects decide.

The mechanics run on a tiny generated MiniCPM GGUF (noise weights); whether the judge reads the
effects is shown on the bundled SmolLM2-135M (a dependency), the model the benchmark runs.
"""

from __future__ import annotations

import math

import pytest

from agents.robots import ModeSettings
from agents.robots.chooser import ActionChooser
from agents.robots.options import action_options
from environments.rocobench import make_env
from environments.rocobench.effects import Effect, effect
from ioa.hub import Hub
from ioa.llm import LlamaCppEngine
from tests.agents.robots.kit import one_ioa_step

pytestmark = pytest.mark.llama

JUDGE = ModeSettings(max_calls=3, text_max=24, decoding="judge", prior="none")


async def test_the_judge_asks_once_per_option_and_takes_the_surest_yes(
    engine: LlamaCppEngine,
) -> None:
    env = make_env("cabinet", seed=0)
    chooser = ActionChooser(engine, env, "Alice", decoding="judge", prior="none")
    options = action_options(env, "Alice")
    assert len({effect(env, a).value for a in options}) > 1  # grades differ: nothing is pruned
    before = engine.stats("robot:Alice")
    chosen = await chooser.choose("Alice", options, "Task cabinet, round 1.")
    after = engine.stats("robot:Alice")
    assert chosen.calls == len(options) == after.calls - before.calls
    assert after.prompt_tokens > before.prompt_tokens
    margins = await chooser.margins("Alice", options, {a.text: effect(env, a) for a in options})
    assert all(math.isfinite(m) for m in margins)
    assert chosen.action == options[margins.index(max(margins))]  # the model is deterministic


async def test_the_calibrated_judge_asks_twice_per_option(engine: LlamaCppEngine) -> None:
    env = make_env("sort", seed=0)
    chooser = ActionChooser(engine, env, "Bob", decoding="judge-calibrated", prior="none")
    options = action_options(env, "Bob")
    before = engine.stats("robot:Bob").calls
    chosen = await chooser.choose("Bob", options, "Task sort, round 1.")
    assert chosen.calls == 2 * len(options) == engine.stats("robot:Bob").calls - before
    assert chosen.action in options


@pytest.mark.parametrize("task", ["sweep", "sandwich"])
async def test_the_ioa_mode_runs_with_the_judge_through_a_hub(
    hub: Hub, engine: LlamaCppEngine, task: str
) -> None:
    record = await one_ioa_step(hub.url, engine, task, JUDGE)
    assert record.calls > 0
    assert record.prompt_tokens > 0


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        (
            "takes the mug out and sets it on mug_coaster: done",
            "puts the mug on the wrong coaster (it belongs on mug_coaster)",
        ),
        ("grasps the handle of the closed left_door (then OPEN it)", "does nothing this round"),
    ],
)
async def test_the_judge_follows_the_effects_not_the_action_text(
    smollm: LlamaCppEngine, good: str, bad: str
) -> None:
    """The same two actions, their effects swapped: the bundled model's choice swaps too."""
    env = make_env("cabinet", seed=0)
    chooser = ActionChooser(smollm, env, "Alice", decoding="judge", prior="none")
    first, second = [a for a in action_options(env, "Alice") if a.form == "PICK_PLACE"][:2]
    for effects, expected in (((good, bad), first), ((bad, good), second)):
        graded = {a.text: Effect(t, 0.0) for a, t in zip((first, second), effects, strict=True)}
        chosen = await chooser.judged("Alice", [first, second], graded)
        assert chosen.action == expected, effects
