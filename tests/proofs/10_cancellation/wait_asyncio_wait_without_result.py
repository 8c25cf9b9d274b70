"""Exercise 10, wrong: asyncio.wait then task.cancelled(), never task.result(): the task's error is
lost.
"""

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
            me = asyncio.current_task()
            if me is not None and me.cancelling():
                raise  # we were cancelled too (during the job or while waiting): pass it on


async def cancel_and_wait(task: "asyncio.Task[Any]") -> bool:
    task.cancel()
    await asyncio.wait([task])
    return task.cancelled()
