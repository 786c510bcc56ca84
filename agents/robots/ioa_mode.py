"""IoA mode: every robot is a hub agent; each plan attempt is one group conversation, checked.

The robots (`agents.runtime.Agent` with a `RobotBrain`) and an environment checker (`EnvChecker`,
model-free) join one group per attempt. Under the hub's `ioa` protocol with meta `checker`, the
robots build a joint plan from each robot's own choice (a draft with the proposer's action, then
each teammate amending its own line), the checker answers each with the environment's verdict, the
robots object (with its reasons) or accept, and the conclusion can only carry a plan that passed:
the hub refuses anything else. Under `dialectic` (the dialectic mode), the same team runs RoCo's
PROCEED/EXECUTE round robin through the hub, EXECUTE ending the talk only once its check passed.
The runner executes the concluded plan in the environment, which therefore never sees a plan the
check would reject (unless the talk ran out of turns first: then there is no plan).

One group per attempt, not per episode: a conclusion is terminal. What IoA kept across steps
(earlier rounds, feedback) travels in the next group's goal, so each transcript on the hub stands
alone and can be replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from agents.robots import prompts
from agents.robots.brain import RobotBrain, summary
from agents.robots.checker import CHECKER_NAME, EnvChecker
from agents.robots.chooser import Decoding
from agents.robots.errors import RobotTeamError
from agents.robots.options import Prior, plan_from_texts
from agents.robots.planner import PlanContext, Planner, Proposal, Said, memory_text
from agents.robots.record import Emit, Event
from agents.runtime import Agent
from environments.rocobench import PlanError, RocoEnv
from environments.rocobench.robots import MODEL_DESCRIPTIONS
from ioa.llm import Engine
from protocols import HUB_SENDER, AgentCard, Envelope, ModelFacts, Skill

GROUP_TIMEOUT = 1800.0
"""Seconds one group may take before the attempt is given up (a guard, not a rule)."""
IOA_TURNS = 24
"""Turns per group: three robots need about 3 proposals + 3 checks + 2 acceptances + conclude."""
ACTION_TEXT_MAX = 400


class IoAPlanner(Planner):
    mode = "ioa"
    engine: Engine

    def __init__(
        self,
        engine: Engine,
        hub_url: str,
        *,
        protocol: str = "ioa",
        max_turns: int = IOA_TURNS,
        decoding: Decoding = "score",
        prior: Prior = "best",
        model: ModelFacts | None = None,
        group_timeout: float = GROUP_TIMEOUT,
    ) -> None:
        self.engine = engine
        self.hub_url = hub_url
        self.protocol = protocol
        self.mode = "dialectic" if protocol == "dialectic" else "ioa"  # type: ignore[misc]
        self.max_turns = max_turns
        self.decoding = decoding
        self.prior = prior
        self.model = model
        self.group_timeout = group_timeout
        self.groups: list[str] = []
        """Every group opened, in order (their transcripts stay on the hub)."""
        self.checker: EnvChecker | None = None
        self.rejections = 0
        """Moves of the team the hub refused, over every episode (0: every move was legal)."""
        self._agents: dict[str, Agent] = {}
        self._checker_id = ""
        self._names: dict[str, str] = {}
        self._stack: contextlib.AsyncExitStack | None = None

    async def begin(self, env: RocoEnv) -> None:
        self._stack = contextlib.AsyncExitStack()
        for robot in env.robots:
            brain = RobotBrain(self.engine, env, robot, decoding=self.decoding, prior=self.prior)
            agent = Agent(self._card(env, robot), brain, self.hub_url)
            self._agents[robot] = await self._stack.enter_async_context(agent)
            self._names[agent.id] = robot
        self.checker = EnvChecker(env)
        card = AgentCard(
            name=CHECKER_NAME,
            description=prompts.CHECKER_ROLE.format(task=env.name),
            skills=[Skill(name=f"check {env.name}", tags=["checker", env.name])],
        )
        checker = await self._stack.enter_async_context(Agent(card, self.checker, self.hub_url))
        self._checker_id = checker.id
        self._names[checker.id] = CHECKER_NAME

    def checks(self) -> tuple[int, int]:
        if self.checker is None:
            return (0, 0)
        return (self.checker.checks, self.checker.failed)

    async def end(self) -> None:
        self.rejections += sum(a.rejections for a in self._agents.values())
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = None
        self._agents.clear()
        self._names.clear()

    async def propose(self, ctx: PlanContext, emit: Emit) -> Proposal:
        if not self._agents:
            raise RobotTeamError("the IoA team is not started: call begin(env) first")
        env = ctx.env
        lead, *others = (self._agents[r] for r in env.robots)
        goal = ioa_goal(ctx)
        meta = {
            "protocol": self.protocol,
            "checker": self._checker_id,
            "content_schema": content_schema(env),
            "max_turns": self.max_turns,
            "task": env.name,
            "step": ctx.step,
            "attempt": ctx.attempt,
        }
        roster = [a.id for a in others] + [self._checker_id]
        group = await lead.launch(goal, roster=roster, meta=meta)
        self.groups.append(group)
        emit(Event("say", ctx.step, ctx.attempt, "hub", goal, {"type": "goal", "group": group}))
        chat = await self._follow(lead, group, ctx, emit)
        ending = next((s for s in chat if s.kind == "conclusion"), None)
        plan = ending.plan if ending is not None else None
        reason = "" if plan else f"no conclusion within {self.group_timeout:.0f} s"
        if ending is not None and ending.plan is None:
            reason = ending.text
        calls = sum(s.kind not in ("conclusion", "check_result") for s in chat)
        return Proposal(plan, tuple(chat), calls, reason)

    async def _follow(self, lead: Agent, group: str, ctx: PlanContext, emit: Emit) -> list[Said]:
        """The group's messages as the lead receives them, until its conclusion."""
        chat: list[Said] = []
        plans: dict[str, dict[str, Any]] = {}
        with contextlib.suppress(TimeoutError):
            async with (
                asyncio.timeout(self.group_timeout),
                contextlib.aclosing(lead.follow(group)) as messages,
            ):
                async for envelope in messages:
                    said = self._said(envelope)
                    if said is None:
                        continue
                    chat.append(said)
                    if envelope.type == "execute":
                        pid = str(getattr(envelope.payload, "proposal_id", ""))
                        plans[pid] = dict(getattr(envelope.payload, "content", {}) or {})
                    data: dict[str, Any] = {
                        "type": said.kind,
                        "plan": said.plan,
                        "group": group,
                        "seq": envelope.seq,
                    }
                    if envelope.to:
                        data["to"] = [self._names.get(t, t) for t in envelope.to]
                    emit(Event("say", ctx.step, ctx.attempt, said.robot, said.text, data))
                    ending = self._executed(envelope, plans, ctx.env)
                    if ending is not None:  # a checked EXECUTE ends a dialectic group
                        chat.append(ending)
                        data = {"type": "conclusion", "plan": ending.plan, "group": group}
                        emit(Event("say", ctx.step, ctx.attempt, "hub", "", data))
                        break
        return chat

    def _executed(
        self, envelope: Envelope, plans: dict[str, dict[str, Any]], env: RocoEnv
    ) -> Said | None:
        """The plan a passed check of an EXECUTE commits the dialectic group to."""
        if envelope.type != "check_result" or not getattr(envelope.payload, "passed", False):
            return None
        content = plans.get(str(getattr(envelope.payload, "proposal_id", "")))
        if content is None:
            return None
        try:
            plan = plan_from_texts(env, {r: str(v) for r, v in content.items()})
        except PlanError as exc:
            return Said(HUB_SENDER, "conclusion", f"(no plan: {exc})")
        return Said(HUB_SENDER, "conclusion", "", plan.text())

    def _said(self, envelope: Envelope) -> Said | None:
        who = self._names.get(envelope.sender, envelope.sender)
        payload = envelope.payload
        kind = envelope.type
        if kind == "conclusion":
            text = str(getattr(payload, "text", ""))
            if envelope.sender == HUB_SENDER or not text.startswith("EXECUTE"):
                return Said(who, "conclusion", text)  # no checked plan: a reason, not a plan
            return Said(who, "conclusion", "", text)
        if kind in ("proposal", "execute"):
            content = getattr(payload, "content", {}) or {}
            bare = {r: str(v).split(" PATH ", 1)[0] for r, v in content.items()}
            pid = getattr(payload, "proposal_id", "")
            return Said(who, kind, f"[{pid}] {summary(bare)}")
        if kind == "check_result":
            pid = getattr(payload, "proposal_id", "")
            if getattr(payload, "passed", False):
                return Said(who, kind, f"[{pid}] passed")
            reasons = "; ".join(getattr(payload, "reasons", []) or ["not checked"])
            return Said(who, kind, f"[{pid}] failed: {reasons}")
        if kind == "objection":
            pid = getattr(payload, "proposal_id", "")
            return Said(who, kind, f"[{pid}] {getattr(payload, 'reason', '')}")
        if kind == "acceptance":
            return Said(who, kind, f"[{getattr(payload, 'proposal_id', '')}]")
        if kind in ("conclude", "proceed", "discussion", "timeout"):
            return Said(who, kind, str(getattr(payload, "text", "")))
        return None

    def _card(self, env: RocoEnv, robot: str) -> AgentCard:
        model = MODEL_DESCRIPTIONS[env.specs[robot].model]
        return AgentCard(
            name=robot,
            description=prompts.IOA_ROLE.format(robot=robot, model=model, task=env.name),
            skills=[Skill(name=f"robot {env.name}", tags=["robot", env.name])],
            model=self.model,
        )


def content_schema(env: RocoEnv) -> dict[str, Any]:
    """A plan's content in the group: one action text (with its path, in path mode) per robot."""
    action = {"type": "string", "minLength": 1, "maxLength": ACTION_TEXT_MAX}
    return {
        "type": "object",
        "properties": {r: action for r in env.robots},
        "required": list(env.robots),
        "additionalProperties": False,
    }


def ioa_goal(ctx: PlanContext) -> str:
    """The group's goal: the round and, before it, history, earlier attempts and feedback."""
    head = prompts.IOA_GOAL.format(
        task=ctx.env.name,
        step=ctx.step,
        attempt=ctx.attempt,
        attempts=ctx.attempts,
        robots=", ".join(ctx.env.robots),
    )
    return memory_text(ctx) + head
