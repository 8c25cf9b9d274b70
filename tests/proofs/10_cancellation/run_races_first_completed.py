"""Exercise 10, wrong: runs job and spinner as tasks with wait(FIRST_COMPLETED): cancelling it
leaves the job running.
"""

import asyncio
import contextlib
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
    job_task = asyncio.create_task(job())
    spinning = asyncio.create_task(spin())
    await asyncio.wait([job_task, spinning], return_when=asyncio.FIRST_COMPLETED)
    spinning.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await spinning
    return job_task.result()


async def cancel_and_wait(task: "asyncio.Task[Any]") -> bool:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        me = asyncio.current_task()
        if me is not None and me.cancelling():
            raise  # the cancellation was (also) meant for us: let it through
    return task.cancelled()
