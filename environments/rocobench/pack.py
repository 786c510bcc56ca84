"""Pack Grocery: two arms on opposite sides pack six items into a six-slot bin, planning their
own gripper paths (RoCo `task_pack.py`; path mode is forced there, and here).

State: six items on eight grid cells (x in {-0.05, -0.25, -0.5, -0.75}, y in {0.4, 0.6}), each on
the table, held, or in a named bin slot; the bin at (0.45, 0.5) with slots bin_{front,back}_{left,
middle,right}; two grippers. Every PATH has four waypoints, each checked for reach, the height band
[0.25, 0.8], IK, the gap between grippers at the same index, and item and bin boxes (for the
gripper and for the bottom of the item it carries); then the evenness test, std ≤ 0.19.

Symbolic (lost against MuJoCo): items are boxes of fixed height, collisions are checked at the
waypoints and goal only (RoCo's RRT also checks between them), items already in the bin are not
obstacles, and a validated plan always executes (no `ReasonCollisionAtStart`, RoCo issue #12).
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from environments.rocobench import prompts
from environments.rocobench.base import RocoEnv
from environments.rocobench.feedback import Failure
from environments.rocobench.geometry import Vec3, aabb, dist_xy, fmt
from environments.rocobench.plan import ActionForm, Grammar, Plan
from environments.rocobench.robots import MODEL_DESCRIPTIONS, TABLE_Z, Gripper, Robot, reach_box
from environments.rocobench.schema import Option

ITEM_HEIGHT = {
    "apple": 0.08,
    "banana": 0.05,
    "milk": 0.2,
    "soda_can": 0.12,
    "bread": 0.1,
    "cereal": 0.25,
}
ITEMS = tuple(ITEM_HEIGHT)
PLACE_EXTRA = {"milk": 0.15, "cereal": 0.12}
"""RoCo's parser places these tall items higher."""
GRID = tuple((x, y) for x in (-0.05, -0.25, -0.5, -0.75) for y in (0.4, 0.6))
BIN = (0.45, 0.5)
SLOTS = {
    f"bin_{row}_{col}": (BIN[0] + dx, BIN[1] + dy, 0.3)
    for row, dy in (("front", -0.09), ("back", 0.09))
    for col, dx in (("left", -0.2), ("middle", 0.0), ("right", 0.2))
}
BIN_BOX = aabb((BIN[0], BIN[1], 0.16), (0.36, 0.21, 0.06))
SUCCESS_RADIUS = 0.06
"""RoCo's alternative test: within 0.06 (xy) of the bin centre."""
ITEM_HALF_XY = 0.05
BOX_MARGIN = 0.02
OBSERVED_LIFT = 0.05
"""RoCo prints each item's top 0.05 higher, to keep paths clear."""

GRAMMAR = Grammar(
    task="pack",
    path_mode=True,
    forms=(
        ActionForm("PICK", "PICK <object>", {"object": ITEMS}),
        ActionForm("PLACE", "PLACE <object> <target>", {"object": ITEMS, "target": tuple(SLOTS)}),
        ActionForm("WAIT", "WAIT", offered=False),
    ),
)


def item_packed(position: Vec3, in_bin: bool) -> bool:
    """RoCo's test: touching the bin's inside, or within 0.06 (xy) of the bin centre."""
    return in_bin or dist_xy(position, (*BIN, 0.0)) <= SUCCESS_RADIUS


