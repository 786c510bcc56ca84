"""REST endpoints under `/v1`: registry, groups, transcripts, health.

Every endpoint but `/v1/health` and registration needs `Authorization: Bearer <agent token>`.
Errors are JSON `{"error": {"code", "message"}}` with the status of the error class.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ioa import __version__
from ioa.hub.discovery import BLEND, MODES, InvalidQuery
from ioa.hub.entries import Agent
from ioa.hub.errors import (
    Busy,
    Forbidden,
    FrameTooLarge,
    HubError,
    InvalidRequest,
    MalformedJson,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    Unavailable,
    first_error,
    http_status,
)
from ioa.hub.state import STATE, HubState
from protocols import AgentCard, Envelope, ProtocolError
from protocols.text import Name
from protocols.values import FiniteJson

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger("ioa.hub")


class GroupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: Name = Field(default="", max_length=200)
    members: list[str] = Field(default_factory=list, max_length=256)
    """Agent ids; the creator is always a member."""
    protocol: str = "chat"
    meta: FiniteJson = Field(default_factory=dict)


def error_response(error: HubError | ProtocolError) -> web.Response:
    status = http_status(error)
    body = {"error": {"code": error.code, "message": error.message}}
    response = web.json_response(body, status=status)
    if isinstance(error, Busy):
        response.headers["Retry-After"] = str(max(1, round(error.retry_after)))
    return response


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        return await handler(request)
    except (HubError, ProtocolError) as exc:
        sent_to = request.match_info.get("group_id") if request.method == "POST" else None
        state.count_rejection(exc.code, group=sent_to)
        return error_response(exc)
    except web.HTTPNotFound:
        return error_response(NotFound(f"no route {request.method} {request.path}"))
    except web.HTTPMethodNotAllowed:
        return error_response(MethodNotAllowed(f"{request.method} not allowed on {request.path}"))
    except web.HTTPException as exc:  # aiohttp's own refusals (bad query, body too large...)
        error = FrameTooLarge() if exc.status == 413 else InvalidRequest(exc.reason)
        state.count_rejection(error.code)
        return error_response(error)
    except Exception:
        log.exception("internal error on %s %s", request.method, request.path)
        return error_response(HubError("internal error; the hub's log has the details"))


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def caller(request: web.Request) -> Agent:
    state = request.app[STATE]
    return await state.registry.find_by_token(bearer_token(request))


async def self_only(request: web.Request) -> Agent:
    agent = await caller(request)
    if request.match_info["agent_id"] != agent.id:
        raise Forbidden("an agent may only change its own record")
    return agent


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, however many TCP segments it came in, refused past `limit` bytes (at
    once when its Content-Length already says so)."""
    if request.content_length is not None and request.content_length > limit:
        raise FrameTooLarge(f"body of {request.content_length} bytes exceeds the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise FrameTooLarge(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_model(request: web.Request, model: type[M]) -> M:
    state = request.app[STATE]
    limit = state.config.max_frame_bytes
    if request.content_length is not None and request.content_length > limit:
        raise FrameTooLarge(f"body of {request.content_length} bytes exceeds the limit of {limit}")
    raw = await read_body(request, limit)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            raise MalformedJson() from None
        raise InvalidRequest(first_error(exc, "body")) from None


def agent_view(state: HubState, agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "card": agent.card.model_dump(mode="json"),
        "online": state.is_online(agent),
        "last_seen": agent.last_seen,
        "created_at": agent.created_at,
    }


def json_ok(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type="application/json")


async def health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    agents = list(state.registry.agents.values())
    return json_ok(
        {
            "status": "ok",
            "version": __version__,
            "agents": len(agents),
            "online": sum(state.is_online(a) for a in agents),
            "groups": len(state.registry.groups),
            "quarantined": sorted(state.registry.quarantined),
            "restoring": state.registry.restoring,
            "resumes": resume_status(state),
            "rejections": dict(state.rejections),
            "discovery": discovery_status(state),
        }
    )


def resume_status(state: HubState) -> dict[str, Any]:
    """WebSockets replaying now (of how many may), waiting in line, and the hub's measured
    seconds per resume."""
    admission = state.admission
    pace = admission.seconds_per_resume
    return {
        "slots": admission.concurrent,
        "active": admission.active,
        "waiting": admission.waiting,
        "seconds_each": None if pace is None else round(pace, 5),
    }


def discovery_status(state: HubState) -> dict[str, Any]:
    """How `/v1/discover` ranks now: with the model ready, hybrid by default; else BM25 only."""
    embeddings = state.embeddings
    ready = embeddings.ready
    return {
        "modes": list(MODES) if ready else ["bm25"],
        "default_mode": "hybrid" if ready else "bm25",
        "embeddings": embeddings.state,
        "model": embeddings.model,
        "reason": embeddings.reason,
        "pending": embeddings.pending,
        "blend": BLEND.format(w=state.discovery.semantic_weight),
    }


async def register_agent(request: web.Request) -> web.Response:
    state = request.app[STATE]
    required = state.config.registration_token
    if required is not None and bearer_token(request) != required:
        raise Unauthorized("registering needs the hub's registration token")
    card = await read_model(request, AgentCard)
    agent, token = await state.registry.register(card)
    await state.embeddings.wait_for(state.card_changed(agent))
    return json_ok({"agent_id": agent.id, "token": token, "card": agent.card.model_dump()}, 201)


async def list_agents(request: web.Request) -> web.Response:
    state = request.app[STATE]
    await caller(request)
    views = [agent_view(state, a) for a in state.registry.agents.values()]
    if request.query.get("online") in ("1", "true", "yes"):
        views = [v for v in views if v["online"]]
    return json_ok({"agents": views})


async def get_agent(request: web.Request) -> web.Response:
    state = request.app[STATE]
    await caller(request)
    return json_ok(agent_view(state, state.registry.agent(request.match_info["agent_id"])))


async def put_agent(request: web.Request) -> web.Response:
    state = request.app[STATE]
    agent = await self_only(request)
    card = await read_model(request, AgentCard)
    agent = await state.registry.update_card(agent.id, card)
    await state.embeddings.wait_for(state.card_changed(agent))
    return json_ok(agent_view(state, agent))


async def delete_agent(request: web.Request) -> web.Response:
    state = request.app[STATE]
    agent = await self_only(request)
    await state.registry.delete(agent.id)
    conn = state.router.connections.get(agent.id)
    if conn is not None:
        await conn.ws.close(code=4001, message=b"agent deleted")
    state.presence_changed(agent.id)
    return web.Response(status=204)


async def heartbeat(request: web.Request) -> web.Response:
    state = request.app[STATE]
    agent = await self_only(request)
    now = await state.registry.touch(agent.id)
    state.presence_changed(agent.id)
    return json_ok({"agent_id": agent.id, "last_seen": now, "online": True})


async def discover(request: web.Request) -> web.Response:
    """Agents ranked by how well their cards match `q`, filtered by tags and presence.

    `mode` is `bm25`, `vector` or `hybrid` (default: hybrid when the embedding model is ready,
    else bm25); asking for a ranking by meaning on a hub without the model is `unavailable`.
    """
    state = request.app[STATE]
    await caller(request)
    query = request.query.get("q", "")
    if len(query) > 1000:
        raise InvalidRequest("query parameter 'q' is longer than 1000 characters")
    k = int_query(request, "k", 5, 1, 100)
    tags = [t for t in request.query.get("tags", "").split(",") if t.strip()]
    online = request.query.get("online") in ("1", "true", "yes")
    mode = request.query.get("mode")
    if mode is not None and mode not in MODES:
        shown = mode if len(mode) <= 20 else mode[:20] + "..."
        raise InvalidQuery(f"mode {shown!r} is not one of {', '.join(MODES)}")
    vector = None
    if mode != "bm25":
        vector = await state.embeddings.embed_query(query)
        if vector is None and mode is not None:
            why = state.embeddings.reason or f"the embedding model is {state.embeddings.state}"
            raise Unavailable(f"mode {mode!r} needs the embedding model: {why}")
    mode = mode or ("hybrid" if vector is not None else "bm25")
    hits = state.discovery.search(
        query, k=k, tags=tags, online_only=online, query_vector=vector, mode=mode
    )
    agents = state.registry.agents
    return json_ok(
        {
            "query": query,
            "mode": mode,
            "hits": [
                {
                    "agent_id": hit.agent_id,
                    "score": hit.score,
                    "matched_terms": list(hit.matched_terms),
                    "matched_tags": list(hit.matched_tags),
                    "card": agents[hit.agent_id].card.model_dump(mode="json"),
                    "online": state.is_online(agents[hit.agent_id]),
                }
                for hit in hits
                if hit.agent_id in agents
            ],
        }
    )


async def create_group(request: web.Request) -> web.Response:
    state = request.app[STATE]
    agent = await caller(request)
    body = await read_model(request, GroupRequest)
    group = await state.registry.create_group(
        agent.id, body.name, body.members, body.protocol, body.meta
    )
    state.router.announce(group)
    return json_ok(group.info().model_dump(mode="json"), 201)


async def list_groups(request: web.Request) -> web.Response:
    state = request.app[STATE]
    agent = await caller(request)
    groups = [
        state.registry.groups[g].info().model_dump(mode="json")
        for g in state.registry.groups_of(agent.id)
    ]
    return json_ok({"groups": groups})


async def get_group(request: web.Request) -> web.Response:
    state = request.app[STATE]
    agent = await caller(request)
    group = await state.registry.ready(
        state.registry.member_group(request.match_info["group_id"], agent.id)
    )
    return json_ok(group.info().model_dump(mode="json"))


_INTEGER = re.compile(r"-?[0-9]{1,19}")
"""What a query number may look like: `int()` also takes `1_0`, `٣` and `１`."""


def int_query(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise InvalidRequest(f"query parameter {name!r} must be an integer in ASCII digits")
    value = int(raw)
    if not low <= value <= high:
        raise InvalidRequest(f"query parameter {name!r} must be between {low} and {high}")
    return value


async def group_messages(request: web.Request) -> web.Response:
    state = request.app[STATE]
    agent = await caller(request)
    group = await state.registry.ready(
        state.registry.member_group(request.match_info["group_id"], agent.id)
    )
    after = int_query(request, "after", 0, 0, 2**62)
    limit = int_query(request, "limit", 500, 1, 5000)
    rows = await state.store.messages_after(group.id, after, limit)
    text = '{"group":' + json.dumps(group.id) + ',"messages":['
    text += ",".join(m.body for m in rows)
    text += '],"next_after":' + str(rows[-1].seq if rows else after) + "}"
    return web.Response(text=text, content_type="application/json")


async def post_message(request: web.Request) -> web.Response:
    """Send one message over HTTP; answers once it is stored, with its seq."""
    state = request.app[STATE]
    agent = await caller(request)
    envelope = await read_model(request, Envelope)
    if envelope.group != request.match_info["group_id"]:
        raise InvalidRequest("the envelope's group does not match the URL")
    seq, ts = await state.router.submit(agent.id, envelope)
    return json_ok({"id": envelope.id, "group": envelope.group, "seq": seq, "ts": ts}, 201)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/health", health)
    app.router.add_post("/v1/agents", register_agent)
    app.router.add_get("/v1/agents", list_agents)
    app.router.add_get("/v1/agents/{agent_id}", get_agent)
    app.router.add_put("/v1/agents/{agent_id}", put_agent)
    app.router.add_delete("/v1/agents/{agent_id}", delete_agent)
    app.router.add_post("/v1/agents/{agent_id}/heartbeat", heartbeat)
    app.router.add_get("/v1/discover", discover)
    app.router.add_post("/v1/groups", create_group)
    app.router.add_get("/v1/groups", list_groups)
    app.router.add_get("/v1/groups/{group_id}", get_group)
    app.router.add_get("/v1/groups/{group_id}/messages", group_messages)
    app.router.add_post("/v1/groups/{group_id}/messages", post_message)
