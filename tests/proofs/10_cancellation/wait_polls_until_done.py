"""Exercise 10: cancellation."""

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"


class Terminal(Protocol):
    def show(self, frame: str) -> None: ...
    def clear(self) -> None: ...


async def spinner(terminal: Terminal, interval: float = 0.1) -> None:
    try:
        for frame in itertools.cycle(FRAMES):
            terminal.show(frame)
            await asyncio.sleep(interval)
    finally:
        terminal.clear()


async def run_with_spinner(
    job: Callable[[], Awaitable[T]], spin: Callable[[], Awaitable[None]]
) -> T:
    spinning = asyncio.create_task(spin())
    try:
        return await job()
    finally:
        spinning.cancel()
        try:
            await spinning
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise  # this one is for us


async def cancel_and_wait(task: "asyncio.Task[Any]") -> bool:
    task.cancel()
    while not task.done():
        await asyncio.sleep(0.1)
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()
    return task.cancelled()
