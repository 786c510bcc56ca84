"""RoCo Dialog (RoCo's default `--comm_mode dialog`): the robots talk round robin until EXECUTE.

RoCo's rules, as `DialogRound` keeps them:

- Robots speak in the task's fixed order (Alice, Bob, Chad...), one model call per turn, each
  with its *own* observation, the chat so far and (history on) the earlier rounds.
- A reply either proceeds (PROCEED) or ends the dialog with a plan (EXECUTE).
- On a step's first attempt an EXECUTE counts only once every robot has spoken; on a re-plan
  attempt any EXECUTE counts.
- At most `max_calls` (10) calls per dialog; the last call must EXECUTE.

Each reply is decoded under a schema: `{"type": "proceed", "text": ...}`, or, only when an
EXECUTE would count, `{"type": "execute", "text": ..., "plan": <env.plan_schema()>}`; on the last
call only the latter. So an EXECUTE is always a parseable plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents.robots import prompts
from agents.robots.errors import BadOptions, RobotTeamError
from agents.robots.planner import PlanContext, Planner, Proposal, Said, chat_text, memory_text
from agents.robots.record import Emit, Event
from environments.rocobench import PlanError, RocoEnv, plan_from_json
from ioa.llm import DEFAULT_TEMPERATURE, Engine, EngineError

MAX_CALLS = 10
"""RoCo's `max_calls_per_round`."""
TEXT_MAX = 160
"""Longest utterance, in characters (each one is decoded token by token on a CPU)."""


@dataclass
class DialogRound:
    """One dialog (one plan attempt) under RoCo's turn rules; pure, no model."""

    robots: tuple[str, ...]
    max_calls: int = MAX_CALLS
    open_execute: bool = False
    """Any EXECUTE counts, even before everyone spoke (re-plan attempts)."""
    chat: list[Said] = field(default_factory=list)
    plan: str | None = None
    """The EXECUTE that ended the dialog."""

    def __post_init__(self) -> None:
        if not self.robots or self.max_calls < 1:
            raise BadOptions("a dialog needs robots and at least one call")

    @property
    def calls(self) -> int:
        return len(self.chat)

    @property
    def over(self) -> bool:
        return self.plan is not None or self.calls >= self.max_calls

    @property
    def speaker(self) -> str:
        return self.robots[self.calls % len(self.robots)]

    @property
    def last_call(self) -> bool:
        return self.calls == self.max_calls - 1

    def may_execute(self) -> bool:
        """Whether an EXECUTE from the current speaker would end the dialog."""
        if self.open_execute or self.last_call:
            return True
        spoken = {s.robot for s in self.chat} | {self.speaker}
        return spoken >= set(self.robots)

    def add(self, said: Said) -> bool:
        """Record the current speaker's reply; True when its EXECUTE ends the dialog."""
        if self.over:
            raise RobotTeamError("the dialog is over")
        if said.robot != self.speaker:
            raise RobotTeamError(f"it is {self.speaker}'s turn, not {said.robot}'s")
        counts = said.plan is not None and self.may_execute()
        self.chat.append(said)
        if counts:
            self.plan = said.plan
        return counts


def utterance_schema(
    env: RocoEnv, *, proceed: bool, execute: bool, text_max: int = TEXT_MAX
) -> dict[str, Any]:
    """The JSON Schema of one dialog reply: PROCEED and/or EXECUTE alternatives."""
    text = {"type": "string", "maxLength": text_max}
    options = []
    if proceed:
        options.append(_object({"type": {"const": "proceed"}, "text": text}))
    if execute:
        options.append(
            _object({"type": {"const": "execute"}, "text": text, "plan": env.plan_schema()})
        )
    if not options:
        raise BadOptions("a reply must allow PROCEED or EXECUTE")
    return options[0] if len(options) == 1 else {"oneOf": options}


def _object(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


class DialogPlanner(Planner):
    mode = "dialog"
    engine: Engine

    def __init__(
        self,
        engine: Engine,
        *,
        max_calls: int = MAX_CALLS,
        text_max: int = TEXT_MAX,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> None:
        self.engine = engine
        self.max_calls = max_calls
        self.text_max = text_max
        self.temperature = temperature

    async def propose(self, ctx: PlanContext, emit: Emit) -> Proposal:
        env = ctx.env
        dialog = DialogRound(env.robots, self.max_calls, open_execute=not ctx.first_attempt)
        while not dialog.over:
            robot = dialog.speaker
            schema = utterance_schema(
                env,
                proceed=not dialog.last_call,
                execute=dialog.may_execute(),
                text_max=self.text_max,
            )
            said = await self._reply(ctx, dialog, robot, schema)
            counted = dialog.add(said)
            data = {"type": said.kind, "plan": said.plan, "counted": counted}
            emit(Event("say", ctx.step, ctx.attempt, robot, said.text, data))
        reason = "" if dialog.plan else f"no EXECUTE in {dialog.calls} calls"
        return Proposal(dialog.plan, tuple(dialog.chat), dialog.calls, reason)

    async def _reply(
        self, ctx: PlanContext, dialog: DialogRound, robot: str, schema: dict[str, Any]
    ) -> Said:
        messages = dialog_messages(ctx, dialog, robot)
        try:
            value, _ = await self.engine.structured(
                messages, agent=f"dialog:{robot}", schema=schema, temperature=self.temperature
            )
            plan = plan_from_json(ctx.env, value["plan"]) if value["type"] == "execute" else None
        except (EngineError, PlanError) as exc:
            return Said(robot, "invalid", f"(no valid reply: {exc})")
        return Said(robot, str(value["type"]), str(value["text"]), plan)


def dialog_messages(ctx: PlanContext, dialog: DialogRound, robot: str) -> list[dict[str, str]]:
    env = ctx.env
    others = [r for r in env.robots if r != robot]
    system = prompts.DIALOG_SYSTEM.format(
        observation=env.observation(robot),
        instructions=env.action_instructions(),
        others=" and ".join(others),
    )
    if dialog.last_call:
        advice = prompts.ADVICE_LAST
    elif dialog.may_execute():
        advice = prompts.ADVICE_OPEN
    else:
        advice = prompts.ADVICE_WAIT
    user = prompts.DIALOG_TURN.format(
        memory=memory_text(ctx), chat=chat_text(dialog.chat), advice=advice, robot=robot
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
