"""Exercise 13: async context managers, a right answer.

a Condition and a counter; open_all() as a class.
"""

import asyncio
import contextlib
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
        self.size = size
        self.taken = 0
        self.changed = asyncio.Condition()

    def lease(self) -> "Lease":
        return Lease(self)

    async def take(self) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: self.taken < self.size)
            self.taken += 1

    async def give_back(self) -> None:
        async with self.changed:
            self.taken -= 1
            self.changed.notify()


class Lease:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def __aenter__(self) -> Any:
        await self.pool.take()
        ok = False
        try:
            self.conn = await self.pool.backend.connect()
            ok = True
        finally:
            if not ok:
                await asyncio.shield(self.pool.give_back())
        return self.conn

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        try:
            await self.pool.backend.release(self.conn)
        finally:
            await asyncio.shield(self.pool.give_back())
        return False


@dataclass
class Timing:
    """What timed() reports about one block."""

    label: str
    seconds: float  # loop time from entering the block to leaving it
    error: BaseException | None  # the exception that left the block (CancelledError too), or None


@contextlib.asynccontextmanager
async def timed(label: str, report: Callable[[Timing], Awaitable[None]]) -> AsyncIterator[None]:
    clock = asyncio.get_running_loop().time
    began = clock()
    try:
        yield
    except BaseException as exc:
        await report(Timing(label, clock() - began, exc))
        raise
    else:
        await report(Timing(label, clock() - began, None))


class _OpenAll:
    def __init__(self, opener, names) -> None:
        self.opener, self.names = opener, tuple(names)

    async def __aenter__(self) -> list[Any]:
        self.stack = contextlib.AsyncExitStack()
        await self.stack.__aenter__()
        try:
            values = []
            for name in self.names:
                values.append(await self.stack.enter_async_context(self.opener(name)))
            return values
        except BaseException:
            if not await self.stack.__aexit__(*__import__("sys").exc_info()):
                raise
            raise

    async def __aexit__(self, exc_type, exc, tb):
        return await self.stack.__aexit__(exc_type, exc, tb)


def open_all(
    opener: Callable[[str], AbstractAsyncContextManager[Any]], names: Sequence[str]
) -> AbstractAsyncContextManager[list[Any]]:
    return _OpenAll(opener, names)
