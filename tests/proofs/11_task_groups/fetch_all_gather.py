"""Exercise 11, a wrong answer kept for the kit's own tests: gather raises the first error and
leaves the other jobs running."""

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
    values = await asyncio.gather(*(job() for job in jobs.values()))
    return dict(zip(jobs, values, strict=True))


async def fetch_unless_offline(
    jobs: Mapping[str, Callable[[], Awaitable[T]]],
) -> dict[str, T] | None:
    offline = False
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = {name: tg.create_task(job()) for name, job in jobs.items()}
    except* Offline:
        offline = True  # any other error goes on, in a group without the Offline ones
    if offline:
        return None
    return {name: task.result() for name, task in tasks.items()}


async def run_checks(checks: Mapping[str, Callable[[], Awaitable[T]]]) -> dict[str, T]:
    names = list(checks)
    outcomes = await asyncio.gather(*(checks[name]() for name in names), return_exceptions=True)
    results = {n: o for n, o in zip(names, outcomes, strict=True) if not isinstance(o, Exception)}
    errors = {n: o for n, o in zip(names, outcomes, strict=True) if isinstance(o, Exception)}
    if errors:
        raise ChecksFailed(results, errors)
    return results
