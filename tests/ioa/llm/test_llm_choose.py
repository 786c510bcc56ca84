"""`Engine.choose`: likelihood scoring of a finite list of replies, on a real tiny GGUF.

Every option's score is checked against a brute-force computation (a fresh context evaluates the
whole prompt plus the option from scratch), the per-agent prefix is reused across calls, and bad
input is refused with typed errors. The `ScriptedEngine` twin is checked too.
"""

from __future__ import annotations

from pathlib import Path

import llama_cpp
import numpy as np
import pytest

from ioa.llm import (
    BadOptions,
    LlamaCppEngine,
    OptionsTooLong,
    ScriptedEngine,
    ScriptExhausted,
)
from ioa.llm.templates import Message

MESSAGES: list[Message] = [
    {"role": "system", "content": "You are Alice, a robot arm. Pick one action."},
    {"role": "user", "content": "The cube is on panel2. What do you do?"},
]
OPTIONS = ["PICK cube PLACE panel3", "WAIT", "MOVE red_cube", "PICK cube PLACE panel4 now"]


def brute_force(path: Path, prompt: list[int], option: list[int]) -> float:
    """Log-probability of `option` after `prompt`, from a fresh context with every logit kept."""
    llm = llama_cpp.Llama(
        model_path=str(path), n_ctx=1024, logits_all=True, n_threads=1, verbose=False
    )
    try:
        llm.eval(prompt + option)
        total = 0.0
        for j, token in enumerate(option):
            row = np.asarray(llm.scores[len(prompt) - 1 + j], dtype=np.float64)
            top = row.max()
            total += float(row[token] - top - np.log(np.exp(row - top).sum()))
        return total
    finally:
        llm.close()


async def test_choose_matches_brute_force(engine: LlamaCppEngine, tiny_minicpm: Path) -> None:
    choice = await engine.choose(MESSAGES, OPTIONS, agent="alice", criterion="sum")
    model = engine._loaded()
    prompt = model._tokens(MESSAGES)
    for score in choice.scores:
        tokens = model.llm.tokenize(score.text.encode(), add_bos=False, special=False)
        assert score.tokens == len(tokens)
        assert score.logprob == pytest.approx(brute_force(tiny_minicpm, prompt, tokens), abs=1e-4)
    assert choice.index == int(np.argmax(choice.logprobs))
    assert choice.text == OPTIONS[choice.index]
    assert choice.margin >= 0


async def test_choose_reuses_the_prefix_and_counts_scored_tokens(engine: LlamaCppEngine) -> None:
    first = await engine.choose(MESSAGES, OPTIONS, agent="alice")
    second = await engine.choose(MESSAGES, OPTIONS, agent="alice")
    assert first.logprobs == pytest.approx(second.logprobs, abs=1e-5)
    assert first.completion.evaluated_prompt_tokens == first.completion.prompt_tokens
    assert second.completion.evaluated_prompt_tokens == 1  # only the last token, for its logits
    # each option costs its own tokens but the last one (whose logits nobody needs)
    assert second.completion.scored_tokens == sum(s.tokens - 1 for s in second.scores)
    stats = engine.stats("alice")
    assert stats.calls == 2
    assert stats.scored_tokens == 2 * second.completion.scored_tokens


async def test_choose_leaves_the_prompt_cached_for_chat(engine: LlamaCppEngine) -> None:
    await engine.choose(MESSAGES, OPTIONS, agent="alice")
    reply = await engine.chat(MESSAGES, agent="alice", max_tokens=3, temperature=0)
    assert reply.evaluated_prompt_tokens == 1


async def test_mean_criterion_picks_the_best_per_token(engine: LlamaCppEngine) -> None:
    choice = await engine.choose(MESSAGES, OPTIONS, agent="bob", criterion="mean")
    assert choice.index == int(np.argmax(choice.means))


@pytest.mark.parametrize(
    "options",
    [[], ["WAIT", "WAIT"], ["WAIT", ""], "WAIT", ["WAIT", 3]],
    ids=["empty", "duplicate", "blank", "string", "not-a-string"],
)
async def test_bad_options_are_refused(engine: LlamaCppEngine, options: object) -> None:
    with pytest.raises(BadOptions):
        await engine.choose(MESSAGES, options, agent="alice")  # type: ignore[arg-type]


async def test_an_option_longer_than_the_window_is_refused(tiny_minicpm: Path) -> None:
    async with LlamaCppEngine(tiny_minicpm, n_threads=1, n_ctx=64) as small:
        with pytest.raises(OptionsTooLong):
            await small.choose(MESSAGES, ["WAIT " * 200], agent="alice")


async def test_scripted_twin_is_deterministic() -> None:
    scripted = ScriptedEngine(scorer=lambda request, option: -float(len(option)))
    choice = await scripted.choose(MESSAGES, OPTIONS, agent="alice")
    assert choice.text == "WAIT"
    again = await scripted.choose(MESSAGES, OPTIONS, agent="alice")
    assert again.logprobs == choice.logprobs
    by_script = ScriptedEngine({"alice": ["MOVE red_cube"]})
    assert (await by_script.choose(MESSAGES, OPTIONS, agent="alice")).text == "MOVE red_cube"
    with pytest.raises(ScriptExhausted):
        await by_script.choose(MESSAGES, OPTIONS, agent="alice")
    with pytest.raises(BadOptions):
        await ScriptedEngine(["JUMP"]).choose(MESSAGES, OPTIONS, agent="alice")
