"""Likelihood scoring of a finite list of replies: what `Engine.choose` returns.

Where the legal replies are a short list (an action among a robot's legal options, an addressee,
a tool), a small model is better used as a scorer than as a sampler: each option's log-probability
as the continuation of the assistant reply is computed exactly, and the best one is taken. With a
KV prefix shared by the prompt, each option costs only its own tokens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ioa.llm.accounting import Completion
from ioa.llm.errors import BadOptions

__all__ = ["MAX_OPTIONS", "Choice", "Criterion", "OptionScore", "check_options", "pick"]

MAX_OPTIONS = 512
OPTION_MAX_CHARS = 2000

Criterion = Literal["mean", "sum"]
"""`sum`: the option's total log-probability (favours short options); `mean`: per token (a fair
comparison between options of different lengths; the default)."""


@dataclass(frozen=True)
class OptionScore:
    text: str
    logprob: float
    """Total log-probability of the option's tokens after the prompt."""
    tokens: int

    @property
    def mean(self) -> float:
        return self.logprob / self.tokens if self.tokens else 0.0


@dataclass(frozen=True)
class Choice:
    """The chosen option and every option's score."""

    index: int
    scores: tuple[OptionScore, ...]
    criterion: Criterion
    completion: Completion
    """Its cost: `evaluated_prompt_tokens` counts the prompt suffix, `scored_tokens` the options."""

    @property
    def text(self) -> str:
        return self.scores[self.index].text

    @property
    def logprobs(self) -> tuple[float, ...]:
        return tuple(s.logprob for s in self.scores)

    @property
    def means(self) -> tuple[float, ...]:
        return tuple(s.mean for s in self.scores)

    @property
    def margin(self) -> float:
        """How far the chosen option leads the runner-up under the criterion (inf if alone)."""
        values = sorted((_value(s, self.criterion) for s in self.scores), reverse=True)
        return values[0] - values[1] if len(values) > 1 else math.inf


def _value(score: OptionScore, criterion: Criterion) -> float:
    return score.mean if criterion == "mean" else score.logprob


def pick(scores: Sequence[OptionScore], criterion: Criterion) -> int:
    """The best option's index; ties go to the earlier option."""
    best = 0
    for i, score in enumerate(scores):
        if _value(score, criterion) > _value(scores[best], criterion):
            best = i
    return best


def check_options(options: object, criterion: object) -> list[str]:
    if criterion not in ("mean", "sum"):
        raise BadOptions(f"criterion must be 'mean' or 'sum', not {criterion!r}")
    if isinstance(options, str) or not isinstance(options, Sequence):
        raise BadOptions("options must be a list of strings")
    out = list(options)
    if not out:
        raise BadOptions("there must be at least one option to choose from")
    if len(out) > MAX_OPTIONS:
        raise BadOptions(f"at most {MAX_OPTIONS} options, not {len(out)}")
    for option in out:
        if not isinstance(option, str) or not option or len(option) > OPTION_MAX_CHARS:
            raise BadOptions(
                f"every option must be a non-empty string of at most {OPTION_MAX_CHARS} "
                f"characters, not {option!r:.60}"
            )
    if len(set(out)) != len(out):
        raise BadOptions("options must be distinct")
    return out
