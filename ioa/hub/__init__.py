"""The hub: registry, groups, authoritative conversation state, persistence and delivery."""

from ioa.hub.app import Hub, create_app
from ioa.hub.errors import HubError
from ioa.hub.state import HubState

__all__ = ["Hub", "HubError", "HubState", "create_app"]
