"""CPU time per top-5 discovery query at 100,000 cards, this tree and a baseline tree side by side.

Wall-clock latency on a shared 2-core box mostly measures the load; CPU time per query does not.
Both trees index the same seeded cards (`benchmarks/discovery.py`'s generator) with synthetic
vectors (one per field where the tree embeds fields, else one per card) and answer the same
300 queries in `bm25`, `vector` and `hybrid` mode, in two processes started together so they
share the load. The baseline is a plain copy of an older commit:

    git archive cdb80d0 | tar -x -C /tmp/base
    PYTHONPATH=. python benchmarks/discovery_cpu.py --baseline /tmp/base

Ends with one `RESULT {json}` line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

MODES = ("bm25", "vector", "hybrid")


def measure(root: str, cards_count: int, queries_count: int) -> dict[str, dict[str, float]]:
    """Index and query with the code of `root` (this process must have it first on sys.path)."""
    from discovery import make_cards, make_queries, tool_names

    from ioa.hub.discovery import DiscoveryIndex

    try:
        from ioa.hub.embeddings import card_fields  # type: ignore[attr-defined,unused-ignore]

        def fields(card: Any) -> int:
            return len(card_fields(card))
    except ImportError:  # a tree that embeds one vector a card

        def fields(card: Any) -> int:
            return 1

    tools = tool_names(5000, 7)
    cards = make_cards(cards_count, 7, tools)
    queries = make_queries(queries_count, 8, tools)
    index = DiscoveryIndex(semantic_weight=0.8)
    rng = np.random.default_rng(1)
    mean = rng.standard_normal(384) * 0.1
    for i, card in enumerate(cards):
        rows = mean + rng.standard_normal((fields(card), 384)) * 0.05
        index.upsert(f"a{i}", card, vector=rows[0] if len(rows) == 1 else rows)
    for i in range(0, cards_count, 2):
        index.set_online(f"a{i}", True)
    vectors = mean + rng.standard_normal((len(queries), 384)) * 0.05
    index.search("warm up", query_vector=vectors[0], mode="vector")
    figures = {}
    for mode in MODES:
        cpu = []
        for q, vector in zip(queries, vectors, strict=True):
            start = time.process_time()
            index.search(
                q.text, tags=q.tags, online_only=q.online_only, query_vector=vector, mode=mode
            )
            cpu.append((time.process_time() - start) * 1000)
        cpu.sort()
        figures[mode] = {
            "cpu_p50_ms": round(cpu[len(cpu) // 2], 2),
            "cpu_mean_ms": round(sum(cpu) / len(cpu), 2),
        }
    return figures


def spawn(root: Path, args: argparse.Namespace) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{root / 'benchmarks'}")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    command = [sys.executable, __file__, "--child", str(root)]
    command += ["--cards", str(args.cards), "--queries", str(args.queries)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a copy of an older tree")
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path[0] = str(Path(args.child) / "benchmarks")  # that tree's benchmarks, not ours
        print(json.dumps(measure(args.child, args.cards, args.queries)))
        return
    here = Path(__file__).resolve().parent.parent
    runs = {"this": spawn(here, args)}
    if args.baseline:
        runs["baseline"] = spawn(args.baseline.resolve(), args)
    results = {
        name: json.loads(run.communicate()[0].strip().splitlines()[-1])
        for name, run in runs.items()
    }
    for name, figures in results.items():
        print(
            f"{name:>8}: "
            + ", ".join(f"{m} CPU p50 {f['cpu_p50_ms']} ms" for m, f in figures.items())
        )
    if "baseline" in results:
        ratios = {
            mode: round(
                results["baseline"][mode]["cpu_p50_ms"] / results["this"][mode]["cpu_p50_ms"], 1
            )
            for mode in MODES
        }
        print(f"baseline / this, CPU p50: {ratios}")
        results["ratio_baseline_over_this"] = ratios
    results["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    main()
