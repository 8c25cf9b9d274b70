"""Exercise 05, a correct answer written differently: lambdas that bind their arguments,
call_at on loop.time() + delay, a remainder for the beat, and a task-based debouncer."""

import asyncio


def notify_soon(notify, user, *, urgent):
    return asyncio.get_running_loop().call_soon(lambda: notify(user, urgent=urgent))


def schedule_reminders(remind, reminders):
    loop = asyncio.get_running_loop()
    start = loop.time()
    return [loop.call_at(start + delay, lambda t=text: remind(t)) for text, delay in reminders]


def schedule_on_the_beat(beat, period, count):
    loop = asyncio.get_running_loop()
    now = loop.time()
    first = now - now % period + period
    handles = []
    for n in range(count):
        handles.append(loop.call_at(first + n * period, beat, n + 1))
    return handles


class Debouncer:
    """Each poke replaces a sleeping task instead of a timer handle."""

    def __init__(self, delay, action):
        self.delay = delay
        self.action = action
        self._waiter = None

    async def _wait_then_act(self):
        await asyncio.sleep(self.delay)
        self.action()

    def poke(self):
        self.cancel()
        self._waiter = asyncio.create_task(self._wait_then_act())

    def cancel(self):
        if self._waiter is not None and not self._waiter.done():
            self._waiter.cancel()
        self._waiter = None
