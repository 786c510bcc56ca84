"""`Embedder`: sentence embeddings from a local BERT GGUF, on the same llama.cpp kernels as chat.

The contract mirrors `Engine`: one model per file and process (`load_embedder` shares it by
reference count), every model operation a job on the embedder's own single worker thread (so the
`Llama` is only touched there and the caller's event loop never blocks), batches of texts encoded
in one llama.cpp decode, and every failure an `EngineError` subclass. `ScriptedEmbedder`
(`ioa.llm.scripted_embedder`) is the twin for tests: deterministic vectors, no model.

Vectors come back unit length (float32), so cosine similarity is a dot product. `embed` pools
the way the model was trained (mean or [CLS]); `tokens` gives each text's token ids and unit token
vectors (without [CLS]/[SEP]) for a caller that pools them with its own weights (`pool`): the
hub weighs a card's tokens by how rare they are among the registered cards (`ioa.hub.idf`).
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from ioa.llm._llama_log import capture_log, last_error
from ioa.llm.errors import EngineClosed, EngineError, ModelLoadFailed, ModelNotFound
from ioa.llm.loaded import extra_buffers, model_key

__all__ = [
    "MAX_BATCH",
    "MAX_TEXT_CHARS",
    "Embedder",
    "EmbeddingInputError",
    "LlamaCppEmbedder",
    "TokenRows",
    "load_embedder",
    "pool",
]

MAX_BATCH = 256
"""Texts in one `embed` call; a bigger batch is the caller's bug, not a workload."""
MAX_TEXT_CHARS = 1_000
"""Characters of each text that are embedded: the model reads 256 tokens (~1,000 characters)
and a card's meaning sits in its first lines; longer texts are cut, not refused."""
N_CTX = 512
"""Tokens one decode carries: the model's position table."""
PACK_TOKENS = 64
"""Tokens of short texts packed into one llama.cpp decode. A BERT decode's attention spans all
its tokens (sequences are kept apart by a mask, but the work grows with the square of the
decode), so packing many texts costs more per text than the calls it saves: CPU per card of the
labelled set, fields embedded on 1 thread, was 42 ms with 32 cards in one 512-token decode and
18-20 ms with 32-64 tokens a decode (26 ms with one text a decode)."""


class EmbeddingInputError(EngineError):
    code = "embedding_input_error"
    default_message = "the texts to embed are invalid"


@dataclass(frozen=True, slots=True)
class TokenRows:
    """One text's content tokens (no [CLS]/[SEP]) as the model saw them in context."""

    ids: np.ndarray
    """Token ids, int32, one per row."""
    rows: np.ndarray
    """`(len(ids), dim)` float32 unit vectors."""


def pool(tokens: TokenRows, weights: np.ndarray | None = None) -> np.ndarray:
    """The unit vector of `tokens`' weighted mean (uniform weights when None).

    Unit token vectors, [CLS] and [SEP] left out: on the labelled discovery set this pooling
    alone moved paraphrase recall@5 from 0.640 to 0.658 (tuning half), and weighing a card's
    tokens by their rarity among cards to 0.693 (README, "Discovery by meaning"). A text with
    no content token (or weights all zero) pools to a zero vector, which callers must not use.
    """
    if not len(tokens.ids):
        return np.zeros(tokens.rows.shape[1], dtype=np.float32)
    rows = tokens.rows
    total = rows.sum(axis=0) if weights is None else weights.astype(np.float32) @ rows
    norm = float(np.linalg.norm(total))
    return np.asarray(total / norm if norm > 0.0 else total, dtype=np.float32)


