"""Chat templates: how a list of messages becomes the prompt text a model was trained on.

The GGUF's own template (`tokenizer.chat_template`, Jinja) wins when the file has one; it is
rendered in a sandbox because a downloaded file is untrusted input. Without one, MiniCPM models get
their built-in format: ChatML for MiniCPM3/4/5 (whose vocabularies have `<|im_start|>` and
`<|im_end|>`) and the `<用户>…<AI>` form for MiniCPM-1/2. Anything else is an error, never
llama-cpp-python's silent fallback to the llama-2 format, which a MiniCPM model does not know.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal, TypedDict

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ioa.llm.errors import InvalidMessages, NoChatTemplate, TemplateError
from ioa.llm.gguf_file import GGUFFacts

__all__ = [
    "CHATML",
    "MINICPM",
    "ChatTemplate",
    "JinjaTemplate",
    "Message",
    "check_messages",
    "select_template",
]

Role = Literal["system", "user", "assistant"]
ROLES: frozenset[str] = frozenset({"system", "user", "assistant"})


class Message(TypedDict):
    role: Role
    content: str


def check_messages(messages: object) -> list[Message]:
    """Return clean copies of `messages`, or raise `InvalidMessages` saying which one is wrong."""
    if not isinstance(messages, list | tuple) or not messages:
        raise InvalidMessages("messages must be a non-empty list of {'role', 'content'} dicts")
    clean: list[Message] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidMessages(f"message {i} is a {type(message).__name__}, not a dict")
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise InvalidMessages(f"message {i} has role {role!r}; use system, user or assistant")
        if not isinstance(content, str):
            raise InvalidMessages(f"message {i} content must be a string")
        clean.append({"role": role, "content": content})
    return clean


class ChatTemplate(ABC):
    """Turns messages into a prompt that ends where the assistant's reply begins."""

    name: str
    stop: tuple[str, ...] = ()
    """Text that ends a reply when the format's end marker is not a special token."""

    @abstractmethod
    def render(self, messages: Sequence[Message]) -> str: ...


class _ChatML(ChatTemplate):
    name = "chatml"
    stop = ("<|im_end|>",)

    def render(self, messages: Sequence[Message]) -> str:
        turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return turns + "<|im_start|>assistant\n"


class _MiniCPMLegacy(ChatTemplate):
    """MiniCPM-1/2: `<用户>question<AI>answer`; a system prompt is plain text in front."""

    name = "minicpm"
    stop = ("<用户>",)

    def render(self, messages: Sequence[Message]) -> str:
        parts = []
        for m in messages:
            text = m["content"].strip()
            parts.append(f"<用户>{text}<AI>" if m["role"] == "user" else text)
        return "".join(parts)


CHATML: ChatTemplate = _ChatML()
MINICPM: ChatTemplate = _MiniCPMLegacy()
BUILT_IN: dict[str, ChatTemplate] = {t.name: t for t in (CHATML, MINICPM)}


def _raise_exception(message: str) -> None:
    raise TemplateError(f"the chat template refused the messages: {message}")


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


class JinjaTemplate(ChatTemplate):
    """A Hugging Face style Jinja chat template, compiled once and rendered in a sandbox."""

    def __init__(self, source: str, *, bos_token: str = "", eos_token: str = "") -> None:
        env = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
        )
        env.globals.update(raise_exception=_raise_exception, strftime_now=_strftime_now)
        env.filters["tojson"] = _tojson
        try:
            self._template = env.from_string(source)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"the chat template does not compile: {exc}") from exc
        self._extra = {"bos_token": bos_token, "eos_token": eos_token}
        self.name = "gguf"
        self.stop = ("<|im_end|>",) if "<|im_end|>" in source else ()

    def render(self, messages: Sequence[Message]) -> str:
        try:
            return self._template.render(
                messages=list(messages), add_generation_prompt=True, **self._extra
            )
        except TemplateError:
            raise
        except Exception as exc:
            raise TemplateError(f"the chat template failed: {exc}") from exc


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


def select_template(
    facts: GGUFFacts, override: str | None = None, *, bos_token: str = "", eos_token: str = ""
) -> ChatTemplate:
    """Pick the template for a model: `override` ("chatml", "minicpm" or Jinja source), else the
    GGUF's own, else a built-in MiniCPM format; raise `NoChatTemplate` rather than guess."""
    if override is not None:
        if override in BUILT_IN:
            return BUILT_IN[override]
        return JinjaTemplate(override, bos_token=bos_token, eos_token=eos_token)
    if facts.chat_template:
        try:
            return JinjaTemplate(facts.chat_template, bos_token=bos_token, eos_token=eos_token)
        except TemplateError as exc:
            raise NoChatTemplate(facts.path, exc.message) from exc
    if facts.chatml_tokens:
        return CHATML
    if facts.arch == "minicpm":
        return MINICPM
    raise NoChatTemplate(facts.path)
