"""Writing one file per model call, compiled before it is accepted, chosen by the sandbox.

A 135M model cannot hold a whole program, its tests and a JSON envelope in one answer; it can
often write one short file in a code block. So, with `levers.file_scoped`, a files phase asks
for its target files one at a time, each prompt holding only that file's scope (its purpose, its
current text, the signatures of the other files). Each answer is compiled (`compile()`); on a
syntax error the model is told the line and the message and writes the file again, at most
`levers.syntax_retries` times. For the entry file, up to `levers.candidates` versions are
written and the first the sandbox runs is kept. A file that does not compile never replaces one
that does, and with `levers.keep_running` an entry file that runs is only replaced by one that
runs too. Every model call and sandbox run is counted in `FileOutcome`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agents.software.config import CompanyConfig, PhaseSpec
from agents.software.prompt_budget import shorten
from ioa.llm import Completion

__all__ = [
    "Complete",
    "FileOutcome",
    "Probe",
    "Scoped",
    "SyntaxProblem",
    "code_block",
    "syntax_problem",
    "targets",
    "write_file",
]

Probe = Callable[[dict[str, str]], Awaitable[bool]]
"""Runs the project (path → content) in the sandbox: does the entry file run?"""
Complete = Callable[[list[dict[str, str]], float], Awaitable[Completion]]
"""One model call of the assistant: messages and temperature in, completion out."""

RenderFile = Callable[[str, dict[str, str], int], str]
"""Builds one file's prompt: its path, the project so far, the characters it may take."""

ANSWER_CHARS = 1200
"""Longest failed answer quoted back with its syntax error."""

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[ \t]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)


@dataclass(frozen=True)
class Scoped:
    """A files phase run file by file: which files, the project as it stands, how each file's
    prompt is built, and the sandbox probe for the entry file (None: no sandbox lever)."""

    targets: list[str]
    files: dict[str, str]
    render: RenderFile
    probe: Probe | None


@dataclass(frozen=True)
class SyntaxProblem:
    """Why a Python file does not compile, as the model is told it."""

    line: int
    message: str
    text: str
    """The offending line, stripped."""


def syntax_problem(path: str, source: str) -> SyntaxProblem | None:
    """None when `source` compiles (or is not a Python file), else where and why it fails."""
    if not path.endswith(".py"):
        return None
    if not source.strip():
        return SyntaxProblem(1, "the file is empty", "")
    try:
        with warnings.catch_warnings():  # a model's odd-but-valid code is not our warning
            warnings.simplefilter("ignore")
            compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        number = exc.lineno or 1
        lines = source.splitlines()
        text = lines[number - 1].strip() if 0 < number <= len(lines) else ""
        return SyntaxProblem(number, exc.msg or "invalid syntax", text[:200])
    except ValueError as exc:
        return SyntaxProblem(1, str(exc), "")
    return None


def code_block(text: str) -> str:
    """The code of an answer: its first fenced block (the closing fence may be cut off), else
    the whole answer."""
    match = _FENCE.search(text)
    code = match.group(2) if match else text
    return code.strip("\n") + "\n" if code.strip() else ""


def targets(config: CompanyConfig, spec: PhaseSpec, focus: list[str]) -> list[str]:
    """The files a file-scoped phase writes: the loop's focus (Python files), else the phase's
    own list, else the entry file; at most `levers.max_files`."""
    chosen = [f for f in focus if f.endswith(".py")] or list(spec.files) or [config.run.entry]
    return list(dict.fromkeys(chosen))[: config.levers.max_files]


