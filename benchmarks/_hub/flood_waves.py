"""The flood phase: a wave every `wave_every` seconds, each a flooder burst, a reconnect storm
and a round of resends, while the normal agents go on sending."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp

from _hub.chat_agents import ChatAgent
from _hub.flooder import Flooder
from _hub.soak_config import HUB_RECENT_IDS, SoakConfig
from _hub.soak_population import SoakPopulation
from ioa.backoff import Backoff

STORM_TIMEOUT = 30.0
RECENT_POOL = 100
"""The deep group's newest ids, resent as recent ones."""


@dataclass(slots=True)
class WaveTally:
    """What the waves did besides the flooder's frames."""

    bounced: int = 0
    resume_ms: list[float] = field(default_factory=list)
    """Reconnect → `synced`, per reconnect."""
    storm_failures: int = 0
    told_to_wait: int = 0
    """Reconnects the hub answered `503 busy` + Retry-After (then retried, as HubClient does)."""
    resends_recent: int = 0
    resends_old: int = 0
    """An agent's first message, resent (its group is far younger than the hub's window)."""
    resends_beyond_window: int = 0
    """Deep-group ids older than the hub's remembered window."""


async def storm(agents: list[ChatAgent], population: SoakPopulation, tally: WaveTally) -> None:
    """A batch of agents hang up at once and come back with their cursors."""
    url = population.rest.url

    async def one(agent: ChatAgent) -> None:
        backoff = Backoff()
        try:
            async with asyncio.timeout(STORM_TIMEOUT):
                while True:
                    try:
                        tally.resume_ms.append(await agent.bounce(population.session, url))
                        return
                    except aiohttp.WSServerHandshakeError as exc:
                        if exc.status != 503:  # anything but "busy, come back later" is a failure
                            raise
                        tally.told_to_wait += 1
                        hint = float(exc.headers.get("Retry-After", "1") if exc.headers else 1)
                        await asyncio.sleep(backoff.next(hint))
        except (TimeoutError, aiohttp.ClientError, ConnectionError, RuntimeError) as exc:
            tally.storm_failures += 1
            population.faults.note(f"{agent.agent_id}: reconnect failed: {exc!r}")

    tally.bounced += len(agents)
    await asyncio.gather(*(one(a) for a in agents))


async def resend_normal(
    wave: int, count: int, population: SoakPopulation, tally: WaveTally
) -> None:
    """`count` normal agents resend their newest and their first acked ids."""
    normal = population.normal
    for k in range(count):
        agent = normal[(wave * count + k) * 7 % len(normal)]
        if agent.own and await agent.resend(agent.own[-1]):
            tally.resends_recent += 1
        if len(agent.own) > 1 and await agent.resend(agent.own[0]):
            tally.resends_old += 1


async def resend_deep(
    wave: int, count: int, history: list[str], population: SoakPopulation, tally: WaveTally
) -> None:
    """In the deep group: recent ids, ids older than the hub's window (this wave's, and last
    wave's once more), then new messages: the conversation goes on, so a seq lost to a resend
    shows as a hole to the listener."""
    resender = population.resender
    old = history[: max(0, len(history) - HUB_RECENT_IDS - RECENT_POOL)]
    recent = history[-RECENT_POOL:]
    for k in range(count):
        if recent and await resender.resend(recent[(wave * count + k) % len(recent)]):
            tally.resends_recent += 1
        for w in (wave, wave - 1):
            if old and w >= 0 and await resender.resend(old[(w * count + k) % len(old)]):
                tally.resends_beyond_window += 1
    for _ in range(count):
        await resender.send_chat()


async def run_waves(
    config: SoakConfig, population: SoakPopulation, flooder: Flooder, history: list[str]
) -> WaveTally:
    """The waves, on schedule; returns once the phase's time is up and every storm is over."""
    tally = WaveTally()
    loop = asyncio.get_running_loop()
    start = loop.time()
    storms: list[asyncio.Task[None]] = []
    normal = population.normal
    for wave in range(config.waves):
        await asyncio.sleep(max(0.0, start + wave * config.wave_every - loop.time()))
        if config.burst:
            flooder.burst(config.burst)
        if config.storm:
            first = wave * config.storm
            batch = [normal[(first + i) % len(normal)] for i in range(config.storm)]
            storms.append(asyncio.create_task(storm(batch, population, tally)))
        await resend_normal(wave, config.resends, population, tally)
        await resend_deep(wave, config.resends, history, population, tally)
    await asyncio.sleep(max(0.0, start + config.phase_seconds - loop.time()))
    await asyncio.gather(*storms)
    return tally
