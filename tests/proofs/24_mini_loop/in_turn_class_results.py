"""Exercise 24: a loop of your own: generators as coroutines and a tiny scheduler."""

from __future__ import annotations

import heapq
import itertools
import types
from collections import deque
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sleep:
    """What a task yields to sleep: `yield Sleep(2)` asks to be resumed 2 s later."""

    seconds: float


# Task 1


def drive(gen: Generator, answers: Iterable) -> tuple[list, Any]:
    """Run the generator `gen` by hand: start it with send(None), then send it each of
    `answers` in turn, one for each value it yields.

    Returns `(yielded, result)`: a new list of every value the generator yielded, in order,
    and the value it returned (StopIteration.value, whatever it is: 0, "" and None too).
    The generator must finish right after the last answer: if it returns before every
    answer is sent, raise ValueError; if it still yields after the last one, close() it and
    raise ValueError. `answers` is left unchanged."""
    answers = list(answers)
    yielded = []
    try:
        yielded.append(gen.send(None))
        for answer in answers:
            yielded.append(gen.send(answer))
    except StopIteration as stop:
        if len(yielded) != len(answers):
            raise ValueError(
                f"the generator returned after {len(yielded)} of the {len(answers)} answers"
            ) from None
        return yielded, stop.value
    gen.close()
    raise ValueError(f"the generator still wants answers after all {len(answers)}")


# Task 2

_RESULTS = []


def in_turn(subroutines: Iterable[Generator]) -> Generator[Any, Any, list]:
    """A generator that runs each generator of `subroutines` in turn with `yield from`, and
    returns the list of their return values, in order.

    Whatever its caller sends or throws in reaches the subroutine running at that moment,
    and close() closes it; every value a subroutine yields reaches the caller. `subroutines`
    is left unchanged."""
    results = _RESULTS
    for sub in list(subroutines):
        results.append((yield from sub))
    return results


# Task 3


class Scheduler:
    """A round-robin scheduler with its own clock.

    `now` is the scheduler's clock, 0.0 when it is made. spawn(gen) adds a task (a generator,
    or a coroutine) and returns its id: 0, 1, 2 ... per scheduler. run() runs every task
    until all have ended and returns {id: return value} for the tasks that returned;
    `errors` is {id: exception} for the tasks that raised.

    A task is resumed with send(None). When it yields `Sleep(seconds)` it is resumed once
    `seconds` have passed on the clock; when it yields None (or Sleep(0) or a negative
    Sleep) it goes to the back of the ready line. Ready tasks run first in, first out; tasks
    due at the same time run in the order they went to sleep. When no task is ready, the
    clock jumps straight to the next wake-up: it never moves in small steps, and a task is
    never resumed before its time. A task that raises is recorded in `errors` and the others
    go on. A task that yields anything else gets a TypeError recorded in `errors` and is
    closed."""

    def __init__(self) -> None:
        self.now = 0.0
        self.errors: dict[int, BaseException] = {}
        self._results: dict[int, Any] = {}
        self._ids = itertools.count()
        self._order = itertools.count()
        self._ready: deque[tuple[int, Any]] = deque()
        self._sleeping: list[tuple[float, int, int, Any]] = []

    def spawn(self, gen) -> int:
        task_id = next(self._ids)
        self._ready.append((task_id, gen))
        return task_id

    def run(self) -> dict[int, Any]:
        while self._ready or self._sleeping:
            if not self._ready:
                wake, _, task_id, gen = heapq.heappop(self._sleeping)
                self.now = max(self.now, wake)
                self._ready.append((task_id, gen))
                while self._sleeping and self._sleeping[0][0] <= self.now:
                    _, _, task_id, gen = heapq.heappop(self._sleeping)
                    self._ready.append((task_id, gen))
            task_id, gen = self._ready.popleft()
            try:
                request = gen.send(None)
            except StopIteration as stop:
                self._results[task_id] = stop.value
                continue
            except Exception as exc:
                self.errors[task_id] = exc
                continue
            if request is None:
                self._ready.append((task_id, gen))
            elif isinstance(request, Sleep):
                if request.seconds <= 0:
                    self._ready.append((task_id, gen))
                else:
                    wake = self.now + request.seconds
                    heapq.heappush(self._sleeping, (wake, next(self._order), task_id, gen))
            else:
                try:
                    gen.close()
                except Exception as exc:  # its cleanup failed: that is the task's error
                    self.errors[task_id] = exc
                else:
                    self.errors[task_id] = TypeError(
                        f"task {task_id} yielded {request!r}: a task may only yield "
                        "Sleep(seconds) or None"
                    )
        return dict(self._results)


# Task 4


@types.coroutine
def sleep(seconds: float):
    """An awaitable for `async def` tasks run by a Scheduler: `await sleep(2)` sleeps 2 s of
    the scheduler's clock (it yields Sleep(2) to the scheduler) and returns None."""
    yield Sleep(seconds)
