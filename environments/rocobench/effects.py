"""What an action would do, in the environment's own terms: the facts a small model cannot infer.

`effect(env, action, partners)` describes one legal action by its consequence under the task's
rules and physics (the cube lands on its bin, the dustpan joins the broom, the door swings open,
the food goes back on the table) and grades it against the task's visible goal state: `value` > 0
is progress, 0 changes nothing that matters, < 0 moves away from the goal. `pointless` marks an
action that changes nothing at all or undoes the robot's own last action (a protocol may refuse
it). `partners` are the teammates' actions in the plan under discussion, so an action is judged
beside what the others are about to do (join the teammate where it goes, not where it was).

`progress(env)` is the step memory: what is done and what remains, per the task's goal state.

They are written per task from its rules and goal state, as an environment's author would ship
them beside the action grammar; they never look ahead more than one step and never choose (the
scripted oracle is not used): a mode ranks or shows them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from environments.rocobench.base import RocoEnv
from environments.rocobench.cabinet import COASTERS, DOOR_OF, HANDLES, ITEMS, CabinetEnv
from environments.rocobench.pack import PackEnv
from environments.rocobench.plan import Action
from environments.rocobench.rope import RopeEnv
from environments.rocobench.sandwich import SandwichEnv
from environments.rocobench.sort import CUBE_GOALS, PANEL_X, SortEnv
from environments.rocobench.sweep import CUBES as SWEEP_CUBES
from environments.rocobench.sweep import TOOLS, SweepEnv

__all__ = ["Effect", "effect", "progress"]

GOAL, STEP, KEEP, IDLE, AWAY = 3.0, 1.0, 1.0, 0.0, -1.0
"""Grades: reaches a part of the goal state; a step toward it; keeps a needed state (holding a
door, waiting at a cube); changes nothing; moves away from the goal (or is blocked)."""


@dataclass(frozen=True)
class Effect:
    text: str
    """The consequence, one short clause (`puts blue_square on its bin panel2: done`)."""
    value: float
    pointless: bool = False


def effect(env: RocoEnv, action: Action, partners: Mapping[str, Action] | None = None) -> Effect:
    """What `action` would do in `env` now, beside the teammates' `partners` actions."""
    others = {r: a for r, a in (partners or {}).items() if r != action.robot}
    describe = _DESCRIBE.get(type(env))
    if describe is None:
        return Effect("", IDLE)
    return describe(env, action, others)


def progress(env: RocoEnv) -> str:
    """What is done and what remains, per the task's goal state (one or two lines)."""
    state = _PROGRESS.get(type(env))
    return state(env) if state is not None else ""


def _last_action(env: RocoEnv, robot: str) -> Action | None:
    """The robot's action in the latest step (None if that step was skipped)."""
    if not env.history or env.history[-1].plan is None:
        return None
    return env.parse(env.history[-1].plan)[robot]


_BEFORE: WeakKeyDictionary[RocoEnv, tuple[int, RocoEnv]] = WeakKeyDictionary()


def _before_last(env: RocoEnv) -> RocoEnv | None:
    """A replay of `env` up to the step before its latest one (None before any step)."""
    if not env.history:
        return None
    cached = _BEFORE.get(env)
    if cached is not None and cached[0] == len(env.history):
        return cached[1]
    replay = type(env)(env.seed)
    for record in env.history[:-1]:
        if record.plan is None:
            replay.skip_step()
        else:
            replay.step(record.plan)
    _BEFORE[env] = (len(env.history), replay)
    return replay


# ---- sort --------------------------------------------------------------------------------------


def _sort(env: SortEnv, a: Action, others: Mapping[str, Action]) -> Effect:
    if a.form != "PICK_PLACE" or a.object is None or a.target is None:
        return Effect("does nothing this round", IDLE)
    cube, panel = a.object, a.target
    goal, owner = CUBE_GOALS[cube]
    here = env.panel_of(cube)
    last = _last_action(env, a.robot)
    if last is not None and last.object == cube and last.form == "PICK_PLACE":
        before = _before_last(env)
        if isinstance(before, SortEnv) and before.panel_of(cube) == panel:
            return Effect(f"puts {cube} back on {panel}, undoing your last move", AWAY - 1, True)
    clash = next(
        (
            f"but {r} also handles {cube}" if o.object == cube else f"but {r} places on {panel}"
            for r, o in others.items()
            if o.form == "PICK_PLACE" and (o.object == cube or o.target == panel)
        ),
        None,
    )
    blocking = next((c for c, (bin_, _) in CUBE_GOALS.items() if bin_ == here and c != cube), None)
    if panel == goal:
        text, value = f"puts {cube} on its bin {goal}: done", GOAL
    elif here == goal:
        text, value = f"takes {cube} off its bin {goal}", AWAY - 1
    elif _panels_apart(panel, goal) < _panels_apart(here, goal):
        near = panel in env.reachable_panels(owner)
        text = f"hands {cube} on toward its bin {goal} ({owner}'s)"
        text += ", within reach of its bin's robot" if near else ""
        value = STEP + (0.5 if near else 0.0)
    elif blocking is not None:
        text, value = f"clears {here}, the bin of {blocking}", STEP / 2
    else:
        text, value = f"moves {cube} away from its bin {goal}", AWAY
    if clash:
        return Effect(f"{text}, {clash}", min(value, AWAY))
    return Effect(text, value)


