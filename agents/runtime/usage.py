"""The agent's model spending not reported yet, per group, until its next message there.

Each decision is metered (`ioa.meter.metered`): a turn's move and a team's formation as
coordination, a task's work as work. What a decision spent is pended on the group it served, in
the checkpointed memory (so a restart keeps it), and the agent's next envelope in that group
carries it as `usage` for the hub to count: a move at once, a task's work with its result, a
sub-team's formation with the result of the task it was formed for. A message the hub refuses
gives its report back to the group's pending one.
"""

from __future__ import annotations

from collections.abc import Iterable

from agents.runtime.memory import Memory
from protocols import Envelope
from protocols.usage import Spend, add_spends


def pend(m: Memory, group: str, spends: Iterable[Spend]) -> None:
    """Add `spends` to what `group`'s next message from this agent will report."""
    pending = m["usage"]
    earlier = [Spend.model_validate(s) for s in pending.get(group, [])]
    total = add_spends(earlier, spends)
    if total:
        pending[group] = [s.model_dump(mode="json") for s in total]


def attach(m: Memory, envelope: Envelope) -> Envelope:
    """`envelope` carrying (and taking) what its group has pending, if anything."""
    pending = m["usage"].pop(envelope.group, None)
    if not pending:
        return envelope
    spends = add_spends(Spend.model_validate(s) for s in pending)
    return envelope.model_copy(update={"usage": spends})


def give_back(m: Memory, envelope: Envelope) -> None:
    """A refused message's report goes back to its group's pending one."""
    if envelope.usage:
        pend(m, envelope.group, envelope.usage)
