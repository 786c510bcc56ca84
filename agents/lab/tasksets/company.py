"""The software company in the lab: each benchmark requirement as a task (`ioa bench company`).

A cell runs one requirement through the whole company chain (`agents.software.Company`) in its own
run folder under the cell's folder, and is judged as `agents.software.bench` judges it: success is
executability (the program runs with the requirement's sample arguments), and the figures add
correctness, completeness and tests. Protocol `company` is the shipped chain with the levers the
shipped config turns on (file-scoped writing, compile-checked files with retries, candidates);
`company_plain` is the same chain with every lever off (ChatDev's way), to measure what they
add. Topology replaces the review loop by a MacNet network of that shape (`complete` keeps the
default review loop). The company has no oracle or random-legal baseline: writing a program has
no finite set of legal actions to draw from, and a reference solution measures the judge, not a
team; the table says so.

Tokens: `work` are the programmers' (the seats that write code), `coordination` everyone else's.
"""

from __future__ import annotations

from typing import Any, cast

from agents.lab.cell import NA, Cell, CellContext, Outcome
from agents.lab.errors import LabError
from agents.lab.tasksets.base import TaskSet
from agents.software import load_config
from agents.software.bench import BenchTask, _row, load_tasks
from agents.software.company import Company
from agents.software.config import Levers
from agents.software.topology import BUILDERS

__all__ = ["CompanyTasks"]

WORK_ROLES = frozenset({"programmer"})


class CompanyTasks(TaskSet):
    family = "company"
    protocols = ("company", "company_plain")
    uses_topology = True
    baselines = ()
    notes = (
        "company: success = executability; protocol company = with the shipped levers, "
        "company_plain = without; topology = MacNet review network (complete = the default "
        "review loop); no oracle or random-legal baseline (no finite action set)",
    )

    def __init__(self) -> None:
        self.requirements: dict[str, BenchTask] = {t.name: t for t in load_tasks()}

    def tasks(self) -> tuple[str, ...]:
        return tuple(self.requirements)

    async def run(self, cell: Cell, ctx: CellContext) -> Outcome:
        if ctx.engine is None or ctx.launcher is None:
            raise LabError("a company cell needs an engine and a hub launcher")
        task = self.requirements[cell.task]
        kind = cell.topology.split("[", 1)[0]
        topology = kind if kind in BUILDERS and cell.topology != NA else None
        levers = Levers().model_dump() if cell.protocol == "company_plain" else None
        config = load_config().with_overrides(
            topology=cast(Any, topology), cycles=ctx.budgets.cycles, levers=levers, args=task.args
        )
        company = Company(ctx.engine, hub=ctx.launcher, config=config, runs_dir=ctx.folder)
        summary = await company.start(task.requirement, name=task.name)
        row = _row(task, summary.status, summary.metrics, str(summary.folder.path))
        by_role: dict[str, dict[str, float]] = summary.metrics["tokens"]["by_role"]
        work = sum(int(v["prompt_tokens"] + v["completion_tokens"])
                   for r, v in by_role.items() if r in WORK_ROLES)  # fmt: skip
        events = list(summary.folder.transcript_lines())
        return Outcome(
            success=1.0 if row.executable else 0.0,
            steps=float(len(summary.metrics.get("phases_done", []))),
            tokens_coordination=max(0, row.tokens - work),
            tokens_work=work,
            figures={k: v for k, v in row.as_dict().items() if k not in ("name", "seconds")},
            transcript=events,
            text=f"company run {summary.folder.path} ({summary.status}); transcript.jsonl there\n",
        )
