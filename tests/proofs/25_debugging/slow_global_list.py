"""Exercise 25: debugging asyncio. The reference solution."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

# Task 1: ErrorCollector


class ErrorCollector:
    """A context manager that catches every error the running loop can only log.

    `with ErrorCollector() as errors:` (inside a running loop) installs a loop exception
    handler that appends each context asyncio hands it (the dict itself, with its "message",
    and its "exception", "task", "future" or "handle" when it has them) to `errors.contexts`,
    in the order they come, every one of them. On leaving the block, the handler that was
    installed before (or None) is put back, whether the block raised or not, and an error
    raised in the block goes on to the caller."""

    def __init__(self) -> None:
        self.contexts: list[dict] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: Callable | None = None

    def _record(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        self.contexts.append(context)

    def __enter__(self) -> ErrorCollector:
        self._loop = asyncio.get_running_loop()
        self._previous = self._loop.get_exception_handler()
        self._loop.set_exception_handler(self._record)
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None
        self._loop.set_exception_handler(self._previous)
        self._loop = self._previous = None


# Task 2: slow_callbacks


_FOUND: list = []


class _SlowSteps(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.found = _FOUND

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if (
            record.name == "asyncio"
            and record.msg == "Executing %s took %.3f seconds"
            and isinstance(args, tuple)
            and len(args) == 2
        ):
            self.found.append((str(args[0]), float(args[1])))


async def slow_callbacks(
    coro: Coroutine[Any, Any, Any], threshold: float
) -> tuple[Any, list[tuple[str, float]]]:
    """Await `coro` with the running loop in debug mode and `slow_callback_duration` set to
    `threshold`, and return `(its result, slow)`: `slow` is a new list of `(description,
    seconds)`, one for each "Executing <description> took <seconds> seconds" warning asyncio's
    logger ("asyncio") gave while it ran, in the order given. Afterwards (also when `coro`
    raises or the call is cancelled) the loop's debug mode and slow_callback_duration are what
    they were, and the logger has the handlers and level it had."""
    loop = asyncio.get_running_loop()
    logger = logging.getLogger("asyncio")
    debug, duration, level = loop.get_debug(), loop.slow_callback_duration, logger.level
    steps = _SlowSteps()
    logger.addHandler(steps)
    if not logger.isEnabledFor(logging.WARNING):
        logger.setLevel(logging.WARNING)
    loop.set_debug(True)
    loop.slow_callback_duration = threshold
    try:
        result = await coro
    finally:
        loop.set_debug(debug)
        loop.slow_callback_duration = duration
        logger.setLevel(level)
        logger.removeHandler(steps)
    return result, steps.found


# Task 3: load_all (the program that stalls)


async def load_all(keys: list, load: Callable[[Any], Any]) -> list:
    """Call the blocking function `load(key)` once for each key, in a worker thread so the
    loop keeps running meanwhile, and return a new list of the results in the order of
    `keys` (duplicates included). An error `load` raises reaches the caller. `keys` is left
    as it was."""
    results = []
    for key in keys:
        results.append(await asyncio.to_thread(load, key))
    return results


# Task 4: notify_all (the program that forgets to await)


async def notify_all(users: list, send: Callable[[Any], Awaitable[Any]]) -> int:
    """Send to each user, one after another in the order given: `await send(user)` for each,
    each finished before the next starts and all of them before returning. Return how many
    sends were made. An error a send raises reaches the caller. `users` is left as it was."""
    sent = 0
    for user in users:
        await send(user)
        sent += 1
    return sent


# Task 5: apply_all (the program that hides an error)


class InvalidChange(Exception):
    """What `apply` raises for a change it refuses."""


async def apply_all(changes: list, apply: Callable[[Any], Awaitable[Any]]) -> list:
    """Await `apply(change)` for each change, one after another in order. A change `apply`
    refuses with InvalidChange is skipped and kept in the list returned (a new list of the
    refused changes, in order); any other error stops at once and reaches the caller, and
    so does a cancellation. `changes` is left as it was."""
    refused = []
    for change in changes:
        try:
            await apply(change)
        except InvalidChange:
            refused.append(change)
    return refused
