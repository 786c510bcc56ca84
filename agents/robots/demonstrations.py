"""Worked examples for the chooser's prompt (Move / Effect / Yes or No), graded by the environment.

A 135M model copies examples far better than it follows instructions, so the `*-shots` decoders
(`chooser`) put a few demonstrations of the task's own effect phrasings in the robot's prompt
before the question: they sit in the cached KV prefix, so each robot prefills them once.

Where the examples come from, for honesty: they are **generated, never hand-written**. For each
development seed in `DEMO_SEEDS` (100–109) the task's scripted oracle is replayed; at every step,
every robot's legal options (`options.action_options`) are described by `effects.effect` beside the
oracle's lines for its teammates and labelled by the environment's grade alone:

- `Yes`: an option of the best grade at that decision, when that grade is progress;
- `No`: an option that moves away from the goal or undoes a done part (grade < 0) while a better
  option existed, or that idles (grade 0, or a WAIT) while progress was possible.

Only phrasings the pool labels consistently become examples: a `No` phrasing must never be the
best option of any pool decision, a `Yes` phrasing never a `No`. "does nothing this round" is
wrong in one decision and the best there is in another, which one example cannot show; as a `No`
example the 135M model copied it into every decision and ranked a WAIT below moving a sorted cube
off its bin (dev seed 110).

Anything in between (a step toward the goal when a better one exists) is left out. From that pool a
fixed number of examples is drawn, alternately Yes and No, covering the distinct phrasings of the
task's effects (object and robot names removed), the most frequent phrasings first, each by its
first occurrence in seed order.
The result is deterministic and depends only on the task. The benchmark runs seeds 0–4 and the
dev-decision evaluation (`benchmarks/roco_decisions.py`) seeds 110–112: both are disjoint from
`DEMO_SEEDS`, and `demonstrations` refuses any seed outside it.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from agents.robots.errors import BadOptions
from agents.robots.options import action_options
from environments.rocobench import ORACLES, Plan, RocoEnv, make_env
from environments.rocobench.effects import IDLE, Effect, effect

__all__ = [
    "DEMO_SEEDS",
    "Shot",
    "demonstrations",
    "label",
    "oracle_walk",
    "phrasing",
]

DEMO_SEEDS: tuple[int, ...] = tuple(range(100, 110))
"""The only scene seeds demonstrations come from (benchmark seeds: 0–4; dev-eval: 110–112)."""

Answer = Literal["Yes", "No"]
ANSWERS: tuple[Answer, Answer] = ("Yes", "No")


@dataclass(frozen=True)
class Shot:
    """One labelled example: a move, its effect, and whether it helps."""

    robot: str
    action: str
    effect: str
    answer: Answer
    seed: int
    """The dev scene it was drawn from (always in `DEMO_SEEDS`)."""
    step: int


def oracle_walk(task: str, seed: int) -> Iterator[tuple[RocoEnv, Plan]]:
    """The oracle's trajectory: each state (before its step) with the oracle's plan for it."""
    env = make_env(task, seed=seed)
    solver = ORACLES[task]
    while not env.done:
        plan = solver(env)
        yield env, plan
        env.step(plan)


def label(option: Effect, best: float, idle: bool) -> Answer | None:
    """The environment's verdict on one option at a decision whose best grade is `best`
    (`idle`: the option is a WAIT); None when it is neither clearly good nor clearly bad."""
    if option.value < min(best, IDLE):
        return "No"  # moves away from the goal while something better was possible
    if best <= IDLE:
        return None  # nothing makes progress here: idling is not wrong, nor is it help
    if option.value >= best:
        return "Yes"
    if option.value <= IDLE or idle:
        return "No"  # idles while progress was possible
    return None


def phrasing(text: str, names: frozenset[str]) -> str:
    """An effect's wording without its names (`puts on its bin : done`), to tell phrasings apart."""
    words = re.findall(r"[A-Za-z_0-9']+|[^\sA-Za-z_0-9']", text)
    return " ".join(w for w in words if w.split("'")[0] not in names and not re.search(r"\d", w))


def demonstrations(task: str, n: int, seeds: tuple[int, ...] = DEMO_SEEDS) -> tuple[Shot, ...]:
    """`n` examples for `task` (about half Yes, half No), deterministic; only from `DEMO_SEEDS`."""
    foreign = [s for s in seeds if s not in DEMO_SEEDS]
    if foreign:
        raise BadOptions(f"demonstrations come only from dev seeds {DEMO_SEEDS}, not {foreign}")
    return _demonstrations(task, n, tuple(seeds))


@functools.cache
def _demonstrations(task: str, n: int, seeds: tuple[int, ...]) -> tuple[Shot, ...]:
    firsts: dict[Answer, dict[str, Shot]] = {"Yes": {}, "No": {}}
    counts: Counter[tuple[Answer, str]] = Counter()
    seen_best: set[str] = set()
    for seed in seeds:
        for env, plan in oracle_walk(task, seed):
            names = _names(env)
            lines = {a.robot: a for a in plan.actions}
            for robot in env.robots:
                options = action_options(env, robot)
                partners = {r: a for r, a in lines.items() if r != robot}
                graded = [(a, effect(env, a, partners)) for a in options]
                best = max((e.value for _, e in graded), default=IDLE)
                for action, eff in graded:
                    answer = label(eff, best, action.form == "WAIT")
                    key = phrasing(eff.text, names)
                    if eff.value >= best:
                        seen_best.add(key)
                    if answer is None:
                        continue
                    counts[answer, key] += 1
                    if key not in firsts[answer]:
                        firsts[answer][key] = Shot(
                            robot, action.text, eff.text, answer, seed, env.steps
                        )
    consistent = {
        "Yes": [k for k in firsts["Yes"] if ("No", k) not in counts],
        "No": [k for k in firsts["No"] if k not in seen_best],
    }
    yes, no = (
        [firsts[a][k] for k in sorted(consistent[a], key=lambda k: -counts[a, k])] for a in ANSWERS
    )
    mixed = [s for pair in itertools.zip_longest(yes, no) for s in pair if s is not None]
    return tuple(mixed[: min(n, 2 * min(len(yes), len(no)) + 1)])  # balanced within one


def _names(env: RocoEnv) -> frozenset[str]:
    """The task's robot and object names (every value an action slot can take)."""
    values = {v for form in env.grammar.forms for vs in form.vocab.values() for v in vs}
    return frozenset(values | set(env.robots))
