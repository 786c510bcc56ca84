"""The dashboard's HTTP side: the page at `/`, its REST under `/v1/dashboard`, its event stream.

Every `/v1/dashboard` endpoint needs a person's token (`access.watcher`); errors are the hub's
usual `{"error": {"code", "message"}}`. Lists are paged (`offset`, `limit`) so a hub with
thousands of agents and groups answers each request with one page. A goal is posted from the
page through the hub's own `POST /v1/goals`, with the person's token. Counts are brought up to
date from the store when they are asked for (`Tally.catch_up`), not kept while nobody looks.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from ioa import __version__
from ioa.hub.dashboard import accounting, runs, seat
from ioa.hub.dashboard.access import watcher
from ioa.hub.dashboard.feed import FEED, Feed
from ioa.hub.dashboard.replay import Replayer
from ioa.hub.dashboard.stream import FollowRequest
from ioa.hub.dashboard.tally import Tally
from ioa.hub.dashboard.views import (
    agent_detail,
    agent_node,
    conversation_state,
    group_state,
    group_summary,
)
from ioa.hub.entries import Group
from ioa.hub.errors import InvalidRequest, NotFound
from ioa.hub.goals import GOALS
from ioa.hub.rest import int_query, json_ok, read_model
from ioa.hub.state import STATE

STATIC = Path(__file__).parent / "static"
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
"""The page runs only its own scripts: text from agents is shown as text, never as markup."""
KEEPALIVE = 15.0
"""Seconds between two comments on an idle event stream, so proxies keep it open."""
GONE_CHECK = 1.0
"""Seconds between two looks, on a quiet stream, whether its page is still there: the hub
stops listening for the dashboard within about this long after the last page closes."""

REPLAYER = web.AppKey("dashboard_replayer", Replayer)


def _tally(request: web.Request) -> Tally:
    return request.app[FEED].counts()


def _search(request: web.Request) -> str:
    query = request.query.get("q", "").strip().lower()
    if len(query) > 200:
        raise InvalidRequest("query parameter 'q' is longer than 200 characters")
    return query


def _page(request: web.Request, default: int = 200) -> tuple[int, int]:
    return int_query(request, "offset", 0, 0, 10**9), int_query(request, "limit", default, 1, 1000)


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


async def me(request: web.Request) -> web.Response:
    who = watcher(request)
    return json_ok({"id": who.id, "name": who.name, "version": __version__})


async def overview(request: web.Request) -> web.Response:
    watcher(request)
    state = request.app[STATE]
    feed = request.app[FEED]
    agents = state.registry.agents.values()
    return json_ok(
        {
            "agents": len(agents),
            "online": sum(state.is_online(a) for a in agents),
            "groups": len(state.registry.groups),
            "goals": len(request.app[GOALS].goals),
            "rejections": dict(state.rejections),
            "history_counted": _tally(request).counted_history,
            "watchers": len(feed.streams),
            "prices": feed.prices.view(),
        }
    )


async def agents(request: web.Request) -> web.Response:
    """Agents, paged, oldest first; `q` filters by name, id, kind or model."""
    watcher(request)
    state = request.app[STATE]
    tally = _tally(request)
    offset, limit = _page(request)
    query = _search(request)
    nodes = [agent_node(state, a) for a in state.registry.agents.values()]
    if query:
        nodes = [n for n in nodes if any(query in str(v).lower() for v in n.values() if v)]
    rows = nodes[offset : offset + limit]
    prices = request.app[FEED].prices
    for row in rows:
        account = tally.agents.get(row["id"])
        row["messages"] = account.messages if account else 0
        row["refusals"] = sum(account.refusals.values()) if account else 0
        ledger = tally.usage.agents.get(row["id"])
        row["usage"] = ledger.summary(prices) if ledger is not None else None
    return json_ok({"total": len(nodes), "offset": offset, "agents": rows})


async def agent(request: web.Request) -> web.Response:
    watcher(request)
    state = request.app[STATE]
    tally = _tally(request)
    found = state.registry.agent(request.match_info["agent_id"])
    detail = agent_detail(state, found)
    account = tally.agents.get(found.id)
    detail["accounting"] = account.view() if account else None
    ledger = tally.usage.agents.get(found.id)
    detail["usage"] = ledger.view(request.app[FEED].prices) if ledger is not None else None
    detail["groups"] = [group_summary(state.registry.groups[g]) for g in detail["groups"]]
    return json_ok(detail)


def _group_row(group: Group, tally: Tally) -> dict[str, Any]:
    row = group_summary(group)
    counted = tally.groups.get(group.id)
    row["refusals"] = dict(counted.refusals) if counted else {}
    return row


async def groups(request: web.Request) -> web.Response:
    """Groups, paged, newest first; `q` filters by name, id, goal or member id."""
    watcher(request)
    state = request.app[STATE]
    offset, limit = _page(request)
    query = _search(request)
    found = sorted(state.registry.groups.values(), key=lambda g: g.created_at, reverse=True)
    if query:
        found = [
            g
            for g in found
            if query in g.name.lower()
            or query in g.id
            or query in str(g.meta.get("goal", "")).lower()
            or any(query == m for m in g.members)
        ]
    tally = _tally(request)
    rows = [_group_row(g, tally) for g in found[offset : offset + limit]]
    return json_ok({"total": len(found), "offset": offset, "groups": rows})


def _group(request: web.Request) -> Group:
    return request.app[STATE].registry.group(request.match_info["group_id"])


async def group(request: web.Request) -> web.Response:
    watcher(request)
    found = _group(request)
    tally = _tally(request)
    row = _group_row(found, tally)
    row["state"] = group_state(found)
    counted = tally.groups.get(found.id)
    row["by_type"] = dict(counted.by_type) if counted else {}
    return json_ok(row)


async def messages(request: web.Request) -> web.Response:
    """A page of a group's transcript: messages with seq > `after`, at most `limit`."""
    watcher(request)
    state = request.app[STATE]
    found = _group(request)
    after = int_query(request, "after", 0, 0, 2**53)
    limit = int_query(request, "limit", 200, 1, 1000)
    rows = await state.store.messages_after(found.id, after, limit)
    text = '{"group":' + json.dumps(found.id) + ',"head":' + str(found.head)
    text += ',"messages":[' + ",".join(m.body for m in rows) + "]"
    text += ',"next_after":' + str(rows[-1].seq if rows else after) + "}"
    return web.Response(text=text, content_type="application/json")


