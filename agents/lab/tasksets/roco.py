"""RoCo tasks in the lab: the six symbolic RoCoBench-style tasks, played by the robots' modes.

The protocol axis is the team's mode (`central`, `dialog`, `ioa`, and any mode `agents.robots`
adds, such as `dialectic`); the oracle is the task's scripted solver and the random baseline the
random legal-action planner. Topology does not apply: a RoCo team is two or three robots that all
see the same table and, as in RoCo and IoA, every robot may address every other, so the table
records `—` for it.

Tokens: `coordination` are the tokens of the robots' conversation (dialog and IoA modes: every
call, the plan included, since there the plan is written inside the conversation); `work` are the
tokens of a single planner that talks to nobody (central).
"""

from __future__ import annotations

from agents.lab.cell import Cell, CellContext, Outcome
from agents.lab.tasksets.base import TaskSet
from agents.robots import MODES, EpisodeOptions, ModeSettings, make_planner
from agents.robots.chooser import DECODINGS, Decoding
from agents.robots.modes import HUB_MODES, MODEL_FREE
from agents.robots.planner import Planner
from agents.robots.runner import run_episode
from agents.robots.transcript import transcript_text
from environments.rocobench import TASKS, make_env

__all__ = ["RocoTasks"]

SOLO_MODES = frozenset({"central"})
"""Modes with one planner and no conversation: their tokens are work."""


class RocoTasks(TaskSet):
    family = "roco"
    protocols = tuple(m for m in MODES if m not in MODEL_FREE)
    decodings = DECODINGS
    notes = (
        "roco: topology does not apply (2–3 robots, each may address the others, as in RoCo); "
        "protocol = the team's mode",
    )

    def tasks(self) -> tuple[str, ...]:
        return tuple(TASKS)

    def needs_hub(self, cell: Cell) -> bool:
        return cell.arm == "model" and cell.protocol in HUB_MODES

    def decides(self, protocol: str) -> bool:
        return protocol in HUB_MODES

    async def run(self, cell: Cell, ctx: CellContext) -> Outcome:
        env = make_env(cell.task, seed=cell.seed)
        options = EpisodeOptions(attempts=ctx.budgets.attempts, max_steps=ctx.budgets.max_steps)
        record = await run_episode(env, self._planner(cell, ctx), options)
        tokens = record.prompt_tokens + record.completion_tokens
        solo = cell.arm != "model" or cell.protocol in SOLO_MODES
        return Outcome(
            success=1.0 if record.success else 0.0,
            steps=float(record.steps),
            tokens_coordination=0 if solo else tokens,
            tokens_work=tokens if solo else 0,
            figures={
                "replans": round(record.replans, 3),
                "unparseable": record.unparseable,
                "calls": record.calls,
                "capped": record.capped,
            },
            transcript=[e.to_dict() for e in record.events],
            text=transcript_text(record),
        )

    def _planner(self, cell: Cell, ctx: CellContext) -> Planner:
        settings = ModeSettings(
            max_calls=ctx.budgets.max_turns,
            hub_turns=ctx.budgets.hub_turns or ModeSettings.hub_turns,
            temperature=ctx.temperature,
            seed=cell.seed,
            decoding=_decoding(cell.decoding),
        )
        mode = cell.protocol if cell.arm == "model" else cell.arm
        return make_planner(mode, ctx.engine, settings, hub_url=ctx.hub_url, model=ctx.facts)


def _decoding(name: str) -> Decoding:
    """`name` as the chooser's type: the grid admits only `DECODINGS` (NA: a model-free arm)."""
    for decoding in DECODINGS:
        if decoding == name:
            return decoding
    return "score"
