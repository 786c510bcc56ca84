"""Pauses inside a server process, told to the parent through a small shared array.

Tail latency has three usual sources: the server's own work, its garbage collector, and a machine
too busy to run it on time. The child records full (generation 2) collections and how late its
event loop wakes for a timer that should fire every `TICK` seconds; the parent resets the array
when a measured window opens and reads it when the window closes.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import multiprocessing
import time
from dataclasses import dataclass

TICK = 0.005
STALL = 0.010
"""A wake-up later than this counts as a stall."""

Board = ctypes.Array[ctypes.c_double]
FULL_GCS, GC_PAUSE_MAX, LAG_MAX, STALLS = range(4)


def new_board() -> Board:
    board: Board = multiprocessing.get_context("spawn").Array("d", 4, lock=False)
    return board


def watch_gc(board: Board) -> None:
    """Count full collections and keep the longest pause."""
    started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started[0] = time.perf_counter()
            return
        board[FULL_GCS] += 1
        board[GC_PAUSE_MAX] = max(board[GC_PAUSE_MAX], time.perf_counter() - started[0])

    gc.callbacks.append(on_gc)


async def watch_loop(board: Board) -> None:
    """Run for the life of the loop: how late does a `TICK` timer fire? (lag = the time the
    loop was busy elsewhere or the process was not scheduled)."""
    while True:
        due = time.perf_counter() + TICK
        await asyncio.sleep(TICK)
        lag = time.perf_counter() - due
        board[LAG_MAX] = max(board[LAG_MAX], lag)
        if lag > STALL:
            board[STALLS] += 1


@dataclass(frozen=True, slots=True)
class Vitals:
    full_gcs: int
    gc_pause_max_ms: float
    loop_lag_max_ms: float
    stalls: int
    """Loop wake-ups more than `STALL` late."""


def reset(board: Board) -> None:
    for i in range(len(board)):
        board[i] = 0.0


def read(board: Board) -> Vitals:
    return Vitals(
        int(board[FULL_GCS]), board[GC_PAUSE_MAX] * 1e3, board[LAG_MAX] * 1e3, int(board[STALLS])
    )
