"""Discovery over 100,000 agent cards (latency) and on the labelled set (quality).

Latency: generates seeded, varied cards (names, descriptions, 1-4 skills with tags, Zipf-skewed
word use so some terms are common and many are rare), indexes them, and times top-5 searches of
varied queries (1-4 words, inflected forms, some with a tag filter or `online_only`). A naive
scorer that computes the same BM25 for every card on every query runs a subset side by side;
both must return the same agents. Then every card gets a 384-dimension vector and the same
queries are timed in `vector` and `hybrid` mode. Those vectors are SYNTHETIC (seeded random unit
vectors): embedding 100,000 cards would take an hour here, and the cost of a search does not
depend on what the vectors mean. Embedding the query is not in these figures (see below).

Quality: the labelled set of `environments.discoveryset` is embedded by the bundled model
(all-MiniLM-L6-v2 on llama.cpp, 1 thread), and recall@5 and MRR are reported for bm25, vector
and hybrid, on all queries and on the keyword and paraphrase halves apart; also the time to
embed one card (wall clock and CPU time, one card per call) and per card in batches of 32.

Ends with one `RESULT {json}` line.

    PYTHONPATH=. python benchmarks/discovery.py [--cards 100000] [--queries 500] [--no-meaning]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
import psutil
from _hub.meaning import embed_set, quality, tool_team_share

from ioa.config import HubConfig
from ioa.hub.discovery import K1, B, DiscoveryIndex, analyze, card_terms
from ioa.llm.bert_gguf import embedding_model_path
from ioa.llm.embedder import load_embedder
from protocols.card import AgentCard, Skill

DIM = 384
"""all-MiniLM-L6-v2's dimensions, for the synthetic vectors."""


def wordlist(text: str) -> list[str]:
    return text.split()


VOCABULARY = wordlist("""
account accounting actuator adapter address agenda agent algebra algorithm allocation analysis
analytics animation annotation api approval archive arm array article assembly asset assistant
audio audit backend backup balance bank battery benchmark bid billing biology block blueprint
board book booking bridge browser budget bug build cache calendar camera campaign cargo catalog
chart chat chemistry circuit claim classification cleaning client climate cloud cluster code
compiler compliance component compression configuration contract controller conversion cooking
copy cost crawler credit crop customer dashboard data database debugging delivery demand
deployment design detection diagnosis diagram dialogue document drawing drone editing education
email embedding energy engine entity estimate evaluation event experiment export extraction
fabric factory feedback file finance fleet forecast form formula frontend game garden geometry
gesture grammar graph grasp grid hardware harvest health image index infrastructure insurance
integration interface interview inventory invoice kitchen label language lathe law layout ledger
lesson library lighting linear logistics loop machine maintenance map market marketing matrix
measurement media meeting memory menu mesh metric migration mobile model monitoring motion music
navigation negotiation network note notebook nutrition object optimization order packaging page
painting parser patent path patient payment performance permit photo physics pipeline plan
planning plant plot poem policy portfolio poster pricing printer privacy probability procurement
product profile program project prompt proof protein protocol prototype query queue quote radio
ranking recipe record recruiting refactoring regression release rendering report research
resume retrieval review risk robot roster route safety sales sample satellite schedule schema
script search security sensor server shipping signal simulation sketch slide software solver
sorting sound spreadsheet statistics storage story strategy stream summary supply support survey
synthesis table tax teaching telemetry template tensor test text ticket timeline token tool
trading traffic training transcript translation transport travel trend tutorial upload vehicle
video vision voice warehouse weather website welding workflow writing
""")
VERBS = wordlist("""
analyze answer build check clean cook compose debug deliver deploy design detect draft edit
estimate evaluate explain forecast generate grade inspect label manage map measure monitor
negotiate optimize organize paint parse plan predict print publish rank read recommend repair
review route run schedule scrape search sketch solve sort summarize teach test track train
transcribe translate tune verify visualize weld write
""")
LANGUAGES = wordlist("python rust go java typescript sql r julia c cpp haskell kotlin swift")
SYLLABLES = wordlist("ka lo mi ne ru sa ti vo ze qua bri dex fon gal hum jor lex mox nib pex")
NAMES = wordlist(
    "Nova Atlas Echo Iris Juno Kilo Lumen Mira Orion Pixel Quill Rho Sable Tess Vega Zed"
)