def _panels_apart(a: str, b: str) -> int:
    order = list(PANEL_X)
    return abs(order.index(a) - order.index(b))


def _sort_progress(env: SortEnv) -> str:
    parts = []
    for cube, (goal, owner) in CUBE_GOALS.items():
        here = env.panel_of(cube)
        parts.append(
            f"{cube} on its bin {goal} (done)"
            if here == goal
            else f"{cube} on {here}, needs {goal} ({owner}'s bin)"
        )
    return "Goal state: " + "; ".join(parts) + "."


# ---- cabinet -----------------------------------------------------------------------------------


def _cabinet(env: CabinetEnv, a: Action, others: Mapping[str, Action]) -> Effect:
    held = env.grippers[a.robot].holding
    if a.form == "WAIT":
        if held in HANDLES and env.is_open(held):
            return Effect(f"holds the {DOOR_OF[held]} open", KEEP)
        return Effect("does nothing this round", IDLE)
    obj = a.object or ""
    if a.form == "PICK" and obj in HANDLES:
        door = DOOR_OF[obj]
        if env.is_open(obj):
            return Effect(f"grasps the handle of the open {door}", IDLE)
        return Effect(f"grasps the handle of the closed {door} (then OPEN it)", STEP)
    if a.form == "OPEN":
        return Effect(f"swings the {DOOR_OF[obj]} open (then WAIT to hold it)", GOAL - 1)
    if a.form == "PICK_PLACE" and obj in ITEMS:
        own = COASTERS[ITEMS.index(obj)]
        if env.item_on_own_coaster(obj):
            return Effect(f"moves the {obj} off its coaster {own}", AWAY - 1)
        if a.target != own:
            return Effect(f"puts the {obj} on the wrong coaster (it belongs on {own})", AWAY)
        closed = [DOOR_OF[h] for h in HANDLES if not env.is_open(h)]
        if closed and env.inside(obj):
            return Effect(
                f"is blocked: the {' and '.join(closed)} {'is' if len(closed) == 1 else 'are'} "
                "closed",
                AWAY,
            )
        return Effect(f"takes the {obj} out and sets it on {own}: done", GOAL)
    return Effect("does nothing useful", IDLE)


def _cabinet_progress(env: CabinetEnv) -> str:
    doors = [
        f"{DOOR_OF[h]} {'open' if env.is_open(h) else 'closed'}"
        + (f" (held by {env.holder_of(h)})" if env.holder_of(h) else "")
        for h in HANDLES
    ]
    items = [
        f"{i} on {c} (done)" if env.item_on_own_coaster(i) else f"{i} not yet on {c}"
        for i, c in zip(ITEMS, COASTERS, strict=True)
    ]
    return "State: " + "; ".join(doors) + ". Goal: " + "; ".join(items) + "."


# ---- sweep -------------------------------------------------------------------------------------


def _sweep_bound(env: SweepEnv, robot: str, others: Mapping[str, Action]) -> str | None:
    """Where `robot`'s tool will be after this round (a table cube, or None)."""
    planned = others.get(robot)
    if planned is not None and planned.form == "MOVE":
        return planned.target
    if planned is not None and planned.form in ("SWEEP", "DUMP"):
        return None
    here = env.at[robot]
    return here if here is not None and env.on_table(here) else None


def _sweep(env: SweepEnv, a: Action, others: Mapping[str, Action]) -> Effect:
    me = a.robot
    mate = next(r for r in env.robots if r != me)
    tool = TOOLS[me]
    at = env.at[me]
    here = at if at is not None and env.on_table(at) else None
    there = _sweep_bound(env, mate, others)
    if a.form == "MOVE" and a.target is not None:
        cube = a.target
        if cube == here:
            return Effect(f"the {tool} is already at {cube}", IDLE, pointless=True)
        if cube == there:
            return Effect(
                f"brings the {tool} to {cube}, where {mate} is: then Bob can SWEEP it", GOAL - 1
            )
        if here is not None:
            return Effect(f"leaves {here} and brings the {tool} to {cube}", IDLE)
        return Effect(f"brings the {tool} next to {cube}", STEP)
    if a.form == "SWEEP" and a.target is not None:
        return Effect(f"pushes {a.target} into the dustpan", GOAL)
    if a.form == "DUMP":
        n = len(env.dustpan())
        left = sum(env.on_table(c) for c in SWEEP_CUBES)
        if not left:
            return Effect(f"empties the dustpan ({n} cube(s)) into trash_bin: done", GOAL)
        return Effect(
            f"empties {n} cube(s) into trash_bin while {left} remain on the table", STEP / 2
        )
    if here is not None and here == there:
        if env.at[mate] != here:
            return Effect(f"keeps the {tool} at {here}, where {mate} comes", GOAL - 1)
        if me == "Alice":
            return Effect(f"holds the dustpan still at {here} so Bob can SWEEP it", GOAL - 1)
        return Effect(f"stays at {here} with Alice without sweeping", IDLE)
    if here is not None:
        return Effect(f"keeps the {tool} at {here} for {mate} to join", KEEP)
    return Effect("stays where it is", IDLE)


