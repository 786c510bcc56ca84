"""Legal moves as a JSON Schema, so a small model can only write a move the hub will accept.

`moves_schema(legal)` turns one agent's `LegalMoves` into a schema that uses only what llama.cpp's
JSON-Schema-to-grammar converter handles (objects with `required` and no extra properties,
`const`/`enum`, `oneOf` keyed by a `type` const, arrays of enums with `minItems`/`maxItems`,
strings with `maxLength`). Every instance of the schema is a legal move; `move_to_envelope` turns
a decoded instance into the `Envelope` to send. The model never invents ids: the next speaker,
assignees and task ids are enums, and a new task's id comes from `LegalMoves.new_task_id`.

Move shapes (`to` is the envelope's addressee list):

- `discussion`: `text`, `next_speaker` (one other member; absent when the agent is alone)
- `sync_task_assign` / `async_task_assign`: `assignees` (→ `to`), `title`, `description`
- `pause`: `task_ids` (unfinished tasks of the group)
- `conclude`, `conclusion`: `text`
- `task_progress`: `task_id`, `text`; `task_result`: `task_id`, `status`, `result`
- `proposal`: `content`, `text`, `next_speaker` ("ioa"; the id comes from `new_proposal_id`)
- `objection`: `proposal_id`, `reason`, `conflicts`, `next_speaker`
- `acceptance`: `proposal_id`, `text`, `next_speaker`
- `check_result`: `proposal_id`, `passed`, `reasons`
- `conclude`, `conclusion`: also `proposal_id` when a plan may (or must) be named; null for none
- `proceed`: `text`; `execute`: `content`, `text`
- `call_for_proposals`: `contractors` (→ `to`), `title`, `description`
- `bid`: `cost`, `content`, `text`; `refuse`: `text`
- `award`: `awardee` (→ `to`), `title`, `description`
- `pass`: `text`; `ballot`: `proposal_id`, or `ranking` under borda

A plan's `content` follows the group's `content_schema` (which must then be one the grammar can
bound: objects with properties and `additionalProperties: false`); without one, it is
`DEFAULT_CONTENT_SCHEMA`, a plan in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from protocols.conversation.legal import LegalMoves, MoveSpec
from protocols.envelope import Envelope
from protocols.errors import IllegalMove, InvalidMove, NoLegalMove
from protocols.acts import CONFLICT_MAX, SHORT_TEXT
from protocols.messages import TEXT_MAX, Payload

TITLE_MAX = 80
LIST_ITEMS = 4
"""Conflicts or reasons a decoded move may list (the payload allows more)."""
DEFAULT_CONTENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"plan": {"type": "string", "maxLength": 400}},
    "required": ["plan"],
    "additionalProperties": False,
}
"""The shape of a plan's `content` when the group sets no `content_schema`."""
_TEXT_MOVES = frozenset(
    {"discussion", "conclude", "conclusion", "task_progress", "proceed", "execute"}
)
_SHORT_TEXT_MOVES = frozenset({"proposal", "acceptance", "bid", "refuse", "pass"})
_NEXT_MOVES = frozenset({"discussion", "proposal", "objection", "acceptance"})
_FIELDS: dict[str, tuple[str, ...]] = {
    "discussion": ("type", "text", "next_speaker"),
    "proposal": ("type", "content", "text", "next_speaker"),
    "objection": ("type", "proposal_id", "reason", "conflicts", "next_speaker"),
    "acceptance": ("type", "proposal_id", "text", "next_speaker"),
    "check_result": ("type", "proposal_id", "passed", "reasons"),
    "proceed": ("type", "text"),
    "execute": ("type", "content", "text"),
    "call_for_proposals": ("type", "contractors", "title", "description"),
    "bid": ("type", "cost", "content", "text"),
    "refuse": ("type", "text"),
    "award": ("type", "awardee", "title", "description"),
    "pass": ("type", "text"),
    "ballot": ("type", "proposal_id", "ranking"),
    "sync_task_assign": ("type", "assignees", "title", "description"),
    "async_task_assign": ("type", "assignees", "title", "description"),
    "pause": ("type", "task_ids"),
    "conclude": ("type", "text", "proposal_id"),
    "conclusion": ("type", "text", "proposal_id"),
    "task_progress": ("type", "task_id", "text"),
    "task_result": ("type", "task_id", "status", "result"),
}
"""The fields of each move, in the order the model writes them."""


def moves_schema(legal: LegalMoves, *, text_max: int = 1000) -> dict[str, Any]:
    """A JSON Schema whose instances are exactly-typed legal moves for `legal.agent` now.

    `text_max` caps every free-text field (grammar size grows with it). Raises `NoLegalMove`
    when the agent may send nothing now (not its turn, nothing to report on).
    """
    if not 1 <= text_max <= TEXT_MAX:
        raise ValueError(f"text_max must be within 1..{TEXT_MAX}")
    alternatives = [s for s in (_move_schema(legal, m, text_max) for m in legal.moves) if s]
    if not alternatives:
        raise NoLegalMove(f"{legal.agent!r} has no legal move in phase {legal.phase.value}")
    if len(alternatives) == 1:
        return alternatives[0]
    return {"oneOf": alternatives}


