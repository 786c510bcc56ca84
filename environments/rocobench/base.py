"""The environment contract every task implements, and RoCo's validation order.

One `step` is one environment step of RoCo: a parsed plan is checked in RoCo's order — task
rules; then, for each goal step, reach (the exact AABB), the IK surrogate and the collision
surrogate, stopping at the first stage that fails; then in path mode the same per waypoint and,
if every waypoint passed, the evenness of each path — and executed only if every check passed.
An invalid plan changes nothing and does not count as a step; a runner that gives up after its
re-plans calls `skip_step()`, which counts the step with nothing executed, as RoCo does.

Execution is symbolic and deterministic (see each task's module for what is lost against MuJoCo):
a plan that passes always executes; RoCo's motion-planning failures after validation are not
modelled.
"""

from __future__ import annotations

import itertools
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from environments.rocobench import prompts
from environments.rocobench.errors import EpisodeOver, PlanError, UnknownRobotName
from environments.rocobench.feedback import (
    Failure,
    FailureKind,
    Feedback,
    StepCheck,
    parse_feedback,
)
from environments.rocobench.geometry import Vec3, dist, fmt, pstdev, step_lengths
from environments.rocobench.plan import Grammar, Plan, parse_plan
from environments.rocobench.robots import Gripper, Robot
from environments.rocobench.schema import Option, action_schema, plan_schema


@dataclass(frozen=True)
class StepResult:
    """What one call of `step` did."""

    valid: bool
    """The plan parsed and passed every check."""
    executed: bool
    feedback: str
    """RoCo-shaped environment feedback, for every robot's next prompt."""
    robot_feedback: Mapping[str, str]
    """Per robot, only the failures that concern it (empty when none)."""
    failures: tuple[Failure, ...]
    error: PlanError | None
    """The parse error, when the plan text did not follow the contract."""
    success: bool
    done: bool
    steps: int
    """Environment steps used so far (executed and skipped)."""


@dataclass(frozen=True)
class StepRecord:
    """One entry of `history`: an executed plan, or a skipped step (`plan` is None)."""

    step: int
    plan: str | None
    success: bool


