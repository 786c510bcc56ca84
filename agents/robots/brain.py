"""`RobotBrain`: a robot's decisions in an IoA group, from its own observation.

Like IoA's RoCoBench clients (`discussion_only`, observation fetched from the environment), a
robot only discusses and concludes; it never assigns tasks or forms teams. Discussion turns are
decoded under `protocols.moves.moves_schema` (so every move is legal), restricted to
`discussion`/`conclude`; `conclude` is offered once every other member has spoken (RoCo's rule
that a plan counts only after everyone spoke), and at the turn cap it is the only move. The robot
that concluded owes the conclusion: it decodes a plan under `env.plan_schema()` and sends the
EXECUTE text as the conclusion, which the runner reads, checks and executes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agents.brain import Brain, Line, Turn
from agents.robots import prompts
from agents.robots.dialog import TEXT_MAX
from environments.rocobench import PlanError, RocoEnv, plan_from_json
from ioa.llm import DEFAULT_TEMPERATURE, Engine, EngineError
from protocols.moves import moves_schema

ROBOT_MOVES = frozenset({"discussion", "conclude"})
NO_PLAN = "(no plan: {reason})"


class RobotBrain(Brain):
    """The brain of robot `robot` in `env` (read-only: the runner steps the environment)."""

    def __init__(
        self,
        engine: Engine,
        env: RocoEnv,
        robot: str,
        *,
        text_max: int = TEXT_MAX,
        temperature: float = DEFAULT_TEMPERATURE,
    ) -> None:
        self.engine = engine
        self.env = env
        self.robot = robot
        self.text_max = text_max
        self.temperature = temperature

    @property
    def agent(self) -> str:
        """The engine's agent name: one KV prefix per robot, reused from turn to turn."""
        return f"ioa:{self.robot}"

    async def move(self, turn: Turn) -> dict[str, Any]:
        if "conclusion" in turn.legal.types:
            return {"type": "conclusion", "text": await self._plan(turn)}
        everyone = _others_spoke(turn)
        allowed = ROBOT_MOVES if everyone or turn.legal.at_turn_limit else {"discussion"}
        legal = replace(turn.legal, moves=tuple(m for m in turn.legal.moves if m.type in allowed))
        if turn.legal.at_turn_limit:
            advice = prompts.IOA_ADVICE_LAST
        elif everyone:
            advice = prompts.IOA_ADVICE_CONCLUDE
        else:
            advice = prompts.IOA_ADVICE_TALK
        move, _ = await self.engine.structured(
            self._messages(turn, advice),
            agent=self.agent,
            schema=moves_schema(legal, text_max=self.text_max),
            temperature=self.temperature,
        )
        return dict(move)

    async def _plan(self, turn: Turn) -> str:
        try:
            value, _ = await self.engine.structured(
                self._messages(turn, prompts.IOA_ADVICE_PLAN),
                agent=self.agent,
                schema=self.env.plan_schema(),
                temperature=self.temperature,
            )
            return plan_from_json(self.env, value)
        except (EngineError, PlanError) as exc:
            return NO_PLAN.format(reason=exc)

    def _messages(self, turn: Turn, advice: str) -> list[dict[str, str]]:
        others = [r for r in self.env.robots if r != self.robot]
        system = prompts.IOA_SYSTEM.format(
            observation=self.env.observation(self.robot),
            instructions=self.env.action_instructions(),
            others=" and ".join(others),
        )
        team = ", ".join(f"{name}: {member}" for member, name in turn.names.items())
        user = prompts.IOA_TURN.format(
            goal=turn.goal, team=team, chat=_chat(turn.transcript), advice=advice
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _others_spoke(turn: Turn) -> bool:
    spoken = {line.sender for line in turn.transcript if line.type == "discussion"}
    others = {name for member, name in turn.names.items() if member != turn.me}
    return others <= spoken


def _chat(transcript: list[Line]) -> str:
    said = [
        prompts.CHAT_LINE.format(robot=line.sender, text=line.text)
        for line in transcript
        if line.type in ROBOT_MOVES and line.text
    ]
    return "\n".join(said) or prompts.NO_CHAT
