"""The discovery index's embedding rows: unit vectors by document slot, cosine by matrix product.

Float32 rows in one growing matrix: a query's cosine with every card is one BLAS matrix-vector
product (100,000 x 384 floats = 150 MB read per query, a few milliseconds), which beats any
approximate index at this size without its build time, memory or recall loss.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np

from ioa.hub.errors import HubError
from protocols.errors import ErrorCode

__all__ = ["InvalidVector", "Vector", "VectorTable"]

Vector = Sequence[float] | np.ndarray
"""An embedding as a list of numbers or a 1-D array."""


class InvalidVector(HubError):
    code = ErrorCode.INVALID_VECTOR
    default_message = "the embedding vector is invalid"


class VectorTable:
    """Unit-length embedding rows indexed by document slot; cosine is then one matrix product."""

    def __init__(self) -> None:
        self.dim: int | None = None
        self._rows = np.zeros((0, 0), dtype=np.float32)
        self._has = np.zeros(0, dtype=bool)
        self._used = 0
        """Slots up to the highest one ever given a vector: the rest of `_rows` is spare room."""

    def unit(self, vector: Vector) -> np.ndarray:
        try:
            values = np.asarray(vector, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidVector("an embedding must be a list of numbers") from exc
        if values.ndim != 1 or values.size == 0:
            raise InvalidVector("an embedding must be a non-empty flat list of numbers")
        if self.dim is not None and values.size != self.dim:
            raise InvalidVector(
                f"embedding has {values.size} dimensions, the index uses {self.dim}"
            )
        norm = float(np.linalg.norm(values))
        if not math.isfinite(norm) or norm == 0.0:
            raise InvalidVector("an embedding must be finite and not all zeros")
        return (values / norm).astype(np.float32)

    def set(self, doc: int, unit: np.ndarray) -> None:
        if self.dim is None:
            self.dim = unit.size
            self._rows = np.zeros((0, self.dim), dtype=np.float32)
        if doc >= len(self._has):
            size = max(16, 2 * len(self._has), doc + 1)
            rows = np.zeros((size, self.dim), dtype=np.float32)
            rows[: len(self._rows)] = self._rows
            has = np.zeros(size, dtype=bool)
            has[: len(self._has)] = self._has
            self._rows, self._has = rows, has
        self._rows[doc] = unit
        self._has[doc] = True
        self._used = max(self._used, doc + 1)

    def clear(self, doc: int) -> None:
        if doc < len(self._has):
            self._has[doc] = False

    def similarities(self, query: np.ndarray) -> np.ndarray:
        """Cosine of every used slot with the query; slots without a vector get -inf."""
        used = self._used
        sims: np.ndarray = self._rows[:used] @ query
        sims[~self._has[:used]] = -np.inf
        return sims

    def has(self, doc: int) -> bool:
        return doc < len(self._has) and bool(self._has[doc])

    def top(
        self,
        sims: np.ndarray,
        k: int,
        allowed: Collection[int] | None,
        shut: Collection[int] | np.ndarray,
    ) -> dict[int, float]:
        """The `k` admitted slots of `similarities(...)` with the highest positive cosine.

        `sims` is modified (filtered slots become -inf)."""
        if allowed is not None:
            keep = _slots(allowed, len(sims))
            masked = np.full(len(sims), -np.inf, dtype=sims.dtype)
            masked[keep] = sims[keep]
            sims = masked
        if len(shut):
            sims[_slots(shut, len(sims))] = -np.inf
        take = min(k, len(sims))
        if not take:
            return {}
        best = np.argpartition(-sims, take - 1)[:take]
        return {int(doc): float(sims[doc]) for doc in best if sims[doc] > 0.0}


def _slots(docs: Collection[int] | np.ndarray, limit: int) -> np.ndarray:
    """`docs` below `limit` as an index array (one C pass, not a Python loop per slot)."""
    if isinstance(docs, np.ndarray):
        array = docs
    else:
        array = np.fromiter(docs, dtype=np.int64, count=len(docs))
    return array[array < limit]
