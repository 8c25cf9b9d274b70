"""Exercise 01, another right answer: statistics.fmean, a while loop, a tuple from the helper."""

import asyncio
import statistics
from collections.abc import Awaitable, Callable


async def slow_square(x: int, delay: float) -> int:
    if delay > 0:
        await asyncio.sleep(delay)
    return x * x


async def greet_user(fetch_name: Callable[[int], Awaitable[str]], user_id: int) -> str:
    return "Hello, " + str(await fetch_name(user_id)) + "!"


async def average_reading(read_sensor: Callable[[], Awaitable[float]], count: int) -> float:
    readings: list[float] = []
    while len(readings) < count:
        readings.append(await read_sensor())
    return statistics.fmean(readings)


async def _greet_all(
    fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]
) -> tuple[str, ...]:
    greetings = []
    for user_id in user_ids:
        greetings.append(await greet_user(fetch_name, user_id))
    return tuple(greetings)


def greet_everyone(fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]) -> list[str]:
    return list(asyncio.run(_greet_all(fetch_name, user_ids)))
