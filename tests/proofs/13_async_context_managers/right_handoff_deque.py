"""Exercise 13: async context managers, a right answer.

a deque of futures, each freed place handed to the first waiter; timed() as a class;
open_all() by recursion.
"""

import asyncio
import collections
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
        self.free = size
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def lease(self) -> "Lease":
        return Lease(self)

    async def take(self) -> None:
        if self.free and not self.waiters:
            self.free -= 1
            return
        fut = asyncio.get_running_loop().create_future()
        self.waiters.append(fut)
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self.give_back()  # handed the place, then cancelled before it ran: pass it on
            elif fut in self.waiters:
                self.waiters.remove(fut)
            raise

    def give_back(self) -> None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # the place goes straight to the longest waiting lease
                return
        self.free += 1


class Lease:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def __aenter__(self) -> Any:
        await self.pool.take()
        try:
            self.conn = await self.pool.backend.connect()
        except BaseException:
            self.pool.give_back()
            raise
        return self.conn

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            await self.pool.backend.release(self.conn)
        finally:
            self.pool.give_back()


@dataclass
class Timing:
    """What timed() reports about one block."""

    label: str
    seconds: float  # loop time from entering the block to leaving it
    error: BaseException | None  # the exception that left the block (CancelledError too), or None


class _Timed:
    def __init__(self, label: str, report) -> None:
        self.label, self.report = label, report

    async def __aenter__(self) -> None:
        self.began = asyncio.get_running_loop().time()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        seconds = asyncio.get_running_loop().time() - self.began
        await self.report(Timing(self.label, seconds, exc))


def timed(
    label: str, report: Callable[[Timing], Awaitable[None]]
) -> AbstractAsyncContextManager[None]:
    return _Timed(label, report)


@contextlib.asynccontextmanager
async def _nested(opener, names: list[str], values: list[Any]) -> AsyncIterator[list[Any]]:
    if not names:
        yield values
        return
    async with opener(names[0]) as value:
        async with _nested(opener, names[1:], [*values, value]) as done:
            yield done


def open_all(
    opener: Callable[[str], AbstractAsyncContextManager[Any]], names: Sequence[str]
) -> AbstractAsyncContextManager[list[Any]]:
    return _nested(opener, list(names), [])
