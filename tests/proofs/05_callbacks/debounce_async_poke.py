"""Exercise 05, wrong: poke() and cancel() written as async def: calling them only makes a
coroutine."""

import asyncio
import functools
from collections.abc import Callable


def notify_soon(notify: Callable[..., None], user: str, *, urgent: bool) -> asyncio.Handle:
    loop = asyncio.get_running_loop()
    return loop.call_soon(functools.partial(notify, user, urgent=urgent))


def schedule_reminders(
    remind: Callable[[str], None], reminders: list[tuple[str, float]]
) -> list[asyncio.Handle]:
    loop = asyncio.get_running_loop()
    handles: list[asyncio.Handle] = []
    for text, delay in reminders:
        if delay == 0:
            handles.append(loop.call_soon(remind, text))
        else:
            handles.append(loop.call_later(delay, remind, text))
    return handles


def schedule_on_the_beat(
    beat: Callable[[int], None], period: float, count: int
) -> list[asyncio.TimerHandle]:
    loop = asyncio.get_running_loop()
    first = (loop.time() // period + 1) * period
    return [loop.call_at(first + (n - 1) * period, beat, n) for n in range(1, count + 1)]


class Debouncer:
    def __init__(self, delay: float, action: Callable[[], None]) -> None:
        self.delay = delay
        self.action = action
        self._pending: asyncio.TimerHandle | None = None

    async def poke(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        self._pending = asyncio.get_running_loop().call_later(self.delay, self.action)

    async def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
