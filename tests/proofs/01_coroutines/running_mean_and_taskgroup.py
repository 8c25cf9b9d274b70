"""Exercise 01, another right answer: a running mean, a task for the lookup, a TaskGroup."""

import asyncio
from collections.abc import Awaitable, Callable


async def slow_square(x: int, delay: float) -> int:
    await asyncio.sleep(0)  # a harmless extra switch: still exactly `delay` of loop time
    await asyncio.sleep(delay)
    return x**2


async def greet_user(fetch_name: Callable[[int], Awaitable[str]], user_id: int) -> str:
    lookup = asyncio.ensure_future(fetch_name(user_id))
    name = await lookup
    return f"Hello, {name}!"


async def average_reading(read_sensor: Callable[[], Awaitable[float]], count: int) -> float:
    mean = 0.0
    for seen in range(1, count + 1):
        mean += (await read_sensor() - mean) / seen
    return mean


def greet_everyone(fetch_name: Callable[[int], Awaitable[str]], user_ids: list[int]) -> list[str]:
    async def greet_all() -> list[str]:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(greet_user(fetch_name, user_id)) for user_id in user_ids]
        return [task.result() for task in tasks]

    return asyncio.run(greet_all())
