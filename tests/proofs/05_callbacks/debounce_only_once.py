"""Exercise 05, a wrong answer: the debouncer fires once and then ignores
every later poke."""

import asyncio
import functools
import math


def notify_soon(notify, user, *, urgent):
    loop = asyncio.get_running_loop()
    return loop.call_soon(functools.partial(notify, user, urgent=urgent))


def schedule_reminders(remind, reminders):
    loop = asyncio.get_running_loop()
    return [loop.call_later(delay, remind, text) for text, delay in reminders]


def schedule_on_the_beat(beat, period, count):
    loop = asyncio.get_running_loop()
    now = loop.time()
    first = math.floor(now / period) + 1
    return [loop.call_at((first + i) * period, beat, i + 1) for i in range(count)]


class Debouncer:
    def __init__(self, delay, action):
        self.delay = delay
        self.action = action
        self._pending = None
        self._fired = False

    def _fire(self):
        self._fired = True
        self.action()

    def poke(self):
        if self._fired:
            return
        if self._pending is not None:
            self._pending.cancel()
        self._pending = asyncio.get_running_loop().call_later(self.delay, self._fire)

    def cancel(self):
        if self._pending is not None:
            self._pending.cancel()
