"""Sweep Floor: Bob's broom pushes cubes into Alice's dustpan; Alice dumps it into the bin
(RoCo `task_sweep.py`).

State: three cubes, each on the table (at a point), inside the dustpan, or inside trash_bin; where
each tool is (home, at a cube, at the bin); the dustpan's contents. Views are asymmetric: each
robot sees its own gripper, its own tool and role, and which cubes its tool is next to.

Symbolic (lost against MuJoCo): a SWEEP always lands the cube in the dustpan (real pushes can
miss); tools are points at RoCo's offsets (dustpan 0.4 in front of the cube at z 0.23, broom 0.3
behind); no tool contact geometry.
"""

from __future__ import annotations

import random

from environments.rocobench import prompts
from environments.rocobench.base import RocoEnv
from environments.rocobench.feedback import Failure
from environments.rocobench.geometry import Vec3, add, dist, dist_xy, fmt
from environments.rocobench.plan import ActionForm, Grammar, Plan
from environments.rocobench.robots import MODEL_DESCRIPTIONS, Gripper, Robot, reach_box
from environments.rocobench.schema import Option

CUBES = ("red_cube", "green_cube", "blue_cube")
PANEL_X = (0.3, 0.55, 0.8, 1.05)
PANEL_Y = 0.5
CUBE_Z = 0.13
TRASH_BIN = (-0.5, 0.5, 0.12)
"""`trash_bin_bottom`, the point RoCo's success test measures against."""
SUCCESS_RADIUS = 0.2
TOOL_Z = 0.23
DUSTPAN_OFFSET = (0.0, -0.4)
BROOM_OFFSET = (0.0, 0.3)
SWEEP_PATH = ((0.0, 0.15, 0.2), (0.0, -0.2, 0.2), (0.0, 0.3, TOOL_Z))
"""Bob's SWEEP in three segments relative to the cube: approach, push to the rim, return."""
DUMP_PATH = ((-0.5, 0.1, 0.5), (-0.5, 0.1, 0.45))
"""Alice's DUMP in two segments: over trash_bin, then tip."""
NEAR = 0.5
TOOLS = {"Alice": "dustpan", "Bob": "broom"}

GRAMMAR = Grammar(
    task="sweep",
    forms=(
        ActionForm("MOVE", "MOVE <target>", {"target": (*CUBES, "trash_bin")}),
        ActionForm("SWEEP", "SWEEP <target>", {"target": CUBES}),
        ActionForm("DUMP", "DUMP"),
        ActionForm("WAIT", "WAIT"),
    ),
)


def cube_trashed(position: Vec3) -> bool:
    """RoCo's test: within 0.2 (3-D) of the trash bin's bottom."""
    return dist(position, TRASH_BIN) <= SUCCESS_RADIUS


