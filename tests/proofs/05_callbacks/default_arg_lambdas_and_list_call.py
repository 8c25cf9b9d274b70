"""Exercise 05, a correct answer written differently: partial(**kwargs), lambdas binding the
text as a default argument, list() of a generator expression, a beat time stepped by adding
the period."""

import asyncio
import functools


def notify_soon(notify, user, *, urgent):
    loop = asyncio.get_running_loop()
    handle = loop.call_soon(functools.partial(notify, user, **{"urgent": urgent}))
    return handle


def schedule_reminders(remind, reminders):
    loop = asyncio.get_running_loop()
    return list(loop.call_later(delay, lambda t=text: remind(t)) for text, delay in reminders)


def schedule_on_the_beat(beat, period, count):
    loop = asyncio.get_running_loop()
    now = loop.time()
    t = (int(now / period) + 1) * period
    while t <= now:
        t += period
    handles = []
    for i in range(count):
        handles.append(loop.call_at(t, beat, i + 1))
        t += period
    return handles


class Debouncer:
    def __init__(self, delay, action):
        self.delay = delay
        self.action = action
        self._pending = None

    def poke(self):
        if self._pending:
            self._pending.cancel()
        self._pending = asyncio.get_running_loop().call_later(self.delay, self._run)

    def _run(self):
        self._pending = None
        self.action()

    def cancel(self):
        pending, self._pending = self._pending, None
        if pending is not None and not pending.cancelled():
            pending.cancel()
