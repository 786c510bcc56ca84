"""Async context managers by lifecycle: `Service` (start and stop), `Closeable` (close only)."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self


class Service(abc.ABC):
    """`async with thing:` starts it and stops it, whatever happens in the block."""

    @abc.abstractmethod
    async def start(self) -> Self: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class Closeable(abc.ABC):
    """`async with thing:` closes it, whatever happens in the block; it is usable once built."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
