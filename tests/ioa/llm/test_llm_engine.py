"""The real engine on tiny random-weight MiniCPM GGUFs: legal moves from noise, agents sharing one
model, prefix reuse, concurrency, cancellation, the context policy, and the bundled SmolLM2."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ioa.llm import (
    Completion,
    ContextTooSmall,
    EngineClosed,
    EngineConfigConflict,
    EngineError,
    InvalidMessages,
    LlamaCppEngine,
    load_engine,
)
from ioa.llm.catalog import bundled_model_path

AGENTS = ["alice", "bob", "carol"]


def moves_schema(speaker: str) -> dict[str, Any]:
    """Legal moves for `speaker`, shaped like a protocol's: discuss with others, or conclude."""
    others = [a for a in AGENTS if a != speaker]
    return {
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    "type": {"const": "discussion"},
                    "to": {
                        "type": "array",
                        "items": {"enum": others},
                        "minItems": 1,
                        "maxItems": 2,
                    },
                    "text": {"type": "string", "minLength": 3, "maxLength": 40},
                },
                "required": ["type", "to", "text"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {
                    "type": {"const": "conclude"},
                    "text": {"type": "string", "maxLength": 40},
                },
                "required": ["type", "text"],
                "additionalProperties": False,
            },
        ]
    }


def is_legal(move: dict[str, Any], speaker: str) -> bool:
    if move["type"] == "conclude":
        return set(move) == {"type", "text"} and len(move["text"]) <= 40
    return (
        move["type"] == "discussion"
        and 1 <= len(move["to"]) <= 2
        and set(move["to"]) <= set(AGENTS) - {speaker}
        and 3 <= len(move["text"]) <= 40
    )


def turn(agent: str, i: int) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": f"You are {agent}. Answer with one legal move as JSON."},
        {"role": "user", "content": f"Turn {i}: what is your move? (émoji 🙂, 中文)"},
    ]


