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
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

__all__ = [
    "MAX_CALLS",
    "MAX_SECONDS",
    "MAX_TOKENS",
    "USAGE",
    "Part",
    "Spend",
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


def add_spends(*reports: Iterable[Spend]) -> tuple[Spend, ...]:
    """The reports summed line by line (by part and where), each figure capped at its bound so
    the sum is itself a valid report; lines that spent nothing are left out."""
    sums: dict[tuple[Part, Where], list[float]] = {}
    for report in reports:
        for s in report:
            row = sums.setdefault(s.key, [0, 0, 0, 0, 0.0])
            for i, value in enumerate((s.calls, s.prompt, s.evaluated, s.generated, s.seconds)):
                row[i] += value
    return tuple(
        Spend.capped(
            part,
            where,
            calls=calls,
            prompt=prompt,
            evaluated=evaluated,
            generated=generated,
            seconds=seconds,
        )
        for (part, where), (calls, prompt, evaluated, generated, seconds) in sums.items()
        if calls or prompt or generated or seconds
    )
