"""Exercise 04, wrong (blind review): a do-while worker, so worker(name, 0, log) logs a step."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def worker(name: str, steps: int, log: list[str]) -> None:
    i = 1
    while True:
        log.append(f"{name}{i}")
        await asyncio.sleep(0)
        if i >= steps:
            break
        i += 1


async def launch(job: Callable[[], Awaitable[Any]]) -> asyncio.Task:
    task = asyncio.create_task(job())
    await asyncio.sleep(0)
    return task


def run_in_turn(
    durations: dict[str, float],
    log: list[str],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    for name, seconds in durations.items():
        log.append(f"start {name}")
        sleep(seconds)
        log.append(f"end {name}")


async def run_at_once(
    durations: dict[str, float],
    log: list[str],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    async def one(name: str, seconds: float) -> None:
        log.append(f"start {name}")
        await sleep(seconds)
        log.append(f"end {name}")

    await asyncio.gather(*(one(name, seconds) for name, seconds in durations.items()))
