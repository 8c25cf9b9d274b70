"""Exercise 05, a correct answer written differently: a nested def instead of partial,
call_at(now + delay), ceil corrected for exact multiples, and a debouncer that keeps one
timer and re-arms it for the latest deadline when it fires early."""

import asyncio
import functools
import math


def notify_soon(notify, user, *, urgent):
    def call():
        notify(user, urgent=urgent)

    return asyncio.get_event_loop().call_soon(call)


def schedule_reminders(remind, reminders):
    loop = asyncio.get_running_loop()
    now = loop.time()
    return [loop.call_at(now + delay, functools.partial(remind, text)) for text, delay in reminders]


def schedule_on_the_beat(beat, period, count):
    loop = asyncio.get_running_loop()
    now = loop.time()
    k = math.ceil(now / period)
    if k * period <= now:
        k += 1
    return [loop.call_at((k + i) * period, functools.partial(beat, i + 1)) for i in range(count)]


class Debouncer:
    """Trailing-deadline style: one timer, re-armed when it fires early."""

    def __init__(self, delay, action):
        self.delay = delay
        self.action = action
        self._pending = None
        self._deadline = None

    def _check(self):
        loop = asyncio.get_running_loop()
        if loop.time() >= self._deadline:
            self._pending = None
            self.action()
        else:
            self._pending = loop.call_at(self._deadline, self._check)

    def poke(self):
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + self.delay
        if self._pending is None:
            self._pending = loop.call_at(self._deadline, self._check)

    def cancel(self):
        if self._pending is not None:
            self._pending.cancel()
        self._pending = None
