"""Exercise 23, right (blind review r03): call_later and a future, run_daily by recursion."""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")


def _aware(d: datetime, name: str) -> None:
    if d.tzinfo is None or d.tzinfo.utcoffset(d) is None:
        raise ValueError(f"{name} is naive")


def next_occurrence(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    _aware(now, "now")
    local_now = now.astimezone(tz)
    # start a day early and walk forward: always ends on the first one after now
    day = local_now.date() - timedelta(days=1)
    for _ in range(5):
        candidate = datetime.combine(day, at).replace(tzinfo=tz)
        if candidate.astimezone(UTC) > now.astimezone(UTC):
            return candidate.astimezone(UTC).astimezone(tz)
        day += timedelta(days=1)
    raise AssertionError("unreachable")


async def _sleep_on_loop(delay: float) -> None:
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    handle = loop.call_later(delay, lambda: fut.done() or fut.set_result(None))
    try:
        await fut
    finally:
        handle.cancel()


async def run_at(when: datetime, job: Callable[[], Awaitable[T]]) -> T:
    _aware(when, "when")
    delay = (when.astimezone(UTC) - datetime.now(UTC)) / timedelta(seconds=1)
    if delay > 0:
        await _sleep_on_loop(delay)
    return await job()


async def run_daily(at: time, tz: ZoneInfo, job: Callable[[], Awaitable[T]], times: int) -> list[T]:
    if times <= 0:
        return []
    first = await run_at(next_occurrence(datetime.now(UTC), at, tz), job)
    return [first] + await run_daily(at, tz, job, times - 1)


class TTLCache:
    def __init__(self, ttl: timedelta) -> None:
        self.ttl = ttl
        self.store: dict[Hashable, tuple[datetime, Any]] = dict()

    def put(self, key: Hashable, value: Any) -> None:
        self.store[key] = (datetime.now(UTC) + self.ttl, value)

    def get(self, key: Hashable, default: Any = None) -> Any:
        try:
            expires, value = self.store[key]
        except KeyError:
            return default
        return value if datetime.now(UTC) < expires else default


async def timed(job: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    r = await job()
    t1 = loop.time()
    return (r, t1 - t0)
