"""What a plan check found, and the environment-feedback text the robots read next.

The text has RoCo's shape: the previous plan, then either the task rules that failed, or one block
per checked time step (the goal step(s), then each waypoint) naming what failed (reach, IK,
collision), for whom and where, then the path-evenness verdict. Runners put it into every robot's
next prompt; `Feedback.for_robot` keeps only the lines that concern one robot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from environments.rocobench import prompts
from environments.rocobench.geometry import Vec3, fmt


class FailureKind(StrEnum):
    PARSE = "parse"
    RULE = "rule"
    REACH = "reach"
    IK = "ik"
    COLLISION = "collision"
    SPAN = "span"
    """Rope only: the two grippers holding the rope moved too far apart or too close."""
    PATH = "path"
    """A path whose step lengths are not even enough."""


_STAGE_LABEL = {
    FailureKind.REACH: prompts.FEEDBACK_REACH,
    FailureKind.IK: prompts.FEEDBACK_IK,
    FailureKind.COLLISION: prompts.FEEDBACK_COLLISION,
    FailureKind.SPAN: prompts.FEEDBACK_SPAN,
}


@dataclass(frozen=True)
class Failure:
    """One thing that failed: its kind, the robots it concerns, and what exactly."""

    kind: FailureKind
    robots: tuple[str, ...]
    detail: str
    where: str = ""
    """The checked time step, e.g. `Goal step` or `Waypoint 2`; empty for rules and parsing."""
    point: Vec3 | None = None


@dataclass(frozen=True)
class StepCheck:
    """The checks of one time step: every robot's pose then, and what failed there."""

    label: str
    poses: Mapping[str, Vec3]
    failures: tuple[Failure, ...] = ()


@dataclass(frozen=True)
class Feedback:
    """The outcome of checking one plan; `passed` plans can be executed."""

    plan_lines: str
    rules: tuple[Failure, ...] = ()
    steps: tuple[StepCheck, ...] = ()
    path: tuple[Failure, ...] = ()
    parse: tuple[Failure, ...] = field(default=())

    @property
    def failures(self) -> tuple[Failure, ...]:
        stepped = tuple(f for s in self.steps for f in s.failures)
        return self.parse + self.rules + stepped + self.path

    @property
    def passed(self) -> bool:
        return not self.failures

    def kinds(self) -> set[FailureKind]:
        return {f.kind for f in self.failures}

    def text(self) -> str:
        out = [prompts.FEEDBACK_HEADER]
        if self.parse:
            out.append(prompts.FEEDBACK_PARSE.format(reason=self.parse[0].detail))
            return "\n".join(out)
        out.append(prompts.FEEDBACK_PREVIOUS_PLAN)
        out.append(self.plan_lines)
        if self.rules:
            out.append(
                prompts.FEEDBACK_RULES.format(reasons="; ".join(f.detail for f in self.rules))
            )
            return "\n".join(out)
        for step in self.steps:
            if not step.failures:
                continue
            poses = "; ".join(f"{r} {fmt(p)}" for r, p in step.poses.items())
            out.append(f"- {step.label} {poses}:")
            out.extend(f"    - {_STAGE_LABEL[f.kind]}: {f.detail}" for f in step.failures)
        out.extend(f"- {prompts.FEEDBACK_PATH}: {f.detail}" for f in self.path)
        if self.passed:
            out.append(prompts.FEEDBACK_PASSED)
        return "\n".join(out)

    def for_robot(self, robot: str) -> str:
        """The failures that concern `robot` (or everyone), one per line; empty if none."""
        lines = []
        for f in self.failures:
            if f.robots and robot not in f.robots:
                continue
            where = f"{f.where}: " if f.where else ""
            lines.append(f"- {f.kind.value}: {where}{f.detail}")
        return "\n".join(lines)


def parse_feedback(reason: str, robot: str | None) -> Feedback:
    failure = Failure(FailureKind.PARSE, (robot,) if robot else (), reason)
    return Feedback(plan_lines="", parse=(failure,))
