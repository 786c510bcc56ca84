"""Move Rope: two arms lift a rope by its ends over a wall and lay it into a groove
(RoCo `task_rope.py`; path mode is forced there, and here).

State: the rope as its two ends (front end sampled at x -1.3..-1.2, y 0.45..0.6, yaw ±30°; the
back end one bent span of 0.62..0.7 away; RoCo's shift to x=-1.1 for large yaws is dropped, as
it would put the back end against the wall); the obstacle wall, a box turned by ±36° (centre
x -0.15..0, y 0.5, z 0.2..0.3, half-extents 0.03 × 0.3 × 0.08); the groove with its two end
sites; who holds which end. Both robots PICK in the same round and PUT in the same round. While
both hold the rope, at every checked index their grippers stay 0.8–1.2 rope lengths apart and
the rope between them clears the wall. Waypoints stay in the band [0.25, 0.55]; evenness
std ≤ 0.3; the budget is 5 steps.

Symbolic (lost against MuJoCo): the rope is a straight segment between the grippers (no sag, no
slip); it lies in the groove exactly when both ends were PUT on the two groove ends; collisions are
checked at the waypoints and goal only.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

from environments.rocobench import prompts
from environments.rocobench.base import RocoEnv
from environments.rocobench.feedback import Failure, FailureKind
from environments.rocobench.geometry import OrientedBox, Vec3, aabb, dist, dist_xy, fmt
from environments.rocobench.plan import ActionForm, Grammar, Plan
from environments.rocobench.robots import MODEL_DESCRIPTIONS, TABLE_Z, Gripper, Robot, reach_box
from environments.rocobench.schema import Option

ENDS = ("rope_front_end", "rope_back_end")
GROOVE_ENDS = {"groove_left_end": (0.2, 0.5, 0.36), "groove_right_end": (1.0, 0.5, 0.36)}
GROOVE_BOX = aabb((0.6, 0.5, 0.16), (0.45, 0.16, 0.08))
ROPE_LENGTH = 0.72
"""25 capsules 0.03 apart, as RoCo's composite rope."""
SPAN_RANGE = (0.8 * ROPE_LENGTH, 1.2 * ROPE_LENGTH)
ROPE_Z = 0.12
GRASP_LIFT = 0.1
"""RoCo aims 0.1 above a rope end to grasp it."""
WALL_HALF = (0.03, 0.3, 0.08)
WALL_MARGIN = 0.05
SUCCESS_RADIUS = 0.2

GRAMMAR = Grammar(
    task="rope",
    path_mode=True,
    forms=(
        ActionForm("PICK", "PICK <object>", {"object": ENDS}),
        ActionForm("PUT", "PUT <object> <target>", {"object": ENDS, "target": tuple(GROOVE_ENDS)}),
        ActionForm(
            "PLACE",
            "PLACE <object> <target>",
            {"object": ENDS, "target": tuple(GROOVE_ENDS)},
            offered=False,
        ),
        ActionForm("MOVE", "MOVE <target>", {"target": ENDS + tuple(GROOVE_ENDS)}, offered=False),
        ActionForm("WAIT", "WAIT", offered=False),
    ),
)


def rope_in_groove(front: Vec3, back: Vec3, touching_bottom: bool) -> bool:
    """RoCo's test: either pairing of rope ends to groove ends, each closer than 0.2 (xy), and the
    rope touching the groove's bottom."""
    left, right = GROOVE_ENDS["groove_left_end"], GROOVE_ENDS["groove_right_end"]
    straight = dist_xy(front, left) < SUCCESS_RADIUS and dist_xy(back, right) < SUCCESS_RADIUS
    crossed = dist_xy(front, right) < SUCCESS_RADIUS and dist_xy(back, left) < SUCCESS_RADIUS
    return (straight or crossed) and touching_bottom


