"""Per robot and step, the JSON Schema of its legal actions, and the way back to a plan line.

Small models decode under a grammar that llama.cpp derives from a JSON Schema. The schema here
uses only what that converter turns into grammar rules: `oneOf`, objects with `properties`,
`required` and `additionalProperties: false`, `const`, `enum`, and arrays with
`minItems`/`maxItems`. Number bounds are *not* grammar rules there, so path coordinates are enums
of grid values (every `GRID` metres inside the robot's reach box and the task's height band);
a decoded action is therefore well formed and in reach, while joint rules, IK, collisions and
path evenness remain the environment's to check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from environments.rocobench.errors import BadJsonAction
from environments.rocobench.geometry import Box, Vec3
from environments.rocobench.plan import PATH_WAYPOINTS, Action, Grammar, make_action

GRID = 0.05


@dataclass(frozen=True)
class Option:
    """A legal action form for one robot now, with the names each of its slots may take."""

    form: str
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def grid_values(lo: float, hi: float, step: float = GRID) -> list[float]:
    """Multiples of `step` inside [lo, hi], rounded so they print as short decimals."""
    first = math.ceil(round(lo / step, 9))
    last = math.floor(round(hi / step, 9))
    return [_clean(round(i * step, 2)) for i in range(first, last + 1)]


def _clean(v: float) -> float:
    return 0.0 if v == 0 else v


def path_schema(reach: Box, band: tuple[float, float] | None) -> dict[str, Any]:
    z_lo, z_hi = reach.lo[2], reach.hi[2]
    if band is not None:
        z_lo, z_hi = max(z_lo, band[0]), min(z_hi, band[1])
    axes = {
        "x": grid_values(reach.lo[0], reach.hi[0]),
        "y": grid_values(reach.lo[1], reach.hi[1]),
        "z": grid_values(z_lo, z_hi),
    }
    point = {
        "type": "object",
        "properties": {a: {"enum": values} for a, values in axes.items()},
        "required": ["x", "y", "z"],
        "additionalProperties": False,
    }
    return {"type": "array", "items": point, "minItems": PATH_WAYPOINTS, "maxItems": PATH_WAYPOINTS}


def action_schema(
    grammar: Grammar,
    robot: str,
    options: Sequence[Option],
    reach: Box,
    band: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """`oneOf` one object per option: `{"action": <form>, <slot>: <name>, ..., "path": [...]}`."""
    path = path_schema(reach, band) if grammar.path_mode else None
    alternatives = []
    for option in options:
        form = grammar.form(option.form)
        props: dict[str, Any] = {"action": {"const": form.name}}
        for slot in form.slots:
            props[slot] = {"enum": list(option.choices[slot])}
        if path is not None:
            props["path"] = path
        alternatives.append(
            {
                "type": "object",
                "properties": props,
                "required": list(props),
                "additionalProperties": False,
            }
        )
    return {"title": f"{robot}'s action in {grammar.task}", "oneOf": alternatives}


def plan_schema(schemas: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """One object with every robot's action, for a single planner that plans for all."""
    return {
        "type": "object",
        "properties": dict(schemas),
        "required": list(schemas),
        "additionalProperties": False,
    }


def action_from_json(grammar: Grammar, robot: str, data: Mapping[str, Any]) -> Action:
    """Turn a decoded JSON action back into an `Action` (render it with `.line()`).

    Checks the shape against the task's forms, not the current state: legality is the
    environment's job, exactly as for a plan written as text.
    """
    name = data.get("action")
    names = [f.name for f in grammar.forms if f.offered]
    if name not in names:
        raise BadJsonAction(
            f"{robot}'s JSON action has action={name!r}; expected one of {', '.join(names)}",
            robot=robot,
        )
    form = grammar.form(str(name))
    expected = {"action", *form.slots} | ({"path"} if grammar.path_mode else set())
    if set(data) != expected:
        raise BadJsonAction(
            f"{robot}'s JSON action {name} must have exactly the keys {sorted(expected)}, "
            f"got {sorted(data)}",
            robot=robot,
        )
    args = {}
    for slot in form.slots:
        value = data[slot]
        if value not in form.vocab.get(slot, ()):
            raise BadJsonAction(
                f"{robot}'s JSON action names {value!r}, not a valid {slot} for {name}",
                robot=robot,
            )
        args[slot] = str(value)
    path = _json_path(robot, data["path"]) if grammar.path_mode else None
    return make_action(grammar, robot, form.name, args, path)


def _json_path(robot: str, raw: Any) -> list[Vec3]:
    if not isinstance(raw, list) or len(raw) != PATH_WAYPOINTS:
        raise BadJsonAction(
            f"{robot}'s JSON path must be a list of exactly {PATH_WAYPOINTS} points", robot=robot
        )
    points: list[Vec3] = []
    for i, p in enumerate(raw, start=1):
        ok = isinstance(p, dict) and set(p) == {"x", "y", "z"}
        values = [p.get(a) for a in ("x", "y", "z")] if ok else []
        if not ok or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in values
        ):
            raise BadJsonAction(
                f"{robot}'s JSON path point {i} must be an object with numbers x, y, z",
                robot=robot,
            )
        points.append((float(values[0]), float(values[1]), float(values[2])))
    return points
