"""Capability discovery: rank registered agents by how well their card matches a query.

IoA's reference implementation embeds every description with a cloud model and asks Milvus; here
ranking is local and needs no model: Okapi BM25 over a field-weighted bag of words built from each
card, kept in an in-memory inverted index that the hub updates incrementally as agents register,
change, leave and come online. Work per query is proportional to the postings of the query terms,
not to the number of cards, so rare terms stay cheap on a hub of 100,000 agents.

Field weights (why): a card's name, its tags and its skill names are what its author chose to be
found by, so a term there counts 3x (name, tags) or 2x (skill names) a term in free-text
descriptions. Weighted term counts feed BM25's term frequency and document length (a simplified
BM25F with one length normalisation).

Ranking by meaning is optional: the hub passes a card's field vectors (`upsert`, `set_vector`;
see `ioa.hub.vectors` for how a card's fields are scored) and a query vector, and `mode` picks
the ranking:

- `bm25`: the lexical ranking above, vectors ignored;
- `vector`: the soft maximum of the cosines of the query with the card's fields;
- `hybrid`: `(1 - w) * (bm25 / bm25_bound) ** 3 + w * max(semantic, 0)`, where `bm25_bound` is
  the score a card would get with every query term at saturation (sum of idf * (k1 + 1)), so
  `bm25 / bm25_bound` is the share of the query's term weight a card matches, comparable across
  queries. The cube keeps a card that matches a query almost word for word (share near 1) well
  ahead and makes one that shares a common word or two with it (share 0.2-0.4: the wrong cards
  for a goal phrased in other words) count next to nothing. `w` is `semantic_weight`, 0.9 in
  the hub. Both chosen on the tuning half of the labelled set (README).

With more than `CANDIDATES` cards, `vector` and `hybrid` score exactly the best `CANDIDATES`
cards by projected summary (`ioa.hub.vectors`) plus, for `hybrid`, the `LEXICAL_CANDIDATES`
best lexical hits: a card outside both lists would need a strong match in words and in meaning that
neither ranking sees, which the benchmark checks does not happen on its queries.

The index takes vectors rather than an embedding function because embedding runs on the
embedder's worker thread and is awaited by the hub; calling a model from here would block the
event loop.

numpy is imported by the first search or vector, not with this module: a hub starts without it
(0.23 G instructions, ~8% of the start to its first answer).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ioa.hub.analysis import analyze, card_tags, card_terms, stem, tag_key, words
from ioa.hub.bm25 import K1, B, Bm25
from ioa.hub.errors import HubError, InvalidVector
from protocols.card import AgentCard
from protocols.errors import ErrorCode

if TYPE_CHECKING:
    import numpy as np

    from ioa.hub.vectors import Vector, VectorTable

__all__ = [
    "BLEND",
    "K1",
    "MODES",
    "B",
    "DiscoveryError",
    "DiscoveryIndex",
    "Hit",
    "InvalidQuery",
    "InvalidVector",
    "analyze",
    "card_tags",
    "card_terms",
]

MAX_QUERY_CHARS = 16_000
"""Twice the longest goal text the hub accepts: a goal is also a discovery query."""
MODES = ("bm25", "vector", "hybrid")
"""How `search` ranks; see the module docstring."""
BLEND = (
    "hybrid = (1 - {w}) * (bm25 / bm25_bound) ** 3"
    " + {w} * max(soft maximum of the field cosines, 0)"
)
"""The hybrid score, as `/v1/health` states it (`w` is the semantic weight)."""
LEXICAL_POWER = 3
"""The power of the lexical share in the hybrid score (see the module docstring)."""
LEXICAL_CANDIDATES = 256
"""The best lexical hits `hybrid` scores by meaning too (beside the semantic candidates)."""
MAX_QUERY_TERMS = 32
"""A longer query keeps its rarest terms: common ones barely move BM25 but cost the most."""


class DiscoveryError(HubError):
    code = ErrorCode.DISCOVERY_ERROR
    default_message = "discovery failed"


class InvalidQuery(DiscoveryError):
    code = ErrorCode.INVALID_QUERY
    default_message = "the discovery query is invalid"


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked agent and why it matched."""

    agent_id: str
    score: float
    """BM25 (or blended) relevance; 0.0 when the query had no terms and filters alone chose."""
    matched_terms: tuple[str, ...] = ()
    """Query words (normalised) whose term occurs in the card, in query order."""
    matched_tags: tuple[str, ...] = ()
    """Card tags that were requested as a filter or that match a query term, sorted."""


