"""Exercise 24, written another way: task objects, a match statement, a loop over sends."""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sleep:
    """What a task yields to sleep: `yield Sleep(2)` asks to be resumed 2 s later."""

    seconds: float


def drive(gen, answers):
    """Start with send(None), send each answer, return (yielded, result)."""
    answers = tuple(answers)
    out = []
    sends = (None, *answers)
    for n, value in enumerate(sends):
        try:
            out.append(gen.send(value))
        except StopIteration as stop:
            if n != len(answers):
                raise ValueError("returned early") from None
            return out, stop.value
    gen.close()
    raise ValueError("wants more answers")


def in_turn(subroutines):
    """Run each subroutine with yield from; return their results."""
    done = []
    for sub in tuple(subroutines):
        value = yield from sub
        done.append(value)
    return done


@dataclass(order=True)
class _Sleeper:
    wake: float
    seq: int
    task: Any = field(compare=False)


class _Task:
    def __init__(self, task_id, gen):
        self.id, self.gen = task_id, gen


class Scheduler:
    """A round-robin scheduler with its own clock `now`."""

    def __init__(self) -> None:
        self.now = 0.0
        self.errors: dict = {}
        self.results: dict = {}
        self.tasks: list = []
        self.ready: deque = deque()
        self.sleepers: list = []
        self.seq = 0

    def spawn(self, gen) -> int:
        task = _Task(len(self.tasks), gen)
        self.tasks.append(task)
        self.ready.append(task)
        return task.id

    def _step(self, task):
        try:
            request = task.gen.send(None)
        except StopIteration as stop:
            self.results[task.id] = stop.value
            return
        except Exception as exc:
            self.errors[task.id] = exc
            return
        match request:
            case None:
                self.ready.append(task)
            case Sleep(seconds=s) if s <= 0:
                self.ready.append(task)
            case Sleep(seconds=s):
                self.seq += 1
                heapq.heappush(self.sleepers, _Sleeper(self.now + s, self.seq, task))
            case _:
                error = TypeError(f"task {task.id} yielded {request!r}")
                try:
                    task.gen.close()
                except Exception as exc:
                    error.__cause__ = exc  # the TypeError carries what close() raised
                self.errors[task.id] = error

    def run(self) -> dict:
        while self.ready or self.sleepers:
            while self.ready:
                self._step(self.ready.popleft())
            if self.sleepers:
                first = heapq.heappop(self.sleepers)
                self.now = first.wake
                self.ready.append(first.task)
                while self.sleepers and self.sleepers[0].wake == self.now:
                    self.ready.append(heapq.heappop(self.sleepers).task)
        return dict(self.results)


class _Nap:
    def __init__(self, seconds):
        self.seconds = seconds

    def __await__(self):
        return (yield Sleep(self.seconds))


def sleep(seconds: float):
    """`await sleep(2)` yields Sleep(2) to the scheduler."""
    return _Nap(seconds)
