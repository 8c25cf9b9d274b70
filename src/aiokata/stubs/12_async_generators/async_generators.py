"""Exercise 12: async generators. Read README.md, then replace each NotImplementedError.

The functions that stream keep a `yield` after the `raise`: it makes them async generators
already, so `async for` works on them. Keep a `yield` in your version too.
"""

import asyncio  # noqa: F401 - you will need it
import contextlib  # noqa: F401 - you will need it
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

Page = dict[str, Any]  # {"items": [...], "next": <page number> or None}


async def ticker(interval: float, count: int) -> AsyncIterator[int]:
    """Task 1. Yield the ticks 1, 2, ..., count, one every `interval` seconds.

    Tick 1 comes `interval` seconds after the consumer starts looping, tick 2 one interval
    later, and so on; the stream ends right after the last tick. count=0 yields nothing.
    interval=0 yields every tick at once; an interval may also be very long (a day): add no
    time limit of your own. Each call counts its own ticks, even with several tickers at once.
    If the consumer is cancelled while it waits for a tick, let the CancelledError through.
    """
    raise NotImplementedError("loop over range(1, count + 1): sleep `interval`, then yield")
    yield


async def paginate(fetch_page: Callable[[int], Awaitable[Page]]) -> AsyncIterator[Any]:
    """Task 2. Yield every item of a paginated API, one by one, fetching pages lazily.

    `await fetch_page(n)` returns page n as {"items": [...], "next": m}, where m is the number
    of the following page, or None on the last page. Start at page 1. Yield each item as
    soon as its page has arrived, and fetch the next page only once the consumer has taken
    every item of the current one. A page may be empty without being the last, and m may be
    any page number, 0 included: only None ends the list. Yield every item as it is, falsy
    (0, "", None) or repeated. Does not change the pages fetch_page returns. A page may take
    hours to arrive: add no time limit of your own. If the consumer is cancelled while a page
    is being fetched, that fetch is cancelled too (let the CancelledError through).
    """
    raise NotImplementedError("fetch page 1, yield its items, then follow page['next']")
    yield


async def take(stream: AsyncGenerator[T, None], n: int) -> list[T]:
    """Task 3. Return the first `n` items of `stream` as a list (fewer if it ends sooner).

    Ask the stream for no more than `n` items, and close it before returning, so that its
    cleanup (its `finally:` blocks) has run by the time you return. take(stream, 0) is [].
    The result is a new list (not a tuple) on every call. Items may be anything, None
    included, and may take hours each: add no time limit of your own. If take() itself is
    cancelled, it closes the stream and lets the CancelledError through.
    """
    raise NotImplementedError(
        "loop with async for inside `async with contextlib.aclosing(stream):`, stop at n"
    )


async def keep(stream: AsyncGenerator[T, None], predicate: Callable[[T], bool]) -> AsyncIterator[T]:
    """Task 4. A pipeline stage: yield the items of `stream` for which `predicate` is true.

    Pass each match on as soon as it arrives, whatever its value (None, 0 and "" are items
    too). Call `predicate` once per item, in order, directly (on the loop's thread: it is a
    quick, plain function). When the consumer closes this stage, or is cancelled while it
    waits, close `stream` too.
    """
    raise NotImplementedError(
        "inside `async with contextlib.aclosing(stream):`, async for over it and yield matches"
    )
    yield


async def batched(stream: AsyncGenerator[T, None], size: int) -> AsyncIterator[list[T]]:
    """Task 4. A pipeline stage: yield the items of `stream` in lists of `size`.

    Yield each batch as soon as it holds `size` items; after the stream ends, yield the
    items left over as a shorter last batch (never an empty one). Each batch is a new list
    (not a tuple), which you do not change after yielding it; items go in whole, whatever
    they are. When the consumer closes this stage, or is cancelled while it waits, close
    `stream` too. Items may take hours to arrive: add no time limit of your own.
    """
    raise NotImplementedError(
        "inside `async with contextlib.aclosing(stream):`, fill a list and yield it when full"
    )
    yield