class DiscoveryIndex:
    """In-memory BM25 index of agent cards, with tag and presence filters.

    Not thread-safe: the hub calls it from its event loop only. All methods are synchronous and
    do no I/O; a ranked `search` costs O(postings of the query terms x log k), not O(cards),
    but for the optional semantic pass: one small matrix-vector product over all cards (see
    `ioa.hub.vectors`).
    """

    def __init__(
        self,
        *,
        k1: float = K1,
        b: float = B,
        semantic_weight: float = 0.5,
        candidates: int | None = None,
    ) -> None:
        """`candidates`: cards scored exactly by meaning per query (default `CANDIDATES`)."""
        if not 0.0 <= semantic_weight <= 1.0:
            raise DiscoveryError("semantic_weight must be between 0 and 1")
        self._lexical = Bm25(k1=k1, b=b)
        self._semantic_weight = semantic_weight
        self._tag_docs: dict[str, set[int]] = {}
        self._doc_of: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._tags: list[tuple[str, ...]] = []
        self._free: list[int] = []
        self._online_ids: set[str] = set()
        self._online_docs: set[int] = set()
        self._candidates = candidates
        self._table: VectorTable | None = None

    @property
    def _vectors(self) -> VectorTable:
        """The cards' vectors, made (numpy imported) when first needed."""
        if self._table is None:
            from ioa.hub.vectors import CANDIDATES, VectorTable

            self._table = VectorTable(
                candidates=CANDIDATES if self._candidates is None else self._candidates
            )
        return self._table

    def __len__(self) -> int:
        return len(self._doc_of)

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._doc_of

    @property
    def term_count(self) -> int:
        """Distinct terms in the index."""
        return self._lexical.term_count

    def upsert(self, agent_id: str, card: AgentCard, *, vector: Vector | None = None) -> None:
        """Index `card` under `agent_id`, replacing whatever was indexed for it before.

        `vector` is the card's embedding (one row per field, or one flat vector); without one
        the agent has no semantic score.
        """
        unit = None if vector is None else self._vectors.units(vector)
        doc = self._doc_of.get(agent_id)
        if doc is None:
            doc = self._allocate(agent_id)
        else:
            self._untag(doc)
            self._vectors.clear(doc)
        self._lexical.put(doc, card_terms(card))
        tags = card_tags(card)
        for tag in tags:
            self._tag_docs.setdefault(tag, set()).add(doc)
        self._tags[doc] = tags
        if unit is not None:
            self._vectors.set(doc, unit)

    def remove(self, agent_id: str) -> None:
        """Forget an agent (deregistration); unknown ids are ignored."""
        self._online_ids.discard(agent_id)
        doc = self._doc_of.pop(agent_id, None)
        if doc is None:
            return
        self._lexical.drop(doc)
        self._untag(doc)
        self._vectors.clear(doc)
        self._online_docs.discard(doc)
        self._ids[doc] = None
        self._free.append(doc)

    def set_online(self, agent_id: str, online: bool) -> None:
        """Record presence; it may arrive before the agent's card is indexed."""
        doc = self._doc_of.get(agent_id)
        if online:
            self._online_ids.add(agent_id)
            if doc is not None:
                self._online_docs.add(doc)
        else:
            self._online_ids.discard(agent_id)
            if doc is not None:
                self._online_docs.discard(doc)

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        tags: Iterable[str] = (),
        online_only: bool = False,
        exclude: Iterable[str] = (),
        query_vector: Vector | None = None,
        mode: str | None = None,
    ) -> list[Hit]:
        """The `k` agents that best match `query`, best first, ties broken by agent id.

        An agent must carry every tag in `tags` (case-insensitive) and, with `online_only`, be
        online. A query without searchable terms lists the agents the filters select (score 0,
        by agent id), or nothing when no filter is given. `mode` is one of `MODES`; by default
        `hybrid` when `query_vector` is given, else `bm25`. `vector` and `hybrid` need
        `query_vector`, and rank by meaning only the agents indexed with a vector.
        """
        if mode is None:
            mode = "bm25" if query_vector is None else "hybrid"
        if mode not in MODES:
            raise InvalidQuery(f"mode must be one of {', '.join(MODES)}")
        if mode != "bm25" and query_vector is None:
            raise InvalidQuery(f"mode {mode!r} needs a query vector")
        if mode == "bm25":
            query_vector = None
        if not isinstance(query, str):
            raise InvalidQuery("the query must be text")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidQuery(f"the query is longer than {MAX_QUERY_CHARS} characters")
        _check_k(k)
        wanted_tags = _tag_set(tags)
        excluded = {self._doc_of[a] for a in _id_set(exclude) if a in self._doc_of}
        unit = None
        if query_vector is not None:
            unit = self._vectors.unit(query_vector)
            if self._vectors.dim is None:
                unit = None
        terms: dict[str, str] = {}
        for word in words(query):
            terms.setdefault(stem(word), word)
        if len(terms) > MAX_QUERY_TERMS:
            keep = self._lexical.rarest(terms, MAX_QUERY_TERMS)
            terms = {term: word for term, word in terms.items() if term in keep}
        allowed = self._allowed(wanted_tags, online_only)
        if allowed is not None and not allowed:
            return []
        if not terms and unit is None:
            if allowed is None:
                return []
            ids = heapq.nsmallest(k, (self._ids[d] or "" for d in allowed if d not in excluded))
            return [Hit(a, 0.0, (), tuple(sorted(wanted_tags))) for a in ids]
        import numpy as np

        shut = np.fromiter(excluded, dtype=np.int64, count=len(excluded))
        admitted = None if allowed is None else np.fromiter(allowed, np.int64, len(allowed))
        if mode == "vector":
            if unit is None:
                return []
            candidates = self._vectors.candidates(unit, admitted, shut)
            semantic = self._vectors.best(unit, candidates, k)
            return [
                self._hit(doc, score, terms, wanted_tags) for doc, score in self._top(semantic, k)
            ]
        docs, scores = self._lexical.scores(sorted(terms), allowed, admitted, len(self._ids))
        if len(shut):
            open_docs = ~np.isin(docs, shut)
            docs, scores = docs[open_docs], scores[open_docs]
        if unit is not None:
            bound = self._lexical.bound(sorted(terms))
            blended = self._blend(docs, scores / bound, unit, admitted, shut, k)
            return [
                self._hit(doc, score, terms, wanted_tags) for doc, score in self._top(blended, k)
            ]
        if len(scores) > k:
            floor = np.partition(scores, len(scores) - k)[len(scores) - k]
            docs, scores = docs[scores >= floor], scores[scores >= floor]
        best = dict(zip(docs.tolist(), scores.tolist(), strict=True))
        return [self._hit(doc, score, terms, wanted_tags) for doc, score in self._top(best, k)]

    def multi_search(
        self,
        queries: Sequence[str],
        *,
        k: int = 5,
        tags: Iterable[str] = (),
        online_only: bool = False,
        exclude: Iterable[str] = (),
    ) -> list[Hit]:
        """Top `k` of each query, de-duplicated keeping each agent's best hit, best first.

        Team formation asks from several angles ("writes python", "reviews code"); the union is
        at most `k * len(queries)` agents.
        """
        if isinstance(queries, str) or not isinstance(queries, Sequence):
            raise InvalidQuery("queries must be a list of texts")
        tags, exclude = tuple(tags), tuple(exclude)
        best: dict[str, Hit] = {}
        for query in queries:
            hits = self.search(query, k=k, tags=tags, online_only=online_only, exclude=exclude)
            for hit in hits:
                seen = best.get(hit.agent_id)
                if seen is None or hit.score > seen.score:
                    best[hit.agent_id] = hit
        return sorted(best.values(), key=lambda hit: (-hit.score, hit.agent_id))

    def _allocate(self, agent_id: str) -> int:
        """A document number for a new agent, reusing one freed by `remove`."""
        doc = self._free.pop() if self._free else len(self._ids)
        if doc == len(self._ids):
            self._ids.append(None)
            self._tags.append(())
        self._doc_of[agent_id] = doc
        self._ids[doc] = agent_id
        if agent_id in self._online_ids:
            self._online_docs.add(doc)
        return doc

    def _untag(self, doc: int) -> None:
        for tag in self._tags[doc]:
            docs = self._tag_docs[tag]
            docs.discard(doc)
            if not docs:
                del self._tag_docs[tag]
        self._tags[doc] = ()

    def _allowed(self, tags: set[str], online_only: bool) -> set[int] | None:
        """Documents the filters admit (smallest set first), or None when nothing filters."""
        sets: list[set[int]] = []
        for tag in tags:
            docs = self._tag_docs.get(tag)
            if docs is None:
                return set()
            sets.append(docs)
        if online_only:
            sets.append(self._online_docs)
        if not sets:
            return None
        sets.sort(key=len)
        return sets[0].intersection(*sets[1:]) if len(sets) > 1 else sets[0]

    def _blend(
        self,
        docs: np.ndarray,
        share: np.ndarray,
        unit: np.ndarray,
        admitted: np.ndarray | None,
        shut: np.ndarray,
        k: int,
    ) -> dict[int, float]:
        """The hybrid score of the semantic candidates and the best lexical hits (`docs` in
        ascending order, `share` their BM25 / bound), top `k` kept (with ties, for the id
        tie-break)."""
        import numpy as np

        w = self._semantic_weight
        best = docs
        if len(docs) > LEXICAL_CANDIDATES:
            best = docs[np.argpartition(-share, LEXICAL_CANDIDATES - 1)[:LEXICAL_CANDIDATES]]
        pool = np.union1d(self._vectors.candidates(unit, admitted, shut), best)
        values = self._vectors.scores(unit, pool)
        semantic = np.maximum(np.where(np.isfinite(values), values, 0.0), 0.0)
        lexical_part = np.zeros(len(pool))
        if len(docs):
            at = np.minimum(np.searchsorted(docs, pool), len(docs) - 1)
            hit = docs[at] == pool
            lexical_part[hit] = share[at[hit]] ** LEXICAL_POWER
        mixed = (1.0 - w) * lexical_part + w * semantic
        keep = mixed > 0.0
        pool, mixed = pool[keep], mixed[keep]
        if len(mixed) > k:
            floor = np.partition(mixed, len(mixed) - k)[len(mixed) - k]
            pool, mixed = pool[mixed >= floor], mixed[mixed >= floor]
        return {int(doc): float(score) for doc, score in zip(pool, mixed, strict=True)}

    def set_vector(self, agent_id: str, vector: Vector | None) -> None:
        """Give an indexed agent its card's embedding (None removes it); unknown ids are ignored."""
        doc = self._doc_of.get(agent_id)
        if doc is None:
            return
        if vector is None:
            self._vectors.clear(doc)
        else:
            self._vectors.set(doc, self._vectors.units(vector))

    def has_vector(self, agent_id: str) -> bool:
        doc = self._doc_of.get(agent_id)
        return doc is not None and self._vectors.has(doc)

    @property
    def semantic_weight(self) -> float:
        return self._semantic_weight

    @property
    def candidates(self) -> int:
        """Cards scored exactly by meaning per query (see the module docstring)."""
        return self._vectors.candidates_limit

    @candidates.setter
    def candidates(self, limit: int) -> None:
        if limit < 1:
            raise DiscoveryError("candidates must be positive")
        self._vectors.candidates_limit = limit

    def _top(self, scores: dict[int, float], k: int) -> list[tuple[int, float]]:
        if len(scores) > k:
            floor = heapq.nlargest(k, scores.values())[-1]
            items = [(doc, score) for doc, score in scores.items() if score >= floor]
        else:
            items = list(scores.items())
        ids = self._ids
        items.sort(key=lambda item: (-item[1], ids[item[0]]))
        return items[:k]

    def _hit(self, doc: int, score: float, words: dict[str, str], wanted: set[str]) -> Hit:
        matched = [(word, term) for term, word in words.items() if self._lexical.holds(term, doc)]
        terms = {term for _, term in matched}
        tags = {tag for tag in self._tags[doc] if tag in wanted or terms.intersection(analyze(tag))}
        return Hit(
            agent_id=self._ids[doc] or "",
            score=score,
            matched_terms=tuple(word for word, _ in matched),
            matched_tags=tuple(sorted(tags)),
        )


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidQuery("k must be a positive integer")


def _tag_set(tags: Iterable[str]) -> set[str]:
    if isinstance(tags, str):
        raise InvalidQuery("tags must be a list of texts, not one text")
    keys: set[str] = set()
    for tag in tags:
        if not isinstance(tag, str):
            raise InvalidQuery("every tag must be text")
        if tag.strip():
            keys.add(tag_key(tag))
    return keys


def _id_set(ids: Iterable[str]) -> set[str]:
    if isinstance(ids, str):
        raise InvalidQuery("exclude must be a list of agent ids, not one id")
    found = set()
    for agent_id in ids:
        if not isinstance(agent_id, str):
            raise InvalidQuery("every excluded agent id must be text")
        found.add(agent_id)
    return found