@pytest.mark.llama
@pytest.mark.parametrize("fixture", ["tiny_minicpm", "tiny_minicpm3"])
async def test_noise_model_makes_only_valid_legal_moves(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    calls = 50 if fixture == "tiny_minicpm" else 12
    path: Path = request.getfixturevalue(fixture)
    async with LlamaCppEngine(path, n_threads=1) as engine:
        moves = []
        for i in range(calls):
            speaker = AGENTS[i % 3]
            schema = moves_schema(speaker)
            move, completion = await engine.structured(
                turn(speaker, i), agent=speaker, schema=schema
            )
            jsonschema.validate(move, schema)
            assert is_legal(move, speaker), move
            assert completion.attempts == 1, "grammar and bounds alone must give valid JSON"
            assert completion.finish_reason == "stop"
            moves.append(move)
    assert len(moves) == calls
    assert len({m["type"] for m in moves}) >= 1


def conversation(agent: str, replies: list[str], n: int) -> list[dict[str, str]]:
    """`agent`'s prompt at its turn `n`: a long system prompt, then its own history."""
    messages = [{"role": "system", "content": f"You are {agent}. " + "Rules. " * 60}]
    for i in range(n):
        messages.append({"role": "user", "content": f"question {i} for {agent}"})
        if i < n - 1:
            messages.append({"role": "assistant", "content": replies[i]})
    return messages


@pytest.mark.llama
async def test_switching_agents_keeps_each_agents_prefix(tiny_minicpm: Path) -> None:
    """Interleaved A,B,C,A,B,C... gives each agent exactly what it gets running alone: the same
    sampled replies (seeds follow the agent's own turns) and, once it has a prefix, the same small
    number of evaluated prompt tokens. (A first turn may reuse the previous agent's prefix too.)"""
    turns = 3
    alone: dict[str, list[Completion]] = {}
    for agent in AGENTS:
        async with LlamaCppEngine(tiny_minicpm, n_threads=1) as engine:
            done: list[Completion] = []
            for n in range(1, turns + 1):
                messages = conversation(agent, [c.text for c in done], n)
                done.append(await engine.chat(messages, agent=agent, max_tokens=8, temperature=1))
            alone[agent] = done
    together: dict[str, list[Completion]] = {a: [] for a in AGENTS}
    async with LlamaCppEngine(tiny_minicpm, n_threads=1) as engine:
        for n in range(1, turns + 1):
            for agent in AGENTS:
                messages = conversation(agent, [c.text for c in together[agent]], n)
                reply = await engine.chat(messages, agent=agent, max_tokens=8, temperature=1)
                together[agent].append(reply)
        assert engine.cache_info().hits == len(AGENTS) * (turns - 1)
    for agent in AGENTS:
        assert [c.text for c in together[agent]] == [c.text for c in alone[agent]]
        for mine, theirs in zip(together[agent][1:], alone[agent][1:], strict=True):
            assert mine.prompt_tokens == theirs.prompt_tokens
            assert mine.evaluated_prompt_tokens == theirs.evaluated_prompt_tokens
            assert mine.evaluated_prompt_tokens < mine.prompt_tokens / 3


@pytest.mark.llama
async def test_state_budget_evicts_least_recently_used(tiny_minicpm: Path) -> None:
    async with LlamaCppEngine(tiny_minicpm, n_threads=1, state_budget_mb=0.15, slots=1) as engine:
        first = {}
        for agent in AGENTS:
            first[agent] = await engine.chat(conversation(agent, [], 1), agent=agent, max_tokens=4)
        info = engine.cache_info()
        assert info.evictions >= 1
        assert info.bytes_used <= info.budget_bytes
        again = await engine.chat(conversation("alice", ["x"], 2), agent="alice", max_tokens=4)
        assert again.evaluated_prompt_tokens > again.prompt_tokens / 2, "alice was evicted"
        await engine.set_state_budget(64)
        await engine.chat(conversation("bob", [], 1), agent="bob", max_tokens=4)
        back = await engine.chat(conversation("alice", ["x", "y"], 3), agent="alice", max_tokens=4)
        assert back.evaluated_prompt_tokens < back.prompt_tokens / 3


@pytest.mark.llama
async def test_concurrent_callers_get_the_replies_they_get_one_at_a_time(
    tiny_minicpm: Path,
) -> None:
    """Calls of different agents are batched, one agent's calls run in arrival order; the replies
    are those of serial calls. Only first turns differ in cost: served together, they cannot
    reuse a prefix the others have not read yet."""
    requests = [(AGENTS[i % 3], turn(AGENTS[i % 3], i)) for i in range(12)]
    async with LlamaCppEngine(tiny_minicpm, n_threads=1) as engine:
        gathered = await asyncio.gather(
            *(engine.chat(m, agent=a, max_tokens=12, temperature=0) for a, m in requests)
        )
        assert engine.stats().calls == 12
        assert sum(engine.stats(a).calls for a in AGENTS) == 12
    async with LlamaCppEngine(tiny_minicpm, n_threads=1) as engine:
        sequential = [
            await engine.chat(m, agent=a, max_tokens=12, temperature=0) for a, m in requests
        ]
    assert [c.text for c in gathered] == [c.text for c in sequential]
    assert [c.evaluated_prompt_tokens for c in gathered[3:]] == [
        c.evaluated_prompt_tokens for c in sequential[3:]
    ]


LONG = {
    "type": "object",
    "properties": {"essay": {"type": "string", "minLength": 1500, "maxLength": 1600}},
    "required": ["essay"],
    "additionalProperties": False,
}


@pytest.mark.llama
async def test_the_event_loop_runs_while_the_model_thinks(engine: LlamaCppEngine) -> None:
    ticks = 0
    call = asyncio.create_task(
        engine.chat(turn("alice", 0), agent="alice", schema=LONG, max_tokens=1800)
    )
    while not call.done():
        ticks += 1
        await asyncio.sleep(0)
    completion = await call
    assert completion.completion_tokens >= 1500
    assert ticks > 10


@pytest.mark.llama
async def test_cancelling_a_call_stops_generation_and_the_engine_goes_on(
    engine: LlamaCppEngine,
) -> None:
    call = asyncio.create_task(
        engine.chat(turn("alice", 0), agent="alice", schema=LONG, max_tokens=1800)
    )
    await asyncio.sleep(0.05)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    after = await engine.chat(turn("bob", 1), agent="bob", max_tokens=5)
    assert after.completion_tokens <= 5
    cancelled = engine.stats("alice")
    assert cancelled.calls in (0, 1)  # 0 if it was cancelled before it started
    assert cancelled.completion_tokens < 1500


@pytest.mark.llama
async def test_stats_sum_every_call_per_agent(engine: LlamaCppEngine) -> None:
    done = [await engine.chat(turn(a, i), agent=a, max_tokens=6) for i, a in enumerate(AGENTS * 2)]
    for agent in AGENTS:
        mine = [c for c, a in zip(done, AGENTS * 2, strict=True) if a == agent]
        stats = engine.stats(agent)
        assert stats.calls == 2
        assert stats.prompt_tokens == sum(c.prompt_tokens for c in mine)
        assert stats.evaluated_prompt_tokens == sum(c.evaluated_prompt_tokens for c in mine)
        assert stats.completion_tokens == sum(c.completion_tokens for c in mine)
    assert engine.stats().calls == 6
    assert all(c.seconds >= c.prompt_seconds > 0 for c in done)


@pytest.mark.llama
async def test_a_prompt_longer_than_the_window_is_trimmed_not_fatal(tiny_minicpm: Path) -> None:
    async with LlamaCppEngine(tiny_minicpm, n_ctx=256, n_threads=1) as engine:
        history = [{"role": "system", "content": "You are alice, the planner."}]
        for i in range(40):
            history.append(
                {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i} " * 6}
            )
        history.append({"role": "user", "content": "the last question"})
        completion = await engine.chat(history, agent="alice", max_tokens=16)
        assert completion.dropped_messages > 0
        assert completion.prompt_tokens <= 256 - 16
        huge = [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "word " * 3000},
        ]
        completion = await engine.chat(huge, agent="bob", max_tokens=16)
        assert completion.prompt_tokens <= 256 - 16
    async with LlamaCppEngine(tiny_minicpm, n_ctx=16, n_threads=1) as tiny_window:
        with pytest.raises(ContextTooSmall):
            await tiny_window.chat(turn("alice", 0), agent="alice", max_tokens=8)


