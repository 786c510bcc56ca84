"""Everyone taking part in a soak, registered, grouped and connected.

Agents 0 and 1 are the flooder and the slow reader, alone in the busy group; agents 2 and 3 the
resender and its listener in the deep group (filled before the load, so that some of its ids
are older than the hub remembers); all others are normal agents in chat groups of
`group_size`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

from _hub.chat_agents import ChatAgent, Faults
from _hub.hub_load import (
    CONNECT_CONCURRENCY,
    SETUP_CONCURRENCY,
    bounded,
    create_group,
    register_agents,
)
from _hub.ledger import Ledger
from _hub.measure import POLL
from _hub.phases import Clock
from _hub.slow_reader import Leftovers, SlowReader
from _hub.soak_config import SoakConfig
from ioa.client import HubClient

SPECIAL_AGENTS = 4
PREFILL_WINDOW = 64


@dataclass(frozen=True, slots=True)
class FlooderAccount:
    """The flooder's identity and group; it connects from its own process."""

    agent_id: str
    token: str
    group_id: str


@dataclass(slots=True)
class SoakPopulation:
    session: aiohttp.ClientSession
    rest: HubClient
    normal: list[ChatAgent]
    resender: ChatAgent
    listener: ChatAgent
    slow: SlowReader
    flooder: FlooderAccount
    ledger: Ledger
    faults: Faults
    """What the normal agents saw."""
    deep_faults: Faults
    """What the deep group's two members saw: resends older than the hub remembers."""

    @property
    def members(self) -> list[ChatAgent]:
        """Every agent on a socket of this process."""
        return [*self.normal, self.resender, self.listener]

    async def close(self) -> None:
        await asyncio.gather(*(a.hang_up() for a in self.members), return_exceptions=True)
        self.slow.cut()
        await self.session.close()
        await self.rest.close()

    async def prefill(self, count: int, timeout: float) -> list[str]:
        """Fill the deep group with `count` acked messages; their ids, oldest first."""
        for start in range(0, count, PREFILL_WINDOW):
            for _ in range(min(PREFILL_WINDOW, count - start)):
                await self.resender.send_chat()
            await wait_acked([self.resender], timeout)
        return list(self.resender.own)

    async def release_slow_reader(self) -> Leftovers | None:
        """If the hub let go of the slow reader, what its socket got; if the hub still holds
        it, None, and the soak cuts it (the after phase runs without it either way)."""
        slow = self.slow
        if slow.dropped_after is None and await self.slow_reader_online() is not False:
            slow.cut()
            return None
        return await slow.read_out()

    async def slow_reader_online(self) -> bool | None:
        return await self.slow.online(self.rest, self.resender.token)

    async def group_heads(self) -> dict[str, int]:
        """Each group's newest seq as the hub counts it: seqs given out but never stored would
        not show as holes in the database when they are the newest."""
        tokens = {a.group_id: a.token for a in self.members}
        tokens[self.flooder.group_id] = self.flooder.token

        async def head(group_id: str, token: str) -> tuple[str, int]:
            view = await self.rest.request("GET", f"/v1/groups/{group_id}", token=token)
            return group_id, int(view["head"])

        return dict(await bounded(SETUP_CONCURRENCY, [head(g, t) for g, t in tokens.items()]))


async def wait_acked(agents: list[ChatAgent], timeout: float) -> None:
    """Until every message of these agents is acked, `timeout` seconds at most."""
    for _ in range(int(timeout / POLL)):
        if not any(a.outgoing for a in agents):
            return
        await asyncio.sleep(POLL)


def chat_teams(agents: list[ChatAgent], size: int) -> list[list[ChatAgent]]:
    """Groups of `size`; a remainder too small to chat joins the last full group."""
    teams = [agents[i : i + size] for i in range(0, len(agents), size)]
    if len(teams) > 1 and len(teams[-1]) < 2:
        teams[-2].extend(teams.pop())
    return teams


async def populate_soak(url: str, port: int, config: SoakConfig, clock: Clock) -> SoakPopulation:
    """Register every agent, make the groups, connect everyone but the flooder (its own
    process) and the slow reader (it connects when the flood starts)."""
    ledger, faults, deep_faults = Ledger(), Faults(), Faults()
    rest = HubClient(url, reconnect=False)
    credentials = await register_agents(rest, config.agents)
    (flood_id, flood_token), (slow_id, slow_token) = credentials[0], credentials[1]

    def agent(i: int, agent_faults: Faults) -> ChatAgent:
        agent_id, token = credentials[i]
        return ChatAgent(agent_id, token, i, clock, ledger, agent_faults, config.payload)

    resender, listener = agent(2, deep_faults), agent(3, deep_faults)
    resender.timed = listener.timed = False
    normal = [agent(i, faults) for i in range(SPECIAL_AGENTS, config.agents)]
    teams = [*chat_teams(normal, config.group_size), [resender, listener]]
    jobs = [create_group(rest, t[0].token, [a.agent_id for a in t[1:]], "chat") for t in teams]
    busy = create_group(rest, flood_token, [slow_id], "chat")
    *group_ids, busy_group = await bounded(SETUP_CONCURRENCY, [*jobs, busy])
    for team, group_id in zip(teams, group_ids, strict=True):
        for member in team:
            member.join_group(group_id)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    population = SoakPopulation(
        session=session,
        rest=rest,
        normal=normal,
        resender=resender,
        listener=listener,
        slow=SlowReader("127.0.0.1", port, slow_id, slow_token),
        flooder=FlooderAccount(flood_id, flood_token, busy_group),
        ledger=ledger,
        faults=faults,
        deep_faults=deep_faults,
    )
    try:
        await bounded(CONNECT_CONCURRENCY, [a.connect(session, url) for a in population.members])
    except BaseException:
        await population.close()
        raise
    return population
