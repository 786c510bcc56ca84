"""A `Seat`: where a person reads the conversation and answers; the terminal is one.

`HumanBrain` only needs two things of a seat: show text, and ask a question and get a line back.
The terminal seat reads standard input without blocking the event loop; a dashboard seat would
implement the same two methods over its own connection.
"""

from __future__ import annotations

import abc
import asyncio
import sys
from typing import TextIO

__all__ = ["Seat", "SeatClosed", "TerminalSeat"]

LINE_MAX = 64 * 1024
"""Longest answer line read from a person (the protocol's texts are far shorter)."""


class SeatClosed(Exception):
    """The person left: their input ended (end of file, a closed terminal)."""


class Seat(abc.ABC):
    """One person's place in the conversation.

    `ask` is called for one question at a time (`HumanBrain` serialises them); it returns the
    answer without its line end, or raises `SeatClosed` once the person can no longer answer.
    Cancelling `ask` (a turn timeout) abandons the question; the next `ask` starts afresh.
    """

    @abc.abstractmethod
    def show(self, text: str) -> None: ...

    @abc.abstractmethod
    async def ask(self, prompt: str) -> str: ...


class TerminalSeat(Seat):
    """Standard input and output (or any pair of text streams for the output side)."""

    def __init__(self, output: TextIO | None = None) -> None:
        self.output = output or sys.stdout
        self._reader: asyncio.StreamReader | None = None
        self._closed = False
        self._pending: asyncio.Future[bytes] | None = None
        self._pending_for = 0
        self._asked = 0

    async def _stdin(self) -> asyncio.StreamReader:
        if self._reader is None:
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader(limit=LINE_MAX)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
            self._reader = reader
        return self._reader

    def show(self, text: str) -> None:
        print(text, file=self.output, flush=True)

    async def ask(self, prompt: str) -> str:
        if self._closed:
            raise SeatClosed()
        print(prompt, end="", file=self.output, flush=True)
        reader = await self._stdin()
        self._asked += 1
        question = self._asked
        while True:
            if self._pending is None:
                self._pending = asyncio.ensure_future(reader.readline())
                self._pending_for = question
            try:
                line = await asyncio.shield(self._pending)
            except ValueError:  # longer than LINE_MAX
                line = b"\n"
            self._pending = None
            if not line:
                self._closed = True
                raise SeatClosed()
            if self._pending_for == question:
                return line.decode("utf-8", "replace").rstrip("\r\n")
            # typed for a question whose time ran out: not an answer to this one
