"""Edge–cloud cascade: quality, escalation share and cost of local, cloud and cascade crews.

The tool-goal set (`environments.toolgoals`, the lab's "tools" task set) runs through a real hub
three ways, side by side in one run: the crew thinking with a weak local model only (a tiny
random-weight GGUF: noise under a grammar), with the cloud model only (the bundled SmolLM2
served by `python -m llama_cpp.server` on loopback: an OpenAI-compatible endpoint), and with the
cascade (local first, escalating by the default policy: an invalid local reply, or a likelihood
choice led by less than `--min-margin`). Per crew: goals answered correctly, model calls local
and remote per goal, the share of local decisions escalated, remote tokens per goal and their
cost at `--price` (per million prompt,completion tokens; illustrative). Ends with `RESULT {json}`.

    python benchmarks/cascade.py [--goals add,lyon] [--min-margin 0.5] [--threads 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from agents.goal_runner import ToolGoalOutcome, run_tool_goal
from environments.toolgoals import GOALS
from ioa.commands.local_hub import local_hub
from ioa.llm import Engine, default_model_path, load_engine, write_tiny_gguf
from ioa.llm.cascade import CascadeEngine, EscalationPolicy, escalation_scope
from ioa.llm.remote import Endpoint, RemoteEngine

DEFAULT_GOALS = "add,multiply,marathon,kg-lb,lyon,kettle"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--goals", default=DEFAULT_GOALS, help="comma-separated ids, or 'all'")
    parser.add_argument("--cloud-model", help="GGUF the loopback cloud serves (default: bundled)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--min-margin", type=float, default=0.5)
    parser.add_argument("--price", default="0.15,0.60", help="IN,OUT per million tokens")
    parser.add_argument("--max-turns", type=int, default=6)
    return parser.parse_args()


@contextmanager
def loopback_cloud(gguf: Path, threads: int) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
            "127.0.0.1", "--port", str(port), "--n_threads", str(threads), "--n_ctx", "4096",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(1200):
            if process.poll() is not None:
                raise RuntimeError("llama_cpp.server exited")
            with suppress(OSError):
                urllib.request.urlopen(f"{url}/models", timeout=2).close()
                break
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


async def run_crew(
    name: str, engine: Engine, hub: str, goals: list[Any], max_turns: int
) -> list[ToolGoalOutcome]:
    outcomes = []
    for goal in goals:
        with escalation_scope(goal.id):  # the remote budget and the log are per goal
            outcome = await run_tool_goal(engine, hub, goal, max_turns=max_turns)
        outcomes.append(outcome)
        mark = "ok " if outcome.correct else "-- "
        print(f"{name:8} {mark}{goal.id:10} {outcome.seconds:6.1f}s {outcome.conclusion[:80]!r}")
    return outcomes


async def main(args: argparse.Namespace) -> dict[str, Any]:
    ids = None if args.goals == "all" else set(args.goals.split(","))
    goals = [g for g in GOALS if ids is None or g.id in ids]
    price_in, price_out = (float(p) for p in args.price.split(","))
    cloud_gguf = Path(args.cloud_model or default_model_path())
    summary: dict[str, Any] = {"goals": len(goals), "threads": args.threads}
    with (
        tempfile.TemporaryDirectory(prefix="ioa-cascade-") as tmp,
        loopback_cloud(cloud_gguf, args.threads) as url,
    ):
        tiny = write_tiny_gguf(Path(tmp) / "tiny.gguf", "minicpm")
        endpoint = Endpoint(
            model="cloud", base_url=url, price_in=price_in, price_out=price_out, timeout=300
        )
        async with (
            await load_engine(tiny, n_ctx=4096, n_threads=args.threads) as local,
            RemoteEngine(endpoint) as remote,
            local_hub(Path(tmp) / "hub.db") as hub,
        ):
            cascade = CascadeEngine(local, remote, EscalationPolicy(min_margin=args.min_margin))
            for name, engine in (("local", local), ("cloud", remote), ("cascade", cascade)):
                before_local, before_remote = local.stats(), remote.stats()
                outcomes = await run_crew(name, engine, hub, goals, args.max_turns)
                local_calls = local.stats().calls - before_local.calls
                after = remote.stats()
                remote_tokens = (after.prompt_tokens - before_remote.prompt_tokens) + (
                    after.completion_tokens - before_remote.completion_tokens
                )
                row: dict[str, Any] = {
                    "correct": round(sum(o.correct for o in outcomes) / len(goals), 3),
                    "seconds_per_goal": round(sum(o.seconds for o in outcomes) / len(goals), 1),
                    "local_calls_per_goal": round(local_calls / len(goals), 2),
                    "remote_calls_per_goal": round(
                        (after.calls - before_remote.calls) / len(goals), 2
                    ),
                    "remote_tokens_per_goal": round(remote_tokens / len(goals), 1),
                    "remote_cost_per_goal": round(
                        (after.cost - before_remote.cost) / len(goals), 8
                    ),
                }
                if engine is cascade:
                    sent = [e for e in cascade.escalations if e.outcome == "remote"]
                    row["escalated_share"] = round(len(sent) / max(1, local_calls), 3)
                    row["escalations_by_reason"] = {
                        r: sum(e.reason == r for e in sent) for r in ("invalid", "margin", "hard")
                    }
                summary[name] = row
    summary["cascade_vs_cloud_cost"] = round(
        summary["cascade"]["remote_cost_per_goal"]
        / max(1e-12, summary["cloud"]["remote_cost_per_goal"]),
        3,
    )
    summary["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return summary


if __name__ == "__main__":
    result = asyncio.run(main(parse_args()))
    print("RESULT " + json.dumps(result))
