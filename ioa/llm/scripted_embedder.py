"""`ScriptedEmbedder`: the deterministic twin of `Embedder` for tests, no model."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np

from ioa.llm.embedder import Embedder, EmbeddingInputError, TokenRows, _unit_rows

__all__ = ["ScriptedEmbedder"]


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

    async def _tokens(self, texts: list[str]) -> list[TokenRows]:
        """One token per word (a text listed in `vectors` is one token): its id a hash of the
        word, its row the word's vector."""
        self.batches.append(texts)
        out = []
        for text in texts:
            words = self._words(text)
            rows = np.zeros((len(words), self._dim), dtype=np.float32)
            for i, word in enumerate(words):
                rows[i] = self._vector(word)
            out.append(TokenRows(_word_ids(words), _unit_rows(rows)))
        return out

    async def _token_ids(self, texts: list[str]) -> list[np.ndarray]:
        return [_word_ids(self._words(text)) for text in texts]

    def _words(self, text: str) -> list[str]:
        return [text] if text in self._vectors else text.lower().split()

    def _vector(self, text: str) -> np.ndarray:
        if text in self._vectors:
            return self._vectors[text]
        row = np.zeros(self._dim, dtype=np.float32)
        for word in text.lower().split():
            row[int.from_bytes(_digest(word)[:4], "little") % self._dim] += 1.0
        if not row.any():
            row[0] = 1.0
        return row


def _digest(word: str) -> bytes:
    return hashlib.blake2b(word.encode(), digest_size=8).digest()


def _word_ids(words: list[str]) -> np.ndarray:
    ids = [int.from_bytes(_digest(word)[4:], "little") & 0x7FFFFFFF for word in words]
    return np.asarray(ids, dtype=np.int32)
