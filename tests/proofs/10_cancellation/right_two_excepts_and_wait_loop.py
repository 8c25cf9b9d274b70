"""Exercise 10, right: deadline spinner with two except blocks, try/except/else with asyncio.wait,
a polling asyncio.wait loop.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"


class Terminal(Protocol):
    def show(self, frame: str) -> None: ...
    def clear(self) -> None: ...


async def spinner(terminal: Terminal, interval: float = 0.1) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    i = 0
    try:
        while True:
            terminal.show(FRAMES[i % len(FRAMES)])
            i += 1
            await asyncio.sleep(max(0, start + i * interval - loop.time()))
    except asyncio.CancelledError:
        terminal.clear()
        raise
    except Exception:
        terminal.clear()
        raise


async def run_with_spinner(
    job: Callable[[], Awaitable[T]], spin: Callable[[], Awaitable[None]]
) -> T:
    spinning = asyncio.ensure_future(spin())
    await asyncio.sleep(0)
    try:
        result = await job()
    except BaseException:
        spinning.cancel()
        await asyncio.wait([spinning])
        raise
    else:
        spinning.cancel()
        await asyncio.wait({spinning})
        return result


async def cancel_and_wait(task: "asyncio.Task[Any]") -> bool:
    if not task.done():
        task.cancel()
    while not task.done():
        await asyncio.wait({task}, timeout=1)
    if task.cancelled():
        return True
    task.result()
    return False
