"""Exercise 05: callbacks. Read README.md, then replace each NotImplementedError."""

import asyncio
import functools  # noqa: F401 - you will need it
from collections.abc import Callable


def notify_soon(notify: Callable[..., None], user: str, *, urgent: bool) -> asyncio.Handle:
    """Task 1. Have the loop call `notify(user, urgent=urgent)` on its next turn.

    Do not call `notify` yourself: schedule it with the running loop's call_soon and return
    the asyncio.Handle call_soon gives you (the caller may cancel it), not a Task. Each call
    schedules a notification of its own, even for the same user twice. `urgent` must reach
    `notify` as a keyword argument, and call_soon only passes positional ones.
    """
    raise NotImplementedError(
        "schedule functools.partial(notify, user, urgent=urgent) with loop.call_soon"
    )


def schedule_reminders(
    remind: Callable[[str], None], reminders: list[tuple[str, float]]
) -> list[asyncio.Handle]:
    """Task 2. For each `(text, delay)`, have the loop call `remind(text)` `delay` seconds
    from now (a delay of 0 means on the loop's next turn).

    Return at once a new list with one asyncio.Handle per reminder, in the order given:
    cancelling a handle must stop its reminder (and only that one). Two reminders with the
    same text are still two reminders. The reminders fire in the order of their delays, not
    the order they were given. Does not change `reminders`.
    """
    raise NotImplementedError("schedule remind(text) with loop.call_later(delay, ...) for each")


def schedule_on_the_beat(
    beat: Callable[[int], None], period: float, count: int
) -> list[asyncio.TimerHandle]:
    """Task 3. Call `beat(1)`, `beat(2)`, ... `beat(count)` on the loop's beat.

    The beats fall on the next `count` whole multiples of `period` on the loop's own clock
    (`loop.time()`), strictly after now: with loop.time() == 10.25 and period 0.5 they fire
    at 10.5, 11.0, 11.5. Schedule them with loop.call_at and return a list of their
    TimerHandles, in order (an empty list when count is 0).
    """
    raise NotImplementedError(
        "work out the next multiple of period after loop.time(), then loop.call_at each beat"
    )


class Debouncer:
    """Task 4. Call `action()` once things have been quiet for `delay` seconds.

    Every `poke()` restarts the countdown: `action()` runs `delay` seconds after the last
    poke, once, however many pokes came before it. `cancel()` drops the pending call, if any.
    Poke again after the action has run (or after cancel()) and it will run again. A delay of
    0 means on the loop's next turn. Each Debouncer has its own countdown: two alive at once
    never touch each other's pending call.
    """

    def __init__(self, delay: float, action: Callable[[], None]) -> None:
        self.delay = delay
        self.action = action
        self._pending: asyncio.TimerHandle | None = None  # the call waiting to happen

    def poke(self) -> None:
        """(Re)start the countdown. Returns at once; does not call action() itself."""
        raise NotImplementedError(
            "cancel the pending handle, if any, then call_later(delay, action) and keep it"
        )

    def cancel(self) -> None:
        """Stop the pending call, if there is one. Harmless when nothing is pending."""
        raise NotImplementedError("cancel the pending handle, if there is one")
