"""Exercise 24: a loop of your own."""

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
    seconds: float


def drive(gen: Generator, answers: Iterable) -> tuple[list, Any]:
    pending = iter(answers)
    yielded = []
    try:
        yielded.append(gen.send(None))
        for answer in pending:
            yielded.append(gen.send(answer))
    except StopIteration as stop:
        for _ in pending:
            raise ValueError("the generator returned with answers left") from None
        return yielded, stop.value
    gen.close()
    raise ValueError("the generator still wants answers after the last one")


def in_turn(subroutines: Iterable[Generator]) -> Generator[Any, Any, list]:
    results = []
    for sub in subroutines:
        results.append((yield from sub))
    return results


class Scheduler:
    def __init__(self) -> None:
        self.now = 0.0
        self.errors: dict[int, BaseException] = {}
        self._ready: deque = deque()
        self._sleeping: list = []
        self._ids = itertools.count()
        self._seq = itertools.count()
        self._results: dict[int, Any] = {}

    def spawn(self, gen) -> int:
        task_id = next(self._ids)
        self._ready.append((task_id, gen))
        return task_id

    def run(self) -> dict[int, Any]:
        ready, sleeping = self._ready, self._sleeping
        while ready or sleeping:
            if not ready:
                wake, _, task_id, gen = heapq.heappop(sleeping)
                self.now = wake
                ready.append((task_id, gen))
                while sleeping and sleeping[0][0] <= self.now:
                    _, _, tid, g = heapq.heappop(sleeping)
                    ready.append((tid, g))
            task_id, gen = ready.popleft()
            try:
                request = gen.send(None)
            except StopIteration as stop:
                self._results[task_id] = stop.value
                continue
            except Exception as exc:
                self.errors[task_id] = exc
                continue
            if request is None:
                ready.append((task_id, gen))
            elif isinstance(request, Sleep):
                if request.seconds <= 0:
                    ready.append((task_id, gen))
                else:
                    heapq.heappush(
                        sleeping, (self.now + request.seconds, next(self._seq), task_id, gen)
                    )
            else:
                error = TypeError(f"task {task_id} yielded {request!r}, not None or a Sleep")
                try:
                    gen.close()
                except Exception as exc:
                    error = exc
                self.errors[task_id] = error
        out, self._results = self._results, {}
        return out


@types.coroutine
def sleep(seconds: float):
    yield Sleep(seconds)
