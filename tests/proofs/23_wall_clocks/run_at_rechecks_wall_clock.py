"""Exercise 23, wrong: reads the wall clock again after the wait and sleeps again."""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")


def next_occurrence(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    if now.utcoffset() is None:
        raise ValueError(f"now must be an aware datetime, got the naive {now!r}")
    now_utc = now.astimezone(UTC)
    day = now.astimezone(tz).date()
    while True:
        # fold=0: an ambiguous time is its first; a skipped one, through UTC, moves on by the gap
        wanted = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=tz)
        wanted_utc = wanted.astimezone(UTC)
        if wanted_utc > now_utc:
            return wanted_utc.astimezone(tz)
        day += timedelta(days=1)


async def run_at(when: datetime, job: Callable[[], Awaitable[T]]) -> T:
    if when.utcoffset() is None:
        raise ValueError(f"when must be an aware datetime, got the naive {when!r}")
    while True:
        delay = (when - datetime.now(UTC)).total_seconds()
        if delay <= 0:
            break
        await asyncio.sleep(delay)
    return await job()


async def run_daily(at: time, tz: ZoneInfo, job: Callable[[], Awaitable[T]], times: int) -> list[T]:
    results = []
    for _ in range(times):
        when = next_occurrence(datetime.now(UTC), at, tz)
        results.append(await run_at(when, job))
    return results


class TTLCache:
    def __init__(self, ttl: timedelta) -> None:
        self.ttl = ttl
        self.entries: dict[Hashable, tuple[Any, datetime]] = {}

    def put(self, key: Hashable, value: Any) -> None:
        self.entries[key] = (value, datetime.now(UTC) + self.ttl)

    def get(self, key: Hashable, default: Any = None) -> Any:
        if key in self.entries:
            value, expires = self.entries[key]
            if datetime.now(UTC) < expires:
                return value
            del self.entries[key]
        return default


async def timed(job: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await job()
    return result, loop.time() - started
