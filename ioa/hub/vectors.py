"""The discovery index's embedding rows: a card's field vectors, scored by a soft maximum.

A card is embedded field by field (its name, its description, each skill, its tags; see
`ioa.hub.embeddings.card_fields`), because one vector of the whole card blurs a card that does
several things, and a short query matches a short field better than a long text. A card's
semantic score is the soft maximum of its fields' cosines with the query,
`t * log(sum(exp(cosine / t)))` with `t` = `SOFTMAX_T` (0.05): the best field counts most, a
second field that also matches adds a little. Chosen on the tuning half of the labelled set (see
the README); a card with one field scores its cosine exactly.

Field rows are stored as int8 with one float32 scale per row (a quarter of the memory of
float32, and turned back into float32 far faster than float16; a cosine moves by about 1e-3),
in one pool.
A query is scored exactly against the fields of at most `CANDIDATES` cards. A table with more
cards first ranks every card by its summary (the normalised mean of its fields) projected on
the `PROJECTED_DIMS` principal directions of the summaries: one float32 matrix-vector product
over a matrix that fits in the CPU cache (100,000 x 64 floats = 25 MB, about 1.5 ms), where the
full float32 vectors (150 MB) cost ~15 ms and twice that when memory is contended. The
projection is refitted each time the number of cards has grown fourfold since the last fit (at
100,000 cards a fit takes ~0.7 s of CPU, in the search that needs it).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np

from ioa.hub.errors import InvalidVector

__all__ = [
    "CANDIDATES",
    "MAX_FIELDS",
    "PROJECTED_DIMS",
    "SOFTMAX_T",
    "InvalidVector",
    "Vector",
    "VectorTable",
    "quantize",
]

Vector = Sequence[float] | Sequence[Sequence[float]] | np.ndarray
"""An embedding as a list of numbers or a 1-D array; for a card also one row per field."""

MAX_FIELDS = 8
"""Field vectors a card may have (name, description, tags and five skills)."""
SOFTMAX_T = 0.05
"""Temperature of the soft maximum over a card's fields (0 would be the plain maximum)."""
CANDIDATES = 1024
"""Cards whose fields are scored exactly per query; more cards are first ranked by projection."""
PROJECTED_DIMS = 64
"""Principal directions of the card summaries used to pick the candidates."""
_SAMPLE = 4096
"""Summaries the principal directions are fitted on."""
_BLOCK = 8192
"""Cards projected per step of a refit (bounds its temporary memory)."""


