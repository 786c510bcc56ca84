"""Continuous batching on real llama.cpp (tiny random-weight MiniCPM GGUFs): replies under batching
are the replies of serial decoding, token for token, whoever shares the passes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from ioa.llm import Completion, ContextTooSmall, LlamaCppEngine, OptionsTooLong

AGENTS = [f"agent{i}" for i in range(6)]
MOVE = {
    "type": "object",
    "properties": {
        "to": {"enum": AGENTS},
        "text": {"type": "string", "maxLength": 24},
    },
    "required": ["to", "text"],
    "additionalProperties": False,
}
ESSAY = {
    "type": "object",
    "properties": {"essay": {"type": "string", "minLength": 1500, "maxLength": 1600}},
    "required": ["essay"],
    "additionalProperties": False,
}


def prompt(agent: str, history: list[str]) -> list[dict[str, str]]:
    """A shared rulebook first (the copyable prefix), then the agent's own role and history."""
    messages = [
        {"role": "system", "content": "Rules of the group. " * 20 + f"You are {agent}."},
        {"role": "user", "content": f"Your first move, {agent}?"},
    ]
    for i, reply in enumerate(history):
        messages += [
            {"role": "assistant", "content": reply},
            {"role": "user", "content": f"Move {i + 2}, {agent}?"},
        ]
    return messages


def settings(agent: str) -> dict[str, Any]:
    """Each agent its own mix: grammar or free text, greedy or sampled, its own length."""
    i = AGENTS.index(agent)
    constrained = i % 2 == 0
    return {
        "schema": MOVE if constrained else None,
        "temperature": 0.0 if i % 3 != 2 else 1.0,
        "max_tokens": 80 if constrained else 6 + 5 * i,  # a move always closes its JSON
    }


async def dialog(engine: LlamaCppEngine, agent: str, turns: int) -> list[Completion]:
    done: list[Completion] = []
    for _ in range(turns):
        messages = prompt(agent, [c.text for c in done])
        done.append(await engine.chat(messages, agent=agent, **settings(agent)))
    return done


@pytest.mark.llama
async def test_batched_replies_are_the_serial_replies_token_for_token(tiny_minicpm: Path) -> None:
    """Six agents, three turns each, on four slots: sequences join and leave mid-way (different
    lengths, a second wave starting while the first generates), agents beyond the slots wait
    and get their prefix back from the state cache, grammars and temperatures differ per agent.
    The reference decodes one call at a time on a single slot."""
    turns = 3
    async with LlamaCppEngine(tiny_minicpm, n_threads=1, slots=1) as serial:
        alone = {agent: await dialog(serial, agent, turns) for agent in AGENTS}
    async with LlamaCppEngine(tiny_minicpm, n_threads=1, slots=4) as batched:
        first_wave = [asyncio.create_task(dialog(batched, a, turns)) for a in AGENTS[:3]]
        await asyncio.sleep(0.01)
        second_wave = [asyncio.create_task(dialog(batched, a, turns)) for a in AGENTS[3:]]
        together = dict(zip(AGENTS, await asyncio.gather(*first_wave, *second_wave), strict=True))
        info = batched.batch_info()
        cache = batched.cache_info()
    assert info.sampled > info.passes, "no pass ever decoded two sequences"
    assert cache.hits >= len(AGENTS), "later turns found their agent's prefix"
    for agent in AGENTS:
        mine, theirs = together[agent], alone[agent]
        assert [c.text for c in mine] == [c.text for c in theirs], agent
        assert [c.completion_tokens for c in mine] == [c.completion_tokens for c in theirs]
        assert all(c.evaluated_prompt_tokens < c.prompt_tokens / 2 for c in mine[1:]), agent
        if settings(agent)["schema"] is not None:
            for c in mine:
                move = json.loads(c.text)
                assert move["to"] in AGENTS
                assert len(move["text"]) <= 24


