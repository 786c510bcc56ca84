"""Group protocols side by side: what judging a move costs under each table, in one run.

Plays the same number of seeded random legal games (every member's legal moves enumerated, the
hub's clock run when nobody may move) under each protocol, then replays every transcript and
times the replay (interleaved rounds, best of 5): `apply` per second, relative to plain "ioa".
"ioa+checker+schema" adds a checker and a `content_schema`, so each plan is validated (the
compiled validator is cached per schema). The games reuse the tests' move enumerator.
Also reports moves per game and how many games ended with a conclusion by a member. Pure Python,
no I/O; ends with one `RESULT {json}` line.

    PYTHONPATH=. python benchmarks/group_protocols.py [--games 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from typing import Any

from protocols import Envelope, Limits, Phase, apply, expire, legal_moves, replay, start
from protocols.conversation import Rules
from tests.protocols.kit import enumerate_moves

MEMBERS = ("alice", "bob", "carol", "dave")
ROUNDS = 5
SCHEMA = {
    "type": "object",
    "properties": {"plan": {"type": "string", "maxLength": 400}},
    "required": ["plan"],
    "additionalProperties": False,
}
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "ioa": ("ioa", {}),
    "ioa+checker+schema": ("ioa", {"checker": "dave", "content_schema": SCHEMA}),
    "dialectic": ("dialectic", {}),
    "contract_net": ("contract_net", {}),
    "voting:borda": ("voting", {"voting_rule": "borda"}),
}


def play(config: str, rng: random.Random) -> tuple[Any, list[Envelope]]:
    protocol, rules = CONFIGS[config]
    limits = Limits(max_turns=12, turn_timeout=10.0, max_silent_turns=3)
    initial = start("g", list(MEMBERS), limits=limits, protocol=protocol, rules=Rules(**rules))
    state, now, log = initial, 0.0, []
    while not state.over:
        now += 1.0
        options = [(a, p, to) for a in MEMBERS for p, to in enumerate_moves(legal_moves(state, a))]
        deadline = state.next_deadline()
        if not options or (deadline is not None and rng.random() < 0.05):
            now = max(now, deadline or now)
            state, sent = expire(state, now)
            log += sent
            continue
        agent, payload, to = rng.choice(options)
        message = Envelope(group="g", sender=agent, to=to, payload=payload, ts=now)
        state = apply(state, message)
        log.append(message)
    return initial, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    played = {
        c: [play(c, random.Random(args.seed + i)) for i in range(args.games)] for c in CONFIGS
    }
    best = dict.fromkeys(CONFIGS, float("inf"))
    for _ in range(ROUNDS):  # interleaved, best of each: a busy machine slows every config alike
        for config, games in played.items():
            started = time.perf_counter()
            ends = [replay(initial, log) for initial, log in games]
            best[config] = min(best[config], time.perf_counter() - started)
    for config, games in played.items():
        moves = sum(len(log) for _, log in games)
        ends = [replay(initial, log) for initial, log in games]
        figures[config] = {
            "applies_per_s": round(moves / best[config]),
            "moves_per_game": round(moves / len(games), 1),
            "concluded_share": round(sum(e.phase is Phase.CONCLUDED for e in ends) / len(ends), 2),
        }
    base = figures["ioa"]["applies_per_s"]
    for config, row in figures.items():
        row["speed_vs_ioa"] = round(row["applies_per_s"] / base, 2)
        print(f"{config:20} {row}")
    load = os.getloadavg()[0]
    print("RESULT " + json.dumps({"games": args.games, "load_1m": round(load, 2), **figures}))


if __name__ == "__main__":
    main()
