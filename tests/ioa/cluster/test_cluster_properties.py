"""Hypothesis drives agents across two hubs on one store: sends, resends of earlier ids, moves
to the other hub, bursts from everyone at once and hub restarts. Whatever the interleaving,
each group's stored seqs are 1..N, each accepted id is stored once at the seq it was acked
with, and every member ends up having received every other member's message once, in order."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ioa.client import HubClient
from ioa.hub import Hub
from ioa.store import SqlStore
from protocols import Chat, Envelope
from tests.conftest import card, hub_config
from tests.redis_server import RedisServer, free_port

AGENTS = 3
GROUPS = ((0, 1, 2), (0, 1))
HUBS = 2

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.integers(0, AGENTS - 1), st.integers(0, len(GROUPS) - 1)),
        st.tuples(st.just("resend"), st.integers(0, AGENTS - 1), st.integers(0, 20)),
        st.tuples(st.just("move"), st.integers(0, AGENTS - 1), st.integers(0, HUBS - 1)),
        st.tuples(st.just("burst"), st.integers(0, len(GROUPS) - 1), st.integers(1, 6)),
        st.tuples(st.just("restart"), st.integers(0, HUBS - 1), st.just(0)),
    ),
    min_size=4,
    max_size=25,
)


@dataclass
class Member:
    client: HubClient
    hub: int
    sent: list[Envelope] = field(default_factory=list)
    got: list[Envelope] = field(default_factory=list)


class Scenario:
    def __init__(self, database: str, broker: str) -> None:
        ports = [free_port() for _ in range(HUBS)]
        self.configs = [hub_config(database, broker_url=broker, port=port) for port in ports]
        self.hubs: list[Hub] = []
        self.members: list[Member] = []
        self.groups: list[str] = []
        self.acked: dict[str, int] = {}
        """message id → the seq its (first) ack gave it."""

    def url(self, hub: int) -> str:
        return f"http://127.0.0.1:{self.configs[hub].port}"

    async def open(self) -> None:
        self.hubs = [await Hub(config).start() for config in self.configs]
        for i in range(AGENTS):
            client = HubClient(self.url(i % HUBS), max_backoff=0.3)
            await client.__aenter__()
            await client.register(card(f"agent{i}"))
            await client.connect()
            self.members.append(Member(client, i % HUBS))
        creator = self.members[0].client
        for members in GROUPS:
            others = [self.members[m].client.agent_id for m in members if m != 0]
            group = await creator.create_group(others)  # type: ignore[arg-type]
            self.groups.append(group.id)

    async def close(self) -> None:
        for member in self.members:
            await member.client.close()
        for hub in self.hubs:
            await hub.stop()

    async def send(self, agent: int, group: int) -> None:
        if agent not in GROUPS[group]:
            return
        member = self.members[agent]
        envelope = Envelope(
            id=uuid.uuid4().hex,
            group=self.groups[group],
            sender=member.client.agent_id,  # type: ignore[arg-type]
            payload=Chat(text=f"{agent}"),
        )
        acked = await member.client.send(envelope, timeout=30)
        assert self.acked.setdefault(envelope.id, acked.seq) == acked.seq  # type: ignore[arg-type]
        member.sent.append(envelope)

    async def resend(self, agent: int, which: int) -> None:
        member = self.members[agent]
        if member.sent:
            envelope = member.sent[which % len(member.sent)]
            acked = await member.client.send(envelope, timeout=30)
            assert acked.seq == self.acked[envelope.id], "a resend got a new seq"

    async def move(self, agent: int, hub: int) -> None:
        member = self.members[agent]
        old = member.client
        member.got += self._take(old)
        await old.close()
        client = HubClient(
            self.url(hub),
            token=old.token,
            agent_id=old.agent_id,
            cursors=old.cursors,
            max_backoff=0.3,
        )
        await client.__aenter__()
        await client.connect()
        member.client, member.hub = client, hub

    async def burst(self, group: int, rounds: int) -> None:
        await asyncio.gather(
            *(self.send(agent, group) for agent in GROUPS[group] for _ in range(rounds))
        )

    async def restart(self, hub: int, _: int) -> None:
        await self.hubs[hub].stop()
        self.hubs[hub] = await Hub(self.configs[hub]).start()
        for member in self.members:  # its agents come back by themselves (reconnect)
            if member.hub == hub:
                await member.client.wait_synced()

    @staticmethod
    def _take(client: HubClient) -> list[Envelope]:
        got = []
        while not client._inbox.empty():
            envelope = client._inbox.get_nowait()
            if envelope is not None:
                got.append(envelope)
        return got

    async def check(self, database: str) -> None:
        store = SqlStore(database)
        await store.start()
        try:
            stored = {g: await store.messages_after(g, 0, 100_000) for g in self.groups}
        finally:
            await store.close()
        for messages in stored.values():
            assert [m.seq for m in messages] == list(range(1, len(messages) + 1))
            assert len({m.id for m in messages}) == len(messages)
            for m in messages:
                assert self.acked[m.id] == m.seq
        assert sum(len(m) for m in stored.values()) == len(self.acked)
        for index, member in enumerate(self.members):
            expected = [
                (g, m.seq)
                for gi, g in enumerate(self.groups)
                if index in GROUPS[gi]
                for m in stored[g]
                if m.sender != member.client.agent_id
            ]
            got = member.got + self._take(member.client)
            while len(got) < len(expected):
                got.append(await member.client.receive(timeout=15))
            keys = [(e.group, e.seq) for e in got]
            assert sorted(keys) == sorted(expected), f"agent{index} got {keys}, not {expected}"
            for g in self.groups:
                seqs = [seq for group, seq in keys if group == g]
                assert seqs == sorted(seqs), f"agent{index} got {g} out of order"


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_any_interleaving_keeps_every_group_whole(
    ops: list[tuple[str, int, int]], fresh_postgres_url: str, redis_server: RedisServer
) -> None:
    async def play() -> None:
        scenario = Scenario(fresh_postgres_url, redis_server.url)
        await scenario.open()
        try:
            for name, first, second in ops:
                await asyncio.wait_for(getattr(scenario, name)(first, second), 60)
            await asyncio.wait_for(scenario.check(fresh_postgres_url), 120)
        finally:
            await asyncio.wait_for(scenario.close(), 60)

    asyncio.run(play())
