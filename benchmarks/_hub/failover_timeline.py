"""Where a failover's seconds go, from what the load saw and the surviving hubs' CPU: when the
agents noticed the kill, when their successful attempt began, how long the hub took to upgrade
it (its line included), what was refused (503 from a live hub, or no hub listening), and per
half second after the kill: resumes, refusals and the CPU the surviving hubs used.

Only a description printed beside `hub_cluster.py`'s failover figure; it changes nothing of how
that figure is measured.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

from _hub.cluster_infra import tree_cpu
from _hub.cluster_load import Phase

STEP = 0.5
"""Seconds per line of the timeline."""


async def sample_cpu(pids: Sequence[int], seconds: float) -> list[float]:
    """Cores the processes (and their children) used in each `STEP` from now, for `seconds`."""
    out: list[float] = []
    last = sum(tree_cpu(pid) for pid in pids)
    for _ in range(int(seconds / STEP)):
        await asyncio.sleep(STEP)
        now = sum(tree_cpu(pid) for pid in pids)
        out.append((now - last) / STEP)
        last = now
    return out


def timeline(key: str, killed_at: float, phases: Sequence[Phase], cpu: Sequence[float]) -> str:
    """The failover of config `key` described in lines, times in seconds after the kill."""

    def since(pairs: list[tuple[float, float]], which: int) -> list[float]:
        return sorted(pair[which] - killed_at for pair in pairs if pair[0] >= killed_at)

    def took(pairs: list[tuple[float, float]]) -> list[float]:
        return sorted(end - begin for begin, end in pairs if begin >= killed_at)

    resumed = [r for p in phases for r in p.resumed if r[0] >= killed_at - 0.1]
    back = sorted(end - killed_at for _, end in resumed)
    noticed = sorted(lost - killed_at for lost, _ in resumed)
    upgraded = [u for p in phases for u in p.upgraded]
    busy = [b for p in phases for b in p.busy]
    dead = [d for p in phases for d in p.unreachable]
    tried, busy_at, dead_at = since(upgraded, 0), since(busy, 1), since(dead, 1)
    lines = [
        f"[{key}] after the kill: noticed p50 {_q(noticed, 0.5):.2f}, max {_q(noticed, 1):.2f} s;"
        f" the attempt taken began p50 {_q(tried, 0.5):.2f}, max {_q(tried, 1):.2f} s, upgraded"
        f" (line included) in p50 {_q(took(upgraded), 0.5):.2f}, max {_q(took(upgraded), 1):.2f}"
        f" s; resumed p50 {_q(back, 0.5):.2f}, p90 {_q(back, 0.9):.2f}, p99 {_q(back, 0.99):.2f}"
        f" s; refused: busy (503) {len(busy_at)} (answered in p50 {_q(took(busy), 0.5):.3f} s),"
        f" unreachable (the dead hub) {len(dead_at)}"
    ]
    for k in range(math.ceil(back[-1] / STEP) if back else 0):
        lo, hi = k * STEP, (k + 1) * STEP
        used = cpu[k] if k < len(cpu) else math.nan
        lines.append(
            f"[{key}]   {lo:4.1f}-{hi:4.1f} s: resumed {_count(back, lo, hi):4d}, 503 "
            f"{_count(busy_at, lo, hi):4d}, dead hub {_count(dead_at, lo, hi):4d}, surviving hubs'"
            f" CPU {used:4.0%}"
        )
    return "\n".join(lines)


def _q(ordered: list[float], q: float) -> float:
    """Nearest-rank quantile of sorted seconds."""
    return ordered[max(1, math.ceil(q * len(ordered))) - 1] if ordered else math.nan


def _count(times: list[float], lo: float, hi: float) -> int:
    return sum(1 for t in times if lo <= t < hi)