class RopeEnv(RocoEnv):
    name = "rope"
    title = "Move Rope"
    grammar = GRAMMAR
    max_steps = 5
    evenness_threshold = 0.3
    height_band = (TABLE_Z + 0.15, 0.55)

    def _reset_scene(self, rng: random.Random) -> None:
        self.specs = {
            "Alice": Robot(
                "Alice",
                (-0.4, -0.2),
                reach_box((-1.4, 1.6), (-0.4, 1.5), (0, 1)),
                (0.1, 1.75),
                (-0.7, 0.15, 0.45),
            ),
            "Bob": Robot(
                "Bob",
                (-0.5, 1.1),
                reach_box((-1.3, 1.6), (0, 1.5), (0, 1)),
                (0.1, 1.75),
                (-0.7, 0.95, 0.45),
            ),
        }
        self.grippers = {r: Gripper(s.home) for r, s in self.specs.items()}
        front_x, front_y = rng.uniform(-1.3, -1.2), rng.uniform(0.45, 0.6)
        yaw = rng.uniform(-math.pi / 6, math.pi / 6)
        span = rng.uniform(0.62, 0.7)
        self.ends: dict[str, Vec3] = {
            "rope_front_end": (front_x, front_y, ROPE_Z),
            "rope_back_end": (
                front_x + span * math.cos(yaw),
                front_y + span * math.sin(yaw),
                ROPE_Z,
            ),
        }
        wall_yaw = rng.uniform(-math.pi / 5, math.pi / 5)
        center = (rng.uniform(-0.15, 0.0), 0.5, rng.uniform(0.2, 0.3))
        self.wall = OrientedBox(center=center, half=WALL_HALF, yaw=wall_yaw)
        self.in_groove = False

    # ---- geometry helpers --------------------------------------------------------------------

    def grasp_point(self, end: str) -> Vec3:
        x, y, z = self.ends[end]
        return (x, y, z + GRASP_LIFT)

    def wall_corners(self) -> tuple[Vec3, Vec3]:
        top = WALL_HALF[2]
        return (
            self.wall.world((0.0, -WALL_HALF[1], top)),
            self.wall.world((0.0, WALL_HALF[1], top)),
        )

    def both_hold(self) -> bool:
        return all(g.holding in ENDS for g in self.grippers.values())

    # ---- texts -------------------------------------------------------------------------------

    def _scene_lines(self) -> list[str]:
        lines = [f"{g}: {fmt(p)}" for g, p in GROOVE_ENDS.items()]
        lines += [f"{e}: {fmt(p)}" for e, p in self.ends.items()]
        front, back = self.wall_corners()
        lines.append(prompts.ROPE_WALL.format(front=fmt(front), back=fmt(back)))
        lo, hi = self.height_band
        lines.append(prompts.ROPE_BAND.format(lo=lo, hi=hi))
        return lines

    def _gripper_line(self, robot: str, who: str) -> str:
        g = self.grippers[robot]
        return prompts.GRIPPER_AT.format(who=who, point=fmt(g.position), obj=g.holding or "nothing")

    def observation(self, robot: str) -> str:
        spec = self._spec(robot)
        other = next(r for r in self.robots if r != robot)
        lines = [
            prompts.YOU_ARE.format(robot=robot, model=MODEL_DESCRIPTIONS[spec.model]),
            prompts.ROPE_ROLE.format(other=other, length=ROPE_LENGTH),
            "At the current round:",
            self._gripper_line(robot, "Your"),
            self._gripper_line(other, f"{other}'s"),
            *self._scene_lines(),
            prompts.YOUR_REACH.format(box=spec.reach.describe()),
            prompts.NEVER_FORGET.format(robot=robot),
        ]
        return "\n".join(lines)

    def full_observation(self) -> str:
        lines = [prompts.TASK_CONTEXT[self.name], "[Scene description]", *self._scene_lines()]
        lines += [self._gripper_line(r, f"{r}'s") for r in self.robots]
        return "\n".join(lines)

    # ---- rules, poses, effects ---------------------------------------------------------------

    def _task_rules(self, plan: Plan) -> list[Failure]:
        out = []
        for a in plan.actions:
            if a.form not in ("PICK", "PUT"):
                out.append(self._rule(a.robot, prompts.RULE_ROPE_ONLY.format(robot=a.robot)))
        if out:
            return out
        forms = {a.form for a in plan.actions}
        if len(forms) > 1:
            out.append(self._rule(None, prompts.RULE_ROPE_TOGETHER.format(verb="PICK or PUT")))
        targets: dict[str, str] = {}
        for a in plan.actions:
            if a.form != "PUT" or a.target is None:
                continue
            if self.grippers[a.robot].holding != a.object:
                out.append(
                    self._rule(
                        a.robot, prompts.RULE_ROPE_NOT_HELD.format(robot=a.robot, end=a.object)
                    )
                )
            if a.target in targets:
                out.append(
                    self._rule(
                        a.robot,
                        prompts.RULE_ROPE_SAME_GROOVE.format(
                            robot=a.robot, other=targets[a.target], target=a.target
                        ),
                    )
                )
            targets[a.target] = a.robot
        return out

    def _goal_segments(self, plan: Plan) -> dict[str, list[Vec3]]:
        out = {}
        for a in plan.actions:
            if a.form == "PICK" and a.object:
                out[a.robot] = [self.grasp_point(a.object)]
            elif a.form == "PUT" and a.target:
                out[a.robot] = [GROOVE_ENDS[a.target]]
            else:
                out[a.robot] = [self.grippers[a.robot].position]
        return out

    def _carrying(self, plan: Plan) -> bool:
        return self.both_hold() and all(a.form == "PUT" for a in plan.actions)

    def _obstacle_hits(
        self, plan: Plan, poses: Mapping[str, Vec3], waypoint: bool
    ) -> list[tuple[str, str]]:
        hits = [
            (r, "obstacle_wall") for r, p in poses.items() if self.wall.contains(p, WALL_MARGIN)
        ]
        hits += [(r, "groove") for r, p in poses.items() if GROOVE_BOX.contains(p)]
        if self._carrying(plan):
            a, b = (poses[r] for r in self.robots)
            if self.wall.segment_hits(a, b, WALL_MARGIN):
                hits.append(("rope", "obstacle_wall"))
        return hits

    def _span_failures(self, plan: Plan, poses: Mapping[str, Vec3], where: str) -> list[Failure]:
        if not self._carrying(plan):
            return []
        first, second = self.robots
        d = dist(poses[first], poses[second])
        lo, hi = SPAN_RANGE
        if lo <= d <= hi:
            return []
        detail = prompts.ROPE_SPAN.format(robot=first, other=second, d=d, lo=lo, hi=hi)
        return [Failure(FailureKind.SPAN, (first, second), detail, where)]

    def _apply(self, plan: Plan) -> None:
        goals = self._goal_segments(plan)
        for a in plan.actions:
            grip = self.grippers[a.robot]
            grip.position = goals[a.robot][-1]
            if a.form == "PICK" and a.object:
                grip.holding = a.object
            elif a.form == "PUT" and a.object and a.target:
                x, y, _ = GROOVE_ENDS[a.target]
                self.ends[a.object] = (x, y, GROOVE_BOX.center[2] + 0.04)
                grip.holding = None
        if all(a.form == "PUT" for a in plan.actions):
            self.in_groove = True

    def _success(self) -> bool:
        return rope_in_groove(
            self.ends["rope_front_end"], self.ends["rope_back_end"], self.in_groove
        )

    # ---- legal moves -------------------------------------------------------------------------

    def legal_options(self, robot: str) -> list[Option]:
        self._spec(robot)
        held = self.grippers[robot].holding
        if held is not None:
            return [Option("PUT", {"object": (held,), "target": tuple(GROOVE_ENDS)})]
        free = tuple(e for e in ENDS if self.holder_of(e) is None)
        return [Option("PICK", {"object": free})] if free else [Option("WAIT")]
