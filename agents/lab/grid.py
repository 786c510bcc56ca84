"""The experiment's grid: every cell it runs, in table order, and what did not apply."""

from __future__ import annotations

from dataclasses import dataclass

from agents.lab.cell import NA, Cell
from agents.lab.errors import BadExperiment
from agents.lab.experiment import NO_MODEL, Experiment
from agents.lab.tasksets import taskset

__all__ = ["Grid", "expand"]


@dataclass(frozen=True)
class Grid:
    cells: tuple[Cell, ...]
    notes: tuple[str, ...]
    """How each task set reads the axes, and which combinations did not apply."""


def expand(experiment: Experiment) -> Grid:
    """The cells of `experiment`; a `BadExperiment` for a task or protocol that fits nothing."""
    tasks = _tasks(experiment.tasks)
    families = list(dict.fromkeys(f for f, _ in tasks))
    used: set[str] = set()
    notes: list[str] = []
    for family in families:
        notes.extend(taskset(family).notes)
        skipped = [p for p in experiment.protocols if p not in taskset(family).protocols]
        used |= set(experiment.protocols) - set(skipped)
        if skipped and any(p in taskset(f).protocols for f in families for p in skipped):
            notes.append(f"{family}: protocol(s) {', '.join(skipped)} do not apply")
    unused = [p for p in experiment.protocols if p not in used]
    if unused:
        raise BadExperiment(f"protocols: {unused[0]!r} applies to none of the tasks")
    models = [m for m in experiment.models if m != NO_MODEL]
    cells: list[Cell] = []
    for family, task in tasks:
        ts = taskset(family)
        protocols = [p for p in experiment.protocols if p in ts.protocols]
        if any(ts.decides(p) for p in protocols):
            foreign = [d for d in experiment.decodings if d not in ts.decodings]
            if foreign:
                raise BadExperiment(
                    f"decodings: {foreign[0]!r} does not apply to {family} tasks; "
                    f"they know {', '.join(ts.decodings)}"
                )
        topologies = experiment.topologies if ts.uses_topology else [NA]
        for seed in experiment.seed_list:
            if "oracle" in experiment.baselines and "oracle" in ts.baselines:
                cells.append(Cell(family, task, "oracle", NA, NA, NO_MODEL, seed))
            if "random" in experiment.baselines and "random" in ts.baselines:
                if ts.random_per_protocol:
                    cells.extend(
                        Cell(family, task, "random", p, t, NO_MODEL, seed)
                        for p in protocols
                        for t in topologies
                    )
                else:
                    cells.append(Cell(family, task, "random", NA, NA, NO_MODEL, seed))
            cells.extend(
                Cell(family, task, "model", p, t, m, seed, d)
                for m in models
                for p in protocols
                for t in topologies
                for d in (experiment.decodings if ts.decides(p) else [NA])
            )
    if not cells:
        raise BadExperiment("models: no cell to run (only `none` and no baseline applies)")
    return Grid(_table_order(cells), tuple(dict.fromkeys(notes)))


def _tasks(entries: list[str]) -> list[tuple[str, str]]:
    """`roco` → every RoCo task; `roco:sort` → one; in the order given, without repeats."""
    found: list[tuple[str, str]] = []
    for entry in entries:
        family, _, name = entry.partition(":")
        ts = taskset(family.strip())
        names = ts.tasks()
        if name and name.strip() not in names:
            raise BadExperiment(
                f"tasks: {family} has no task {name.strip()!r}; it has {', '.join(names)}"
            )
        for task in [name.strip()] if name else names:
            if (family.strip(), task) not in found:
                found.append((family.strip(), task))
    return found


def _table_order(cells: list[Cell]) -> tuple[Cell, ...]:
    """Rows together, seeds within a row in order (stable: the grid's own order otherwise)."""
    rows = list(dict.fromkeys(c.row for c in cells))
    return tuple(sorted(cells, key=lambda c: (rows.index(c.row), c.seed)))