def _sweep_progress(env: SweepEnv) -> str:
    where = {
        s: [c for c in SWEEP_CUBES if env.status[c] == s] for s in ("table", "dustpan", "trash")
    }
    tools = "; ".join(f"{TOOLS[r]} at {env.at[r] or 'no cube'}" for r in env.robots)
    return (
        f"Cubes on the table: {', '.join(where['table']) or 'none'}; in the dustpan: "
        f"{', '.join(where['dustpan']) or 'none'}; in trash_bin (done): "
        f"{', '.join(where['trash']) or 'none'}. Tools: {tools}."
    )


# ---- sandwich ----------------------------------------------------------------------------------


def _sandwich(env: SandwichEnv, a: Action, others: Mapping[str, Action]) -> Effect:
    k = len(env.stack)
    food = a.object or ""
    if a.form == "PICK":
        if food not in env.recipe:
            return Effect(f"takes {food}, which is not in the recipe", AWAY)
        i = env.recipe.index(food)
        if i == k:
            return Effect(f"takes {food}, the next item of the recipe", GOAL - 1)
        return Effect(
            f"takes {food}, recipe item {i + 1} ({i - k} to stack before it)",
            STEP + 1 / (1 + i - k),
        )
    if a.form == "PUT":
        if a.target == "table":
            if food in env.recipe:
                return Effect(f"puts {food} back on the table, undoing the pick", AWAY - 1, True)
            return Effect(f"puts {food} (not in the recipe) back on the table", STEP)
        return Effect(f"stacks {food} on {a.target}: recipe item {k + 1} done", GOAL)
    held = env.grippers[a.robot].holding
    if held is not None and held in env.recipe:
        i = env.recipe.index(held)
        if i <= k:  # nothing left to wait for: the food below it is stacked (or it is the base)
            return Effect(f"holds {held}, the next recipe item, without stacking it", KEEP)
        return Effect(f"holds {held} until {env.recipe[i - 1]} is stacked", KEEP)
    return Effect("does nothing this round", IDLE)


def _sandwich_progress(env: SandwichEnv) -> str:
    k = len(env.stack)
    owner = env.owners()
    left = [f"{f} ({env.holder_of(f) or owner[f]})" for f in env.recipe[k:]]
    return (
        f"Stacked: {', '.join(env.stack) or 'nothing'}. Still to stack, in order: "
        f"{', '.join(left) or 'nothing (done)'}."
    )


# ---- pack and rope (the motion helper plans the paths) -----------------------------------------


def _pack(env: PackEnv, a: Action, others: Mapping[str, Action]) -> Effect:
    clash = any(
        o.object == a.object or (a.target and o.target == a.target) for o in others.values()
    )
    if a.form == "PICK":
        text, value = f"picks {a.object} up", STEP
    else:
        text, value = f"packs {a.object} into {a.target}", GOAL
    return _clashing(text, value, clash)


def _pack_progress(env: PackEnv) -> str:
    packed = [i for i, s in env.slot_of.items() if s is not None]
    return f"Packed {len(packed)} of {len(env.slot_of)}: {', '.join(packed) or 'none'}."


def _rope(env: RopeEnv, a: Action, others: Mapping[str, Action]) -> Effect:
    clash = any(
        o.form == a.form and (o.object == a.object or (a.target and o.target == a.target))
        for o in others.values()
    )
    if a.form == "PICK":
        text, value = f"grasps {a.object}", STEP
    else:
        text, value = f"lays {a.object} on {a.target}", GOAL
    return _clashing(text, value, clash)


def _clashing(text: str, value: float, clash: bool) -> Effect:
    return Effect(text + ", but a teammate wants the same", AWAY) if clash else Effect(text, value)


def _rope_progress(env: RopeEnv) -> str:
    held = "; ".join(f"{r} holds {g.holding or 'nothing'}" for r, g in env.grippers.items())
    return f"{held}. Rope in the groove: {'yes' if env.success() else 'not yet'}."


_DESCRIBE: dict[type[Any], Callable[[Any, Action, Mapping[str, Action]], Effect]] = {
    SortEnv: _sort,
    CabinetEnv: _cabinet,
    SweepEnv: _sweep,
    SandwichEnv: _sandwich,
    PackEnv: _pack,
    RopeEnv: _rope,
}
_PROGRESS: dict[type[Any], Callable[[Any], str]] = {
    SortEnv: _sort_progress,
    CabinetEnv: _cabinet_progress,
    SweepEnv: _sweep_progress,
    SandwichEnv: _sandwich_progress,
    PackEnv: _pack_progress,
    RopeEnv: _rope_progress,
}
