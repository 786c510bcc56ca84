"""Chat templates: the GGUF's own, MiniCPM built-ins without one, never a silent llama-2."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ioa.llm import LlamaCppEngine, NoChatTemplate, TemplateError, inspect_gguf
from ioa.llm.templates import CHATML, MINICPM, JinjaTemplate, select_template

MESSAGES = [
    {"role": "system", "content": "You are a planner."},
    {"role": "user", "content": "Plan a trip."},
    {"role": "assistant", "content": "Where to?"},
    {"role": "user", "content": "Paris."},
]
CHATML_TEXT = (
    "<|im_start|>system\nYou are a planner.<|im_end|>\n"
    "<|im_start|>user\nPlan a trip.<|im_end|>\n"
    "<|im_start|>assistant\nWhere to?<|im_end|>\n"
    "<|im_start|>user\nParis.<|im_end|>\n"
    "<|im_start|>assistant\n"
)


def test_the_gguf_template_renders_chatml(tiny_minicpm: Path) -> None:
    template = select_template(inspect_gguf(tiny_minicpm))
    assert template.name == "gguf"
    assert template.render(MESSAGES) == CHATML_TEXT
    assert CHATML.render(MESSAGES) == CHATML_TEXT


def test_minicpm_without_a_template_gets_a_built_in_format(tiny_minicpm3_no_template: Path) -> None:
    facts = inspect_gguf(tiny_minicpm3_no_template)
    assert facts.chat_template is None
    assert select_template(facts) is CHATML
    legacy = replace(facts, arch="minicpm", chatml_tokens=False)
    assert select_template(legacy) is MINICPM
    assert (
        MINICPM.render(MESSAGES)
        == "You are a planner.<用户>Plan a trip.<AI>Where to?<用户>Paris.<AI>"
    )
    with pytest.raises(NoChatTemplate, match=str(facts.path)):
        select_template(replace(facts, arch="llama", chatml_tokens=False))
    assert select_template(replace(facts, arch="llama"), "minicpm") is MINICPM


@pytest.mark.llama
async def test_engine_on_a_template_less_minicpm3_uses_chatml(
    tiny_minicpm3_no_template: Path,
) -> None:
    async with LlamaCppEngine(tiny_minicpm3_no_template, n_threads=1) as engine:
        reply = await engine.chat(MESSAGES, agent="a", max_tokens=3)
        assert engine.template_name == "chatml"
        assert reply.prompt_tokens > 20


def test_templates_are_sandboxed_and_their_failures_typed() -> None:
    hostile = JinjaTemplate("{{ messages.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateError):
        hostile.render(MESSAGES)
    refusing = JinjaTemplate("{{ raise_exception('only user turns') }}")
    with pytest.raises(TemplateError, match="only user turns"):
        refusing.render(MESSAGES)
    with pytest.raises(TemplateError, match="compile"):
        JinjaTemplate("{% for m in messages %}")
    bos = JinjaTemplate("{{ bos_token }}{{ messages[0]['content'] | tojson }}", bos_token="<s>")
    assert bos.render([{"role": "user", "content": "é"}]) == '<s>"é"'
