"""Exercise 11: task groups. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
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
    the two dicts back. Split by `except*`, it gives plain ExceptionGroups (what derive()
    returns), without .results or .errors: catch the whole of it with `except ChecksFailed`.
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
    """Task 1. Run every job at once in a task group; return the results by name.

    Call each job exactly once (the same function under two names is called twice), all
    at the same time, and return a new dict mapping each name to what its job returned, in
    the order of `jobs`; every result counts (None, 0 and "" too), and no jobs give {}.
    Keep each name exactly as given and leave `jobs` unchanged. The call takes as long as
    the slowest job, however long that is (set no time limit).

    If a job raises, every job still running is cancelled at that very moment, and
    fetch_all() waits until they have all ended (their cleanup done) before it raises an
    ExceptionGroup holding every job's error (two jobs failing at the same moment are both
    in it), a flat one: its .exceptions are the errors themselves, never a group inside a
    group. Nothing fetch_all() started may outlive it, and nothing is kept between calls
    (two calls may overlap). If the caller cancels fetch_all(),
    every job is cancelled and waited for, and the CancelledError reaches the caller.
    """
    raise NotImplementedError(
        "start each job() with tg.create_task() inside `async with asyncio.TaskGroup() as tg:`, "
        "then read each task's result"
    )


async def fetch_unless_offline(
    jobs: Mapping[str, Callable[[], Awaitable[T]]],
) -> dict[str, T] | None:
    """Task 2. Like fetch_all(), but a service being Offline is expected: return None.

    Run the jobs exactly as fetch_all() does (at once, each called once, results by name in
    the order of `jobs`, `jobs` unchanged; a failure cancels the others, which are waited
    for). If nothing failed, return the results (no jobs give {}). If the jobs failed only
    with Offline errors, return None ("try again later"). Any other error is a bug and must
    reach the caller, in one flat ExceptionGroup that holds every other error and none of
    the Offline ones (those you have handled). Keep nothing between calls: an Offline call
    says nothing about the next one. If the caller cancels the call, the CancelledError
    reaches the caller.
    """
    raise NotImplementedError(
        "run the jobs in a TaskGroup inside `try:`, and handle only the Offline errors with "
        "`except* Offline:`"
    )


async def run_checks(checks: Mapping[str, Callable[[], Awaitable[T]]]) -> dict[str, T]:
    """Task 3. Run every health check at once, to the end; report every failure.

    Call each check exactly once, all at the same time. A failing check must not cancel or
    stop the others: wait until every check has ended. If they all passed, return a new
    dict mapping each name to its check's result, in the order of `checks` (None, 0 and ""
    count; no checks give {}). If any failed, raise ChecksFailed(results, errors): the
    results of the checks that passed and the exception of each check that failed, both by
    name in the order of `checks`. Keep names exactly as given, leave `checks` unchanged,
    keep nothing between calls, and set no time limit. If the caller cancels run_checks(),
    every check still running is cancelled too, and the CancelledError reaches the caller.
    """
    raise NotImplementedError(
        "run every check to the end (asyncio.gather(..., return_exceptions=True)), then sort "
        "results from errors and raise ChecksFailed(results, errors) if any failed"
    )