class RocoEnv(ABC):
    """A seeded, symbolic RoCoBench-style task. Same `seed` → same scene and texts.

    Subclasses set the class facts, build the scene in `_reset_scene`, and implement the
    task rules, the goal poses of each action, its symbolic effect and the success test.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    grammar: ClassVar[Grammar]
    max_steps: ClassVar[int] = 10
    evenness_threshold: ClassVar[float] = 1.0
    """RoCo's `waypoint_std_threshold` (its default is 1.0; Pack 0.19, Rope 0.3)."""
    height_band: ClassVar[tuple[float, float] | None] = None
    """Path mode: every waypoint's z must lie in this band."""
    min_gap: ClassVar[float] = 0.1
    """Two grippers closer than this at the same time index collide."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.specs: dict[str, Robot] = {}
        self.grippers: dict[str, Gripper] = {}
        self.steps = 0
        self.history: list[StepRecord] = []
        self.reset()

    # ---- lifecycle -------------------------------------------------------------------------

    def reset(self) -> None:
        """Rebuild the scene from the seed and forget every step."""
        self.steps = 0
        self.history = []
        self._reset_scene(random.Random(f"{self.name}:{self.seed}"))

    @property
    def robots(self) -> tuple[str, ...]:
        return tuple(self.specs)

    @property
    def path_mode(self) -> bool:
        return self.grammar.path_mode

    def success(self) -> bool:
        return self._success()

    @property
    def done(self) -> bool:
        return self.success() or self._failed() or self.steps >= self.max_steps

    # ---- texts -----------------------------------------------------------------------------

    @abstractmethod
    def observation(self, robot: str) -> str:
        """This robot's own, partial view of the task and the scene, as RoCo prompts it."""

    @abstractmethod
    def full_observation(self) -> str:
        """Everything, for a single planner that plans for all robots (Central Plan)."""

    def action_instructions(self) -> str:
        """The action options and the output contract (with the path rules in path mode)."""
        text = (
            prompts.ACTION_OPTIONS[self.name]
            + "\n"
            + prompts.OUTPUT_INSTRUCTION.format(example=prompts.PLAN_EXAMPLES[self.name])
        )
        if self.path_mode:
            text += "\n" + prompts.PATH_INSTRUCTION
        return text

    # ---- plans -----------------------------------------------------------------------------

    def parse(self, text: str) -> Plan:
        return parse_plan(text, self.robots, self.grammar)

    def check(self, plan: Plan | str) -> Feedback:
        """Validate without executing; raises `PlanError` for text that does not parse."""
        plan = self._coerce(plan)
        rules = self._gripper_rules(plan) + self._task_rules(plan)
        if rules:
            return Feedback(plan_lines=plan.lines(), rules=tuple(rules))
        goals = self._goal_segments(plan)
        count = max(len(s) for s in goals.values())
        steps = []
        for i in range(count):
            poses = {r: seg[min(i, len(seg) - 1)] for r, seg in goals.items()}
            label = prompts.GOAL_STEP + (f" {i + 1}" if count > 1 else "")
            steps.append(self._check_poses(plan, poses, label, waypoint=False))
        path: list[Failure] = []
        if self.path_mode:
            waypoint_steps = []
            for k in range(len(plan.actions[0].path or ())):
                poses = {a.robot: (a.path or ())[k] for a in plan.actions}
                waypoint_steps.append(
                    self._check_poses(plan, poses, f"{prompts.WAYPOINT} {k + 1}", waypoint=True)
                )
            steps.extend(waypoint_steps)
            if not any(s.failures for s in waypoint_steps):
                path = self._evenness(plan, goals)
        return Feedback(plan_lines=plan.lines(), steps=tuple(steps), path=tuple(path))

    def step(self, plan: Plan | str) -> StepResult:
        """Check `plan` and, if it passes, execute it as the next environment step.

        Text that does not parse comes back as an invalid result (its `error` set), never as an
        exception; a `Plan` object is rendered and parsed again, so both take the same path.
        """
        if self.done:
            raise EpisodeOver()
        try:
            parsed = self._coerce(plan)
        except PlanError as err:
            return self._result(parse_feedback(err.message, err.robot), executed=False, error=err)
        feedback = self.check(parsed)
        if feedback.passed:
            self._apply(parsed)
            self.steps += 1
            self.history.append(StepRecord(self.steps, parsed.text(), self.success()))
        return self._result(feedback, executed=feedback.passed, error=None)

    def skip_step(self) -> StepResult:
        """Count a step in which nothing executed (every re-plan of the step failed)."""
        if self.done:
            raise EpisodeOver()
        self.steps += 1
        self.history.append(StepRecord(self.steps, None, self.success()))
        return self._result(Feedback(plan_lines=""), executed=False, error=None)

    # ---- legal moves -----------------------------------------------------------------------

    @abstractmethod
    def legal_options(self, robot: str) -> list[Option]:
        """The forms this robot may use now, with the names valid for each slot."""

    def action_schema(self, robot: str) -> dict[str, Any]:
        spec = self._spec(robot)
        band = self.height_band if self.path_mode else None
        return action_schema(self.grammar, robot, self.legal_options(robot), spec.reach, band)

    def plan_schema(self) -> dict[str, Any]:
        return plan_schema({r: self.action_schema(r) for r in self.robots})

    # ---- task hooks ------------------------------------------------------------------------

    @abstractmethod
    def _reset_scene(self, rng: random.Random) -> None:
        """Fill `specs`, `grippers` and the task state from `rng`."""

    @abstractmethod
    def _task_rules(self, plan: Plan) -> list[Failure]:
        """RoCo's `get_task_feedback` plus the task's symbolic preconditions."""

    @abstractmethod
    def _goal_segments(self, plan: Plan) -> dict[str, list[Vec3]]:
        """Each robot's target gripper positions, one per motion segment of its action."""

    @abstractmethod
    def _apply(self, plan: Plan) -> None:
        """The symbolic effect of a validated plan."""

    @abstractmethod
    def _success(self) -> bool: ...

    def _failed(self) -> bool:
        """A state from which the task counts as failed at once (Sandwich's wrong first item)."""
        return False

    def _obstacle_hits(
        self, plan: Plan, poses: Mapping[str, Vec3], waypoint: bool
    ) -> list[tuple[str, str]]:
        """Pairs (robot or held object, obstacle) in collision at these poses."""
        return []

    def _span_failures(self, plan: Plan, poses: Mapping[str, Vec3], where: str) -> list[Failure]:
        return []

    # ---- helpers for tasks -----------------------------------------------------------------

    def _spec(self, robot: str) -> Robot:
        if robot not in self.specs:
            raise UnknownRobotName(f"'{robot}' is not a robot in {self.name}: {self.robots}")
        return self.specs[robot]

    def _ik_ok(self, plan: Plan, robot: str, point: Vec3) -> bool:
        return self.specs[robot].solves(point)

    def holder_of(self, obj: str) -> str | None:
        return next((r for r, g in self.grippers.items() if g.holding == obj), None)

    @staticmethod
    def _rule(robot: str | None, detail: str) -> Failure:
        return Failure(FailureKind.RULE, (robot,) if robot else (), detail)

    # ---- internals -------------------------------------------------------------------------

    def _coerce(self, plan: Plan | str) -> Plan:
        return self.parse(plan if isinstance(plan, str) else plan.text())

    def _gripper_rules(self, plan: Plan) -> list[Failure]:
        """The parser-level preconditions RoCo checks for every task: grippers and ownership."""
        out = []
        picked: dict[str, str] = {}
        for a in plan.actions:
            grip = self.grippers[a.robot]
            if a.form.startswith("PICK") and a.object is not None:
                if grip.holding is not None and grip.holding != a.object:
                    out.append(
                        self._rule(
                            a.robot,
                            prompts.RULE_GRIPPER_FULL.format(
                                robot=a.robot, held=grip.holding, obj=a.object
                            ),
                        )
                    )
                owner = self.holder_of(a.object)
                if owner is not None and owner != a.robot:
                    out.append(
                        self._rule(
                            a.robot,
                            prompts.RULE_HELD_BY_OTHER.format(
                                robot=a.robot, obj=a.object, owner=owner
                            ),
                        )
                    )
                if a.object in picked:
                    out.append(
                        self._rule(
                            a.robot,
                            prompts.RULE_SAME_PICK.format(
                                robot=a.robot, other=picked[a.object], obj=a.object
                            ),
                        )
                    )
                picked[a.object] = a.robot
        return out

    def _check_poses(
        self, plan: Plan, poses: Mapping[str, Vec3], label: str, waypoint: bool
    ) -> StepCheck:
        out: list[Failure] = []
        for robot, p in poses.items():
            spec = self.specs[robot]
            if not spec.reaches(p):
                out.append(
                    Failure(
                        FailureKind.REACH,
                        (robot,),
                        prompts.REACH_OUT.format(robot=robot, point=fmt(p)),
                        label,
                        p,
                    )
                )
            elif (
                waypoint
                and self.height_band is not None
                and not (self.height_band[0] <= p[2] <= self.height_band[1])
            ):
                lo, hi = self.height_band
                out.append(
                    Failure(
                        FailureKind.REACH,
                        (robot,),
                        prompts.REACH_BAND.format(robot=robot, point=fmt(p), lo=lo, hi=hi),
                        label,
                        p,
                    )
                )
        if not out:
            for robot, p in poses.items():
                if not self._ik_ok(plan, robot, p):
                    out.append(
                        Failure(
                            FailureKind.IK,
                            (robot,),
                            prompts.IK_FAILED.format(robot=robot, point=fmt(p)),
                            label,
                            p,
                        )
                    )
        if not out:
            pairs = [
                (a, b)
                for a, b in itertools.combinations(poses, 2)
                if dist(poses[a], poses[b]) < self.min_gap
            ]
            pairs += self._obstacle_hits(plan, poses, waypoint)
            if pairs:
                names = tuple(dict.fromkeys(n for pair in pairs for n in pair if n in poses))
                detail = prompts.COLLISION_PAIRS.format(
                    pairs=", ".join(f"{a}-{b}" for a, b in pairs)
                )
                out.append(Failure(FailureKind.COLLISION, names, detail, label))
        if not out:
            out.extend(self._span_failures(plan, poses, label))
        return StepCheck(label=label, poses=dict(poses), failures=tuple(out))

    def _evenness(self, plan: Plan, goals: Mapping[str, list[Vec3]]) -> list[Failure]:
        out = []
        for a in plan.actions:
            path = [self.grippers[a.robot].position, *(a.path or ()), goals[a.robot][-1]]
            lengths = step_lengths(path)
            spread = pstdev(lengths)
            if spread <= self.evenness_threshold:
                continue
            hi = max(range(len(lengths)), key=lengths.__getitem__)
            lo = min(range(len(lengths)), key=lengths.__getitem__)
            detail = prompts.PATH_UNEVEN.format(
                robot=a.robot,
                long_pair=f"{fmt(path[hi])}-{fmt(path[hi + 1])}",
                long=lengths[hi],
                short_pair=f"{fmt(path[lo])}-{fmt(path[lo + 1])}",
                short=lengths[lo],
                std=spread,
                limit=self.evenness_threshold,
            )
            out.append(Failure(FailureKind.PATH, (a.robot,), detail))
        return out

    def _result(self, feedback: Feedback, executed: bool, error: PlanError | None) -> StepResult:
        return StepResult(
            valid=feedback.passed and error is None,
            executed=executed,
            feedback=feedback.text() if feedback.plan_lines or feedback.parse else "",
            robot_feedback={r: feedback.for_robot(r) for r in self.robots},
            failures=feedback.failures,
            error=error,
            success=self.success(),
            done=self.done,
            steps=self.steps,
        )
