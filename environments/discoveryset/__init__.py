"""A labelled discovery set: agent cards, queries as people put them, and the relevant cards.

Each capability in `domains.DOMAINS` yields three cards worded differently (a plain one, one that
states the capability as a skill description, one that lists the skills) and two queries: one
that shares words with the cards (what BM25 is built for) and one phrased as a person's goal
that shares no word with them (what ranking by meaning is for). A query's relevant cards are
its capability's three. The calculator, unit converter and table look-up tool agents are
capabilities here too, worded as the tool agents' cards are.

`benchmarks/discovery.py` measures recall@5 and MRR on it; the paraphrase half is reported
apart. Settings of the ranking are chosen on the `tuning` queries only (the capabilities at even
positions of `DOMAINS`) and reported on the held-out rest as well, so a figure on the held-out
half is not one the settings were fitted to. Pure data like every environment: a card is a
`CardSpec` whose `as_dict()` is what `protocols.AgentCard.model_validate` takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from environments.discoveryset.domains import DOMAINS

__all__ = ["CARDS", "QUERIES", "CardSpec", "Query", "SkillSpec", "cards_by_id"]


@dataclass(frozen=True)
class SkillSpec:
    name: str
    description: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class CardSpec:
    id: str
    name: str
    description: str
    skills: tuple[SkillSpec, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """The card as the hub's wire format has it (an `AgentCard`'s fields)."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "skills": [
                {"name": s.name, "description": s.description, "tags": list(s.tags)}
                for s in self.skills
            ],
        }


@dataclass(frozen=True)
class Query:
    text: str
    relevant: frozenset[str]
    """Ids of the cards that answer it."""
    paraphrase: bool
    """True when the query shares no word with its relevant cards."""
    domain: str
    tuning: bool
    """True for the half settings are chosen on (capabilities at even positions in `DOMAINS`);
    the other half is held out."""


def _cards(key: str, role: str, skills: list[str], does: str, tags: list[str]) -> list[CardSpec]:
    sentence = does[0].upper() + does[1:] + "."
    return [
        CardSpec(f"{key}-1", role, sentence, (SkillSpec(skills[0], tags=tuple(tags[:2])),)),
        CardSpec(
            f"{key}-2",
            f"{role} Bot",
            f"A {role.lower()}.",
            (SkillSpec(skills[1], sentence, tuple(tags[1:])),),
        ),
        CardSpec(
            f"{key}-3",
            f"{skills[2].title()} Desk",
            f"{skills[0].capitalize()}, {skills[1]} and {skills[2]}.",
            tuple(SkillSpec(s, tags=tuple(tags)) for s in skills),
        ),
    ]


def _build() -> tuple[list[CardSpec], list[Query]]:
    cards: list[CardSpec] = []
    queries: list[Query] = []
    for position, line in enumerate(DOMAINS.strip().splitlines()):
        key, role, skills, does, tags, keyword, paraphrase = (f.strip() for f in line.split("|"))
        made = _cards(
            key,
            role,
            [s.strip() for s in skills.split(";")],
            does,
            [t.strip() for t in tags.split(",")],
        )
        cards += made
        relevant = frozenset(card.id for card in made)
        tuning = position % 2 == 0
        queries.append(Query(keyword, relevant, False, key, tuning))
        queries.append(Query(paraphrase, relevant, True, key, tuning))
    return cards, queries


CARDS, QUERIES = _build()


def cards_by_id() -> dict[str, CardSpec]:
    return {card.id: card for card in CARDS}
