"""A loaded GGUF and every operation on it. Runs only on its engine's single worker thread.

A `llama_cpp.Llama` is not thread-safe (one context, one KV cache, shared Python state), so nothing
here locks: `LlamaCppEngine` guarantees that one thread, and only that one, calls into this class.

A turn goes: fit the messages into the window (`context`), render and tokenize them, make the
speaking agent's KV prefix resident (`prefix_cache`), evaluate only the part of the prompt that is
not already in the KV cache, then sample under the grammar until an end-of-generation token, a stop
string or the token limit.
"""

from __future__ import annotations

import ctypes
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import llama_cpp
import llama_cpp.llama_cpp as llama_raw
import numpy as np
from llama_cpp import Llama
from llama_cpp.llama_grammar import LlamaGrammar

from ioa.llm._llama_log import capture_log, last_error
from ioa.llm.accounting import Completion, FinishReason
from ioa.llm.context import fit_messages
from ioa.llm.errors import (
    ContextTooSmall,
    ModelLoadFailed,
    OptionsTooLong,
    SchemaNotSupported,
    UnsafeVocabulary,
    UnsupportedArchitecture,
)
from ioa.llm.gguf_file import GGUFFacts, inspect_gguf
from ioa.llm.prefix_cache import KVState, StateCache
from ioa.llm.structured import PreparedSchema
from ioa.llm.templates import ChatTemplate, Message, select_template

__all__ = ["REPEAT_PENALTY", "LoadedModel", "ModelSettings", "extra_buffers", "model_key"]

DEFAULT_N_CTX = 4096
GRAMMAR_CACHE = 128
"""Checked grammars kept per model (legal-move schemas vary from turn to turn)."""
SEQ = 0
"""The one llama.cpp sequence a high-level `Llama` uses."""
REPEAT_PENALTY = 1.1
"""Over llama.cpp's last 64 tokens. Without it small models loop ("1. 1. 2. 3. ..." from the
bundled 135M model in `ioa demo`); with it the same demo's talk reads as sentences and the
model generated 632 tokens instead of 1,642. The grammar still decides what is legal."""


@dataclass(frozen=True)
class ModelSettings:
    n_ctx: int | None = None
    """Context window in tokens; None means min(4096, the model's training context)."""
    n_threads: int = 1
    n_batch: int = 512
    state_budget_bytes: int = 256 << 20
    chat_template: str | None = None
    """"chatml", "minicpm" or Jinja source; None uses the GGUF's own or a MiniCPM built-in."""
    seed: int = 0
    repack: bool = False
    """llama.cpp's extra CPU weight buffers (x86/ARM repacking, Intel AMX). Off by default: they
    copy the weights into private RAM (+0.6 GB for a 1B Q4_K_M; mmap'd weights are shared with
    other processes instead), they slow prompt processing, which dominates agent turns on small
    CPUs, and the AMX path crashes the process on some virtual machines."""


