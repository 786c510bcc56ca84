"""What the dashboard's feed costs the hub per stored message, in CPU time (load-proof).

A real hub in this process with `--pairs` two-member groups; five event streams (one following
the first pair) subscribe to its feed. Messages as the router stores them are handed to the
feed, `--rate` × 0.25 s of them per tick, and each tick is built, given to the streams and
drained as the event stream's response would write it. The figure is this thread's CPU time per
message: the feed's own work (listening, counting, ticks, events), without sockets or SQLite.

    python benchmarks/dashboard_feed.py [--rate 7000] [--pairs 16] [--ticks 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from ioa.client import HubClient
from ioa.config import HubConfig
from ioa.hub import Hub
from ioa.hub.dashboard.feed import FEED, Feed
from ioa.hub.entries import Group
from ioa.store import StoredMessage
from protocols import AgentCard

Pair = tuple[Group, str, str]
Batch = list[tuple[Group, StoredMessage]]


async def pairs_of(hub: Hub, count: int, clients: list[HubClient]) -> list[Pair]:
    found: list[Pair] = []
    for i in range(count):
        a, b = HubClient(hub.url), HubClient(hub.url)
        for client, name in ((a, f"talker-{i}"), (b, f"listener-{i}")):
            clients.append(client)
            await client.__aenter__()
            await client.register(AgentCard(name=name, description="talks"))
        group = await a.create_group([b.agent_id or ""], name=f"pair {i}")
        found.append((hub.state.registry.groups[group.id], a.agent_id or "", b.agent_id or ""))
    return found


def traffic(pairs: list[Pair], ticks: int, per_tick: int) -> list[Batch]:
    seqs = {group.id: group.head for group, _, _ in pairs}
    batches: list[Batch] = []
    for t in range(ticks):
        batch: Batch = []
        for k in range(per_tick):
            group, sender, to = pairs[k % len(pairs)]
            seqs[group.id] += 1
            now = time.time()
            envelope = {
                "v": "1",
                "id": f"m{t}-{k}",
                "group": group.id,
                "sender": sender,
                "to": [to],
                "seq": seqs[group.id],
                "reply_to": None,
                "ts": now,
                "payload": {"type": "chat", "text": f"t={now:.6f}"},
            }
            body = json.dumps(envelope, separators=(",", ":"))
            msg = StoredMessage(group.id, seqs[group.id], f"m{t}-{k}", sender, "chat", now, body)
            batch.append((group, msg))
        batches.append(batch)
    return batches


def run(feed: Feed, batches: list[Batch]) -> float:
    """CPU seconds this thread spent feeding `batches` through `feed`, a tick after each."""
    started = time.thread_time()
    for batch in batches:
        for group, msg in batch:
            group.head = msg.seq
            feed._stored(group, msg)
        feed.flush()
        for stream in feed.streams.values():
            written = stream.take()
            if written:
                "".join(f"data: {e}\n\n" for e in written).encode()
    return time.thread_time() - started


async def main(args: argparse.Namespace) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="ioa-bench-feed-"))
    config = HubConfig.model_validate(
        {"host": "127.0.0.1", "port": 0, "database_url": str(folder / "h.db"), "embeddings": "off"}
    )
    clients: list[HubClient] = []
    async with Hub(config) as hub:
        try:
            pairs = await pairs_of(hub, args.pairs, clients)
            assert hub._runner is not None
            feed = hub._runner.app[FEED]
            streams = [feed.subscribe(None) for _ in range(5)]
            feed.follow(streams[0], pairs[0][0].id)
            await asyncio.sleep(0.5)  # the read-back of what was said before
            if feed._ticker is not None:
                feed._ticker.cancel()  # ticks are driven below, one per batch
            batches = traffic(pairs, args.ticks, int(args.rate * feed.tick))
            used = run(feed, batches)
            for stream in streams:
                feed.unsubscribe(stream)
        finally:
            for client in clients:
                await client.close()
    sent = sum(len(b) for b in batches)
    return {"rate": args.rate, "messages": sent, "feed_us_per_msg": round(used / sent * 1e6, 2)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=7000.0)
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--ticks", type=int, default=40)
    print("RESULT " + json.dumps(asyncio.run(main(parser.parse_args()))))
