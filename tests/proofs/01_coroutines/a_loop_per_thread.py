"""Exercise 01, wrong: greet_everyone greets each user in a pool thread of its own loop."""

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor


async def slow_square(x: int, delay: float) -> int:
    await asyncio.sleep(delay)
    return x * x


async def greet_user(fetch_name: Callable[[int], Awaitable[str]], user_id: int) -> str:
    name = await fetch_name(user_id)
    return f"Hello, {name}!"


async def average_reading(read_sensor: Callable[[], Awaitable[float]], count: int) -> float:
    total = 0.0
    for _ in range(count):
        total += await read_sensor()
    return total / count


async def _greet_all(fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]) -> list[str]:
    return [await greet_user(fetch_name, user_id) for user_id in user_ids]


def greet_everyone(fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]) -> list[str]:
    with ThreadPoolExecutor() as pool:
        return list(pool.map(lambda u: asyncio.run(greet_user(fetch_name, u)), user_ids))
