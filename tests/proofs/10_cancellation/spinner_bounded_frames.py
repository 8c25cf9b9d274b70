"""Exercise 10: cancellation."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

FRAMES = "|/-\\"


class Terminal(Protocol):
    def show(self, frame: str) -> None: ...
    def clear(self) -> None: ...


async def spinner(terminal: Terminal, interval: float = 0.1) -> None:
    try:
        for i in range(10_000):
            terminal.show(FRAMES[i % len(FRAMES)])
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
    try:
        await task
    except asyncio.CancelledError:
        if asyncio.current_task().cancelling():
            raise
    else:
        if asyncio.current_task().cancelling():
            # the task swallowed its cancellation, but we were cancelled too meanwhile
            raise asyncio.CancelledError
    return task.cancelled()
