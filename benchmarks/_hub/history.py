"""A hub database with a long history, written straight through `SqlStore` (no hub, no sockets).

Groups alternate "chat" and "ioa". An "ioa" group's transcript is a run of legal `discussion`
turns, each checked with `protocols.conversation.apply` as it is written, so a hub replays it
without a refusal. Agents are stored with tokens the benchmark knows, so it can connect them
without registering; agent `i` is a member of group `i % groups`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from ioa.hub.entries import hash_token, new_agent_id, new_group_id
from ioa.store import AgentRecord, GroupRecord, SqlStore, StoredMessage
from protocols import AgentCard, Chat, Discussion, Envelope
from protocols.conversation import ConversationState, apply
from protocols.conversation.settings import conversation_for_group

MAX_TURNS = 10_000
"""An "ioa" group's turn cap (the most a group may set): room for its history and more."""
BATCH = 5_000
TEXT = "a turn of the stored history, long enough to look like a sentence"


@dataclass(frozen=True, slots=True)
class Member:
    """An agent the benchmark can connect as, and the group it talks in."""

    agent_id: str
    token: str
    group_id: str


@dataclass(frozen=True, slots=True)
class History:
    agents: list[Member]
    """The agents to connect: agent `i` is in group `i % groups`."""
    probes: list[Member]
    """Extra members of the first "chat" groups, to send messages in them."""
    groups: int
    messages: int


def _card(name: str) -> str:
    return AgentCard(
        name=name, description="hub restart benchmark agent", kind="tool"
    ).model_dump_json()


def _transcript(
    group_id: str, members: list[str], protocol: str, count: int, start: float
) -> list[StoredMessage]:
    """`count` stored messages: round-robin chat, or legal discussion turns in an "ioa" group."""
    state: ConversationState | None = None
    if protocol == "ioa":
        state = conversation_for_group(group_id, members, {"max_turns": MAX_TURNS}, start)
    out = []
    for seq in range(1, count + 1):
        ts = start + seq * 0.001
        if state is None:
            sender = members[(seq - 1) % len(members)]
            env = Envelope(group=group_id, sender=sender, payload=Chat(text=TEXT), seq=seq, ts=ts)
        else:
            sender = state.speaker or members[0]
            payload = Discussion(text=TEXT)
            env = Envelope(group=group_id, sender=sender, payload=payload, seq=seq, ts=ts)
            state = apply(state, env)
        out.append(
            StoredMessage(group_id, seq, env.id, sender, env.type, ts, env.model_dump_json())
        )
    return out


async def write_history(db: Path, agents: int, groups: int, messages: int, probes: int) -> History:
    """Write the database; `probes` must not exceed the number of "chat" groups."""
    members_total = max(agents, groups)
    tokens = [f"bench-token-{i}-{new_agent_id()}" for i in range(members_total + probes)]
    ids = [new_agent_id() for _ in tokens]
    group_ids = [new_group_id() for _ in range(groups)]
    now = time.time() - 3600
    store = await SqlStore(str(db)).start()
    try:
        for i, (agent_id, token) in enumerate(zip(ids, tokens, strict=True)):
            card = _card(f"agent-{i}")
            await store.add_agent(AgentRecord(agent_id, card, hash_token(token), now))
        rosters: list[list[str]] = [[] for _ in range(groups)]
        for i in range(members_total):
            rosters[i % groups].append(ids[i])
        for p in range(probes):
            rosters[2 * p].append(ids[members_total + p])  # even groups are "chat"
        pending: list[StoredMessage] = []
        for g, group_id in enumerate(group_ids):
            protocol = "chat" if g % 2 == 0 else "ioa"
            meta = f'{{"max_turns": {MAX_TURNS}}}' if protocol == "ioa" else "{}"
            created = now + g * 0.001
            await store.add_group(
                GroupRecord(
                    group_id, f"history-{g}", rosters[g][0], created, rosters[g], protocol, meta
                )
            )
            count = messages // groups + (1 if g < messages % groups else 0)
            pending += _transcript(group_id, rosters[g], protocol, count, created)
            if len(pending) >= BATCH:
                await store.append_messages(pending)
                pending = []
                await asyncio.sleep(0)
        await store.append_messages(pending)
    finally:
        await store.close()

    def member(i: int, group: int) -> Member:
        return Member(ids[i], tokens[i], group_ids[group])

    return History(
        agents=[member(i, i % groups) for i in range(agents)],
        probes=[member(members_total + p, 2 * p) for p in range(probes)],
        groups=groups,
        messages=messages,
    )