class VectorTable:
    """Unit field vectors by document slot, and the projection that picks candidates."""

    def __init__(self, *, candidates: int = CANDIDATES) -> None:
        self.dim: int | None = None
        self.candidates_limit = candidates
        """Cards scored exactly per query (`CANDIDATES`); a measurement may raise it to compare
        with scoring every card."""
        self._rows = np.zeros((0, 0), dtype=np.int8)
        self._scale = np.zeros(0, dtype=np.float32)
        self._free_rows: list[int] = []
        self._next_row = 0
        self._rows_of = np.full((0, MAX_FIELDS), -1, dtype=np.int32)
        """Per document, its rows in `_rows` (-1: none)."""
        self._has = np.zeros(0, dtype=bool)
        self._count = 0
        """Documents with vectors."""
        self._used = 0
        """Slots up to the highest one ever given a vector: the rest is spare room."""
        self._basis: np.ndarray | None = None
        self._center = np.zeros(0, dtype=np.float32)
        self._proj = np.zeros((0, 0), dtype=np.float32)
        self._fitted_at = 0

    def unit(self, vector: Vector) -> np.ndarray:
        """A query vector, checked and scaled to unit length."""
        rows = self._checked(vector)
        if rows.ndim != 1:
            raise InvalidVector("a query embedding must be a flat list of numbers")
        return rows

    def units(self, vector: Vector) -> np.ndarray:
        """A card's field vectors as unit rows, `(fields, dim)`; a flat vector is one field."""
        rows = self._checked(vector)
        rows = rows.reshape(1, -1) if rows.ndim == 1 else rows
        if len(rows) > MAX_FIELDS:
            raise InvalidVector(f"a card has at most {MAX_FIELDS} field vectors")
        return rows

    def _checked(self, vector: Vector) -> np.ndarray:
        try:
            values = np.asarray(vector, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidVector("an embedding must be a list of numbers") from exc
        if values.ndim not in (1, 2) or values.size == 0:
            raise InvalidVector("an embedding must be a non-empty list of numbers (or of rows)")
        size = values.shape[-1]
        if self.dim is not None and size != self.dim:
            raise InvalidVector(f"embedding has {size} dimensions, the index uses {self.dim}")
        norms = np.linalg.norm(values, axis=-1, keepdims=True)
        if not np.all(np.isfinite(norms)) or np.any(norms == 0.0):
            raise InvalidVector("an embedding must be finite and not all zeros")
        return np.asarray(values / norms, dtype=np.float32)

    def set(self, doc: int, units: np.ndarray) -> None:
        """Give `doc` the field rows `units` (from `units()`), replacing any it had."""
        if self.dim is None:
            self.dim = units.shape[1]
            self._rows = np.zeros((0, self.dim), dtype=np.int8)
        self.clear(doc)
        if doc >= len(self._has):
            self._grow_docs(max(16, 2 * len(self._has), doc + 1))
        slots = [self._take_row() for _ in range(len(units))]
        self._rows[slots], self._scale[slots] = quantize(units)
        self._rows_of[doc, : len(slots)] = slots
        self._has[doc] = True
        self._count += 1
        self._used = max(self._used, doc + 1)
        if self._basis is not None:
            self._proj[doc] = (self._summary(units) - self._center) @ self._basis

    def clear(self, doc: int) -> None:
        if doc < len(self._has) and self._has[doc]:
            rows = self._rows_of[doc]
            self._free_rows.extend(int(r) for r in rows[rows >= 0])
            rows[:] = -1
            self._has[doc] = False
            self._count -= 1

    def has(self, doc: int) -> bool:
        return doc < len(self._has) and bool(self._has[doc])

    def candidates(
        self, query: np.ndarray, allowed: Collection[int] | None, shut: np.ndarray
    ) -> np.ndarray:
        """The admitted documents with vectors whose fields `scores` should read: all of them
        when they are at most `candidates`, else the best by projected summary."""
        admitted = self._has[: self._used].copy()
        if allowed is not None:
            keep = np.zeros_like(admitted)
            keep[_slots(allowed, len(admitted))] = True
            admitted &= keep
        admitted[_slots(shut, len(admitted))] = False
        docs = np.flatnonzero(admitted)
        limit = self.candidates_limit
        if len(docs) <= limit:
            return docs
        if self._basis is None or self._count >= 4 * self._fitted_at:
            self._fit()
        assert self._basis is not None
        approx = self._proj[: self._used] @ (self._basis.T @ query)
        approx[~admitted] = -np.inf
        return _top_slots(approx, limit)

    def scores(self, query: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """The soft maximum of each document's field cosines (-inf for one without vectors)."""
        docs = docs[docs < len(self._has)]
        if not len(docs):
            return np.zeros(0, dtype=np.float32)
        slots = self._rows_of[docs]
        valid = slots >= 0
        cosine = np.full(slots.shape, -np.inf, dtype=np.float32)
        rows = slots[valid]
        cosine[valid] = (self._rows[rows].astype(np.float32) @ query) * self._scale[rows]
        best = cosine.max(axis=1)
        with np.errstate(invalid="ignore"):
            spread = np.exp((cosine - best[:, None]) / SOFTMAX_T).sum(axis=1)
        result: np.ndarray = best + SOFTMAX_T * np.log(spread)
        result[~np.isfinite(best)] = -np.inf
        return result

    def best(self, query: np.ndarray, docs: np.ndarray, k: int) -> dict[int, float]:
        """The `k` documents of `docs` with the highest positive score (with ties at the
        floor, for the caller's id tie-break), as {doc: score}."""
        docs = docs[docs < len(self._has)]
        values = self.scores(query, docs)
        positive = values > 0.0
        docs, values = docs[positive], values[positive]
        if len(values) > k:
            floor = np.partition(values, len(values) - k)[len(values) - k]
            docs, values = docs[values >= floor], values[values >= floor]
        return dict(zip(docs.tolist(), values.tolist(), strict=True))

    def _take_row(self) -> int:
        if self._free_rows:
            return self._free_rows.pop()
        if self._next_row == len(self._rows):
            assert self.dim is not None
            size = max(64, len(self._rows) * 3 // 2)  # by half: the pool is most of the memory
            rows = np.zeros((size, self.dim), dtype=np.int8)
            rows[: len(self._rows)] = self._rows
            scale = np.zeros(size, dtype=np.float32)
            scale[: len(self._scale)] = self._scale
            self._rows, self._scale = rows, scale
        self._next_row += 1
        return self._next_row - 1

    def _grow_docs(self, size: int) -> None:
        rows_of = np.full((size, MAX_FIELDS), -1, dtype=np.int32)
        rows_of[: len(self._rows_of)] = self._rows_of
        has = np.zeros(size, dtype=bool)
        has[: len(self._has)] = self._has
        self._rows_of, self._has = rows_of, has
        if self._basis is not None:
            proj = np.zeros((size, self._basis.shape[1]), dtype=np.float32)
            proj[: len(self._proj)] = self._proj
            self._proj = proj

    def _summary(self, units: np.ndarray) -> np.ndarray:
        mean: np.ndarray = units.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm > 0.0 and math.isfinite(norm) else mean

    def _summaries(self, docs: np.ndarray) -> np.ndarray:
        """Normalised mean field vector of each of `docs` (which all have vectors)."""
        slots = self._rows_of[docs]
        valid = slots >= 0
        total = np.zeros((len(docs), self._rows.shape[1]), dtype=np.float32)
        for field in range(MAX_FIELDS):
            present = valid[:, field]
            if present.any():
                rows = slots[present, field]
                total[present] += self._rows[rows] * self._scale[rows, None]
        norms = np.linalg.norm(total, axis=1, keepdims=True)
        norms[norms == 0.0] = 1.0
        summaries: np.ndarray = total / norms
        return summaries

    def _fit(self) -> None:
        """Principal directions of (a spread-out sample of) the card summaries, and every
        card's projection on them."""
        docs = np.flatnonzero(self._has[: self._used])
        sample = self._summaries(docs[:: max(1, len(docs) // _SAMPLE)])
        center = sample.mean(axis=0)
        centered = sample - center
        _, vectors = np.linalg.eigh(centered.T @ centered)
        dims = min(PROJECTED_DIMS, vectors.shape[1])
        basis = np.ascontiguousarray(vectors[:, ::-1][:, :dims], dtype=np.float32)
        proj = np.zeros((len(self._has), dims), dtype=np.float32)
        for start in range(0, len(docs), _BLOCK):
            block = docs[start : start + _BLOCK]
            proj[block] = (self._summaries(block) - center) @ basis
        self._basis, self._center, self._proj = basis, center.astype(np.float32), proj
        self._fitted_at = self._count


def _top_slots(values: np.ndarray, count: int) -> np.ndarray:
    """The slots of the `count` largest `values`, in no order. A threshold read off every 16th
    value (twice the share needed, so it almost always leaves enough) narrows the selection to a
    few thousand values first: a partition of all 100,000 costs ~1 ms, this a quarter of it."""
    sample = values[::16]
    need = 2 * count // 16 + 1
    if len(sample) > need:
        floor = np.partition(sample, len(sample) - need)[len(sample) - need]
        above = np.flatnonzero(values >= floor)
        if len(above) >= count:
            best = np.argpartition(-values[above], count - 1)[:count]
            picked: np.ndarray = above[best]
            return picked
    return np.argpartition(-values, count - 1)[:count]


def quantize(units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows as int8 and the float32 scale of each (`row ~= int8 * scale`)."""
    scale = np.abs(units).max(axis=1) / 127.0
    return np.round(units / scale[:, None]).astype(np.int8), scale.astype(np.float32)


def _slots(docs: Collection[int] | np.ndarray, limit: int) -> np.ndarray:
    """`docs` below `limit` as an index array (one C pass, not a Python loop per slot)."""
    if isinstance(docs, np.ndarray):
        array = docs
    else:
        array = np.fromiter(docs, dtype=np.int64, count=len(docs))
    return array[array < limit]
