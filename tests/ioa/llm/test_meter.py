"""Meters: every call an engine finishes is recorded into the meters open in the calling task,
local and cloud apart, and into no other task's."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ioa.llm import EngineView, ScriptedEngine, load_engine
from ioa.llm.cascade import CascadeEngine
from ioa.llm.remote import Endpoint, RemoteEngine
from ioa.meter import active_meters, metered
from tests.ioa.llm.openai_server import OpenAIServer

ASK = [{"role": "user", "content": "say three words"}]


async def test_a_meter_sums_the_calls_made_inside_it_and_no_others() -> None:
    engine = ScriptedEngine(["zero", "one two three", "four five", "six"])
    await engine.chat(ASK, agent="a")  # before: not in the meter
    with metered() as meter:
        first = await engine.chat(ASK, agent="a")
        second = await engine.chat(ASK, agent="b")
    await engine.chat(ASK, agent="a")  # after: not either
    (line,) = meter.spends("work")
    assert (line.part, line.where, line.calls) == ("work", "local", 2)
    assert line.prompt == line.evaluated == first.prompt_tokens + second.prompt_tokens
    assert line.generated == 3 + 2  # words of the two scripted replies made inside
    assert active_meters() == ()


async def test_meters_nest_and_concurrent_tasks_keep_their_own() -> None:
    engine = ScriptedEngine({"a": ["x"] * 3, "b": ["y y"] * 2})

    async def agent(name: str, calls: int) -> int:
        with metered() as meter:
            for _ in range(calls):
                await engine.chat(ASK, agent=name)
                await asyncio.sleep(0)  # interleave with the other task
        return meter.spends("coordination")[0].generated

    with metered() as outer:
        generated = await asyncio.gather(agent("a", 3), agent("b", 2))
    assert generated == [3, 4]
    assert outer.spends("coordination")[0].calls == 5  # started inside it: both tasks count


async def test_a_choice_counts_its_option_tokens_as_prompt_the_model_ran() -> None:
    engine = ScriptedEngine(["red"])
    with metered() as meter:
        choice = await engine.choose(ASK, ["red", "dark blue"], agent="a")
    (line,) = meter.spends("coordination")
    assert line.prompt == choice.completion.prompt_tokens + 3
    assert line.evaluated == choice.completion.evaluated_prompt_tokens + 3


async def test_a_view_runs_where_its_engine_runs() -> None:
    engine = ScriptedEngine(["ok"])
    view = EngineView(engine, "cell-1")
    with metered() as meter:
        await view.chat(ASK, agent="a")
    assert view.where == "local"
    assert meter.spends("work")[0].calls == 1
    assert RemoteEngine(Endpoint(model="m", base_url="http://127.0.0.1:9/v1")).where == "cloud"


@pytest.mark.llama
async def test_a_cascade_call_is_metered_local_and_cloud_apart(
    tiny_minicpm: Path, cloud: OpenAIServer
) -> None:
    """Real llama.cpp on the device, a real OpenAI-compatible server on loopback as the cloud:
    a reply the local model cannot make valid is escalated, and the meter sees both sides."""
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    async with (
        await load_engine(tiny_minicpm, n_ctx=2048, n_threads=1) as local,
        RemoteEngine(Endpoint(model="tiny-cloud", base_url=cloud.url)) as remote,
    ):
        garbage = ScriptedEngine(["not json"] * 2)
        cascade = CascadeEngine(garbage, remote)
        with metered() as meter:
            await local.chat(ASK, agent="a", max_tokens=4, temperature=0.0)
            await cascade.structured(ASK, agent="a", schema=schema, temperature=0.0)
        lines = {s.where: s for s in meter.spends("work")}
        assert lines["local"].calls == 1 + 2  # the device's reply, the garbage and its repair
        assert lines["cloud"].calls == 1
        assert lines["cloud"].prompt == lines["cloud"].evaluated > 0
        assert lines["cloud"].generated == remote.stats("a").completion_tokens > 0
        assert lines["local"].generated >= local.stats("a").completion_tokens > 0
