"""IoA mode: every robot is a hub agent; each plan attempt is one "ioa" group conversation.

The robots (`agents.runtime.Agent` with a `RobotBrain`) join one group per attempt, talk under
the conversation protocol the hub enforces (the model picks who speaks next, as in IoA), and the
robot that concludes sends the EXECUTE plan as the conclusion. The runner checks that plan in the
environment; on failure the next attempt opens a new group whose goal carries the feedback.

One group per attempt, not per episode: in the hub's protocol a conclusion is terminal and
carries exactly one answer, so one group is one EXECUTE. This matches IoA's own RoCoBench setup
for Cabinet and Rope (a new group chat every step); what IoA kept across steps for the other
tasks, the executed plans and chats of earlier rounds, travels here in the next group's goal
(history on), so each group's transcript on the hub stands alone and can be replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from agents.robots import prompts
from agents.robots.brain import RobotBrain
from agents.robots.dialog import MAX_CALLS, TEXT_MAX
from agents.robots.errors import RobotTeamError
from agents.robots.planner import PlanContext, Planner, Proposal, Said, memory_text
from agents.robots.record import Emit, Event
from agents.runtime import Agent
from environments.rocobench import RocoEnv
from environments.rocobench.robots import MODEL_DESCRIPTIONS
from ioa.llm import DEFAULT_TEMPERATURE, Engine
from protocols import HUB_SENDER, AgentCard, Envelope, ModelFacts, Skill

GROUP_TIMEOUT = 1800.0
"""Seconds one group may take before the attempt is given up (a guard, not a rule)."""


class IoAPlanner(Planner):
    mode = "ioa"
    engine: Engine

    def __init__(
        self,
        engine: Engine,
        hub_url: str,
        *,
        max_turns: int = MAX_CALLS,
        text_max: int = TEXT_MAX,
        temperature: float = DEFAULT_TEMPERATURE,
        model: ModelFacts | None = None,
        group_timeout: float = GROUP_TIMEOUT,
    ) -> None:
        self.engine = engine
        self.hub_url = hub_url
        self.max_turns = max_turns
        self.text_max = text_max
        self.temperature = temperature
        self.model = model
        self.group_timeout = group_timeout
        self.groups: list[str] = []
        """Every group opened, in order (their transcripts stay on the hub)."""
        self._agents: dict[str, Agent] = {}
        self._names: dict[str, str] = {}
        self._stack: contextlib.AsyncExitStack | None = None

    async def begin(self, env: RocoEnv) -> None:
        self._stack = contextlib.AsyncExitStack()
        for robot in env.robots:
            brain = RobotBrain(
                self.engine, env, robot, text_max=self.text_max, temperature=self.temperature
            )
            agent = Agent(self._card(env, robot), brain, self.hub_url)
            self._agents[robot] = await self._stack.enter_async_context(agent)
            self._names[agent.id] = robot

    async def end(self) -> None:
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
            "max_turns": self.max_turns,
            "task": env.name,
            "step": ctx.step,
            "attempt": ctx.attempt,
            "feedback": ctx.feedback[-1] if ctx.feedback else "",
        }
        group = await lead.launch(goal, roster=[a.id for a in others], meta=meta)
        self.groups.append(group)
        emit(Event("say", ctx.step, ctx.attempt, "hub", goal, {"type": "goal", "group": group}))
        chat = await self._follow(lead, group, ctx, emit)
        ending = next((s for s in chat if s.kind == "conclusion"), None)
        plan = ending.plan if ending is not None else None
        reason = "" if plan else f"no conclusion within {self.group_timeout:.0f} s"
        if ending is not None and ending.plan is None:
            reason = ending.text  # the hub ended the group, and its conclusion says why
        return Proposal(plan, tuple(chat), sum(s.kind != "conclusion" for s in chat), reason)

    async def _follow(self, lead: Agent, group: str, ctx: PlanContext, emit: Emit) -> list[Said]:
        """The group's messages as the lead receives them, until its conclusion."""
        chat: list[Said] = []
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
                    data: dict[str, Any] = {
                        "type": said.kind,
                        "plan": said.plan,
                        "group": group,
                        "seq": envelope.seq,
                    }
                    if envelope.to:
                        data["to"] = [self._names.get(t, t) for t in envelope.to]
                    emit(Event("say", ctx.step, ctx.attempt, said.robot, said.text, data))
        return chat

    def _said(self, envelope: Envelope) -> Said | None:
        robot = self._names.get(envelope.sender, envelope.sender)
        text = str(getattr(envelope.payload, "text", ""))
        if envelope.type == "conclusion" and envelope.sender == HUB_SENDER:
            return Said(robot, "conclusion", text)  # the members ran out: a reason, not a plan
        if envelope.type == "conclusion":
            return Said(robot, "conclusion", "", text)
        if envelope.type in ("discussion", "conclude", "timeout"):
            return Said(robot, envelope.type, text)
        return None

    def _card(self, env: RocoEnv, robot: str) -> AgentCard:
        model = MODEL_DESCRIPTIONS[env.specs[robot].model]
        return AgentCard(
            name=robot,
            description=prompts.IOA_ROLE.format(robot=robot, model=model, task=env.name),
            skills=[Skill(name=f"robot {env.name}", tags=["robot", env.name])],
            model=self.model,
        )


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