def envelope_fields(legal: LegalMoves, move: Any) -> tuple[Payload, list[str]]:
    """The payload and addressees of a decoded move; raises `InvalidMove` for a malformed move
    and `IllegalMove` for a well-formed one that `legal` does not permit."""
    if not isinstance(move, Mapping):
        raise InvalidMove("a move is a JSON object")
    message_type = move.get("type")
    if not isinstance(message_type, str) or message_type not in _FIELDS:
        raise InvalidMove(f"unknown move type {message_type!r}")
    extra = set(move) - set(_FIELDS[message_type])
    if extra:
        raise InvalidMove(f"unexpected field(s) for {message_type!r}: {sorted(extra)}")
    if legal.spec(message_type) is None:
        raise IllegalMove(f"{legal.agent!r} may not send {message_type!r} now")
    body, to = _payload_fields(legal, message_type, move)
    try:
        payload = Payload.registry[message_type].model_validate({"type": message_type, **body})
    except ValidationError as exc:
        raise InvalidMove(f"bad {message_type!r} move: {exc.errors()[0]['msg']}") from exc
    if not legal.permits(payload, to):
        raise IllegalMove(f"this {message_type!r} move is not legal for {legal.agent!r} now")
    return payload, to


def move_to_envelope(legal: LegalMoves, move: Any, *, reply_to: str | None = None) -> Envelope:
    """The envelope carrying a decoded move from `legal.agent` to its group."""
    payload, to = envelope_fields(legal, move)
    return Envelope(
        group=legal.group, sender=legal.agent, to=to, payload=payload, reply_to=reply_to
    )


def _move_schema(legal: LegalMoves, spec: MoveSpec, text_max: int) -> dict[str, Any] | None:
    text = {"type": "string", "maxLength": text_max}
    short = {"type": "string", "maxLength": min(text_max, SHORT_TEXT)}
    props: dict[str, Any] = {"type": {"const": spec.type}}
    kind = spec.type
    if kind in _TEXT_MOVES:
        props["text"] = text
    elif kind in _SHORT_TEXT_MOVES:
        props["text"] = short
    if spec.content:
        props["content"] = legal.content_schema or DEFAULT_CONTENT_SCHEMA
    if kind in _NEXT_MOVES and legal.protocol == "ioa" and spec.max_to >= 1:
        others = [m for m in spec.addressees if m != legal.agent]
        if others:
            props["next_speaker"] = {"enum": others}
    if spec.proposal_ids or spec.proposal_required:
        if spec.ranked:
            props["ranking"] = _enum_array(list(spec.proposal_ids), 1, len(spec.proposal_ids))
        elif spec.proposal_required:
            props["proposal_id"] = {"enum": list(spec.proposal_ids)}
        else:
            props["proposal_id"] = {"enum": [*spec.proposal_ids, None]}
    if kind in ("sync_task_assign", "async_task_assign"):
        props["assignees"] = _enum_array(list(spec.addressees), spec.min_to, spec.max_to)
        props["title"] = {"type": "string", "maxLength": TITLE_MAX}
        props["description"] = text
    elif kind == "pause":
        if not spec.waitable:
            return None
        props["task_ids"] = _enum_array(list(spec.waitable), 1, len(spec.waitable))
    elif kind in ("task_progress", "task_result"):
        props["task_id"] = {"enum": list(spec.task_ids)}
        if kind == "task_result":
            props["status"] = {"enum": ["done", "failed"]}
            props["result"] = text
    elif kind == "objection":
        props["reason"] = short
        props["conflicts"] = _string_array(CONFLICT_MAX)
    elif kind == "check_result":
        props["passed"] = {"type": "boolean"}
        props["reasons"] = _string_array(min(text_max, SHORT_TEXT))
    elif kind == "call_for_proposals":
        others = [m for m in spec.addressees if m != legal.agent]
        props["contractors"] = _enum_array(others, spec.min_to, spec.max_to)
        props["title"] = {"type": "string", "maxLength": TITLE_MAX}
        props["description"] = text
    elif kind == "award":
        props["awardee"] = {"enum": list(spec.addressees)}
        props["title"] = {"type": "string", "maxLength": TITLE_MAX}
        props["description"] = text
    elif kind == "bid":
        props["cost"] = {"type": "number"}
    elif kind not in _FIELDS:
        return None
    ordered = {name: props[name] for name in _FIELDS[kind] if name in props}
    return {
        "type": "object",
        "properties": ordered,
        "required": list(ordered),
        "additionalProperties": False,
    }


def _string_array(max_length: int) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string", "maxLength": max_length},
        "minItems": 0,
        "maxItems": LIST_ITEMS,
    }


def _enum_array(values: list[str], low: int, high: int) -> dict[str, Any]:
    return {"type": "array", "items": {"enum": values}, "minItems": low, "maxItems": high}


def _payload_fields(
    legal: LegalMoves, message_type: str, move: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Map a move's fields onto payload fields plus the envelope's `to`."""
    body = {k: v for k, v in move.items() if k != "type"}
    to: list[str] = []
    if message_type in _NEXT_MOVES:
        nxt = body.pop("next_speaker", None)
        if nxt is not None:
            to = [_string(nxt, "next_speaker")]
    if message_type in ("sync_task_assign", "async_task_assign"):
        to = _unique(_strings(body.pop("assignees", None), "assignees"))
        body["task_id"] = legal.new_task_id
    elif message_type == "award":
        to = [_string(body.pop("awardee", None), "awardee")]
        body["task_id"] = legal.new_task_id
    elif message_type == "call_for_proposals":
        to = _unique(_strings(body.pop("contractors", None), "contractors"))
    elif message_type in ("proposal", "execute"):
        body["proposal_id"] = legal.new_proposal_id
    elif message_type == "pause":
        body["task_ids"] = _unique(_strings(body.get("task_ids"), "task_ids"))
    elif message_type == "ballot" and "ranking" in body:
        body["ranking"] = _unique(_strings(body.get("ranking"), "ranking"))
    return body, to


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidMove(f"{name} must be a string")
    return value


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list):
        raise InvalidMove(f"{name} must be a list of strings")
    return [_string(v, name) for v in value]


def _unique(values: list[str]) -> list[str]:
    """De-duplicate in order: a model may repeat an enum item the schema cannot forbid."""
    return list(dict.fromkeys(values))
