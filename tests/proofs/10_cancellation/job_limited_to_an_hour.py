"""Exercise 10: cancellation."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"


class Terminal(Protocol):
    """Where the spinner draws: the tests pass a fake one that records every call."""

    def show(self, frame: str) -> None: ...
    def clear(self) -> None: ...


async def spinner(terminal: Terminal, interval: float = 0.1) -> None:
    """Task 1. Spin until cancelled, then clear the line."""
    index = 0
    try:
        while True:
            terminal.show(FRAMES[index])
            index = (index + 1) % len(FRAMES)
            await asyncio.sleep(interval)
    finally:
        terminal.clear()


async def run_with_spinner(
    job: Callable[[], Awaitable[T]], spin: Callable[[], Awaitable[None]]
) -> T:
    """Task 2. Await `job()` while `spin()` runs as a task; return the job's result."""
    spin_task = asyncio.create_task(spin())
    try:
        return await asyncio.wait_for(job(), 3600)  # never spin forever
    finally:
        spin_task.cancel()
        # wait() never raises the spinner's CancelledError, only one meant for us
        await asyncio.wait([spin_task])


async def cancel_and_wait(task: "asyncio.Task[Any]") -> bool:
    """Task 3. Cancel `task`, wait until it has really ended, say whether it ended cancelled."""
    task.cancel()
    await asyncio.wait([task])
    if task.cancelled():
        return True
    exc = task.exception()
    if exc is not None:
        raise exc
    return False
