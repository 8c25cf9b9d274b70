"""Exercise 23, right (blind review r07): a local aware wall clock, wait_for, timestamps."""

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")


def _wall_now() -> datetime:
    return datetime.now().astimezone()  # aware, in the machine's zone


def next_occurrence(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    if now.utcoffset() is None:
        raise ValueError("naive now")
    local = now.astimezone(tz)
    day = local.date()
    while True:
        c = datetime.combine(day, at).replace(tzinfo=tz)
        if c.timestamp() > now.timestamp():
            return datetime.fromtimestamp(c.timestamp(), tz=tz)
        day = day + timedelta(days=1)


async def run_at(when: datetime, job: Callable[[], Awaitable[T]]) -> T:
    if when.utcoffset() is None:
        raise ValueError("naive when")
    delay = (when - _wall_now()) / timedelta(seconds=1)
    if delay > 0:
        never = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(never, timeout=delay)
        except TimeoutError:
            pass
    return await job()


async def run_daily(at: time, tz: ZoneInfo, job: Callable[[], Awaitable[T]], times: int) -> list[T]:
    async def one() -> T:
        return await run_at(next_occurrence(_wall_now(), at, tz), job)

    return [await one() for _ in range(times)]


class TTLCache:
    def __init__(self, ttl: timedelta) -> None:
        self._ttl = ttl
        self._expiry = {}
        self._value = {}

    def put(self, key: Hashable, value: Any) -> None:
        self._value[key] = value
        self._expiry[key] = _wall_now() + self._ttl

    def get(self, key: Hashable, default: Any = None) -> Any:
        if key not in self._value:
            return default
        if _wall_now() >= self._expiry[key]:
            return default
        return self._value[key]


async def timed(job: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    loop = asyncio.get_running_loop()
    t = -loop.time()
    res = await job()
    t += loop.time()
    return res, t
