"""Per-agent KV prefixes kept in RAM within a byte budget, least recently used evicted first.

The engine has a few sequence slots (`slots`), and there may be more agents. When B's call takes the
slot A's last turn left its cells in, B's prompt would wipe A's long system prompt and history, and
A's next turn would pay the whole prefill again (15 s for a 1,000-token prompt on a 2-core box with
a 1B model). So before the slot changes hands, the engine saves A's sequence state (the KV cells
plus the tokens they encode) here, and restores it into whichever slot A gets next; then only the
new suffix of A's prompt is evaluated.

A state costs roughly tokens x (2 x layers x kv_heads x head_dim x 2 bytes): about 12 KB per token
for a 0.5B MiniCPM shape, 100 KB for the 1B shape. The budget bounds the sum; an agent whose state
was evicted simply pays a full prefill once.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ioa.llm.errors import EngineError

__all__ = ["CacheInfo", "KVState", "StateCache"]


@dataclass(frozen=True)
class KVState:
    """One agent's saved context: the tokens in the KV cache and llama.cpp's bytes for them."""

    tokens: npt.NDArray[np.intc]
    data: Any
    """A ctypes byte buffer from `llama_state_seq_get_data`."""
    nbytes: int


@dataclass(frozen=True)
class CacheInfo:
    entries: int
    bytes_used: int
    budget_bytes: int
    hits: int
    misses: int
    evictions: int


class StateCache:
    """LRU map agent -> `KVState`, never holding more than `budget_bytes` in total."""

    def __init__(self, budget_bytes: int) -> None:
        if budget_bytes < 0:
            raise EngineError("the state budget cannot be negative")
        self._states: OrderedDict[str, KVState] = OrderedDict()
        self._budget = budget_bytes
        self._used = 0
        self.hits = self.misses = self.evictions = 0

    @property
    def budget_bytes(self) -> int:
        return self._budget

    @budget_bytes.setter
    def budget_bytes(self, value: int) -> None:
        if value < 0:
            raise EngineError("the state budget cannot be negative")
        self._budget = value
        self._evict()

    def put(self, agent: str, state: KVState) -> None:
        """Keep `state` as `agent`'s newest; a state larger than the whole budget is not kept."""
        self.drop(agent)
        if state.nbytes > self._budget:
            self.evictions += 1
            return
        self._states[agent] = state
        self._used += state.nbytes
        self._evict()

    def take(self, agent: str) -> KVState | None:
        """Remove and return `agent`'s state (it is about to be loaded into the context)."""
        state = self._states.pop(agent, None)
        if state is None:
            self.misses += 1
            return None
        self.hits += 1
        self._used -= state.nbytes
        return state

    def drop(self, agent: str) -> None:
        state = self._states.pop(agent, None)
        if state is not None:
            self._used -= state.nbytes

    def clear(self) -> None:
        self._states.clear()
        self._used = 0

    def info(self) -> CacheInfo:
        return CacheInfo(
            entries=len(self._states),
            bytes_used=self._used,
            budget_bytes=self._budget,
            hits=self.hits,
            misses=self.misses,
            evictions=self.evictions,
        )

    def __contains__(self, agent: object) -> bool:
        return agent in self._states

    def _evict(self) -> None:
        while self._used > self._budget and self._states:
            _, state = self._states.popitem(last=False)
            self._used -= state.nbytes
            self.evictions += 1
