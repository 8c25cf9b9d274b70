"""Exercise 01, wrong: greet_everyone remembers greetings between calls."""

import asyncio
from collections.abc import Awaitable, Callable


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


_greetings: dict[int, str] = {}


def greet_everyone(fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]) -> list[str]:
    missing = [u for u in user_ids if u not in _greetings]
    _greetings.update(zip(missing, asyncio.run(_greet_all(fetch_name, missing)), strict=True))
    return [_greetings[u] for u in user_ids]
