"""What an assistant hands back, decoded under a JSON-Schema grammar, with tolerant fallbacks.

Each artifact kind has a bounded schema, so the local model can only write the right shape:
files are `{"files": [{"path", "content"}]}` with a path pattern that admits no absolute path and
no stray characters; a verdict is `done` or `changes` with a comment; a choice is one of the
configured options. Grammar strings are capped at 512 characters by the engine, so a longer file
arrives as several entries with the same path, joined here in order.

Each answer is one constrained attempt. When it does not validate (e.g. cut off at the token
cap), its raw text is read the tolerant way: a JSON artifact or Markdown fences (the
`environments.workspace` extraction), complete file entries salvaged from truncated JSON, a
verdict or a choice found in prose. A reply that yields nothing usable says why in `problem`,
which the instructor passes back. A Python file that was cut off by a length cap (the answer's
token cap, or the grammar's cap on one string) loses its unfinished last lines if that is what
it takes to parse.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from agents.software.config import Answers, ArtifactKind, ArtifactSpec
from environments.workspace import UnsafePath, check_relative_path, extract_files
from ioa.llm import Completion, Engine, prepare_schema
from ioa.llm.structured import ReplyInvalid, parse_reply

__all__ = [
    "PATH_PATTERN",
    "Answer",
    "Artifact",
    "Decision",
    "artifact_schema",
    "ask",
    "decide",
    "decision_schema",
    "decode_text",
    "decode_value",
    "trim_cut_code",
]

PATH_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,63}$"
"""File paths the grammar allows: relative, plain characters, at most 64 long (the workspace
still checks each one: no `..`, no reserved names)."""
PACKAGE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-\[\],<>=!~ ]{0,59}$"
COMMENT_MAX = 400
REASON_MAX = 200
TEXT_MAX = 500
MAX_PACKAGES = 16
TRIM_LINES = 40
"""Most trailing lines dropped from a cut-off Python file to make it parse."""

Method = Literal["json", "fence", "salvage", "text", "none"]

_DONE = re.compile(r"<INFO>\s*finished|\b(?:done|finished|approved?|lgtm)\b", re.IGNORECASE)
_ENTRY = re.compile(r'\{\s*"path"\s*:')
_PACKAGE_LINE = re.compile(
    r"^\s*[-*]?\s*([A-Za-z0-9][A-Za-z0-9._\-]*(?:\[[\w,]+\])?(?:[<>=!~]=?[\w.*]+)?)\s*$"
)


@dataclass(frozen=True)
class Artifact:
    """A decoded answer. `value` is normalised per kind:

    files `{"files": {path: content}}`; verdict `{"done": bool, "comment": str}`; choice
    `{"choice": str, "reason": str}`; text and document `{"text": str}`; packages
    `{"packages": [str]}`.
    """

    kind: ArtifactKind
    value: dict[str, Any]
    method: Method
    problem: str | None = None
    """Why the answer cannot be used; None when it can."""
    rejected: tuple[str, ...] = field(default=())
    """Files refused (unsafe paths), as `path: reason`."""
    trimmed: tuple[str, ...] = field(default=())
    """Python files whose cut-off last lines were dropped so that they parse."""

    @property
    def usable(self) -> bool:
        return self.problem is None

    def wire(self) -> str:
        """The text the assistant sends to the hub: compact JSON, or the document itself."""
        if self.kind == "document":
            return str(self.value.get("text", ""))
        return json.dumps(self.value, ensure_ascii=False, separators=(",", ":"))

    def summary(self) -> str:
        """One line for the run's history."""
        if not self.usable:
            return f"no usable answer ({self.problem})"
        value = self.value
        if self.kind == "files":
            wrote = ", ".join(f"{p} ({len(c)} chars)" for p, c in value["files"].items())
            cut = f" (cut-off tail dropped: {', '.join(self.trimmed)})" if self.trimmed else ""
            return f"wrote {wrote}{cut}"
        if self.kind == "verdict":
            state = "done" if value["done"] else "changes"
            return f"{state}: {_one_line(value['comment'], 160)}"
        if self.kind == "choice":
            return f"chose {value['choice']}"
        if self.kind == "packages":
            return "packages: " + (", ".join(value["packages"]) or "none")
        return _one_line(str(value.get("text", "")), 160)


@dataclass(frozen=True)
class Answer:
    """An artifact and the completions that produced it (for token accounting)."""

    artifact: Artifact
    completions: tuple[Completion, ...] = ()


@dataclass(frozen=True)
class Decision:
    """The instructor's judgement of an answer."""

    accept: bool
    comment: str
    completion: Completion | None = None


