"""Is the generated code finished? Judged by syntax tree and tokens, not by substring.

ChatDev scored a project 0 if any line contained "pass" or "todo" (so `password` and `except:
pass` counted as unfinished, and `...` stubs did not). Here a function is unfinished when its
body is only `pass`, `...` and/or a docstring, or when it raises `NotImplementedError`;
abstract methods, `@overload`s and `Protocol` members are exempt. `TODO`/`FIXME`/`XXX` are found
in real comments with `tokenize`, never inside strings.

The score is the share of finished units, where a unit is a function or a file (a file is
unfinished if it does not parse, is empty, or carries a TODO comment).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from .errors import NotText
from .workspace import Workspace

__all__ = ["CompletenessReport", "Finding", "FindingKind", "check_source", "completeness"]

FindingKind = Literal["stub", "not_implemented", "todo", "syntax_error", "empty_file", "no_code"]

_MARKER = re.compile(r"\b(TODO|FIXME|XXX)\b")
_EXEMPT_DECORATORS = frozenset({"abstractmethod", "overload", "abstractproperty"})
_PROTOCOL_BASES = frozenset({"Protocol"})


@dataclass(frozen=True)
class Finding:
    """One reason the code is not finished, at `path:line`."""

    path: str
    line: int
    kind: FindingKind
    detail: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class CompletenessReport:
    """Findings over every `.py` file, and the share of finished units."""

    files: tuple[str, ...]
    units: int
    unfinished_units: int
    findings: tuple[Finding, ...]

    @property
    def score(self) -> float:
        return (self.units - self.unfinished_units) / self.units if self.units else 0.0

    @property
    def complete(self) -> bool:
        return bool(self.files) and not self.findings

    def to_dict(self) -> dict[str, object]:
        return {
            "complete": self.complete,
            "score": round(self.score, 4),
            "files": list(self.files),
            "units": self.units,
            "unfinished_units": self.unfinished_units,
            "findings": [str(finding) for finding in self.findings],
        }


def completeness(source: Workspace | Mapping[str, str | bytes]) -> CompletenessReport:
    """Check every `.py` file of a workspace (or of a path → content mapping)."""
    if isinstance(source, Workspace):
        paths = [path for path in source.files() if path.endswith(".py")]
        contents: dict[str, str | bytes] = {path: source.read_bytes(path) for path in paths}
    else:
        contents = {path: text for path, text in source.items() if path.endswith(".py")}
    findings: list[Finding] = []
    units = unfinished = 0
    for path in sorted(contents):
        file_units, file_unfinished, file_findings = check_source(path, contents[path])
        units += file_units
        unfinished += file_unfinished
        findings += file_findings
    if not contents:
        findings.append(Finding("", 0, "no_code", "the project has no Python file"))
    return CompletenessReport(tuple(sorted(contents)), units, unfinished, tuple(findings))


def check_source(path: str, source: str | bytes) -> tuple[int, int, list[Finding]]:
    """(units, unfinished units, findings) for one file."""
    try:
        text = source.decode("utf-8") if isinstance(source, bytes) else source
    except UnicodeDecodeError:
        raise NotText(f"{path} is not UTF-8") from None
    if not text.strip():
        return 1, 1, [Finding(path, 1, "empty_file", "the file is empty")]
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        detail = f"does not parse: {exc.msg}"
        return 1, 1, [Finding(path, exc.lineno or 1, "syntax_error", detail)]
    functions = list(_functions(tree))
    findings = [finding for node in functions if (finding := _unfinished(path, node))]
    todos = list(_todo_comments(path, text))
    ordered = sorted(findings + todos, key=lambda finding: finding.line)
    return 1 + len(functions), len(findings) + (1 if todos else 0), ordered


def _functions(
    node: ast.AST, in_protocol: bool = False
) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function that must have a real body (exempt ones skipped), depth first."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef):
            yield from _functions(child, _is_protocol(child))
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            if not in_protocol and not _is_exempt(child):
                yield child
            yield from _functions(child)
        else:
            yield from _functions(child, in_protocol)


def _unfinished(path: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Finding | None:
    if _raises_not_implemented(node):
        detail = f"{node.name}() raises NotImplementedError"
        return Finding(path, node.lineno, "not_implemented", detail)
    body = node.body
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        body = body[1:] if isinstance(first.value.value, str) else body
    if all(_is_placeholder(statement) for statement in body):
        detail = f"{node.name}() has no body (pass, ... or a docstring)"
        return Finding(path, node.lineno, "stub", detail)
    return None


def _raises_not_implemented(node: ast.AST) -> bool:
    """A `raise NotImplementedError` in this function, not counting nested functions."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        if _is_function(child) or isinstance(child, ast.ClassDef):
            continue
        if isinstance(child, ast.Raise) and child.exc is not None:
            target = child.exc.func if isinstance(child.exc, ast.Call) else child.exc
            if _name(target) == "NotImplementedError":
                return True
        stack.extend(ast.iter_child_nodes(child))
    return False


def _is_placeholder(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Pass):
        return True
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and statement.value.value is Ellipsis
    )


def _is_function(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)


def _is_exempt(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(_name(decorator) in _EXEMPT_DECORATORS for decorator in node.decorator_list)


def _is_protocol(node: ast.ClassDef) -> bool:
    return any(_name(base) in _PROTOCOL_BASES for base in node.bases)


def _name(node: ast.AST) -> str:
    """`foo` for `foo`, `a.b.foo` and `foo(...)`-less forms; '' otherwise."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _todo_comments(path: str, text: str) -> Iterator[Finding]:
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT and _MARKER.search(token.string):
                yield Finding(path, token.start[0], "todo", token.string.strip()[:120])
    except (tokenize.TokenError, SyntaxError):
        return
