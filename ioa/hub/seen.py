"""Which message ids a group has stored: the newest exactly, all of them in a Bloom filter.

Exactly-once storage must hold for any resend, however old. The newest ids are kept with their
(seq, ts), so a recent resend is acked without touching the store. Every id the group ever
stored is also in a scalable Bloom filter: a new id, the common case, is known to be new without
a store lookup; only an id the filter may have seen (a real old resend, or a false positive about
one time in two hundred) costs the hub one `find_message`. The filter needs ~3 bytes a message.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict

RECENT_IDS = 4096
"""Message ids kept exactly per group, with their seq and ts (~230 bytes each). Smaller windows
were measured and refused: at 256 every message of a busy group went through the filter and its
false positives' store lookups, and the hub cost 71 µs a message instead of 59 (window 4 in
`hub_throughput`); the memory they saved is what normal traffic fills, not what floods leave."""

FIRST_CAPACITY = 1024
GROWTH = 4


def _mask(digest: int) -> int:
    """Six bit positions from the hash bits that the word index does not use."""
    return (
        1 << (digest >> 28 & 63)
        | 1 << (digest >> 34 & 63)
        | 1 << (digest >> 40 & 63)
        | 1 << (digest >> 46 & 63)
        | 1 << (digest >> 52 & 63)
        | 1 << (digest >> 58 & 63)
    )


class IdFilter:
    """A scalable, blocked Bloom filter of strings: never a false "absent", rarely a false
    "present".

    Each id sets 6 bits of one 64-bit word, so a lookup reads one word per layer (a plain filter
    with 7 hashes cost ~4 µs per message). Layers grow ×4 and get 2 more bits per id each, so the
    false-positive rate stays near 0.5 % however many ids a group has. Only meaningful inside one
    process (Python's str hash is salted per process); the hub rebuilds it from the store.
    """

    __slots__ = ("_capacity", "_count", "_layers")

    def __init__(self) -> None:
        self._layers: list[array[int]] = []
        self._capacity = 0
        self._count = 0

    def add(self, item: str) -> None:
        if self._count >= self._capacity:
            self._capacity = self._capacity * GROWTH or FIRST_CAPACITY
            bits_per_id = 20 + 2 * len(self._layers)  # ~0.5 % false "maybe" in all (12: 2.3 %)
            self._layers.append(array("Q", bytes(8 * (self._capacity * bits_per_id // 64))))
            self._count = 0
        digest = hash(item) & 0xFFFFFFFFFFFFFFFF  # cached on the str by earlier dict lookups
        words = self._layers[-1]
        words[(digest & 0xFFFFFFF) % len(words)] |= _mask(digest)
        self._count += 1

    def __contains__(self, item: str) -> bool:
        digest = hash(item) & 0xFFFFFFFFFFFFFFFF
        mask, low = _mask(digest), digest & 0xFFFFFFF
        return any(words[low % len(words)] & mask == mask for words in self._layers)

    @property
    def nbytes(self) -> int:
        return sum(len(words) * 8 for words in self._layers)


class SeenIds:
    """The ids one group has stored: `recent(id)` gives (seq, ts) for the newest, and
    `maybe_stored(id)` is False only for an id that is certainly not among the older ones.

    Ids enter the filter when they leave the exact window, so a group that never had more than
    `RECENT_IDS` messages costs no filter work at all.
    """

    __slots__ = ("_older", "_recent")

    def __init__(self) -> None:
        self._recent: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._older: IdFilter | None = None

    def remember(self, message_id: str, seq: int, ts: float) -> None:
        self._recent[message_id] = (seq, ts)
        if len(self._recent) > RECENT_IDS:
            evicted, _ = self._recent.popitem(last=False)
            if self._older is None:
                self._older = IdFilter()
            self._older.add(evicted)

    def forget(self, message_id: str) -> None:
        """A message whose write failed: it was never stored."""
        self._recent.pop(message_id, None)

    def recent(self, message_id: str) -> tuple[int, float] | None:
        return self._recent.get(message_id)

    def maybe_stored(self, message_id: str) -> bool:
        """True when the id may be one of the older ones; the store has the final word."""
        return self._older is not None and message_id in self._older
