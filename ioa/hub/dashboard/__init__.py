"""The hub's own dashboard: a page at `/` (static files shipped here, no build step), fed by
REST under `/v1/dashboard` and a server-sent event stream, for people only (`access`)."""

from ioa.hub.dashboard.access import Watcher, watcher
from ioa.hub.dashboard.feed import Feed
from ioa.hub.dashboard.routes import add_routes

__all__ = ["Feed", "Watcher", "add_routes", "watcher"]
