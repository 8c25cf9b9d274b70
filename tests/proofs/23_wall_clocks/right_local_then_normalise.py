"""Exercise 23, right: clock face then normalised; run_at with timeout_at; two dicts."""

import asyncio
from datetime import UTC, datetime, timedelta


def next_occurrence(now, at, tz):
    if now.utcoffset() is None:
        raise ValueError("now must be aware")
    local = now.astimezone(tz)
    candidate = local.replace(
        hour=at.hour, minute=at.minute, second=at.second, microsecond=at.microsecond, fold=0
    )
    candidate = candidate.astimezone(UTC)
    while candidate <= now:
        day = candidate.astimezone(tz).date() + timedelta(days=1)
        candidate = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
    return candidate.astimezone(tz)


async def run_at(when, job):
    if when.utcoffset() is None:
        raise ValueError("when must be aware")
    seconds = (when.astimezone(UTC) - datetime.now(UTC)) / timedelta(seconds=1)
    if seconds > 0:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(loop.time() + seconds):
                await asyncio.Event().wait()
        except TimeoutError:
            pass
    return await job()


async def run_daily(at, tz, job, times):
    results = []
    for _ in range(times):
        now = datetime.now(UTC)
        results.append(await run_at(next_occurrence(now, at, tz), job))
    return results


class TTLCache:
    def __init__(self, ttl):
        self.ttl = ttl
        self.values = {}
        self.expiries = {}

    def put(self, key, value):
        self.values[key] = value
        self.expiries[key] = datetime.now(UTC) + self.ttl

    def get(self, key, default=None):
        if key not in self.values:
            return default
        if datetime.now(UTC) >= self.expiries[key]:
            del self.values[key], self.expiries[key]
            return default
        return self.values[key]


async def timed(job):
    loop = asyncio.get_running_loop()
    begin = loop.time()
    try:
        return await job(), loop.time() - begin
    finally:
        pass
