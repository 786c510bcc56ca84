"""The modes by name, and one place that builds a planner for a mode."""

from __future__ import annotations

from dataclasses import dataclass

from agents.robots.central import CentralPlanner
from agents.robots.chooser import DECODINGS, Decoding
from agents.robots.dialog import MAX_CALLS, TEXT_MAX, DialogPlanner
from agents.robots.errors import BadOptions, UnknownMode
from agents.robots.ioa_mode import IOA_TURNS, IoAPlanner
from agents.robots.options import PRIORS, Prior
from agents.robots.planner import OraclePlanner, Planner
from agents.robots.random_mode import RandomPlanner
from ioa.llm import Engine
from protocols import ModelFacts

MODES = ("central", "dialog", "ioa", "dialectic", "oracle", "random")
"""Central Plan, RoCo Dialog, IoA (robots as hub agents negotiating checked plans), RoCo's
dialectic through the hub, the scripted oracle, the random-legal baseline."""
MODEL_FREE = frozenset({"oracle", "random"})
HUB_MODES = frozenset({"ioa", "dialectic"})


@dataclass(frozen=True)
class ModeSettings:
    max_calls: int = MAX_CALLS
    """Dialog: calls per dialog; IoA: turns per group."""
    text_max: int = TEXT_MAX
    """Longest utterance in characters."""
    temperature: float = 0.0
    """RoCo ran its models at temperature 0."""
    hub_turns: int = IOA_TURNS
    """IoA and dialectic: turns per group (checks included)."""
    decoding: Decoding = "score"
    """IoA and dialectic: how a robot picks its action among its legal ones."""
    prior: Prior = "best"
    """IoA and dialectic: what the effect grades leave the model to choose among (`best`: only
    the best-graded options; `safe`: all but those that move away from the goal; `none`: all,
    each shown with its effect)."""
    random_prior: Prior = "none"
    """The random baseline's: `none` is the random legal-action agent; set it to the model's
    `prior` for a row that differs from the model's only in who chooses."""
    seed: int = 0
    """The random-legal baseline's seed (beside the scene's)."""

    def __post_init__(self) -> None:
        if min(self.max_calls, self.text_max, self.hub_turns) < 1 or self.temperature < 0:
            raise BadOptions(
                "max_calls, text_max and hub_turns must be positive, temperature not negative"
            )
        if self.decoding not in DECODINGS:
            raise BadOptions(f"decoding must be one of {', '.join(DECODINGS)}")
        if self.prior not in PRIORS or self.random_prior not in PRIORS:
            raise BadOptions(f"prior and random_prior must be one of {', '.join(PRIORS)}")


def make_planner(
    mode: str,
    engine: Engine | None,
    settings: ModeSettings | None = None,
    *,
    hub_url: str | None = None,
    model: ModelFacts | None = None,
) -> Planner:
    """A planner for `mode`; the model modes need `engine`, IoA also `hub_url`."""
    settings = settings or ModeSettings()
    if mode not in MODES:
        raise UnknownMode(f"no mode {mode!r}; the modes are {', '.join(MODES)}")
    if mode == "oracle":
        return OraclePlanner()
    if mode == "random":
        return RandomPlanner(settings.seed, settings.random_prior)
    if engine is None:
        raise BadOptions(f"mode {mode} needs a model engine")
    if mode == "central":
        return CentralPlanner(engine, temperature=settings.temperature)
    if mode == "dialog":
        return DialogPlanner(
            engine,
            max_calls=settings.max_calls,
            text_max=settings.text_max,
            temperature=settings.temperature,
        )
    if hub_url is None:
        raise BadOptions(f"the {mode} mode needs a hub (hub_url)")
    return IoAPlanner(
        engine,
        hub_url,
        protocol=mode,
        max_turns=settings.hub_turns,
        decoding=settings.decoding,
        prior=settings.prior,
        model=model,
    )
