"""Exercise 10: cancellation. Read README.md, then replace each NotImplementedError."""

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
    """Task 1. Spin until cancelled, then clear the line.

    Show the frames of FRAMES in turn, forever: `terminal.show("|")` at once, then
    `terminal.show("/")` `interval` seconds later, then "-", then "\\", then "|" again...
    When the spinner stops, however it stops (cancelled, or terminal.show() raised), call
    `terminal.clear()` exactly once and let the CancelledError (or the error) propagate:
    a cancelled spinner task must end cancelled. Call it yourself as the spinner stops, not
    scheduled for later: the line is clear by the time the task has ended.
    Every spinner starts at "|", however many ran before it, and `interval` may be anything
    from 0 (a new frame each time the loop comes round) to hours.
    """
    raise NotImplementedError(
        "loop over the frames with terminal.show() and asyncio.sleep(interval), "
        "inside try/finally with terminal.clear() in the finally"
    )


async def run_with_spinner(
    job: Callable[[], Awaitable[T]], spin: Callable[[], Awaitable[None]]
) -> T:
    """Task 2. Await `job()` while `spin()` runs as a task; return the job's result.

    `spin()` never returns by itself. Once the job is over (returned, raised, or this
    coroutine was cancelled), cancel the spinner task and wait until it has ended, then
    return the job's result or let its exception (or the cancellation) propagate. The
    spinner's own CancelledError must not reach the caller. Call `job()` and `spin()` once
    each, wait for the job however long it takes, and return its result exactly as it is
    (0, None or "" included).
    """
    raise NotImplementedError(
        "create a task for spin(), await job(), and in a finally cancel the task and await it"
    )


async def cancel_and_wait(task: "asyncio.Task[Any]") -> bool:
    """Task 3. Cancel `task`, wait until it has really ended, say whether it ended cancelled.

    Return True if the task ended cancelled, False if it ended some other way (it had
    already finished, or it caught the CancelledError and returned): a bool. Cancel it once,
    then wait for its cleanup however long that takes. Do not raise the task's
    CancelledError to the caller, but do raise any other exception the task ended with, even
    if it had already failed before you were called. If the caller cancels cancel_and_wait()
    itself while it waits, it must end cancelled too.
    """
    raise NotImplementedError(
        "task.cancel(), then await the task, catching only the CancelledError meant for it"
    )
