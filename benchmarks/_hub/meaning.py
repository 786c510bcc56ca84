"""Discovery quality on the labelled set (`environments.discoveryset`): recall@5 and MRR of the
bm25, vector and hybrid rankings, with cards embedded as the hub does (field by field, tokens
weighed by their rarity among the cards, `idf_fields`) and, side by side, as the hub did before
(field by field pooled the model's way, `fields`; one vector of the whole card, `whole`); and how
long the bundled model takes to embed a card."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from environments.discoveryset import CARDS as SPECS
from environments.discoveryset import QUERIES, Query
from ioa.hub.discovery import MODES, DiscoveryIndex
from ioa.hub.embeddings import card_fields, card_text, card_vectors
from ioa.hub.idf import POWER, PRIOR_FIELDS, TokenRarity
from ioa.llm.embedder import Embedder, TokenRows, pool
from protocols.card import AgentCard

CARDS = [AgentCard.model_validate(spec.as_dict()) for spec in SPECS]


LAYOUTS = ("idf_fields", "idf_fields_arrival", "fields", "whole")
"""How a card is embedded: one vector per field, its tokens weighed by their rarity among all
the cards (the hub once every card is counted); the same with each card weighed by the cards
registered before it and never again (a fresh hub before its background re-embedding); one
vector per field pooled the model's way (before); one vector of its whole text (before that)."""
HUB_LAYOUT = "idf_fields"


@dataclass
class Embedded:
    cards: dict[str, dict[str, np.ndarray]]
    """layout -> card id -> its rows."""
    queries: dict[str, dict[str, np.ndarray]]
    """layout -> query text -> its vector (the hub's layouts mean the query's tokens plainly,
    the others pool it the model's way)."""
    card_wall_ms: list[float]
    """One card (all its fields) per call, wall clock: the model run and the weighing."""
    card_cpu_ms: list[float]
    """The same calls, CPU time of this process (the embedder's thread does the work)."""
    batch_ms_per_card: float
    """Cards in batches of 32 (the hub's `BATCH`), wall clock per card."""


async def hub_card_vectors(
    embedder: Embedder,
    cards: Sequence[AgentCard],
    *,
    arrival: bool = False,
    power: float = POWER,
    prior: int = PRIOR_FIELDS,
) -> dict[str, np.ndarray]:
    """Every card's field vectors as the hub makes them: all cards counted, then pooled (or,
    with `arrival`, each pooled when counted, in order, as a fresh hub does at registration).
    `power` 0 weighs every token alike."""
    rarity = TokenRarity(prior=prior, power=power)
    tokens: dict[str, list[TokenRows]] = {}
    for card in cards:
        tokens[card.id or ""] = await embedder.tokens(card_fields(card))
    vectors = {}
    for card in cards:
        rarity.count(card.id or "", [field.ids for field in tokens[card.id or ""]])
        if arrival:
            vectors[card.id or ""] = card_vectors(tokens[card.id or ""], rarity)
    if arrival:
        return vectors
    return {card_id: card_vectors(rows, rarity) for card_id, rows in tokens.items()}


