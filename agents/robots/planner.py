"""The contract between the episode runner and a mode: given the round's context, propose a plan.

A mode (Central Plan, RoCo Dialog, IoA, the scripted oracle) is a `Planner`. The runner
(`agents.robots.runner`) owns the episode: it asks for a plan, checks and executes it in the
environment, and on failure asks again with the feedback, up to RoCo's attempt limit. A planner
never touches the environment's state; it reads observations and schemas only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from agents.robots import prompts
from agents.robots.record import Emit
from environments.rocobench import ORACLES, RocoEnv
from ioa.llm import Engine


@dataclass(frozen=True)
class Said:
    """One utterance of a robot (or of the single planner)."""

    robot: str
    kind: str
    """`proceed`/`execute` (dialog), `discussion`/`conclude`/`conclusion` (IoA), `plan`."""
    text: str
    plan: str | None = None
    """The EXECUTE text this utterance carries, if any."""


@dataclass(frozen=True)
class Round:
    """A finished environment step, as the history remembers it."""

    step: int
    chat: tuple[Said, ...]
    plan: str | None
    """The executed plan; None when the step was skipped."""


@dataclass(frozen=True)
class PlanContext:
    """What a planner may know when it proposes a plan."""

    env: RocoEnv
    step: int
    """The environment step being planned, from 1."""
    attempt: int
    """This attempt at the step, from 1."""
    attempts: int
    """The most attempts the step gets."""
    feedback: tuple[str, ...] = ()
    """Environment feedback on this step's earlier attempts, oldest first."""
    previous: tuple[tuple[Said, ...], ...] = ()
    """The chats of this step's earlier attempts."""
    history: tuple[Round, ...] = ()
    """Earlier steps (empty when history is off)."""

    @property
    def first_attempt(self) -> bool:
        return self.attempt == 1


@dataclass(frozen=True)
class Proposal:
    """A planner's answer: the plan text, or None with the reason there is none."""

    plan: str | None
    chat: tuple[Said, ...] = ()
    calls: int = 0
    """Model calls it took."""
    reason: str = ""
    garbled: bool = False
    """No plan because the model's reply could not be read as one (counted as unparseable);
    otherwise a missing plan is a talk that ended without one."""


class Planner(ABC):
    """One mode. `begin`/`end` bracket an episode (the IoA mode starts its agents there)."""

    mode: ClassVar[str]
    engine: Engine | None = None
    """The model it thinks with, for token accounting (None for the oracle)."""

    async def begin(self, env: RocoEnv) -> None:
        """Prepare for an episode on `env`."""
        return None

    async def end(self) -> None:
        """Release what `begin` acquired."""
        return None

    def checks(self) -> tuple[int, int]:
        """Plans checked inside the conversation in this episode, and how many failed."""
        return (0, 0)

    @abstractmethod
    async def propose(self, ctx: PlanContext, emit: Emit) -> Proposal: ...


class OraclePlanner(Planner):
    """The task's scripted solver (`environments.rocobench.ORACLES`): the sanity row."""

    mode = "oracle"

    async def propose(self, ctx: PlanContext, emit: Emit) -> Proposal:
        plan = ORACLES[ctx.env.name](ctx.env).text()
        return Proposal(plan=plan, chat=(Said("oracle", "plan", "", plan),))


def chat_text(chat: tuple[Said, ...] | list[Said]) -> str:
    """A chat as prompt lines; an utterance's plan follows its words."""
    if not chat:
        return prompts.NO_CHAT
    lines = []
    for said in chat:
        words = " ".join(part for part in (said.text.strip(), said.plan or "") if part)
        lines.append(prompts.CHAT_LINE.format(robot=said.robot, text=words))
    return "\n".join(lines)


def memory_text(ctx: PlanContext, *, chats: bool = True) -> str:
    """History, earlier attempts and feedback, as RoCo orders them; empty when there is none."""
    parts = []
    if ctx.history:
        rounds = [
            prompts.HISTORY_ROUND.format(
                step=r.step,
                chat=("\n" + chat_text(r.chat)) if chats and r.chat else "",
                plan=r.plan.removeprefix("EXECUTE\n") if r.plan else prompts.HISTORY_SKIPPED,
            )
            for r in ctx.history
        ]
        parts.append(prompts.HISTORY_HEADER + "\n" + "\n".join(rounds))
    if chats and any(ctx.previous):
        tries = [
            prompts.PREVIOUS_ATTEMPT.format(attempt=i, chat="\n" + chat_text(chat))
            for i, chat in enumerate(ctx.previous, start=1)
        ]
        parts.append(prompts.PREVIOUS_HEADER + "\n" + "\n".join(tries))
    parts.extend(ctx.feedback)
    return "".join(p + "\n\n" for p in parts)
