"""The two pure policies: the LRU of KV states within a byte budget, and context trimming."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from ioa.llm import ContextTooSmall, EngineError
from ioa.llm.context import TRIM_BLOCK, fit_messages
from ioa.llm.prefix_cache import KVState, StateCache
from ioa.llm.templates import Message


def state(nbytes: int) -> KVState:
    return KVState(tokens=np.arange(4, dtype=np.intc), data=bytearray(nbytes), nbytes=nbytes)


def test_state_cache_evicts_least_recently_used_within_budget() -> None:
    cache = StateCache(budget_bytes=100)
    cache.put("a", state(40))
    cache.put("b", state(40))
    assert cache.take("a") is not None  # a is resident now, b stays cached
    cache.put("a", state(40))  # a saved again: now the most recent
    cache.put("c", state(40))  # over budget: b, the least recent, goes
    assert "b" not in cache
    assert "a" in cache
    assert "c" in cache
    info = cache.info()
    assert info.bytes_used == 80 <= info.budget_bytes
    assert (info.hits, info.misses, info.evictions) == (1, 0, 1)
    assert cache.take("b") is None
    cache.put("huge", state(101))
    assert "huge" not in cache
    assert cache.info().bytes_used == 80
    cache.budget_bytes = 40
    assert cache.info().entries == 1
    assert "c" in cache
    cache.budget_bytes = 0
    assert cache.info().bytes_used == 0
    with pytest.raises(EngineError):
        StateCache(-1)


def words(messages: Sequence[Message]) -> int:
    """A stand-in tokenizer: one token per word plus 3 per message of template overhead."""
    return sum(len(m["content"].split()) + 3 for m in messages) + 2


def chat(history: int) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": "rules " * 10}]
    for i in range(history):
        role = "user" if i % 2 == 0 else "assistant"
        messages.append({"role": role, "content": f"m{i} " * 5})  # type: ignore[typeddict-item]
    messages.append({"role": "user", "content": "now answer"})
    return messages


def test_a_prompt_that_fits_is_untouched() -> None:
    messages = chat(4)
    fitted = fit_messages(messages, budget=words(messages), count=words)
    assert fitted.messages == messages
    assert (fitted.dropped, fitted.truncated, fitted.tokens) == (0, False, words(messages))


def test_oldest_history_goes_first_in_blocks_system_and_last_stay() -> None:
    messages = chat(20)
    budget = words(messages) - 9  # one message (8 tokens) too many
    fitted = fit_messages(messages, budget=budget, count=words)
    assert fitted.dropped == TRIM_BLOCK
    assert fitted.messages[0] == messages[0]
    assert fitted.messages[-1] == messages[-1]
    assert fitted.messages[1:-1] == messages[1 + TRIM_BLOCK : -1]
    assert fitted.tokens <= budget
    assert not fitted.truncated
    shorter = fit_messages(messages, budget=budget - 8, count=words)
    assert shorter.messages == fitted.messages, "the kept prefix stays stable for a while"


def test_an_oversized_last_message_is_cut_from_its_start() -> None:
    system: Message = {"role": "system", "content": "be brief"}
    last: Message = {"role": "user", "content": " ".join(f"w{i}" for i in range(100))}
    fitted = fit_messages([system, {"role": "user", "content": "old"}, last], 40, words)
    assert fitted.truncated
    assert fitted.dropped == 1
    assert fitted.messages[0] == system
    kept = fitted.messages[-1]["content"]
    assert kept.endswith("w99")
    assert not kept.startswith("w0 ")
    assert fitted.tokens <= 40


def test_then_the_system_text_is_cut_from_its_end() -> None:
    system: Message = {"role": "system", "content": " ".join(f"s{i}" for i in range(50))}
    fitted = fit_messages([system, {"role": "user", "content": "hi"}], 20, words)
    assert fitted.messages[0]["content"].startswith("s0 s1")
    assert fitted.messages[-1]["content"] == ""
    assert fitted.tokens <= 20
    with pytest.raises(ContextTooSmall):
        fit_messages([system, {"role": "user", "content": "hi"}], 5, words)
