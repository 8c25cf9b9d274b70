"""Exercise 13: async context managers, a right answer.

a Lease delegating to an @asynccontextmanager; open_all() unwinds by hand.
"""

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol


class Backend(Protocol):
    """Where a Pool's connections come from (the tests hand you a fake one)."""

    async def connect(self) -> Any:
        """Open a new connection and return it (any object: even 0, "" or None)."""

    async def release(self, conn: Any) -> None:
        """Close a connection that connect() gave."""


class Pool:
    def __init__(self, backend: Backend, size: int) -> None:
        self.backend = backend
        self.places = asyncio.BoundedSemaphore(size)

    def lease(self) -> "Lease":
        return Lease(self)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        async with self.places:
            conn = await self.backend.connect()
            try:
                yield conn
            finally:
                await self.backend.release(conn)


class Lease:
    def __init__(self, pool: Pool) -> None:
        self.inner = pool.connection()

    async def __aenter__(self) -> Any:
        return await self.inner.__aenter__()

    async def __aexit__(self, exc_type, exc, tb) -> bool | None:
        return await self.inner.__aexit__(exc_type, exc, tb)


@dataclass
class Timing:
    """What timed() reports about one block."""

    label: str
    seconds: float  # loop time from entering the block to leaving it
    error: BaseException | None  # the exception that left the block (CancelledError too), or None


@contextlib.asynccontextmanager
async def timed(label: str, report: Callable[[Timing], Awaitable[None]]) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    try:
        yield
    finally:
        await report(Timing(label, loop.time() - t0, sys.exc_info()[1]))


@contextlib.asynccontextmanager
async def open_all(
    opener: Callable[[str], AbstractAsyncContextManager[Any]], names: Sequence[str]
) -> AsyncIterator[list[Any]]:
    opened: list[AbstractAsyncContextManager[Any]] = []
    values: list[Any] = []
    error: BaseException | None = None
    try:
        for name in names:
            cm = opener(name)
            values.append(await cm.__aenter__())
            opened.append(cm)
        yield values
    except BaseException as exc:
        error = exc
    for cm in reversed(opened):
        try:
            if await cm.__aexit__(None if error is None else type(error), error, None):
                error = None
        except BaseException as exc:
            error = exc
    if error is not None:
        raise error
