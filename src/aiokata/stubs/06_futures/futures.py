"""Exercise 06: futures. Read README.md, then replace each NotImplementedError."""

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any

# legacy_fetch(url, on_done, on_error) starts a download and returns None at once. Later the
# event loop calls on_done(page) when it worked, or on_error(exception) when it failed.
LegacyFetch = Callable[[str, Callable[[str], None], Callable[[Exception], None]], None]


def status(future: asyncio.Future) -> str:
    """Task 1. Say which state `future` is in, without waiting and without changing it.

    Return "pending" (no outcome yet), "cancelled", "failed" (it holds an exception) or
    "succeeded" (it holds a result, which may be None). Never raise.
    """
    raise NotImplementedError(
        'return "pending", "cancelled", "failed" or "succeeded" using done(), cancelled() '
        "and exception()"
    )


def peek(future: asyncio.Future, default: Any = None) -> Any:
    """Task 1. Look at `future` without waiting for it (a plain function: it cannot await).

    Return its result if it succeeded (whatever the value, even None or 0), or `default`,
    as given, if it has no outcome yet. If it failed, raise its exception; if it was
    cancelled, raise asyncio.CancelledError (future.result() already does both).
    """
    raise NotImplementedError("return future.result() if the future is done, else default")


async def fetch(legacy_fetch: LegacyFetch, url: str) -> str:
    """Tasks 2 and 3. Turn the callback API `legacy_fetch` into something you can await.

    Call `legacy_fetch(url, on_done, on_error)` once, then wait (without polling) until it
    calls back. Return the page given to on_done (an empty page "" is a page too); raise the
    exception given to on_error, with no retry. The call takes exactly as long as the
    download, however long that is: no timeout of its own. Each call is a download of its
    own, even when two calls ask for the same url at once.

    Task 3: the legacy API is sloppy. It may call back twice (on_done then on_error, or on_done
    twice); only the first call counts. It may call back after the caller gave up on fetch()
    (cancelled it, or a timeout did); fetch() must then stay cancelled: it ends at once,
    cancelled, and leaves nothing of its own running. Your callbacks must never raise.
    """
    raise NotImplementedError(
        "create a future, pass callbacks that set its result or exception, then await it"
    )


async def wait_job(job: concurrent.futures.Future) -> Any:
    """Task 4. Wait for `job`, a concurrent.futures.Future that a thread pool will complete.

    Return its result (whatever the value) or raise its exception, without blocking the
    event loop while the job runs (other tasks must keep running), and with no timeout of its
    own. The job is finished on a pool thread: its outcome must reach the loop safely (the
    loop's objects may only be touched from the loop's thread). If the coroutine waiting is
    cancelled, cancel the job too and end cancelled, at once.
    """
    raise NotImplementedError("await asyncio.wrap_future(job)")
