"""Exercise 08: asyncio.wait. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
from collections.abc import Awaitable, Callable


async def fastest_ip(services: list[Callable[[], Awaitable[str]]]) -> str:
    """Task 1. Ask every "what is my IP" service at once and return the first answer.

    `await service()` returns your IP address as a string (possibly empty) after a while,
    however long that takes (even hours); each service takes a different time and none of
    them fails. `services` holds at least one service, and may hold the same one twice: that
    is two requests. Call each entry once, all at the same time, and return the answer (the
    str itself) of whichever finishes first, as soon as it does. Before you return, the
    services that lost must be cancelled AND awaited, so that their cleanup (closing their
    connection) has run to the end: none of them may be left running. Does not change
    `services`.

    If fastest_ip itself is cancelled while it waits, it cancels every service still running,
    waits until their cleanup has run, and ends cancelled (the CancelledError goes on to its
    caller).
    """
    raise NotImplementedError(
        "wrap each service() in a task, asyncio.wait(..., return_when=FIRST_COMPLETED), "
        "then cancel and await the pending tasks"
    )


async def deploy_all(jobs: list[Callable[[], Awaitable[str]]]) -> list[str]:
    """Task 2. Run every deployment job at once; stop everything at the first failure.

    `await job()` pushes the new version to one server and returns a report string (possibly
    empty), or raises an exception when that server refuses it; a job may take hours. The
    same job may appear twice in `jobs`: run it twice. If every job succeeds, return a new
    list of their reports in the order of `jobs` once the last one is done (no jobs: return
    [] at once). As soon as any job raises, cancel the jobs still running, wait for them to
    finish cancelling, and raise the failed job's exception (the exception object itself).
    If several fail, raise the one that failed first. Each job is called once; `jobs` is not
    changed.

    If deploy_all itself is cancelled, it cancels the jobs still running, waits for them to
    finish cancelling, and ends cancelled.
    """
    raise NotImplementedError(
        "asyncio.wait(tasks, return_when=FIRST_EXCEPTION); then cancel and await what is "
        "pending and raise the failure, or return every result in order"
    )


async def poll_services(
    services: dict[str, Callable[[], Awaitable[str]]], timeout: float
) -> tuple[dict[str, str], list[str]]:
    """Task 3. Ask every service at once, but wait at most `timeout` seconds for them.

    `services` maps a service's name to a function: `await ask()` returns an IP string
    (possibly empty), or raises an exception (of any type, TimeoutError too) when the service
    is broken. Two names may share one function: ask it once for each name. Return the tuple
    `(answers, late)`:
    - `answers` is a dict mapping the name of every service that answered within `timeout`
      to its IP (an empty string is an answer too);
    - `late` is the sorted list of names of the services still running when `timeout` ran
      out. Those must be cancelled and awaited before you return.
    A service that raised is in neither: its error is ignored. Return as soon as every service
    has finished, or when `timeout` seconds have passed, whichever comes first; `timeout` may
    be 0 (do not wait at all) or long (a day), and only it limits the wait. `services` is
    never empty, and is not changed. Each function is called once per name.

    If poll_services itself is cancelled, it cancels every service still running, waits until
    they have finished, and ends cancelled.
    """
    raise NotImplementedError(
        "asyncio.wait(tasks, timeout=timeout) gives (done, pending): keep the good answers "
        "from done, cancel and await pending"
    )
