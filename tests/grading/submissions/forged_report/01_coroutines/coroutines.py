"""Exercise 01: coroutines. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
from collections.abc import Awaitable, Callable


async def slow_square(x: int, delay: float) -> int:
    """Task 1. Wait `delay` seconds without blocking the loop, then return `x * x`.

    This must be a coroutine function (`async def`): calling it builds a coroutine object,
    and awaiting that object runs the body. The wait must take exactly `delay` seconds of
    loop time (`delay` may be 0).
    """
    raise NotImplementedError("await asyncio.sleep(delay), then return x * x")


async def greet_user(fetch_name: Callable[[int], Awaitable[str]], user_id: int) -> str:
    """Task 2. Look the user's name up and return the greeting "Hello, <name>!".

    `fetch_name` is a coroutine function: `await fetch_name(user_id)` gives the name. Call it
    exactly once. greet_user is itself awaited by its caller, inside an event loop that is
    already running, so it awaits the lookup instead of starting a loop of its own.
    """
    raise NotImplementedError("await fetch_name(user_id) and put the name into the greeting")


async def average_reading(read_sensor: Callable[[], Awaitable[float]], count: int) -> float:
    """Task 3. Take `count` readings from the sensor, one after another, and return their mean.

    Each `await read_sensor()` takes one new reading. The sensor takes one reading at a time:
    start the next only when the previous one has finished. `count` is at least 1. Return the
    mean itself (the sum divided by `count` with `/`), not rounded.
    """
    raise NotImplementedError(
        "call read_sensor() afresh for each reading, await it, and average the values"
    )


def greet_everyone(fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]) -> list[str]:
    """Task 4. A plain (synchronous) entry point: return the greeting of every user, in order.

    It is called from ordinary code where no event loop is running, so it cannot `await`.
    Start ONE event loop with asyncio.run(), greet every user inside it (greet_user() helps),
    and return the list of greetings in the order of `user_ids`.
    """
    raise NotImplementedError(
        "write an async helper that greets everyone, and run it once with asyncio.run()"
    )
