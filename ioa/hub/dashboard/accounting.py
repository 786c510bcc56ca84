"""Model use over REST: the hub's totals and one goal's account, for the dashboard.

    GET /v1/dashboard/usage              → {"prices", "total", "history_counted"}
    GET /v1/dashboard/goals/{goal_id}    → the goal, its usage by part and side, per agent,
                                           and its groups (its team and every sub-team)

An agent's own account is in `GET /v1/dashboard/agents/{id}` (`accounting.usage`), and one row
per agent or goal in the lists (`usage`). Figures come from the agents' reports on their
messages (`protocols.usage`), counted by the tally; `history_counted` false means the tally is
still reading history back from the store and the figures will grow to their totals. Costs are
figured from the hub's configured prices per 1,000 tokens (`price_local`, `price_cloud`), and
are null when none is set.
"""

from __future__ import annotations

from aiohttp import web

from ioa.hub.dashboard.access import watcher
from ioa.hub.dashboard.feed import FEED
from ioa.hub.dashboard.views import group_summary
from ioa.hub.errors import NotFound
from ioa.hub.goals import GOALS
from ioa.hub.rest import json_ok


async def usage(request: web.Request) -> web.Response:
    watcher(request)
    feed = request.app[FEED]
    tally = feed.counts()
    return json_ok(
        {
            "prices": feed.prices.view(),
            "total": tally.usage.total.view(feed.prices),
            "history_counted": tally.counted_history,
        }
    )


async def goal(request: web.Request) -> web.Response:
    """One goal: its status, what its teams' models spent (by part, side and agent), its groups."""
    watcher(request)
    feed = request.app[FEED]
    book = request.app[GOALS]
    found = book.goals.get(request.match_info["goal_id"])
    if found is None:
        raise NotFound(f"no goal {request.match_info['goal_id']!r}")
    tally = feed.counts()
    prices = feed.prices
    ledger = tally.usage.goals.get(found.id)
    names = feed.state.registry.agents
    per_agent = [
        {"id": agent_id, "name": names[agent_id].card.name if agent_id in names else agent_id}
        | spent.summary(prices)
        for agent_id, spent in tally.usage.goal_agents.get(found.id, {}).items()
    ]
    per_agent.sort(key=lambda row: -int(row["tokens"]))
    groups = sorted(book.groups_of(found.id), key=lambda g: g.created_at)
    return json_ok(
        book.view(found)
        | {
            "usage": ledger.view(prices) if ledger is not None else None,
            "agents": per_agent,
            "groups": [group_summary(g) for g in groups],
            "prices": prices.view(),
            "history_counted": tally.counted_history,
        }
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/dashboard/usage", usage)
    app.router.add_get("/v1/dashboard/goals/{goal_id}", goal)
