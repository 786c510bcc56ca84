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
