"""Exercise 01, half done: tasks 1 and 3 right, task 2 wrong, task 4 not started."""

import asyncio
from collections.abc import Awaitable, Callable


async def slow_square(x: int, delay: float) -> int:
    await asyncio.sleep(delay)
    return x * x


async def greet_user(fetch_name: Callable[[int], Awaitable[str]], user_id: int) -> str:
    # Wrong on purpose: forgets to await, so the greeting holds a coroutine object.
    name = fetch_name(user_id)
    return f"Hello, {name}!"


async def average_reading(read_sensor: Callable[[], Awaitable[float]], count: int) -> float:
    readings = [await read_sensor() for _ in range(count)]
    return sum(readings) / count


def greet_everyone(fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]) -> list[str]:
    raise NotImplementedError("write an async helper that greets everyone, and run it once")