def artifact_schema(spec: ArtifactSpec, answers: Answers) -> dict[str, Any]:
    """The bounded JSON Schema the assistant's answer is decoded under (not for documents)."""
    kind = spec.kind
    if kind == "files":
        entry = _object(
            path={"type": "string", "pattern": PATH_PATTERN},
            content={"type": "string", "maxLength": answers.content_chars},
        )
        items = {"type": "array", "items": entry, "minItems": 1, "maxItems": answers.max_files}
        return _object(files=items)
    if kind == "verdict":
        return _object(
            comment={"type": "string", "maxLength": COMMENT_MAX},
            verdict={"enum": ["done", "changes"]},
        )
    if kind == "choice":
        return _object(
            reason={"type": "string", "maxLength": REASON_MAX}, choice={"enum": spec.choices}
        )
    if kind == "text":
        return _object(text={"type": "string", "maxLength": TEXT_MAX})
    if kind == "packages":
        item = {"type": "string", "pattern": PACKAGE_PATTERN}
        return _object(packages={"type": "array", "items": item, "maxItems": MAX_PACKAGES})
    raise ValueError(f"a {kind} artifact is free text, it has no schema")


def decision_schema() -> dict[str, Any]:
    return _object(
        comment={"type": "string", "maxLength": COMMENT_MAX},
        decision={"enum": ["accept", "revise"]},
    )


