"""Tool arguments a small model may only fill from the context: spans of the goal, or enums.

A tool's `Arguments` lists, for each argument, the values the goal allows (numbers written in
it, table keys or unit names it mentions, or a fixed enum) and a template that renders a choice
as the task text the tool reads. The brain then either samples under the JSON Schema of those
enums or scores the rendered options; it can never invent a number or a name.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")


def numbers_in(text: str) -> list[str]:
    """The numbers written in `text`, as written, first occurrence order, no repeats."""
    return list(dict.fromkeys(m.group(0) for m in _NUMBER.finditer(text.replace(",", ""))))


def names_in(text: str, aliases: Mapping[str, str]) -> list[str]:
    """The canonical names whose alias appears in `text` as whole words, in order of appearance.

    `aliases` maps each way of writing a name (any case) to its canonical form.
    """
    found: list[tuple[int, str]] = []
    for alias in sorted(aliases, key=len, reverse=True):
        for match in re.finditer(rf"(?<!\w){re.escape(alias)}(?!\w)", text, re.IGNORECASE):
            found.append((match.start(), aliases[alias]))
    return list(dict.fromkeys(name for _, name in sorted(found)))


@dataclass(frozen=True)
class Arguments:
    """The legal arguments of one tool call for one goal."""

    fields: dict[str, list[str]]
    """argument → the values it may take (in a stable order), in the order the model fills them."""
    template: str
    """How a choice becomes the task's text, e.g. "{a} {op} {b}"."""
    distinct: tuple[str, str] | None = None
    """Two arguments that must differ when the goal offers more than one value (the two
    operands of an operation, the two units of a conversion)."""
    max_options: int = 48

    @property
    def usable(self) -> bool:
        """Every argument has at least one value: the goal gives the tool what it needs."""
        return all(self.fields.values())

    def schema(self) -> dict[str, Any]:
        """A JSON Schema whose instances are exactly the allowed choices."""
        props = {name: {"enum": values} for name, values in self.fields.items()}
        return {
            "type": "object",
            "properties": props,
            "required": list(props),
            "additionalProperties": False,
        }

    def render(self, choice: Mapping[str, Any]) -> str:
        return self.template.format(**{k: choice[k] for k in self.fields})

    def options(self) -> list[str]:
        """Every rendered choice (no repeats), or [] when there are more than `max_options`."""
        names = list(self.fields)
        count = 1
        for values in self.fields.values():
            count *= len(values)
        if count > self.max_options:
            return []
        choices = [
            dict(zip(names, combo, strict=True))
            for combo in itertools.product(*self.fields.values())
        ]
        if self.distinct is not None:
            first, second = self.distinct
            varied = [c for c in choices if c[first] != c[second]]
            choices = varied or choices
        return list(dict.fromkeys(self.render(c) for c in choices))