async def replay_at(request: web.Request) -> web.Response:
    """Time travel: message `seq` of a group and the conversation's state right after it."""
    watcher(request)
    state = request.app[STATE]
    found = _group(request)
    seq = int_query(request, "seq", found.head, 0, 2**53)
    at = await request.app[REPLAYER].state_at(found, seq)
    rows = await state.store.messages_after(found.id, seq - 1, 1) if seq else []
    body = {
        "group": found.id,
        "seq": seq,
        "head": found.head,
        "message": json.loads(rows[0].body) if rows else None,
        "state": conversation_state(at),
    }
    return json_ok(body)


async def edges(request: web.Request) -> web.Response:
    """Who talks to whom: the busiest (sender, addressee or group) pairs first."""
    watcher(request)
    limit = int_query(request, "limit", 2000, 1, 20_000)
    tally = _tally(request)
    return json_ok({"edges": tally.edge_list(limit), "history_counted": tally.counted_history})


async def goals(request: web.Request) -> web.Response:
    watcher(request)
    book = request.app[GOALS]
    offset, limit = _page(request, 100)
    found = sorted(book.goals.values(), key=lambda g: g.created_at, reverse=True)
    spent, prices = _tally(request).usage.goals, request.app[FEED].prices
    rows = [book.view(g) for g in found[offset : offset + limit]]
    for row in rows:
        ledger = spent.get(row["id"])
        row["usage"] = ledger.summary(prices) if ledger is not None else None
    return json_ok({"total": len(found), "offset": offset, "goals": rows})


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: one `data:` line of JSON per event, for as long as the page reads;
    the first (`ready`) names the stream, for `follow`."""
    who = watcher(request)
    feed = request.app[FEED]
    stream = feed.subscribe(who.id)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
    )
    ready = json.dumps({"kind": "ready", "stream": stream.id, "tick_ms": int(feed.tick * 1000)})
    try:
        await response.prepare(request)
        await response.write(f"retry: 1000\ndata: {ready}\n\n".encode())
        quiet = 0.0
        while not stream.overflowed or stream.events:
            try:
                await asyncio.wait_for(stream.wake.wait(), GONE_CHECK)
            except TimeoutError:
                if request.transport is None or request.transport.is_closing():
                    break  # the page left: stop feeding it now, not at the next write
                quiet += GONE_CHECK
                if quiet >= KEEPALIVE:
                    quiet = 0.0
                    await response.write(b": keepalive\n\n")
                continue
            quiet = 0.0
            batch = stream.take()  # what gathered since the last tick, in one write
            if batch:
                await response.write("".join(f"data: {e}\n\n" for e in batch).encode())
    except ConnectionResetError:
        pass
    finally:
        feed.unsubscribe(stream)
    return response


async def follow(request: web.Request) -> web.Response:
    """Steer a stream: the conversation whose messages it carries whole (`group`, or none), and
    the sections its ticks carry (`want`); a field left out stays as it was. Everything is
    checked before anything changes."""
    who = watcher(request)
    feed = request.app[FEED]
    stream = feed.streams.get(request.match_info["stream_id"])
    if stream is None or stream.watcher_id != who.id:
        raise NotFound("no such event stream (it may have ended; open a new one)")
    wanted = await read_model(request, FollowRequest)
    given = wanted.model_fields_set
    if "group" in given and wanted.group is not None:
        request.app[STATE].registry.group(wanted.group)  # unknown_group if there is none
    if "group" in given:
        feed.follow(stream, wanted.group)
    if "want" in given:
        feed.steer(stream, frozenset(wanted.want))
    return json_ok({"stream": stream.id, "group": stream.following, "want": sorted(stream.want)})


async def _shutdown(app: web.Application) -> None:
    await app[FEED].close()


def add_routes(app: web.Application) -> None:
    state = app[STATE]
    app[FEED] = Feed(state)
    app[REPLAYER] = Replayer(state.store)
    app.on_shutdown.append(_shutdown)
    app.router.add_get("/", page)
    app.router.add_static("/dashboard/", STATIC, append_version=False)
    app.router.add_get("/v1/dashboard/me", me)
    app.router.add_get("/v1/dashboard/overview", overview)
    app.router.add_get("/v1/dashboard/agents", agents)
    app.router.add_get("/v1/dashboard/agents/{agent_id}", agent)
    app.router.add_get("/v1/dashboard/groups", groups)
    app.router.add_get("/v1/dashboard/groups/{group_id}", group)
    app.router.add_get("/v1/dashboard/groups/{group_id}/messages", messages)
    app.router.add_get("/v1/dashboard/groups/{group_id}/replay", replay_at)
    app.router.add_get("/v1/dashboard/groups/{group_id}/moves", seat.moves)
    app.router.add_post("/v1/dashboard/groups/{group_id}/moves", seat.play)
    app.router.add_get("/v1/dashboard/edges", edges)
    app.router.add_get("/v1/dashboard/goals", goals)
    accounting.add_routes(app)
    runs.add_routes(app)
    app.router.add_get("/v1/dashboard/events", events)
    app.router.add_post("/v1/dashboard/events/{stream_id}/follow", follow)