class SweepEnv(RocoEnv):
    name = "sweep"
    title = "Sweep Floor"
    grammar = GRAMMAR

    def _reset_scene(self, rng: random.Random) -> None:
        self.specs = {
            "Alice": Robot(
                "Alice",
                (-0.2, -0.2),
                reach_box((-1.3, 1.6), (-0.4, 1.5), (0, 1)),
                (0.1, 1.45),
                (0.1, 0.0, 0.3),
            ),
            "Bob": Robot(
                "Bob",
                (0.6, 1.02),
                reach_box((-1.3, 1.6), (0, 1.5), (0, 1)),
                (0.1, 1.2),
                (0.6, 0.7, 0.35),
            ),
        }
        self.grippers = {r: Gripper(s.home, TOOLS[r]) for r, s in self.specs.items()}
        panels = rng.sample(PANEL_X, len(CUBES))
        self.cubes: dict[str, Vec3] = {
            c: (x + rng.uniform(-0.04, 0.04), PANEL_Y + rng.uniform(-0.05, 0.05), CUBE_Z)
            for c, x in zip(CUBES, panels, strict=True)
        }
        self.status = dict.fromkeys(CUBES, "table")
        self.at: dict[str, str | None] = dict.fromkeys(self.specs)
        """Which cube each tool was MOVEd to (None: home or at the bin)."""

    # ---- geometry helpers --------------------------------------------------------------------

    def tool_point(self, robot: str, cube: str) -> Vec3:
        x, y, _ = self.cubes[cube]
        dx, dy = DUSTPAN_OFFSET if robot == "Alice" else BROOM_OFFSET
        return (x + dx, y + dy, TOOL_Z)

    def on_table(self, cube: str) -> bool:
        return self.status[cube] == "table"

    def dustpan(self) -> list[str]:
        return [c for c in CUBES if self.status[c] == "dustpan"]

    # ---- texts -------------------------------------------------------------------------------

    def _cube_lines(self) -> list[str]:
        words = {
            "table": prompts.SWEEP_ON_TABLE,
            "dustpan": prompts.SWEEP_IN_DUSTPAN,
            "trash": prompts.SWEEP_IN_TRASH,
        }
        return [
            prompts.SWEEP_CUBE.format(
                cube=c, point=fmt(self.cubes[c]), status=words[self.status[c]]
            )
            for c in CUBES
        ]

    def observation(self, robot: str) -> str:
        spec = self._spec(robot)
        g = self.grippers[robot]
        lines = [
            prompts.YOU_ARE.format(robot=robot, model=MODEL_DESCRIPTIONS[spec.model]),
            prompts.SWEEP_ROLE[robot],
            "At the current round:",
            prompts.SWEEP_TOOL.format(point=fmt(g.position), tool=TOOLS[robot]),
        ]
        for c in CUBES:
            d = dist_xy(g.position, self.cubes[c])
            if self.on_table(c) and d <= NEAR:
                lines.append(prompts.SWEEP_NEAR.format(tool=TOOLS[robot], cube=c, d=d))
        lines += self._cube_lines()
        lines += [
            prompts.SWEEP_TRASH.format(point=fmt(TRASH_BIN)),
            prompts.YOUR_REACH.format(box=spec.reach.describe()),
            prompts.NEVER_FORGET.format(robot=robot),
        ]
        return "\n".join(lines)

    def full_observation(self) -> str:
        lines = [prompts.TASK_CONTEXT[self.name], "[Scene description]", *self._cube_lines()]
        lines.append(prompts.SWEEP_TRASH.format(point=fmt(TRASH_BIN)))
        lines += [
            prompts.SWEEP_ROBOT_TOOL.format(robot=r, point=fmt(g.position), tool=TOOLS[r])
            for r, g in self.grippers.items()
        ]
        return "\n".join(lines)

    # ---- rules, poses, effects ---------------------------------------------------------------

    def _task_rules(self, plan: Plan) -> list[Failure]:
        out = []
        sweeping = plan["Bob"].form == "SWEEP"
        if sweeping and plan["Alice"].form != "WAIT":
            out.append(self._rule("Alice", prompts.RULE_SWEEP_ALICE_WAITS))
        for a in plan.actions:
            cube = a.target
            if a.form == "SWEEP" and a.robot != "Bob":
                out.append(self._rule(a.robot, prompts.RULE_SWEEP_ONLY_BOB.format(robot=a.robot)))
            if a.form == "DUMP" and a.robot != "Alice":
                out.append(self._rule(a.robot, prompts.RULE_SWEEP_ONLY_ALICE.format(robot=a.robot)))
            if a.form == "DUMP" and a.robot == "Alice" and not self.dustpan():
                out.append(self._rule(a.robot, prompts.RULE_SWEEP_EMPTY))
            if a.form == "MOVE" and cube not in CUBES:
                out.append(self._rule(a.robot, prompts.RULE_SWEEP_MOVE_CUBE))
            elif a.form in ("MOVE", "SWEEP") and cube is not None and not self.on_table(cube):
                out.append(
                    self._rule(
                        a.robot,
                        prompts.RULE_SWEEP_GONE.format(robot=a.robot, verb=a.form, cube=cube),
                    )
                )
            elif (
                a.form == "SWEEP"
                and a.robot == "Bob"
                and cube is not None
                and (self.at["Alice"] != cube or self.at["Bob"] != cube)
            ):
                out.append(self._rule(a.robot, prompts.RULE_SWEEP_BOTH_AT.format(cube=cube)))
        return out

    def _goal_segments(self, plan: Plan) -> dict[str, list[Vec3]]:
        out = {}
        for a in plan.actions:
            if a.form == "MOVE" and a.target in CUBES:
                out[a.robot] = [self.tool_point(a.robot, a.target)]
            elif a.form == "SWEEP" and a.target in CUBES:
                x, y, _ = self.cubes[a.target]
                out[a.robot] = [add((x, y, 0.0), rel) for rel in SWEEP_PATH]
            elif a.form == "DUMP":
                out[a.robot] = list(DUMP_PATH)
            else:
                out[a.robot] = [self.grippers[a.robot].position]
        return out

    def _apply(self, plan: Plan) -> None:
        goals = self._goal_segments(plan)
        for a in plan.actions:
            if a.form == "SWEEP" and a.target:
                self.status[a.target] = "dustpan"
            elif a.form == "DUMP":
                for c in self.dustpan():
                    slot = sum(1 for s in self.status.values() if s == "trash")
                    self.cubes[c] = add(TRASH_BIN, (0.05 * (slot - 1), 0.0, 0.02))
                    self.status[c] = "trash"
            if a.form in ("MOVE", "SWEEP", "DUMP"):
                self.grippers[a.robot].position = goals[a.robot][-1]
                self.at[a.robot] = a.target if a.form in ("MOVE", "SWEEP") else None
        for c in self.dustpan():
            x, y, _ = self.grippers["Alice"].position
            self.cubes[c] = (x, y - DUSTPAN_OFFSET[1] - 0.05, TOOL_Z - 0.08)

    def _success(self) -> bool:
        return all(cube_trashed(self.cubes[c]) for c in CUBES)

    # ---- legal moves -------------------------------------------------------------------------

    def legal_options(self, robot: str) -> list[Option]:
        self._spec(robot)
        table = tuple(c for c in CUBES if self.on_table(c))
        options = [Option("MOVE", {"target": table})] if table else []
        if robot == "Bob":
            here = self.at["Bob"]
            if here is not None and here == self.at["Alice"] and self.on_table(here):
                options.append(Option("SWEEP", {"target": (here,)}))
        elif self.dustpan():
            options.append(Option("DUMP"))
        options.append(Option("WAIT"))
        return options
