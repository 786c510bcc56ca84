"""Cutting out of a model's reply what a small model says without knowing it.

- Echoes: a small model copies what it reads ("The last turn: conclude." as a team's conclusion
  was the symptom). A sentence of the reply that shares a run of `RUN` words with the fixed text
  of the prompts (not with the goal or the transcript, which a reply may quote) is dropped.
- Restatements: a sentence that only says the goal again ("Goal: add 17 and 25.") answers
  nothing; it is the prompt's first line copied, so it is dropped too.
- Invented numbers: a sentence with a number that appears nowhere in what the model was given
  (the goal, the tools' results) is dropped, so a conclusion never contradicts the tool.
"""

from __future__ import annotations

import re
import string
from functools import cache

from agents import prompts
from agents.spans import numbers_in

RUN = 4
_WORD = re.compile(r"[a-z0-9']+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _runs(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@cache
def _instruction_runs(n: int = RUN) -> frozenset[tuple[str, ...]]:
    """Every run of `n` words of the prompts' fixed text (their fields left out)."""
    runs: set[tuple[str, ...]] = set()
    for name in dir(prompts):
        value = getattr(prompts, name)
        if not name.isupper() or not isinstance(value, str):
            continue
        for literal, *_ in string.Formatter().parse(value):
            runs |= _runs(_words(literal), n)
    return frozenset(runs)


def echoes(text: str) -> bool:
    """Whether `text` repeats a run of the prompts' instruction words."""
    return bool(_runs(_words(text), RUN) & _instruction_runs())


def strip_echoes(text: str) -> str:
    """`text` without its sentences that repeat the prompts' instructions."""
    kept = [s for s in _SENTENCE.split(text.strip()) if s and not echoes(s)]
    return " ".join(kept).strip()


def strip_invented_numbers(text: str, given: str) -> str:
    """`text` without its sentences that state a number absent from `given`."""
    known = set(numbers_in(given))
    kept = [
        s for s in _SENTENCE.split(text.strip()) if s and all(n in known for n in numbers_in(s))
    ]
    return " ".join(kept).strip()


def strip_restatements(text: str, goal: str) -> str:
    """`text` without its sentences that only repeat `goal` (with or without a "Goal:" label)."""
    said = _words(goal)
    kept = [
        s
        for s in _SENTENCE.split(text.strip())
        if s and (words := _words(s)) != said and words != ["goal", *said]
    ]
    return " ".join(kept).strip()
