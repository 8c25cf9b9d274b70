from __future__ import annotations

import heapq
import itertools
import sys
import types
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sleep:
    seconds: float


def drive(gen: Generator, answers: Iterable) -> tuple[list, Any]:
    queue = [None, *answers]
    yielded = []
    for n, value in enumerate(queue):
        try:
            yielded.append(gen.send(value))
        except StopIteration as stop:
            if n != len(queue) - 1:
                raise ValueError("generator returned before all answers were sent") from None
            return yielded, stop.value
    gen.close()
    raise ValueError("generator still yields after the last answer")


def _delegate(sub):
    """PEP 380's expansion of `RESULT = yield from EXPR`, written out."""
    _i = iter(sub)
    try:
        _y = next(_i)
    except StopIteration as _e:
        return _e.value
    while True:
        try:
            _s = yield _y
        except GeneratorExit as _e:
            _m = getattr(_i, "close", None)
            if _m is not None:
                _m()
            raise
        except BaseException:
            _x = sys.exc_info()
            _m = getattr(_i, "throw", None)
            if _m is None:
                raise
            try:
                _y = _m(_x[1])
            except StopIteration as _e:
                return _e.value
        else:
            try:
                if _s is None:
                    _y = next(_i)
                else:
                    _y = _i.send(_s)
            except StopIteration as _e:
                return _e.value


def in_turn(subroutines: Iterable[Generator]) -> Generator[Any, Any, list]:
    results = []
    for sub in subroutines:
        gen = _delegate(sub)
        # drive _delegate by hand too (no yield from anywhere)
        try:
            y = next(gen)
        except StopIteration as e:
            results.append(e.value)
            continue
        while True:
            try:
                s = yield y
            except GeneratorExit:
                gen.close()
                raise
            except BaseException as exc:
                try:
                    y = gen.throw(exc)
                except StopIteration as e:
                    results.append(e.value)
                    break
            else:
                try:
                    y = gen.send(s)
                except StopIteration as e:
                    results.append(e.value)
                    break
    return results


class Scheduler:
    def __init__(self) -> None:
        self.now = 0.0
        self.errors = {}
        self._done = {}
        self._tasks = {}
        self._ready = []
        self._heap = []
        self._order = itertools.count()
        self._new_id = itertools.count()

    def spawn(self, gen) -> int:
        i = next(self._new_id)
        self._tasks[i] = gen
        self._ready.append(i)
        return i

    def _wake_due(self):
        self.now = self._heap[0][0]
        while self._heap and self._heap[0][0] <= self.now:
            self._ready.append(heapq.heappop(self._heap)[2])

    def run(self) -> dict[int, Any]:
        while self._ready or self._heap:
            if not self._ready:
                self._wake_due()
            i = self._ready.pop(0)
            gen = self._tasks[i]
            try:
                req = gen.send(None)
            except StopIteration as s:
                self._done[i] = s.value
                del self._tasks[i]
                continue
            except Exception as e:
                self.errors[i] = e
                del self._tasks[i]
                continue
            if req is None:
                self._ready.append(i)
            elif isinstance(req, Sleep):
                if req.seconds > 0:
                    heapq.heappush(self._heap, (self.now + req.seconds, next(self._order), i))
                else:
                    self._ready.append(i)
            else:
                try:
                    gen.close()
                except Exception as e:
                    self.errors[i] = e
                else:
                    self.errors[i] = TypeError(
                        f"a task may yield only None or a Sleep, not {req!r}"
                    )
                del self._tasks[i]
        return dict(self._done)


@types.coroutine
def sleep(seconds: float):
    return (yield Sleep(seconds)) and None
