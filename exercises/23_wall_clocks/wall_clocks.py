"""Exercise 23: wall clocks. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime, time, timedelta, timezone  # noqa: F401 - you will need them
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")


def next_occurrence(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """Task 1. `at` on the first day (as the clocks of zone `tz` see it) whose `at` is strictly
    after `now`, where a time the clocks show twice counts only as its first showing.

    `now` is an aware datetime (any zone: UTC, tz or another); a naive one raises ValueError.
    `at` is a naive time of day with fold 0 (hours, minutes, seconds and microseconds all
    count), read in `tz`. The result is an aware datetime in `tz`: today's `at` (today as the
    clocks of `tz` see it, not UTC's) if it is still ahead of `now`, else tomorrow's, and so
    on. Exactly at `at` is not ahead: the answer is then tomorrow's.

    Days when the clocks change: a time the clocks skip (02:30 on a spring-forward day in
    Europe/Paris) happens as late as the skip (03:30, the same instant as "02:30" with the
    offset before the change); a time the clocks show twice (02:30 on an autumn day in Paris)
    is its first one only, so if `now` falls between its two showings the answer is
    tomorrow's. Compare instants, not the digits on the clock face.
    """
    raise NotImplementedError("find today's or tomorrow's `at` in tz, the first one after now")


async def run_at(when: datetime, job: Callable[[], Awaitable[T]]) -> T:
    """Task 2. Sleep the delay from the wall clock now until `when`, then await `job()` once
    and return what it returns (its error goes on to the caller).

    `when` is an aware datetime; a naive one raises ValueError before anything waits or runs.
    The wait is one delay, worked out once from the wall clock at the call
    (`datetime.now(timezone.utc)`) and slept on the loop's clock: if the wall clock is set
    during the wait, the job still runs when that delay ends. A `when` already past runs the
    job at once. Cancelled while it waits, it ends cancelled and the job never runs.
    """
    raise NotImplementedError("turn `when` into a delay from the wall clock now, sleep it, run job")


async def run_daily(at: time, tz: ZoneInfo, job: Callable[[], Awaitable[T]], times: int) -> list[T]:
    """Task 3. Run `job()` `times` times, each at the next `at` in zone `tz` (the first at the
    next occurrence after the wall clock now, each other one at the occurrence after the moment
    the previous job ended), and return their results in order.

    Every wait is worked out again from the wall clock when it begins, so that a day with 23
    or 25 hours, or a wall clock that was set while a job ran, still lands on `at`. A job that
    raises ends it with that error; cancelled, it ends cancelled. `times` 0 runs nothing.
    """
    raise NotImplementedError("for each run: next_occurrence from the wall clock now, then run_at")


class TTLCache:
    """Task 4. A cache whose entries live `ttl` by the wall clock.

    put(key, value) keeps `value` (the very object) until `ttl` after the wall-clock time of
    the put; putting the key again replaces the value and starts its `ttl` again. get(key,
    default) gives the value while the wall clock is before that expiry, and `default` from
    the expiry on (exactly at it too). A ttl of 0 or less keeps nothing: get() right after
    put() gives `default`. An entry a get() has found expired may be dropped then: if the wall
    clock is later set back before its expiry, get() may give the value or `default` (both
    are right). Any value counts, 0, "" and None too. Each cache keeps its own entries.
    """

    def __init__(self, ttl: timedelta) -> None:
        raise NotImplementedError("keep ttl and make this cache's own dict of entries")

    def put(self, key: Hashable, value: Any) -> None:
        raise NotImplementedError("keep value with its expiry: the wall clock now + ttl")

    def get(self, key: Hashable, default: Any = None) -> Any:
        raise NotImplementedError("give the value if the wall clock is still before its expiry")


async def timed(job: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    """Task 5. Await `job()` and return `(its result, how many seconds it took)`.

    The duration is measured on a monotonic clock (the loop's), never the wall clock: the
    wall clock may be set back or forward while the job runs, and a duration is never
    negative. The job's error goes on to the caller.
    """
    raise NotImplementedError("read the loop's clock before and after awaiting job()")
