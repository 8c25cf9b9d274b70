"""Exercise 11, right: gather with the siblings cancelled and awaited by hand; except* around
fetch_all; asyncio.wait with the checks cancelled when the caller cancels."""

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
    tasks = [asyncio.create_task(job()) for job in jobs.values()]
    try:
        await asyncio.gather(*tasks)
    except Exception:
        pass  # every failure is collected below, once the others are stopped
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    errors = [t.exception() for t in tasks if not t.cancelled() and t.exception() is not None]
    if errors:
        raise ExceptionGroup(f"{len(errors)} jobs failed", errors)
    return dict(zip(jobs, [t.result() for t in tasks], strict=True))


async def fetch_unless_offline(
    jobs: Mapping[str, Callable[[], Awaitable[T]]],
) -> dict[str, T] | None:
    results = None
    try:
        results = await fetch_all(jobs)
    except* Offline:
        pass  # try again later: results stays None
    return results


async def run_checks(checks: Mapping[str, Callable[[], Awaitable[T]]]) -> dict[str, T]:
    tasks = {name: asyncio.create_task(check()) for name, check in checks.items()}
    try:
        if tasks:
            await asyncio.wait(tasks.values())
    finally:
        for task in tasks.values():
            task.cancel()
        if tasks:
            await asyncio.wait(tasks.values())
    results, errors = {}, {}
    for name, task in tasks.items():
        if task.exception() is None:
            results[name] = task.result()
        else:
            errors[name] = task.exception()
    if errors:
        raise ChecksFailed(results, errors)
    return results