@pytest.mark.llama
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"messages": [], "agent": "a"}, InvalidMessages),
        ({"messages": [{"role": "robot", "content": "x"}], "agent": "a"}, InvalidMessages),
        ({"messages": [{"role": "user", "content": 3}], "agent": "a"}, InvalidMessages),
        ({"messages": "hello", "agent": "a"}, InvalidMessages),
        ({"messages": [{"role": "user", "content": "x"}], "agent": ""}, EngineError),
        (
            {"messages": [{"role": "user", "content": "x"}], "agent": "a", "max_tokens": 0},
            EngineError,
        ),
        (
            {"messages": [{"role": "user", "content": "x"}], "agent": "a", "temperature": -1},
            EngineError,
        ),
    ],
)
async def test_bad_calls_raise_typed_errors(
    engine: LlamaCppEngine, kwargs: dict[str, Any], error: type[EngineError]
) -> None:
    with pytest.raises(error):
        await engine.chat(**kwargs)
    ok = await engine.chat(
        [{"role": "user", "content": "\x00\x07 \u2028 🙂 中文"}], agent="a", max_tokens=4
    )
    assert ok.prompt_tokens > 0


@pytest.mark.llama
async def test_load_engine_shares_one_model_per_file(tiny_minicpm: Path, tmp_path: Path) -> None:
    link = tmp_path / "same.gguf"
    link.symlink_to(tiny_minicpm)
    first = await load_engine(tiny_minicpm, n_threads=1)
    second = await load_engine(link)
    try:
        assert second is first
        with pytest.raises(EngineConfigConflict):
            await load_engine(tiny_minicpm, n_ctx=first.n_ctx + 64)
        await second.close()
        assert not first.closed, "one user closing must not close it for the other"
        await first.chat(turn("alice", 0), agent="alice", max_tokens=2)
    finally:
        await first.close()
    assert first.closed
    with pytest.raises(EngineClosed):
        await first.chat(turn("alice", 0), agent="alice", max_tokens=2)
    third = await load_engine(tiny_minicpm, n_threads=1)
    assert third is not first
    await third.close()


@pytest.mark.llama
async def test_bundled_smollm2_is_the_default_and_answers_in_structure(models_home: Path) -> None:
    engine = await load_engine(n_threads=1)
    try:
        assert engine.path.resolve() == bundled_model_path().resolve()  # type: ignore[union-attr]
        assert engine.facts.arch == "llama"
        assert engine.template_name == "gguf"
        schema = {
            "type": "object",
            "properties": {
                "answer": {"enum": ["yes", "no"]},
                "reason": {"type": "string", "maxLength": 40},
            },
            "required": ["answer", "reason"],
            "additionalProperties": False,
        }
        messages = [{"role": "user", "content": "Is Paris the capital of France? Reply in JSON."}]
        value, completion = await engine.structured(messages, agent="asker", schema=schema)
        jsonschema.validate(value, schema)
        assert completion.completion_tokens > 0
        reply = await engine.chat(
            [{"role": "user", "content": "Say hello."}], agent="greeter", max_tokens=8
        )
        assert reply.text.strip()
        assert "<|im_end|>" not in reply.text
    finally:
        await engine.close()
