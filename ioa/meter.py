"""`metered()`: what the model calls made inside a block cost, whoever made them.

An engine keys its own sums by the `agent` name a call gives (`Engine.stats`), but those names
are the brain's choice ("team-formation" is shared by every agent of a process), so they cannot
say which agent's message a call served. A meter can: the agent runtime opens one around each
decision (`with metered() as meter: move = await brain.move(turn)`), and every engine records
each call it finishes into the meters open in the calling task, local and cloud apart. Meters
follow the task through `await`s and into the tasks it starts (a context variable), never into
another agent's task; they nest (a call counts in each open meter).

It lives outside `ioa.llm` so that an agent runtime without a model imports no llama.cpp.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from protocols.usage import Part, Spend, Sums, Where

if TYPE_CHECKING:
    from ioa.llm.accounting import Completion

__all__ = ["Meter", "active_meters", "metered"]


@dataclass
class Meter:
    """Sums of the calls recorded while it was open, by where they ran (thread-safe: a
    cancelled call is recorded from the engine's worker thread)."""

    _sides: dict[Where, Sums] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, where: Where, completion: Completion) -> None:
        """Add one call. A likelihood choice's option tokens count as prompt tokens the model
        ran (`scored_tokens`)."""
        with self._lock:
            self._sides.setdefault(where, Sums()).add_figures(
                1,
                completion.prompt_tokens + completion.scored_tokens,
                completion.evaluated_prompt_tokens + completion.scored_tokens,
                completion.completion_tokens,
                completion.seconds,
            )

    @property
    def calls(self) -> int:
        with self._lock:
            return sum(s.calls for s in self._sides.values())

    def spends(self, part: Part) -> tuple[Spend, ...]:
        """What was recorded, as report lines for `part` (none for a side without calls)."""
        with self._lock:
            return tuple(
                s.spend(part, where) for where, s in sorted(self._sides.items()) if s.calls
            )


_open: ContextVar[tuple[Meter, ...]] = ContextVar("ioa_open_meters", default=())


def active_meters() -> tuple[Meter, ...]:
    """The meters open in the current task, innermost last."""
    return _open.get()


@contextmanager
def metered(meter: Meter | None = None) -> Iterator[Meter]:
    """`meter` (a new one by default), open for the block: model calls the block makes are
    recorded into it."""
    meter = meter or Meter()
    token = _open.set((*_open.get(), meter))
    try:
        yield meter
    finally:
        _open.reset(token)
