"""JSON-Schema constrained output that a small, or even a random, model cannot break.

llama-cpp-python has two silent traps: `response_format={"type": "json_schema", ...}` (the OpenAI
spelling) applies no grammar at all, and a schema its converter cannot handle quietly becomes
"any JSON". So the engine never goes through `response_format`. `prepare_schema` checks the schema
itself and fails loudly (`SchemaNotSupported`, naming the keyword and where it is) on anything the
grammar could not enforce, then converts a *bounded* copy to GBNF with llama-cpp-python's converter
and hands that grammar to the sampler directly.

Bounded, because a grammar alone does not stop a weak model from writing an endless string: every
string gets a `maxLength` (at most `string_cap`) and every array a `maxItems` (at most
`items_cap`), numbers are limited to 16 digits by the converter, and whitespace to one space. From
those bounds `max_tokens` is derived, the worst case in tokens, so a constrained reply always closes
its JSON before the token limit. The reply is then validated against the original schema (and a
pydantic model, if given); the engine makes one repair attempt, then raises
`StructuredOutputError`.
"""

from __future__ import annotations

import json
import re._parser as regex_parser  # type: ignore[import-not-found]
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from llama_cpp.llama_grammar import json_schema_to_gbnf
from pydantic import BaseModel, ValidationError

from ioa.llm.errors import SchemaNotSupported

__all__ = [
    "DEFAULT_ITEMS_CAP",
    "DEFAULT_STRING_CAP",
    "PreparedSchema",
    "ReplyInvalid",
    "parse_reply",
    "prepare_schema",
]

DEFAULT_STRING_CAP = 512
"""Longest string (in characters) a constrained reply may contain, whatever the schema allows."""
DEFAULT_ITEMS_CAP = 32
"""Longest array a constrained reply may contain, whatever the schema allows."""

TOKENS_PER_CHAR = 4
"""Worst case: a character outside the vocabulary is spelled as up to 4 UTF-8 byte tokens."""

ENFORCED = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "prefixItems",
        "minItems", "maxItems", "enum", "const", "anyOf", "oneOf", "minLength", "maxLength",
        "pattern", "format", "$ref", "$defs", "definitions",
    }
)  # fmt: skip
"""Keywords the grammar enforces."""
CHECKED_AFTER = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "uniqueItems"}
)
"""Keywords the grammar cannot express; validation checks them and a violation costs a repair."""
ANNOTATIONS = frozenset(
    {
        "title", "description", "default", "examples", "$schema", "$id", "$comment",
        "deprecated", "readOnly", "writeOnly", "discriminator",
    }
)  # fmt: skip
FIXED_FORMATS = {"date": 14, "time": 32, "date-time": 46, "uuid": 40}
"""String formats the converter turns into exact grammars, with their longest JSON length."""

