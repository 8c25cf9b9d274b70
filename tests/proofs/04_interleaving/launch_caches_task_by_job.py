"""Exercise 04, wrong: keeps each job's task in a module-level dict and returns it again for
the same job."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def worker(name: str, steps: int, log: list[str]) -> None:
    for step in range(1, steps + 1):
        log.append(f"{name}{step}")
        await asyncio.sleep(0)


_launched: dict = {}


async def launch(job: Callable[[], Awaitable[Any]]) -> asyncio.Task:
    if job not in _launched:
        _launched[job] = asyncio.create_task(job())
        await asyncio.sleep(0)
    return _launched[job]


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
    async def job(name: str, seconds: float) -> None:
        log.append(f"start {name}")
        await sleep(seconds)
        log.append(f"end {name}")

    await asyncio.gather(*(job(name, seconds) for name, seconds in durations.items()))