def zipf_choice(rng: random.Random, words: list[str], weights: list[float]) -> str:
    return rng.choices(words, weights)[0]


def tool_names(count: int, seed: int) -> list[str]:
    """Long-tail product words ("kalomi", "dexfon"): each names only a few cards, as tools do."""
    rng = random.Random(seed)
    names: set[str] = set()
    while len(names) < count:
        names.add("".join(rng.choices(SYLLABLES, k=rng.randint(2, 3))))
    return sorted(names)


def inflect(verb: str, suffix: str) -> str:
    """Spell verb + suffix as English does ("write" + "ing" -> "writing", "map" -> "mapper")."""
    if not suffix or suffix == "s":
        return verb + suffix
    if verb.endswith("e"):
        return verb[:-1] + suffix
    if len(verb) == 3 and verb[-1] not in "aeiouwy":
        return verb + verb[-1] + suffix
    return verb + suffix


def make_cards(count: int, seed: int, tools: list[str]) -> list[AgentCard]:
    rng = random.Random(seed)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(VOCABULARY))]
    order = VOCABULARY[:]
    rng.shuffle(order)

    def nouns(n: int) -> list[str]:
        return [zipf_choice(rng, order, weights) for _ in range(n)]

    cards = []
    for _ in range(count):
        skills = []
        for _ in range(rng.randint(1, 4)):
            verb = rng.choice(VERBS)
            topic = nouns(rng.randint(1, 2))
            desc = (
                f"{inflect(verb, rng.choice(['s', 'ing']))} {' '.join(nouns(rng.randint(5, 12)))}"
            )
            tags = rng.sample(LANGUAGES, rng.randint(0, 2)) + rng.sample(topic, 1)
            if rng.random() < 0.4:
                tool = rng.choice(tools)
                desc += f" with {tool}"
                tags.append(tool)
            skills.append(Skill(name=f"{verb} {' '.join(topic)}", description=desc, tags=tags))
        role = rng.choice(order[:80])
        name = f"{rng.choice(NAMES)} {role} {rng.choice(['er', 'ist', 'bot', 'agent'])}"
        description = " ".join(nouns(rng.randint(8, 20)))
        cards.append(AgentCard(name=name, description=description, skills=skills))
    return cards


@dataclass(frozen=True)
class Query:
    text: str
    kind: str
    """common | mixed (common words and a tool name) | rare (tool names only) | filtered"""
    tags: tuple[str, ...] = ()
    online_only: bool = False


def make_queries(count: int, seed: int, tools: list[str]) -> list[Query]:
    """Varied queries: common words (some inflected), common words plus a tool name, tool names
    only; 30% of them filtered by a tag or by presence."""
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        kind = rng.choices(["common", "mixed", "rare"], [0.5, 0.3, 0.2])[0]
        words = [] if kind == "rare" else rng.sample(VOCABULARY, rng.randint(1, 3))
        if kind != "rare" and rng.random() < 0.5:
            verb = rng.choice(VERBS)
            words.insert(0, inflect(verb, rng.choice(["ing", "er", "s", ""])))
        if kind != "common":
            words.extend(rng.sample(tools, 1 if kind == "mixed" else rng.randint(1, 2)))
        text, roll = " ".join(words), rng.random()
        if roll < 0.15:
            queries.append(Query(text, "filtered", tags=(rng.choice(LANGUAGES),)))
        elif roll < 0.3:
            queries.append(Query(text, "filtered", online_only=True))
        else:
            queries.append(Query(text, kind))
    return queries