_JSON_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] | "\\" ["\\/bfnrt]'
"""Replaces the converter's `char` rule, which lets raw control characters into strings (invalid
JSON) and allows 6-token `\\uXXXX` escapes; a model can write the character itself."""
_UNBOUNDED = 1 << 32


class ReplyInvalid(Exception):
    """A reply that does not parse or validate; `reason` goes into the repair prompt."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class PreparedSchema:
    schema: dict[str, Any]
    """The schema as given; replies are validated against it."""
    bounded: dict[str, Any]
    """The normalised, length-bounded copy the grammar was made from."""
    grammar: str
    """GBNF for llama.cpp's grammar sampler."""
    max_tokens: int
    """Worst-case reply length in tokens under the grammar."""
    validator: Draft202012Validator


def prepare_schema(
    schema: dict[str, Any],
    *,
    string_cap: int = DEFAULT_STRING_CAP,
    items_cap: int = DEFAULT_ITEMS_CAP,
) -> PreparedSchema:
    """Check, bound and convert `schema`; raise `SchemaNotSupported` instead of weakening it."""
    if not isinstance(schema, dict):
        raise SchemaNotSupported(f"a schema must be a dict, not {type(schema).__name__}")
    if "json_schema" in schema or schema.get("type") in ("json_schema", "json_object"):
        raise SchemaNotSupported(
            "this is an OpenAI response_format wrapper, not a JSON Schema; pass the schema itself"
        )
    try:
        key = json.dumps(schema)  # property order matters: the grammar follows it
    except (TypeError, ValueError) as exc:
        raise SchemaNotSupported(f"the schema is not JSON: {exc}") from exc
    return _prepare(key, string_cap, items_cap)


@lru_cache(maxsize=256)
def _prepare(key: str, string_cap: int, items_cap: int) -> PreparedSchema:
    schema = json.loads(key)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise SchemaNotSupported(f"invalid JSON Schema: {exc.message}") from exc
    bounder = _Bounder(schema, string_cap, items_cap)
    bounded = bounder.bound(schema, "#", ())
    try:
        grammar = json_schema_to_gbnf(json.dumps(bounded))
    except Exception as exc:  # the converter signals unsupported input with assert, too
        raise SchemaNotSupported(f"the grammar converter rejected the schema: {exc!r}") from exc
    rules = [_JSON_CHAR if line.startswith("char ::=") else line for line in grammar.splitlines()]
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return PreparedSchema(
        schema=schema,
        bounded=bounded,
        grammar="\n".join(rules),
        max_tokens=_worst_tokens(bounded) + 1,
        validator=validator,
    )


class _Bounder:
    """Builds the bounded copy: refs inlined, type lists split, every length capped."""

    def __init__(self, root: dict[str, Any], string_cap: int, items_cap: int) -> None:
        self.root, self.string_cap, self.items_cap = root, string_cap, items_cap

    def bound(self, node: Any, where: str, refs: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(node, dict):
            raise SchemaNotSupported(f"{where}: a boolean schema allows unbounded values")
        unknown = set(node) - ENFORCED - CHECKED_AFTER - ANNOTATIONS
        if unknown:
            raise SchemaNotSupported(
                f"{where}: keyword(s) {sorted(unknown)} cannot be enforced by a grammar"
            )
        structural = set(node) & ENFORCED - {"$defs", "definitions"}
        if "$ref" in node:
            return self._ref(node, where, refs, structural)
        for union in ("anyOf", "oneOf"):
            if union in node:
                if structural - {union}:
                    raise SchemaNotSupported(
                        f"{where}: {union} next to {sorted(structural - {union})}; "
                        "move those keywords into each branch"
                    )
                branches = [
                    self.bound(b, f"{where}/{union}/{i}", refs) for i, b in enumerate(node[union])
                ]
                return {"anyOf": branches}
        if "const" in node:
            return {"const": node["const"]}
        if "enum" in node:
            return {"enum": list(node["enum"])}
        kind = node.get("type")
        if isinstance(kind, list):
            rest = {k: v for k, v in node.items() if k != "type"}
            return {"anyOf": [self.bound({**rest, "type": t}, where, refs) for t in kind]}
        if kind is None:
            kind = "object" if "properties" in node else "array" if "items" in node else None
        if kind == "object":
            return self._object(node, where, refs)
        if kind == "array":
            return self._array(node, where, refs)
        if kind == "string":
            return self._string(node, where)
        if kind in ("integer", "number", "boolean", "null"):
            return {"type": kind}
        raise SchemaNotSupported(f"{where}: no type; an untyped value cannot be bounded")

    def _ref(
        self, node: dict[str, Any], where: str, refs: tuple[str, ...], structural: set[str]
    ) -> dict[str, Any]:
        ref = node["$ref"]
        if structural - {"$ref"}:
            raise SchemaNotSupported(f"{where}: $ref next to {sorted(structural - {'$ref'})}")
        if ref in refs:
            raise SchemaNotSupported(f"{where}: recursive $ref {ref} cannot be bounded")
        parts = ref.split("/")
        if len(parts) != 3 or parts[0] != "#" or parts[1] not in ("$defs", "definitions"):
            raise SchemaNotSupported(f"{where}: only local $ref '#/$defs/Name' is supported")
        target = self.root.get(parts[1], {}).get(parts[2])
        if target is None:
            raise SchemaNotSupported(f"{where}: $ref {ref} points nowhere")
        return self.bound(target, ref, (*refs, ref))

    def _object(self, node: dict[str, Any], where: str, refs: tuple[str, ...]) -> dict[str, Any]:
        properties = node.get("properties")
        if not properties:
            raise SchemaNotSupported(f"{where}: an object without properties cannot be bounded")
        if node.get("additionalProperties", False) is not False:
            raise SchemaNotSupported(
                f"{where}: additionalProperties must be false (free-form keys cannot be bounded)"
            )
        unknown = set(node.get("required", [])) - set(properties)
        if unknown:
            raise SchemaNotSupported(f"{where}: required {sorted(unknown)} are not properties")
        return {
            "type": "object",
            "properties": {
                name: self.bound(sub, f"{where}/properties/{name}", refs)
                for name, sub in properties.items()
            },
            "required": list(node.get("required", [])),
            "additionalProperties": False,
        }

    def _array(self, node: dict[str, Any], where: str, refs: tuple[str, ...]) -> dict[str, Any]:
        if "prefixItems" in node:
            if node.get("items", False) is not False:
                raise SchemaNotSupported(f"{where}: prefixItems needs items: false")
            items = node["prefixItems"]
            tuple_items = [
                self.bound(s, f"{where}/prefixItems/{i}", refs) for i, s in enumerate(items)
            ]
            return {"type": "array", "prefixItems": tuple_items}
        if not isinstance(node.get("items"), dict):
            raise SchemaNotSupported(f"{where}: an array needs an items schema")
        low = int(node.get("minItems", 0))
        high = max(low, min(int(node.get("maxItems", self.items_cap)), self.items_cap))
        item = self.bound(node["items"], f"{where}/items", refs)
        return {"type": "array", "items": item, "minItems": low, "maxItems": high}

    def _string(self, node: dict[str, Any], where: str) -> dict[str, Any]:
        if "pattern" in node:
            pattern = node["pattern"]
            if not (pattern.startswith("^") and pattern.endswith("$")):
                raise SchemaNotSupported(f"{where}: a pattern must be anchored with ^ and $")
            if _pattern_width(pattern) >= _UNBOUNDED:
                raise SchemaNotSupported(
                    f"{where}: pattern {pattern!r} is unbounded; use {{m,n}} instead of * or +"
                )
            return {"type": "string", "pattern": pattern}
        if node.get("format") in FIXED_FORMATS:
            return {"type": "string", "format": node["format"]}
        low = int(node.get("minLength", 0))
        high = max(low, min(int(node.get("maxLength", self.string_cap)), self.string_cap))
        return {"type": "string", "minLength": low, "maxLength": high}


def _pattern_width(pattern: str) -> int:
    try:
        return int(regex_parser.parse(pattern).getwidth()[1])
    except Exception as exc:
        raise SchemaNotSupported(f"pattern {pattern!r} is not a valid regex: {exc}") from exc


def _worst_tokens(node: dict[str, Any]) -> int:
    """Longest reply the grammar for the bounded `node` allows, in tokens (one space included)."""
    if "anyOf" in node:
        return max(_worst_tokens(branch) for branch in node["anyOf"])
    if "const" in node:
        return len(json.dumps(node["const"]).encode()) + 1
    if "enum" in node:
        return max(len(json.dumps(v).encode()) for v in node["enum"]) + 1
    kind = node["type"]
    if kind == "object":
        props = node["properties"]
        return 2 + sum(len(json.dumps(k).encode()) + 3 + _worst_tokens(v) for k, v in props.items())
    if kind == "array":
        if "prefixItems" in node:
            return 2 + sum(_worst_tokens(item) + 2 for item in node["prefixItems"])
        return 2 + int(node["maxItems"]) * (_worst_tokens(node["items"]) + 2)
    if kind == "string":
        if "pattern" in node:
            return _pattern_width(node["pattern"]) * TOKENS_PER_CHAR + 3
        if "format" in node:
            return FIXED_FORMATS[node["format"]]
        return int(node["maxLength"]) * TOKENS_PER_CHAR + 3
    return {"integer": 18, "number": 54, "boolean": 6, "null": 5}[kind]


def parse_reply(text: str, prepared: PreparedSchema, model: type[BaseModel] | None = None) -> Any:
    """Parse and validate a reply: the JSON value, or a `model` instance; raise `ReplyInvalid`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplyInvalid(f"not valid JSON ({exc.msg} at character {exc.pos})") from exc
    errors = list(prepared.validator.iter_errors(data))
    if errors:
        shown = "; ".join(f"{_where(e.absolute_path)}: {e.message}" for e in errors[:3])
        raise ReplyInvalid(f"does not match the schema: {shown}")
    if model is None:
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        shown = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors()[:3])
        raise ReplyInvalid(f"does not match {model.__name__}: {shown}") from exc


def _where(path: Any) -> str:
    return "/".join(str(p) for p in path) or "(root)"
