"""Operator endpoints under `/v1/admin`: for the person running the hub, not for agents.

They need `Authorization: Bearer <admin token>` (`HubConfig.admin_token`, else the registration
token); a hub with neither set answers them only on loopback connections.
"""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web

from ioa.hub.errors import Forbidden
from ioa.hub.rest import bearer_token, json_ok
from ioa.hub.state import STATE


def operator(request: web.Request) -> None:
    config = request.app[STATE].config
    secret = config.admin_token or config.registration_token
    if secret is not None:
        if not hmac.compare_digest((bearer_token(request) or "").encode(), secret.encode()):
            raise Forbidden("operator endpoints need the hub's admin token")
        return
    peer = request.transport.get_extra_info("peername") if request.transport else None
    host = peer[0] if isinstance(peer, tuple) else ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise Forbidden("this hub has no admin token: operator endpoints answer on loopback only")


async def quarantine(request: web.Request) -> web.Response:
    """The groups the hub could not restore, each with its cause."""
    operator(request)
    return json_ok({"groups": dict(sorted(request.app[STATE].registry.quarantined.items()))})


async def retry(request: web.Request) -> web.Response:
    """Read a quarantined group from the store again, once its rows were mended."""
    operator(request)
    group = await request.app[STATE].registry.retry(request.match_info["group_id"])
    return json_ok(group.info().model_dump(mode="json"))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/admin/quarantine", quarantine)
    app.router.add_post("/v1/admin/quarantine/{group_id}/retry", retry)
