"""The soak's phases and what the normal agents measured in each.

A message belongs to the phase in which it was sent, whenever its ack or delivery comes back: a
message sent in the last second of the flood and acked two seconds later is a flood figure.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from _hub.measure import percentile


class Phase(enum.IntEnum):
    """Where the soak is; the value travels inside each message's text."""

    IDLE = 0
    """No traffic: connected agents before the load (the RSS base) and after it."""
    QUIET = 1
    """Normal traffic only: the baseline."""
    FLOOD = 2
    """Normal traffic beside the flooder, the slow reader, reconnect storms and resends."""
    DRAIN = 3
    """The flood has stopped; the hub works off its backlog (not a goal, shown for honesty)."""
    AFTER = 4
    """Normal traffic only again: does the hub come back to its baseline?"""


REPORTED = (Phase.QUIET, Phase.FLOOD, Phase.DRAIN, Phase.AFTER)


@dataclass(slots=True)
class PhaseSamples:
    """Raw figures of one phase, filled by the normal agents' readers."""

    sent: int = 0
    acked: int = 0
    ack_ns: list[int] = field(default_factory=list)
    """Send → ack, per message."""
    delivery_ns: list[int] = field(default_factory=list)
    """Send → arrival at a peer, per delivery."""


class Clock:
    """The current phase, read by every sender and reader of the load process."""

    def __init__(self) -> None:
        self.phase = Phase.IDLE
        self.samples = {p: PhaseSamples() for p in Phase}

    def enter(self, phase: Phase) -> None:
        self.phase = phase

    def now(self) -> PhaseSamples:
        return self.samples[self.phase]


@dataclass(frozen=True, slots=True)
class PhaseFigures:
    sent: int
    acked: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    delivery_p50_ms: float
    delivery_p99_ms: float


def reduce_phase(samples: PhaseSamples) -> PhaseFigures:
    acks = sorted(samples.ack_ns)
    deliveries = sorted(samples.delivery_ns)
    return PhaseFigures(
        sent=samples.sent,
        acked=samples.acked,
        p50_ms=percentile(acks, 0.50),
        p99_ms=percentile(acks, 0.99),
        max_ms=percentile(acks, 1.0),
        delivery_p50_ms=percentile(deliveries, 0.50),
        delivery_p99_ms=percentile(deliveries, 0.99),
    )
