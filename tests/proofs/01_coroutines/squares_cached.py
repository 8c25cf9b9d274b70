"""Exercise 01, wrong: slow_square remembers squares it already computed."""

import asyncio
from collections.abc import Awaitable, Callable

_squares: dict[int, int] = {}


async def slow_square(x: int, delay: float) -> int:
    if x in _squares:
        return _squares[x]
    await asyncio.sleep(delay)
    _squares[x] = x * x
    return _squares[x]


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
    return asyncio.run(_greet_all(fetch_name, user_ids))
