"""The soak's settings, typed, as `hub_soak.py` reads them from its command line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

HUB_RECENT_IDS = 4096
"""Message ids the hub remembered per group when the soak was written: resends of older ids are
the ones the issue says corrupt the sequence."""


@dataclass(frozen=True, slots=True)
class SoakConfig:
    duration: float
    """Seconds of load: quiet, flood and after, a third each."""
    agents: int
    """Agents in all, every one connected (four of them have special parts)."""
    rate: float
    """New messages a second from the normal agents, in all."""
    group_size: int
    payload: int
    """Filler bytes of a normal message."""
    burst: int
    """Frames the flooder writes per wave."""
    flood_payload: int
    wave_every: float
    storm: int
    """Normal agents reconnecting per wave."""
    resends: int
    """Resends of each kind per wave."""
    history: int
    """Messages in the deep group before the load: more than `HUB_RECENT_IDS` to resend ids
    older than the hub remembers."""
    outbox_bytes: int
    """The per-connection budget of the memory goal; passed to the hub if it knows the field."""
    outbox_bytes_supported: bool
    rss_slack_mb: float
    settle: float
    """Idle seconds after the load before RSS is read."""
    hub_settings: dict[str, Any] = field(default_factory=dict)
    """HubConfig fields given to the hub beyond host, port and database."""

    @property
    def phase_seconds(self) -> float:
        return self.duration / 3

    @property
    def waves(self) -> int:
        return max(1, int(self.phase_seconds // self.wave_every))

    def as_json(self) -> dict[str, Any]:
        return asdict(self)
