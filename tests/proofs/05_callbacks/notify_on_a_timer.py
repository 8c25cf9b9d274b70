"""Exercise 05, a wrong answer: schedules notify 0.1 s later with
call_later instead of on the next turn."""

import asyncio
import functools
import math


def notify_soon(notify, user, *, urgent):
    return asyncio.get_running_loop().call_later(
        0.1, functools.partial(notify, user, urgent=urgent)
    )


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

    def poke(self):
        if self._pending is not None:
            self._pending.cancel()
        self._pending = asyncio.get_running_loop().call_later(self.delay, self.action)

    def cancel(self):
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
