"""Exercise 09: timeouts and shield. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
from collections.abc import Awaitable, Callable


async def price_or_fallback(
    fetch_price: Callable[[], Awaitable[float]], fallback: float, limit: float = 2.0
) -> float:
    """Task 1. Ask for a live price, but give up after `limit` seconds.

    Call `fetch_price()` once. If it returns within `limit` seconds (counted from when you are
    called), return its price as soon as it arrives. If it is still running after `limit`
    seconds, cancel it (its cleanup must be over by the time you return) and return
    `fallback`, exactly `limit` seconds after you were called. Any other error raised by
    `fetch_price()` must reach your caller unchanged, and if your caller cancels you, you must
    let that cancellation through too: only a timeout is replaced by the fallback.
    """
    raise NotImplementedError(
        "await fetch_price() under asyncio.wait_for(..., limit) or asyncio.timeout(limit) "
        "and return fallback on TimeoutError"
    )


async def download(
    read_chunk: Callable[[], Awaitable[bytes]], budget: float, bonus: float
) -> bytes:
    """Task 2. Download a file chunk by chunk, under a deadline that progress pushes back.

    Call `await read_chunk()` again and again: it returns the next chunk of bytes, or `b""`
    once the file is complete. Return all the chunks joined together, as one `bytes`, every
    chunk exactly as it came (the same bytes twice are two chunks).

    The deadline starts `budget` seconds after you are called. Every (non-empty) chunk that
    arrives earns `bonus` more seconds: the deadline moves `bonus` seconds later than it was
    (not `bonus` seconds from now). If the deadline passes before the file is complete, the
    read in progress is cancelled and you raise TimeoutError, at that exact moment: a partial
    file is not a result.
    """
    raise NotImplementedError(
        "read under `async with asyncio.timeout(budget) as cm:` and after each chunk call "
        "cm.reschedule(cm.when() + bonus)"
    )


async def save_order(
    build: Callable[[], Awaitable[dict]],
    commit: Callable[[dict], Awaitable[str]],
    limit: float,
) -> str:
    """Task 3. Build an order, then commit it, within `limit` seconds, without ever
    interrupting the commit.

    `await build()` returns the order; `await commit(order)` writes it to the database and
    returns a confirmation string. Return that confirmation if both finish within `limit`
    seconds. If `limit` seconds pass first, raise TimeoutError right then, at `limit`:
    - if the order was still being built, that build is cancelled and commit is never called;
    - if the commit had started, it must NOT be cancelled: a half-written order is worse than a
      late one. Let it run to completion in the background even though you raised.
    The same holds if your caller cancels you: a build is cancelled, a commit carries on.
    An error raised by `build()` or `commit()` reaches your caller unchanged: a failed build
    is never committed, and neither call is ever made twice.
    """
    raise NotImplementedError(
        "put build and commit under asyncio.timeout(limit), and protect only the commit with "
        "asyncio.shield()"
    )
