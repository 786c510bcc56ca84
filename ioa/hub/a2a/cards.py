"""Agent cards: each registered agent, and the hub as a whole, described as A2A 1.0 agents.

An agent's card lives at `{hub}/a2a/agents/{id}` (its JSON-RPC endpoint), the hub's at
`{hub}/a2a`; each is served at `/.well-known/agent-card.json` under its URL, and the hub's also
at the site root, where A2A clients look first. Skills map one to one from our `AgentCard`
(their id is a slug of the name, unique on the card); the hub's skills are its agents' skills,
prefixed by the agent's id, so a client can tell who does what.
"""

from __future__ import annotations

import re

from ioa import __version__
from ioa.hub.a2a.wire import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
)
from protocols import AgentCard as IoACard

PROTOCOL_VERSION = "1.0"
BINDING = "JSONRPC"
MODES = ["text/plain", "application/json"]
"""What a message may carry (text and data parts) and what the hub answers with."""
BEARER = "bearer"
SECURITY_SCHEMES = {
    BEARER: {
        "httpAuthSecurityScheme": {
            "scheme": "Bearer",
            "description": "An IoA agent token (from POST /v1/agents): the caller acts as "
            "that agent, a member of the conversation its message opens.",
        }
    }
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "skill"


def skills_of(card: IoACard, prefix: str = "") -> list[AgentSkill]:
    skills: list[AgentSkill] = []
    seen: set[str] = set()
    for skill in card.skills:
        base = prefix + _slug(skill.name)
        skill_id, n = base, 1
        while skill_id in seen:
            n += 1
            skill_id = f"{base}-{n}"
        seen.add(skill_id)
        skills.append(
            AgentSkill(
                id=skill_id,
                name=skill.name,
                description=skill.description or skill.name,
                tags=list(skill.tags),
            )
        )
    return skills


def _card(
    name: str, description: str, url: str, version: str, skills: list[AgentSkill], guests: bool
) -> AgentCard:
    return AgentCard(
        name=name,
        description=description,
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding=BINDING, protocol_version=PROTOCOL_VERSION)
        ],
        version=version,
        capabilities=AgentCapabilities(
            streaming=True, push_notifications=False, extended_agent_card=False
        ),
        security_schemes=SECURITY_SCHEMES,
        security_requirements=None if guests else [{"schemes": {BEARER: {"list": []}}}],
        default_input_modes=MODES,
        default_output_modes=MODES,
        skills=skills,
    )


def agent_card(card: IoACard, agent_id: str, hub_url: str, guests: bool) -> AgentCard:
    """An agent's card: a message sent to it opens a conversation between the caller and it."""
    description = card.description or f"{card.name}, an agent on an IoA hub"
    url = f"{hub_url}/a2a/agents/{agent_id}"
    return _card(card.name, description, url, card.version, skills_of(card), guests)


def hub_card(cards: dict[str, IoACard], hub_url: str, guests: bool) -> AgentCard:
    """The hub's card: a message sent to it becomes a goal, led by the best-matching agent,
    which forms a team for it."""
    skills = [s for agent_id, c in cards.items() for s in skills_of(c, f"{agent_id}.")]
    description = (
        f"An Internet-of-Agents hub with {len(cards)} agents: a message becomes a goal that "
        "the best-matching agent leads, with a team it forms, under an enforced protocol."
    )
    return _card("IoA hub", description, f"{hub_url}/a2a", __version__, skills, guests)