def _object(**properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _tokens(spec: ArtifactSpec, answers: Answers) -> int:
    return int(getattr(answers, spec.kind))


async def ask(
    engine: Engine,
    *,
    agent: str,
    messages: list[dict[str, str]],
    spec: ArtifactSpec,
    answers: Answers,
) -> Answer:
    """One answer from the assistant's model, decoded; never raises for a bad reply."""
    free = spec.kind == "document" or (spec.kind == "files" and answers.code_format == "fences")
    if free:
        completion = await engine.chat(
            messages,
            agent=agent,
            max_tokens=_tokens(spec, answers),
            temperature=answers.temperature,
        )
        decoded = decode_text(spec, completion.text)
        if completion.finish_reason == "length":
            decoded = trim_cut_code(decoded, lambda path, text: True)
        return Answer(decoded, (completion,))
    schema = artifact_schema(spec, answers)
    value, completion, reason = await _constrained(
        engine, agent, messages, schema, _tokens(spec, answers), answers.temperature
    )
    cut_off = completion.finish_reason == "length"

    def was_cut(path: str, text: str) -> bool:
        """Cut at the token cap, or at the grammar's cap on one content string."""
        return cut_off or len(text) % answers.content_chars == 0

    if value is not None:
        return Answer(trim_cut_code(decode_value(spec, value), was_cut), (completion,))
    tolerant = trim_cut_code(decode_text(spec, completion.text), was_cut)
    if tolerant.usable:
        return Answer(tolerant, (completion,))
    return Answer(
        Artifact(spec.kind, {}, "none", f"the reply was not valid: {reason}"), (completion,)
    )


async def decide(
    engine: Engine, *, agent: str, messages: list[dict[str, str]], answers: Answers
) -> Decision:
    """The instructor's accept-or-revise; a reply that does not decode counts as accept."""
    value, completion, _ = await _constrained(
        engine, agent, messages, decision_schema(), answers.decision, answers.temperature
    )
    if value is None:
        return Decision(True, "", completion)
    return Decision(value["decision"] == "accept", str(value["comment"]), completion)


async def _constrained(
    engine: Engine,
    agent: str,
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    max_tokens: int,
    temperature: float,
) -> tuple[Any, Completion, str | None]:
    """One grammar-constrained attempt: (value or None, completion, why it is invalid).

    Not `engine.structured`: its repair attempt re-sends the prompt plus the failed answer,
    which overflows a window budgeted for one answer and doubles the time on a CPU. A phase
    retries in the conversation instead (its next turn says what was wrong).
    """
    completion = await engine.chat(
        messages, agent=agent, schema=schema, max_tokens=max_tokens, temperature=temperature
    )
    try:
        return parse_reply(completion.text, prepare_schema(schema)), completion, None
    except ReplyInvalid as exc:
        reason = exc.reason
        if completion.finish_reason == "length":
            reason = f"it was cut off after {max_tokens} tokens"
        return None, completion, reason


def trim_cut_code(artifact: Artifact, was_cut: Callable[[str, str], bool]) -> Artifact:
    """Drop the unfinished last lines of Python files that were cut off and do not parse.

    A reply stopped by a length cap ends mid-statement, which makes the whole file a syntax
    error; the complete part before it is the model's work and may well run. At most
    `TRIM_LINES` lines go, and only from a file that parses after.
    """
    if artifact.kind != "files" or not artifact.usable:
        return artifact
    files = dict(artifact.value["files"])
    trimmed = []
    for path, text in files.items():
        if path.endswith(".py") and was_cut(path, text) and not _parses(text):
            shorter = _trim(text)
            if shorter is not None:
                files[path] = shorter
                trimmed.append(path)
    if not trimmed:
        return artifact
    return replace(artifact, value={"files": files}, trimmed=tuple(trimmed))


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


def _trim(text: str) -> str | None:
    lines = text.rstrip("\n").split("\n")
    for drop in range(1, min(TRIM_LINES, len(lines) - 1) + 1):
        candidate = "\n".join(lines[:-drop]) + "\n"
        if candidate.strip() and _parses(candidate):
            return candidate
    return None


def decode_value(spec: ArtifactSpec, value: dict[str, Any]) -> Artifact:
    """Normalise a schema-valid value."""
    kind = spec.kind
    if kind == "files":
        return _files(value.get("files", []), "json")
    if kind == "verdict":
        done = value["verdict"] == "done"
        return Artifact(kind, {"done": done, "comment": str(value["comment"])}, "json")
    if kind == "choice":
        if value["choice"] not in spec.choices:
            raise ValueError(f"{value['choice']!r} is not one of {spec.choices}")
        return Artifact(
            kind, {"choice": value["choice"], "reason": str(value.get("reason", ""))}, "json"
        )
    if kind == "text":
        return _text(kind, str(value["text"]), "json")
    packages = [p.strip() for p in value["packages"] if p.strip()]
    return Artifact(kind, {"packages": list(dict.fromkeys(packages))}, "json")


def decode_text(spec: ArtifactSpec, text: str) -> Artifact:
    """The tolerant reading of a reply that is not (valid) JSON for its schema."""
    kind = spec.kind
    if kind == "document":
        return _text(kind, text.strip(), "text")
    data = _json(text)
    if isinstance(data, dict):
        try:
            return decode_value(spec, data)
        except (KeyError, TypeError, AttributeError, ValueError):
            pass
    if kind == "files":
        return _files_from_text(text)
    if kind == "verdict":
        done = bool(_DONE.search(text))
        return Artifact(kind, {"done": done, "comment": _one_line(text, COMMENT_MAX)}, "text")
    if kind == "choice":
        lowered = text.lower()
        found = next((c for c in spec.choices if c.lower() in lowered), None)
        if found is None:
            return Artifact(kind, {}, "none", f"none of {spec.choices} was chosen")
        return Artifact(kind, {"choice": found, "reason": _one_line(text, REASON_MAX)}, "text")
    if kind == "packages":
        names = [m[1] for line in text.splitlines() if (m := _PACKAGE_LINE.match(line))]
        return Artifact(kind, {"packages": list(dict.fromkeys(names))}, "text")
    return _text(kind, text.strip()[:TEXT_MAX], "text")


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def _text(kind: ArtifactKind, text: str, method: Method) -> Artifact:
    if not text.strip():
        return Artifact(kind, {"text": ""}, "none", "the answer was empty")
    return Artifact(kind, {"text": text}, method)


def _files(entries: Any, method: Method) -> Artifact:
    """Join entries by path (in order), keep the safe ones, say why none is usable."""
    files: dict[str, str] = {}
    rejected: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        path, content = entry.get("path"), entry.get("content")
        if not isinstance(path, str) or not isinstance(content, str):
            continue
        try:
            rel = check_relative_path(path)
        except UnsafePath as exc:
            rejected.append(f"{path}: {exc.message}")
            continue
        files[rel] = files.get(rel, "") + content
    files = {path: text for path, text in files.items() if text.strip()}
    problem = None if files else "it held no file with content"
    if rejected and not files:
        problem = "every file was refused: " + "; ".join(rejected)
    return Artifact(
        "files", {"files": files}, method if files else "none", problem, tuple(rejected)
    )


def _files_from_text(text: str) -> Artifact:
    extraction = extract_files(text)
    if extraction.found:
        method: Method = "json" if extraction.method == "json" else "fence"
        rejected = tuple(f"{r.path}: {r.reason}" for r in extraction.rejected if r.path)
        return Artifact("files", {"files": extraction.files}, method, None, rejected)
    salvaged = _files(_salvage_entries(text), "salvage")
    if salvaged.usable:
        return salvaged
    reasons = sorted({r.reason for r in extraction.rejected})
    problem = "it held no file (neither JSON nor named code blocks)"
    if reasons:
        problem = (
            f"it held no usable file ({'; '.join(reasons)}): "
            "name each file on the line before its code block"
        )
    return Artifact("files", {"files": {}}, "none", problem)


def _salvage_entries(text: str) -> list[dict[str, Any]]:
    """Complete `{"path": ..., "content": ...}` objects from JSON that was cut off."""
    decoder = json.JSONDecoder()
    found = []
    for match in _ENTRY.finditer(text):
        try:
            entry, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            found.append(entry)
    return found


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
