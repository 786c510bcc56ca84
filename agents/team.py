"""Team formation: discover candidates by capability and choose the members, bounded.

After IoA's: several discovery queries, top-k each, de-duplicated; the brain picks 1..N members;
a bounded number of attempts, and on the last attempt a decision is forced.
"""

from __future__ import annotations

from agents.brain import Brain, Candidate
from ioa.client import HubClient


async def discover(
    client: HubClient, queries: list[str], k: int, exclude: set[str]
) -> list[Candidate]:
    """Run each query, keep each agent's best score, drop `exclude`; best first."""
    best: dict[str, Candidate] = {}
    for query in queries:
        for hit in await client.discover(query, k=k, online=True):
            agent_id = hit.agent_id
            if agent_id in exclude:
                continue
            candidate = Candidate(
                id=agent_id,
                name=hit.card.name,
                description=hit.card.description,
                skills=[s.name for s in hit.card.skills],
                score=hit.score,
            )
            if agent_id not in best or best[agent_id].score < candidate.score:
                best[agent_id] = candidate
    return sorted(best.values(), key=lambda c: (-c.score, c.id))


async def choose_members(
    client: HubClient,
    brain: Brain,
    goal: str,
    *,
    me: str,
    max_members: int = 3,
    attempts: int = 3,
    k: int = 5,
    max_queries: int = 3,
) -> list[str]:
    """Ids to invite besides `me` (possibly none: then the agent works alone)."""
    seen: dict[str, Candidate] = {}
    for attempt in range(attempts):
        forced = attempt == attempts - 1
        queries = [q for q in (await brain.queries(goal)) if q.strip()][:max_queries] or [goal]
        for candidate in await discover(client, queries, k, {me, *seen}):
            seen[candidate.id] = candidate
        ranked = sorted(seen.values(), key=lambda c: (-c.score, c.id))
        choice = await brain.pick(goal, ranked, max_members, forced)
        if choice is None and not forced:
            continue
        chosen = [c for c in dict.fromkeys(choice or []) if c in seen and c != me]
        return chosen[:max_members]
    return []
