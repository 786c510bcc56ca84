"""Continuous batching: every agent's decoding on one llama.cpp context with several sequences.

Where decoding is bound by memory bandwidth, one pass over the weights costs little more for a
token of eight sequences than for a token of one (how much it gains on a given CPU is measured by
`benchmarks/engine.py`, P7 and its pass-cost curve). So the decoder owns one llama.cpp context with
`slots` sequences and runs passes. A pass is one `llama_decode` of a batch that holds the next token
of every generating sequence and, within `n_batch`, chunks of the prompts still being read (at most
`PROMPT_CHUNK` tokens each while others generate, so a long prompt never stalls them); then every
sequence that got logits samples its next token with its own `SequenceSampler`. Requests join and
leave between passes; a cancelled one leaves at the next pass and frees its slot.

KV policy: each slot is a full window of `window` tokens in its own KV stream (`kv_unified` off: a
sequence attends only to its own cells, so its numbers do not depend on its neighbours and attention
costs what it costs alone). A call therefore fits a slot exactly when it fits the engine's `n_ctx`,
and the KV memory is slots x window x the model's KV bytes per token. An idle slot keeps its agent's
cells; when another agent needs the slot, they are saved to the state cache first.

Prefix reuse (`slots`): the agent's own idle slot; its saved state, restored from the cache; else a
copy of the slot whose tokens share the longest prefix with the prompt (a shared protocol
description is read once). One agent's calls run one after another (its KV prefix and seeds follow
its own turns), different agents' calls side by side.

Only the model's worker thread calls into this class.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import llama_cpp
import numpy as np

from ioa.llm.accounting import Completion, FinishReason
from ioa.llm.errors import EngineClosed, EngineError
from ioa.llm.prefix_cache import StateCache
from ioa.llm.sampling import SequenceSampler
from ioa.llm.slots import Slot, SlotPool

__all__ = ["PROMPT_CHUNK", "BatchDecoder", "BatchInfo", "Generation", "Scoring"]

PROMPT_CHUNK = 128
"""Prompt tokens per sequence per pass while other sequences are generating: about 0.6 s of a
0.5B model's prefill on two cores, the longest a generating agent waits for its next token."""

KV_PAD = 256
Detokenize = Callable[[list[int]], bytes]
FinishText = Callable[[bytes, FinishReason], tuple[str, FinishReason]]
"""A generation's bytes and finish reason → its text and final reason (the model's own rules)."""


@dataclass(eq=False)
class Generation:
    """One call's sequence from admission to its last token."""

    agent: str
    prompt: list[int]
    limit: int
    sampler: SequenceSampler
    cancel: threading.Event
    future: Future[Completion]
    started: float
    dropped: int
    out: list[int] = field(default_factory=list)
    slot: Slot | None = None
    fed: int = 0
    """Prompt tokens in the KV cache (reused or evaluated)."""
    reused: int = 0
    first_token_at: float | None = None


@dataclass(eq=False)
class Scoring:
    """A `choose` call: the prompt, then each option's tokens with logits at every position."""

    agent: str
    prompt: list[int]
    options: list[list[int]]
    future: Future[tuple[list[tuple[float, int]], Completion]]
    started: float
    dropped: int


@dataclass(frozen=True)
class BatchInfo:
    """How the decoder has been used: evidence of batching, beside the timings."""

    slots: int
    active: int
    """Sequences being decoded now."""
    waiting: int
    """Calls waiting for a slot (or for their agent's previous call)."""
    passes: int
    """`llama_decode` calls of generation passes so far."""
    sampled: int
    """Tokens sampled in those passes: sampled / passes is the mean batch of sequences."""