class LoadedModel:
    def __init__(self, llm: Llama, facts: GGUFFacts, settings: ModelSettings) -> None:
        self.llm, self.facts, self.settings = llm, facts, settings
        # llama.cpp may round the context up; llama-cpp-python's token buffer keeps the size asked
        self.n_ctx = min(llm.n_ctx(), len(llm.input_ids))
        self._vocab = vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self._bos_text = _token_text(vocab, llama_cpp.llama_vocab_bos(vocab))
        self.template: ChatTemplate = select_template(
            facts,
            settings.chat_template,
            bos_token=self._bos_text,
            eos_token=_token_text(vocab, llama_cpp.llama_vocab_eos(vocab)),
        )
        self.cache = StateCache(settings.state_budget_bytes)
        self._resident: str | None = None
        self._turns: dict[str, int] = {}
        self._grammars: dict[str, LlamaGrammar] = {}
        self._last_render: tuple[str, list[int]] = ("", [])

    @classmethod
    def load(cls, path: Path, settings: ModelSettings) -> LoadedModel:
        """Inspect, then load; every failure is a `ModelFileError` naming `path`."""
        facts = inspect_gguf(path)
        if facts.duplicate_tokens:
            raise UnsafeVocabulary(
                path,
                f"{facts.duplicate_tokens} duplicate tokens in the vocabulary would abort "
                "the process inside llama.cpp",
            )
        n_ctx = settings.n_ctx or min(DEFAULT_N_CTX, facts.context_length or DEFAULT_N_CTX)
        with capture_log() as log, extra_buffers(settings.repack):
            try:
                llm = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_batch=settings.n_batch,
                    n_ubatch=settings.n_batch,
                    n_threads=settings.n_threads,
                    n_threads_batch=settings.n_threads,
                    seed=settings.seed,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                reason = last_error(log)
                if "unknown model architecture" in reason:
                    raise UnsupportedArchitecture(
                        path, f"llama.cpp does not support architecture {facts.arch!r}"
                    ) from exc
                raise ModelLoadFailed(path, f"llama.cpp could not load it: {reason}") from exc
        try:
            if facts.missing_byte_tokens:
                raise UnsafeVocabulary(path)
            return cls(llm, facts, settings)
        except Exception:
            llm.close()
            raise

    def close(self) -> None:
        self.cache.clear()
        self.llm.close()

    def complete(
        self,
        agent: str,
        messages: Sequence[Message],
        schema: PreparedSchema | None,
        max_tokens: int,
        temperature: float,
        cancel: threading.Event,
    ) -> Completion:
        start = perf_counter()
        reserve = max(1, min(max_tokens, self.n_ctx // 4))
        fitted = fit_messages(messages, self.n_ctx - reserve, self._count)
        prompt = self._tokens(fitted.messages)
        grammar = self._grammar(schema) if schema is not None else None
        self._make_resident(agent)
        suffix = self._reuse_prefix(prompt)
        turn = self._turns.get(agent, 0)
        self._turns[agent] = turn + 1
        self.llm.set_seed((self.settings.seed + zlib.crc32(agent.encode()) + turn) & 0x7FFFFFFF)
        out, finish, first_token_at = self._generate(
            suffix, grammar, min(max_tokens, self.n_ctx - len(prompt)), temperature, cancel
        )
        text = decode_like_grammar(self.llm.detokenize(out))
        for stop in self.template.stop:
            if stop in text:
                text, finish = text[: text.index(stop)], "stop"
        end = perf_counter()
        return Completion(
            text=text,
            prompt_tokens=len(prompt),
            evaluated_prompt_tokens=len(suffix),
            completion_tokens=len(out),
            seconds=end - start,
            prompt_seconds=(first_token_at or end) - start,
            finish_reason=finish,
            dropped_messages=fitted.dropped,
        )

    def score(
        self, agent: str, messages: Sequence[Message], options: Sequence[str]
    ) -> tuple[list[tuple[float, int]], Completion]:
        """Each option's (total log-probability, tokens) as the assistant's reply to `messages`.

        The prompt is evaluated once (reusing the agent's KV prefix); then each option's tokens
        are decoded in one batch after the prompt, with logits for every position, and the KV
        cells past the prompt are dropped before the next option. The prompt stays cached.
        """
        start = perf_counter()
        encoded = [
            self.llm.tokenize(o.encode("utf-8"), add_bos=False, special=False) for o in options
        ]
        if not all(encoded):
            raise OptionsTooLong("an option tokenizes to nothing")
        longest = max(len(t) for t in encoded)
        try:
            fitted = fit_messages(messages, self.n_ctx - longest, self._count)
        except ContextTooSmall as exc:
            raise OptionsTooLong(
                f"the prompt and an option of {longest} tokens do not fit {self.n_ctx} tokens"
            ) from exc
        prompt = self._tokens(fitted.messages)
        if len(prompt) + longest > self.n_ctx:
            raise OptionsTooLong(
                f"the prompt ({len(prompt)} tokens) and an option of {longest} tokens do not "
                f"fit {self.n_ctx} tokens"
            )
        self._make_resident(agent)
        suffix = self._reuse_prefix(prompt)
        self.llm.eval(suffix)
        prompt_done = perf_counter()
        base = self.llm.n_tokens
        n_vocab = self.llm.n_vocab()
        first = _log_softmax(
            np.ctypeslib.as_array(self.llm._ctx.get_logits_ith(-1), shape=(n_vocab,))
        )
        scores, evaluated = [], 0
        try:
            for tokens in encoded:
                total = float(first[tokens[0]])
                rest = tokens[:-1]
                for offset in range(0, len(rest), self.settings.n_batch):
                    chunk = rest[offset : offset + self.settings.n_batch]
                    rows = self._decode_all(chunk, base + offset)
                    nexts = tokens[offset + 1 : offset + 1 + len(chunk)]
                    total += sum(float(_log_softmax(rows[j])[t]) for j, t in enumerate(nexts))
                    evaluated += len(chunk)
                scores.append((total, len(tokens)))
        finally:
            self.llm._ctx.kv_cache_seq_rm(SEQ, base, -1)
            self.llm.n_tokens = base
        end = perf_counter()
        return scores, Completion(
            text="",
            prompt_tokens=len(prompt),
            evaluated_prompt_tokens=len(suffix),
            completion_tokens=0,
            seconds=end - start,
            prompt_seconds=prompt_done - start,
            dropped_messages=fitted.dropped,
            scored_tokens=evaluated,
        )

    def _decode_all(self, tokens: list[int], n_past: int) -> np.ndarray:
        """Decode `tokens` at positions from `n_past`, with logits for every one (rows)."""
        self.llm._ctx.kv_cache_seq_rm(SEQ, n_past, -1)
        batch = self.llm._batch
        batch.set_batch(batch=tokens, n_past=n_past, logits_all=True)
        self.llm._ctx.decode(batch)
        n_vocab = self.llm.n_vocab()
        logits = llama_cpp.llama_get_logits(self.llm.ctx)
        return np.ctypeslib.as_array(logits, shape=(len(tokens), n_vocab))

    def _generate(
        self,
        suffix: list[int],
        grammar: LlamaGrammar | None,
        limit: int,
        temperature: float,
        cancel: threading.Event,
    ) -> tuple[list[int], FinishReason, float | None]:
        out: list[int] = []
        finish: FinishReason = "length"
        first_token_at = None
        stops = [s.encode() for s in self.template.stop]
        tail = max((len(s) for s in stops), default=0) + 1
        tokens = self.llm.generate(
            suffix, reset=False, temp=temperature, grammar=grammar, repeat_penalty=REPEAT_PENALTY
        )
        try:
            for token in tokens:
                first_token_at = first_token_at or perf_counter()
                if cancel.is_set():
                    finish = "cancelled"
                    break
                if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    finish = "stop"
                    break
                out.append(token)
                if stops and any(s in self.llm.detokenize(out[-tail:]) for s in stops):
                    finish = "stop"
                    break
                if len(out) >= limit:
                    break
        finally:
            tokens.close()
        return out, finish, first_token_at

    def _count(self, messages: Sequence[Message]) -> int:
        return len(self._tokens(messages))

    def _tokens(self, messages: Sequence[Message]) -> list[int]:
        """Render and tokenize, remembering the last result (the policy counts what we send)."""
        text = self.template.render(messages)
        if text != self._last_render[0]:
            add_bos = not (self._bos_text and text.startswith(self._bos_text))
            tokens = self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
            self._last_render = (text, tokens)
        return self._last_render[1]

    def _make_resident(self, agent: str) -> None:
        """Save the resident agent's KV state and restore `agent`'s, if the cache has it.

        Without a saved state the context is left as it is: the new agent still reuses whatever
        prefix it shares with the previous one (the template header, a common system prompt).
        """
        if agent == self._resident:
            return
        if self._resident is not None and self.llm.n_tokens > 0 and self.cache.budget_bytes > 0:
            self.cache.put(self._resident, self._save())
        state = self.cache.take(agent)
        if state is not None:
            self._restore(state)
        self._resident = agent

    def _save(self) -> KVState:
        ctx = self.llm.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, SEQ)
        data = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, data, size, SEQ)
        tokens = np.array(self.llm.input_ids[: self.llm.n_tokens], dtype=np.intc)
        return KVState(tokens=tokens, data=data, nbytes=written + tokens.nbytes)

    def _restore(self, state: KVState) -> None:
        size = state.nbytes - state.tokens.nbytes
        if llama_cpp.llama_state_seq_set_data(self.llm.ctx, state.data, size, SEQ) != size:
            self.llm.n_tokens = 0  # the context is unusable as a prefix; evaluate from scratch
            return
        n = len(state.tokens)
        self.llm.input_ids[:n] = state.tokens
        self.llm.n_tokens = n

    def _reuse_prefix(self, prompt: list[int]) -> list[int]:
        """Keep the longest common prefix of the KV cache and `prompt`; return what is left.

        At least one token is always evaluated, so the sampler gets fresh logits; `eval()` drops
        the KV cells past `n_tokens` before it writes.
        """
        cached = self.llm.input_ids[: self.llm.n_tokens]
        limit = min(len(cached), len(prompt) - 1)
        mismatch = np.flatnonzero(cached[:limit] != np.asarray(prompt[:limit], dtype=np.intc))
        keep = int(mismatch[0]) if mismatch.size else limit
        self.llm.n_tokens = keep
        return prompt[keep:]

    def _grammar(self, schema: PreparedSchema) -> LlamaGrammar:
        """The schema's grammar, checked once by llama.cpp's own parser (a NULL sampler would
        crash the process later, inside the sampler chain)."""
        grammar = self._grammars.get(schema.grammar)
        if grammar is None:
            with capture_log() as log:
                sampler = llama_cpp.llama_sampler_init_grammar(
                    self._vocab, schema.grammar.encode(), b"root"
                )
            if not sampler:
                raise SchemaNotSupported(f"llama.cpp rejected the grammar: {last_error(log)}")
            llama_cpp.llama_sampler_free(sampler)
            if len(self._grammars) >= GRAMMAR_CACHE:
                del self._grammars[next(iter(self._grammars))]
            grammar = self._grammars[schema.grammar] = LlamaGrammar.from_string(schema.grammar)
        return grammar


