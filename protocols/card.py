"""`AgentCard`: who an agent is, what it can do, and what it runs on.

The card is what the hub indexes for discovery and what other agents read before they invite
someone into a team. Field names follow A2A's card where the concepts match (name, description,
version, skills with tags), so an IoA card maps onto an A2A card without loss. Every string is
shown to people, so each is a `Name` or a `Text` (no control characters; see `protocols.text`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from protocols.text import Name, Text

AgentKind = Literal["llm", "tool", "scripted", "human", "remote"]


class Skill(BaseModel):
    """One capability, described for people and for the discovery index."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: Name = Field(min_length=1, max_length=120)
    """Short name of the skill, e.g. "write python"."""
    description: Text = Field(default="", max_length=2000)
    """What the skill does, in a sentence or two."""
    tags: list[Name] = Field(default_factory=list, max_length=32)
    """Keywords that discovery matches exactly (e.g. "python", "robot", "review")."""


class ModelFacts(BaseModel):
    """The local model behind an agent, if any."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: Name = Field(max_length=200)
    """Model name, e.g. "MiniCPM3-4B" or "SmolLM2-135M-Instruct"."""
    arch: Name | None = Field(default=None, max_length=64)
    """GGUF `general.architecture`, e.g. "minicpm3"."""
    quant: Name | None = Field(default=None, max_length=32)
    """Quantisation, e.g. "Q4_K_M"."""
    n_ctx: int | None = Field(default=None, ge=1, le=2**24)
    """Context window the agent runs with."""


class DeviceFacts(BaseModel):
    """The device an agent runs on: it tells a team what each member can afford."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    host: Name | None = Field(default=None, max_length=255)
    os: Name | None = Field(default=None, max_length=64)
    cpu: Name | None = Field(default=None, max_length=255)
    cores: int | None = Field(default=None, ge=1, le=65_536)
    simd: list[Name] = Field(default_factory=list, max_length=64)
    """SIMD kernels llama.cpp uses there (AVX2, AVX512, NEON...)."""
    ram_mb: int | None = Field(default=None, ge=0, le=2**40)


class AgentCard(BaseModel):
    """The public description of an agent; the hub assigns `id` at registration."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: Name | None = Field(default=None, max_length=64)
    """Hub-assigned identity; ignored when registering."""
    name: Name = Field(min_length=1, max_length=120)
    """Display name; need not be unique (the id is)."""
    description: Text = Field(default="", max_length=4000)
    """What the agent is for, in plain words."""
    kind: AgentKind = "llm"
    """What drives the agent: a local model, a function, a script, a person, a remote agent."""
    skills: list[Skill] = Field(default_factory=list, max_length=64)
    model: ModelFacts | None = None
    device: DeviceFacts | None = None
    version: Name = Field(default="0.1.0", max_length=32)
    """The agent's own version (not the protocol's)."""
    direct_replies: bool = False
    """It may answer a message that opens a conversation with it by a direct reply, no task
    to follow: its first move concludes, and its conclusion names that message in `reply_to`.
    An A2A caller then gets the reply as a `Message`; so that the answer has one shape from its
    start, the hub holds what it tells such a caller (a stream's first event too) until the
    agent's first move."""

    def search_text(self) -> str:
        """Everything discovery should match against, as one string."""
        parts = [self.name, self.description]
        for skill in self.skills:
            parts.extend([skill.name, skill.description, " ".join(skill.tags)])
        return " ".join(p for p in parts if p)

    def tags(self) -> set[str]:
        return {tag.lower() for skill in self.skills for tag in skill.tags}
