"""The ideas compared in `benchmarks/discovery_variants.py`, as functions of the labelled set.

Every variant ends as a score matrix (queries x cards) ranked the same way: the hub's hybrid blend
of the lexical share (BM25 / its bound, cubed) and the semantic score, ties broken by card id.
Scores are float32 (the hub's index keeps int8 rows, so MRR may differ in the third digit).
"""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from environments.discoveryset import QUERIES
from ioa.hub.discovery import K1, LEXICAL_POWER, B, analyze, card_terms
from protocols.card import AgentCard

HALVES: dict[str, Callable[[int], bool]] = {
    "tuning": lambda i: QUERIES[i].paraphrase and QUERIES[i].tuning,
    "held_out": lambda i: QUERIES[i].paraphrase and not QUERIES[i].tuning,
    "paraphrase": lambda i: QUERIES[i].paraphrase,
    "keyword": lambda i: not QUERIES[i].paraphrase,
}
"""The halves reported (paraphrase queries: tuning, held out, all; and the keyword half)."""
SOFTMAX_T = 0.05


def lexical_share(cards: Sequence[AgentCard]) -> np.ndarray:
    """BM25 / bound of every query against every card (the hub's formula, every card scored)."""
    docs = [card_terms(card) for card in cards]
    lens = [sum(doc.values()) for doc in docs]
    n, mean_len = len(docs), sum(lens) / len(docs)
    df = Counter(term for doc in docs for term in doc)
    share = np.zeros((len(QUERIES), n))
    for qi, query in enumerate(QUERIES):
        terms = sorted(set(analyze(query.text)))
        idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms if df[t]}
        bound = sum(w * (K1 + 1) for w in idf.values()) or 1.0
        for ci, doc in enumerate(docs):
            total = 0.0
            for term, w in idf.items():
                tf = doc.get(term, 0)
                if tf:
                    total += w * (K1 + 1) * tf / (tf + K1 * (1 - B + B * lens[ci] / mean_len))
            share[qi, ci] = total / bound
    return share


def soft_max(cosines: list[np.ndarray], t: float = SOFTMAX_T) -> np.ndarray:
    """Per card, the soft maximum of its fields' cosines (`cosines[card]` is queries x fields)."""
    out = np.zeros((cosines[0].shape[0], len(cosines)))
    for ci, c in enumerate(cosines):
        top = c.max(axis=1)
        out[:, ci] = top + t * np.log(np.exp((c - top[:, None]) / t).sum(axis=1))
    return out


def field_scores(fields: Sequence[np.ndarray], queries: np.ndarray) -> np.ndarray:
    return soft_max([queries @ rows.T for rows in fields])


@dataclass
class Scorer:
    ids: list[str]
    share: np.ndarray
    weight: float

    def hybrid(self, semantic: np.ndarray) -> np.ndarray:
        lexical = self.share**LEXICAL_POWER
        out: np.ndarray = (1 - self.weight) * lexical + self.weight * np.maximum(semantic, 0.0)
        return out

    def recall(self, scores: np.ndarray) -> np.ndarray:
        """Per query, recall@5 (share of its three cards in the top 5)."""
        out = np.zeros(len(QUERIES))
        for qi, query in enumerate(QUERIES):
            top = sorted(range(len(self.ids)), key=lambda i: (-scores[qi, i], self.ids[i]))[:5]
            out[qi] = len(query.relevant.intersection(self.ids[i] for i in top)) / 3
        return out

    def report(self, scores: np.ndarray) -> dict[str, list[float]]:
        """{half: [recall@5, MRR]} of a score matrix (already blended)."""
        recall, rr = self.recall(scores), np.zeros(len(QUERIES))
        for qi, query in enumerate(QUERIES):
            ranked = sorted(range(len(self.ids)), key=lambda i: (-scores[qi, i], self.ids[i]))
            first = next(r for r, i in enumerate(ranked) if self.ids[i] in query.relevant)
            rr[qi] = 1.0 / (first + 1)
        out = {}
        for half, keep in HALVES.items():
            chosen = [i for i in range(len(QUERIES)) if keep(i)]
            out[half] = [
                round(statistics.mean(recall[chosen]), 3),
                round(statistics.mean(rr[chosen]), 3),
            ]
        return out


def paired(before: np.ndarray, after: np.ndarray, seed: int = 0) -> dict[str, object]:
    """Held-out paraphrases: mean recall@5 change, its 95% bootstrap interval, queries that
    gained and lost."""
    chosen = [i for i in range(len(QUERIES)) if HALVES["held_out"](i)]
    diff = after[chosen] - before[chosen]
    rng = np.random.default_rng(seed)
    boots = [float(rng.choice(diff, len(diff)).mean()) for _ in range(4000)]
    return {
        "change": round(float(diff.mean()), 3),
        "ci95": [round(float(np.percentile(boots, q)), 3) for q in (2.5, 97.5)],
        "gained": int((diff > 0).sum()),
        "lost": int((diff < 0).sum()),
    }


def abtt(rows: np.ndarray, dims: int) -> Callable[[np.ndarray], np.ndarray]:
    """ "All but the top": subtract the mean of the cards' field vectors and their `dims` top
    principal directions (fitted on cards only), then renormalise."""
    mean = rows.mean(axis=0)
    _, _, vt = np.linalg.svd(rows - mean, full_matrices=False)
    top = vt[:dims]

    def apply(x: np.ndarray) -> np.ndarray:
        x = x - mean
        x = x - (x @ top.T) @ top
        out: np.ndarray = x / np.linalg.norm(x, axis=-1, keepdims=True)
        return out

    return apply


def logistic(features: np.ndarray, labels: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Weights (last: bias) of an L2-regularised logistic regression, by Newton's method."""
    x = np.hstack([features, np.ones((len(features), 1))])
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (p - labels) + l2 * np.r_[w[:-1], 0.0]
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.diag(np.r_[np.ones(len(w) - 1), 0])
        w -= np.linalg.solve(hess, grad)
    return w


def neighbour_smoothing(
    semantic: np.ndarray, summaries: np.ndarray, k: int, beta: float
) -> np.ndarray:
    """A card's score plus `beta` times the mean score of its `k` nearest cards (by summary)."""
    sim = summaries @ summaries.T
    np.fill_diagonal(sim, -np.inf)
    near = np.argsort(-sim, axis=1)[:, :k]
    out: np.ndarray = (semantic + beta * semantic[:, near].mean(axis=2)) / (1 + beta)
    return out


class Stopwatch:
    """Wall and CPU time of a block, per item."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> Stopwatch:
        self._t, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall.append((time.perf_counter() - self._t) * 1000)
        self.cpu.append((time.process_time() - self._c) * 1000)

    def p50(self) -> dict[str, float]:
        return {
            "wall_p50_ms": round(statistics.median(self.wall), 1),
            "cpu_p50_ms": round(statistics.median(self.cpu), 1),
        }
