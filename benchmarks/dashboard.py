"""The dashboard under load: how soon a message is visible in the page, and what pages cost.

A hub in its own process (`ioa hub`, SQLite in a temporary directory) with `--agents` registered
agents; `--pairs` of them talk in two-member chat groups with the send time in the text. Three
scenarios alternate over `--rounds`: nobody watching; `--pages` headless Chromium pages signed
in as a person (one following a pair's conversation, the others on the network view); and as
many raw event streams read over HTTP without a browser (one following the same pair). Each
scenario is measured twice:

- closed loop (each sender sends its next message once the hub acked the last): the hub's
  throughput and its CPU per message;
- paced at `--rate` messages/s in all (the issue's "stream of 1,000 messages/s"): the hub's CPU
  per message at the same offered load, and, with pages, how soon a message is visible (a
  MutationObserver in the following page takes the time a message's row first appears minus
  the send time written into it, same clock: p50/p99) and that page's main-thread busy time per
  second (Chrome's `TaskDuration`).

Each round measures nobody watching before and after the two watched scenarios (the store
grows as the run goes on). On a small box the Chromium processes share the cores with the hub
and the talkers, so the pages' throughput ratio mixes what watching costs the hub with what five
browsers cost the machine (`pages_cpu_s_per_s` says how much); the streams scenario and the
paced hub CPU per message say what watching costs the hub itself. The closed loop saturates the
box, so its throughput follows the CPU each message costs everything (hub, talkers with the raw
streams they read, browsers): `box_cpu_ratio_*` is that cost with nobody watching over the cost
watched, the throughput ratio as CPU accounts for it, which a busy box can still measure (it
understates a quiet box's: the pages' cost is mostly per second, and weighs more per message
when fewer messages go through). The raw streams' events and bytes per
second say what the hub sends a page following a conversation and one on the network view.

    python benchmarks/dashboard.py [--agents 1000] [--pairs 16] [--pages 5] [--rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from playwright.async_api import Browser, Page, async_playwright

from ioa.client import HubClient
from protocols import AgentCard, Chat

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]
OBSERVE = """
window.__lat = [];
const since = Date.now() / 1000;
const seen = new Set();  // a row may be drawn again: a message counts once, when first seen
new MutationObserver((records) => {
  for (const record of records) {
    for (const row of record.addedNodes) {
      if (!row.dataset || !row.dataset.seq || seen.has(row.dataset.seq)) continue;
      seen.add(row.dataset.seq);
      const m = /t=([0-9.]+)/.exec(row.textContent);
      if (m && Number(m[1]) >= since) window.__lat.push(Date.now() / 1000 - Number(m[1]));
    }
  }
}).observe(document.querySelector('#transcript .rows'), {childList: true});
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def wait_healthy(url: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(url + "/v1/health") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the hub did not start")


async def register_many(url: str, count: int) -> None:
    gate = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with gate, HubClient(url) as client:
            await client.register(AgentCard(name=f"agent-{i:04d}", description="idle"))

    await asyncio.gather(*(one(i) for i in range(count)))


Pair = tuple[HubClient, str, str]


async def talk(pairs: list[Pair], seconds: float, rate: float | None = None) -> int:
    """Messages acked in `seconds`: closed loop, or paced at `rate` messages/s in all."""
    sent = 0
    end = time.monotonic() + seconds
    gap = len(pairs) / rate if rate else 0.0

    async def loop(client: HubClient, group: str, to: str) -> None:
        nonlocal sent
        due = time.monotonic()
        while time.monotonic() < end:
            await client.say(group, Chat(text=f"t={time.time():.6f}"), to=[to])
            sent += 1
            if gap:
                due = max(due + gap, time.monotonic() - gap)  # late: no burst to catch up
                await asyncio.sleep(max(0.0, due - time.monotonic()))

    await asyncio.gather(*(loop(*pair) for pair in pairs))
    return sent


class Pages:
    """`count` Chromium pages signed in as a person; the first follows `group`."""

    def __init__(self, browser: Browser, url: str, token: str, count: int, group: str) -> None:
        self.browser = browser
        self.url = url
        self.token = token
        self.count = count
        self.group = group
        self.pages: list[Page] = []
        self.cdp: Any = None

    async def open(self) -> None:
        for i in range(self.count):
            context = await self.browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            await page.goto(f"{self.url}/#token={self.token}")
            await page.wait_for_selector("#status.live")
            if i == 0:
                await page.click("#tabs button[data-view=conversations]")
                await page.click(f'#group-list [data-group-id="{self.group}"]')
                await page.wait_for_selector("#transcript [data-seq]")
                await page.evaluate(OBSERVE)
            self.pages.append(page)
        self.cdp = await self.pages[0].context.new_cdp_session(self.pages[0])
        await self.cdp.send("Performance.enable")

    async def busy(self) -> float:
        metrics = await self.cdp.send("Performance.getMetrics")
        return float(next(m["value"] for m in metrics["metrics"] if m["name"] == "TaskDuration"))

    async def latencies(self) -> list[float]:
        await asyncio.sleep(0.5)
        found: list[float] = await self.pages[0].evaluate("window.__lat.splice(0)")
        return found

    async def close(self) -> None:
        for page in self.pages:
            await page.context.close()


class Streams:
    """`count` event streams read over HTTP with no browser; the first follows `group`."""

    def __init__(self, url: str, token: str, count: int, group: str) -> None:
        self.url, self.token, self.count, self.group = url, token, count, group
        self.session = aiohttp.ClientSession()
        self.readers: list[asyncio.Task[None]] = []
        self.received: list[list[int]] = []
        """Per stream (the following one first): [events, bytes] read so far."""

    async def open(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        for i in range(self.count):
            response = await self.session.get(self.url + "/v1/dashboard/events", headers=headers)
            await response.content.readline()  # retry:
            ready = json.loads((await response.content.readline())[6:])
            if i == 0 and ready.get("stream"):
                path = f"/v1/dashboard/events/{ready['stream']}/follow"
                await self.session.post(
                    self.url + path, json={"group": self.group}, headers=headers
                )
            self.received.append([0, 0])
            self.readers.append(asyncio.create_task(self._read(response, self.received[-1])))

    async def _read(self, response: aiohttp.ClientResponse, received: list[int]) -> None:
        async for line in response.content:
            if line.startswith(b"data: "):
                received[0] += 1
                received[1] += len(line)
        response.close()

    def taken(self) -> list[tuple[int, int]]:
        return [(events, size) for events, size in self.received]

    async def close(self) -> None:
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        await self.session.close()


async def lapsed(url: str, token: str, connected: int) -> None:
    """Wait until the idle agents (registered, never connected) show offline: their presence
    lapsing is a burst of 1,000 changes for every page, and must not land in a measured window."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        for _ in range(600):
            async with session.get(url + "/v1/dashboard/overview") as response:
                if (await response.json())["online"] <= connected:
                    return
            await asyncio.sleep(0.1)


async def counted(url: str, token: str) -> None:
    """Wait until the hub has read back what was said while nobody watched: a one-off cost of
    opening the first page after a quiet spell, not a cost per message watched."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        for _ in range(300):
            async with session.get(url + "/v1/dashboard/overview") as response:
                if (await response.json()).get("history_counted", True):
                    return
            await asyncio.sleep(0.1)


def browser_cpu() -> float:
    """CPU seconds used so far by the Chromium processes this benchmark started."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name():
                total += sum(child.cpu_times()[:2])
        except psutil.Error:
            continue
    return total


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def cpu_of(process: psutil.Process) -> float:
    return sum(process.cpu_times()[:2])


async def measure(
    hub: psutil.Process,
    pairs: list[Pair],
    seconds: float,
    rate: float | None,
    streams: Streams | None = None,
) -> dict[str, float]:
    me = psutil.Process()
    cpu, own, chromium = cpu_of(hub), cpu_of(me), browser_cpu()
    received = streams.taken() if streams else []
    started = time.monotonic()
    sent = await talk(pairs, seconds, rate)
    wall = time.monotonic() - started
    browsers = browser_cpu() - chromium
    row = {
        "msgs_per_s": sent / wall,
        "us_per_msg": (cpu_of(hub) - cpu) / sent * 1e6,
        "talkers_us_per_msg": (cpu_of(me) - own) / sent * 1e6,
        "browser_cpu": browsers / wall,
        "browser_us_per_msg": browsers / sent * 1e6,
    }
    if streams:
        now = streams.taken()
        row["following_events_per_s"] = (now[0][0] - received[0][0]) / wall
        row["following_kb_per_s"] = (now[0][1] - received[0][1]) / wall / 1000
        row["other_events_per_s"] = (now[1][0] - received[1][0]) / wall
        row["other_kb_per_s"] = (now[1][1] - received[1][1]) / wall / 1000
    return row


async def setup(url: str, args: argparse.Namespace, clients: list[HubClient]) -> list[Pair]:
    """Idle agents, the person who watches (first in `clients`), and the talking pairs."""
    await register_many(url, args.agents - 2 * args.pairs - 1)
    person = HubClient(url)
    clients.append(person)
    await person.__aenter__()
    await person.register(AgentCard(name="watcher", kind="human"))
    pairs: list[Pair] = []
    for i in range(args.pairs):
        a, b = HubClient(url), HubClient(url)
        clients += [a, b]
        for c, name in ((a, f"talker-{i}"), (b, f"listener-{i}")):
            await c.__aenter__()
            await c.register(AgentCard(name=name))
            await c.connect()
        group = await a.create_group([b.agent_id or ""], name=f"pair {i}")
        pairs.append((a, group.id, b.agent_id or ""))
    return pairs


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="ioa-bench-dash-"))
    env = dict(os.environ, IOA_HUB_EMBEDDINGS="off", IOA_HOME=str(workdir))
    command = ["-m", "ioa", "-q", "hub", "--port", str(port), "--db", str(workdir / "h.db")]
    hub = subprocess.Popen([sys.executable, *command], env=env)  # noqa: ASYNC220
    scenarios = ("0_pages", f"{args.pages}_pages", f"{args.pages}_streams")
    closed: dict[str, list[dict[str, float]]] = {s: [] for s in scenarios}
    paced: dict[str, list[dict[str, float]]] = {s: [] for s in scenarios}
    latencies: list[float] = []
    busy: list[float] = []
    clients: list[HubClient] = []
    try:
        await wait_healthy(url)
        hub_cpu = psutil.Process(hub.pid)
        pairs = await setup(url, args, clients)
        token, followed = clients[0].token or "", pairs[0][1]
        await talk(pairs, 1.0)  # warm up
        await lapsed(url, token, 2 * args.pairs)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for _ in range(args.rounds):
                # nobody watching both before and after: the store grows as the run goes on, so
                # the watched scenarios are framed by the baseline, not measured after it only
                for scenario in (*scenarios, scenarios[0]):
                    watchers: Pages | Streams | None = None
                    if scenario == scenarios[1]:
                        watchers = Pages(browser, url, token, args.pages, followed)
                    elif scenario == scenarios[2]:
                        watchers = Streams(url, token, args.pages, followed)
                    if watchers is not None:
                        await watchers.open()
                        await counted(url, token)
                        await asyncio.sleep(1.0)
                    reading = watchers if isinstance(watchers, Streams) else None
                    closed[scenario].append(
                        await measure(hub_cpu, pairs, args.duration, None, reading)
                    )
                    if isinstance(watchers, Pages):
                        await watchers.latencies()  # the closed loop's: not the paced stream's
                        busy_before = await watchers.busy()
                    started = time.monotonic()
                    paced[scenario].append(await measure(hub_cpu, pairs, args.duration, args.rate))
                    if isinstance(watchers, Pages):
                        busy.append(
                            (await watchers.busy() - busy_before) / (time.monotonic() - started)
                        )
                        latencies += await watchers.latencies()
                    if watchers is not None:
                        await watchers.close()
            await browser.close()
    finally:
        for client in clients:
            await client.close()
        hub.terminate()
        hub.wait(10)

    def med(rows: dict[str, list[dict[str, float]]], scenario: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[scenario])

    base, pages, streams = scenarios
    result: dict[str, Any] = {
        "agents": args.agents,
        "pairs": args.pairs,
        "pages": args.pages,
        "rate": args.rate,
        "load_1min_before": round(load_before, 2),
        "load_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    for scenario in scenarios:
        result[f"msgs_per_s_{scenario}"] = round(med(closed, scenario, "msgs_per_s"), 1)
    for scenario in scenarios:
        result[f"hub_us_per_msg_{scenario}"] = round(med(closed, scenario, "us_per_msg"), 1)
    for scenario in scenarios:
        result[f"paced_hub_us_per_msg_{scenario}"] = round(med(paced, scenario, "us_per_msg"), 1)
    for name, rows in (("", closed), ("paced_", paced)):
        for scenario, label in ((pages, "pages"), (streams, "streams")):
            result[f"{name}hub_cpu_ratio_{label}"] = round(
                med(rows, scenario, "us_per_msg") / med(rows, base, "us_per_msg"), 3
            )
    result["throughput_ratio_pages"] = round(
        result[f"msgs_per_s_{pages}"] / result[f"msgs_per_s_{base}"], 3
    )
    result["throughput_ratio_streams"] = round(
        result[f"msgs_per_s_{streams}"] / result[f"msgs_per_s_{base}"], 3
    )
    for scenario in scenarios:
        result[f"talkers_us_per_msg_{scenario}"] = round(
            med(closed, scenario, "talkers_us_per_msg"), 1
        )

    def box(scenario: str) -> float:
        """CPU of the whole run per message: hub, talkers (and raw streams), browsers."""
        return statistics.median(
            r["us_per_msg"] + r["talkers_us_per_msg"] + r["browser_us_per_msg"]
            for r in closed[scenario]
        )

    for scenario, label in ((pages, "pages"), (streams, "streams")):
        # closed loop on a saturated box: messages per CPU-second, the throughput a quiet box
        # would give in proportion, however busy this one is
        result[f"box_cpu_ratio_{label}"] = round(box(base) / box(scenario), 3)
    for key in ("following_events_per_s", "following_kb_per_s", "other_events_per_s"):
        result[f"stream_{key}"] = round(med(closed, streams, key), 1)
    result["stream_other_kb_per_s"] = round(med(closed, streams, "other_kb_per_s"), 2)
    result["paced_msgs_per_s"] = round(med(paced, base, "msgs_per_s"), 1)
    result["pages_cpu_s_per_s"] = round(med(closed, pages, "browser_cpu"), 3)
    result["paced_pages_cpu_s_per_s"] = round(med(paced, pages, "browser_cpu"), 3)
    result["visible_ms_p50"] = round(pct(latencies, 0.5) * 1000, 1)
    result["visible_ms_p99"] = round(pct(latencies, 0.99) * 1000, 1)
    result["visible_samples"] = len(latencies)
    result["page_busy_ms_per_s"] = round(statistics.median(busy) * 1000, 1) if busy else None
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    result = asyncio.run(main(parser.parse_args()))
    for key, value in result.items():
        print(f"{key:>36}: {value}")
    print("RESULT " + json.dumps(result))
