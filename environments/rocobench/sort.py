"""Sort Cubes: three arms in a row hand three cubes along to their bins (RoCo `task_sort.py`).

State: seven panels on a line at y=0.5; three cubes, each at a point on a panel; three robots,
each reaching three panels through its exact RoCo reach box. Each robot's view holds only its own
goal and reach (RoCo's prompt does that; the paper calls it "shared").

Symbolic (lost against MuJoCo): cubes are points, not bodies (no tipping, no pushing), so a cube
sits exactly where it is placed; one cube per panel is a rule (RoCo lets physics settle it); arm
collisions are the gripper-gap surrogate at each motion segment; IK is the base-distance surrogate.
"""

from __future__ import annotations

import random

from environments.rocobench import prompts
from environments.rocobench.base import RocoEnv
from environments.rocobench.feedback import Failure
from environments.rocobench.geometry import Vec3, dist_xy
from environments.rocobench.plan import ActionForm, Grammar, Plan
from environments.rocobench.robots import MODEL_DESCRIPTIONS, Gripper, Robot, reach_box
from environments.rocobench.schema import Option

PANEL_X = {
    "panel1": -1.12,
    "panel2": -0.8,
    "panel3": -0.4,
    "panel4": 0.0,
    "panel5": 0.4,
    "panel6": 0.8,
    "panel7": 1.2,
}
PANEL_Y = 0.5
CUBE_Z = 0.2
SHARED_PANELS = ("panel3", "panel5")
CUBE_GOALS = {
    "blue_square": ("panel2", "Alice"),
    "pink_polygon": ("panel4", "Bob"),
    "yellow_trapezoid": ("panel6", "Chad"),
}
"""cube → (its bin, the robot whose goal it is)."""
START_PANELS = {
    "blue_square": ("panel5", "panel6", "panel7"),
    "pink_polygon": ("panel1", "panel2", "panel7"),
    "yellow_trapezoid": ("panel1", "panel2", "panel3"),
}
"""RoCo's initialisation: each cube starts away from its bin (square x>0.15, ...)."""
SUCCESS_RADIUS = 0.1
"""A cube counts as sorted within this xy distance of its bin's middle."""
PLACE_SHIFT = 0.05
"""At shared panels Bob places a little to the front and the others to the back."""

CUBES = tuple(CUBE_GOALS)
BINS = tuple(goal for goal, _ in CUBE_GOALS.values())

GRAMMAR = Grammar(
    task="sort",
    forms=(
        ActionForm(
            "PICK_PLACE",
            "PICK <object> PLACE <target>",
            {"object": CUBES, "target": tuple(PANEL_X)},
        ),
        ActionForm("WAIT", "WAIT"),
        ActionForm("PICK", "PICK <object>", {"object": CUBES}, offered=False),
        ActionForm("PLACE", "PLACE <target>", {"target": tuple(PANEL_X)}, offered=False),
    ),
)


def panel_point(panel: str) -> Vec3:
    return (PANEL_X[panel], PANEL_Y, CUBE_Z)


def nearest_panel(p: Vec3) -> str:
    return min(PANEL_X, key=lambda name: abs(PANEL_X[name] - p[0]))


def cube_sorted(position: Vec3, cube: str) -> bool:
    """RoCo's test: within 0.1 (xy) of the middle of the cube's bin."""
    return dist_xy(position, panel_point(CUBE_GOALS[cube][0])) <= SUCCESS_RADIUS


def allowed_panels(cube: str) -> tuple[str, ...]:
    """Where RoCo's rule lets a cube rest: anywhere but another cube's bin."""
    own = CUBE_GOALS[cube][0]
    return tuple(p for p in PANEL_X if p not in BINS or p == own)


