"""Exercise 11, right: TaskGroup children that store their own results; a nested except* group of
its own; checks wrapped into (ok, value) pairs under gather."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

T = TypeVar("T")


class Offline(Exception):
    """Raised by a job whose service is offline for now: worth trying again later."""


class ChecksFailed(ExceptionGroup):
    """Raised by run_checks(): every check that failed, and what the others returned.

    `raise ChecksFailed(results, errors)`, where `results` maps the name of each check that
    passed to its result and `errors` maps the name of each check that failed to the
    exception it raised (at least one). It is an ExceptionGroup: `.exceptions` holds the
    errors' values, and its message names the failed checks. `.results` and `.errors` give
    the two dicts back.
    """

    def __new__(cls, results: dict[str, object], errors: dict[str, Exception]) -> "ChecksFailed":
        failed = ", ".join(repr(name) for name in errors)
        total = len(results) + len(errors)
        message = f"{len(errors)} of {total} checks failed: {failed}"
        self = super().__new__(cls, message, list(errors.values()))
        self.results = results
        self.errors = errors
        return self

    def __init__(self, results: dict[str, object], errors: dict[str, Exception]) -> None:
        super().__init__(self.message, self.exceptions)

    def derive(self, excs):  # type: ignore[no-untyped-def]  # what except* splits off
        return ExceptionGroup(self.message, excs)


async def fetch_all(jobs: Mapping[str, Callable[[], Awaitable[T]]]) -> dict[str, T]:
    results: dict = {}

    async def keep(name, job):
        results[name] = await job()

    async with asyncio.TaskGroup() as group:
        for name, job in jobs.items():
            group.create_task(keep(name, job))
    return {name: results[name] for name in jobs}


async def fetch_unless_offline(
    jobs: Mapping[str, Callable[[], Awaitable[T]]],
) -> dict[str, T] | None:
    handled = []
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = {name: tg.create_task(job()) for name, job in jobs.items()}
    except* Offline as offline:
        handled.extend(offline.exceptions)
    except* Exception as others:
        raise ExceptionGroup("jobs failed", list(others.exceptions)) from None
    if handled:
        return None
    return {name: task.result() for name, task in tasks.items()}


async def run_checks(checks: Mapping[str, Callable[[], Awaitable[T]]]) -> dict[str, T]:
    async def outcome(check):
        try:
            return True, await check()
        except Exception as error:
            return False, error

    pairs = await asyncio.gather(*(outcome(check) for check in checks.values()))
    named = list(zip(checks, pairs, strict=True))
    errors = {name: value for name, (ok, value) in named if not ok}
    results = {name: value for name, (ok, value) in named if ok}
    if errors:
        raise ChecksFailed(results, errors)
    return results
