"""Exercise 23, right: wait_for on an Event, recursion, epoch seconds."""

import asyncio
from datetime import UTC, datetime, time, timedelta


def next_occurrence(now, at, tz):
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("naive")
    t = now.timestamp()
    day = now.astimezone(tz).date()
    while True:
        ts = datetime.combine(
            day, time(at.hour, at.minute, at.second, at.microsecond), tzinfo=tz
        ).timestamp()
        if ts > t:
            return datetime.fromtimestamp(ts, tz)
        day += timedelta(days=1)


async def run_at(when, job):
    if when.utcoffset() is None:
        raise ValueError("naive")
    delay = when.timestamp() - datetime.now(UTC).timestamp()
    if delay > 0:
        try:
            await asyncio.wait_for(asyncio.Event().wait(), delay)
        except TimeoutError:
            pass
    return await job()


async def run_daily(at, tz, job, times):
    if times <= 0:
        return []
    first = await run_at(next_occurrence(datetime.now(UTC), at, tz), job)
    return [first, *await run_daily(at, tz, job, times - 1)]


class TTLCache:
    def __init__(self, ttl):
        self._ttl = ttl.total_seconds()
        self._d = {}

    def put(self, key, value):
        self._d[key] = value, datetime.now(UTC).timestamp() + self._ttl

    def get(self, key, default=None):
        try:
            value, expires = self._d[key]
        except KeyError:
            return default
        return value if datetime.now(UTC).timestamp() < expires else default


async def timed(job):
    loop = asyncio.get_running_loop()
    start = loop.time()
    value = await job()
    return (value, loop.time() - start)
