"""Filling a JSON Schema from a person's answers, one field at a time, as the legal moves allow.

The schemas are `protocols.moves.moves_schema`'s: constants, enums (members, tasks, plans),
bounded strings, arrays of enums or strings, booleans, numbers and plan objects. Each field is
asked until the answer fits; a wrong answer is told why (`FormError`) and asked again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agents.human.seat import Seat

__all__ = ["FIELD_LABELS", "FormError", "fill", "parse"]

FIELD_LABELS = {
    "text": "your words",
    "next_speaker": "who speaks next",
    "assignees": "assign to",
    "contractors": "ask for bids from",
    "awardee": "award to",
    "task_ids": "wait for tasks",
    "proposal_id": "which plan",
    "ranking": "your ranking, best first",
    "passed": "does the plan pass",
    "reasons": "reasons",
    "conflicts": "conflicts",
}


class FormError(ValueError):
    """An answer that does not fit the field; the message says what would."""


def _label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " "))


def _shown(value: Any, names: Mapping[str, str]) -> str:
    if value is None:
        return "(none)"
    return names.get(value, str(value)) if isinstance(value, str) else json.dumps(value)


def _numbers(answer: str, count: int) -> list[int]:
    picked = []
    for part in answer.replace(",", " ").split():
        if not part.isdigit() or not 1 <= int(part) <= count:
            raise FormError(f"type numbers from 1 to {count}, not {part!r}")
        picked.append(int(part) - 1)
    return picked


def parse(schema: Mapping[str, Any], answer: str) -> Any:
    """The value `answer` gives a scalar or array field (enums by their numbers, 1-based)."""
    if "enum" in schema:
        picked = _numbers(answer, len(schema["enum"]))
        if len(picked) != 1:
            raise FormError(f"type one number from 1 to {len(schema['enum'])}")
        return schema["enum"][picked[0]]
    kind = schema.get("type")
    if kind == "array":
        low, high = schema.get("minItems", 0), schema.get("maxItems", 32)
        items = schema.get("items", {})
        if "enum" in items:
            values = [items["enum"][i] for i in dict.fromkeys(_numbers(answer, len(items["enum"])))]
        else:
            values = [p.strip() for p in answer.split(";") if p.strip()]
        if not low <= len(values) <= high:
            raise FormError(f"give between {low} and {high}")
        return values
    if kind == "boolean":
        if answer.strip().lower() in ("y", "yes"):
            return True
        if answer.strip().lower() in ("n", "no"):
            return False
        raise FormError("type y or n")
    if kind in ("number", "integer"):
        try:
            number = float(answer) if kind == "number" else int(answer)
        except ValueError:
            raise FormError(f"type a number, not {answer!r}") from None
        return number
    limit = schema.get("maxLength")
    if limit is not None and len(answer) > limit:
        raise FormError(f"at most {limit} characters (that was {len(answer)})")
    return answer


def _question(name: str, schema: Mapping[str, Any], names: Mapping[str, str]) -> str:
    if "enum" in schema:
        choices = "  ".join(f"{i}) {_shown(v, names)}" for i, v in enumerate(schema["enum"], 1))
        return f"{_label(name)}: {choices}\n{_label(name)} (number)> "
    items = schema.get("items", {})
    if schema.get("type") == "array" and "enum" in items:
        choices = "  ".join(f"{i}) {_shown(v, names)}" for i, v in enumerate(items["enum"], 1))
        return f"{_label(name)}: {choices}\n{_label(name)} (numbers)> "
    if schema.get("type") == "array":
        return f"{_label(name)} (separated by ;)> "
    if schema.get("type") == "boolean":
        return f"{_label(name)} (y/n)> "
    return f"{_label(name)}> "


async def fill(
    seat: Seat,
    schema: Mapping[str, Any],
    *,
    names: Mapping[str, str],
    given: Mapping[str, Any] | None = None,
    name: str = "value",
) -> Any:
    """A value for `schema`, asking the person for every field not `given` or constant."""
    if "const" in schema:
        return schema["const"]
    if schema.get("type") == "object":
        value: dict[str, Any] = {}
        for key, sub in schema.get("properties", {}).items():
            if given is not None and key in given:
                value[key] = parse(sub, given[key])
            else:
                value[key] = await fill(seat, sub, names=names, name=key)
        return value
    while True:
        answer = await seat.ask(_question(name, schema, names))
        try:
            return parse(schema, answer.strip() if "enum" in schema else answer)
        except FormError as exc:
            seat.show(f"  {exc}")