class FullScan:
    """The same BM25, computed for every card on every query: what an index saves us from."""

    def __init__(self, ids: list[str], cards: list[AgentCard]) -> None:
        self.ids = ids
        self.docs = [card_terms(card) for card in cards]
        self.lens = [sum(doc.values()) for doc in self.docs]
        self.df: Counter[str] = Counter(term for doc in self.docs for term in doc)

    def search(self, query: str, k: int) -> list[str]:
        n, total = len(self.docs), sum(self.lens)
        terms = sorted(set(analyze(query)))
        weights = {t: math.log(1 + (n - self.df[t] + 0.5) / (self.df[t] + 0.5)) for t in terms}
        scored = []
        for i, doc in enumerate(self.docs):
            score = 0.0
            for term in terms:
                tf = doc.get(term)
                if tf:
                    norm = K1 * (1 - B + B * self.lens[i] * n / total)
                    score += weights[term] * (K1 + 1) * tf / (tf + norm)
            if score:
                scored.append((-score, self.ids[i]))
        return [agent_id for _, agent_id in sorted(scored)[:k]]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def vector_latency(
    index: DiscoveryIndex, ids: list[str], queries: list[Query], k: int, seed: int
) -> dict[str, dict[str, float]]:
    """Top-k latency in vector and hybrid mode with synthetic unit vectors on every card."""
    rng = np.random.default_rng(seed)
    for start in range(0, len(ids), 10_000):
        block = rng.standard_normal((min(10_000, len(ids) - start), DIM)).astype(np.float32)
        for agent_id, row in zip(ids[start : start + 10_000], block, strict=True):
            index.set_vector(agent_id, row)
    query_vectors = rng.standard_normal((len(queries), DIM)).astype(np.float32)
    figures = {}
    for mode in ("vector", "hybrid"):
        ms = []
        for q, vector in zip(queries, query_vectors, strict=True):
            start_t = time.perf_counter()
            index.search(
                q.text, k=k, tags=q.tags, online_only=q.online_only, query_vector=vector, mode=mode
            )
            ms.append((time.perf_counter() - start_t) * 1000)
        figures[mode] = {
            "p50_ms": round(percentile(ms, 0.5), 2),
            "p99_ms": round(percentile(ms, 0.99), 2),
        }
        print(
            f"{mode} (synthetic vectors, {len(ids):,} cards): top-{k} p50 "
            f"{figures[mode]['p50_ms']} ms, p99 {figures[mode]['p99_ms']} ms"
        )
    return figures


