"""One request's sampler: llama.cpp's sampler chain with that request's own settings.

Every sequence in a batch samples from its own logits row with its own chain, so grammars, repeat
penalties, temperatures and seeds never mix between agents. The chain is the one
`llama_cpp.Llama.generate` builds (penalties, grammar, then greedy at temperature 0 or top-k,
typical, top-p, min-p, temperature and a seeded draw), so a turn samples as it did through the
high-level API.
"""

from __future__ import annotations

import llama_cpp

from ioa.llm._llama_log import capture_log, last_error
from ioa.llm.errors import SchemaNotSupported

__all__ = ["PENALTY_LAST_N", "REPEAT_PENALTY", "SequenceSampler"]

REPEAT_PENALTY = 1.1
"""Over the last `PENALTY_LAST_N` sampled tokens. Without it small models loop ("1. 1. 2. 3. ..."
from the bundled 135M model in `ioa demo`); with it the same demo's talk reads as sentences and the
model generated 632 tokens instead of 1,642. The grammar still decides what is legal."""
PENALTY_LAST_N = 64
TOP_K, TOP_P, MIN_P, TYPICAL_P = 40, 0.95, 0.05, 1.0


class SequenceSampler:
    """A sampler chain owned by one sequence; `close()` frees it (only on the worker thread)."""

    def __init__(
        self,
        vocab: llama_cpp.llama_vocab_p,
        n_vocab: int,
        *,
        grammar: str | None,
        temperature: float,
        seed: int,
    ) -> None:
        params = llama_cpp.llama_sampler_chain_default_params()
        params.no_perf = True
        self._chain = llama_cpp.llama_sampler_chain_init(params)
        self._add(
            llama_cpp.llama_sampler_init_penalties(
                n_vocab, PENALTY_LAST_N, REPEAT_PENALTY, 0.0, 0.0
            )
        )
        if grammar is not None:
            with capture_log() as log:
                sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
            if not sampler:  # a NULL sampler would crash the process inside the chain
                self.close()
                raise SchemaNotSupported(f"llama.cpp rejected the grammar: {last_error(log)}")
            self._add(sampler)
        if temperature == 0:
            self._add(llama_cpp.llama_sampler_init_greedy())
        else:
            self._add(llama_cpp.llama_sampler_init_top_k(TOP_K))
            self._add(llama_cpp.llama_sampler_init_typical(TYPICAL_P, 1))
            self._add(llama_cpp.llama_sampler_init_top_p(TOP_P, 1))
            self._add(llama_cpp.llama_sampler_init_min_p(MIN_P, 1))
            self._add(llama_cpp.llama_sampler_init_temp(temperature))
            self._add(llama_cpp.llama_sampler_init_dist(seed))

    def sample(self, ctx: llama_cpp.llama_context_p, index: int) -> int:
        """Sample from the logits of batch position `index` and advance the chain's state."""
        return int(llama_cpp.llama_sampler_sample(self._chain, ctx, index))

    def close(self) -> None:
        if self._chain:
            llama_cpp.llama_sampler_free(self._chain)
            self._chain = None

    def _add(self, sampler: llama_cpp.llama_sampler_p) -> None:
        llama_cpp.llama_sampler_chain_add(self._chain, sampler)
