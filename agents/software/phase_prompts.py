"""Phase prompts filled in from the run's state, sized to the reader's context window.

The templates live in the company config (prompts are data); this module only decides what
each placeholder shows: the code at the phase's scope, the last lines of history, the notes that
earlier phases produced (`{modality}`, `{comments}`...), each capped so that `{codes}` gets the
rest of the budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.software.config import CompanyConfig, PhaseSpec
from agents.software.config_rules import placeholders
from agents.software.prompt_budget import code_view, history_view, shorten

__all__ = ["NOTE_CHARS", "answer_format", "instruction"]

NOTE_CHARS = 1200
"""Longest note (a review comment, a test report) quoted in a prompt."""
NOT_YET = "(none yet)"


def answer_format(config: CompanyConfig, spec: PhaseSpec) -> str:
    """The sentence that says how to answer (files may be asked for as code fences)."""
    if spec.artifact.kind == "files" and config.answers.code_format == "fences":
        return config.fences
    return config.formats[spec.artifact.kind]


def instruction(
    config: CompanyConfig, spec: PhaseSpec, state: Mapping[str, Any], budget: int
) -> str:
    """The phase prompt plus its answer format, at most `budget` characters."""
    files: dict[str, str] = dict(state.get("files", {}))
    focus: list[str] = list(state.get("focus", [])) or [config.run.entry]
    notes: dict[str, str] = dict(state.get("notes", {}))
    fields: dict[str, str] = {name: NOT_YET for name in config.notes()}
    fields.update({k: shorten(v, NOTE_CHARS) for k, v in notes.items()})
    fields.update(
        task=str(state.get("task", "")),
        file=focus[0] if focus else config.run.entry,
        files=", ".join(sorted(files)) or NOT_YET,
        history=history_view(list(state.get("history", [])), config.context.history_lines),
        entry=config.run.entry,
        test_reports=shorten(notes.get("test_reports", "(not run yet)"), NOTE_CHARS),
        codes="",
    )
    template = spec.prompt + "\n\n" + answer_format(config, spec)
    fields.update(
        choices=", ".join(spec.artifact.choices),
        max_files=str(config.answers.max_files),
        content_chars=str(config.answers.content_chars),
    )
    bare = template.format_map(fields)
    if "codes" in placeholders(spec.prompt):
        fields["codes"] = code_view(files, focus, spec.context, max(0, budget - len(bare)))
    return shorten(template.format_map(fields), max(budget, 0))
