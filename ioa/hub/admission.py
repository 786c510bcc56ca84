"""`ResumeAdmission`: which WebSockets replay their history now, which wait in line for a turn,
and which are told when to come back.

A hub must not replay to every agent of a reconnect wave at once (live traffic would queue
behind the replays), so at most `concurrent` resumes run together. Refusing everyone past them
(503 and `Retry-After`), as the hub first did, made a wave slow without making it cheaper: when
one of two hubs died, its 500 agents met the other's 64 slots, ~1,500 upgrades were refused,
each refused client came back after its jittered backoff with every other try on the dead hub,
and the last agent was back 5.2–13 s after the kill (quiet to busy box) while the surviving
hub's CPU sat at 10–30 % for the first seconds. A refusal costs the hub a request and the
client a round of backoff; a place in line costs an open socket and no CPU.

So a newcomer past the slots waits in line, first come first served, while the line's expected
wait is at most `max_wait` seconds and the line is shorter than `max_line`. The wait comes from
what the hub measures, not from a fixed count: `seconds_per_resume`, the time a resume holds its
slot shared among those running beside it, measured while a line waits, so the n-th in line
waits about n times it. Past either bound the newcomer is refused with `Busy` whose
`retry_after` is the line's expected wait: clients, which draw their delay around the hint, come
back spread over the time the line takes to drain.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from ioa.hub.errors import Busy

__all__ = ["ResumeAdmission", "Slot"]

SMOOTHING = 0.2
"""Weight of the newest resume in `seconds_per_resume` (an exponential moving average: a wave
moves it within a few dozen resumes)."""
MIN_RETRY_AFTER = 1.0
"""The shortest hint (HTTP's Retry-After counts whole seconds)."""


@dataclass(slots=True)
class Slot:
    """One admitted resume's hold on a slot, given back once with `ResumeAdmission.leave`."""

    since: float
    """`time.monotonic()` when the slot was taken."""
    held: bool = True


@dataclass
class ResumeAdmission:
    """At most `concurrent` resumes at once; a line for the next ones while its expected wait
    is at most `max_wait` seconds and it is shorter than `max_line`; `Busy` past it.

    Not thread-safe: one event loop. `enter` is cancellation-safe: a waiter cancelled after
    the slot was handed to it passes the slot on.
    """

    concurrent: int
    max_wait: float
    max_line: int = 2048
    """Most waiting at once, whatever the expected wait: each holds a socket while it waits."""
    seconds_per_resume: float | None = None
    """The hub's measured pace: a moving average, over resumes that ended while others waited in
    line, of each one's time in its slot divided by the slots taken, so the n-th in line waits
    about n times this; None until a line formed. Resumes that end with slots to spare are not
    counted: their time is mostly the client's round trip, and counting them (an agent alone,
    50 ms) told a later wave's 400th in line to expect 20 s, so it was refused and came back
    ~10 s later, last of all."""
    active: int = 0
    """Slots taken."""
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    """Set while no resume holds a slot or waits for one (the background rebuild waits for it)."""
    _line: deque[asyncio.Future[None]] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.idle.set()

    @property
    def waiting(self) -> int:
        """Connections in line for a slot."""
        return len(self._line)

    def expected_wait(self, position: int) -> float:
        """Seconds the connection at `position` in line (0: the first) should wait for a slot;
        0 before any resume was measured (a hub just started: its first wave waits in line,
        bounded by `max_line`, and sets the pace within its first resumes)."""
        if self.seconds_per_resume is None:
            return 0.0
        return (position + 1) * self.seconds_per_resume

    async def enter(self) -> Slot:
        """A slot, at once or after waiting in line; `Busy` if the line is too long to join."""
        if self.active < self.concurrent and not self._line:
            self.active += 1
            self.idle.clear()
            return Slot(time.monotonic())
        wait = self.expected_wait(len(self._line))
        if self.max_wait <= 0 or wait > self.max_wait or len(self._line) >= self.max_line:
            raise Busy(retry_after=self._retry_after(wait))
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._line.append(turn)
        self.idle.clear()
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # the slot was ours already: the next in line gets it
            else:
                self._line.remove(turn)
                self._check_idle()
            raise
        return Slot(time.monotonic())

    def leave(self, slot: Slot, *, measured: bool = True) -> None:
        """Give the slot back (once; later calls do nothing). `measured`: the resume ran to
        its end, so its time may count in `seconds_per_resume` (a socket that closed before
        its hello says nothing about the hub's pace)."""
        if not slot.held:
            return
        slot.held = False
        if measured and self._line:  # every slot taken: the time tells the hub's pace
            each = (time.monotonic() - slot.since) / self.active
            last = self.seconds_per_resume
            self.seconds_per_resume = each if last is None else last + SMOOTHING * (each - last)
        self._release()

    def _retry_after(self, wait: float) -> float:
        """The hint for a refused newcomer: the line's expected wait, at least a second; with
        no line, a second more per round of slots taken."""
        if self.max_wait <= 0:
            return MIN_RETRY_AFTER * (1 + self.active / self.concurrent)
        if self.seconds_per_resume is None:  # the line is full before anything was measured
            return self.max_wait
        return max(wait, MIN_RETRY_AFTER)

    def _release(self) -> None:
        self.active -= 1
        self._fill()

    def _fill(self) -> None:
        """Hand free slots to the first in line still waiting."""
        while self.active < self.concurrent and self._line:
            turn = self._line.popleft()
            if not turn.done():
                self.active += 1
                turn.set_result(None)
        self._check_idle()

    def _check_idle(self) -> None:
        if not self.active and not self._line:
            self.idle.set()
