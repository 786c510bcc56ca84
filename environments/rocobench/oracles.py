"""Scripted solvers, one per task: the proof that each task, as built, is solvable in budget.

Each oracle looks at the environment's full state and returns the next `Plan`. Where geometry
matters (collisions, paths) it tries candidates in order and keeps the first that `env.check`
passes, so an oracle never relies on anything the environment would not accept from a model.
Optimal horizons: Sort 3–5 steps, Cabinet 4, Sweep 7, Pack 6, Rope 2, Sandwich about n+1.
"""

from __future__ import annotations

import functools
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence

from environments.rocobench.base import RocoEnv, StepResult
from environments.rocobench.cabinet import COASTERS, HANDLES, ITEMS, CabinetEnv
from environments.rocobench.errors import RocoBenchError
from environments.rocobench.geometry import Vec3, dist, lerp
from environments.rocobench.pack import PackEnv
from environments.rocobench.plan import Action, Plan, make_action
from environments.rocobench.rope import GROOVE_ENDS, RopeEnv
from environments.rocobench.sandwich import SandwichEnv, next_moves
from environments.rocobench.sort import CUBE_GOALS, CUBES, PANEL_X, SortEnv, allowed_panels
from environments.rocobench.sweep import CUBES as SWEEP_CUBES
from environments.rocobench.sweep import SweepEnv


class OracleStuck(RocoBenchError):
    code = "oracle_stuck"
    default_message = "the oracle found no valid plan for this state"


def _plan(env: RocoEnv, moves: dict[str, tuple[str, dict[str, str]]]) -> Plan:
    return Plan(tuple(make_action(env.grammar, r, *moves.get(r, ("WAIT", {}))) for r in env.robots))


def _first_valid(env: RocoEnv, plans: Iterable[Plan]) -> Plan:
    for plan in plans:
        if env.check(plan).passed:
            return plan
    raise OracleStuck(f"no candidate plan passes the checks in {env.name} at step {env.steps}")


# ---- Sort: breadth-first search over which panel each cube is on --------------------------------

SortState = tuple[str, ...]
SortMove = tuple[tuple[str, str, str], ...]
"""(robot, cube, panel) per acting robot."""


def _sort_moves(
    reach: tuple[tuple[str, tuple[str, ...]], ...], state: SortState
) -> Iterator[tuple[SortMove, SortState]]:
    where = dict(zip(CUBES, state, strict=True))
    per_robot = []
    for robot, panels in reach:
        own = [
            (robot, cube, dest)
            for cube in CUBES
            if where[cube] in panels
            for dest in panels
            if dest in allowed_panels(cube) and dest != where[cube]
        ]
        per_robot.append([None, *own])
    for combo in itertools.product(*per_robot):
        acts = tuple(m for m in combo if m is not None)
        cubes = [c for _, c, _ in acts]
        dests = [d for _, _, d in acts]
        if not acts or len(set(cubes)) < len(cubes) or len(set(dests)) < len(dests):
            continue
        staying = {where[c] for c in CUBES if c not in cubes}
        if any(d in staying for d in dests):
            continue
        moved = dict(where) | {c: d for _, c, d in acts}
        yield acts, tuple(moved[c] for c in CUBES)


