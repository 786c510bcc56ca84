"""`RemoteEngine`: an `Engine` backed by any OpenAI-compatible chat endpoint (the "cloud" side).

`--model openai:MODEL@URL` names one: `URL` is the API base (`https://api.openai.com/v1`, or a
`llama_cpp.server`, vLLM or Ollama on loopback), the key comes from an environment variable
(`OPENAI_API_KEY` unless told otherwise), never from the command line.

Structured output goes through the endpoint's own support, negotiated once per engine: OpenAI's
`response_format: {"type": "json_schema"}` first; an endpoint that refuses it is asked with
llama.cpp's and vLLM's `{"type": "json_object", "schema": ...}`; one that refuses that too gets
the schema in the prompt. Whatever the mode, `Engine.structured` validates the reply and makes
its one repair attempt, so a remote that writes invalid JSON ends in `StructuredOutputError`
like a local one. Transport failures are `RemoteError`s: `RemoteUnavailable` (refused, reset,
5xx), `RemoteTimeout`, `RemoteRefused` (4xx), `RemoteReplyInvalid` (not a chat completion).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp

from ioa.llm.accounting import Completion
from ioa.llm.engine import Engine, Request
from ioa.llm.errors import (
    EngineError,
    RemoteRefused,
    RemoteReplyInvalid,
    RemoteTimeout,
    RemoteUnavailable,
)
from protocols.usage import Where

__all__ = ["PREFIX", "Endpoint", "RemoteEngine", "SchemaMode", "parse_endpoint"]

PREFIX = "openai:"
SchemaMode = Literal["json_schema", "json_object", "prompt"]
MODES: tuple[SchemaMode, ...] = ("json_schema", "json_object", "prompt")
SCHEMA_PROMPT = "Reply with JSON only, valid for this JSON Schema:\n{schema}"
BODY_MAX = 4 * 1024 * 1024
"""Largest response body read from an endpoint: a chat completion is far smaller."""


@dataclass(frozen=True)
class Endpoint:
    """Where the remote model is, how to pay for it, and how long to wait for it."""

    model: str
    base_url: str
    """The API base; requests go to `{base_url}/chat/completions`."""
    key_env: str = "OPENAI_API_KEY"
    """The environment variable holding the bearer key (unset: no Authorization header)."""
    price_in: float = 0.0
    """Price of a million prompt tokens, for cost accounting."""
    price_out: float = 0.0
    """Price of a million completion tokens."""
    timeout: float = 60.0
    """Seconds one request may take, connection included."""
    schema_mode: SchemaMode | None = None
    """Force a structured-output mode instead of negotiating it."""

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.model}@{self.base_url}"


def parse_endpoint(spec: str, **settings: Any) -> Endpoint:
    """`openai:MODEL@URL` as an `Endpoint`; `EngineError` saying what is wrong otherwise."""
    if not spec.startswith(PREFIX):
        raise EngineError(f"a remote model is written {PREFIX}MODEL@URL, not {spec!r}")
    model, at, url = spec[len(PREFIX) :].rpartition("@")
    parts = urlsplit(url)
    if not at or not model or parts.scheme not in ("http", "https") or not parts.netloc:
        raise EngineError(
            f"{spec!r}: write {PREFIX}MODEL@URL with an http(s) URL, e.g. "
            f"{PREFIX}gpt-4o-mini@https://api.openai.com/v1"
        )
    base = url.rstrip("/")
    if parts.path in ("", "/"):
        base += "/v1"
    return Endpoint(model=model, base_url=base, **settings)


class RemoteEngine(Engine):
    """A chat endpoint as an `Engine` (see the module docstring). It cannot score options."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__()
        self.endpoint = endpoint
        self.schema_mode: SchemaMode = endpoint.schema_mode or "json_schema"
        """The structured-output mode in use; lowered when the endpoint refuses one."""
        self._negotiable = endpoint.schema_mode is None
        self._session: aiohttp.ClientSession | None = None

    @property
    def where(self) -> Where:
        return "cloud"

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.endpoint.timeout)
            )
        return self._session

    async def close(self) -> None:
        await super().close()
        if self._session is not None:
            await self._session.close()

    async def _complete(self, request: Request) -> Completion:
        started = time.perf_counter()
        while True:
            mode = self.schema_mode
            try:
                body = await self._post(self._payload(request, mode))
                break
            except RemoteRefused as exc:
                refused_format = "response_format" in str(exc) or "json_schema" in str(exc)
                if not (self._negotiable and request.schema is not None and refused_format):
                    raise
                if mode == self.schema_mode:  # a concurrent call may have lowered it already
                    self.schema_mode = MODES[MODES.index(mode) + 1]
        return self._completion(body, time.perf_counter() - started)

    def _payload(self, request: Request, mode: SchemaMode) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [dict(m) for m in request.messages]
        payload: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.schema is None:
            return payload
        schema = request.schema.bounded
        if mode == "json_schema":
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema},
            }
        elif mode == "json_object":
            payload["response_format"] = {"type": "json_object", "schema": schema}
        else:
            hint = SCHEMA_PROMPT.format(schema=json.dumps(schema, separators=(",", ":")))
            messages.append({"role": "system", "content": hint})
        return payload

    async def _post(self, payload: dict[str, Any]) -> Any:
        url = f"{self.endpoint.base_url}/chat/completions"
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.endpoint.key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            async with self._http().post(url, json=payload, headers=headers) as response:
                raw = await response.content.read(BODY_MAX + 1)
                status = response.status
        except TimeoutError:
            raise RemoteTimeout(
                f"{self.endpoint.name} did not answer within {self.endpoint.timeout:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise RemoteUnavailable(f"{self.endpoint.name}: {exc or type(exc).__name__}") from None
        text = raw[:BODY_MAX].decode("utf-8", "replace")
        if status >= 400:
            detail = _error_detail(text)
            # llama_cpp.server answers a request it cannot parse with 500 naming the field
            if 400 <= status < 500 or "response_format" in detail:
                raise RemoteRefused(f"{self.endpoint.name} refused ({status}): {detail}")
            raise RemoteUnavailable(f"{self.endpoint.name} failed ({status}): {detail}")
        if len(raw) > BODY_MAX:
            raise RemoteReplyInvalid(f"{self.endpoint.name}: reply over {BODY_MAX} bytes")
        try:
            return json.loads(text)
        except ValueError:
            raise RemoteReplyInvalid(
                f"{self.endpoint.name} answered something that is not JSON: {text[:120]!r}"
            ) from None

    def _completion(self, body: Any, seconds: float) -> Completion:
        try:
            choice = body["choices"][0]
            content = choice["message"].get("content") or ""
            if not isinstance(content, str):
                raise TypeError("content is not text")
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise RemoteReplyInvalid(
                f"{self.endpoint.name} answered JSON that is not a chat completion ({exc})"
            ) from None
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        prompt_tokens = _count(usage.get("prompt_tokens"))
        completion_tokens = _count(usage.get("completion_tokens"))
        cost = (
            prompt_tokens * self.endpoint.price_in + completion_tokens * self.endpoint.price_out
        ) / 1e6
        return Completion(
            text=content,
            prompt_tokens=prompt_tokens,
            evaluated_prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            seconds=seconds,
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            cost=cost,
        )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _error_detail(text: str) -> str:
    """The endpoint's error message (OpenAI's `{"error": {"message"}}`), else the body's start."""
    try:
        body = json.loads(text)
        message = body["error"]["message"] if isinstance(body["error"], dict) else body["error"]
        return str(message)[:300]
    except (ValueError, KeyError, TypeError):
        return text[:300]