@dataclass
class FileOutcome:
    """One file written under the levers, with what it cost."""

    path: str
    content: str | None
    """The accepted text; None when the earlier version (or nothing) is kept."""
    calls: int = 0
    syntax_retries: int = 0
    candidates: int = 0
    sandbox_runs: int = 0
    compiles: bool = False
    runs: bool | None = None
    """Whether the sandbox ran the accepted entry file; None when it was not asked."""
    note: str = ""
    completions: list[Completion] = field(default_factory=list)

    def stats(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "accepted": self.content is not None,
            "compiles": self.compiles,
            "runs": self.runs,
            "calls": self.calls,
            "syntax_retries": self.syntax_retries,
            "candidates": self.candidates,
            "sandbox_runs": self.sandbox_runs,
            "note": self.note,
        }

    def reply(self) -> str:
        """What the assistant says on the hub for this file."""
        if self.content is None:
            return f"{self.path}: {self.note}"
        return f"{self.path}\n```python\n{self.content}```"


async def write_file(
    complete: Complete,
    config: CompanyConfig,
    *,
    system: str,
    instruction: str,
    path: str,
    files: dict[str, str],
    probe: Probe | None,
) -> FileOutcome:
    """Write `path` under the levers; `files` is the project as it stands (not changed)."""
    levers = config.levers
    outcome = FileOutcome(path, None)
    is_entry = path == config.run.entry
    judge = probe if is_entry else None
    count = levers.candidates if judge is not None else 1
    compiling: str | None = None
    failing: str | None = None
    for number in range(count):
        heat = config.answers.temperature if number == 0 else levers.candidate_temperature
        code, problem = await _attempts(complete, config, outcome, system, instruction, path, heat)
        outcome.candidates += 1
        if problem is not None:
            failing = failing or code
            continue
        compiling = compiling or code
        if judge is None:
            break
        outcome.sandbox_runs += 1
        if await judge({**files, path: code}):
            outcome.content, outcome.compiles, outcome.runs = code, True, True
            outcome.note = "runs"
            return outcome
    return await _settle(config, outcome, files, compiling, failing, judge)


async def _attempts(
    complete: Complete,
    config: CompanyConfig,
    outcome: FileOutcome,
    system: str,
    instruction: str,
    path: str,
    heat: float,
) -> tuple[str, SyntaxProblem | None]:
    """One candidate: the first answer, then a retry per syntax error while retries last."""
    chat = [{"role": "system", "content": system}, {"role": "user", "content": instruction}]
    code, problem = "", None
    for attempt in range(config.levers.syntax_retries + 1):
        completion = await complete(chat, heat)
        outcome.calls += 1
        outcome.completions.append(completion)
        code = code_block(completion.text)
        problem = syntax_problem(path, code)
        if problem is None or attempt == config.levers.syntax_retries:
            break
        outcome.syntax_retries += 1
        told = config.syntax_retry.format(
            file=path, line=problem.line, message=problem.message, text=problem.text
        )
        said = shorten(completion.text, ANSWER_CHARS) or "(nothing)"
        chat = [
            *chat[:2],
            {"role": "assistant", "content": said},
            {"role": "user", "content": told},
        ]
    return code, problem


async def _settle(
    config: CompanyConfig,
    outcome: FileOutcome,
    files: dict[str, str],
    compiling: str | None,
    failing: str | None,
    judge: Probe | None,
) -> FileOutcome:
    """No candidate ran (or none was run): accept the first that compiles, else the last that
    does not, unless that would replace a better earlier version."""
    current = files.get(outcome.path)
    current_compiles = current is not None and syntax_problem(outcome.path, current) is None
    if compiling is None:
        if current_compiles:
            outcome.note = "no version compiled; the earlier one is kept"
            return outcome
        if failing is None or not failing.strip():
            outcome.note = "no code was written"
            return outcome
        outcome.content, outcome.note = failing, "does not compile (no retry left)"
        return outcome
    if judge is not None and config.levers.keep_running and current_compiles and current:
        outcome.sandbox_runs += 1
        if await judge(files):
            outcome.runs = True
            outcome.note = "no new version ran; the earlier one, which runs, is kept"
            return outcome
    outcome.content, outcome.compiles = compiling, True
    outcome.runs = False if judge is not None else None
    outcome.note = "compiles" + (", does not run" if judge is not None else "")
    return outcome
