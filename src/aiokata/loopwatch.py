"""Where a long loop step was: the learner's line that held the loop, seen while it held it.

When a step ends, its frames are gone; a stall found then could only name the task (for a
web handler, aiohttp's `_handle_request()`). A wall-clock timer signal, handled on the main
thread between two bytecodes, sees the frame that is running: the learner's CPU loop or
blocking call. A signal rather than a watching thread, because a thread would take the GIL
from the loop's thread, and the switches that causes would look like a blocking call.
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from types import FrameType

from aiokata import clocks

Frame = tuple[str, int, str]  # (file name, line number, function)

# How often the timer fires, and how long a step must have run before its frame is noted
# (well before a stall, 0.5 s, is called).
INTERVAL = 0.05
LOOK_AFTER = 0.2


@dataclass
class LoopWatch:
    """Notes, for the step running on the main thread, the learner's line the timer saw."""

    focus: set[str]
    started: float | None = None  # when the main thread's running step began
    site: Frame | None = None
    _main: int | None = None  # the main thread, once the timer is armed
    _before: object = None

    def begin(self, ident: int, now: float) -> None:
        if ident == self._main:
            self.started, self.site = now, None

    def end(self, ident: int) -> Frame | None:
        if ident != self._main:
            return None
        site, self.started, self.site = self.site, None, None
        return site

    def start(self) -> None:
        if threading.current_thread() is not threading.main_thread() or not self.focus:
            return
        self._before = signal.signal(signal.SIGALRM, self._on_timer)
        signal.setitimer(signal.ITIMER_REAL, INTERVAL, INTERVAL)
        self._main = threading.get_ident()

    def stop(self) -> None:
        if self._main is None:
            return
        self._main = None
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self._before)  # type: ignore[arg-type]

    def _on_timer(self, signum: int, frame: FrameType | None) -> None:
        started = self.started
        if started is None or clocks.perf_counter() - started < LOOK_AFTER:
            return
        while frame is not None:
            if frame.f_code.co_filename in self.focus:
                self.site = frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name
                return
            frame = frame.f_back
