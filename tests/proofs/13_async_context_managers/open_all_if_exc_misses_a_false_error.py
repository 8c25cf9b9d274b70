"""Exercise 13, a wrong answer: open_all() enters and closes by hand, and tests the exception
with `if pending:`, so a block error that is false in an `if` is swallowed and no close gets
it."""

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
    """Task 1. Lends connections from `backend`, at most `size` (1 or more) at a time."""

    def __init__(self, backend: Backend, size: int) -> None:
        self.backend = backend
        self.places = asyncio.Semaphore(size)

    def lease(self) -> "Lease":
        """A new Lease of this pool, to use in `async with` (lease() itself is not async)."""
        return Lease(self)


class Lease:
    """Task 1. One lease of a connection from `pool`: `async with Lease(pool) as conn:`."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.conn: Any = None

    async def __aenter__(self) -> Any:
        """Wait for a free place in the pool, connect, and return the connection."""
        await self.pool.places.acquire()
        try:
            self.conn = await self.pool.backend.connect()
        except BaseException:
            self.pool.places.release()
            raise
        return self.conn

    async def __aexit__(self, exc_type, exc, tb) -> bool | None:
        """Release the connection and free the place, however the block ended; hide nothing."""
        try:
            await self.pool.backend.release(self.conn)
        finally:
            self.pool.places.release()
        return None


@dataclass
class Timing:
    """What timed() reports about one block."""

    label: str
    seconds: float  # loop time from entering the block to leaving it
    error: BaseException | None  # the exception that left the block (CancelledError too), or None


@contextlib.asynccontextmanager
async def timed(label: str, report: Callable[[Timing], Awaitable[None]]) -> AsyncIterator[None]:
    """Task 2. `async with timed("fetch", report):` times the block in loop time."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    error: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        error = exc
        raise
    finally:
        await report(Timing(label, loop.time() - start, error))


@contextlib.asynccontextmanager
async def open_all(
    opener: Callable[[str], AbstractAsyncContextManager[Any]], names: Sequence[str]
) -> AsyncIterator[list[Any]]:
    """Task 3. `async with open_all(opener, names) as resources:` opens every name."""
    entered = []
    values = []
    pending: BaseException | None = None
    try:
        for name in names:
            cm = opener(name)
            values.append(await cm.__aenter__())
            entered.append(cm)
        yield values
    except BaseException as exc:
        pending = exc
    for cm in reversed(entered):
        try:
            if pending:
                await cm.__aexit__(type(pending), pending, pending.__traceback__)
            else:
                await cm.__aexit__(None, None, None)
        except BaseException as exc:
            pending = exc
    if pending:
        raise pending
