"""What the clients were promised, checked against what the hub's SQLite file holds.

An ack is the hub's promise that a message is stored under the seq it names. After the hub has
stopped, its database is opened read-only and every promise is checked: an acked id missing is
lost, an acked id stored under another seq broke the promise, an id stored twice in a group is a
duplicate, and a group whose seqs are not exactly 1..N has gaps.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

EXAMPLES = 5
"""Examples kept of each kind of fault, for the report."""


@dataclass(slots=True)
class Ledger:
    """Every ack any client of the soak received, and every message still unacked at the end."""

    acked: defaultdict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    """group id → message id → the seq of its first ack."""
    unacked: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """group id → ids sent whose ack never came (not a loss: the hub never promised)."""
    ack_conflicts: int = 0
    """Acks naming another seq than an earlier ack of the same id."""
    examples: list[str] = field(default_factory=list)

    def ack(self, group_id: str, message_id: str, seq: int) -> None:
        """Record an ack; a second ack of an id must repeat the first one's seq."""
        known = self.acked[group_id].setdefault(message_id, seq)
        if known != seq:
            self.ack_conflicts += 1
            if len(self.examples) < EXAMPLES:
                self.examples.append(f"{message_id} acked as seq {known}, then {seq}")

    def first_seq(self, group_id: str, message_id: str) -> int | None:
        return self.acked[group_id].get(message_id)

    def merge(self, group_id: str, acks: dict[str, int]) -> None:
        """Take the acks another process collected (the flooder's)."""
        for message_id, seq in acks.items():
            self.ack(group_id, message_id, seq)

    @property
    def promises(self) -> int:
        return sum(len(ids) for ids in self.acked.values())


@dataclass(frozen=True, slots=True)
class Audit:
    stored: int
    """Rows in the messages table."""
    promises: int
    """Distinct acked ids checked."""
    lost: int
    """Acked ids not stored at all."""
    moved: int
    """Acked ids stored under another seq than their ack named."""
    duplicates: int
    """Extra rows of ids stored more than once in one group."""
    gaps: int
    """Seqs missing from 1..N, summed over the groups."""
    unacked: int
    unacked_stored: int
    """Unacked ids that are stored nevertheless (their ack was lost with a dropped socket)."""
    examples: list[str]


def _open_read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def _group_shapes(conn: sqlite3.Connection) -> list[tuple[str, int, int, int, int]]:
    """(group, rows, distinct ids, lowest seq, highest seq) per group."""
    rows = conn.execute(
        "SELECT group_id, count(*), count(DISTINCT id), min(seq), max(seq)"
        " FROM messages GROUP BY group_id"
    )
    return [(str(g), int(n), int(d), int(lo), int(hi)) for g, n, d, lo, hi in rows]


def _missing_seqs(conn: sqlite3.Connection, group_id: str, limit: int = 5) -> list[int]:
    """The first few seqs absent from a group's 1..N."""
    missing: list[int] = []
    expected = 1
    for (seq,) in conn.execute(
        "SELECT seq FROM messages WHERE group_id = ? ORDER BY seq", (group_id,)
    ):
        while expected < seq and len(missing) < limit:
            missing.append(expected)
            expected += 1
        expected = seq + 1
        if len(missing) >= limit:
            break
    return missing


def _stored_ids(conn: sqlite3.Connection, group_id: str) -> dict[str, int]:
    rows = conn.execute("SELECT id, seq FROM messages WHERE group_id = ?", (group_id,))
    return {str(i): int(s) for i, s in rows}


def audit(db: Path, ledger: Ledger, heads: dict[str, int]) -> Audit:
    """Check every promise in the ledger against the database of a stopped hub; `heads` are
    the groups' newest seqs as the hub counted them before it stopped."""
    examples = list(ledger.examples)
    with _open_read_only(db) as conn:
        shapes = _group_shapes(conn)
        stored = sum(n for _, n, _, _, _ in shapes)
        duplicates = sum(n - d for _, n, d, _, _ in shapes)
        gaps = 0
        highest = {group_id: high for group_id, _, _, _, high in shapes}
        for group_id, rows, _, low, high in shapes:
            missing = high - rows + (1 if low < 1 else 0)
            if missing > 0:
                gaps += missing
                if len(examples) < 3 * EXAMPLES:
                    first = _missing_seqs(conn, group_id)
                    examples.append(f"group {group_id}: {missing} seqs missing, first {first}")
        for group_id, head in heads.items():
            unstored = head - highest.get(group_id, 0)
            if unstored > 0:
                gaps += unstored
                if len(examples) < 3 * EXAMPLES:
                    examples.append(
                        f"group {group_id}: head {head}, newest stored {highest.get(group_id, 0)}"
                    )
        lost = moved = unacked_stored = 0
        for group_id in set(ledger.acked) | set(ledger.unacked):
            ids = _stored_ids(conn, group_id)
            for message_id, seq in ledger.acked[group_id].items():
                if message_id not in ids:
                    lost += 1
                    if len(examples) < 3 * EXAMPLES:
                        examples.append(f"{message_id} acked as seq {seq}, not stored")
                elif ids[message_id] != seq:
                    moved += 1
                    if len(examples) < 3 * EXAMPLES:
                        examples.append(f"{message_id} acked as {seq}, stored as {ids[message_id]}")
            unacked_stored += sum(1 for m in ledger.unacked[group_id] if m in ids)
    return Audit(
        stored=stored,
        promises=ledger.promises,
        lost=lost,
        moved=moved,
        duplicates=duplicates,
        gaps=gaps,
        unacked=sum(len(ids) for ids in ledger.unacked.values()),
        unacked_stored=unacked_stored,
        examples=examples,
    )