async def meaning(model: str | None, weight: float) -> dict[str, object]:
    """Quality on the labelled set and embedding time, with the real model on 1 thread."""
    path = embedding_model_path() if model is None else model
    async with await load_embedder(path, n_threads=1) as embedder:
        embedded = await embed_set(embedder)
        teams = await tool_team_share(embedder, weight)
    for variant, share in teams.items():
        print(f"tool goals whose team has the right tool agent, {variant}: {share}")
    scores = quality(embedded, weight)
    for mode, halves in scores.items():
        shown = ", ".join(
            f"{half} R@5 {v['recall_at_5']:.3f} MRR {v['mrr']:.3f}" for half, v in halves.items()
        )
        print(f"{mode:>6}: {shown}")
    wall = statistics.median(embedded.card_wall_ms)
    cpu = statistics.median(embedded.card_cpu_ms)
    print(
        f"embedding one card (1 thread): p50 wall {wall:.1f} ms, CPU {cpu:.1f} ms; "
        f"in batches of 32: {embedded.batch_ms_per_card:.1f} ms a card (wall)"
    )
    paraphrase = {mode: halves["paraphrase"]["recall_at_5"] for mode, halves in scores.items()}
    return {
        "semantic_weight": weight,
        "quality": scores,
        "tool_goal_team_share": teams,
        "embed_card_wall_p50_ms": round(wall, 1),
        "embed_card_cpu_p50_ms": round(cpu, 1),
        "embed_card_batched_ms": round(embedded.batch_ms_per_card, 1),
        "goal_hybrid_paraphrase_recall": 0.9,
        "goal_hybrid_paraphrase_recall_met": paraphrase["hybrid"] >= 0.9,
        "goal_hybrid_over_bm25": 0.25,
        "goal_hybrid_over_bm25_met": paraphrase["hybrid"] - paraphrase["bm25"] >= 0.25,
        "goal_embed_ms": 20,
        "goal_embed_met_wall": wall < 20,
        "goal_embed_met_cpu": cpu < 20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--scan-queries", type=int, default=20)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-meaning", action="store_true", help="skip the embedding model")
    parser.add_argument("--embed-model", help="a BERT GGUF (default: the bundled model)")
    args = parser.parse_args()
    process = psutil.Process()

    tools = tool_names(5000, args.seed)
    cards = make_cards(args.cards, args.seed, tools)
    ids = [f"agent-{i:06d}" for i in range(len(cards))]
    queries = make_queries(args.queries, args.seed + 1, tools)
    gc.collect()
    rss_before = process.memory_info().rss

    index = DiscoveryIndex()
    start = time.perf_counter()
    for agent_id, card in zip(ids, cards, strict=True):
        index.upsert(agent_id, card)
    build_s = time.perf_counter() - start
    indexed, terms = len(index), index.term_count
    gc.collect()
    index_mb = (process.memory_info().rss - rss_before) / 2**20
    for agent_id in ids[::2]:
        index.set_online(agent_id, True)
    print(
        f"indexed {len(index):,} cards, {index.term_count:,} terms in {build_s:.1f} s, "
        f"~{index_mb:.0f} MB RSS"
    )

    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {"common": [], "mixed": [], "rare": [], "filtered": []}
    hits_per_query: list[int] = []
    for q in queries:
        start = time.perf_counter()
        hits = index.search(q.text, k=args.k, tags=q.tags, online_only=q.online_only)
        latencies.append((time.perf_counter() - start) * 1000)
        hits_per_query.append(len(hits))
        by_kind[q.kind].append(latencies[-1])
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(
        f"index: {len(queries)} queries, top-{args.k}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"max {max(latencies):.2f} ms"
    )
    kinds = {kind: round(statistics.median(ms), 3) for kind, ms in by_kind.items() if ms}
    print(f"p50 by query kind (ms): {kinds} (mixed: + a tool name; rare: tool names only)")

    scan = FullScan(ids, cards)
    plain = [q for q in queries if q.kind != "filtered"][: args.scan_queries]
    scan_ms, index_ms, agree = [], [], 0
    for q in plain:
        text = q.text
        start = time.perf_counter()
        expected = scan.search(text, args.k)
        scan_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        got = [hit.agent_id for hit in index.search(text, k=args.k)]
        index_ms.append((time.perf_counter() - start) * 1000)
        agree += got == expected
    ratio = statistics.median(scan_ms) / statistics.median(index_ms)
    print(
        f"full scan on the same {len(plain)} plain queries: p50 {statistics.median(scan_ms):.1f}"
        f" ms vs index {statistics.median(index_ms):.2f} ms -> {ratio:.0f}x; "
        f"identical top-{args.k}: {agree}/{len(plain)}"
    )

    updates = ids[: min(2000, len(ids))]
    same, changed = cards[: len(updates)], cards[len(ids) - len(updates) :]
    update_us = {}
    for label, new_cards in [("same_card", same), ("changed_card", changed), ("back", same)]:
        start = time.perf_counter()
        for agent_id, card in zip(updates, new_cards, strict=True):
            index.upsert(agent_id, card)
        update_us[label] = round((time.perf_counter() - start) / len(updates) * 1e6, 1)
    start = time.perf_counter()
    for agent_id in updates:
        index.remove(agent_id)
    update_us["remove"] = round((time.perf_counter() - start) / len(updates) * 1e6, 1)
    del update_us["back"]
    print(f"update costs (us per agent): {update_us}")
    vectors = vector_latency(index, ids[len(updates) :], queries, args.k, args.seed)
    semantic = (
        {}
        if args.no_meaning
        else asyncio.run(meaning(args.embed_model, HubConfig().semantic_weight))
    )
    load = [round(x, 2) for x in psutil.getloadavg()]
    print(f"load average: {load} on {psutil.cpu_count()} CPUs (figures are noisy when busy)")

    result = {
        "cards": indexed,
        "terms": terms,
        "queries": len(queries),
        "k": args.k,
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "max_ms": round(max(latencies), 3),
        "mean_hits": round(statistics.mean(hits_per_query), 2),
        "p50_ms_by_kind": kinds,
        "build_s": round(build_s, 2),
        "index_rss_mb": round(index_mb, 1),
        "update_us": update_us,
        "scan_queries": len(plain),
        "scan_p50_ms": round(statistics.median(scan_ms), 2),
        "index_p50_ms_same_queries": round(statistics.median(index_ms), 3),
        "speedup_vs_scan": round(ratio, 1),
        "scan_agreement": f"{agree}/{len(plain)}",
        "goal_p50_ms": 20,
        "goal_met": p50 < 20,
        "vectors": "synthetic (seeded random unit vectors), for latency only",
        "vector_latency": vectors,
        "goal_hybrid_p50_met": vectors["hybrid"]["p50_ms"] < 20,
        "load_average": load,
        **semantic,
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
