"""Free-form JSON values that cross the wire (a group's `meta`): finite numbers only.

A `NaN` or `Infinity` literal is not JSON, yet parsers accept it, and a value that some readers
take and others refuse is how two copies of a state drift apart. Typed float fields refuse them
through `allow_inf_nan=False`; this type refuses them anywhere inside a free-form value.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator


def _finite(value: Any) -> Any:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite (no NaN or Infinity)")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


FiniteJson = Annotated[dict[str, Any], AfterValidator(_finite)]
"""A JSON object whose numbers are all finite."""

CONTENT_DEPTH_MAX = 12
"""Nesting a plan's `content` may have: enough for robots → steps → arguments, not for abuse."""
CONTENT_NODES_MAX = 2000
"""Values (objects, arrays, scalars) a plan's `content` may hold in all."""


def _bounded(value: Any) -> Any:
    """Refuse content nested deeper than `CONTENT_DEPTH_MAX` or larger than `CONTENT_NODES_MAX`,
    whose validation (and whose replay on every replica) would cost without bound."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if depth > CONTENT_DEPTH_MAX:
            raise ValueError(f"content is nested deeper than {CONTENT_DEPTH_MAX} levels")
        if nodes > CONTENT_NODES_MAX:
            raise ValueError(f"content holds more than {CONTENT_NODES_MAX} values")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return value


BoundedJson = Annotated[dict[str, Any], AfterValidator(_finite), AfterValidator(_bounded)]
"""A JSON object with finite numbers, bounded depth and size: a plan's `content`."""
