"""Exercise 01: coroutines. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
from collections.abc import Awaitable, Callable


async def slow_square(x: int, delay: float) -> int:
    """Task 1. Wait `delay` seconds without blocking the loop, then return `x * x`.

    This must be a coroutine function (`async def`): calling it builds a coroutine object,
    and awaiting that object runs the body. The wait must take exactly `delay` seconds of
    loop time, however long (`delay` may be 0, or a whole day), and every call waits again.
    The result is an int (`x` may be 0, negative or huge). If the caller cancels it while it
    waits, it stops: the CancelledError goes up to the caller.
    """
    raise NotImplementedError("await asyncio.sleep(delay), then return x * x")


async def greet_user(fetch_name: Callable[[int], Awaitable[str]], user_id: int) -> str:
    """Task 2. Look the user's name up and return the greeting "Hello, <name>!".

    `fetch_name` is a coroutine function: `await fetch_name(user_id)` gives the name. Call it
    exactly once per greeting, and use the name exactly as it came back (even ""). If it
    raises, the error reaches the caller (no retry, no made-up greeting); if it is slow, wait
    for it however long it takes. greet_user is itself awaited by its caller, inside an event
    loop that is already running, so it awaits the lookup in that loop instead of starting a
    loop of its own; cancelling greet_user cancels the lookup too. Nothing is remembered from
    one call to the next.
    """
    raise NotImplementedError("await fetch_name(user_id) and put the name into the greeting")


async def average_reading(read_sensor: Callable[[], Awaitable[float]], count: int) -> float:
    """Task 3. Take `count` readings from the sensor, one after another, and return their mean.

    Each `await read_sensor()` takes one new reading. The sensor takes one reading at a time:
    start the next only when the previous one has finished, however long each takes. `count`
    is at least 1. Every reading counts, 0.0 and repeated values included. Return the mean
    itself as a float (the sum divided by `count` with `/`), not rounded. If a reading raises,
    the error reaches the caller and no further reading is taken; if the caller cancels
    average_reading, the reading in progress is cancelled and no other starts.
    """
    raise NotImplementedError(
        "call read_sensor() afresh for each reading, await it, and average the values"
    )


def greet_everyone(fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]) -> list[str]:
    """Task 4. A plain (synchronous) entry point: return the greeting of every user, in order.

    It is called from ordinary code where no event loop is running, so it cannot `await`.
    Start ONE event loop with asyncio.run(), greet every user inside it (greet_user() helps),
    and return a list with one greeting per entry of `user_ids`, in that order (a user listed
    twice is greeted twice). Does not change `user_ids`. If a lookup raises, the error
    reaches the caller (and the loop is still closed).
    """
    raise NotImplementedError(
        "write an async helper that greets everyone, and run it once with asyncio.run()"
    )