_params_lock = threading.Lock()


@contextmanager
def extra_buffers(enabled: bool) -> Iterator[None]:
    """Set `llama_model_params.use_extra_bufts` for a `Llama` built inside the block (benchmarks
    use it to build a plain `Llama` with the engine's parameters).

    `Llama()` does not expose the field; it takes its model params from
    `llama_cpp.llama_cpp.llama_model_default_params()`, so that function is wrapped for the
    duration of the load (under a lock, since loads may run on several engines' threads).
    """
    original = llama_raw.llama_model_default_params

    def params() -> llama_raw.llama_model_params:
        defaults: llama_raw.llama_model_params = original()
        defaults.use_extra_bufts = enabled
        return defaults

    with _params_lock:
        llama_raw.llama_model_default_params = params
        try:
            yield
        finally:
            llama_raw.llama_model_default_params = original


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    values = logits.astype(np.float64)
    top = values.max()
    result: np.ndarray = values - (top + np.log(np.exp(values - top).sum()))
    return result


_UTF8_LENGTH = (1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 3, 4)
"""Sequence length by lead byte's high nibble, as llama.cpp's grammar decodes UTF-8."""


def decode_like_grammar(data: bytes) -> str:
    """UTF-8 text, one character per character the grammar counted.

    llama.cpp's grammar accepts some invalid UTF-8 (a 0xFF lead byte, overlong forms, surrogates)
    as one character each. Python's `errors="replace"` would turn such a sequence into several
    U+FFFD and push a string past the `maxLength` the grammar enforced; here each becomes exactly
    one U+FFFD, so lengths agree with the grammar.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    chars, i = [], 0
    while i < len(data):
        n = _UTF8_LENGTH[data[i] >> 4] or 1
        try:
            chars.append(data[i : i + n].decode("utf-8"))
        except UnicodeDecodeError:
            chars.append("\ufffd")
        i += n
    return "".join(chars)


def _token_text(vocab: llama_cpp.llama_vocab_p, token: int) -> str:
    if token < 0:
        return ""
    return (llama_cpp.llama_vocab_get_text(vocab, token) or b"").decode("utf-8", errors="replace")


def model_key(path: str | Path) -> Path:
    """One key per model file, whatever path (relative, `~`, symlink) names it: a process
    shares one loaded model per key."""
    return Path(path).expanduser().resolve()
