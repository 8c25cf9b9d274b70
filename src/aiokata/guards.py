"""Hygiene checks around one exercise test: blocking calls, a stalled loop, coroutines never
awaited, errors asyncio only logged, and tasks left running.

`guarded()` patches the process for the length of one test (in a forked child that is the
child's whole life); `Findings` gathers what went wrong so the plugin can report it in the
learner's words.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import contextlib
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# One step of a coroutine (or one callback) holding the loop this long in real time is a
# blocking call. Steps of a correct solution take microseconds; this is 1000x that.
STALL_SECONDS = 0.5


class BlockingCallError(RuntimeError):
    """Raised in place of a blocking call made on the event loop's thread."""


@dataclass
class Findings:
    focus: set[str] = field(default_factory=set)  # the target's file(s), for pointing at lines
    allow_blocking: bool = False
    blocking_calls: list[str] = field(default_factory=list)
    stalls: list[tuple[float, str]] = field(default_factory=list)
    unawaited: list[str] = field(default_factory=list)
    loop_errors: list[str] = field(default_factory=list)
    leftover: list[asyncio.Task] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    tasks_before: set[asyncio.Task] = field(default_factory=set)
    loop_elapsed: float | None = None  # loop time the test's body took

    def where(self, frames: list[tuple[str, int, str]]) -> str:
        """`(tasks.py, line 12, in run_all)` for the innermost frame in the target's file."""
        for filename, lineno, func in frames:
            if filename in self.focus:
                return f" ({Path(filename).name}, line {lineno}, in {func})"
        return ""

    def on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        message = context.get("message", "an error asyncio could only log")
        exc = context.get("exception")
        detail = f"{type(exc).__name__}: {exc}" if exc is not None else ""
        source = context.get("task") or context.get("future") or context.get("handle")
        name = _describe(source)
        self.loop_errors.append(f"{message}{f' in {name}' if name else ''}: {detail}".rstrip(": "))

    def collect_leftovers(self) -> None:
        if self.loop is None or self.loop.is_closed():
            return
        self.leftover = [
            t for t in asyncio.all_tasks(self.loop) - self.tasks_before if not t.done()
        ]

    def problems(self) -> list[str]:
        found = []
        if self.blocking_calls:
            found.append(self.blocking_calls[0])
        if self.stalls and not self.allow_blocking:
            seconds, what = max(self.stalls)
            found.append(
                f"Your code held the event loop for {seconds:.2f} s of real time without "
                f"reaching an `await` (in {what}). Code that runs without awaiting (a CPU "
                "loop, busy-waiting, a blocking call such as time.sleep or a synchronous "
                "network call) freezes every other task. Await something that yields, or move "
                "the work to asyncio.to_thread()."
            )
        found.extend(dict.fromkeys(self.unawaited))  # once each, in order
        for entry in self.loop_errors:
            found.append(
                f"asyncio caught an error your code never saw and only logged it: {entry}. "
                "An exception inside a task nobody awaits, or inside a callback, is lost "
                "unless you await the task (or check its result)."
            )
        if self.leftover:
            names = ", ".join(_describe(t) for t in self.leftover[:5])
            found.append(
                f"Your code left {len(self.leftover)} task(s) still running after it "
                f"returned: {names}. Every task you start must be awaited, or cancelled and "
                "then awaited, before your function returns."
            )
        return found


def _describe(obj: object) -> str:
    if isinstance(obj, asyncio.Task):
        coro = obj.get_coro()
        if type(coro).__name__ in ("async_generator_athrow", "async_generator_asend"):
            # asyncio's own task closing an async generator that was dropped mid-iteration
            return "asyncio's cleanup of an async generator left open (use aclose())"
        name = getattr(coro, "__name__", None) or obj.get_name()
        return f"task running {name}()"
    if obj is None:
        return ""
    callback = getattr(obj, "_callback", None)
    if callback is not None:
        return f"callback {getattr(callback, '__qualname__', repr(callback))}"
    return repr(obj)


_current: Findings | None = None


def current() -> Findings | None:
    return _current


@contextlib.contextmanager
def guarded(findings: Findings) -> Iterator[Findings]:
    """Install the checks for one test and take them out again afterwards."""
    global _current
    real_sleep = time.sleep
    real_run = asyncio.events.Handle._run
    real_warn = warnings._warn_unawaited_coroutine  # type: ignore[attr-defined]
    old_depth = sys.get_coroutine_origin_tracking_depth()

    def guarded_sleep(seconds: float) -> None:
        __tracebackhide__ = True
        if not findings.allow_blocking and _loop_running_here():
            # The learner's own line, even when the sleep happens deep inside a library.
            stack, frame = [], sys._getframe(1)
            while frame is not None:
                stack.append((frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
                frame = frame.f_back
            where = findings.where(stack)
            message = (
                f"time.sleep({seconds!r}) was called on the event loop's thread{where}. "
                "It blocks the whole loop: while it sleeps, no other task can run. "
                f"Use `await asyncio.sleep({seconds!r})` in async code."
            )
            findings.blocking_calls.append(message)
            raise BlockingCallError(message)
        real_sleep(seconds)

    def timed_run(handle: asyncio.Handle) -> None:
        started = time.perf_counter()
        try:
            real_run(handle)
        finally:
            took = time.perf_counter() - started
            if took >= STALL_SECONDS:
                findings.stalls.append((took, _describe_handle(handle)))

    def record_unawaited(coro: object) -> None:
        name = getattr(coro, "__name__", "?")
        origin = getattr(coro, "cr_origin", None) or ()
        frames = list(origin)  # most recent call first, as `where` expects
        findings.unawaited.append(
            f"The coroutine {name}() was created but never awaited{findings.where(frames)}. "
            f"Calling an async function only builds a coroutine object; nothing in it runs "
            f"until you `await {name}(...)` or hand it to asyncio.create_task()."
        )

    time.sleep = guarded_sleep
    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
    warnings._warn_unawaited_coroutine = record_unawaited  # type: ignore[attr-defined]
    sys.set_coroutine_origin_tracking_depth(32)
    _current = findings
    try:
        yield findings
    finally:
        _current = None
        time.sleep = real_sleep
        asyncio.events.Handle._run = real_run  # type: ignore[method-assign]
        warnings._warn_unawaited_coroutine = real_warn  # type: ignore[attr-defined]
        sys.set_coroutine_origin_tracking_depth(old_depth)


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _describe_handle(handle: asyncio.Handle) -> str:
    callback = handle._callback  # type: ignore[attr-defined]
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        return _describe(owner)
    return f"the callback {getattr(callback, '__qualname__', repr(callback))}"
