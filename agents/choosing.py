"""Choosing among finite options: by the model's likelihood of each, or by sampling under a grammar.

Where the legal answers are a short list (which tool, which arguments, whether to use a tool),
a small model does better scoring each option than writing one: scoring never produces a
malformed answer and costs only each option's own tokens. An engine without scoring (a scripted
engine, an older build) falls back to sampling one option under an enum grammar: the reply is
the option itself (a JSON string), so the model writes the option's own words, not a wrapper.
"""

from __future__ import annotations

from typing import Any, Literal

from ioa.llm import Engine, EngineError

Decoding = Literal["score", "sample"]
DECODINGS: tuple[Decoding, ...] = ("score", "sample")


def can_score(engine: Engine) -> bool:
    """Whether the engine implements likelihood scoring (the base `Engine` does not)."""
    return type(engine)._score is not Engine._score


async def choose(
    engine: Engine,
    messages: list[dict[str, Any]],
    options: list[str],
    *,
    agent: str,
    decoding: Decoding,
    temperature: float = 0.0,
) -> int:
    """The index of the option chosen for `messages` (a single option is chosen at no cost)."""
    if not options:
        raise ValueError("nothing to choose from")
    if len(options) == 1:
        return 0
    if decoding == "score" and can_score(engine):
        try:
            choice = await engine.choose(messages, options, agent=agent)
            return choice.index
        except EngineError:
            pass  # this engine cannot score after all: sample instead
    answer, _ = await engine.structured(
        messages, agent=agent, schema={"enum": options}, temperature=temperature
    )
    return options.index(answer)
