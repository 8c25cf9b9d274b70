"""Exercise 01, wrong: average_reading keeps the readings in a set."""

import asyncio
from collections.abc import Awaitable, Callable


async def slow_square(x: int, delay: float) -> int:
    await asyncio.sleep(delay)
    return x * x


async def greet_user(fetch_name: Callable[[int], Awaitable[str]], user_id: int) -> str:
    name = await fetch_name(user_id)
    return f"Hello, {name}!"


async def average_reading(read_sensor: Callable[[], Awaitable[float]], count: int) -> float:
    readings = set()
    for _ in range(count):
        readings.add(await read_sensor())
    return sum(readings) / len(readings)


async def _greet_all(fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]) -> list[str]:
    return [await greet_user(fetch_name, user_id) for user_id in user_ids]


def greet_everyone(fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]) -> list[str]:
    return asyncio.run(_greet_all(fetch_name, user_ids))
