"""Exercise 05, a wrong answer: poke() hands call_later the result of action(),
calling it at once."""

import asyncio
import functools


def notify_soon(notify, user, *, urgent):
    return asyncio.get_running_loop().call_soon(lambda: notify(user, urgent=urgent))


def schedule_reminders(remind, reminders):
    loop = asyncio.get_running_loop()
    handles = []
    for text, delay in reminders:
        if delay == 0:
            handles.append(loop.call_soon(remind, text))
        else:
            handles.append(loop.call_later(delay, functools.partial(remind, text)))
    return handles


def schedule_on_the_beat(beat, period, count):
    loop = asyncio.get_running_loop()
    now = loop.time()
    n = now // period + 1
    handles = []
    for k in range(1, count + 1):
        handles.append(loop.call_at(n * period, beat, k))
        n += 1
    return handles


class Debouncer:
    def __init__(self, delay, action):
        self.delay = delay
        self.action = action
        self._pending = None

    def _fire(self):
        self._pending = None
        self.action()

    def poke(self):
        self.cancel()
        loop = asyncio.get_running_loop()
        self._pending = loop.call_later(self.delay, self.action())

    def cancel(self):
        if self._pending:
            self._pending.cancel()
        self._pending = None
