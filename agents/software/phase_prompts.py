"""Phase prompts filled in from the run's state, sized to the reader's context window.

The templates live in the company config (prompts are data); this module only decides what
each placeholder shows: the code at the phase's scope, the last lines of history, the notes that
earlier phases produced (`{modality}`, `{comments}`...), each capped so that `{codes}` gets the
rest of the budget.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any, Literal

from agents.software.config import CompanyConfig, PhaseSpec
from agents.software.config_rules import placeholders
from agents.software.prompt_budget import code_view, history_view, outline, shorten

__all__ = ["NOTE_CHARS", "answer_format", "file_instruction", "instruction", "purpose"]

NOTE_CHARS = 1200
"""Longest note (a review comment, a test report) quoted in a prompt."""
NOT_YET = "(none yet)"
NEW_FILE = "(a new file)"
NO_OTHERS = "(no other file)"


def answer_format(config: CompanyConfig, spec: PhaseSpec) -> str:
    """The sentence that says how to answer (files may be asked for as code fences)."""
    if spec.artifact.kind == "files" and config.answers.code_format == "fences":
        return config.fences
    return config.formats[spec.artifact.kind]


def instruction(
    config: CompanyConfig, spec: PhaseSpec, state: Mapping[str, Any], budget: int
) -> str:
    """The phase prompt plus its answer format, at most `budget` characters."""
    focus: list[str] = list(state.get("focus", [])) or [config.run.entry]
    fields = _fields(config, spec, state, focus)
    template = spec.prompt + "\n\n" + answer_format(config, spec)
    return _render(template, fields, dict(state.get("files", {})), focus, spec, budget)


def purpose(config: CompanyConfig, path: str) -> str:
    """What `path` is for, in the words of `config.purposes`."""
    name = path.rsplit("/", 1)[-1]
    if path == config.run.entry:
        kind: Literal["entry", "tests", "module"] = "entry"
    elif name.startswith("test_") or name.endswith("_test.py"):
        kind = "tests"
    else:
        kind = "module"
    args = " ".join(shlex.quote(a) for a in config.run.args) or "no arguments"
    return config.purposes[kind].format(file=path, entry=config.run.entry, example=args)


def file_instruction(
    config: CompanyConfig,
    spec: PhaseSpec,
    state: Mapping[str, Any],
    path: str,
    files: Mapping[str, str],
    budget: int,
) -> str:
    """One file's prompt (`spec.file_prompt` plus `config.scoped_format`): the file's purpose,
    its current text and the signatures of the other files, at most `budget` characters."""
    fields = _fields(config, spec, {**state, "files": dict(files)}, [path])
    others = [p for p in sorted(files) if p != path and p.endswith(".py")]
    scope = "\n".join(f"{p}:\n{outline(p, files[p])}" for p in others) or NO_OTHERS
    fields.update(
        purpose=purpose(config, path),
        example=" ".join(shlex.quote(a) for a in config.run.args) or "no arguments",
        scope=shorten(scope, NOTE_CHARS),
        code="",
    )
    template = (spec.file_prompt or spec.prompt) + "\n\n" + config.scoped_format
    bare = template.format_map(fields)
    current = files.get(path)
    room = max(0, budget - len(bare))
    fields["code"] = shorten(current, room) if current is not None else NEW_FILE
    return _render(template, fields, dict(files), [path], spec, budget)


def _fields(
    config: CompanyConfig, spec: PhaseSpec, state: Mapping[str, Any], focus: list[str]
) -> dict[str, str]:
    files: dict[str, str] = dict(state.get("files", {}))
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
    fields.update(
        choices=", ".join(spec.artifact.choices),
        max_files=str(config.answers.max_files),
        content_chars=str(config.answers.content_chars),
    )
    return fields


def _render(
    template: str,
    fields: dict[str, str],
    files: dict[str, str],
    focus: list[str],
    spec: PhaseSpec,
    budget: int,
) -> str:
    bare = template.format_map(fields)
    if "codes" in placeholders(template):
        fields["codes"] = code_view(files, focus, spec.context, max(0, budget - len(bare)))
    return shorten(template.format_map(fields), max(budget, 0))
