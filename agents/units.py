"""A unit converter tool: length, mass, volume, time and temperature, from text.

It reads "26.2 miles to kilometres" (what the brain writes from the goal's spans), "26.2 mi to
km", or a plain request such as "How many kilometres is 26.2 miles?": the unit right after the
number is the one converted from, the other unit named is the one converted to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from agents.spans import Arguments, names_in, numbers_in


@dataclass(frozen=True)
class Unit:
    dimension: str
    to_base: Callable[[float], float]
    from_base: Callable[[float], float]


def _linear(dimension: str, factor: float) -> Unit:
    return Unit(dimension, lambda v: v * factor, lambda v: v / factor)


UNITS: dict[str, Unit] = {
    "mm": _linear("length", 0.001),
    "cm": _linear("length", 0.01),
    "m": _linear("length", 1.0),
    "km": _linear("length", 1000.0),
    "in": _linear("length", 0.0254),
    "ft": _linear("length", 0.3048),
    "yd": _linear("length", 0.9144),
    "mi": _linear("length", 1609.344),
    "g": _linear("mass", 0.001),
    "kg": _linear("mass", 1.0),
    "oz": _linear("mass", 0.028349523125),
    "lb": _linear("mass", 0.45359237),
    "ml": _linear("volume", 0.001),
    "l": _linear("volume", 1.0),
    "gal": _linear("volume", 3.785411784),
    "s": _linear("time", 1.0),
    "min": _linear("time", 60.0),
    "h": _linear("time", 3600.0),
    "day": _linear("time", 86400.0),
    "C": Unit("temperature", lambda v: v, lambda v: v),
    "F": Unit("temperature", lambda v: (v - 32) * 5 / 9, lambda v: v * 9 / 5 + 32),
    "K": Unit("temperature", lambda v: v - 273.15, lambda v: v + 273.15),
}

_WORDS: dict[str, list[str]] = {
    "mm": ["millimetre", "millimetres", "millimeter", "millimeters", "mm"],
    "cm": ["centimetre", "centimetres", "centimeter", "centimeters", "cm"],
    "m": ["metre", "metres", "meter", "meters"],
    "km": ["kilometre", "kilometres", "kilometer", "kilometers", "km"],
    "in": ["inch", "inches"],
    "ft": ["foot", "feet", "ft"],
    "yd": ["yard", "yards", "yd"],
    "mi": ["mile", "miles", "mi"],
    "g": ["gram", "grams"],
    "kg": ["kilogram", "kilograms", "kilo", "kilos", "kg"],
    "oz": ["ounce", "ounces", "oz"],
    "lb": ["pound", "pounds", "lb", "lbs"],
    "ml": ["millilitre", "millilitres", "milliliter", "milliliters", "ml"],
    "l": ["litre", "litres", "liter", "liters"],
    "gal": ["gallon", "gallons", "gal"],
    "s": ["second", "seconds", "sec"],
    "min": ["minute", "minutes", "min"],
    "h": ["hour", "hours", "hr"],
    "day": ["day", "days"],
    "C": ["celsius", "centigrade", "°c"],
    "F": ["fahrenheit", "°f"],
    "K": ["kelvin"],
}
SPOKEN = {unit: words[1] if unit not in "CFK" else words[0] for unit, words in _WORDS.items()}
"""The word the brain writes for each unit ("miles"): a model scores words better than symbols."""
ALIASES: dict[str, str] = {word: unit for unit, words in _WORDS.items() for word in words}
"""Ways a person writes each unit (single letters are left out: "m", "s" or "in" are too often
plain words); the canonical symbols are also accepted in the `VALUE FROM to TO` form."""

_CANONICAL = re.compile(
    r"(-?\d+(?:\.\d+)?)\s*("
    + "|".join(map(re.escape, UNITS))
    + r")\s+(?:to|in)\s+("
    + "|".join(map(re.escape, UNITS))
    + r")\b"
)


class UnitError(ValueError):
    pass


def convert(value: float, source: str, target: str) -> float:
    a, b = UNITS[source], UNITS[target]
    if a.dimension != b.dimension:
        raise UnitError(f"cannot convert {a.dimension} ({source}) to {b.dimension} ({target})")
    return b.from_base(a.to_base(value))


def _shown(value: float) -> str:
    rounded = round(value, 4)
    return str(int(rounded)) if float(rounded).is_integer() else str(rounded)


def _request(text: str) -> tuple[float, str, str] | None:
    canonical = _CANONICAL.search(text)
    if canonical:
        return float(canonical.group(1)), canonical.group(2), canonical.group(3)
    numbers = numbers_in(text)
    units = names_in(text, ALIASES)
    if not numbers or len(units) < 2:
        return None
    after = text.replace(",", "")[text.replace(",", "").find(numbers[0]) + len(numbers[0]) :]
    source = next(iter(names_in(after, ALIASES)), units[0])
    target = next(u for u in units if u != source)
    return float(numbers[0]), source, target


def convert_units(text: str) -> str:
    """Converts a quantity between units of length, mass, volume, time or temperature.

    Give it a task such as "26.2 miles to kilometres" or "5 kg in lb"; it answers with the
    value.
    """
    request = _request(text)
    if request is None:
        return "no quantity with two units found in the task"
    value, source, target = request
    try:
        result = convert(value, source, target)
    except UnitError as exc:
        return str(exc)
    return f"{_shown(value)} {source} = {_shown(result)} {target}"


_ALIAS_PATTERN = "|".join(map(re.escape, sorted(ALIASES, key=len, reverse=True)))
_QUANTITY = re.compile(
    rf"(?<![\w.])(-?\d+(?:\.\d+)?)\s*(?:degrees?\s+)?({_ALIAS_PATTERN})(?!\w)", re.IGNORECASE
)


def quantities_in(text: str) -> list[tuple[str, str]]:
    """The quantities written in `text` ("26.2 miles"), as (number, unit) in order."""
    return [(m.group(1), ALIASES[m.group(2).lower()]) for m in _QUANTITY.finditer(text)]


def unit_arguments(goal: str) -> Arguments:
    """The value and its unit form a quantity written in the goal ("26.2 miles"); the target
    is another unit of the same kind named in the goal (unusable without both)."""
    quantities = quantities_in(goal)
    named = names_in(goal, ALIASES)
    targets = [
        u
        for u in named
        if any(u != q and UNITS[u].dimension == UNITS[q].dimension for _, q in quantities)
    ]
    return Arguments(
        {
            "quantity": list(dict.fromkeys(f"{n} {SPOKEN[u]}" for n, u in quantities)),
            "target": [SPOKEN[u] for u in targets],
        },
        "{quantity} to {target}",
    )
