"""Exercise 23, right: candidates, call_later, epoch floats, time.monotonic."""

import asyncio
import time as clock
from datetime import UTC, datetime, timedelta


def next_occurrence(now, at, tz):
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        raise ValueError("naive now")
    today = now.astimezone(tz).date()
    candidates = [
        datetime.combine(today + timedelta(days=d), at, tzinfo=tz).astimezone(UTC)
        for d in (-1, 0, 1, 2)
    ]
    return min(c for c in candidates if c > now).astimezone(tz)


async def run_at(when, job):
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("naive when")
    loop = asyncio.get_running_loop()
    woken = loop.create_future()
    delay = when.timestamp() - clock.time()
    handle = loop.call_later(max(delay, 0), lambda: woken.done() or woken.set_result(None))
    try:
        await woken
    finally:
        handle.cancel()
    return await job()


async def run_daily(at, tz, job, times):
    out = []
    while len(out) < times:
        out.append(await run_at(next_occurrence(datetime.now(UTC), at, tz), job))
    return out


class TTLCache:
    def __init__(self, ttl):
        self.seconds = ttl.total_seconds()
        self.store = {}

    def put(self, key, value):
        self.store[key] = (clock.time() + self.seconds, value)

    def get(self, key, default=None):
        expires, value = self.store.get(key, (None, default))
        if expires is None or clock.time() >= expires:
            return default
        return value


async def timed(job):
    t0 = clock.monotonic()
    result = await job()
    return result, float(clock.monotonic() - t0)