class BatchDecoder:
    def __init__(
        self,
        model: llama_cpp.llama_model_p,
        params: llama_cpp.llama_context_params,
        *,
        slots: int,
        window: int,
        cache: StateCache,
        detokenize: Detokenize,
        stops: Sequence[bytes] = (),
        finish_text: FinishText | None = None,
    ) -> None:
        params.n_seq_max = slots
        params.n_ctx = slots * -(-window // KV_PAD) * KV_PAD  # llama.cpp pads each stream
        params.kv_unified = False
        ctx = llama_cpp.llama_init_from_model(model, params)
        if not ctx:
            raise EngineError(f"llama.cpp could not create a context of {slots} x {window} tokens")
        self.ctx = ctx
        self.window = min(window, int(llama_cpp.llama_n_ctx_seq(ctx)))
        self.n_batch = int(params.n_batch)
        self._detokenize = detokenize
        self._stops = tuple(stops)
        self._tail = max((len(stop) for stop in self._stops), default=0) + 1
        """Tokens to detokenize to see a stop string end (a token is at least one byte)."""
        self._finish_text: FinishText = finish_text or (lambda raw, why: (raw.decode(), why))
        self._mem = llama_cpp.llama_get_memory(ctx)
        self._vocab = llama_cpp.llama_model_get_vocab(model)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        self._batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self._slots = SlotPool(ctx, slots, cache)
        self._waiting: list[Generation | Scoring] = []
        self._active: list[Generation] = []
        self._passes = self._sampled = 0

    # -- requests -----------------------------------------------------------------------------

    def submit(self, request: Generation | Scoring) -> None:
        self._waiting.append(request)

    def step(self) -> bool:
        """Admit what fits, run one pass, finish what ended; True while work remains."""
        try:
            self._admit()
            if self._active:
                self._pass()
        except Exception as exc:  # a failed pass fails its sequences, never the worker
            for gen in self._active:
                self._release(gen)
                _fail(gen.future, exc)
            self._active.clear()
        return bool(self._active) or self._admissible()

    def info(self) -> BatchInfo:
        return BatchInfo(
            slots=len(self._slots.slots),
            active=len(self._active),
            waiting=len(self._waiting),
            passes=self._passes,
            sampled=self._sampled,
        )

    def close(self) -> None:
        for request in [*self._waiting, *self._active]:
            _fail(request.future, EngineClosed())
            if isinstance(request, Generation):
                request.sampler.close()
        self._waiting.clear()
        self._active.clear()
        llama_cpp.llama_batch_free(self._batch)
        llama_cpp.llama_free(self.ctx)

    # -- admission and prefix reuse -----------------------------------------------------------

    def _admissible(self) -> bool:
        busy = {g.agent for g in self._active}
        free = bool(self._slots.free())
        return free and any(r.agent not in busy for r in self._waiting)

    def _admit(self) -> None:
        busy_agents = {g.agent for g in self._active}
        still: list[Generation | Scoring] = []
        scorings: list[tuple[Scoring, Slot]] = []
        for request in self._waiting:
            if isinstance(request, Generation) and request.future.cancelled():
                request.sampler.close()
                continue
            free = self._slots.free()
            if not free or request.agent in busy_agents:
                still.append(request)
                continue
            if not request.future.set_running_or_notify_cancel():
                if isinstance(request, Generation):
                    request.sampler.close()
                continue
            slot = self._slots.acquire(request.agent, request.prompt, free)
            if isinstance(request, Scoring):
                scorings.append((request, slot))
                busy_agents.add(request.agent)
                continue
            request.slot, request.fed = slot, len(slot.tokens)
            request.reused = request.fed
            self._active.append(request)
            busy_agents.add(request.agent)
        self._waiting = still  # before any future resolves: `info()` is read by other threads
        for scoring, slot in scorings:
            self._score(scoring, slot)

    # -- one pass -----------------------------------------------------------------------------

    def _pass(self) -> None:
        for gen in [g for g in self._active if g.cancel.is_set()]:
            self._finish(gen, "cancelled")
        if not self._active:
            return
        generating = [g for g in self._active if g.fed == len(g.prompt)]
        reading = [g for g in self._active if g.fed < len(g.prompt)]
        chunk = PROMPT_CHUNK if generating else self.n_batch
        rows: list[tuple[Generation, int]] = []
        n = 0
        for gen in generating:
            slot = _slot(gen)
            self._put(n, gen.out[-1], len(slot.tokens), slot.seq, True)
            rows.append((gen, n))
            n += 1
        fed: list[tuple[Generation, int]] = []
        for gen in reading:
            take = min(len(gen.prompt) - gen.fed, chunk, self.n_batch - n)
            if take <= 0:
                break
            slot = _slot(gen)
            for i in range(take):
                last = gen.fed + i == len(gen.prompt) - 1
                self._put(n, gen.prompt[gen.fed + i], gen.fed + i, slot.seq, last)
                if last:
                    rows.append((gen, n))
                n += 1
            fed.append((gen, take))
        self._batch.n_tokens = n
        rc = llama_cpp.llama_decode(self.ctx, self._batch)
        if rc != 0:
            raise EngineError(f"llama_decode failed ({rc}) on a batch of {n} tokens")
        for gen in generating:
            _slot(gen).tokens.append(gen.out[-1])
        for gen, take in fed:
            _slot(gen).tokens.extend(gen.prompt[gen.fed : gen.fed + take])
            gen.fed += take
        now = perf_counter()
        self._passes += 1
        self._sampled += len(rows)
        for gen, row in rows:
            token = gen.sampler.sample(self.ctx, row)
            gen.first_token_at = gen.first_token_at or now
            self._after(gen, token)

    def _put(self, i: int, token: int, pos: int, seq: int, logits: bool) -> None:
        batch = self._batch
        batch.token[i] = token
        batch.pos[i] = pos
        batch.n_seq_id[i] = 1
        batch.seq_id[i][0] = seq
        batch.logits[i] = logits

    def _after(self, gen: Generation, token: int) -> None:
        if llama_cpp.llama_vocab_is_eog(self._vocab, token):
            self._finish(gen, "stop")
            return
        gen.out.append(token)
        if self._stops:
            text = self._detokenize(gen.out[-self._tail :])
            if any(stop in text for stop in self._stops):
                self._finish(gen, "stop")
                return
        if len(gen.out) >= gen.limit or len(_slot(gen).tokens) >= self.window:
            self._finish(gen, "length")

    def _finish(self, gen: Generation, finish: FinishReason) -> None:
        self._active.remove(gen)
        self._release(gen)
        text, finish = self._finish_text(self._detokenize(gen.out), finish)
        end = perf_counter()
        gen.future.set_result(
            Completion(
                text=text,
                prompt_tokens=len(gen.prompt),
                evaluated_prompt_tokens=len(gen.prompt) - gen.reused,
                completion_tokens=len(gen.out),
                seconds=end - gen.started,
                prompt_seconds=(gen.first_token_at or end) - gen.started,
                finish_reason=finish,
                dropped_messages=gen.dropped,
            )
        )

    def _release(self, gen: Generation) -> None:
        gen.sampler.close()
        if gen.slot is not None:
            gen.slot.busy = False

    # -- scoring (runs to its end inside one step) --------------------------------------------

    def _score(self, request: Scoring, slot: Slot) -> None:
        try:
            request.future.set_result(self._score_on(request, slot))
        except Exception as exc:
            _fail(request.future, exc)
        finally:
            slot.busy = False

    def _score_on(self, request: Scoring, slot: Slot) -> tuple[list[tuple[float, int]], Completion]:
        prompt, reused = request.prompt, len(slot.tokens)
        rest = prompt[reused:]
        for offset in range(0, len(rest), self.n_batch):
            chunk = rest[offset : offset + self.n_batch]
            self._decode_rows(chunk, reused + offset, slot.seq, last_only=True)
            slot.tokens.extend(chunk)
        prompt_done = perf_counter()
        first = _log_softmax(self._row(len(chunk) - 1))
        base = len(prompt)
        scores, evaluated = [], 0
        try:
            for tokens in request.options:
                total = float(first[tokens[0]])
                body = tokens[:-1]
                for offset in range(0, len(body), self.n_batch):
                    part = body[offset : offset + self.n_batch]
                    self._decode_rows(part, base + offset, slot.seq, last_only=False)
                    nexts = tokens[offset + 1 : offset + 1 + len(part)]
                    total += sum(float(_log_softmax(self._row(j))[t]) for j, t in enumerate(nexts))
                    evaluated += len(part)
                scores.append((total, len(tokens)))
        finally:
            llama_cpp.llama_memory_seq_rm(self._mem, slot.seq, base, -1)
        end = perf_counter()
        return scores, Completion(
            text="",
            prompt_tokens=len(prompt),
            evaluated_prompt_tokens=len(rest),
            completion_tokens=0,
            seconds=end - request.started,
            prompt_seconds=prompt_done - request.started,
            dropped_messages=request.dropped,
            scored_tokens=evaluated,
        )

    def _decode_rows(
        self, tokens: Sequence[int], n_past: int, seq: int, *, last_only: bool
    ) -> None:
        llama_cpp.llama_memory_seq_rm(self._mem, seq, n_past, -1)
        for i, token in enumerate(tokens):
            self._put(i, token, n_past + i, seq, not last_only or i == len(tokens) - 1)
        self._batch.n_tokens = len(tokens)
        rc = llama_cpp.llama_decode(self.ctx, self._batch)
        if rc != 0:
            raise EngineError(f"llama_decode failed ({rc}) on a batch of {len(tokens)} tokens")

    def _row(self, index: int) -> np.ndarray:
        logits = llama_cpp.llama_get_logits_ith(self.ctx, index)
        return np.ctypeslib.as_array(logits, shape=(self._n_vocab,))


def _slot(gen: Generation) -> Slot:
    if gen.slot is None:
        raise EngineError("a sequence in a pass has no slot")
    return gen.slot


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    values = logits.astype(np.float64)
    top = values.max()
    result: np.ndarray = values - (top + np.log(np.exp(values - top).sum()))
    return result


def _fail(future: Future[Any], exc: BaseException) -> None:
    if not future.done() and (future.running() or future.set_running_or_notify_cancel()):
        future.set_exception(exc)
