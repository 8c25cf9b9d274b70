"""Exercise 05, a correct answer written differently: partial binding only the keyword,
call_later even for "now", beats counted in whole periods, a debouncer that reschedules
with call_at."""

import asyncio
import math
from functools import partial


def notify_soon(notify, user, *, urgent):
    loop = asyncio.get_running_loop()
    return loop.call_soon(partial(notify, urgent=urgent), user)


def schedule_reminders(remind, reminders):
    loop = asyncio.get_running_loop()
    handles = []
    for text, delay in reminders:
        handles.append(loop.call_later(delay, remind, text))
    return handles


def schedule_on_the_beat(beat, period, count):
    loop = asyncio.get_running_loop()
    beats_so_far = math.floor(loop.time() / period)
    return [
        loop.call_at((beats_so_far + n) * period, partial(beat, n)) for n in range(1, count + 1)
    ]


class Debouncer:
    def __init__(self, delay, action):
        self.delay = delay
        self.action = action
        self._pending = None

    def poke(self):
        loop = asyncio.get_running_loop()
        old, self._pending = self._pending, loop.call_at(loop.time() + self.delay, self._fire)
        if old:
            old.cancel()

    def _fire(self):
        self._pending = None
        self.action()

    def cancel(self):
        if self._pending:
            self._pending.cancel()
        self._pending = None
