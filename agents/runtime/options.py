"""`AgentOptions`: the bounds and places an agent runs with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class AgentOptions:
    max_depth: int = 2
    """How deep sub-teams may nest below a top-level team."""
    max_members: int = 3
    """Most members an agent invites when it forms a team."""
    transcript_lines: int = 20
    """Recent messages kept per group for prompts."""
    state_dir: Path | None = None
    """Where credentials and checkpoints live; None keeps them in memory only."""
    registration_token: str | None = None
    """What the hub asks for to register a new agent, if it was started with one."""
