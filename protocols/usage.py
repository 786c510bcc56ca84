"""`Spend`: the model work behind a message, reported by its sender on the envelope.

An agent's model runs on its own device, so the hub never sees a token. Instead each message an
agent sends carries what its model spent since its previous message in that group (`usage`):
conversation moves and team formation (`coordination`) apart from task work (`work`), its local
model apart from a cloud endpoint. The hub sums these per agent and per goal for people to see.

The hub cannot check a report, so every figure is bounded here: a count is an integer in range
(no float, string or boolean), a time is finite, at most one line per (part, where), and a
report out of bounds refuses the whole message like any invalid envelope. Totals built from
reports that passed cannot be corrupted by one message, only grown by at most these bounds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

__all__ = [
    "EXACT",
    "MAX_CALLS",
    "MAX_SECONDS",
    "MAX_TOKENS",
    "USAGE",
    "Part",
    "Spend",
    "Sums",
    "Usage",
    "Where",
    "add_spends",
]

MAX_CALLS = 100_000
"""Model calls one message may report: far more than any turn or task makes."""
MAX_TOKENS = 1_000_000_000
"""Tokens of one kind one message may report (a call's context is at most 2**24 tokens)."""
MAX_SECONDS = 1_000_000.0
"""Model seconds one message may report (eleven days)."""
EXACT = 2**53
"""Where `Sums` saturate: JSON numbers stop being exact in a browser beyond it."""

Part = Literal["coordination", "work"]
"""`coordination`: conversation moves and forming teams; `work`: doing an assigned task."""
Where = Literal["local", "cloud"]
"""`local`: a model on the agent's device; `cloud`: a remote (OpenAI-compatible) endpoint."""

Count = Annotated[int, Field(ge=0, le=MAX_TOKENS, strict=True)]


class Spend(BaseModel):
    """One kind of model work (part × where) behind a message."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, defer_build=True)

    part: Part
    where: Where
    calls: int = Field(default=0, ge=0, le=MAX_CALLS, strict=True)
    """Model calls (a structured reply's repair attempt is a call)."""
    prompt: Count = 0
    """Prompt tokens as sent, option tokens of a likelihood choice included."""
    evaluated: Count = 0
    """Of `prompt`, the tokens the model actually ran (the rest came from a cached prefix)."""
    generated: Count = 0
    """Tokens the model generated."""
    seconds: float = Field(default=0.0, ge=0.0, le=MAX_SECONDS)
    """Time the calls spent in the engine."""

    @model_validator(mode="after")
    def _evaluated_within_prompt(self) -> Spend:
        if self.evaluated > self.prompt:
            raise ValueError("evaluated tokens cannot exceed prompt tokens")
        return self

    @classmethod
    def capped(
        cls,
        part: Part,
        where: Where,
        *,
        calls: float,
        prompt: float,
        evaluated: float,
        generated: float,
        seconds: float,
    ) -> Spend:
        """A line from raw sums, each capped at its bound (an honest agent's huge task still
        reports, at the bound, instead of having its message refused)."""
        prompt_n = max(0, min(int(prompt), MAX_TOKENS))
        return cls(
            part=part,
            where=where,
            calls=max(0, min(int(calls), MAX_CALLS)),
            prompt=prompt_n,
            evaluated=max(0, min(int(evaluated), prompt_n)),
            generated=max(0, min(int(generated), MAX_TOKENS)),
            seconds=max(0.0, min(float(seconds), MAX_SECONDS)),
        )

    @property
    def key(self) -> tuple[Part, Where]:
        return self.part, self.where

    @property
    def tokens(self) -> int:
        return self.prompt + self.generated


def _distinct(spends: tuple[Spend, ...]) -> tuple[Spend, ...]:
    keys = [s.key for s in spends]
    if len(set(keys)) != len(keys):
        raise ValueError("at most one line per (part, where)")
    return spends


Usage = Annotated[tuple[Spend, ...], Field(min_length=1, max_length=4), AfterValidator(_distinct)]
"""A message's report: one line per kind of work it spent on."""

USAGE: TypeAdapter[tuple[Spend, ...]] = TypeAdapter(Usage)


@dataclass(slots=True)
class Sums:
    """Running sums of the figures of `Spend` lines (an engine's calls, a message's lines, a
    ledger's), each saturating at `EXACT`: however much is added, a total stays a number a page
    shows exactly, and a report made from it (`spend`) is capped at the report's bounds."""

    calls: int = 0
    prompt: int = 0
    evaluated: int = 0
    generated: int = 0
    seconds: float = 0.0

    def add_figures(
        self, calls: int, prompt: int, evaluated: int, generated: int, seconds: float
    ) -> None:
        self.calls = min(self.calls + calls, EXACT)
        self.prompt = min(self.prompt + prompt, EXACT)
        self.evaluated = min(self.evaluated + evaluated, EXACT)
        self.generated = min(self.generated + generated, EXACT)
        self.seconds = min(self.seconds + seconds, float(EXACT))

    def add(self, other: Spend | Sums) -> None:
        self.add_figures(other.calls, other.prompt, other.evaluated, other.generated, other.seconds)

    @property
    def tokens(self) -> int:
        return min(self.prompt + self.generated, EXACT)

    @property
    def spent(self) -> bool:
        return bool(self.calls or self.prompt or self.generated or self.seconds)

    def spend(self, part: Part, where: Where) -> Spend:
        """These sums as one report line, each figure capped at its bound."""
        return Spend.capped(
            part,
            where,
            calls=self.calls,
            prompt=self.prompt,
            evaluated=self.evaluated,
            generated=self.generated,
            seconds=self.seconds,
        )


def add_spends(*reports: Iterable[Spend]) -> tuple[Spend, ...]:
    """The reports summed line by line (by part and where), each figure capped at its bound so
    the sum is itself a valid report; lines that spent nothing are left out."""
    sums: dict[tuple[Part, Where], Sums] = {}
    for report in reports:
        for spend in report:
            sums.setdefault(spend.key, Sums()).add(spend)
    return tuple(line.spend(*key) for key, line in sums.items() if line.spent)
