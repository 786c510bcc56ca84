"""The contract between the lab and a task set (RoCo, goals, tools, company).

A task set names its tasks, says which protocols and whether topologies apply to it, which
baselines it has, and runs one cell. `run` must not raise for anything a model does: a failure
of the team is an `Outcome` with success 0 (and an `error` when the cell could not run at all).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from agents.lab.cell import Cell, CellContext, Outcome

__all__ = ["TaskSet"]


class TaskSet(ABC):
    family: ClassVar[str]
    protocols: ClassVar[tuple[str, ...]]
    """The protocols (for RoCo: the modes) a model arm may run under."""
    uses_topology: ClassVar[bool] = False
    """Whether the topology axis changes anything for this task set."""
    baselines: ClassVar[tuple[str, ...]] = ("oracle", "random")
    random_per_protocol: ClassVar[bool] = False
    """The random agent plays under each protocol × topology (its moves depend on them)."""
    notes: ClassVar[tuple[str, ...]] = ()
    """What the table should say about this task set (how topology applies, what is measured)."""

    decodings: ClassVar[tuple[str, ...]] = ()
    """The decodings its model cells know (where `decides`); another one is refused up front."""

    def decides(self, protocol: str) -> bool:
        """Whether the decoding axis (score or grammar) applies to a model under `protocol`."""
        return False

    @abstractmethod
    def tasks(self) -> tuple[str, ...]:
        """Every task's name, in the order tables list them."""

    def needs_hub(self, cell: Cell) -> bool:
        return False

    @abstractmethod
    async def run(self, cell: Cell, ctx: CellContext) -> Outcome: ...
