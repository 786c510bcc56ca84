"""Every promise the load was given, checked against the cluster's PostgreSQL.

An ack promises that the id is stored under the seq it names: an acked id absent is lost, one
stored under another seq moved. An id stored twice in a group is a duplicate; a group whose
seqs are not exactly 1..N has gaps. Each receiver must have been delivered every stored
message of its group, once and in order (its cursor reached the group's head, no seq skipped
or repeated on the way).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]


@dataclass(frozen=True, slots=True)
class Audit:
    stored: int
    acked: int
    lost: int
    moved: int
    duplicates: int
    gaps: int
    unacked: int
    unacked_stored: int
    refused: int
    not_delivered: int
    """Stored messages a receiver never got (its cursor short of its group's head)."""
    duplicates_delivered: int
    gaps_delivered: int
    ack_conflicts: int

    @property
    def clean(self) -> bool:
        faults = (self.lost, self.moved, self.duplicates, self.gaps, self.not_delivered)
        return not any(faults) and not self.duplicates_delivered and not self.gaps_delivered


async def audit(db_url: str, reports: list[dict[str, Any]]) -> Audit:
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch("SELECT group_id, id, seq FROM messages")
    finally:
        await conn.close()
    stored: defaultdict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        stored[r["group_id"]][r["id"]].append(r["seq"])
    duplicates = sum(len(s) - 1 for ids in stored.values() for s in ids.values())
    gaps = 0
    for ids in stored.values():
        seqs = {s for ss in ids.values() for s in ss}
        gaps += max(seqs, default=0) - len(seqs)
    lost = moved = unacked = unacked_stored = refused = not_delivered = acked = 0
    for report in reports:
        for group, promises in report["acked"].items():
            have = stored.get(group, {})
            acked += len(promises)
            for message_id, seq in promises.items():
                if message_id not in have:
                    lost += 1
                elif seq not in have[message_id]:
                    moved += 1
        for group, ids in report["unacked"].items():
            unacked += len(ids)
            unacked_stored += sum(1 for i in ids if i in stored.get(group, {}))
        refused += sum(len(ids) for ids in report["refused"].values())
        for group, cursor in report["received"].items():
            head = max((s for ss in stored.get(group, {}).values() for s in ss), default=0)
            not_delivered += max(0, head - cursor)
    return Audit(
        stored=len(rows),
        acked=acked,
        lost=lost,
        moved=moved,
        duplicates=duplicates,
        gaps=gaps,
        unacked=unacked,
        unacked_stored=unacked_stored,
        refused=refused,
        not_delivered=not_delivered,
        duplicates_delivered=sum(r["duplicates_delivered"] for r in reports),
        gaps_delivered=sum(r["gaps_delivered"] for r in reports),
        ack_conflicts=sum(r["conflicts"] for r in reports),
    )
