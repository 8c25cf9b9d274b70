"""Exercise 23, right: perf_counter, a dataclass, stepping from yesterday."""

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


def next_occurrence(now, at, tz):
    if now.utcoffset() is None:
        raise ValueError("now is naive")
    day = now.astimezone(tz).date() - timedelta(days=1)
    while True:
        moment = datetime.combine(day, at, tzinfo=tz)
        if moment.astimezone(UTC) > now.astimezone(UTC):
            return moment.astimezone(UTC).astimezone(tz)
        day = day + timedelta(days=1)


async def run_at(when, job):
    if when.utcoffset() is None:
        raise ValueError("when is naive")
    wait = (when - datetime.now(UTC)).total_seconds()
    if wait > 0:
        await asyncio.sleep(wait)
    return await job()


async def run_daily(at, tz, job, times):
    return [await run_at(next_occurrence(datetime.now(UTC), at, tz), job) for _ in range(times)]


@dataclass
class Entry:
    value: object
    expires: datetime


class TTLCache:
    def __init__(self, ttl):
        self.ttl = ttl
        self.entries = {}

    def put(self, key, value):
        self.entries[key] = Entry(value, datetime.now(UTC) + self.ttl)

    def get(self, key, default=None):
        entry = self.entries.get(key)
        if entry is not None and datetime.now(UTC) < entry.expires:
            return entry.value
        self.entries.pop(key, None)
        return default


async def timed(job):
    t0 = time.perf_counter()
    result = await job()
    return result, time.perf_counter() - t0
