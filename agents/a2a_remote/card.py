"""The IoA card of a remote A2A agent, derived from its A2A card.

Name, description, version and skills carry over (A2A's card and ours share these concepts);
every skill is also tagged "a2a", so discovery can find remote agents as such. Text from the
remote is made fit to show (no control characters) and cut to our card's limits, so a remote
card that is long or hostile still registers.
"""

from __future__ import annotations

from a2a.types import AgentCard as A2ACard

from protocols import AgentCard, Skill
from protocols.text import scrub

__all__ = ["a2a_card"]

SKILLS_MAX = 64
TAGS_MAX = 32
TAG_CHARS = 64


def _tags(tags: list[str]) -> list[str]:
    """The skill's tags, cleaned and unique, then "a2a"."""
    kept: list[str] = []
    for tag in tags:
        tag = scrub(tag).strip()[:TAG_CHARS]
        if tag and tag != "a2a" and tag not in kept:
            kept.append(tag)
    return [*kept[: TAGS_MAX - 1], "a2a"]


def a2a_card(
    remote: A2ACard, *, url: str, name: str | None = None, description: str | None = None
) -> AgentCard:
    """A `remote` agent's card: one skill per A2A skill; `name`/`description` override."""
    skills = []
    for skill in list(remote.skills)[:SKILLS_MAX]:
        title = scrub(skill.name or skill.id).strip()[:120]
        if not title:
            continue
        examples = "; ".join(scrub(e) for e in list(skill.examples)[:3])
        said = scrub(skill.description) + (f" Examples: {examples}" if examples else "")
        skills.append(
            Skill(name=title, description=said.strip()[:2000], tags=_tags(list(skill.tags)))
        )
    said = description or scrub(remote.description) or "a remote A2A agent"
    version = scrub(remote.version).strip()[:32] or "0.1.0"
    return AgentCard(
        name=(name or scrub(remote.name).strip() or scrub(url))[:120],
        description=f"{said} (an A2A agent at {url})"[:4000],
        kind="remote",
        skills=skills,
        version=version,
    )
