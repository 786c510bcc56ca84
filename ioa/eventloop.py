"""Which event loop a serving process runs on: uvloop where it is installed, else asyncio's.

A hub spends most of its CPU in the event loop's own machinery (selector, callbacks, socket
reads and writes, futures crossing from its SQLite writer thread); uvloop does that work in C on
libuv. The choice is the process's (`ioa hub --loop`), never the `Hub` object's: a test or a
program that embeds a hub keeps the loop it already runs.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar, get_args

from ioa.errors import IoAError

__all__ = ["LOOPS", "LoopChoice", "UnknownLoop", "loop_factory", "resolve", "run"]

LoopChoice = Literal["auto", "asyncio", "uvloop"]
LOOPS: tuple[str, ...] = get_args(LoopChoice)

T = TypeVar("T")


class UnknownLoop(IoAError):
    """The loop asked for is not one of `LOOPS`, or is not installed here."""

    code = "unknown_loop"


def resolve(choice: str) -> Literal["asyncio", "uvloop"]:
    """The loop `choice` means on this machine: `auto` is uvloop when it can be imported."""
    if choice not in LOOPS:
        raise UnknownLoop(f"unknown event loop {choice!r}: one of {', '.join(LOOPS)}")
    installed = importlib.util.find_spec("uvloop") is not None
    if choice == "uvloop" and not installed:
        raise UnknownLoop("uvloop is not installed here (pip install uvloop; not on Windows)")
    if choice == "auto":
        return "uvloop" if installed else "asyncio"
    return "uvloop" if choice == "uvloop" else "asyncio"


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """A factory for `asyncio.Runner`; None means asyncio's default loop."""
    if resolve(choice) == "asyncio":
        return None
    import uvloop

    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], choice: str = "auto") -> T:
    """`asyncio.run(main)` on the loop `choice` names."""
    try:
        factory = loop_factory(choice)
    except UnknownLoop:
        main.close()  # never awaited: say nothing about it
        raise
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)
