"""Exercise 05, a correct answer written differently: call_soon_threadsafe for the notification,
one call_later per reminder in a comprehension (call_later(0) for "now"), math.ceil with a
strictness fix for the beats, and a debouncer that swaps its handle out before cancelling."""

import asyncio
import functools
import math


def notify_soon(notify, user, *, urgent):
    loop = asyncio.get_running_loop()
    return loop.call_soon_threadsafe(functools.partial(notify, user, urgent=urgent))


def schedule_reminders(remind, reminders):
    loop = asyncio.get_running_loop()
    return [loop.call_later(delay, remind, text) for text, delay in reminders]


def schedule_on_the_beat(beat, period, count):
    loop = asyncio.get_running_loop()
    now = loop.time()
    k = math.ceil(now / period)
    if k * period <= now:
        k += 1
    return [loop.call_at((k + i) * period, beat, i + 1) for i in range(count)]


class Debouncer:
    def __init__(self, delay, action):
        self.delay = delay
        self.action = action
        self._pending = None

    def poke(self):
        self.cancel()
        self._pending = asyncio.get_running_loop().call_later(self.delay, self.action)

    def cancel(self):
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()