class PackEnv(RocoEnv):
    name = "pack"
    title = "Pack Grocery"
    grammar = GRAMMAR
    evenness_threshold = 0.19
    height_band = (TABLE_Z + 0.15, 0.8)
    min_gap = 0.15

    def _reset_scene(self, rng: random.Random) -> None:
        self.specs = {
            "Alice": Robot(
                "Alice",
                (-0.2, -0.07),
                reach_box((-1.3, 1.6), (-0.4, 1.5), (0, 1)),
                (0.1, 1.3),
                (-0.2, 0.15, 0.5),
            ),
            "Bob": Robot(
                "Bob",
                (-0.2, 1.05),
                reach_box((-1.3, 1.6), (0, 1.5), (0, 1)),
                (0.1, 1.3),
                (-0.2, 0.85, 0.5),
            ),
        }
        self.grippers = {r: Gripper(s.home) for r, s in self.specs.items()}
        cells = rng.sample(GRID, len(ITEMS))
        self.items: dict[str, Vec3] = {
            item: (x + rng.uniform(-0.03, 0.03), y + rng.uniform(-0.03, 0.03), TABLE_Z)
            for item, (x, y) in zip(ITEMS, cells, strict=True)
        }
        """Each item's bottom centre."""
        self.slot_of: dict[str, str | None] = dict.fromkeys(ITEMS)

    # ---- geometry helpers --------------------------------------------------------------------

    def top(self, item: str) -> Vec3:
        x, y, z = self.items[item]
        return (x, y, z + ITEM_HEIGHT[item])

    def place_point(self, item: str, slot: str) -> Vec3:
        x, y, z = SLOTS[slot]
        return (x, y, z + PLACE_EXTRA.get(item, 0.0))

    def occupant(self, slot: str) -> str | None:
        return next((i for i, s in self.slot_of.items() if s == slot), None)

    def free_slots(self) -> list[str]:
        return [s for s in SLOTS if self.occupant(s) is None]

    def on_table(self, item: str) -> bool:
        return self.slot_of[item] is None and self.holder_of(item) is None

    def item_box(self, item: str) -> tuple[Vec3, Vec3]:
        h = ITEM_HEIGHT[item]
        x, y, z = self.items[item]
        return (x, y, z + h / 2), (ITEM_HALF_XY, ITEM_HALF_XY, h / 2)

    # ---- texts -------------------------------------------------------------------------------

    def _scene_lines(self) -> list[str]:
        lines = [prompts.PACK_SLOTS]
        lines += [f"{s}: {fmt(p)}" for s, p in SLOTS.items()]
        lines.append(prompts.PACK_ITEMS)
        for item in ITEMS:
            x, y, z = self.top(item)
            point = fmt((x, y, z + OBSERVED_LIFT))
            holder, slot = self.holder_of(item), self.slot_of[item]
            if holder:
                lines.append(prompts.PACK_ITEM_HELD.format(item=item, robot=holder))
            elif slot:
                lines.append(prompts.PACK_ITEM_SLOT.format(item=item, point=point, slot=slot))
            else:
                lines.append(prompts.PACK_ITEM_TABLE.format(item=item, point=point))
        lo, hi = self.height_band
        lines.append(prompts.PACK_BAND.format(lo=lo, hi=hi))
        return lines

    def _gripper_line(self, robot: str, who: str) -> str:
        g = self.grippers[robot]
        return prompts.GRIPPER_AT.format(who=who, point=fmt(g.position), obj=g.holding or "nothing")

    def observation(self, robot: str) -> str:
        spec = self._spec(robot)
        other = next(r for r in self.robots if r != robot)
        lines = [
            prompts.YOU_ARE.format(robot=robot, model=MODEL_DESCRIPTIONS[spec.model]),
            prompts.PACK_ROLE.format(other=other),
            "At the current round:",
            *self._scene_lines(),
            self._gripper_line(robot, "Your"),
            self._gripper_line(other, f"{other}'s"),
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
        slots: dict[str, str] = {}
        for a in plan.actions:
            if a.form == "WAIT":
                out.append(self._rule(a.robot, prompts.RULE_PACK_ONLY.format(robot=a.robot)))
            elif a.form == "PICK" and a.object and self.slot_of[a.object] is not None:
                out.append(
                    self._rule(
                        a.robot, prompts.RULE_PACK_PACKED.format(robot=a.robot, item=a.object)
                    )
                )
            elif a.form == "PLACE" and a.object and a.target:
                if self.grippers[a.robot].holding != a.object:
                    out.append(
                        self._rule(
                            a.robot, prompts.RULE_PACK_NOT_HELD.format(robot=a.robot, item=a.object)
                        )
                    )
                occupant = self.occupant(a.target)
                if occupant is not None:
                    out.append(
                        self._rule(
                            a.robot,
                            prompts.RULE_PACK_SLOT_FULL.format(
                                robot=a.robot, slot=a.target, item=occupant
                            ),
                        )
                    )
                if a.target in slots:
                    out.append(
                        self._rule(
                            a.robot,
                            prompts.RULE_PACK_SAME_SLOT.format(
                                robot=a.robot, other=slots[a.target], slot=a.target
                            ),
                        )
                    )
                slots[a.target] = a.robot
        return out

    def _goal_segments(self, plan: Plan) -> dict[str, list[Vec3]]:
        out = {}
        for a in plan.actions:
            if a.form == "PICK" and a.object:
                out[a.robot] = [self.top(a.object)]
            elif a.form == "PLACE" and a.object and a.target:
                out[a.robot] = [self.place_point(a.object, a.target)]
            else:
                out[a.robot] = [self.grippers[a.robot].position]
        return out

    def _obstacle_hits(
        self, plan: Plan, poses: Mapping[str, Vec3], waypoint: bool
    ) -> list[tuple[str, str]]:
        hits = []
        for robot, p in poses.items():
            action = plan[robot]
            target_item = action.object if action.form == "PICK" and not waypoint else None
            held = self.grippers[robot].holding
            bottom = (p[0], p[1], p[2] - ITEM_HEIGHT[held]) if held else None
            for item in ITEMS:
                if item == target_item or not self.on_table(item):
                    continue
                box = aabb(*self.item_box(item))
                if box.contains(p, BOX_MARGIN):
                    hits.append((robot, item))
                elif held and bottom is not None and box.contains(bottom, BOX_MARGIN):
                    hits.append((held, item))
            if BIN_BOX.contains(p):
                hits.append((robot, "bin"))
            elif waypoint and held and bottom is not None:
                if BIN_BOX.contains(bottom):
                    hits.append((held, "bin"))
                elif bottom[2] < TABLE_Z:
                    hits.append((held, "table"))
        return hits

    def _apply(self, plan: Plan) -> None:
        goals = self._goal_segments(plan)
        for a in plan.actions:
            grip = self.grippers[a.robot]
            grip.position = goals[a.robot][-1]
            if a.form == "PICK" and a.object:
                grip.holding = a.object
                x, y, z = grip.position
                self.items[a.object] = (x, y, z - ITEM_HEIGHT[a.object])
            elif a.form == "PLACE" and a.object and a.target:
                grip.holding = None
                x, y, _ = SLOTS[a.target]
                self.items[a.object] = (x, y, BIN_BOX.center[2] - BIN_BOX.half[2] + 0.02)
                self.slot_of[a.object] = a.target

    def _success(self) -> bool:
        return all(item_packed(self.items[i], self.slot_of[i] is not None) for i in ITEMS)

    # ---- legal moves -------------------------------------------------------------------------

    def legal_options(self, robot: str) -> list[Option]:
        self._spec(robot)
        held = self.grippers[robot].holding
        if held is not None:
            free = tuple(self.free_slots())
            return (
                [Option("PLACE", {"object": (held,), "target": free})] if free else [Option("WAIT")]
            )
        table = tuple(i for i in ITEMS if self.on_table(i))
        return [Option("PICK", {"object": table})] if table else [Option("WAIT")]