@pytest.mark.llama
async def test_a_shared_rulebook_is_copied_between_sequences(tiny_minicpm: Path) -> None:
    """An agent without a prefix of its own starts from another slot's copy of the shared part,
    and replies exactly as it does reading everything itself."""
    async with LlamaCppEngine(tiny_minicpm, n_threads=1, slots=2) as engine:
        await engine.chat(prompt("agent0", []), agent="agent0", max_tokens=4, temperature=0)
        copied = await engine.chat(prompt("agent1", []), agent="agent1", max_tokens=12)
    async with LlamaCppEngine(tiny_minicpm, n_threads=1, slots=2) as engine:
        fresh = await engine.chat(prompt("agent1", []), agent="agent1", max_tokens=12)
    assert fresh.evaluated_prompt_tokens == fresh.prompt_tokens
    assert copied.evaluated_prompt_tokens < copied.prompt_tokens / 2
    assert copied.text == fresh.text


@pytest.mark.llama
async def test_cancelling_frees_the_slot_for_the_next_call(tiny_minicpm: Path) -> None:
    async with LlamaCppEngine(tiny_minicpm, n_threads=1, slots=1) as engine:
        essay = asyncio.create_task(
            engine.chat(prompt("agent0", []), agent="agent0", schema=ESSAY, max_tokens=1800)
        )
        queued = asyncio.create_task(engine.chat(prompt("agent1", []), agent="agent1"))
        for _ in range(3000):  # until the essay decodes and the other call waits for its slot
            info = engine.batch_info()
            if info.waiting and info.passes >= 3:
                break
            await asyncio.sleep(0.01)
        queued.cancel()  # still waiting for the only slot
        essay.cancel()  # decoding
        for task in (queued, essay):
            with pytest.raises(asyncio.CancelledError):
                await task
        after = await engine.chat(prompt("agent2", []), agent="agent2", max_tokens=5)
        assert after.completion_tokens <= 5
        info = engine.batch_info()
        assert (info.active, info.waiting) == (0, 0)
        assert engine.stats("agent1").calls == 0, "a call that never started costs nothing"
        assert 0 < engine.stats("agent0").completion_tokens < 1500


@pytest.mark.llama
async def test_a_request_larger_than_the_context_gets_the_typed_error(tiny_minicpm: Path) -> None:
    """While other calls decode: a prompt whose chat template alone exceeds the window (ten system
    messages) and options too long for it fail with today's errors, and nothing else does."""
    too_many = [{"role": "system", "content": f"rule {i}"} for i in range(10)]
    async with LlamaCppEngine(tiny_minicpm, n_ctx=64, n_threads=1, slots=2) as engine:
        others = [
            asyncio.create_task(
                engine.chat([{"role": "user", "content": "hi"}], agent=f"x{i}", max_tokens=4)
            )
            for i in range(2)
        ]
        with pytest.raises(ContextTooSmall):
            await engine.chat([*too_many, {"role": "user", "content": "hi"}], agent="agent0")
        with pytest.raises(OptionsTooLong):
            await engine.choose(
                [{"role": "user", "content": "hi"}], ["word " * 40, "no"], agent="agent1"
            )
        assert all(c.completion_tokens >= 1 for c in await asyncio.gather(*others))


@pytest.mark.llama
@pytest.mark.parametrize("fixture", ["tiny_minicpm", "tiny_minicpm3"])
async def test_eight_agents_think_at_once_on_one_model(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """Eight agents on four slots, each three structured turns and a choice, all at once."""
    path: Path = request.getfixturevalue(fixture)
    names = [f"agent{i}" for i in range(8)]

    async def agent(name: str) -> list[Any]:
        moves = []
        for _ in range(3):
            messages = prompt(name, [json.dumps(m) for m in moves])
            move, _ = await engine.structured(messages, agent=name, schema=MOVE)
            moves.append(move)
        choice = await engine.choose(prompt(name, []), ["yes", "no", "later"], agent=name)
        return [*moves, choice.text]

    async with LlamaCppEngine(path, n_threads=1, slots=4) as engine:
        results = await asyncio.gather(*(agent(n) for n in names))
        for name, (*moves, choice) in zip(names, results, strict=True):
            assert all(m["to"] in AGENTS and len(m["text"]) <= 24 for m in moves)
            assert choice in ("yes", "no", "later")
            assert engine.stats(name).calls == 4
        info = engine.batch_info()
        assert (info.active, info.waiting, info.slots) == (0, 0, 4)
        assert info.sampled > info.passes
