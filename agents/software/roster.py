"""The company's agents on the hub: one registered agent (card, id, token) per seat.

A seat is a role at a place in the company: `programmer` in the classic chain, `programmer-2` or
`reviewer-0-2` in a MacNet network. Roster register lazily, the first time a phase needs them, and
their credentials are kept in the run folder, so a resumed run speaks as the same agents and its
transcript reads as one conversation history.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agents.software.config import CompanyConfig, RoleSpec
from agents.software.errors import RunBroken
from ioa.client import HubClient
from ioa.lifecycle import Closeable
from ioa.llm import AgentStats, Engine, load_engine
from protocols import AgentCard, ModelFacts, Skill

__all__ = [
    "USAGE_FIELDS",
    "Engines",
    "Roster",
    "Seat",
    "load_engines",
    "model_facts",
    "role_card",
]

USAGE_FIELDS = ("calls", "prompt_tokens", "evaluated_prompt_tokens", "completion_tokens", "seconds")


@dataclass(frozen=True)
class Engines:
    """The company's model, and per-role overrides (ChatDev users asked for a model per role)."""

    default: Engine
    by_role: Mapping[str, Engine] | None = None

    def for_role(self, role: str) -> Engine:
        return (self.by_role or {}).get(role, self.default)

    def all(self) -> list[Engine]:
        seen = {id(e): e for e in [self.default, *(self.by_role or {}).values()]}
        return list(seen.values())


async def load_engines(
    config: CompanyConfig,
    model: str | Path | None,
    stack: contextlib.AsyncExitStack,
    *,
    n_ctx: int | None = None,
    n_threads: int | None = None,
) -> Engines:
    """The local engines a config needs: `model` (default: the bundled or IOA_MODEL one) and
    each role's own GGUF, each loaded once and closed with `stack`."""
    default = await stack.enter_async_context(
        await load_engine(model, n_ctx=n_ctx, n_threads=n_threads)
    )
    by_role: dict[str, Engine] = {}
    for role, spec in config.roles.items():
        if spec.model:
            engine = await load_engine(spec.model, n_ctx=n_ctx, n_threads=n_threads)
            by_role[role] = await stack.enter_async_context(engine)
    return Engines(default, by_role)


def model_facts(engine: Engine) -> ModelFacts:
    """What a card says about the model behind a seat."""
    facts = getattr(engine, "facts", None)
    if facts is None:
        return ModelFacts(name=type(engine).__name__)
    return ModelFacts(
        name=facts.name or facts.path.stem,
        arch=facts.arch,
        quant=facts.quant,
        n_ctx=getattr(engine, "n_ctx", None),
    )


def role_card(spec: RoleSpec, label: str, engine: Engine) -> AgentCard:
    return AgentCard(
        name=label,
        description=f"{spec.name} of a virtual software company (IoA company).",
        kind="llm",
        skills=[Skill(name=spec.name, tags=spec.tags)],
        model=model_facts(engine),
    )


@dataclass(frozen=True)
class Seat:
    """One agent of the company, connected to the hub."""

    key: str
    role: str
    label: str
    spec: RoleSpec
    client: HubClient
    engine: Engine

    @property
    def id(self) -> str:
        return str(self.client.agent_id)


class Roster(Closeable):
    """Registers and connects roster on demand; `async with Roster(...) as roster:`."""

    def __init__(
        self, hub_url: str, credentials: Path, config: CompanyConfig, engines: Engines
    ) -> None:
        self.hub_url = hub_url
        self.credentials = credentials
        self.config = config
        self.engines = engines
        self._seats: dict[str, Seat] = {}
        self._marks: dict[str, AgentStats] = {}
        self._saved: dict[str, dict[str, str]] = {}
        if credentials.exists():
            try:
                self._saved = dict(json.loads(credentials.read_text()))
            except (OSError, ValueError) as exc:
                raise RunBroken(f"{credentials} is unreadable: {exc}") from None

    async def seat(self, key: str, role: str, label: str | None = None) -> Seat:
        """The seat `key` playing `role`, registered and connected on first use."""
        if key in self._seats:
            return self._seats[key]
        spec = self.config.roles[role]
        engine = self.engines.for_role(role)
        saved = self._saved.get(key)
        client = HubClient(
            self.hub_url,
            token=saved["token"] if saved else None,
            agent_id=saved["agent_id"] if saved else None,
        )
        await client.__aenter__()
        try:
            if saved is None:
                await client.register(role_card(spec, label or spec.name, engine))
                self._save(key, str(client.agent_id), str(client.token), label or spec.name)
            await client.connect()
        except BaseException:
            await client.close()
            raise
        seat = Seat(key, role, label or spec.name, spec, client, engine)
        self._seats[key] = seat
        self._marks[key] = engine.stats(key)
        return seat

    def take_usage(self) -> dict[str, dict[str, float]]:
        """Model usage per seat since the last call (or since the seat joined), non-zero only.

        Engines count per agent name for the life of the process (a benchmark shares one engine
        across runs), so usage is measured as the difference from a mark.
        """
        usage: dict[str, dict[str, float]] = {}
        for key, seat in self._seats.items():
            now = seat.engine.stats(key)
            before = self._marks[key]
            delta = {f: getattr(now, f) - getattr(before, f) for f in USAGE_FIELDS}
            self._marks[key] = now
            if delta["calls"]:
                usage[key] = delta
        return usage

    def names(self) -> dict[str, str]:
        """agent id → display name, for transcripts."""
        names = {seat.id: seat.label for seat in self._seats.values()}
        names.update({v["agent_id"]: v.get("label", k) for k, v in self._saved.items()})
        return names

    async def close(self) -> None:
        for seat in self._seats.values():
            await seat.client.close()
        self._seats.clear()

    def _save(self, key: str, agent_id: str, token: str, label: str) -> None:
        self._saved[key] = {"agent_id": agent_id, "token": token, "label": label}
        self.credentials.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.credentials.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._saved, indent=1))
        tmp.chmod(0o600)
        os.replace(tmp, self.credentials)
