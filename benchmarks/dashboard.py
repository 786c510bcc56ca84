"""The dashboard under load: how soon a message is visible in the page, and what pages cost.

A hub in its own process (`ioa hub`, SQLite in a temporary directory) with `--agents` registered
agents; `--pairs` of them talk in two-member chat groups, each sender closed-loop (the next
message once the hub acks the last) with the send time in the text. Scenarios alternate over
`--rounds`: no page open, then `--pages` headless Chromium pages signed in as a person (one
following a pair's conversation, the others on the network view). Measured:

- visible: in the page that follows a conversation, a MutationObserver takes the time each new
  message row appears minus the send time written into it (same machine clock): p50/p99;
- page main-thread busy time per second of that page (Chrome's `TaskDuration` metric);
- hub throughput (acked messages/s) and hub CPU per message with 0 vs N pages open;
- the CPU the Chromium processes burn meanwhile: on a small box they share the cores with the
  hub and the talkers, so throughput alone mixes what the hub pays with what the pages cost the
  machine; the hub's own CPU per message (`hub_cpu_ratio`) is what watching costs the hub.

    python benchmarks/dashboard.py [--agents 1000] [--pairs 16] [--duration 5] [--rounds 2]
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
const seen = new Set();  // rows are drawn afresh each frame: a message counts once, when first seen
new MutationObserver(() => {
  for (const row of document.querySelectorAll('#transcript [data-seq]')) {
    if (seen.has(row.dataset.seq)) continue;
    seen.add(row.dataset.seq);
    const m = /t=([0-9.]+)/.exec(row.textContent);
    if (m && Number(m[1]) >= since) window.__lat.push(Date.now() / 1000 - Number(m[1]));
  }
}).observe(document.getElementById('transcript'), {childList: true, subtree: true});
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


async def talk(pairs: list[tuple[HubClient, str, str]], seconds: float) -> int:
    sent = 0
    end = time.monotonic() + seconds

    async def loop(client: HubClient, group: str, to: str) -> None:
        nonlocal sent
        while time.monotonic() < end:
            await client.say(group, Chat(text=f"t={time.time():.6f}"), to=[to])
            sent += 1

    await asyncio.gather(*(loop(*pair) for pair in pairs))
    return sent


async def open_pages(
    browser: Browser, url: str, token: str, count: int, group: str
) -> tuple[list[Page], Any]:
    pages: list[Page] = []
    for i in range(count):
        page = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
        await page.goto(f"{url}/#token={token}")
        await page.wait_for_selector("#status.live")
        if i == 0:
            await page.click("#tabs button[data-view=conversations]")
            await page.click(f'#group-list [data-group-id="{group}"]')
            await page.wait_for_selector("#transcript [data-seq]")
            await page.evaluate(OBSERVE)
        pages.append(page)
    cdp = await pages[0].context.new_cdp_session(pages[0])
    await cdp.send("Performance.enable")
    return pages, cdp


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


async def task_seconds(cdp: Any) -> float:
    metrics = await cdp.send("Performance.getMetrics")
    return float(next(m["value"] for m in metrics["metrics"] if m["name"] == "TaskDuration"))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def main(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="ioa-bench-dash-"))
    env = dict(os.environ, IOA_HUB_EMBEDDINGS="off", IOA_HOME=str(workdir))
    command = ["-m", "ioa", "-q", "hub", "--port", str(port), "--db", str(workdir / "h.db")]
    hub = subprocess.Popen([sys.executable, *command], env=env)  # noqa: ASYNC220
    clients: list[HubClient] = []
    try:
        await wait_healthy(url)
        hub_cpu = psutil.Process(hub.pid)
        await register_many(url, args.agents - 2 * args.pairs - 1)
        person = HubClient(url)
        clients.append(person)
        await person.__aenter__()
        await person.register(AgentCard(name="watcher", kind="human"))
        pairs: list[tuple[HubClient, str, str]] = []
        for i in range(args.pairs):
            a, b = HubClient(url), HubClient(url)
            clients += [a, b]
            for c, name in ((a, f"talker-{i}"), (b, f"listener-{i}")):
                await c.__aenter__()
                await c.register(AgentCard(name=name))
                await c.connect()
            group = await a.create_group([b.agent_id or ""], name=f"pair {i}")
            pairs.append((a, group.id, b.agent_id or ""))
        await talk(pairs, 1.0)  # warm up
        rows: dict[int, list[dict[str, float]]] = {0: [], args.pages: []}
        latencies: list[float] = []
        busy: list[float] = []
        pages_cpu: list[float] = []
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for _ in range(args.rounds):
                for pages_open in (0, args.pages):
                    pages: list[Page] = []
                    cdp = None
                    if pages_open:
                        pages, cdp = await open_pages(
                            browser, url, person.token or "", pages_open, pairs[0][1]
                        )
                        await asyncio.sleep(1.0)
                        busy_before = await task_seconds(cdp)
                    cpu_before = sum(hub_cpu.cpu_times()[:2])
                    browser_before = browser_cpu()
                    started = time.monotonic()
                    sent = await talk(pairs, args.duration)
                    wall = time.monotonic() - started
                    cpu = sum(hub_cpu.cpu_times()[:2]) - cpu_before
                    rows[pages_open].append(
                        {"msgs_per_s": sent / wall, "us_per_msg": cpu / sent * 1e6}
                    )
                    if pages_open:
                        pages_cpu.append((browser_cpu() - browser_before) / wall)
                        busy.append((await task_seconds(cdp) - busy_before) / wall)
                        await asyncio.sleep(0.5)
                        latencies += await pages[0].evaluate("window.__lat.splice(0)")
                        for page in pages:
                            await page.context.close()
            await browser.close()
    finally:
        for client in clients:
            await client.close()
        hub.terminate()
        hub.wait(10)

    def med(n: int, key: str) -> float:
        return statistics.median(r[key] for r in rows[n])

    base, watched = med(0, "msgs_per_s"), med(args.pages, "msgs_per_s")
    return {
        "agents": args.agents,
        "pairs": args.pairs,
        "pages": args.pages,
        "load_1min_before": load_before,
        "load_1min": os.getloadavg()[0],
        "cpus": os.cpu_count(),
        "msgs_per_s_0_pages": round(base, 1),
        f"msgs_per_s_{args.pages}_pages": round(watched, 1),
        "throughput_ratio": round(watched / base, 3),
        "hub_us_per_msg_0_pages": round(med(0, "us_per_msg"), 1),
        f"hub_us_per_msg_{args.pages}_pages": round(med(args.pages, "us_per_msg"), 1),
        "hub_cpu_ratio": round(med(args.pages, "us_per_msg") / med(0, "us_per_msg"), 3),
        "pages_cpu_s_per_s": round(statistics.median(pages_cpu), 3) if pages_cpu else None,
        "visible_ms_p50": round(pct(latencies, 0.5) * 1000, 1),
        "visible_ms_p99": round(pct(latencies, 0.99) * 1000, 1),
        "visible_samples": len(latencies),
        "page_busy_ms_per_s": round(statistics.median(busy) * 1000, 1) if busy else None,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    result = asyncio.run(main(parser.parse_args()))
    for key, value in result.items():
        print(f"{key:>28}: {value}")
    print("RESULT " + json.dumps(result))
