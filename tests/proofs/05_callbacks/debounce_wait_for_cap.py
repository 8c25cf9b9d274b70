"""Exercise 05, wrong: a task-based debouncer that waits at most an hour 'to be safe', then acts."""

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

    async def _countdown(self) -> None:
        try:
            await asyncio.wait_for(asyncio.sleep(self.delay), timeout=3600)
        except TimeoutError:
            pass  # never wait more than an hour, to be safe
        self.action()

    def poke(self) -> None:
        self.cancel()
        self._pending = asyncio.create_task(self._countdown())  # type: ignore[assignment]

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
