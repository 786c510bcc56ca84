"""A labelled discovery set: agent cards, queries as people put them, and the relevant cards.

Each capability in `domains.DOMAINS` yields three cards worded differently (a plain one, one that
states the capability as a skill description, one that lists the skills) and two queries: one
that shares words with the cards (what BM25 is built for) and one phrased as a person's goal
that shares no word with them (what ranking by meaning is for). A query's relevant cards are
its capability's three. The calculator, unit converter and table look-up tool agents are
capabilities here too, worded as the tool agents' cards are.

`benchmarks/discovery.py` measures recall@5 and MRR on it; the paraphrase half is reported
apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from environments.discoveryset.domains import DOMAINS
from protocols.card import AgentCard, Skill

__all__ = ["CARDS", "QUERIES", "Query", "cards_by_id"]


@dataclass(frozen=True)
class Query:
    text: str
    relevant: frozenset[str]
    """Ids of the cards that answer it."""
    paraphrase: bool
    """True when the query shares no word with its relevant cards."""
    domain: str


def _cards(key: str, role: str, skills: list[str], does: str, tags: list[str]) -> list[AgentCard]:
    sentence = does[0].upper() + does[1:] + "."
    return [
        AgentCard(
            id=f"{key}-1",
            name=role,
            description=sentence,
            skills=[Skill(name=skills[0], tags=tags[:2])],
        ),
        AgentCard(
            id=f"{key}-2",
            name=f"{role} Bot",
            description=f"A {role.lower()}.",
            skills=[Skill(name=skills[1], description=sentence, tags=tags[1:])],
        ),
        AgentCard(
            id=f"{key}-3",
            name=f"{skills[2].title()} Desk",
            description=f"{skills[0].capitalize()}, {skills[1]} and {skills[2]}.",
            skills=[Skill(name=s, tags=tags) for s in skills],
        ),
    ]


def _build() -> tuple[list[AgentCard], list[Query]]:
    cards: list[AgentCard] = []
    queries: list[Query] = []
    for line in DOMAINS.strip().splitlines():
        key, role, skills, does, tags, keyword, paraphrase = (f.strip() for f in line.split("|"))
        made = _cards(
            key,
            role,
            [s.strip() for s in skills.split(";")],
            does,
            [t.strip() for t in tags.split(",")],
        )
        cards += made
        relevant = frozenset(card.id or "" for card in made)
        queries.append(Query(keyword, relevant, False, key))
        queries.append(Query(paraphrase, relevant, True, key))
    return cards, queries


CARDS, QUERIES = _build()


def cards_by_id() -> dict[str, AgentCard]:
    return {card.id or "": card for card in CARDS}