async def hub_query_vectors(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Queries as the hub embeds them: the plain mean of their tokens' unit vectors."""
    rows = []
    for start in range(0, len(texts), 64):
        rows += [pool(tokens) for tokens in await embedder.tokens(texts[start : start + 64])]
    return np.stack(rows)


async def embed_set(embedder: Embedder, cards: Sequence[AgentCard] = CARDS) -> Embedded:
    fields = [card_fields(card) for card in cards]
    await embedder.embed(fields[0] + fields[1])  # warm up
    by_layout: dict[str, dict[str, np.ndarray]] = {layout: {} for layout in LAYOUTS}
    by_layout["idf_fields"] = await hub_card_vectors(embedder, cards)
    by_layout["idf_fields_arrival"] = await hub_card_vectors(embedder, cards, arrival=True)
    rarity = TokenRarity()
    for card in cards:  # a hub's counts at full size, for the timing below
        rarity.count(card.id or "", await embedder.token_ids(card_fields(card)))
    wall, cpu = [], []
    for texts in fields:
        start, start_cpu = time.perf_counter(), time.process_time()
        card_vectors(await embedder.tokens(texts), rarity)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    start = time.perf_counter()
    for i in range(0, len(fields), 32):
        batch = await embedder.tokens([text for texts in fields[i : i + 32] for text in texts])
        at = 0
        for texts in fields[i : i + 32]:
            card_vectors(batch[at : at + len(texts)], rarity)
            at += len(texts)
    batch_ms = (time.perf_counter() - start) * 1000 / len(fields)
    for card, texts in zip(cards, fields, strict=True):
        by_layout["fields"][card.id or ""] = await embedder.embed(texts)
    wholes = [card_text(card) for card in cards]
    for i in range(0, len(wholes), 64):
        rows = await embedder.embed(wholes[i : i + 64])
        for card, row in zip(cards[i : i + 64], rows, strict=True):
            by_layout["whole"][card.id or ""] = row
    query_texts = sorted({q.text for q in QUERIES})
    model_pooled = await embedder.embed(query_texts)
    hub_pooled = await hub_query_vectors(embedder, query_texts)
    queries = {
        layout: dict(
            zip(query_texts, hub_pooled if layout.startswith("idf") else model_pooled, strict=True)
        )
        for layout in LAYOUTS
    }
    return Embedded(by_layout, queries, wall, cpu, batch_ms)


def build_index(
    embedded: Embedded, weight: float, layout: str = HUB_LAYOUT, cards: Sequence[AgentCard] = CARDS
) -> DiscoveryIndex:
    index = DiscoveryIndex(semantic_weight=weight)
    for card in cards:
        index.upsert(card.id or "", card, vector=embedded.cards[layout][card.id or ""])
    return index


def rank_quality(
    index: DiscoveryIndex,
    embedded: Embedded,
    mode: str,
    queries: Sequence[Query],
    k: int = 5,
    layout: str = HUB_LAYOUT,
) -> dict[str, float]:
    """Mean recall@k (share of the relevant cards in the top k), hit@k (at least one relevant
    card in the top k) and MRR (first relevant)."""
    recalls, reciprocal, hits_at_k = [], [], []
    for query in queries:
        hits = index.search(
            query.text, k=max(k, 20), query_vector=embedded.queries[layout][query.text], mode=mode
        )
        ranked = [hit.agent_id for hit in hits]
        found = len(query.relevant.intersection(ranked[:k]))
        recalls.append(found / min(k, len(query.relevant)))
        hits_at_k.append(1.0 if found else 0.0)
        first = next((i for i, a in enumerate(ranked) if a in query.relevant), None)
        reciprocal.append(0.0 if first is None else 1.0 / (first + 1))
    return {
        "recall_at_5": round(statistics.mean(recalls), 3),
        "hit_at_5": round(statistics.mean(hits_at_k), 3),
        "mrr": round(statistics.mean(reciprocal), 3),
    }


HALVES: dict[str, Callable[[Query], bool]] = {
    "all": lambda q: True,
    "keyword": lambda q: not q.paraphrase,
    "paraphrase": lambda q: q.paraphrase,
    "paraphrase_tuning": lambda q: q.paraphrase and q.tuning,
    "paraphrase_held_out": lambda q: q.paraphrase and not q.tuning,
    "held_out": lambda q: not q.tuning,
}
"""Query subsets reported: settings were chosen on the tuning half only."""


def quality(
    embedded: Embedded, weight: float, layout: str = HUB_LAYOUT
) -> dict[str, dict[str, dict[str, float]]]:
    """{mode: {half: {recall_at_5, mrr}}} for the halves of `HALVES`."""
    index = build_index(embedded, weight, layout)
    return {
        mode: {
            name: rank_quality(index, embedded, mode, [q for q in QUERIES if keep(q)], 5, layout)
            for name, keep in HALVES.items()
        }
        for mode in MODES
        if layout == HUB_LAYOUT or mode != "bm25"
    }


TOOL_DOMAINS = ("calculator", "units", "lookup")
"""The labelled set's own tool capabilities, left out of the tool-goal pool: there the right tool
is the crew's."""


async def tool_team_share(embedder: Embedder, weight: float) -> dict[str, dict[str, float]]:
    """The share of the shipped tool goals whose discovered team includes the right tool agent.

    The pool is the default crew (three generalists, the three tool agents) among the labelled
    set's other 216 cards; the goal's text is the query, as team formation asks it first. A team
    is the top 5 candidates (team formation's k) or the top 3 (its member limit). Measured with
    the tool cards as shipped (their tags list the words goals use: "add", "miles", city names)
    and with the cards a tool gets from its function alone (name and docstring, no such tags).
    """
    from agents.crew import CREW, TOOLS
    from agents.tool import tool_card
    from environments.toolgoals import GOALS

    others = [c for c in CARDS if (c.id or "").rsplit("-", 1)[0] not in TOOL_DOMAINS]
    goal_vectors = await hub_query_vectors(embedder, [goal.text for goal in GOALS])
    results: dict[str, dict[str, float]] = {}
    variants = {
        "shipped_cards": [tool.card() for tool in TOOLS],
        "docstring_cards": [tool_card(tool.fn, name=tool.name) for tool in TOOLS],
    }
    for variant, tool_cards in variants.items():
        crew = [*CREW, *tool_cards]
        members = [c.model_copy(update={"id": f"crew-{c.name}"}) for c in crew] + others
        index = DiscoveryIndex(semantic_weight=weight)
        vectors = await hub_card_vectors(embedder, members)
        for card in members:
            index.upsert(card.id or "", card, vector=vectors[card.id or ""])
        for mode in ("bm25", "hybrid"):
            top5 = top3 = 0
            for goal, vector in zip(GOALS, goal_vectors, strict=True):
                hits = index.search(goal.text, k=5, query_vector=vector, mode=mode)
                ranked = [hit.agent_id for hit in hits]
                right = f"crew-{goal.tool}"
                top5 += right in ranked
                top3 += right in ranked[:3]
            results[f"{variant}_{mode}"] = {
                "top5": round(top5 / len(GOALS), 3),
                "top3": round(top3 / len(GOALS), 3),
            }
    return results
