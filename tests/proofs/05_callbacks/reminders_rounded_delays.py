"""Exercise 05, wrong (blind review): schedule_reminders rounds each delay to 1 decimal."""

import asyncio
import functools
import math
from collections.abc import Callable


def notify_soon(notify: Callable[..., None], user: str, *, urgent: bool) -> asyncio.Handle:
    loop = asyncio.get_running_loop()
    return loop.call_soon(functools.partial(notify, user, urgent=urgent))


def schedule_reminders(
    remind: Callable[[str], None], reminders: list[tuple[str, float]]
) -> list[asyncio.Handle]:
    loop = asyncio.get_running_loop()
    return [loop.call_later(round(delay, 1), remind, text) for text, delay in reminders]


def schedule_on_the_beat(
    beat: Callable[[int], None], period: float, count: int
) -> list[asyncio.TimerHandle]:
    loop = asyncio.get_running_loop()
    now = loop.time()
    k = math.floor(now / period) + 1
    while k * period <= now:
        k += 1
    return [loop.call_at((k + n) * period, beat, n + 1) for n in range(count)]


class Debouncer:
    def __init__(self, delay: float, action: Callable[[], None]) -> None:
        self.delay = delay
        self.action = action
        self._pending: asyncio.TimerHandle | None = None

    def poke(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        loop = asyncio.get_running_loop()
        self._pending = loop.call_later(self.delay, self.action)

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
