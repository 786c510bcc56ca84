"""Plan content against a group's `content_schema`: bounded at group creation, compiled once.

A group's `meta` comes from any member, so its schema is hostile input: it is bounded in size
and depth, may not use `pattern`/`patternProperties` (a regular expression can take exponential
time on a crafted string), and may only `$ref` into itself (nothing is ever fetched). The compiled
validator is cached by the schema's canonical text, so each distinct schema is compiled once per
process however many messages (and replays) check against it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from protocols.errors import InvalidContent, InvalidConversation

if TYPE_CHECKING:  # jsonschema is imported on first use: 50 ms that most groups never need
    from jsonschema import Draft202012Validator

SCHEMA_BYTES_MAX = 16_384
SCHEMA_DEPTH_MAX = 12
_FORBIDDEN_KEYWORDS = frozenset({"pattern", "patternProperties", "$dynamicRef", "format"})


def checked_schema(schema: Any) -> dict[str, Any]:
    """The schema, if a group may use it; `InvalidConversation` saying why not otherwise."""
    if not isinstance(schema, dict):
        raise InvalidConversation("content_schema must be a JSON Schema object")
    try:
        text = json.dumps(schema, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidConversation(f"content_schema is not plain JSON: {exc}") from None
    if len(text.encode()) > SCHEMA_BYTES_MAX:
        raise InvalidConversation(f"content_schema is larger than {SCHEMA_BYTES_MAX} bytes")
    stack: list[tuple[Any, int]] = [(schema, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > SCHEMA_DEPTH_MAX:
            raise InvalidConversation(f"content_schema is nested deeper than {SCHEMA_DEPTH_MAX}")
        if isinstance(node, dict):
            bad = _FORBIDDEN_KEYWORDS & set(node)
            if bad:
                raise InvalidConversation(f"content_schema may not use {sorted(bad)[0]!r}")
            ref = node.get("$ref")
            if ref is not None and not (isinstance(ref, str) and ref.startswith("#")):
                raise InvalidConversation("content_schema may only $ref into itself ('#...')")
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise InvalidConversation(
            f"content_schema is not a valid JSON Schema: {exc.message}"
        ) from None
    return schema


@lru_cache(maxsize=64)
def _validator(text: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(text))


def content_error(schema: dict[str, Any] | None, content: Any) -> InvalidContent | None:
    """Why `content` breaks `schema` (naming the path), or None when it validates."""
    if schema is None:
        return None
    from jsonschema.exceptions import best_match

    validator = _validator(json.dumps(schema, sort_keys=True))
    error = best_match(validator.iter_errors(content))
    if error is None:
        return None
    return InvalidContent(f"content at {error.json_path}: {error.message[:200]}")
