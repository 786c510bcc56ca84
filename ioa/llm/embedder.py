"""`Embedder`: sentence embeddings from a local BERT GGUF, on the same llama.cpp kernels as chat.

The contract mirrors `Engine`: one model per file and process (`load_embedder` shares it by
reference count), every model operation a job on the embedder's own single worker thread (so the
`Llama` is only touched there and the caller's event loop never blocks), batches of texts encoded
in one llama.cpp decode, and every failure an `EngineError` subclass. `ScriptedEmbedder` is the
twin for tests: deterministic vectors, no model.

Vectors come back unit length (float32), so cosine similarity is a dot product.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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
    "ScriptedEmbedder",
    "load_embedder",
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
    """A BERT-family GGUF (mean pooling) run by llama.cpp in embedding mode.

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
        from llama_cpp import Llama

        if not self.path.is_file():
            raise ModelNotFound(self.path)
        with capture_log() as log, extra_buffers(False):
            try:
                llm = Llama(
                    model_path=str(self.path),
                    embedding=True,
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
        pooling = int(llm.pooling_type())  # annotated str, returns llama_pooling_type
        if pooling not in (1, 2):  # mean or CLS: one vector per sequence
            llm.close()
            raise ModelLoadFailed(self.path, "not a sentence-embedding model (no pooling)")
        self._llm = llm
        self._dim = int(llm.n_embd())

    async def _embed(self, texts: list[str]) -> np.ndarray:
        if self._loading is None:
            await self.start()
        try:
            future = self._executor.submit(self._run, texts)
        except RuntimeError:  # the executor shut down: closed under our feet
            raise EngineClosed("the embedder is closed") from None
        return await asyncio.wrap_future(future)

    def _run(self, texts: list[str]) -> np.ndarray:
        if self._llm is None:
            raise EngineClosed("the embedder is closed")
        rows: list[Any] = []
        try:
            for group in self._packed(texts):
                rows.extend(self._llm.embed(group, truncate=True))
        except (ValueError, RuntimeError) as exc:
            raise EngineError(f"embedding failed: {exc}") from exc
        return _unit_rows(np.asarray(rows, dtype=np.float32).reshape(len(texts), self._dim))

    def _packed(self, texts: list[str]) -> list[list[str]]:
        """`texts` in order, cut into groups of at most `PACK_TOKENS` tokens (a longer text
        alone)."""
        groups: list[list[str]] = []
        size = PACK_TOKENS + 1
        for text in texts:
            tokens = len(self._llm.tokenize(text.encode("utf-8", "replace"), add_bos=True))
            if size + tokens > PACK_TOKENS:
                groups.append([])
                size = 0
            groups[-1].append(text)
            size += tokens
        return groups

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


class ScriptedEmbedder(Embedder):
    """Deterministic vectors without a model, for tests of what uses an `Embedder`.

    A text listed in `vectors` gets that vector; any other text a hashed bag of its words (texts
    sharing words point the same way, so ranking behaves plausibly). Every batch is recorded.
    """

    name = "scripted"

    def __init__(self, vectors: Mapping[str, Sequence[float]] | None = None, *, dim: int = 16):
        super().__init__()
        self._dim = dim
        self._vectors = {
            text: np.asarray(v, dtype=np.float32) for text, v in (vectors or {}).items()
        }
        for text, vector in self._vectors.items():
            if vector.shape != (dim,):
                raise EmbeddingInputError(f"the vector for {text!r} does not have {dim} numbers")
        self.batches: list[list[str]] = []

    @property
    def dim(self) -> int:
        return self._dim

    async def _embed(self, texts: list[str]) -> np.ndarray:
        self.batches.append(texts)
        rows = np.stack([self._vector(text) for text in texts])
        return _unit_rows(rows)

    def _vector(self, text: str) -> np.ndarray:
        if text in self._vectors:
            return self._vectors[text]
        row = np.zeros(self._dim, dtype=np.float32)
        for word in text.lower().split():
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            row[int.from_bytes(digest[:4], "little") % self._dim] += 1.0
        if not row.any():
            row[0] = 1.0
        return row
