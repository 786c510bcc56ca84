"""Text shown to people: `Name` and `Text`, strings that cannot rewrite the screen showing them.

Agent names, descriptions, skill tags, group names and goals end up in terminals, logs, the
dashboard and other agents' prompts. A control character there is an attack, not content: an
escape sequence (ESC) repaints or retitles a terminal, NUL and CR cut or overwrite log lines, and
the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069) make text read otherwise
than it is stored (the "Trojan Source" trick). So the edge refuses them, with one rule kept here:

- `Name` (names, tags, short facts): no control character at all;
- `Text` (descriptions, goals): tab and newline are allowed, the rest is refused alike.

Refused everywhere: C0 controls (U+0000–U+001F), DEL (U+007F), C1 controls (U+0080–U+009F), the
bidi overrides and isolates, and lone surrogates (U+D800–U+DFFF; pydantic already refuses them in
JSON and in Python strings, the check keeps the rule whole for any other caller).
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, Field

__all__ = ["Name", "Text", "check_name", "check_text", "scrub", "unsafe_character"]

_CONTROLS: Final = "\x00-\x1f\x7f-\x9f"
_BIDI: Final = "\u202a-\u202e\u2066-\u2069"
_SURROGATES: Final = "\ud800-\udfff"
_LINES: Final = "\t\n"
"""The only controls `Text` keeps: the ones that lay out a paragraph without hiding anything."""

_UNSAFE_IN_NAME = re.compile(f"[{_CONTROLS}{_BIDI}{_SURROGATES}]")
_UNSAFE_IN_TEXT = re.compile(f"(?![{_LINES}])[{_CONTROLS}{_BIDI}{_SURROGATES}]")

# The same rule for other implementations, in the wire schema. JSON Schema patterns match UTF-16
# code units, where a surrogate range would refuse every emoji, so surrogates are left to JSON
# itself (a lone one is not valid text there).
_NAME_PATTERN: Final = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]*$"
_TEXT_PATTERN: Final = (
    "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]*$"
)


def unsafe_character(text: str, *, lines: bool = False) -> tuple[int, str] | None:
    """The index and the first character of `text` that may not be shown to people, or None.

    With `lines`, tab and newline are fine (a description); without, nothing is (a name).
    """
    found = (_UNSAFE_IN_TEXT if lines else _UNSAFE_IN_NAME).search(text)
    return None if found is None else (found.start(), found.group())


def check_name(value: str) -> str:
    """`value` unchanged, or `ValueError` naming the first control character and where it is."""
    return _checked(value, lines=False)


def check_text(value: str) -> str:
    """Like `check_name`, but tab and newline are allowed (descriptions, goals)."""
    return _checked(value, lines=True)


def scrub(value: str) -> str:
    """`value` made fit to show on one line: tab and newline become spaces, every other refused
    character U+FFFD. The result is a valid `Name` and a valid `Text`: for a name made from free
    text (a group named after its goal), or text stored before this rule."""
    return _UNSAFE_IN_NAME.sub(lambda m: " " if m.group() in _LINES else "\ufffd", value)


def _checked(value: str, *, lines: bool) -> str:
    found = unsafe_character(value, lines=lines)
    if found is None:
        return value
    index, char = found
    allowed = "no control characters but tab and newline" if lines else "no control characters"
    raise ValueError(f"{_describe(char)} at index {index}; text shown to people takes {allowed}")


def _describe(char: str) -> str:
    """What kind of refused character this is (it is one of them: see `unsafe_character`)."""
    point = ord(char)
    if point >= 0xD800:
        kind = "a lone surrogate"
    elif point >= 0x202A:
        kind = "a bidirectional override"
    else:
        kind = "a control character"
    return f"{kind} U+{point:04X}"


Name = Annotated[
    str, AfterValidator(check_name), Field(json_schema_extra={"pattern": _NAME_PATTERN})
]
"""A string shown to people on one line: a name, a tag, a version, a host. No control characters."""

Text = Annotated[
    str, AfterValidator(check_text), Field(json_schema_extra={"pattern": _TEXT_PATTERN})
]
"""A string shown to people as a paragraph: a description, a goal. Tab and newline allowed."""
