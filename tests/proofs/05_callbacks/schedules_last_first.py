"""Exercise 05, a correct answer written differently: call_soon for delay 0, reminders scheduled
from the last to the first (reminders due at the same time may fire in either order: asyncio
leaves that undefined), beats counted with //, a debouncer on call_at."""

import asyncio


def notify_soon(notify, user, *, urgent):
    return asyncio.get_running_loop().call_soon(lambda: notify(user, urgent=urgent))


def schedule_reminders(remind, reminders):
    """Schedules from the last reminder to the first, returns handles in order."""
    loop = asyncio.get_running_loop()
    handles = {}
    for index in reversed(range(len(reminders))):
        text, delay = reminders[index]
        handles[index] = loop.call_later(delay, remind, text)
    return [handles[i] for i in range(len(reminders))]


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
        self._pending = loop.call_at(loop.time() + self.delay, self._fire)

    def cancel(self):
        if self._pending:
            self._pending.cancel()
        self._pending = None
