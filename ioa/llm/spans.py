"""Arguments that must come from the context: the spans of a text an argument may take.

A small model asked for "the number in the goal" or "an object in view" invents values. When an
argument must be copied from the context, the context's spans of the right kind become the
argument's only legal values: an `enum` in its JSON Schema (hence a grammar), or the options of
`Engine.choose`. Numbers are kept as written ("17", "-2.5"), names are identifiers as observations
print them (`blue_square`, `panel3`, `Alice`).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from ioa.llm.errors import EngineError

__all__ = ["SpanKind", "context_spans", "span_schema"]

SpanKind = Literal["number", "name", "word"]

_PATTERNS: dict[str, re.Pattern[str]] = {
    "number": re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*[A-Za-z_])"),
    "name": re.compile(
        r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b|\b[A-Za-z]+\d+\b|\b[A-Z][a-z]+\b"
    ),
    "word": re.compile(r"\b[A-Za-z][A-Za-z0-9_'-]*\b"),
}


def context_spans(text: str, kind: SpanKind, *, exclude: frozenset[str] = frozenset()) -> list[str]:
    """The distinct spans of `kind` in `text`, in order of first appearance.

    `name` finds identifiers with an underscore or a trailing number (`red_cube`, `panel2`) and
    capitalised words (robot names); `number` finds integers and decimals not glued to letters.
    """
    pattern = _PATTERNS.get(kind)
    if pattern is None:
        raise EngineError(f"no span kind {kind!r}; the kinds are {', '.join(_PATTERNS)}")
    found = dict.fromkeys(m.group(0) for m in pattern.finditer(text))
    return [span for span in found if span not in exclude]


def span_schema(spans: list[str], *, as_number: bool = False) -> dict[str, Any]:
    """A JSON Schema whose only values are `spans` (numbers when `as_number`)."""
    if not spans:
        raise EngineError("no span of the context fits this argument")
    values: list[Any] = [float(s) if "." in s else int(s) for s in spans] if as_number else spans
    return {"enum": list(dict.fromkeys(values))}
