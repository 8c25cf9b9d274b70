"""Exercise 01, another right answer: a future set by call_later, an async generator of
readings with math.fsum, a no-op timeout scope, tasks gathered in a Runner with debug on."""

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable


async def slow_square(x: int, delay: float) -> int:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    timer = loop.call_later(delay, done.set_result, x * x)
    try:
        return await done
    finally:
        timer.cancel()  # cancelled early: the timer must not set a cancelled future


async def greet_user(fetch_name: Callable[[int], Awaitable[str]], user_id: int) -> str:
    async with asyncio.timeout(None):  # no deadline at all
        name = await fetch_name(user_id)
    return "".join(["Hello, ", name, "!"])


async def _readings(
    read_sensor: Callable[[], Awaitable[float]], count: int
) -> AsyncIterator[float]:
    for _ in range(count):
        yield await read_sensor()


async def average_reading(read_sensor: Callable[[], Awaitable[float]], count: int) -> float:
    values = [value async for value in _readings(read_sensor, count)]
    return math.fsum(values) / count


def greet_everyone(fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]) -> list[str]:
    async def everyone() -> list[str]:
        tasks = [asyncio.create_task(greet_user(fetch_name, u)) for u in reversed(user_ids)]
        greetings = await asyncio.gather(*tasks)
        return [*reversed(greetings)]

    with asyncio.Runner(debug=True) as runner:
        return runner.run(everyone())
