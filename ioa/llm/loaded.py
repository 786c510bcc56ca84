"""A loaded GGUF and every operation on it. Runs only on its engine's single worker thread.

llama.cpp contexts are not thread-safe, so nothing here locks: `LlamaCppEngine` guarantees that one
thread (`ModelWorker`), and only that one, calls into this class and its `BatchDecoder`.

A turn goes: fit the messages into the window (`context`), render and tokenize them, build the
request's sampler (grammar, temperature, the agent's seed), and hand it to the decoder, which finds
the agent's KV prefix (`batch`), evaluates only the rest of the prompt and samples until an
end-of-generation token, a stop string or the token limit, side by side with other agents' turns.
The `Llama` object serves tokenization and owns the weights; the decoder has its own context.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import llama_cpp
import llama_cpp.llama_cpp as llama_raw
from llama_cpp import Llama

from ioa.llm._llama_log import capture_log, last_error
from ioa.llm.accounting import Completion, FinishReason
from ioa.llm.batch import BatchDecoder, Generation, Scoring
from ioa.llm.context import fit_messages
from ioa.llm.errors import (
    ContextTooSmall,
    ModelLoadFailed,
    OptionsTooLong,
    UnsafeVocabulary,
    UnsupportedArchitecture,
)
from ioa.llm.gguf_file import GGUFFacts, inspect_gguf
from ioa.llm.prefix_cache import StateCache
from ioa.llm.sampling import REPEAT_PENALTY, SequenceSampler
from ioa.llm.structured import PreparedSchema
from ioa.llm.templates import ChatTemplate, Message, select_template

__all__ = ["REPEAT_PENALTY", "LoadedModel", "ModelSettings", "extra_buffers", "model_key"]

DEFAULT_N_CTX = 4096
DEFAULT_SLOTS = 1
"""Sequences decoded side by side; one unless asked (the lab's `concurrent`, `slots=N`). Each slot
is a full `n_ctx` window of KV cells allocated up front (see `batch`): slots x n_ctx x the model's
KV bytes per token, 4 x 4096 x 12 KB = 192 MB for the 0.5B MiniCPM shape but gigabytes for a 4B
model, and on a 2-core x86 box batching gains only 1.0-1.2x up to 8 sequences (README). Agents
beyond the slots wait for one, and their prefixes live in the state cache meanwhile."""
TOKENIZER_CTX = 64
"""The `Llama` object's own context is never decoded on; it only has to exist."""


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
    slots: int = DEFAULT_SLOTS
    """Sequences one decode pass can serve (agents thinking at the same time)."""
    repack: bool = False
    """llama.cpp's extra CPU weight buffers (x86/ARM repacking, Intel AMX). Off by default: they
    copy the weights into private RAM (+0.6 GB for a 1B Q4_K_M; mmap'd weights are shared with
    other processes instead), they slow prompt processing, which dominates agent turns on small
    CPUs, and the AMX path crashes the process on some virtual machines."""


class LoadedModel:
    def __init__(self, llm: Llama, facts: GGUFFacts, settings: ModelSettings, n_ctx: int) -> None:
        self.llm, self.facts, self.settings = llm, facts, settings
        self._vocab = vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self._bos_text = _token_text(vocab, llama_cpp.llama_vocab_bos(vocab))
        self.template: ChatTemplate = select_template(
            facts,
            settings.chat_template,
            bos_token=self._bos_text,
            eos_token=_token_text(vocab, llama_cpp.llama_vocab_eos(vocab)),
        )
        self.cache = StateCache(settings.state_budget_bytes)
        params = type(llm.context_params).from_buffer_copy(llm.context_params)
        params.n_batch = params.n_ubatch = settings.n_batch
        params.no_perf = True
        self.decoder = BatchDecoder(
            llm.model,
            params,
            slots=settings.slots,
            window=n_ctx,
            cache=self.cache,
            detokenize=llm.detokenize,
            stops=[stop.encode() for stop in self.template.stop],
            finish_text=self._finish_text,
        )
        self.n_ctx = self.decoder.window
        self._turns: dict[str, int] = {}
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
                    n_ctx=TOKENIZER_CTX,
                    n_batch=TOKENIZER_CTX,
                    n_ubatch=TOKENIZER_CTX,
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
            return cls(llm, facts, settings, n_ctx)
        except Exception:
            llm.close()
            raise

    def close(self) -> None:
        self.decoder.close()
        self.cache.clear()
        self.llm.close()

    def begin(
        self,
        agent: str,
        messages: Sequence[Message],
        schema: PreparedSchema | None,
        max_tokens: int,
        temperature: float,
        cancel: threading.Event,
    ) -> Future[Completion]:
        """Prepare a turn and hand it to the decoder; the future resolves at its last token."""
        start = perf_counter()
        reserve = max(1, min(max_tokens, self.n_ctx // 4))
        fitted = fit_messages(messages, self.n_ctx - reserve, self._count)
        prompt = list(self._tokens(fitted.messages))
        turn = self._turns.get(agent, 0)
        self._turns[agent] = turn + 1
        sampler = SequenceSampler(
            self._vocab,
            self.llm.n_vocab(),
            grammar=schema.grammar if schema is not None else None,
            temperature=temperature,
            seed=(self.settings.seed + zlib.crc32(agent.encode()) + turn) & 0x7FFFFFFF,
        )
        future: Future[Completion] = Future()
        self.decoder.submit(
            Generation(
                agent=agent,
                prompt=prompt,
                limit=min(max_tokens, self.n_ctx - len(prompt)),
                sampler=sampler,
                cancel=cancel,
                future=future,
                started=start,
                dropped=fitted.dropped,
            )
        )
        return future

    def begin_score(
        self, agent: str, messages: Sequence[Message], options: Sequence[str]
    ) -> Future[tuple[list[tuple[float, int]], Completion]]:
        """Each option's (total log-probability, tokens) as the assistant's reply to `messages`.

        The prompt is evaluated once (reusing the agent's KV prefix); then each option's tokens
        are decoded after it with logits for every position, and the KV cells past the prompt are
        dropped before the next option. The prompt stays cached.
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
        prompt = list(self._tokens(fitted.messages))
        if len(prompt) + longest > self.n_ctx:
            raise OptionsTooLong(
                f"the prompt ({len(prompt)} tokens) and an option of {longest} tokens do not "
                f"fit {self.n_ctx} tokens"
            )
        future: Future[tuple[list[tuple[float, int]], Completion]] = Future()
        self.decoder.submit(Scoring(agent, prompt, encoded, future, start, fitted.dropped))
        return future

    def _finish_text(self, data: bytes, finish: FinishReason) -> tuple[str, FinishReason]:
        text = decode_like_grammar(data)
        for stop in self.template.stop:
            if stop in text:
                text, finish = text[: text.index(stop)], "stop"
        return text, finish

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
