"""`RemoteEngine` against a real OpenAI-compatible server (`llama_cpp.server` on a tiny GGUF),
and against loopback endpoints that misbehave (too slow, not JSON, not a completion)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from ioa.llm import EngineError, StructuredOutputError
from ioa.llm.errors import RemoteRefused, RemoteReplyInvalid, RemoteTimeout, RemoteUnavailable
from ioa.llm.remote import Endpoint, RemoteEngine, parse_endpoint
from tests.ioa.llm.openai_server import (
    OpenAIServer,
    free_port,
    misbehaving_endpoints,
)

pytestmark = pytest.mark.llama

MOVE = {
    "type": "object",
    "properties": {"type": {"enum": ["pass", "conclude"]}, "text": {"type": "string"}},
    "required": ["type", "text"],
    "additionalProperties": False,
}


def test_a_remote_model_is_written_openai_model_at_url() -> None:
    endpoint = parse_endpoint("openai:gpt-4o-mini@https://api.example.com/v1")
    assert (endpoint.model, endpoint.base_url) == ("gpt-4o-mini", "https://api.example.com/v1")
    assert parse_endpoint("openai:m@http://127.0.0.1:8000").base_url == "http://127.0.0.1:8000/v1"
    assert parse_endpoint("openai:org/m@x@http://h:1/v1").model == "org/m@x"
    for bad in ["gpt@http://h/v1", "openai:@http://h/v1", "openai:m@ftp://h", "openai:m"]:
        with pytest.raises(EngineError, match="openai:MODEL@URL"):
            parse_endpoint(bad)


async def test_chat_through_a_real_endpoint_is_accounted_with_its_cost(
    cloud: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IOA_TEST_KEY", "sk-test")
    endpoint = parse_endpoint(
        f"openai:tiny-cloud@{cloud.url}", key_env="IOA_TEST_KEY", price_in=1.0, price_out=2.0
    )
    async with RemoteEngine(endpoint) as engine:
        reply = await engine.chat([{"role": "user", "content": "hello"}], agent="a", max_tokens=4)
        stats = engine.stats("a")
    assert reply.finish_reason in ("stop", "length")
    assert stats.calls == 1
    assert stats.prompt_tokens > 0
    assert 0 < stats.completion_tokens <= 4
    expected = (stats.prompt_tokens * 1.0 + stats.completion_tokens * 2.0) / 1e6
    assert stats.cost == pytest.approx(expected)


async def test_structured_output_negotiates_the_endpoints_schema_support(
    cloud: OpenAIServer,
) -> None:
    async with RemoteEngine(parse_endpoint(f"openai:tiny-cloud@{cloud.url}")) as engine:
        value, _ = await engine.structured(
            [{"role": "user", "content": "your move"}], agent="a", schema=MOVE, temperature=0.0
        )
        # llama_cpp.server refuses OpenAI's json_schema, and enforces json_object's schema
        assert engine.schema_mode == "json_object"
    assert value["type"] in ("pass", "conclude")


async def test_without_schema_support_the_repair_loop_judges_the_reply(
    cloud: OpenAIServer,
) -> None:
    endpoint = parse_endpoint(f"openai:tiny-cloud@{cloud.url}", schema_mode="prompt")
    async with RemoteEngine(endpoint) as engine:
        with pytest.raises(StructuredOutputError, match="did not match the schema, twice"):
            await engine.structured(
                [{"role": "user", "content": "your move"}], agent="a", schema=MOVE, max_tokens=8
            )
        assert engine.stats("a").calls == 2  # the reply and its repair attempt


@pytest.fixture
async def misbehaving() -> AsyncIterator[str]:
    async with misbehaving_endpoints() as url:
        yield url


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("slow", RemoteTimeout, "did not answer within 0.5 s"),
        ("not-json", RemoteReplyInvalid, "not JSON: '<html>bad gateway"),
        ("not-completion", RemoteReplyInvalid, "not a chat completion"),
        ("unauthorised", RemoteRefused, "refused \\(401\\): invalid api key"),
        ("broken", RemoteUnavailable, "failed \\(503\\): overloaded"),
    ],
)
async def test_a_misbehaving_endpoint_is_a_clear_error(
    misbehaving: str, path: str, error: type[Exception], message: str
) -> None:
    endpoint = Endpoint(model="m", base_url=f"{misbehaving}/{path}/v1", timeout=0.5)
    async with RemoteEngine(endpoint) as engine:
        with pytest.raises(error, match=message):
            await engine.chat([{"role": "user", "content": "hi"}], agent="a")


async def test_invalid_json_from_the_remote_fails_after_the_repair(misbehaving: str) -> None:
    endpoint = Endpoint(model="m", base_url=f"{misbehaving}/invalid-move/v1")
    async with RemoteEngine(endpoint) as engine:
        with pytest.raises(StructuredOutputError) as caught:
            await engine.structured([{"role": "user", "content": "go"}], agent="a", schema=MOVE)
    assert caught.value.texts == ('{"type": "dance"', '{"type": "dance"')


async def test_an_endpoint_nobody_listens_on_is_unavailable() -> None:
    endpoint = Endpoint(model="m", base_url=f"http://127.0.0.1:{free_port()}/v1")
    async with RemoteEngine(endpoint) as engine:
        with pytest.raises(RemoteUnavailable, match="Cannot connect"):
            await engine.chat([{"role": "user", "content": "hi"}], agent="a")
    assert json.dumps(engine.stats("a").calls) == "0"
