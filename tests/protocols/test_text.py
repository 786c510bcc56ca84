"""Text shown to people refuses control characters: one rule (`protocols.text`), every field."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from protocols import AgentCard, DeviceFacts, ModelFacts, Name, Skill, Text
from protocols.text import check_name, check_text, scrub, unsafe_character

FORBIDDEN = {
    "NUL": "\x00",
    "BEL": "\x07",
    "CR": "\r",
    "ESC": "\x1b",
    "unit separator": "\x1f",
    "DEL": "\x7f",
    "C1 padding": "\x80",
    "C1 NEL": "\x85",
    "C1 CSI": "\x9b",
    "C1 APC": "\x9f",
    "LRE": "\u202a",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "PDI": "\u2069",
    "lone high surrogate": "\ud800",
    "lone low surrogate": "\udfff",
}
LAYOUT = {"tab": "\t", "newline": "\n"}
FINE = [
    "plain words",
    "Zoë, Łódź, 東京",
    "emoji 🧑‍🚀 and 😀",
    "שלום and مرحبا (right to left by itself, no override)",
    "\u00a0no-break space, \u2028line separator, \u202fnarrow space, \u206ainhibit swapping",
    "~ and \u00a1 border the refused ranges",
]


@pytest.mark.parametrize("char", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_a_refused_character_is_named_with_its_index(char: str) -> None:
    text = f"ab{char}cd"
    assert unsafe_character(text) == (2, char)
    assert unsafe_character(text, lines=True) == (2, char)
    for check in (check_name, check_text):
        with pytest.raises(ValueError, match=rf"U\+{ord(char):04X} at index 2"):
            check(text)


@pytest.mark.parametrize("char", LAYOUT.values(), ids=LAYOUT.keys())
def test_tab_and_newline_are_text_but_not_names(char: str) -> None:
    text = f"line one{char}line two"
    assert check_text(text) == text
    with pytest.raises(ValueError, match="a control character"):
        check_name(text)


@pytest.mark.parametrize("text", FINE)
def test_ordinary_text_of_any_script_passes_unchanged(text: str) -> None:
    assert unsafe_character(text) is None
    assert check_name(text) == check_text(text) == text
    assert scrub(text) == text


def test_scrubbed_text_is_fit_for_names_and_text() -> None:
    dirty = "".join(FORBIDDEN.values()) + "".join(LAYOUT.values()) + "ok"
    clean = scrub(dirty)
    assert clean == "\ufffd" * len(FORBIDDEN) + "  ok"
    assert check_name(clean) == check_text(clean) == clean


class _Shown(BaseModel):
    name: Name
    text: Text


def test_the_wire_schema_states_the_same_rule() -> None:
    """Other implementations read the rule from the JSON Schema pattern; it must agree with the
    check on every code point but surrogates (which JSON itself refuses alone)."""
    schema = _Shown.model_json_schema()["properties"]
    name, text = (re.compile(schema[f]["pattern"]) for f in ("name", "text"))
    points = [p for p in range(0x3000) if not 0xD800 <= p <= 0xDFFF] + [0xFFFD, sys.maxunicode]
    for point in points:
        char = chr(point)
        assert (name.fullmatch(char) is None) == (unsafe_character(char) is not None), hex(point)
        text_refused = unsafe_character(char, lines=True) is not None
        assert (text.fullmatch(char) is None) == text_refused, hex(point)


CARD_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("name", {"name": "x"}),
    ("description", {"description": "x"}),
    ("version", {"version": "x"}),
    ("skills.0.name", {"skills": [{"name": "x"}]}),
    ("skills.0.description", {"skills": [{"name": "s", "description": "x"}]}),
    ("skills.0.tags.1", {"skills": [{"name": "s", "tags": ["ok", "x"]}]}),
    ("model.name", {"model": {"name": "x"}}),
    ("model.arch", {"model": {"name": "m", "arch": "x"}}),
    ("model.quant", {"model": {"name": "m", "quant": "x"}}),
    ("device.host", {"device": {"host": "x"}}),
    ("device.os", {"device": {"os": "x"}}),
    ("device.cpu", {"device": {"cpu": "x"}}),
    ("device.simd.0", {"device": {"simd": ["x"]}}),
]


def _with(data: Any, text: str) -> Any:
    if data == "x":
        return text
    if isinstance(data, dict):
        return {k: _with(v, text) for k, v in data.items()}
    if isinstance(data, list):
        return [_with(v, text) for v in data]
    return data


@pytest.mark.parametrize(("where", "fields"), CARD_FIELDS, ids=[w for w, _ in CARD_FIELDS])
def test_every_string_of_a_card_refuses_control_characters(
    where: str, fields: dict[str, Any]
) -> None:
    data = {"name": "agent"} | _with(fields, "evil\x1b]0;owned\x07")
    with pytest.raises(ValidationError) as refused:
        AgentCard.model_validate(data)
    first = refused.value.errors()[0]
    assert ".".join(str(p) for p in first["loc"]) == where
    assert "U+001B" in first["msg"]
    assert AgentCard.model_validate({"name": "agent"} | _with(fields, "fine"))


def test_card_descriptions_keep_their_paragraphs() -> None:
    card = AgentCard(
        name="a",
        description="line\n\tindented",
        skills=[Skill(name="s", description="one\ntwo")],
        model=ModelFacts(name="m"),
        device=DeviceFacts(cpu="x86"),
    )
    assert card.description == "line\n\tindented"
