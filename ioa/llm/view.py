"""`EngineView`: one user's window on a shared engine, with its own stats and agent names.

Several independent runs (lab cells, benchmark episodes) can think at the same time through one
loaded model, so that the engine batches their decoding. Each needs its own cost figures and must
not meet another run's agents of the same name (a KV prefix, a seed sequence and the one-call-at-
a-time rule are per agent name). A view gives both: its calls go to the shared engine under
`namespace/agent`, and are accounted in the view (the shared engine's own stats do not see them).
"""

from __future__ import annotations

from dataclasses import replace

from ioa.llm.accounting import Completion
from ioa.llm.choice import OptionScore
from ioa.llm.engine import Engine, Request
from protocols.usage import Where

__all__ = ["EngineView"]


class EngineView(Engine):
    """Calls through `engine` as `namespace/agent`; `close()` closes the view, not the engine."""

    def __init__(self, engine: Engine, namespace: str) -> None:
        super().__init__()
        self.engine, self.namespace = engine, namespace

    @property
    def where(self) -> Where:
        return self.engine.where

    async def _complete(self, request: Request) -> Completion:
        return await self.engine._complete(self._inside(request))

    async def _score(
        self, request: Request, options: list[str]
    ) -> tuple[list[OptionScore], Completion]:
        return await self.engine._score(self._inside(request), options)

    def _inside(self, request: Request) -> Request:
        return replace(request, agent=f"{self.namespace}/{request.agent}")
