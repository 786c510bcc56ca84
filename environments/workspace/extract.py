"""Pull files out of what a model wrote: grammar-constrained JSON first, fenced code as fallback.

The JSON artifact is `{"files": [{"path": ..., "content": ...}]}` (a bare list, or a
`{"files": {path: content}}` mapping, is accepted too). The fallback reads Markdown fences the
way small models actually write them, and fixes ChatDev's extraction faults: blank lines are
kept, sub-folders are allowed, a `__main__` guard never renames a file, and a file name is
never guessed from a class name. A block's name comes from, in order:

1. the fence's info string: `python main.py`, `main.py`, `python:main.py`, `py title="a/b.py"`;
2. the line just before the fence if it is only a file name: `main.py`, `**main.py**`,
   `### File: main.py`, `` `main.py` ``;
3. a first-line comment that is only a file name: `# main.py`, `# File: utils/io.py`;
4. the last file name in a prose line just before the fence ("Here is the fixed main.py:").

A single unnamed Python block becomes `main.py`. Every path is validated; the unsafe or
unnamed blocks are reported in `rejected`, never written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import BadArtifact, UnsafePath
from .paths import check_relative_path

__all__ = ["Extraction", "Rejected", "extract_files", "files_from_fences", "files_from_json"]

_EXTENSIONS = (
    "py|pyi|txt|md|markdown|rst|json|yaml|yml|toml|cfg|ini|csv|tsv|html|htm|css|js|mjs|ts|tsx|"
    "jsx|sh|bat|xml|sql|c|h|cpp|hpp|cc|java|go|rs|rb|php|kv|svg|in|lock|env"
)
_PATH = re.compile(
    rf"(?<![\w/.\\-])/?(?:[\w.-]+/)*[\w-][\w.-]*\.(?:{_EXTENSIONS})(?![\w-])"
    r"|(?<![\w/.-])(?:Makefile|Dockerfile)(?![\w.-])",
    re.IGNORECASE,
)
_OPEN = re.compile(r"^(?P<indent> {0,8})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*?)\s*$")
_DECORATION = re.compile(r"[*_`#>:\[\]()\"'|-]|\b(?:file(?:name)?|path)\b", re.IGNORECASE)
_COMMENT_NAME = re.compile(
    r"^\s*(?:#|//|--|/\*|<!--)\s*(?:file(?:name)?\s*[:=]\s*)?(?P<path>\S+?)\s*(?:\*/|-->)?\s*$",
    re.IGNORECASE,
)
_PYTHON_LANGS = frozenset({"", "python", "python3", "py", "py3"})
_MARKDOWN_LANGS = frozenset({"markdown", "md"})

Method = Literal["json", "fence", "none"]


@dataclass(frozen=True)
class Rejected:
    """A block or entry that was not turned into a file, and why."""

    path: str | None
    reason: str


@dataclass(frozen=True)
class Extraction:
    """Files found in one model message, in the order they appeared."""

    files: dict[str, str]
    method: Method
    rejected: tuple[Rejected, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def found(self) -> bool:
        return bool(self.files)


def extract_files(text: str, *, default_name: str = "main.py") -> Extraction:
    """JSON artifact if the text is one (bare or in a ```json fence), else fenced code."""
    if not isinstance(text, str):
        raise BadArtifact(f"model output must be text, not {type(text).__name__}")
    candidate = _json_candidate(text)
    if candidate is not None:
        try:
            return files_from_json(candidate)
        except BadArtifact:
            pass
    return files_from_fences(text, default_name=default_name)


def files_from_json(data: str | Mapping[str, Any] | list[Any]) -> Extraction:
    """Files from the grammar-constrained artifact; raises `BadArtifact` on the wrong shape."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise BadArtifact(f"the artifact is not JSON: {exc.msg} at {exc.pos}") from None
    entries: Any = data.get("files") if isinstance(data, Mapping) else data
    if isinstance(entries, Mapping):
        entries = [{"path": path, "content": content} for path, content in entries.items()]
    if not isinstance(entries, list):
        raise BadArtifact('expected {"files": [{"path": ..., "content": ...}]}')
    files: dict[str, str] = {}
    rejected: list[Rejected] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            rejected.append(Rejected(None, f"entry {index} is not an object"))
            continue
        path, content = entry.get("path"), entry.get("content")
        if not isinstance(path, str) or not isinstance(content, str):
            shown = path if isinstance(path, str) else None
            rejected.append(Rejected(shown, f"entry {index} needs string 'path' and 'content'"))
            continue
        _accept(files, rejected, path, content)
    return Extraction(files, "json" if files else "none", tuple(rejected))


def files_from_fences(text: str, *, default_name: str = "main.py") -> Extraction:
    """Files from Markdown code fences (see the module docstring for the naming rules)."""
    if not isinstance(text, str):
        raise BadArtifact(f"model output must be text, not {type(text).__name__}")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks = list(_blocks(lines))
    files: dict[str, str] = {}
    rejected: list[Rejected] = []
    notes: list[str] = []
    named = [block for block in blocks if block.name]
    unnamed_python = [b for b in blocks if not b.name and b.language in _PYTHON_LANGS]
    for block in blocks:
        if not block.content.strip() or block.content.strip() == "CODE":
            rejected.append(Rejected(block.name, "empty or template block"))
            continue
        name = block.name
        if name is None and not named and unnamed_python == [block]:
            name = default_name
            notes.append(f"an unnamed Python block was taken as {default_name}")
        if name is None:
            rejected.append(Rejected(None, f"no file name for a {block.language or 'plain'} block"))
            continue
        if not block.closed:
            notes.append(f"the fence of {name} was never closed; took the text up to the next one")
        if name in files:
            notes.append(f"{name} appeared twice; the later block wins")
        _accept(files, rejected, name, block.content)
    return Extraction(files, "fence" if files else "none", tuple(rejected), tuple(notes))


@dataclass(frozen=True)
class _Block:
    name: str | None
    language: str
    content: str
    closed: bool


def _blocks(lines: list[str]) -> Iterator[_Block]:
    index = 0
    while index < len(lines):
        opened = _OPEN.match(lines[index])
        if opened is None:
            index += 1
            continue
        fence, indent = opened["fence"], len(opened["indent"])
        language, info_name = _parse_info(opened["info"])
        markdown = language in _MARKDOWN_LANGS or (
            info_name is not None and info_name.lower().endswith((".md", ".markdown", ".rst"))
        )
        end, closed = _find_close(lines, index + 1, fence, markdown)
        body = [_dedent(line, indent) for line in lines[index + 1 : end]]
        if not closed:
            if end < len(lines) and _name_before(lines, end):
                body = body[: len(body) - (2 if len(body) > 1 and not body[-1].strip() else 1)]
            while body and not body[-1].strip():
                body.pop()
        content = "\n".join(body) + "\n" if body else ""
        name = info_name or _name_before(lines, index) or _name_in_comment(body)
        name = name or _name_in_prose(lines, index)
        yield _Block(name, language, content, closed)
        index = end + 1 if closed else end


def _parse_info(info: str) -> tuple[str, str | None]:
    """(language, file name) from a fence's info string."""
    tokens = re.split(r"[\s{}]+", info.strip())
    language = ""
    name: str | None = None
    for position, token in enumerate(token for token in tokens if token):
        cleaned = re.sub(r"^(?:title|file(?:name)?|path)=", "", token, flags=re.IGNORECASE)
        cleaned = cleaned.strip("\"'")
        lang, _, rest = cleaned.partition(":")
        if position == 0 and not _PATH.fullmatch(cleaned):
            language = lang.lower().lstrip(".")
            cleaned = rest
        if cleaned and _PATH.fullmatch(cleaned):
            name = cleaned
    return language, name


def _find_close(lines: list[str], start: int, fence: str, markdown: bool) -> tuple[int, bool]:
    """(index of the closing fence, True), or (where the block ends, False) if never closed.

    Markdown files may hold inner fences that open and close. In code, a fence line with an
    info string cannot be content, so it means the model forgot to close the block: the block
    ends there and the next one starts.
    """
    depth = 0
    for index in range(start, len(lines)):
        stripped = lines[index].strip()
        if not stripped.startswith(fence[0] * 3):
            continue
        run = len(stripped) - len(stripped.lstrip(fence[0]))
        rest = stripped[run:].strip()
        if rest and run >= 3 and "`" not in rest:
            if not markdown:
                return index, False
            depth += 1
        elif not rest and run >= len(fence):
            if depth == 0:
                return index, True
            depth -= 1
    return len(lines), False


def _dedent(line: str, indent: int) -> str:
    strip = min(indent, len(line) - len(line.lstrip(" ")))
    return line[strip:]


def _previous_line(lines: list[str], index: int) -> str:
    """The nearest non-blank line above the fence, looking past at most one blank line."""
    for back in (1, 2):
        if index - back >= 0 and lines[index - back].strip():
            return lines[index - back].strip()
    return ""


def _name_before(lines: list[str], index: int) -> str | None:
    line = _previous_line(lines, index)
    found = _PATH.findall(line)
    if len(found) != 1 or _OPEN.match(line):
        return None
    leftover = _DECORATION.sub(" ", line.replace(found[0], " "))
    return found[0] if not re.sub(r"[\s\d.]", "", leftover) else None


def _name_in_prose(lines: list[str], index: int) -> str | None:
    line = _previous_line(lines, index)
    found = _PATH.findall(line)
    return found[-1] if found and not _OPEN.match(line) else None


def _name_in_comment(body: list[str]) -> str | None:
    first = next((line for line in body if line.strip()), "")
    match = _COMMENT_NAME.match(first)
    if match is None or first.lstrip().startswith("#!"):
        return None
    return match["path"] if _PATH.fullmatch(match["path"]) else None


def _json_candidate(text: str) -> str | None:
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        return stripped
    fenced = re.search(r"^```(?:json)?\s*\n(?P<body>[\[{].*?)\n```\s*$", stripped, re.S | re.M)
    if fenced and '"files"' in fenced["body"]:
        return fenced["body"]
    return None


def _accept(files: dict[str, str], rejected: list[Rejected], path: str, content: str) -> None:
    try:
        files[check_relative_path(path)] = content
    except UnsafePath as exc:
        rejected.append(Rejected(path, exc.message))