class SortEnv(RocoEnv):
    name = "sort"
    title = "Sort Cubes"
    grammar = GRAMMAR

    cubes: dict[str, Vec3]

    def _reset_scene(self, rng: random.Random) -> None:
        self.specs = {
            "Alice": Robot(
                "Alice",
                (-0.7, 1.05),
                reach_box((-1.4, -0.1), (0.1, 1.3), (0.16, 1)),
                (0.1, 0.85),
                (-0.7, 0.8, 0.4),
            ),
            "Bob": Robot(
                "Bob",
                (0.0, -0.05),
                reach_box((-0.7, 0.7), (-0.21, 1.3), (0.16, 1)),
                (0.1, 0.855),
                (0.0, 0.2, 0.4),
            ),
            "Chad": Robot(
                "Chad",
                (0.9, 1.05),
                reach_box((0.2, 1.5), (0.1, 1.3), (0.16, 1)),
                (0.1, 0.85),
                (0.9, 0.8, 0.4),
            ),
        }
        self.grippers = {r: Gripper(s.home) for r, s in self.specs.items()}
        while True:
            starts = {c: rng.choice(START_PANELS[c]) for c in CUBES}
            if len(set(starts.values())) == len(starts):
                break
        self.cubes = {}
        for cube, panel in starts.items():
            x, y, z = panel_point(panel)
            self.cubes[cube] = (x + rng.uniform(-0.03, 0.03), y + rng.uniform(-0.03, 0.03), z)
        self.cube_yaw = {c: rng.uniform(0, 360) for c in CUBES}

    # ---- geometry helpers --------------------------------------------------------------------

    def place_point(self, robot: str, panel: str) -> Vec3:
        x, y, z = panel_point(panel)
        if panel in SHARED_PANELS:
            y += -PLACE_SHIFT if robot == "Bob" else PLACE_SHIFT
        return (x, y, z)

    def panel_of(self, cube: str) -> str:
        return nearest_panel(self.cubes[cube])

    def reachable_panels(self, robot: str) -> tuple[str, ...]:
        return tuple(p for p in PANEL_X if self.specs[robot].reaches(self.place_point(robot, p)))

    # ---- texts -------------------------------------------------------------------------------

    def _cube_line(self, cube: str) -> str:
        panel = self.panel_of(cube)
        template = prompts.SORT_CUBE_IN_BIN if panel in BINS else prompts.SORT_CUBE_ON
        return template.format(cube=cube, panel=panel)

    def observation(self, robot: str) -> str:
        spec = self._spec(robot)
        cube = next(c for c, (_, owner) in CUBE_GOALS.items() if owner == robot)
        bin_ = CUBE_GOALS[cube][0]
        others = [r for r in self.robots if r != robot]
        reach = [c for c in CUBES if spec.reaches(self.cubes[c])]
        out_of_reach = [c for c in CUBES if c not in reach]
        lines = [
            prompts.SORT_LAYOUT,
            prompts.YOU_ARE.format(robot=robot, model=MODEL_DESCRIPTIONS[spec.model]),
            prompts.SORT_ROLE.format(bin=bin_, others=" and ".join(others)),
            "At the current round:",
            *(self._cube_line(c) for c in CUBES),
            prompts.SORT_GOAL.format(
                cube=cube, bin=bin_, panels=", ".join(self.reachable_panels(robot))
            ),
            prompts.GRIPPER_EMPTY.format(who="Your") + ".",
            prompts.SORT_CAN_REACH.format(cubes=", ".join(reach) or "none"),
            prompts.SORT_CANNOT_REACH.format(cubes=", ".join(out_of_reach) or "none"),
            prompts.SORT_ASK,
            prompts.NEVER_FORGET.format(robot=robot),
        ]
        return "\n".join(lines)

    def full_observation(self) -> str:
        lines = [prompts.TASK_CONTEXT[self.name], prompts.SORT_LAYOUT, "[Scene description]"]
        lines += [self._cube_line(c) for c in CUBES]
        for cube, (bin_, robot) in CUBE_GOALS.items():
            panels = ", ".join(self.reachable_panels(robot))
            lines.append(
                prompts.SORT_ROBOT_GOAL.format(robot=robot, cube=cube, bin=bin_, panels=panels)
            )
        lines += [prompts.GRIPPER_EMPTY.format(who=f"{r}'s") + "." for r in self.robots]
        return "\n".join(lines)

    # ---- rules, poses, effects ---------------------------------------------------------------

    def _task_rules(self, plan: Plan) -> list[Failure]:
        out = []
        picked = {a.object for a in plan.actions if a.form == "PICK_PLACE"}
        placed: dict[str, str] = {}
        for a in plan.actions:
            if a.form in ("PICK", "PLACE"):
                out.append(self._rule(a.robot, prompts.RULE_SORT_PICK_PLACE.format(robot=a.robot)))
            if a.form != "PICK_PLACE" or a.object is None or a.target is None:
                continue
            cube, panel = a.object, a.target
            if panel in BINS and panel != CUBE_GOALS[cube][0]:
                out.append(
                    self._rule(
                        a.robot,
                        prompts.RULE_SORT_FOREIGN_BIN.format(
                            robot=a.robot,
                            cube=cube,
                            panel=panel,
                            allowed=", ".join((CUBE_GOALS[cube][0], *SHARED_PANELS)),
                        ),
                    )
                )
            sitter = next(
                (c for c in CUBES if c != cube and c not in picked and self.panel_of(c) == panel),
                None,
            )
            if sitter is not None:
                out.append(
                    self._rule(
                        a.robot,
                        prompts.RULE_SORT_OCCUPIED.format(
                            robot=a.robot, cube=cube, panel=panel, other=sitter
                        ),
                    )
                )
            if panel in placed:
                out.append(
                    self._rule(
                        a.robot,
                        prompts.RULE_SORT_SAME_PANEL.format(
                            robot=a.robot, other=placed[panel], panel=panel
                        ),
                    )
                )
            placed[panel] = a.robot
        if all(a.form == "WAIT" for a in plan.actions):
            out.append(self._rule(None, prompts.RULE_ALL_WAIT))
        return out

    def _goal_segments(self, plan: Plan) -> dict[str, list[Vec3]]:
        out = {}
        for a in plan.actions:
            if a.form == "PICK_PLACE" and a.object and a.target:
                out[a.robot] = [self.cubes[a.object], self.place_point(a.robot, a.target)]
            else:
                out[a.robot] = [self.grippers[a.robot].position]
        return out

    def _apply(self, plan: Plan) -> None:
        for a in plan.actions:
            if a.form == "PICK_PLACE" and a.object and a.target:
                self.cubes[a.object] = self.place_point(a.robot, a.target)
                self.grippers[a.robot].position = self.specs[a.robot].home

    def _success(self) -> bool:
        return all(cube_sorted(self.cubes[c], c) for c in CUBES)

    # ---- legal moves -------------------------------------------------------------------------

    def legal_options(self, robot: str) -> list[Option]:
        spec = self._spec(robot)
        options = []
        for cube in CUBES:
            if not spec.reaches(self.cubes[cube]):
                continue
            here = self.panel_of(cube)
            occupied = {self.panel_of(c) for c in CUBES if c != cube}
            targets = tuple(
                p
                for p in self.reachable_panels(robot)
                if p in allowed_panels(cube) and p != here and p not in occupied
            )
            if targets:
                options.append(Option("PICK_PLACE", {"object": (cube,), "target": targets}))
        options.append(Option("WAIT"))
        return options
