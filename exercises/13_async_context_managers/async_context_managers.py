"""Exercise 13: async context managers. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
import contextlib  # noqa: F401 - you will need it
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence  # noqa: F401
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
    """Task 1. Lends connections from `backend`, at most `size` (1 or more) at a time.

    `async with pool.lease() as conn:` waits for a free place, then awaits
    `backend.connect()` and gives the block the connection it returned. When the block ends,
    however it ends (normally, with an error, or because its task was cancelled),
    `await backend.release(conn)` closes that very connection, exactly once, and the place is
    free again once the release has finished. A connection counts against `size` from the
    moment its lease starts connecting until its release has finished. Leases waiting for a
    place get one in the order they asked (first come, first served), the moment one is
    free, however long that takes (set no time limit).

    An error raised in the block reaches the caller unchanged (the lease never hides it). If
    connect() itself fails or is cancelled, there is nothing to release: the place is freed
    and its error goes on. Each Pool keeps its own count: two pools never share places.
    """

    def __init__(self, backend: Backend, size: int) -> None:
        raise NotImplementedError("store the backend and make the pool's own limit of `size`")

    def lease(self) -> "Lease":
        """A new Lease of this pool, to use in `async with` (lease() itself is not async)."""
        raise NotImplementedError("return a new Lease(self)")


class Lease:
    """Task 1. One lease of a connection from `pool`: `async with Lease(pool) as conn:`."""

    def __init__(self, pool: Pool) -> None:
        raise NotImplementedError("keep the pool; the connection comes in __aenter__")

    async def __aenter__(self) -> Any:
        """Wait for a free place in the pool, connect, and return the connection.

        Places go first come, first served: a lease asked while others wait queues behind them,
        and a place given to a waiting lease that is cancelled before it runs goes on to the
        next one."""
        raise NotImplementedError("wait for a place, await backend.connect() and return it")

    async def __aexit__(self, exc_type, exc, tb) -> bool | None:
        """Release the connection and free the place, however the block ended; hide nothing.

        If `await backend.release(conn)` raises, the place is freed all the same and that error
        goes on to the caller (chained to the block's error, if there was one)."""
        raise NotImplementedError("await backend.release(conn), free the place, return None")


@dataclass
class Timing:
    """What timed() reports about one block."""

    label: str
    seconds: float  # loop time from entering the block to leaving it
    error: BaseException | None  # the exception that left the block (CancelledError too), or None


def timed(
    label: str, report: Callable[[Timing], Awaitable[None]]
) -> AbstractAsyncContextManager[None]:
    """Task 2. `async with timed("fetch", report):` times the block in loop time.

    Write it as an async generator decorated with @contextlib.asynccontextmanager. When the
    block ends, however it ends (normally, with an error, or cancelled), await
    `report(Timing(label, seconds, error))` exactly once, before the caller goes on: `seconds`
    is a float, the loop time (asyncio's clock, loop.time()) from entering the block to
    leaving it, not counting the report itself; `error` is the exception that left the
    block, or None. Then the block's error (if any) reaches the caller unchanged. Keep the
    label exactly as given. Blocks may be nested or run at once in several tasks: each
    timed() keeps its own start.
    """
    raise NotImplementedError("an @asynccontextmanager generator: yield inside try/finally")


def open_all(
    opener: Callable[[str], AbstractAsyncContextManager[Any]], names: Sequence[str]
) -> AbstractAsyncContextManager[list[Any]]:
    """Task 3. `async with open_all(opener, names) as resources:` opens every name.

    For each name, in order and one after another, `opener(name)` gives an async context
    manager; enter it (`async with` style) and keep what entering gave. The block gets a new
    list of those values, in the order of `names` (a name given twice is opened twice; no
    names give []). `names` is left unchanged.

    When the block ends, however it ends, every resource opened is closed (its __aexit__
    awaited with the exception in flight: the block's, or that of a close that failed
    before it) in the reverse order of opening: the last opened is closed first. If closing
    one fails, the others are still closed, and its error reaches the caller once they all
    are. If opening one fails (or the caller is
    cancelled while opening), the ones already open are closed, last first, and the error
    goes on. A block's error reaches the caller unchanged unless a close fails. Use
    contextlib.AsyncExitStack.
    """
    raise NotImplementedError("an AsyncExitStack: enter_async_context() each, yield the list")
