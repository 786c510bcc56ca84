"""Which message ids a group has stored: the newest exactly, all of them in a Bloom filter.

Exactly-once storage must hold for any resend, however old. The newest ids are kept with their
(seq, ts), so a recent resend is acked without touching the store. Every id the group ever
stored is also in a scalable Bloom filter: a new id, the common case, is known to be new without
a store lookup; only an id the filter may have seen (a real old resend, or a false positive about
one time in a hundred) costs the hub one `find_message`. The filter needs ~1.2 bytes per message.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable

RECENT_IDS = 4096
"""Message ids kept exactly per group, with their seq and ts."""

FIRST_CAPACITY = 256
GROWTH = 4
FALSE_POSITIVES = 0.01
"""Target rate of the first layer; each later layer halves it, so the sum stays under 2 %."""


class _Layer:
    """One fixed-size Bloom filter, filled up to `capacity` ids."""

    __slots__ = ("bits", "capacity", "count", "hashes", "size")

    def __init__(self, capacity: int, false_positives: float) -> None:
        self.capacity = capacity
        self.size = math.ceil(-capacity * math.log(false_positives) / math.log(2) ** 2)
        self.hashes = max(1, round(-math.log2(false_positives)))
        self.bits = bytearray((self.size + 7) // 8)
        self.count = 0

    def _positions(self, digest: int) -> Iterable[int]:
        # Double hashing (Kirsch–Mitzenmacher) from the two halves of Python's 64-bit str hash:
        # the hash is already cached on the str by the dict lookups before, so this is free.
        low, high = digest & 0xFFFFFFFF, (digest >> 32) | 1
        size = self.size
        return ((low + i * high) % size for i in range(self.hashes))

    def add(self, digest: int) -> None:
        bits = self.bits
        for pos in self._positions(digest):
            bits[pos >> 3] |= 1 << (pos & 7)
        self.count += 1

    def __contains__(self, digest: int) -> bool:
        bits = self.bits
        return all(bits[pos >> 3] & (1 << (pos & 7)) for pos in self._positions(digest))


class IdFilter:
    """A scalable Bloom filter of strings: never a false "absent", rarely a false "present".

    Only meaningful inside one process (Python's str hash is salted per process); the hub
    rebuilds it from the store at start.
    """

    __slots__ = ("_layers",)

    def __init__(self) -> None:
        self._layers = [_Layer(FIRST_CAPACITY, FALSE_POSITIVES)]

    def add(self, item: str) -> None:
        layer = self._layers[-1]
        if layer.count >= layer.capacity:
            rate = FALSE_POSITIVES / 2 ** len(self._layers)
            layer = _Layer(layer.capacity * GROWTH, rate)
            self._layers.append(layer)
        layer.add(hash(item))

    def __contains__(self, item: str) -> bool:
        digest = hash(item)
        return any(digest in layer for layer in self._layers)

    @property
    def nbytes(self) -> int:
        return sum(len(layer.bits) for layer in self._layers)


class SeenIds:
    """The ids one group has accepted: `recent(id)` gives (seq, ts) for the newest, and
    `maybe_stored(id)` is False only for an id the group has certainly never stored."""

    __slots__ = ("_all", "_recent")

    def __init__(self) -> None:
        self._recent: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._all = IdFilter()

    def remember(self, message_id: str, seq: int, ts: float) -> None:
        self._recent[message_id] = (seq, ts)
        if len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)
        self._all.add(message_id)

    def forget(self, message_id: str) -> None:
        """A message whose write failed: no longer acked from memory (the filter keeps it, which
        costs a resend one store lookup, never a wrong answer)."""
        self._recent.pop(message_id, None)

    def recent(self, message_id: str) -> tuple[int, float] | None:
        return self._recent.get(message_id)

    def maybe_stored(self, message_id: str) -> bool:
        return message_id in self._all
