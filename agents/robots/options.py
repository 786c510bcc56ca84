"""A robot's legal actions as a finite list, and the paths that complete a joint plan.

`env.legal_options(robot)` names the forms a robot may use now with the names each slot may take;
here they become concrete actions (`PICK blue_square PLACE panel3`, `WAIT`), the finite list a
model scores (`Engine.choose`) or a baseline draws from. The team protocol refuses one more kind of
move than the environment does: a pointless one, that changes nothing or undoes the robot's own
pick (`effects.effect(...).pointless`: the dustpan "moved" to the cube it is at, food picked and
put straight back) — for the model modes and the random-legal baseline alike.

`by_prior` is what the framework leaves of that list before anyone chooses, at one of three
levels (`Prior`): `best` keeps only the options the environment's effect grades best (the effect
prior: often one, so the model is rarely asked), `safe` refuses the options it grades as moving
away from the goal or blocked (an objection the environment can state: "takes pink_polygon off
its bin"), and keeps progress, holding and idling for the chooser to tell apart; `none` keeps
everything. The random baseline can draw under any level too (`ModeSettings.random_prior`;
`none` by default, the random legal-action agent): at the model's level, the two rows differ only
in who chooses.

In path mode (Pack, Rope) an action also needs four waypoints: `complete_plan` fills them with a
small motion helper, the same for every mode that uses it, trying evenly spaced straight and arc
paths at a few heights and keeping the first that the environment's geometry accepts (RoCo used
an RRT motion planner after the LLM's waypoints; the helper stands in for that planner,
not for the model's choice of actions).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Literal

from environments.rocobench import Action, Plan, RocoEnv
from environments.rocobench.effects import IDLE, Effect, effect
from environments.rocobench.oracles import HEIGHTS, PATHS, ROPE_HEIGHTS
from environments.rocobench.plan import make_action

__all__ = ["PRIORS", "Prior", "action_options", "by_prior", "complete_plan", "plan_from_texts"]

Prior = Literal["best", "safe", "none"]
PRIORS: tuple[Prior, ...] = ("best", "safe", "none")


def action_options(env: RocoEnv, robot: str) -> list[Action]:
    """Every concrete legal, not pointless action of `robot` now (no path yet), in the
    environment's order."""
    out: list[Action] = []
    for option in env.legal_options(robot):
        form = env.grammar.form(option.form)
        slots = form.slots
        for values in itertools.product(*(option.choices.get(s, ()) for s in slots)):
            action = make_action(
                env.grammar, robot, form.name, dict(zip(slots, values, strict=True))
            )
            if not effect(env, action).pointless:
                out.append(action)
    return out


def by_prior(actions: list[Action], effects: Mapping[str, Effect], prior: Prior) -> list[Action]:
    """What `prior` leaves of `actions` (`effects`: each action's, by its text); never nothing."""
    if prior == "none" or not actions:
        return actions
    if prior == "best":
        top = max(effects[a.text].value for a in actions)
        return [a for a in actions if effects[a.text].value >= top]
    return [a for a in actions if effects[a.text].value >= IDLE] or actions


def complete_plan(env: RocoEnv, actions: Mapping[str, Action]) -> Plan:
    """The joint plan of `actions` (one per robot, in the task's robot order).

    In path mode each action gets waypoints: the first candidate path pair that passes
    `env.check`, or the first candidate when none does (the check then says why).
    """
    bare = Plan(tuple(actions[r] for r in env.robots))
    if not env.path_mode:
        return bare
    first: Plan | None = None
    for plan in _path_candidates(env, bare):
        first = first or plan
        if env.check(plan).passed:
            return plan
    return first or bare


def plan_from_texts(env: RocoEnv, texts: Mapping[str, str]) -> Plan:
    """Parse one action text per robot (`PICK apple PATH [...]`) into a plan; `PlanError` if not."""
    lines = "\n".join(f"NAME {r} ACTION {texts[r]}" for r in env.robots if r in texts)
    return env.parse("EXECUTE\n" + lines)


def _path_candidates(env: RocoEnv, bare: Plan) -> Iterator[Plan]:
    goals = env._goal_segments(bare)
    heights = ROPE_HEIGHTS if env.name == "rope" else HEIGHTS
    same = env.name == "rope"
    pairs = (
        [(h,) * len(env.robots) for h in heights]
        if same
        else list(itertools.product(heights, repeat=len(env.robots)))
    )
    for shape, hs in itertools.product(PATHS, pairs):
        actions = []
        for action, h in zip(bare.actions, hs, strict=True):
            start = env.grippers[action.robot].position
            path = shape(start, goals[action.robot][-1], h)
            actions.append(
                make_action(env.grammar, action.robot, action.form, dict(action.args), path)
            )
        yield Plan(tuple(actions))
