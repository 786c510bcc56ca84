"""Who may watch the dashboard: a person, never an agent.

A person's token is the one `ioa login` got for them: the token of an agent card of kind
"human". The hub's admin token (the operator) may watch too. Every other agent's token is refused
with `forbidden`, a missing or unknown one with `unauthorized`: a page without a person's token
sees nothing. (Anyone who may register may register a "human" card; a hub that wants only its own
people to watch sets a registration token.)
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from aiohttp import web

from ioa.hub.entries import Agent
from ioa.hub.errors import Forbidden, Unauthorized
from ioa.hub.rest import bearer_token
from ioa.hub.state import STATE

WATCHER_KINDS = frozenset({"human"})
"""Card kinds whose tokens may watch."""


@dataclass(frozen=True, slots=True)
class Watcher:
    """Who is watching: a person (their agent record), or the operator (`agent` None)."""

    agent: Agent | None

    @property
    def id(self) -> str | None:
        return self.agent.id if self.agent else None

    @property
    def name(self) -> str:
        return self.agent.card.name if self.agent else "operator"


def watcher(request: web.Request) -> Watcher:
    """The person behind the request's bearer token, or `Unauthorized`/`Forbidden`."""
    state = request.app[STATE]
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("the dashboard needs a person's token (from `ioa login`)")
    admin = state.config.admin_token
    if admin is not None and hmac.compare_digest(token.encode(), admin.encode()):
        return Watcher(None)
    agent = state.registry.authenticate(token)
    if agent.card.kind not in WATCHER_KINDS:
        raise Forbidden(
            f"an agent of kind {agent.card.kind!r} may not watch; the dashboard is for people "
            "(a token from `ioa login`)"
        )
    return Watcher(agent)
