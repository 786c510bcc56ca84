"""Central Plan (RoCo's `--comm_mode plan`): one model sees everything and plans for all robots.

Decoding is constrained by `env.plan_schema()`, the legal actions of every robot now, so the
reply is always a well-formed plan; whether it passes the task rules and geometry is the
environment's verdict, fed back on the next attempt.
"""

from __future__ import annotations

from agents.robots import prompts
from agents.robots.planner import PlanContext, Planner, Proposal, Said, memory_text
from agents.robots.record import Emit, Event
from environments.rocobench import PlanError, RocoEnv, plan_from_json
from ioa.llm import DEFAULT_TEMPERATURE, Engine, EngineError

CENTRAL_AGENT = "central"
"""The engine's agent name for the planner (its KV prefix is reused from round to round)."""


class CentralPlanner(Planner):
    mode = "central"
    engine: Engine

    def __init__(self, engine: Engine, *, temperature: float = DEFAULT_TEMPERATURE) -> None:
        self.engine = engine
        self.temperature = temperature

    async def propose(self, ctx: PlanContext, emit: Emit) -> Proposal:
        messages = central_messages(ctx)
        try:
            value, _ = await self.engine.structured(
                messages,
                agent=CENTRAL_AGENT,
                schema=ctx.env.plan_schema(),
                temperature=self.temperature,
            )
            plan = plan_from_json(ctx.env, value)
        except (EngineError, PlanError) as exc:
            return Proposal(plan=None, calls=1, reason=str(exc), garbled=True)
        said = Said("planner", "plan", "", plan)
        emit(Event("say", ctx.step, ctx.attempt, "planner", "", {"type": "plan", "plan": plan}))
        return Proposal(plan=plan, chat=(said,), calls=1)


def central_messages(ctx: PlanContext) -> list[dict[str, str]]:
    env: RocoEnv = ctx.env
    system = prompts.CENTRAL_SYSTEM.format(instructions=env.action_instructions())
    user = prompts.CENTRAL_TURN.format(
        observation=env.full_observation(),
        memory=memory_text(ctx, chats=False),
        step=ctx.step,
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