@functools.cache
def _sort_distances(reach: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[SortState, int]:
    """Steps to the goal from every placement of the cubes (one reverse BFS, cached)."""
    states = list(itertools.permutations(PANEL_X, len(CUBES)))
    parents: dict[SortState, list[SortState]] = {s: [] for s in states}
    for state in states:
        for _, nxt in _sort_moves(reach, state):
            parents[nxt].append(state)
    goal = tuple(CUBE_GOALS[c][0] for c in CUBES)
    distance = {goal: 0}
    frontier = deque([goal])
    while frontier:
        state = frontier.popleft()
        for prev in parents[state]:
            if prev not in distance:
                distance[prev] = distance[state] + 1
                frontier.append(prev)
    return distance


def solve_sort(env: SortEnv) -> Plan:
    reach = tuple((r, env.reachable_panels(r)) for r in env.robots)
    distance = _sort_distances(reach)
    state = tuple(env.panel_of(c) for c in CUBES)
    ranked = sorted(_sort_moves(reach, state), key=lambda m: distance.get(m[1], 10**6))
    return _first_valid(
        env,
        (
            _plan(env, {r: ("PICK_PLACE", {"object": c, "target": d}) for r, c, d in acts})
            for acts, _ in ranked
        ),
    )


# ---- Cabinet: take the handles, open, then Chad fetches one item per step -----------------------


def solve_cabinet(env: CabinetEnv) -> Plan:
    holders = {"left_door_handle": "Alice", "right_door_handle": "Bob"}
    moves: dict[str, tuple[str, dict[str, str]]] = {}
    for handle in HANDLES:
        robot = holders[handle]
        if env.grippers[robot].holding != handle:
            moves[robot] = ("PICK", {"object": handle})
        elif not env.is_open(handle):
            moves[robot] = ("OPEN", {"object": handle})
    if not moves:
        for item, coaster in zip(ITEMS, COASTERS, strict=True):
            if dist(env.items[item], env.coaster_point(coaster)) > 0.05:
                moves["Chad"] = ("PICK_PLACE", {"object": item, "target": coaster})
                break
    return _first_valid(env, [_plan(env, moves)])


# ---- Sweep: MOVE both tools to a cube, SWEEP it, repeat, then DUMP ------------------------------


def solve_sweep(env: SweepEnv) -> Plan:
    remaining = [c for c in SWEEP_CUBES if env.on_table(c)]
    if not remaining:
        return _first_valid(env, [_plan(env, {"Alice": ("DUMP", {})})])
    cube = remaining[0]
    if env.at["Alice"] == cube and env.at["Bob"] == cube:
        return _first_valid(env, [_plan(env, {"Bob": ("SWEEP", {"target": cube})})])
    moves = {r: ("MOVE", {"target": cube}) for r in env.robots if env.at[r] != cube}
    return _first_valid(env, [_plan(env, moves)])


# ---- Sandwich: the greedy schedule the scene sampler also uses ----------------------------------


def solve_sandwich(env: SandwichEnv) -> Plan:
    holding = {r: g.holding for r, g in env.grippers.items()}
    moves = next_moves(env.recipe, env.stack, holding, env.owners())
    return _first_valid(env, [_plan(env, moves)])


# ---- path tasks: candidate paths, checked by the environment ------------------------------------

HEIGHTS = (0.45, 0.55, 0.65, 0.75, 0.5, 0.6, 0.7)
ROPE_HEIGHTS = (0.52, 0.5, 0.54, 0.48)


def lifted_path(start: Vec3, goal: Vec3, height: float) -> tuple[Vec3, ...]:
    """Four waypoints at height `height`, evenly spaced over the straight xy line."""
    return tuple(_round((*lerp(start, goal, k / 5)[:2], height)) for k in range(1, 5))


def arc_path(start: Vec3, goal: Vec3, height: float) -> tuple[Vec3, ...]:
    """Four waypoints evenly spaced along up, across at `height`, and down."""
    corners = [start, (start[0], start[1], height), (goal[0], goal[1], height), goal]
    lengths = [dist(a, b) for a, b in itertools.pairwise(corners)]
    total = sum(lengths)
    points = []
    for k in range(1, 5):
        s = total * k / 5
        for (a, b), length in zip(itertools.pairwise(corners), lengths, strict=True):
            if s <= length or (a, b) == (corners[-2], corners[-1]):
                points.append(_round(lerp(a, b, s / length if length else 0.0)))
                break
            s -= length
    return tuple(points)


def _round(p: Sequence[float]) -> Vec3:
    return (round(p[0], 3), round(p[1], 3), round(p[2], 3))


PATHS = (lifted_path, arc_path)


def _path_plans(
    env: RocoEnv,
    assignments: Iterable[dict[str, tuple[str, dict[str, str]]]],
    heights: Sequence[float],
    same_height: bool = False,
) -> Iterator[Plan]:
    robots = env.robots
    for moves in assignments:
        bare = _plan(env, moves)
        goals = env._goal_segments(bare)
        pairs = [(h, h) for h in heights] if same_height else itertools.product(heights, repeat=2)
        for shape, (ha, hb) in itertools.product(PATHS, pairs):
            actions: list[Action] = []
            for robot, h in zip(robots, (ha, hb), strict=True):
                form, args = moves[robot]
                start = env.grippers[robot].position
                path = shape(start, goals[robot][-1], h)
                actions.append(make_action(env.grammar, robot, form, args, path))
            yield Plan(tuple(actions))


def solve_pack(env: PackEnv) -> Plan:
    alice, bob = env.robots
    ha, hb = env.grippers[alice].holding, env.grippers[bob].holding
    if ha and hb:
        free = env.free_slots()
        assignments = [
            {
                alice: ("PLACE", {"object": ha, "target": sa}),
                bob: ("PLACE", {"object": hb, "target": sb}),
            }
            for sa, sb in itertools.permutations(free, 2)
            if sa.startswith("bin_front") or not sb.startswith("bin_front")
        ]
    else:
        table = sorted((i for i in env.items if env.on_table(i)), key=lambda i: env.items[i][1])
        assignments = [
            {alice: ("PICK", {"object": a}), bob: ("PICK", {"object": b})}
            for a, b in itertools.permutations(table, 2)
        ]
    return _first_valid(env, _path_plans(env, assignments, HEIGHTS))


def solve_rope(env: RopeEnv) -> Plan:
    alice, bob = env.robots
    held = {r: env.grippers[r].holding for r in env.robots}
    ha, hb = held[alice], held[bob]
    if ha and hb:
        left, right = tuple(GROOVE_ENDS)
        a_left = env.ends[ha][0] <= env.ends[hb][0]
        assignments = [
            {
                alice: ("PUT", {"object": ha, "target": left if a_left else right}),
                bob: ("PUT", {"object": hb, "target": right if a_left else left}),
            }
        ]
        return _first_valid(env, _path_plans(env, assignments, ROPE_HEIGHTS, same_height=True))
    assignments = [
        {alice: ("PICK", {"object": a}), bob: ("PICK", {"object": b})}
        for a, b in (("rope_front_end", "rope_back_end"), ("rope_back_end", "rope_front_end"))
    ]
    return _first_valid(env, _path_plans(env, assignments, ROPE_HEIGHTS))


# ---- registry and runner -----------------------------------------------------------------------

ORACLES: dict[str, Callable[..., Plan]] = {
    "sort": solve_sort,
    "cabinet": solve_cabinet,
    "sweep": solve_sweep,
    "pack": solve_pack,
    "rope": solve_rope,
    "sandwich": solve_sandwich,
}


def run_oracle(env: RocoEnv) -> list[StepResult]:
    """Play the task's oracle from the current state until the episode is done."""
    solver = ORACLES[env.name]
    results = []
    while not env.done:
        result = env.step(solver(env))
        if not result.executed:
            raise OracleStuck(f"the {env.name} oracle's plan was rejected:\n{result.feedback}")
        results.append(result)
    return results
