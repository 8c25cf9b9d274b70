"""Exercise 01, wrong (from the blind review): slow_square polls the loop clock every 0.1 s."""

import asyncio
from collections.abc import Awaitable, Callable


async def slow_square(x: int, delay: float) -> int:
    loop = asyncio.get_running_loop()
    end = loop.time() + delay
    while loop.time() < end:
        await asyncio.sleep(0.1)
    return x * x


async def greet_user(fetch_name: Callable[[int], Awaitable[str]], user_id: int) -> str:
    name = await fetch_name(user_id)
    return f"Hello, {name}!"


async def average_reading(read_sensor: Callable[[], Awaitable[float]], count: int) -> float:
    total = 0
    for _ in range(count):
        total += await read_sensor()
    return total / count


def greet_everyone(fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]) -> list[str]:
    async def greet_all() -> list[str]:
        greetings = []
        for user_id in user_ids:
            greetings.append(await greet_user(fetch_name, user_id))
        return greetings

    return asyncio.run(greet_all())
