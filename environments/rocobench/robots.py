"""The robots of RoCoBench: who is who, where each stands, what it can reach.

RoCo fixes the agent name by robot model (Alice is always the UR5E with a Robotiq gripper, Bob the
Panda, Chad the UR5E with suction, Dave the humanoid torso). Per task each robot has a base position
and an exact reach box; both are copied from RoCo's task files.

IK is lost without MuJoCo, so `Robot.solves` is a surrogate: a point is solvable when it lies
between `ik_radius[0]` and `ik_radius[1]` from the arm's shoulder and above the table. RoCo's
arms sit on a base joint, so the radii are per task: each covers every site the task uses and
leaves the far corners of the reach box out, so IK can fail inside the box, as in RoCo.
"""

from __future__ import annotations

from dataclasses import dataclass

from environments.rocobench.geometry import Box, Vec3, dist

ROBOT_MODELS: dict[str, str] = {
    "Alice": "ur5e_robotiq",
    "Bob": "panda",
    "Chad": "ur5e_suction",
    "Dave": "humanoid",
}
"""RoCo's `robot_name_map`, inverted: agent name → robot model."""

MODEL_DESCRIPTIONS: dict[str, str] = {
    "ur5e_robotiq": "a UR5E arm with a two-finger Robotiq gripper",
    "panda": "a Franka Panda arm",
    "ur5e_suction": "a UR5E arm with a suction gripper",
    "humanoid": "a humanoid torso with two arms",
}

TABLE_Z = 0.1
"""Height of the table surface."""

IK_MIN_Z = 0.12
"""Below this a gripper would be inside the table, so no arm configuration exists."""

SHOULDER_HEIGHT = 0.2


@dataclass(frozen=True)
class Robot:
    """One robot's fixed facts in one task."""

    name: str
    base: tuple[float, float]
    reach: Box
    ik_radius: tuple[float, float]
    home: Vec3
    """Where the gripper starts."""

    @property
    def model(self) -> str:
        return ROBOT_MODELS[self.name]

    @property
    def shoulder(self) -> Vec3:
        return (self.base[0], self.base[1], SHOULDER_HEIGHT)

    def reaches(self, p: Vec3) -> bool:
        return self.reach.contains(p)

    def solves(self, p: Vec3) -> bool:
        r = dist(self.shoulder, p)
        return self.ik_radius[0] <= r <= self.ik_radius[1] and p[2] >= IK_MIN_Z


def reach_box(x: tuple[float, float], y: tuple[float, float], z: tuple[float, float]) -> Box:
    """A reach box written the way RoCo's `get_robot_reach_range` writes it."""
    return Box(lo=(x[0], y[0], z[0]), hi=(x[1], y[1], z[1]))


@dataclass
class Gripper:
    """A robot's mutable state: where its gripper is and what it holds (RoCo welds, not grasps)."""

    position: Vec3
    holding: str | None = None
