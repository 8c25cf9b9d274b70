"""Exercise 10, right: job() called before the spinner task is created (its coroutine runs only
when awaited); extra sleep(0) in the spinner.
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
    frames = itertools.cycle(FRAMES)
    try:
        while True:
            terminal.show(next(frames))
            await asyncio.sleep(interval)
            await asyncio.sleep(0)
    except BaseException:
        terminal.clear()
        raise


async def run_with_spinner(
    job: Callable[[], Awaitable[T]], spin: Callable[[], Awaitable[None]]
) -> T:
    pending = job()
    spinning = asyncio.create_task(spin())
    try:
        return await pending
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
    try:
        await task
    except asyncio.CancelledError:
        me = asyncio.current_task()
        if me is not None and me.cancelling():
            raise  # the cancellation was (also) meant for us: let it through
    return task.cancelled()
