"""Reconnect delays with full jitter, so the agents of a restarted hub come back spread out.

Doubling a fixed delay up to a cap makes every agent that lost the same hub retry in the same
instants (a restarted hub saw its agents return in two waves, ~3.3 s and ~5.3 s after the
respawn). With full jitter each wait is uniform in [0, min(cap, base·2ⁿ)]: the same expected
progress, no waves. A hub that says how long to wait (`Retry-After`) is obeyed on average, each
client drawing from half to one and a half times the hint, so the hint does not become a floor
under which every refused client waits and then returns at once (a second wave, measured).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """A hub's `Retry-After` in seconds, if it sent a usable one."""
    try:
        value = float((headers or {}).get("Retry-After", ""))
    except ValueError:
        return None
    return value if 0 < value <= 3600 else None


@dataclass
class Backoff:
    base: float = 0.1
    """The first window, in seconds."""
    cap: float = 5.0
    """The largest window."""
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next(self, hint: float | None = None) -> float:
        """Seconds to wait before the next attempt; `hint` is the hub's Retry-After."""
        window = min(self.cap, self.base * 2**self.attempt)
        self.attempt += 1
        delay = self.rng.uniform(0, window)
        if hint is not None and hint > 0:  # around the hint, not after it: no floor, no wave
            delay = hint * self.rng.uniform(0.5, 1.5)
        return delay

    def reset(self) -> None:
        """Connected again: the next loss starts from the smallest window."""
        self.attempt = 0
