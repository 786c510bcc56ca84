"""The episode loop every mode shares, with RoCo's semantics.

Each environment step ("round"): ask the planner for a plan; check and execute it in the
environment; if it fails (it does not parse, or a rule, reach, IK, collision or path check fails),
ask again with the feedback, up to `attempts` plans per step (RoCo's `num_replans`, default 5).
If no plan passes, the step is skipped: nothing executes, but it counts against the budget. The
episode ends at success, at a failure state, when the task's step budget is spent, or at an
optional lower cap (`max_steps`) for slow machines.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from agents.robots import prompts
from agents.robots.errors import BadOptions
from agents.robots.planner import PlanContext, Planner, Proposal, Round, Said
from agents.robots.record import Emit, EpisodeRecord, Event, ignore
from environments.rocobench import RocoEnv, StepResult
from ioa.llm import AgentStats

DEFAULT_ATTEMPTS = 5
"""RoCo's `--num_replans` default: plans tried per step, the first included."""


@dataclass(frozen=True)
class EpisodeOptions:
    attempts: int = DEFAULT_ATTEMPTS
    """Plans tried per step before the step is skipped (1 = RoCo's "w/o feedback")."""
    history: bool = True
    """Show earlier rounds (their chats and executed plans) in every prompt."""
    history_rounds: int = 3
    """At most this many latest rounds are shown, to keep prompts short on small CPUs."""
    max_steps: int | None = None
    """Stop after this many steps even if the task's budget is larger (None: the budget)."""

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.history_rounds < 0:
            raise BadOptions("attempts must be at least 1 and history_rounds not negative")
        if self.max_steps is not None and self.max_steps < 1:
            raise BadOptions("max_steps must be at least 1")


async def run_episode(
    env: RocoEnv,
    planner: Planner,
    options: EpisodeOptions | None = None,
    emit: Emit = ignore,
) -> EpisodeRecord:
    """Play one episode of `env` (from its current state) with `planner`; its record."""
    options = options or EpisodeOptions()
    record = EpisodeRecord(task=env.name, mode=planner.mode, seed=env.seed)

    def say(event: Event) -> None:
        record.events.append(event)
        emit(event)

    before = _stats(planner)
    started = time.perf_counter()
    say(
        Event(
            "episode",
            text=env.title,
            data={
                "task": env.name,
                "mode": planner.mode,
                "seed": env.seed,
                "robots": list(env.robots),
                "budget": env.max_steps,
                "cap": options.max_steps,
            },
        )
    )
    history: list[Round] = []
    await planner.begin(env)
    try:
        while not env.done and not _capped(env, options):
            history.append(await _play_step(env, planner, options, history, record, say))
    finally:
        await planner.end()
    after = _stats(planner)
    record.success = env.success()
    record.steps = env.steps
    record.capped = not env.done
    record.calls = after.calls - before.calls
    record.prompt_tokens = after.prompt_tokens - before.prompt_tokens
    record.completion_tokens = after.completion_tokens - before.completion_tokens
    record.scored_tokens = after.scored_tokens - before.scored_tokens
    record.model_seconds = after.seconds - before.seconds
    record.checks, record.checks_failed = planner.checks()
    record.seconds = time.perf_counter() - started
    say(
        Event(
            "end",
            step=env.steps,
            text="success" if record.success else "failure",
            data={"success": record.success, "steps": env.steps, "capped": record.capped},
        )
    )
    return record


async def _play_step(
    env: RocoEnv,
    planner: Planner,
    options: EpisodeOptions,
    history: list[Round],
    record: EpisodeRecord,
    say: Emit,
) -> Round:
    step = env.steps + 1
    shown = tuple(history[-options.history_rounds :]) if options.history else ()
    feedback: list[str] = []
    previous: list[tuple[Said, ...]] = []
    chat: tuple[Said, ...] = ()
    for attempt in range(1, options.attempts + 1):
        say(Event("attempt", step, attempt, data={"attempts": options.attempts}))
        ctx = PlanContext(
            env=env,
            step=step,
            attempt=attempt,
            attempts=options.attempts,
            feedback=tuple(feedback),
            previous=tuple(previous),
            history=shown,
        )
        proposal = await planner.propose(ctx, say)
        chat = proposal.chat
        result = _try(env, proposal)
        parsed = proposal.plan is not None and result is not None and result.error is None
        if proposal.plan is None and not proposal.garbled:
            record.no_plan += 1
        elif not parsed:
            record.unparseable += 1
        elif result is not None and not result.executed:
            record.rejected += 1
        text = result.feedback if result is not None else _no_plan(proposal)
        executed = result is not None and result.executed
        say(
            Event(
                "plan",
                step,
                attempt,
                text=proposal.plan or "",
                data={"executed": executed, "parsed": parsed, "feedback": text},
            )
        )
        if executed:
            record.attempts.append(attempt)
            return Round(step, chat, proposal.plan)
        feedback.append(text)
        previous.append(chat)
    env.skip_step()
    record.attempts.append(options.attempts)
    say(Event("skip", step, options.attempts))
    return Round(step, chat, None)


def _try(env: RocoEnv, proposal: Proposal) -> StepResult | None:
    return env.step(proposal.plan) if proposal.plan is not None else None


def _no_plan(proposal: Proposal) -> str:
    return prompts.NO_PLAN_FEEDBACK.format(reason=proposal.reason or "no reply")


def _capped(env: RocoEnv, options: EpisodeOptions) -> bool:
    return options.max_steps is not None and env.steps >= options.max_steps


def _stats(planner: Planner) -> AgentStats:
    return planner.engine.stats() if planner.engine is not None else AgentStats()