class Embedder(ABC):
    """Texts → unit vectors. `embed` takes a batch; `dim` is known after `start()`."""

    name: str = "embedder"
    """Identifies the model, so stored vectors of another model are not mixed in."""

    def __init__(self) -> None:
        self._closed = False

    @property
    @abstractmethod
    def dim(self) -> int:
        """Dimensions of every vector this embedder returns."""

    @abstractmethod
    async def _embed(self, texts: list[str]) -> np.ndarray:
        """Rows of unit vectors, one per text (already checked and cut)."""

    async def start(self) -> Self:
        return self

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        self._closed = True

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """A `(len(texts), dim)` float32 array of unit vectors, in the order of `texts`."""
        if self._closed:
            raise EngineClosed("the embedder is closed")
        return await self._embed(_check_texts(texts))

    async def embed_one(self, text: str) -> np.ndarray:
        rows = await self.embed([text])
        return np.asarray(rows[0])

    async def tokens(self, texts: Sequence[str]) -> list[TokenRows]:
        """Each text's content tokens and their unit vectors, in the order of `texts`."""
        if self._closed:
            raise EngineClosed("the embedder is closed")
        return await self._tokens(_check_texts(texts))

    @abstractmethod
    async def _tokens(self, texts: list[str]) -> list[TokenRows]:
        """`tokens` for texts already checked and cut."""

    async def token_ids(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Each text's content token ids (those `tokens` returns), without running the model."""
        if self._closed:
            raise EngineClosed("the embedder is closed")
        return await self._token_ids(_check_texts(texts))

    @abstractmethod
    async def _token_ids(self, texts: list[str]) -> list[np.ndarray]:
        """`token_ids` for texts already checked and cut."""


def _check_texts(texts: object) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise EmbeddingInputError("texts must be a list of strings, not one string")
    if not texts:
        raise EmbeddingInputError("nothing to embed: the list of texts is empty")
    if len(texts) > MAX_BATCH:
        raise EmbeddingInputError(f"{len(texts)} texts in one batch; the limit is {MAX_BATCH}")
    checked = []
    for text in texts:
        if not isinstance(text, str):
            raise EmbeddingInputError(f"every text must be a string, not {type(text).__name__}")
        checked.append(text[:MAX_TEXT_CHARS])
    return checked


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    return np.asarray(rows / norms, dtype=np.float32)


class LlamaCppEmbedder(Embedder):
    """A BERT-family GGUF (mean or [CLS] pooling) run by llama.cpp in embedding mode.

    The context does not pool: every token's vector comes back, and `embed` pools them the way
    the model says (the same vector as llama.cpp's own pooling), `tokens` hands them over.

    Prefer `load_embedder`, which shares one instance per file. One thread by default: the hub
    embeds cards in the background and should leave the CPU to the agents.
    """

    def __init__(self, path: str | Path, *, n_threads: int = 1) -> None:
        super().__init__()
        if n_threads < 1:
            raise EngineError("n_threads must be positive")
        self.path = model_key(path)
        self.name = self.path.stem
        self.n_threads = n_threads
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ioa-embed")
        self._llm: Any = None
        self._batch: Any = None
        self._pooling = 1
        self._control: set[int] = set()
        self._dim = 0
        self._loading: Future[None] | None = None
        self._lock = threading.Lock()
        self._users = 1

    @property
    def dim(self) -> int:
        if not self._dim:
            raise EngineError("the embedder is not started; await embedder.start() first")
        return self._dim

    async def start(self) -> Self:
        """Load the model once (later calls wait for the same load); `ModelFileError` if not."""
        with self._lock:
            if self._closed:
                raise EngineClosed("the embedder is closed")
            if self._loading is None:
                self._loading = self._executor.submit(self._load)
            loading = self._loading
        await asyncio.shield(asyncio.wrap_future(loading))
        return self

    def _load(self) -> None:
        import llama_cpp
        from llama_cpp import Llama

        if not self.path.is_file():
            raise ModelNotFound(self.path)
        with capture_log() as log, extra_buffers(False):
            try:
                llm = Llama(
                    model_path=str(self.path),
                    embedding=True,
                    pooling_type=llama_cpp.LLAMA_POOLING_TYPE_NONE,  # pooled here, see `_decode`
                    n_ctx=N_CTX,
                    n_batch=N_CTX,
                    n_ubatch=N_CTX,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ModelLoadFailed(
                    self.path, f"llama.cpp could not load it: {last_error(log)}"
                ) from exc
        arch = llm.metadata.get("general.architecture", "")
        pooling = llm.metadata.get(f"{arch}.pooling_type", "")
        if pooling not in ("1", "2"):  # mean or CLS: one vector per sequence
            llm.close()
            raise ModelLoadFailed(self.path, "not a sentence-embedding model (no pooling)")
        self._llm = llm
        self._pooling = int(pooling)
        self._dim = int(llm.n_embd())
        self._batch = llama_cpp.llama_batch_init(N_CTX, 0, 1)
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self._control = {
            i
            for i in range(int(llama_cpp.llama_vocab_n_tokens(vocab)))
            if llama_cpp.llama_vocab_is_control(vocab, i)
        }

    async def _embed(self, texts: list[str]) -> np.ndarray:
        decoded = await self._submit(texts)
        mean = self._pooling == 1
        rows = [vectors.mean(axis=0) if mean else vectors[0] for _, vectors in decoded]
        return _unit_rows(np.stack(rows))

    async def _tokens(self, texts: list[str]) -> list[TokenRows]:
        decoded = await self._submit(texts)
        out = []
        for ids, vectors in decoded:
            content = np.array([int(i) not in self._control for i in ids], dtype=bool)
            out.append(TokenRows(ids[content], _unit_rows(vectors[content])))
        return out

    async def _token_ids(self, texts: list[str]) -> list[np.ndarray]:
        if self._loading is None:
            await self.start()
        try:
            future = self._executor.submit(self._content_ids, texts)
        except RuntimeError:
            raise EngineClosed("the embedder is closed") from None
        return await asyncio.wrap_future(future)

    def _content_ids(self, texts: list[str]) -> list[np.ndarray]:
        if self._llm is None:
            raise EngineClosed("the embedder is closed")
        control = self._control
        return [
            np.asarray([i for i in self._tokenize(text) if i not in control], dtype=np.int32)
            for text in texts
        ]

    async def _submit(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        if self._loading is None:
            await self.start()
        try:
            future = self._executor.submit(self._run, texts)
        except RuntimeError:  # the executor shut down: closed under our feet
            raise EngineClosed("the embedder is closed") from None
        return await asyncio.wrap_future(future)

    def _run(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each text's token ids (with [CLS]/[SEP]) and their vectors, decoded in packs."""
        if self._llm is None:
            raise EngineClosed("the embedder is closed")
        out: list[tuple[np.ndarray, np.ndarray]] = []
        try:
            for group in self._packed(texts):
                out.extend(self._decode(group))
        except (ValueError, RuntimeError) as exc:
            raise EngineError(f"embedding failed: {exc}") from exc
        return out

    def _tokenize(self, text: str) -> list[int]:
        ids: list[int] = self._llm.tokenize(text.encode("utf-8", "replace"), add_bos=True)
        return ids[:N_CTX]

    def _packed(self, texts: list[str]) -> list[list[list[int]]]:
        """`texts` tokenized, in order, cut into groups of at most `PACK_TOKENS` tokens (a
        longer text alone)."""
        groups: list[list[list[int]]] = []
        size = PACK_TOKENS + 1
        for text in texts:
            ids = self._tokenize(text)
            if size + len(ids) > PACK_TOKENS:
                groups.append([])
                size = 0
            groups[-1].append(ids)
            size += len(ids)
        return groups

    def _decode(self, group: list[list[int]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """One llama.cpp decode of `group` (one sequence per text) and every token's vector.

        Read straight from llama.cpp's output buffer: llama-cpp-python's own `embed` reads the
        token vectors of every sequence after the first of a decode from the wrong offset when
        the context does not pool (0.3.36).
        """
        import llama_cpp

        batch, n = self._batch, 0
        for seq, ids in enumerate(group):
            for pos, token in enumerate(ids):
                batch.token[n], batch.pos[n] = token, pos
                batch.n_seq_id[n], batch.seq_id[n][0], batch.logits[n] = 1, seq, True
                n += 1
        batch.n_tokens = n
        ctx = self._llm.ctx
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
        if llama_cpp.llama_decode(ctx, batch) != 0:
            raise EngineError(f"llama_decode failed on {n} tokens")
        pointer = llama_cpp.llama_get_embeddings(ctx)
        values = np.ctypeslib.as_array(pointer, shape=(n, self._dim)).copy()
        out, start = [], 0
        for ids in group:
            out.append((np.asarray(ids, dtype=np.int32), values[start : start + len(ids)]))
            start += len(ids)
        return out

    async def close(self) -> None:
        """Release this user's share; the last one frees the model on the worker thread."""
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._closed:
                return
            self._closed = True
        with _shared_lock:
            if _shared.get(self.path) is self:
                del _shared[self.path]
        await asyncio.wrap_future(self._executor.submit(self._free))
        self._executor.shutdown(wait=False)

    def _free(self) -> None:
        if self._llm is not None:
            import llama_cpp

            llama_cpp.llama_batch_free(self._batch)
            self._llm.close()
            self._llm = None


_shared: dict[Path, LlamaCppEmbedder] = {}
_shared_lock = threading.Lock()


async def load_embedder(path: str | Path, *, n_threads: int = 1) -> LlamaCppEmbedder:
    """The process's embedder for `path`, started; each caller must `close()` it once."""
    key = model_key(path)
    with _shared_lock:
        embedder = _shared.get(key)
        if embedder is None or embedder.closed:
            embedder = _shared[key] = LlamaCppEmbedder(key, n_threads=n_threads)
        else:
            with embedder._lock:
                embedder._users += 1
    try:
        return await embedder.start()
    except BaseException:
        await embedder.close()
        raise
