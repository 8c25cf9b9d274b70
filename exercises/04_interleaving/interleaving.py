"""Exercise 04: interleaving. Read README.md, then replace each NotImplementedError."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def worker(name: str, steps: int, log: list[str]) -> None:
    """Task 1. Do `steps` steps, handing the loop to the other tasks after each one.

    Step i appends f"{name}{i}" to `log` (i = 1, 2, ... steps), so worker("a", 2, log) logs
    "a1" then "a2". Log each step first, then let every other ready task take its turn with
    one `await asyncio.sleep(0)`. Two workers run together must take turns: a1 b1 a2 b2. The
    worker takes no loop time at all, however many steps it has; 0 steps log nothing.

    Only append to `log` (leave what is already in it alone). Two workers with the same name
    each log their own steps, and nothing is kept from one call to the next.
    """
    raise NotImplementedError(
        "append f'{name}{i}' for each step, then `await asyncio.sleep(0)` to hand over"
    )


async def launch(job: Callable[[], Awaitable[Any]]) -> asyncio.Task:
    """Task 2. Start `job()` in the background and return its task once it has begun.

    Call `job()` once, run it as a task and return that task (awaiting the task gives what
    the job returns). Return only after the job has started running, i.e. has reached its
    first `await`, but never wait for the job to finish. Takes no loop time. Launching the
    same job twice starts it twice, in two tasks; cancelling the returned task cancels the job.
    """
    raise NotImplementedError(
        "create a task for job(), give it a turn with `await asyncio.sleep(0)`, return it"
    )


def run_in_turn(
    durations: dict[str, float],
    log: list[str],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Task 3a. The synchronous version: run the jobs one after another.

    For each job, in the order of `durations`: append f"start {name}", call
    `sleep(seconds)`, append f"end {name}". `sleep` is time.sleep unless the caller passes
    another function: always call the one you were given, exactly once per job, even for a
    0 s job. Does not change `durations`; only appends to `log`.
    """
    raise NotImplementedError("for each job: log 'start name', sleep(seconds), log 'end name'")


async def run_at_once(
    durations: dict[str, float],
    log: list[str],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Task 3b. The asynchronous version: run the same jobs all at the same time.

    Each job appends f"start {name}", then `await sleep(seconds)`, then appends
    f"end {name}". Start every job (in any order) before any of them ends, and return
    when all have ended: the whole run takes as long as the longest job, however long that
    is (set no time limit). `sleep` is asyncio.sleep unless the caller passes another
    coroutine function: await the one given, exactly once per job, even for a 0 s job. Does
    not change `durations`; only appends to `log`. Write it as `async def`: calling it
    starts nothing until the caller awaits it.

    If the caller cancels run_at_once() while the jobs run, every job still running is
    cancelled too, and the CancelledError reaches the caller (asyncio.gather does both).
    """
    raise NotImplementedError(
        "write one coroutine per job (log, await sleep(seconds), log) and gather them all"
    )
