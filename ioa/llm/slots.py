"""Slots: which sequence of the batched context a call runs in, and what prefix it finds there.

A slot is one llama.cpp sequence with its own KV stream and window. When a call of agent A is
admitted, the pool gives it, in order of preference:

1. A's own idle slot, whose cells still hold A's last turn (counted as a state-cache hit);
2. else the free slot used least recently (an empty one first), after saving its previous owner's
   cells to the state cache, with A's saved state restored into it, if the cache has one;
3. else that slot with a copy of whichever slot (busy or idle) shares the longest prefix with A's
   prompt (`llama_memory_seq_cp`; across KV streams llama.cpp copies a whole sequence, so the
   tail past the shared prefix is cut afterwards).

Then the cells past the prefix the prompt shares are removed, and only the rest is evaluated.
Only the model's worker thread calls into this module.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

import llama_cpp
import numpy as np

from ioa.llm.prefix_cache import KVState, StateCache

__all__ = ["Slot", "SlotPool"]


@dataclass(eq=False)
class Slot:
    seq: int
    tokens: list[int] = field(default_factory=list)
    """The tokens whose KV cells this sequence holds, in position order."""
    owner: str | None = None
    busy: bool = False
    used_at: int = 0


class SlotPool:
    def __init__(self, ctx: llama_cpp.llama_context_p, n: int, cache: StateCache) -> None:
        self.ctx, self.cache = ctx, cache
        self.mem = llama_cpp.llama_get_memory(ctx)
        self.slots = [Slot(seq) for seq in range(n)]
        self._clock = 0

    def free(self) -> list[Slot]:
        return [s for s in self.slots if not s.busy]

    def acquire(self, agent: str, prompt: list[int], free: list[Slot]) -> Slot:
        """Take a free slot for `agent`, holding the longest prefix of `prompt` on offer."""
        own = next((s for s in free if s.owner == agent), None)
        if own is not None:
            self.cache.hits += 1
            slot = own
        else:
            slot = min(free, key=lambda s: (s.owner is not None, s.used_at))
            self._park(slot)
            state = self.cache.take(agent)
            if state is not None:
                self._restore(slot, state)
            else:
                self._copy_best_prefix(slot, prompt)
        keep = _common(slot.tokens, prompt, len(prompt) - 1)
        llama_cpp.llama_memory_seq_rm(self.mem, slot.seq, keep, -1)
        del slot.tokens[keep:]
        slot.owner, slot.busy = agent, True
        self._clock += 1
        slot.used_at = self._clock
        return slot

    def _park(self, slot: Slot) -> None:
        """Save the previous owner's cells to the state cache before the slot changes hands."""
        if slot.owner is not None and slot.tokens and self.cache.budget_bytes > 0:
            size = llama_cpp.llama_state_seq_get_size(self.ctx, slot.seq)
            data = (ctypes.c_uint8 * size)()
            written = llama_cpp.llama_state_seq_get_data(self.ctx, data, size, slot.seq)
            tokens = np.array(slot.tokens, dtype=np.intc)
            self.cache.put(slot.owner, KVState(tokens, data, written + tokens.nbytes))
        slot.owner = None

    def _restore(self, slot: Slot, state: KVState) -> None:
        size = state.nbytes - state.tokens.nbytes
        if llama_cpp.llama_state_seq_set_data(self.ctx, state.data, size, slot.seq) != size:
            llama_cpp.llama_memory_seq_rm(self.mem, slot.seq, -1, -1)
            slot.tokens = []  # unusable as a prefix: the prompt is evaluated from scratch
            return
        slot.tokens = state.tokens.tolist()

    def _copy_best_prefix(self, slot: Slot, prompt: list[int]) -> None:
        best, source = _common(slot.tokens, prompt, len(prompt) - 1), slot
        for other in self.slots:
            shared = _common(other.tokens, prompt, len(prompt) - 1)
            if shared > best:
                best, source = shared, other
        if source is not slot:
            # across KV streams llama.cpp copies a whole sequence; the tail is cut by the caller
            llama_cpp.llama_memory_seq_cp(self.mem, source.seq, slot.seq, -1, -1)
            slot.tokens = list(source.tokens)


def _common(cached: list[int], prompt: list[int], limit: int) -> int:
    """Length of the common prefix, at most `limit` (one prompt token is always evaluated)."""
    n = min(len(cached), limit)
    if n <= 0:
        return 0
    a = np.asarray(cached[:n], dtype=np.intc)
    b = np.asarray(prompt[:n], dtype=np.intc)
    mismatch = np.flatnonzero(a != b)
    return int(mismatch[0]) if mismatch.size else n
