"""The lexical half of discovery: Okapi BM25 over weighted card terms, in an inverted index.

Documents are small integers handed out by `ioa.hub.discovery.DiscoveryIndex`; this module knows
nothing of agents, tags or presence. Each term keeps its documents in two compact arrays
(`_Postings`), so the index of 100,000 cards stays small and a query costs the postings of its
terms, not the number of cards. Scores come out as numpy arrays because the hybrid ranking
blends them with cosines; numpy is imported by the first query, not with the module.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

K1 = 1.2
"""BM25 term-frequency saturation."""
B = 0.75
"""BM25 document-length normalisation."""


class _Postings:
    """One term's documents, sorted, with their weighted counts in two compact arrays.

    Arrays take ~6 bytes a posting where a dict takes ~40, which is most of the index's memory at
    100,000 cards; bisection keeps updates and lookups logarithmic.
    """

    __slots__ = ("docs", "tfs")

    def __init__(self) -> None:
        self.docs = array("i")
        self.tfs = array("H")

    def __len__(self) -> int:
        return len(self.docs)

    def get(self, doc: int) -> int:
        i = bisect_left(self.docs, doc)
        return self.tfs[i] if i < len(self.docs) and self.docs[i] == doc else 0

    def put(self, doc: int, tf: int) -> None:
        tf = min(tf, 0xFFFF)
        if not self.docs or self.docs[-1] < doc:
            self.docs.append(doc)
            self.tfs.append(tf)
            return
        i = bisect_left(self.docs, doc)
        if i < len(self.docs) and self.docs[i] == doc:
            self.tfs[i] = tf
        else:
            self.docs.insert(i, doc)
            self.tfs.insert(i, tf)

    def discard(self, doc: int) -> None:
        i = bisect_left(self.docs, doc)
        if i < len(self.docs) and self.docs[i] == doc:
            del self.docs[i]
            del self.tfs[i]


class Bm25:
    """BM25 (a simplified BM25F: weighted term counts, one length normalisation) of documents.

    Not thread-safe, no I/O: the hub calls it from its event loop only.
    """

    def __init__(self, *, k1: float = K1, b: float = B) -> None:
        self._k1 = k1
        self._b = b
        self._postings: dict[str, _Postings] = {}
        self._terms: list[tuple[str, ...]] = []
        self._lens = array("i")
        """Weighted term count of each document (a C array: scoring reads it as a numpy view)."""
        self._live = bytearray()
        self._count = 0
        self._total_len = 0

    def __len__(self) -> int:
        """Documents indexed (a card without a single term counts: it is a document)."""
        return self._count

    @property
    def term_count(self) -> int:
        """Distinct terms in the index."""
        return len(self._postings)

    def put(self, doc: int, counts: Mapping[str, int]) -> None:
        """Index `doc` with its weighted term counts, replacing what it held before."""
        while doc >= len(self._terms):
            self._terms.append(())
            self._lens.append(0)
            self._live.append(0)
        if self._live[doc]:
            self.drop(doc, keep=counts.keys())
        for term, weight in counts.items():
            postings = self._postings.get(term)
            if postings is None:
                postings = self._postings[term] = _Postings()
            postings.put(doc, weight)
        length = sum(counts.values())
        self._terms[doc] = tuple(counts)
        self._lens[doc] = length
        self._total_len += length
        self._live[doc] = 1
        self._count += 1

    def drop(self, doc: int, keep: Collection[str] = ()) -> None:
        """Take `doc` out; postings of the `keep` terms stay for `put` to overwrite, which spares
        a card re-registered unchanged any array shifting. Unknown documents are ignored."""
        if doc >= len(self._live) or not self._live[doc]:
            return
        for term in self._terms[doc]:
            if term in keep:
                continue
            postings = self._postings[term]
            postings.discard(doc)
            if not postings:
                del self._postings[term]
        self._total_len -= self._lens[doc]
        self._lens[doc] = 0
        self._terms[doc] = ()
        self._live[doc] = 0
        self._count -= 1

    def holds(self, term: str, doc: int) -> bool:
        postings = self._postings.get(term)
        return postings is not None and postings.get(doc) > 0

    def rarest(self, terms: Collection[str], limit: int) -> set[str]:
        """The `limit` indexed terms of `terms` held by the fewest documents."""
        known = sorted((len(self._postings[t]), t) for t in terms if t in self._postings)
        return {term for _, term in known[:limit]}

    def scores(
        self, terms: list[str], allowed: set[int] | None, admitted: np.ndarray | None, size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """BM25 of every admitted document that holds at least one of `terms`, as documents in
        ascending order and their scores: one array operation per query term over its
        postings, or, when the filters admit few documents, a look-up per admitted document.
        `admitted` is `allowed` as an array; `size` bounds the document numbers."""
        import numpy as np

        n = self._count
        none = (np.zeros(0, dtype=np.int64), np.zeros(0))
        if n == 0:
            return none
        k1 = self._k1
        c_norm = k1 * (1.0 - self._b)
        c_len = k1 * self._b * n / self._total_len if self._total_len else 0.0
        lists = [(p, self._idf(len(p)) * (k1 + 1.0)) for p in self._lists(terms)]
        if not lists:
            return none
        if allowed is not None and 4 * len(allowed) * len(lists) < sum(len(p) for p, _ in lists):
            found: dict[int, float] = {}
            for doc in sorted(allowed):
                total = 0.0
                for postings, w in lists:
                    tf = postings.get(doc)
                    if tf:
                        total += w * tf / (tf + c_norm + c_len * self._lens[doc])
                if total:
                    found[doc] = total
            return (
                np.fromiter(found.keys(), dtype=np.int64, count=len(found)),
                np.fromiter(found.values(), dtype=np.float64, count=len(found)),
            )
        lens = np.frombuffer(self._lens, dtype=np.intc).astype(np.float64)
        scores = np.zeros(max(size, len(lens)))
        for postings, w in lists:
            docs = np.frombuffer(postings.docs, dtype=np.intc)
            counts = np.frombuffer(postings.tfs, dtype=np.ushort).astype(np.float64)
            scores[docs] += w * counts / (counts + c_norm + c_len * lens[docs])
            del docs  # a live view would stop the postings array from growing
        if admitted is not None:
            keep = np.zeros(len(scores), dtype=bool)
            keep[admitted] = True
            scores[~keep] = 0.0
        hits = np.flatnonzero(scores)
        return hits, scores[hits]

    def bound(self, terms: list[str]) -> float:
        """The BM25 a document would score with every one of `terms` at saturation."""
        total = sum(self._idf(len(p)) * (self._k1 + 1.0) for p in self._lists(terms))
        return total or 1.0

    def _lists(self, terms: list[str]) -> list[_Postings]:
        found = (self._postings.get(term) for term in terms)
        return [postings for postings in found if postings]

    def _idf(self, df: int) -> float:
        return math.log(1.0 + (self._count - df + 0.5) / (df + 0.5))
