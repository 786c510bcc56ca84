"""Arrange Cabinet: two robots hold the doors open while a third fetches mug and cup
(RoCo `task_cabinet.py`, cabinet-left layout, the only one RoCo enables).

State: the cabinet's pose (centre x=-0.7, y=0.5, z sampled in [0.47, 0.7], yaw 90°±9°), each
door's hinge angle (closed 0, open ∓2.6 rad as RoCo's `compute_open_pose`), the handles, the mug
and cup (inside, held, or at a point), the coasters, and who holds what. Reach lists come from
RoCo's prompts: Alice the left handle, mug and cup; Bob the right handle; Chad the right handle
(but RoCo's rule says Chad cannot reach the doors), mug and cup.

Symbolic (lost against MuJoCo): door hinges snap between closed and open; a held door stays open
because its holder can do nothing but WAIT or OPEN while its gripper is full; reaching inside with a
door closed is the collision surrogate "robot-door"; the reach lists are the IK surrogate for the
cabinet's sites; no three-arm IK or contact geometry.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

from environments.rocobench import prompts
from environments.rocobench.base import RocoEnv
from environments.rocobench.feedback import Failure
from environments.rocobench.geometry import OrientedBox, Vec3, add, dist, fmt, rotate_z
from environments.rocobench.plan import ActionForm, Grammar, Plan
from environments.rocobench.robots import MODEL_DESCRIPTIONS, Gripper, Robot, reach_box
from environments.rocobench.schema import Option

HANDLES = ("left_door_handle", "right_door_handle")
ITEMS = ("mug", "cup")
COASTERS = ("mug_coaster", "cup_coaster")
DOOR_OF = {"left_door_handle": "left_door", "right_door_handle": "right_door"}
OPEN_ANGLE = {"left_door_handle": -2.6, "right_door_handle": 2.6}
OPEN_LIMIT = 2.0
"""A door reads as open once its hinge angle passes ±2 (RoCo's observation test)."""
HALF = (0.3, 0.2, 0.25)
"""Cabinet half-extents in its own frame: width, depth (front at local y=-0.2), height."""
HINGE = {"left_door_handle": (-0.3, -0.2, 0.0), "right_door_handle": (0.3, -0.2, 0.0)}
HANDLE = {"left_door_handle": (-0.08, -0.25, 0.0), "right_door_handle": (0.08, -0.25, 0.0)}
INSIDE = {"mug": (-0.12, 0.0, -0.1), "cup": (0.12, 0.0, -0.1)}
INSIDE_RADIUS = 0.35
"""An item within this distance of the cabinet centre reads as inside it."""
SUCCESS_RADIUS = 0.25
COASTER_Z = 0.12
ON_COASTER = 0.05
CAN_REACH = {
    "Alice": ("left_door_handle", "mug", "cup"),
    "Bob": ("right_door_handle",),
    "Chad": ("right_door_handle", "mug", "cup"),
}

GRAMMAR = Grammar(
    task="cabinet",
    forms=(
        ActionForm("PICK", "PICK <object>", {"object": HANDLES + ITEMS}),
        ActionForm("OPEN", "OPEN <object>", {"object": HANDLES}),
        ActionForm(
            "PICK_PLACE", "PICK <object> PLACE <target>", {"object": ITEMS, "target": COASTERS}
        ),
        ActionForm("WAIT", "WAIT"),
    ),
)


def item_placed(item: str, position: Vec3, coaster_point: Vec3) -> bool:
    """RoCo's test: the item within 0.25 (3-D) of its own coaster."""
    return dist(position, coaster_point) <= SUCCESS_RADIUS


class CabinetEnv(RocoEnv):
    name = "cabinet"
    title = "Arrange Cabinet"
    grammar = GRAMMAR

    def _reset_scene(self, rng: random.Random) -> None:
        self.specs = {
            "Alice": Robot(
                "Alice",
                (-0.1, -0.2),
                reach_box((-1.3, 1.6), (-0.4, 1.5), (0.16, 1)),
                (0.1, 1.25),
                (0.0, 0.1, 0.5),
            ),
            "Bob": Robot(
                "Bob",
                (-0.7, 1.3),
                reach_box((-1.4, 1.4), (0, 1.5), (0.16, 1)),
                (0.1, 1.0),
                (-0.4, 1.1, 0.5),
            ),
            "Chad": Robot(
                "Chad",
                (0.6, 1.1),
                reach_box((-1.4, 1.6), (0, 1.5), (0.16, 1)),
                (0.1, 1.6),
                (0.5, 0.9, 0.5),
            ),
        }
        self.grippers = {r: Gripper(s.home) for r, s in self.specs.items()}
        z = rng.uniform(0.47, 0.7)
        yaw = math.pi / 2 + rng.uniform(-0.05, 0.05) * math.pi
        self.cabinet = OrientedBox(center=(-0.7, 0.5, z), half=HALF, yaw=yaw)
        self.angles = dict.fromkeys(HANDLES, 0.0)
        self.items: dict[str, Vec3] = {i: self.cabinet.world(INSIDE[i]) for i in ITEMS}
        while True:
            spots = [(rng.uniform(-0.2, 0.4), rng.uniform(0.2, 0.8), COASTER_Z) for _ in COASTERS]
            if dist(spots[0], spots[1]) >= 0.35:
                break
        self.coasters = dict(zip(COASTERS, spots, strict=True))

    # ---- geometry helpers --------------------------------------------------------------------

    def handle_point(self, handle: str, angle: float | None = None) -> Vec3:
        angle = self.angles[handle] if angle is None else angle
        hinge = HINGE[handle]
        arm = (HANDLE[handle][0] - hinge[0], HANDLE[handle][1] - hinge[1], 0.0)
        return self.cabinet.world(add(hinge, rotate_z(arm, angle)))

    def is_open(self, handle: str) -> bool:
        return abs(self.angles[handle]) > OPEN_LIMIT

    def coaster_point(self, coaster: str) -> Vec3:
        return add(self.coasters[coaster], (0.0, 0.0, ON_COASTER))

    def inside(self, item: str) -> bool:
        return dist(self.items[item], self.cabinet.center) <= INSIDE_RADIUS

    def item_on_own_coaster(self, item: str) -> bool:
        coaster = COASTERS[ITEMS.index(item)]
        return item_placed(item, self.items[item], self.coaster_point(coaster))

    def site(self, name: str) -> Vec3:
        if name in HANDLES:
            return self.handle_point(name)
        if name in ITEMS:
            return self.items[name]
        return self.coaster_point(name)

    # ---- texts -------------------------------------------------------------------------------

    def _scene_lines(self) -> list[str]:
        lines = []
        for h in HANDLES:
            state = "open" if self.is_open(h) else "closed"
            lines.append(
                prompts.CABINET_DOOR.format(
                    door=DOOR_OF[h], state=state, point=fmt(self.handle_point(h), 1)
                )
            )
        for item, coaster in zip(ITEMS, COASTERS, strict=True):
            holder = self.holder_of(item)
            if holder:
                lines.append(prompts.CABINET_ITEM_HELD.format(item=item, robot=holder))
            elif self.inside(item):
                lines.append(prompts.CABINET_ITEM_INSIDE.format(item=item))
            elif self.item_on_own_coaster(item):
                lines.append(prompts.CABINET_ITEM_ON.format(item=item, coaster=coaster))
            else:
                lines.append(
                    prompts.CABINET_ITEM_AT.format(item=item, point=fmt(self.items[item], 1))
                )
        lines += [
            prompts.CABINET_COASTER.format(coaster=c, point=fmt(p, 1))
            for c, p in self.coasters.items()
        ]
        return lines

    def _gripper_line(self, robot: str, who: str) -> str:
        g = self.grippers[robot]
        return prompts.GRIPPER_AT.format(
            who=who, point=fmt(g.position, 1), obj=g.holding or "nothing"
        )

    def observation(self, robot: str) -> str:
        spec = self._spec(robot)
        others = [r for r in self.robots if r != robot]
        lines = [
            prompts.YOU_ARE.format(robot=robot, model=MODEL_DESCRIPTIONS[spec.model]),
            prompts.CABINET_ROLE.format(others=" and ".join(others)),
            "At the current round:",
            *self._scene_lines(),
            *(self._gripper_line(r, "Your" if r == robot else f"{r}'s") for r in self.robots),
            prompts.CABINET_REACH.format(things=", ".join(CAN_REACH[robot])),
            prompts.CABINET_HOLD,
            prompts.NEVER_FORGET.format(robot=robot),
        ]
        return "\n".join(lines)

    def full_observation(self) -> str:
        lines = [prompts.TASK_CONTEXT[self.name], "[Scene description]", *self._scene_lines()]
        lines += [self._gripper_line(r, f"{r}'s") for r in self.robots]
        lines += [
            prompts.CABINET_ROBOT_REACH.format(robot=r, things=", ".join(CAN_REACH[r]))
            for r in self.robots
        ]
        lines.append(prompts.RULE_CABINET_NO_DOOR.format(robot="Chad") + ".")
        return "\n".join(lines)

    # ---- rules, poses, effects ---------------------------------------------------------------

    def _task_rules(self, plan: Plan) -> list[Failure]:
        out = []
        for a in plan.actions:
            if a.form == "PICK" and a.object in ITEMS:
                out.append(
                    self._rule(
                        a.robot,
                        prompts.RULE_CABINET_PICK_PLACE.format(robot=a.robot, item=a.object),
                    )
                )
            if a.robot == "Chad" and a.object in HANDLES:
                out.append(self._rule(a.robot, prompts.RULE_CABINET_NO_DOOR.format(robot=a.robot)))
            elif a.form == "OPEN" and self.grippers[a.robot].holding != a.object:
                out.append(
                    self._rule(
                        a.robot,
                        prompts.RULE_CABINET_OPEN_FIRST.format(robot=a.robot, handle=a.object),
                    )
                )
        if all(a.form == "WAIT" for a in plan.actions):
            out.append(self._rule(None, prompts.RULE_ALL_WAIT))
        return out

    def _goal_segments(self, plan: Plan) -> dict[str, list[Vec3]]:
        out = {}
        for a in plan.actions:
            if a.form == "PICK" and a.object:
                out[a.robot] = [self.site(a.object)]
            elif a.form == "OPEN" and a.object:
                out[a.robot] = [self.handle_point(a.object, OPEN_ANGLE[a.object])]
            elif a.form == "PICK_PLACE" and a.object and a.target:
                out[a.robot] = [self.items[a.object], self.coaster_point(a.target)]
            else:
                out[a.robot] = [self.grippers[a.robot].position]
        return out

    def _ik_ok(self, plan: Plan, robot: str, point: Vec3) -> bool:
        """Beyond the base-distance surrogate, a robot solves no cabinet site off its list."""
        names = (*HANDLES, *ITEMS)
        off_list = [self.site(n) for n in names if n not in CAN_REACH[robot]]
        off_list += [
            self.handle_point(h, OPEN_ANGLE[h]) for h in HANDLES if h not in CAN_REACH[robot]
        ]
        if any(dist(point, p) < 1e-6 for p in off_list):
            return False
        return super()._ik_ok(plan, robot, point)

    def _obstacle_hits(
        self, plan: Plan, poses: Mapping[str, Vec3], waypoint: bool
    ) -> list[tuple[str, str]]:
        hits = []
        for robot, p in poses.items():
            if self.cabinet.contains(p):
                hits += [(robot, DOOR_OF[h]) for h in HANDLES if not self.is_open(h)]
        return hits

    def _apply(self, plan: Plan) -> None:
        for a in plan.actions:
            grip = self.grippers[a.robot]
            if a.form == "PICK" and a.object:
                grip.holding = a.object
                grip.position = self.handle_point(a.object)
            elif a.form == "OPEN" and a.object:
                self.angles[a.object] = OPEN_ANGLE[a.object]
                grip.position = self.handle_point(a.object)
            elif a.form == "PICK_PLACE" and a.object and a.target:
                self.items[a.object] = self.coaster_point(a.target)
                grip.position = self.specs[a.robot].home

    def _success(self) -> bool:
        return all(self.item_on_own_coaster(i) for i in ITEMS)

    # ---- legal moves -------------------------------------------------------------------------

    def legal_options(self, robot: str) -> list[Option]:
        self._spec(robot)
        held = self.grippers[robot].holding
        options = []
        if held in HANDLES:
            if not self.is_open(held):
                options.append(Option("OPEN", {"object": (held,)}))
        else:
            handles = tuple(
                h
                for h in HANDLES
                if h in CAN_REACH[robot] and robot != "Chad" and self.holder_of(h) is None
            )
            if handles:
                options.append(Option("PICK", {"object": handles}))
            items = tuple(i for i in ITEMS if i in CAN_REACH[robot] and self.holder_of(i) is None)
            if items:
                options.append(Option("PICK_PLACE", {"object": items, "target": COASTERS}))
        options.append(Option("WAIT"))
        return options
