"""Exercise 11, right: create_task and asyncio.wait(FIRST_EXCEPTION) with cancel-and-wait in
finally; split() of the group reusing fetch_all; a TaskGroup of checks that each catch their own
error."""

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
    if not jobs:
        return {}
    tasks = {name: asyncio.create_task(job()) for name, job in jobs.items()}
    try:
        await asyncio.wait(tasks.values(), return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks.values():
            task.cancel()  # a no-op for the tasks already done
        await asyncio.wait(tasks.values())  # their cleanup, even when we are cancelled
    errors = [t.exception() for t in tasks.values() if not t.cancelled() and t.exception()]
    if errors:
        raise ExceptionGroup("some jobs failed", errors)
    return {name: task.result() for name, task in tasks.items()}


async def fetch_unless_offline(
    jobs: Mapping[str, Callable[[], Awaitable[T]]],
) -> dict[str, T] | None:
    try:
        return await fetch_all(jobs)
    except ExceptionGroup as group:
        _, others = group.split(Offline)
        if others is not None:
            raise others from None
    return None


async def run_checks(checks: Mapping[str, Callable[[], Awaitable[T]]]) -> dict[str, T]:
    results: dict = {}
    errors: dict = {}

    async def one(name, check):
        try:
            results[name] = await check()
        except Exception as error:
            errors[name] = error

    async with asyncio.TaskGroup() as tg:
        for name, check in checks.items():
            tg.create_task(one(name, check))
    results = {n: results[n] for n in checks if n in results}
    if errors:
        raise ChecksFailed(results, {n: errors[n] for n in checks if n in errors})
    return results
