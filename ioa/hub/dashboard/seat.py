"""Stepping in: a person watching the dashboard takes their seat in a conversation.

A person whose card is a member of a group sees, on its page, the moves the protocol allows them
now, from the same `legal_moves` and `moves_schema` the models decode under, and sends one with
a button. The hub builds the envelope from the move (`move_to_envelope`, which refuses a move
the schema does not describe or the state does not permit) and admits it like any member's
message, so a page can no more break a conversation than a hostile client can. The operator has
no seat (no card), and a person who is not a member of the group gets `not_a_member`.

    GET  /v1/dashboard/groups/{group_id}/moves   → {"group", "head", "phase", "speaker", "moves"}
    POST /v1/dashboard/groups/{group_id}/moves   {"move": {...}} → {"id", "seq", "ts"}
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from ioa.hub.dashboard.access import watcher
from ioa.hub.entries import Agent, Group
from ioa.hub.errors import Forbidden, InvalidRequest
from ioa.hub.policy import ConversationPolicy
from ioa.hub.rest import json_ok, read_model
from ioa.hub.state import STATE
from protocols import LegalMoves, NoLegalMove, legal_moves
from protocols.moves import move_to_envelope, moves_schema


class MoveRequest(BaseModel):
    """One move, shaped as `moves_schema` describes it (`type` and its fields)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    move: dict[str, Any]


async def _seat(request: web.Request) -> tuple[Agent, Group, ConversationPolicy]:
    who = watcher(request)
    if who.agent is None:
        raise Forbidden("the operator has no seat; sign in with a person's token to step in")
    registry = request.app[STATE].registry
    group = registry.member_group(request.match_info["group_id"], who.agent.id)
    group = await registry.ready(group)
    policy = group.policy
    if not isinstance(policy, ConversationPolicy):
        raise InvalidRequest(f"{group.id!r} is plain chat: it has no protocol moves")
    return who.agent, group, policy


def _alternatives(legal: LegalMoves) -> list[dict[str, Any]]:
    try:
        schema = moves_schema(legal)
    except NoLegalMove:
        return []
    found: list[dict[str, Any]] = schema.get("oneOf", [schema])
    return [{"type": alt["properties"]["type"]["const"], "schema": alt} for alt in found]


async def moves(request: web.Request) -> web.Response:
    """The moves the person may make in the group now, one JSON Schema each (empty when none)."""
    agent, group, policy = await _seat(request)
    state = policy.state
    return json_ok(
        {
            "group": group.id,
            "head": group.head,
            "phase": state.phase.value,
            "speaker": state.speaker,
            "moves": _alternatives(legal_moves(state, agent.id)),
        }
    )


async def play(request: web.Request) -> web.Response:
    """Send one of the person's legal moves; answers once it is stored, with its seq."""
    agent, group, policy = await _seat(request)
    wanted = await read_model(request, MoveRequest)
    envelope = move_to_envelope(legal_moves(policy.state, agent.id), wanted.move)
    seq, ts = await request.app[STATE].router.submit(agent.id, envelope)
    return json_ok({"id": envelope.id, "group": group.id, "seq": seq, "ts": ts}, 201)
