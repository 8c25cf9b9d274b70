"""Exercise 17 tests. Run them with `pytest exercises/17`.

These tests start real threads, so most of them run in real time, not on the virtual clock.
They never judge how fast anything is. The test's doubles wait for each other through gates
(a threading.Event with a generous time limit that only a wrong answer ever reaches), note
which thread made each call, and look at which threads are still alive when your function
returns. The event loop watches for calls that only its own thread may make: asyncio's debug
mode is on, and a loop.call_soon from another thread is noted (then handed over safely, so
that the test can go on and tell you about it). Four tests give your code something that
takes a day: tasks 2 and 3 on the virtual clock, which jumps a day while the job waits in its
thread, and tasks 1 and 4 on the test's ThreadClock, which moves only while your code waits.
"""

import asyncio
import concurrent.futures
import concurrent.futures._base
import contextlib
import itertools
import linecache
import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import looptime
import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios

threads = exercise_module(__file__)

pytestmark = pytest.mark.looptime(False)  # real threads take real time

GATE = 1.5  # seconds a double waits for something a right answer does at once
SHORT_GATE = 0.1  # the same, once a gate has expired in this test (see gate())
TURNS = 10  # loop iterations a report gets to reach on_progress (a right answer needs 1 or 2)
RUNAWAY = 20  # frames after the job has ended: a spinner that shows this many does not stop
HOLD = 1.0  # switch interval while the test looks at the threads (see ThreadSpinner.job)
FRAMES = "|/-\\"


class Stopped(BaseException):
    """Raised by the test's show() inside a spinner the test has given up on, to end it.
    A BaseException, like SystemExit: an `except Exception` in your spinner lets it through."""


class OnTheLoop(Exception):
    """Raised by a test double that must not run on the event loop's thread, but did."""


class WrongLoop(Exception):
    """Raised by the test's fetch() when it runs anywhere but on the test's own loop."""


class NotAtOnce(Exception):
    """Raised by the test's fetch() when the other fetches never started alongside it."""


def cycle(count: int) -> list[str]:
    return list(itertools.islice(itertools.cycle(FRAMES), count))


def count(number: int, one: str, many: str | None = None) -> str:
    return checks.count(number, one, many)


# --- where your code is ---------------------------------------------------------------------


def _mine(filename: str) -> bool:
    return filename == str(threads.path)


def _at(filename: str, lineno: int) -> str:
    code = linecache.getline(filename, lineno).strip()
    return f"{Path(filename).name}, line {lineno}" + (f" (`{code}`)" if code else "")


def line_of(frame) -> str:
    """`threads.py, line 12 (`t.join()`)` for the innermost frame of your file in `frame`'s
    stack, or "" when none of its frames is yours."""
    while frame is not None and not _mine(frame.f_code.co_filename):
        frame = frame.f_back
    return "" if frame is None else _at(frame.f_code.co_filename, frame.f_lineno)


def stuck_at(thread_id: int) -> str:
    """Where a thread is inside your code right now, and what it called from there:
    "inside Thread.join(), called at threads.py, line 40 (`t.join()`)", or "" when no frame of
    the thread's stack is yours (an idle event loop is waiting in its selector)."""
    frame = sys._current_frames().get(thread_id)
    stack = []
    while frame is not None:
        stack.append(frame)  # innermost first
        frame = frame.f_back
    for index, frame in enumerate(stack):
        if _mine(frame.f_code.co_filename):
            where = line_of(frame)
            if index == 0:
                return f"running your code at {where}"
            called = stack[index - 1].f_code.co_qualname
            return f"inside {called}(), called at {where}"
    return ""


def blocked_message(what: str, where: str, seconds: float, instead: str) -> str:
    return (
        f"{what}, the event loop's thread was {where}, for {seconds:g} s: it blocked the loop, "
        "so nothing else on it could run. A blocking call (thread.join(), event.wait(), "
        f"future.result(), a direct call of the blocking function) never belongs on the loop's "
        f"thread. {instead}"
    )


# --- the threads a test leaves behind ----------------------------------------------------------


@dataclass
class Threads:
    """The threads of one test: which ones it started, and what died in them."""

    before: set[threading.Thread]
    pool: ThreadPoolExecutor | None = None  # the loop's default executor, its threads started
    runs: queue.Queue | None = None  # functions for the "plain code" threads to call
    crashes: list[tuple[str, BaseException]] = field(default_factory=list)
    spinners: list = field(default_factory=list)  # the test's doubles, told to stop at the end
    watchdog: "LoopWatchdog | None" = None  # watches the loop's thread (see LoopWatchdog)
    expired: bool = False  # a gate has expired in this test: a wrong answer is being shown

    def new(self) -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t not in self.before and t.is_alive()]

    def check_no_crash(self, what: str) -> None:
        for name, exc in self.crashes:
            pytest.fail(
                f"{what}: the thread {name!r} died with {type(exc).__name__}: "
                f"{said(exc)}. An exception in a thread is lost (nobody awaits a "
                "thread): the thread just ends. Catch it in that thread and hand it on "
                "(asyncio.to_thread does that for you).",
                pytrace=False,
            )


class LoopWatchdog:
    """A thread of the test's that watches the event loop's thread while your coroutines run.

    If the loop does not answer for a gate() because its thread is blocked in your code inside
    a wait on a concurrent.futures.Future that has not even started (Future.result(),
    concurrent.futures.wait, as_completed), that is a deadlock: such a future (from
    run_coroutine_threadsafe, say) waits for the loop that its waiting blocks. The watchdog
    notes where, and cancels those futures, so that your code goes on and the test can say
    so. Started before the test (see lingering()); armed with the loop by the test's doubles."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread = 0
        self.found = ""  # where the loop's thread was blocked
        self.waited = GATE
        self.quit = threading.Event()
        self.thread = threading.Thread(target=self.run, name="loop watchdog", daemon=True)
        self.thread.start()

    def arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """Watch `loop`, whose thread is the calling one."""
        if self.loop is None:
            self.loop, self.loop_thread = loop, threading.get_ident()

    def stop(self) -> None:
        self.quit.set()
        self.thread.join(1)

    def run(self) -> None:
        while not self.quit.wait(0.05):
            loop = self.loop
            if loop is None or loop.is_closed():
                continue
            answered = threading.Event()
            try:
                loop.call_soon_threadsafe(answered.set)
            except RuntimeError:  # closed meanwhile
                continue
            waited = gate()
            if answered.wait(waited) or self.quit.is_set():
                continue
            futures = self.futures_waited_on()
            if futures:
                if not self.found:  # (the first one is told; a later call may block again)
                    self.found = stuck_at(self.loop_thread) or "in your code"
                    self.waited = waited
                _current.expired = True
                for future in futures:
                    future.cancel()

    def futures_waited_on(self) -> list[concurrent.futures.Future]:
        """The concurrent.futures.Futures, not started yet, that the loop's thread is waiting
        on right now, in a call made from your code."""
        frame = sys._current_frames().get(self.loop_thread)
        stack = []
        while frame is not None:
            stack.append(frame)
            frame = frame.f_back
        mine = next((i for i, f in enumerate(stack) if _mine(f.f_code.co_filename)), None)
        found: list[concurrent.futures.Future] = []
        for callee in stack[:mine] if mine is not None else ():
            if not callee.f_code.co_filename.startswith(_FUTURES_DIR):
                continue
            names = callee.f_locals
            if callee.f_code.co_name in ("result", "exception"):
                found.append(names.get("self"))  # type: ignore[arg-type]
            elif callee.f_code.co_name in ("wait", "as_completed"):
                found.extend(names.get("fs") or ())
        return [
            f
            for f in found
            if isinstance(f, concurrent.futures.Future) and not f.done() and not f.running()
        ]


def check_deadlock(what: str) -> None:
    """Fail if the watchdog found the loop's thread blocked on a future it would never get."""
    watchdog = _current.watchdog
    if watchdog is not None and watchdog.found:
        pytest.fail(
            f"{what}: the event loop's thread was blocked {watchdog.found}, for "
            f"{watchdog.waited:g} s, waiting for a concurrent.futures.Future that had not even "
            "started: a deadlock. Such a future (from run_coroutine_threadsafe, say) waits "
            "for a coroutine that only the event loop can run, and result() was blocking the "
            "loop's own thread, so it could never start (the test cancelled the future to go "
            "on). On the loop's thread never block on a concurrent.futures.Future: await the "
            "coroutine itself (`await asyncio.to_thread(work, report)`), or `await "
            "asyncio.wrap_future(future)`.",
            pytrace=False,
        )


_current = Threads(set())  # this test's (each test runs in a process of its own)


def gate() -> float:
    """How long a double waits for what a right answer does at once: GATE, but only
    SHORT_GATE once a gate has expired in this test. A scenario test runs many scenarios and
    shrinks a failing one: after the first wrong answer's gate expires, the later scenarios
    must not each wait the whole GATE (a right answer never lets a gate expire)."""
    return SHORT_GATE if _current.expired else GATE


def waited(event: threading.Event) -> bool:
    """event.wait(gate()), noting an expiry."""
    if event.wait(gate()):
        return True
    _current.expired = True
    return False


def loop_answered(event: threading.Event, loop_thread: int) -> tuple[bool, str]:
    """Wait for `event`, which the event loop sets as soon as it is free: (answered, where
    the loop's thread was stuck in your code). A loop that is slow to answer but not inside
    your code is on a busy machine: it gets a second GATE."""
    if event.wait(gate()):
        return True, ""
    where = stuck_at(loop_thread)
    if not where and event.wait(GATE):
        return True, ""
    _current.expired = True
    return False, where or stuck_at(loop_thread) or "busy"


def _raised_at(exc: BaseException) -> str:
    """`, at threads.py, line 57 (`...`)`: the innermost line of your file it came through."""
    tb, found = exc.__traceback__, ""
    while tb is not None:
        if _mine(tb.tb_frame.f_code.co_filename):
            found = f", at {_at(tb.tb_frame.f_code.co_filename, tb.tb_lineno)}"
        tb = tb.tb_next
    return found


def said(exc: BaseException) -> str:
    """An exception's text and the line of yours it came through, with no full stop at the
    end (the message goes on): `no current event loop, at threads.py, line 61 (`...`)`."""
    return f"{str(exc).rstrip('.')}{_raised_at(exc)}"


def _serve(runs: queue.Queue) -> None:
    """A "plain code" thread: call each function it is handed, until it is handed None."""
    while (function := runs.get()) is not None:
        function()


def arm_the_watchdog(loop: asyncio.AbstractEventLoop) -> None:
    if _current.watchdog is not None:
        _current.watchdog.arm(loop)


def use_the_pool(loop: asyncio.AbstractEventLoop) -> None:
    """Make the test's pool, whose threads are already running, the loop's default executor
    (asyncio.to_thread's), before anything has used it."""
    pool = _current.pool
    if pool is not None and getattr(loop, "_default_executor", None) is None:
        loop.set_default_executor(pool)


@pytest.fixture(autouse=True)
def lingering(monkeypatch: pytest.MonkeyPatch):
    """Note what dies in threads (the test reports it), and at the end stop the spinners a
    wrong answer left running: their next show() raises Stopped.

    The threads the test itself needs are started here, before the test and outside any
    step of the event loop: starting a thread waits until the new thread has run, which on
    a busy machine can take long enough for the kit to take it for a blocked loop. So
    asyncio.to_thread gets a pool whose threads are already running, and the test's own
    "plain code" threads are waiting for work."""
    pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="asyncio")
    started = threading.Barrier(4)
    for _ in range(3):
        pool.submit(started.wait)
    started.wait()
    runs: queue.Queue = queue.Queue()
    runners = [
        threading.Thread(target=_serve, args=(runs,), name="plain code", daemon=True)
        for _ in range(3)
    ]
    for runner in runners:
        runner.start()
    watchdog = LoopWatchdog()
    found = Threads(set(threading.enumerate()), pool=pool, runs=runs, watchdog=watchdog)

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is not None and issubclass(args.exc_type, Stopped):
            return
        name = args.thread.name if args.thread is not None else "?"
        found.crashes.append((name, args.exc_value))  # type: ignore[arg-type]

    monkeypatch.setattr(threading, "excepthook", hook)
    global _current
    _current = found
    try:
        yield found
    finally:
        for spinner in found.spinners:
            spinner.stop = True
            spinner.release()
        for thread in found.new():
            thread.join(timeout=0.5)
        for _ in runners:
            runs.put(None)
        watchdog.stop()
        pool.shutdown(wait=False)


# --- a day that passes in no time -------------------------------------------------------------

DAY = 86_400.0  # how long the test's day-long doubles take, in the test's clock
HOUR = 3_600.0
POLLS = 10  # timed waits run out in a row: the code waits in a loop (it polls), so the day ends

_FUTURES_DIR = str(Path(concurrent.futures.__file__).parent)
_THREAD_LIBRARIES = (threading.__file__, queue.__file__, _FUTURES_DIR)


@dataclass
class TimedWait:
    """A wait of your code's, in the thread the test's clock watches."""

    deadline: float | None  # in the clock's time; None: no timeout
    timeout: float | None
    call: str  # what your code called: "Thread.join"
    where: str  # the line of yours that called it
    expired: bool = False
    cond: threading.Condition | None = None  # what it waits on, if a Condition: to wake it


class ThreadClock:
    """The test's own clock for the thread that calls your function: in it, a day passes in
    no time. (Task 1 and task 4 run in threads, where asyncio's virtual clock has no say.)

    A double of the test's takes a day (a spinner's last show(""), a fetch): it waits until
    this clock says the day is over. The clock moves only while the thread it watches waits
    in your code, in Thread.join(), Condition.wait() or Event.wait() (and so in
    Future.result(), concurrent.futures.wait() and as_completed()) or time.sleep(), and
    nothing else is going on; then it moves at once to the nearest deadline of that wait, or
    to the end of the day. So a wait with a timeout shorter than a day runs out, as it would
    in a real day, and a wait with none lasts until the day is over. Nothing here depends on
    the machine's speed. (A wait that runs out POLLS times in a row is a polling loop, which
    waits as long as it takes: then the day ends.)"""

    def __init__(self, busy: Callable[[], bool] = lambda: False) -> None:
        self.now = 0.0
        self.busy = busy  # something else the test waits for is still going on
        self.began = False  # the day-long double has begun
        self.over = threading.Event()
        self.on_over: list[Callable[[], None]] = []
        self.watched: set[int] = set()
        self.waits: dict[int, TimedWait] = {}
        self.expired: list[TimedWait] = []
        self.lock = threading.Lock()
        self.quit = threading.Event()
        self.stopped = threading.Event()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Route the waits of the watched thread through this clock, and start it (in one of
        the test's waiting threads: see lingering())."""
        clock = self
        real_wait, real_join, real_sleep = (
            threading.Condition.wait,
            threading.Thread.join,
            time.sleep,
        )

        def wait(cond, timeout=None):
            waiting = clock.enter(timeout, "Condition.wait", cond)
            if waiting is None:
                return real_wait(cond, timeout)
            try:
                # No timeout here: a notify() wakes it, or the clock does (see run()). (A
                # wait with a short real timeout, in a loop, could lose a notify() that
                # comes as it times out.)
                return not waiting.expired and real_wait(cond, None) and not waiting.expired
            finally:
                clock.leave()

        def join(thread, timeout=None):
            waiting = clock.enter(timeout, "Thread.join") if thread.is_alive() else None
            if waiting is None:
                return real_join(thread, timeout)
            try:
                while thread.is_alive() and not waiting.expired:
                    real_join(thread, 0.002)
            finally:
                clock.leave()

        def sleep(seconds):
            waiting = clock.enter(seconds, "time.sleep") if seconds > 0 else None
            if waiting is None:
                return real_sleep(seconds)
            try:
                while not waiting.expired:
                    real_sleep(0.002)
            finally:
                clock.leave()

        class Time:  # concurrent.futures' `time` module, in the watched thread
            def __getattr__(self, name: str) -> object:
                return getattr(time, name)

            def monotonic(self) -> float:
                return clock.time()

        monkeypatch.setattr(threading.Condition, "wait", wait)
        monkeypatch.setattr(threading.Thread, "join", join)
        monkeypatch.setattr(time, "sleep", sleep)
        monkeypatch.setattr(threading, "_time", self.time)
        monkeypatch.setattr(concurrent.futures._base, "time", Time())
        assert _current.runs is not None
        _current.runs.put(self.run)  # a waiting "plain code" thread runs the clock

    def watch(self) -> None:
        """Watch the calling thread (the one that calls your function)."""
        with self.lock:
            self.watched.add(threading.get_ident())

    def begin(self) -> None:
        """The day-long double has begun: the day passes as soon as your code waits."""
        self.began = True

    def time(self) -> float:
        if threading.get_ident() in self.watched:
            return self.now
        return time.monotonic()

    def enter(
        self, timeout: float | None, call: str, cond: threading.Condition | None = None
    ) -> TimedWait | None:
        """A wait of the watched thread begins: its TimedWait, or None when it is not a wait
        of your code's (the test's own doubles wait too) or it does not block."""
        if threading.get_ident() not in self.watched or self.over.is_set():
            return None  # (after the day, time is real again)
        if timeout is not None and timeout <= 0:
            return None
        frame, callee = sys._getframe(2), call
        while frame is not None and frame.f_code.co_filename.startswith(_THREAD_LIBRARIES):
            callee = frame.f_code.co_qualname
            frame = frame.f_back
        if frame is None or not _mine(frame.f_code.co_filename):
            return None
        if callee in ("wait", "as_completed"):  # concurrent.futures' functions
            callee = f"concurrent.futures.{callee}"
        waiting = TimedWait(
            None if timeout is None else self.now + timeout,
            timeout,
            callee,
            _at(frame.f_code.co_filename, frame.f_lineno),
            cond=cond,
        )
        with self.lock:
            self.waits[threading.get_ident()] = waiting
        return waiting

    def leave(self) -> None:
        with self.lock:
            self.waits.pop(threading.get_ident(), None)

    def run(self) -> None:
        try:
            while not self.quit.wait(0.001):
                with self.lock:
                    ran_out = self.tick()
                self.wake(ran_out)
        finally:
            self.stopped.set()

    @staticmethod
    def wake(ran_out: list[TimedWait]) -> None:
        """Wake the waits that have run out. (Outside the clock's lock: a waiter holds its
        Condition's lock when it takes the clock's.)"""
        for waiting in ran_out:
            if waiting.cond is not None:
                with waiting.cond:
                    waiting.cond.notify_all()

    def tick(self) -> list[TimedWait]:
        """Move the clock if it may: the waits that have run out."""
        if self.over.is_set() or not self.began or self.busy():
            return []
        waits = [self.waits.get(thread) for thread in self.watched]
        if not waits or any(w is None or w.expired for w in waits):
            return []  # the watched thread is running, or about to
        deadlines = [w.deadline for w in waits if w is not None and w.deadline is not None]
        nearest = min(deadlines, default=DAY)
        if nearest >= DAY or len(self.expired) >= POLLS:
            return self.end_day()
        self.now = max(self.now, nearest) + 1e-6  # just past it, as a real clock would be
        ran_out = [w for w in waits if w is not None and w.deadline is not None]
        ran_out = [w for w in ran_out if w.deadline <= self.now]  # type: ignore[operator]
        for w in ran_out:
            w.expired = True
            self.expired.append(w)
        return ran_out

    def end_day(self) -> list[TimedWait]:
        """The day is over: the day-long doubles end, the waits that would run out within
        the day do, and from now on the watched thread's waits are real ones. The waits to
        wake."""
        if self.over.is_set():
            return []
        self.now = max(self.now, DAY)
        self.over.set()
        for then in self.on_over:
            with contextlib.suppress(RuntimeError):  # (a loop closed by now)
                then()
        ran_out = [
            w
            for w in self.waits.values()
            if not w.expired and (w.call == "time.sleep" or (w.deadline or DAY + 1) <= DAY)
        ]
        for w in ran_out:
            w.expired = True
        return ran_out

    def stop(self) -> None:
        """End the day (the doubles finish), and the clock."""
        with self.lock:
            ran_out = self.end_day()
        self.wake(ran_out)
        self.quit.set()
        self.stopped.wait(GATE)

    def gave_up(self) -> str:
        """`Thread.join() with a timeout of 0.05 s, at threads.py, line 31 (`...`)`: the first
        wait of your code's that ran out, or ""."""
        if not self.expired:
            return ""
        first = self.expired[0]
        return f"{first.call}() with a timeout of {first.timeout:g} s, at {first.where}"


@contextlib.contextmanager
def blind_to_executors(loop: asyncio.AbstractEventLoop):
    """Under looptime (virtual time), while a future of loop.run_in_executor() (which
    asyncio.to_thread uses) is pending, the loop's clock keeps in step with real time. Here
    run_in_executor is plain asyncio's, so that while your job runs in its thread, a day of
    loop time passes in no time, as it does while a plain thread runs."""
    if not isinstance(loop, looptime.LoopTimeEventLoop):
        yield
        return
    loop.run_in_executor = super(looptime.LoopTimeEventLoop, loop).run_in_executor  # type: ignore[method-assign]
    try:
        yield
    finally:
        with contextlib.suppress(AttributeError):
            del loop.run_in_executor  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def in_real_time(loop: asyncio.AbstractEventLoop):
    """From here on, the loop's clock keeps in step with real time again: looptime does so
    while a future of its run_in_executor() is pending, and this keeps one pending."""
    release = threading.Event()
    keeper = None
    if isinstance(loop, looptime.LoopTimeEventLoop):
        keeper = looptime.LoopTimeEventLoop.run_in_executor(loop, _current.pool, release.wait, 10)
    try:
        yield
    finally:
        release.set()
        if keeper is not None:
            await asyncio.wait([keeper])


def gave_up_message(
    what: str, job: str, outcome: BaseException | str, seconds: float, began: bool = True
) -> str:
    """A call that ended after `seconds` of loop time, while its day-long `job` still ran
    (or before it had even begun)."""
    if isinstance(outcome, TimeoutError):
        ended, likely = (
            "raised TimeoutError",
            " Likely a timeout of your own around it (asyncio.wait_for, asyncio.timeout).",
        )
    elif isinstance(outcome, BaseException):
        ended, likely = f"raised {type(outcome).__name__}: {said(outcome)}", ""
    else:
        ended, likely = outcome, ""
    return (
        f"{what}: it {ended} after {round(seconds, 2):g} s of loop time, "
        + (f"while its {job} was still running" if began else f"before its {job} had begun")
        + f" (here it takes a day, which the test's virtual clock lets pass in no "
        f"time).{likely} The {job} may take as long as it takes: give it no timeout of your "
        "own, and wait until it has ended."
    )


# --- the loop, watched --------------------------------------------------------------------------


def _what(callback: object) -> str:
    name = getattr(callback, "__qualname__", None) or type(callback).__name__
    if name == "Task.task_wakeup":
        return (
            "waking a task that awaits a future (a future's set_result() or set_exception(), "
            "an asyncio.Queue's put_nowait() or an asyncio.Event's set() does that)"
        )
    if "TaskStepMethWrapper" in name:
        return "starting a task (loop.create_task() or asyncio.ensure_future() does that)"
    return f"to call {name}"


_ASYNCIO = str(Path(asyncio.__file__).parent)


def _asyncio_caller(frame) -> str:
    """`asyncio's Queue.put_nowait()`: the outermost asyncio function on the way to `frame`."""
    found = ""
    while frame is not None and frame.f_code.co_filename.startswith(_ASYNCIO):
        found = frame.f_code.co_qualname
        frame = frame.f_back
    return f"asyncio's {found}()" if found else ""


class LoopWatch:
    """Notes every loop.call_soon() made from another thread, and hands it over safely."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread = threading.get_ident()
        self.foreign: list[str] = []
        real = loop.call_soon

        def call_soon(callback, *args, context=None):
            if threading.get_ident() != self.thread:
                where = line_of(sys._getframe(1)) or _asyncio_caller(sys._getframe(1))
                self.foreign.append(f"{_what(callback)}{f', from {where}' if where else ''}")
                return loop.call_soon_threadsafe(callback, *args, context=context)
            return real(callback, *args, context=context)

        loop.call_soon = call_soon  # type: ignore[method-assign]
        # Debug mode: asyncio itself refuses call_later and call_at from other threads. Its
        # slow-callback log is left out (the kit reports a blocked loop in its own words).
        loop.set_debug(True)
        loop.slow_callback_duration = 3600

    def undo(self) -> None:
        with contextlib.suppress(AttributeError):
            del self.loop.call_soon  # type: ignore[method-assign]
        self.loop.set_debug(False)

    def check(self, what: str, instead: str) -> None:
        if self.foreign:
            pytest.fail(
                f"{what}: loop.call_soon() was called from a thread that is not the event "
                f"loop's, {self.foreign[0]}. Only the loop's own thread may do that: from "
                "another thread the loop is not woken up, and its queue of callbacks can be "
                "corrupted. Futures, tasks, asyncio.Queue and asyncio.Event all call it for "
                f"you, so none of them may be touched from another thread. {instead}",
                pytrace=False,
            )


@pytest.fixture
async def watch():
    loop = asyncio.get_running_loop()
    watched = LoopWatch(loop)
    try:
        yield watched
    finally:
        watched.undo()


def non_threadsafe(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and "Non-thread-safe operation" in str(exc)


def debug_refused(what: str, exc: BaseException, instead: str) -> str:
    return (
        f"{what} raised RuntimeError: {said(exc)}. That is asyncio's debug mode "
        "refusing a call made from a thread that is not the event loop's (loop.call_soon, "
        "call_later or call_at). From another thread, only loop.call_soon_threadsafe() and "
        f"asyncio.run_coroutine_threadsafe() may touch the loop. {instead}"
    )


async def until(condition: Callable[[], bool], seconds: float = GATE) -> bool:
    """Let the loop run until `condition()` holds (True) or `seconds` have passed (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.002)
    return True


async def turns(count: int = 10) -> None:
    """Let the loop go round `count` times (callbacks already queued run by then)."""
    for _ in range(count):
        await asyncio.sleep(0)


async def stop_tasks(tasks: list[asyncio.Task]) -> None:
    """Cancel tasks a wrong answer left running, wait for them a little, read their errors."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=0.5)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # read: no "exception was never retrieved"


def left_running(before: set[asyncio.Task]) -> list[asyncio.Task]:
    me = asyncio.current_task()
    return [t for t in asyncio.all_tasks() - before if t is not me and not t.done()]


# --- spinners -------------------------------------------------------------------------------------


class Shown(NamedTuple):
    frame: str
    thread: int
    phase: str  # what the job was doing: "before", "running", "ended"; "returned" after the call
    at: float  # time.monotonic()
    cancelled: bool = False  # shown by a spinner task that had been cancelled


def frames_of(shown: list[Shown]) -> list[str]:
    return [s.frame for s in shown if s.frame != ""]


def frames_problem(shown: list[Shown], other: list[Shown] | None = None) -> str:
    """What is wrong with the frames (the non-empty calls of show), or "". `other`: the
    calls of show of another spinner that turned at the same time."""
    frames = frames_of(shown)
    if frames == cycle(len(frames)):
        return ""
    head = frames[:8]
    more = "..." if len(frames) > 8 else ""
    both = sorted((s for s in shown + (other or []) if s.frame), key=lambda s: s.at)
    if other is not None and [s.frame for s in both] == cycle(len(both)):
        likely = (
            " Together, the two spinners showed the FRAMES in turn, as if they were one: "
            "they share one frame counter (or one itertools.cycle), kept at module level. "
            "Give every spinner its own, starting at '|'."
        )
    elif other is not None and set(frames) <= set(FRAMES):
        likely = (
            " It skipped frames while the other call's spinner turned: likely the two "
            "spinners share one frame counter (or one itertools.cycle), kept at module "
            "level. Give every spinner its own, starting at '|'."
        )
    elif frames and frames[0] != "|":
        likely = (
            " It did not start at '|': likely an itertools.cycle (or a counter) kept at module "
            "level, which goes on where the last spinner stopped. Give every spinner its own."
        )
    else:
        likely = ""
    return (
        f"The spinner showed {head!r}{more}; expected the FRAMES '|', '/', '-', '\\' in turn, "
        f"over and over, starting with '|'.{likely}"
    )


def clear_problem(shown: list[Shown]) -> str:
    """What is wrong with the clearing show("") (once, last, before the return), or ""."""
    clears = [i for i, s in enumerate(shown) if s.frame == ""]
    if not clears:
        return (
            'The spinner never cleared the line: as its last act it calls show("") once '
            "(after its loop, or in a finally)."
        )
    if len(clears) > 1:
        times = count(len(clears), "time")
        return f'show("") was called {times}; the spinner clears the line once.'
    if clears[0] != len(shown) - 1:
        return (
            f'show("") was not the last call: {frames_of(shown[clears[0] :])!r} came after it. '
            "Clear the line once the spinner has stopped, as its very last act."
        )
    return ""


def frames_after_the_job(shown: list[Shown]) -> str:
    """The likely mistake when a day-long interval showed more than its first frame."""
    after = [s.frame for s in shown if s.frame and s.phase in ("ended", "returned")]
    if after:
        return (
            f"After job() had ended, the spinner showed {after[0]!r} before it cleared the "
            "line: told to stop, it stops at once, with no last frame (show a frame, then "
            "wait; when the wait ends because it was told to stop, leave the loop)."
        )
    return ""


class ThreadSpinner:
    """show() and job() for spin_in_thread(). show() notes every call. job() waits until the
    spinner has shown `want` frames (proof that it turns while the job runs), then ends.

    Just before job() ends it raises the interpreter's switch interval: from then on the
    spinner thread only runs when the calling thread blocks (in join(), say). So a call that
    returns without waiting for its spinner always finds it still alive, however busy the
    machine is, and a call that joins always finds it ended."""

    def __init__(self, want: int = 3, result: object = "done", error=None):
        self.home = threading.get_ident()
        self.want, self.result, self.error = want, result, error
        self.shown: list[Shown] = []
        self.phase = "before"
        self.enough = threading.Event()
        self.frames = 0
        self.after_job = 0  # frames shown after job() had ended
        self.job_threads: list[int] = []
        self.saw_frames: bool | None = None
        self.stop = False
        self.runaway = False
        self.hold = True
        self.ended_at = 0.0
        self.job_done = threading.Event()
        self.freed = ""  # where the spinner waited for an Event that the test had to set
        self.freed_after = 0.0
        self.home_call: tuple[str, str] | None = None  # (frame, phase) shown by the caller
        _current.spinners.append(self)

    def release(self) -> None:
        self.enough.set()

    def show(self, frame: str) -> None:
        me = threading.get_ident()
        self.shown.append(Shown(frame, me, self.phase, time.monotonic()))
        if me == self.home:
            self.home_call = (frame, self.phase)
            raise Stopped  # show() in the caller's thread: the test says so
        if self.stop:
            raise Stopped
        if frame:
            self.frames += 1
            if self.phase in ("ended", "returned"):
                self.after_job += 1
                # Held, a right answer's spinner shows at most two frames after the job.
                # Not held (two callers at once, or an interval of 0, whose spinner never
                # blocks), it may show many before the caller gets to set the Event: then
                # only a spinner still turning a gate() after the job counts as a runaway.
                if self.after_job > RUNAWAY and (
                    self.hold or time.monotonic() - self.ended_at > gate()
                ):
                    self.runaway = True
                    raise Stopped
            if self.frames >= self.want:
                self.enough.set()

    def job(self) -> object:
        self.job_threads.append(threading.get_ident())
        self.phase = "running"
        self.gate = gate()
        self.saw_frames = waited(self.enough)
        self.phase = "ended"
        self.ended_at = time.monotonic()
        self.job_done.set()
        if self.hold:
            sys.setswitchinterval(HOLD)
        if self.error is not None:
            raise self.error
        return self.result


@dataclass
class Spun:
    result: object
    raised: BaseException | None
    alive: list[threading.Thread]  # threads started by the call, alive when it returned
    shown: list[Shown]  # show() calls made before it returned


def watch_over(spinner: ThreadSpinner, returned: threading.Event, before: set) -> None:
    """A gate() after the job has ended, free a call that is still joining a spinner which
    waits (in Event.wait) for an Event nobody sets: set that Event, and note where it waited.
    Without this, such a call never returns, and the test could not say why."""
    if not spinner.job_done.wait(10 * GATE) or returned.wait(gate()):
        return
    spinner.freed_after = gate()
    _current.expired = True
    me = threading.current_thread()
    for thread in threading.enumerate():
        if thread in before or thread is me or thread.ident is None:
            continue
        frame = sys._current_frames().get(thread.ident)
        while frame is not None and frame.f_code is not threading.Event.wait.__code__:
            frame = frame.f_back
        event = frame.f_locals.get("self") if frame is not None else None
        if isinstance(event, threading.Event):
            spinner.freed = stuck_at(thread.ident) or "inside Event.wait()"
            event.set()


def spin_in_thread(spinner: ThreadSpinner, interval: float = 0.005) -> Spun:
    """Call the learner's spin_in_thread() and note what was alive and shown as it returned."""
    function = threads.spin_in_thread  # imported first, not while the threads are held
    # A spinner with no interval never blocks: held, it could keep the interpreter to itself.
    spinner.hold = spinner.hold and interval > 0
    returned = threading.Event()
    watchdog = threading.Thread(
        target=watch_over, args=(spinner, returned, set(threading.enumerate())), name="watchdog"
    )
    watchdog.start()
    before = set(threading.enumerate())
    normal = sys.getswitchinterval()
    result = raised = None
    try:
        try:
            result = function(spinner.job, spinner.show, interval)
        except Stopped:
            raise  # show() was called in this very thread: told below
        except Exception as exc:
            raised = exc
        finally:
            spinner.phase = "returned"
            returned.set()
        alive = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        shown = list(spinner.shown)
    except Stopped:
        sys.setswitchinterval(normal)
        shown_by_the_caller(spinner)
    finally:
        sys.setswitchinterval(normal)
        returned.set()
        spinner.job_done.set()  # (the watchdog waits for the job first: it may never run)
        watchdog.join()
    return Spun(result, raised, alive, shown)


def shown_by_the_caller(spinner: ThreadSpinner) -> None:
    """Fail: show() was called from the thread that called spin_in_thread()."""
    frame, phase = spinner.home_call or ("?", "before")
    if phase in ("ended", "returned"):
        pytest.fail(
            f"show({frame!r}) was called from the thread that called spin_in_thread(), after "
            "job() had ended. show is only ever called from the spinner thread: it clears "
            'the line (show("")) itself, as its last act, before it ends.',
            pytrace=False,
        )
    pytest.fail(
        "show() was called from the thread that called spin_in_thread(): the spinner ran "
        "right there, not in a thread of its own, so job() could never run beside it. "
        "Start it with `threading.Thread(target=spin).start()`, then call job().",
        pytrace=False,
    )


def value_of(spun: Spun, spinner: ThreadSpinner) -> object:
    """The call's result; an exception the job did not raise goes on to the kit."""
    if spun.raised is not None and spun.raised is not spinner.error:
        raise spun.raised
    return spun.result


def check_job_ran_here(spinner: ThreadSpinner) -> None:
    if not spinner.job_threads:
        pytest.fail("spin_in_thread() never called job().", pytrace=False)
    if len(spinner.job_threads) > 1:
        pytest.fail(
            f"spin_in_thread() called job() {count(len(spinner.job_threads), 'time')}; call it "
            "exactly once.",
            pytrace=False,
        )
    if spinner.job_threads[0] != spinner.home:
        pytest.fail(
            "job() ran in another thread, not in the one that called spin_in_thread(). Only "
            "the spinner gets a thread of its own; call job() right there, after starting it.",
            pytrace=False,
        )


def check_turned_during_job(spinner, interval: float, what: str) -> None:
    """job() waits for `want` frames: say why they did not come."""
    if spinner.saw_frames:
        return
    _current.check_no_crash(what)
    during = [s for s in spinner.shown if s.phase in ("before", "running")]
    frames = [s for s in during if s.frame]
    later = [s for s in spinner.shown if s.frame and s.phase in ("ended", "returned")]
    if not frames and later:
        story = (
            "Its first frame came only after job() had ended: start the spinner (as a "
            "thread, or as a task) before the job, and let the job run while it turns."
        )
    elif not frames:
        story = (
            "Not one frame: was the spinner ever started? It shows its first frame at once, "
            "and only then waits the interval."
        )
    elif any(s.frame == "" for s in during):
        story = "The spinner stopped and cleared the line before job() had ended." + (
            " It was told to stop too early. Likely something left over from an earlier "
            "call (an Event kept at module level, already set)."
            if isinstance(spinner, ThreadSpinner)
            else " Cancel the spinner task only once the job has returned or raised."
        )
    elif len(frames) == 1:
        story = (
            f"After its first frame it waited more than {spinner.gate:g} s; it waits `interval` "
            f"({interval:g} s) between frames."
        )
    else:
        gaps = sorted(b.at - a.at for a, b in itertools.pairwise(frames))
        story = (
            f"Frames came about {gaps[len(gaps) // 2]:.2f} s apart; the spinner waits the "
            f"`interval` it is given ({interval:g} s) between frames"
            + (
                ": an interval of 0 means no wait at all (not `interval or 0.1`)."
                if interval == 0
                else "."
            )
        )
    pytest.fail(
        f"{what}: while job() ran, the spinner showed {count(len(frames), 'frame')} in "
        f"{spinner.gate:g} s; the job waited for {spinner.want}. {story}",
        pytrace=False,
    )


def check_shown(spinner: ThreadSpinner, spun: Spun, what: str) -> None:
    """Frames in order, from one thread that is not the caller's, then one clear, last."""
    helpers = {s.thread for s in spun.shown}
    if len(helpers) > 1:
        pytest.fail(
            f"{what}: show() was called from {len(helpers)} different threads; one spinner "
            "thread shows every frame.",
            pytrace=False,
        )
    for problem in (frames_problem(spun.shown), clear_problem(spun.shown)):
        if problem:
            pytest.fail(f"{what}: {problem}", pytrace=False)


def check_ended(spinner: ThreadSpinner, spun: Spun, what: str) -> None:
    """The spinner thread had ended when the call returned, and it had stopped by itself."""
    cleared = any(s.frame == "" for s in spun.shown)
    for thread in spun.alive:
        thread.join(gate())  # a spinner that was told to stop ends at once
    if spinner.freed:
        pytest.fail(
            f"{what}: the spinner did not stop when job() ended: {spinner.freed_after:g} s "
            "later it was "
            f"still waiting {spinner.freed}, for an Event nobody had set (the test set it, so "
            "that the call could return). When job() returns or raises, set the spinner's "
            "threading.Event (in a finally:), then join the thread.",
            pytrace=False,
        )
    if spinner.runaway or any(t.is_alive() for t in spun.alive):
        returned = " spin_in_thread() returned while it was still spinning." if spun.alive else ""
        seen = (
            f"it showed {RUNAWAY} more frames after job() had ended, and the test had to stop it"
            if spinner.runaway
            else f"it was still running {gate():g} s after spin_in_thread() had returned"
        )
        pytest.fail(
            f"{what}: the spinner did not stop when job() ended: {seen}.{returned} When "
            "job() returns or raises, set the spinner's threading.Event (in a finally:), let "
            "its loop end when the event is set (`if done.wait(interval): break`), and join "
            "the thread.",
            pytrace=False,
        )
    if spun.alive:
        names = ", ".join(repr(t.name) for t in spun.alive)
        pytest.fail(
            f"{what}: spin_in_thread() returned while its spinner thread ({names}) was still "
            "running" + ("" if cleared else ", before it had cleared the line") + " (it "
            "ended soon after). Setting the Event only asks the spinner to stop; wait until it "
            "has: `done.set()`, then `spinner.join()`, before you return.",
            pytrace=False,
        )


def check_spin_in_thread(spinner: ThreadSpinner, spun: Spun, interval: float, what: str) -> None:
    _current.check_no_crash(what)
    check_job_ran_here(spinner)
    check_ended(spinner, spun, what)
    check_turned_during_job(spinner, interval, what)
    check_shown(spinner, spun, what)


# Task 1: spin_in_thread


@pytest.mark.task(1)
def test_spin_in_thread_returns_what_the_job_returned():
    report = ["the", "report"]
    spinner = ThreadSpinner(want=2, result=report)
    spun = spin_in_thread(spinner)
    result = value_of(spun, spinner)
    check_job_ran_here(spinner)
    if result is not report:
        pytest.fail(
            f"spin_in_thread() returned {result!r}; expected the very object job() returned, "
            f"{report!r}. Return what job() gives back, as it is.",
            pytrace=False,
        )
    check_spin_in_thread(spinner, spun, 0.005, "spin_in_thread()")


@pytest.mark.task(1)
def test_spin_in_thread_shows_the_frames_in_turn_while_the_job_runs():
    spinner = ThreadSpinner(want=6)
    spun = spin_in_thread(spinner)
    value_of(spun, spinner)
    check_spin_in_thread(
        spinner, spun, 0.005, "spin_in_thread() with a job that waits for 6 frames"
    )
    checks.equal(
        frames_of(spun.shown)[:6],
        cycle(6),
        "The first six frames",
    )


@pytest.mark.task(1)
def test_spin_in_thread_clears_the_line_once_as_the_spinner_ends():
    spinner = ThreadSpinner(want=3)
    spun = spin_in_thread(spinner)
    value_of(spun, spinner)
    problem = clear_problem(spun.shown)
    if problem and not any(s.frame == "" for s in spun.shown) and spun.alive:
        check_ended(spinner, spun, "spin_in_thread()")
    if problem:
        pytest.fail(f"When spin_in_thread() returned: {problem}", pytrace=False)
    check_spin_in_thread(spinner, spun, 0.005, "spin_in_thread()")


@pytest.mark.task(1)
def test_the_spinner_thread_has_ended_when_spin_in_thread_returns():
    spinner = ThreadSpinner(want=3)
    spun = spin_in_thread(spinner)
    value_of(spun, spinner)
    check_job_ran_here(spinner)
    check_ended(spinner, spun, "spin_in_thread()")
    check_spin_in_thread(spinner, spun, 0.005, "spin_in_thread()")


@pytest.mark.task(1)
def test_the_spinner_stops_as_soon_as_the_job_ends():
    spinner = ThreadSpinner(want=2)
    spun = spin_in_thread(spinner, interval=0.002)
    value_of(spun, spinner)
    check_job_ran_here(spinner)
    check_ended(spinner, spun, "spin_in_thread()")
    # The job ends while this thread holds the interpreter, and join() lets the spinner run
    # once: one more frame at most, two if its wait had just timed out.
    after = [s.frame for s in spun.shown if s.frame and s.phase in ("ended", "returned")]
    if len(after) > 2:  # (a spinner that never stops is told so above)
        pytest.fail(
            f"After job() had ended, the spinner showed {count(len(after), 'more frame')} "
            f"({after[:6]!r}) before it stopped: it does not stop at once when told. Wait "
            "with `if done.wait(interval): break`, which returns True the moment the "
            "event is set.",
            pytrace=False,
        )
    check_spin_in_thread(spinner, spun, 0.002, "spin_in_thread()")


@pytest.mark.task(1)
def test_spin_in_thread_stops_the_spinner_when_the_job_raises():
    failure = ConnectionError("the server went away")
    spinner = ThreadSpinner(want=2, error=failure)
    spun = spin_in_thread(spinner)
    value_of(spun, spinner)
    check_job_ran_here(spinner)
    what = "spin_in_thread() with a job that raises ConnectionError"
    if spun.raised is not failure:
        pytest.fail(
            f"{what} returned {spun.result!r} instead of letting the job's exception through: "
            "the caller must see the ConnectionError. Stop the spinner in a finally:, and do "
            "not catch the error.",
            pytrace=False,
        )
    if spun.alive:
        check_ended(spinner, spun, what + " (the spinner must stop then too: use a finally:)")
    check_spin_in_thread(spinner, spun, 0.005, what)


@pytest.mark.task(1)
@pytest.mark.parametrize("result", [None, 0, "", False, []], ids=repr)
def test_spin_in_thread_returns_falsy_results_as_they_are(result):
    spinner = ThreadSpinner(want=1, result=result)
    spun = spin_in_thread(spinner)
    got = value_of(spun, spinner)
    if got is not result:
        pytest.fail(
            f"job() returned {result!r} and spin_in_thread() returned {got!r}: return what the "
            "job gave back, whatever it is (`return job()`), with no `or` and no `if result:`.",
            pytrace=False,
        )
    check_spin_in_thread(spinner, spun, 0.005, f"spin_in_thread() of a job returning {result!r}")


@pytest.mark.task(1)
def test_spin_in_thread_waits_the_interval_between_frames():
    spinner = ThreadSpinner(want=3)
    spun = spin_in_thread(spinner, interval=0.025)
    value_of(spun, spinner)
    what = "spin_in_thread(interval=0.025)"
    check_spin_in_thread(spinner, spun, 0.025, what)
    during = [s for s in spun.shown if s.frame and s.phase in ("before", "running")]
    # A wait never ends early, so the gaps are at least the interval (a slow machine only
    # makes them longer, which this test allows).
    short = [round(b.at - a.at, 3) for a, b in itertools.pairwise(during) if b.at - a.at < 0.022]
    if short:
        pytest.fail(
            f"{what}: frames came {short[0]:g} s apart; the spinner waits the interval it is "
            "given (0.025 s) after each frame: `done.wait(interval)`, not a fixed time.",
            pytrace=False,
        )


@pytest.mark.task(1)
def test_spin_in_thread_with_an_interval_of_zero_spins_without_waiting():
    spinner = ThreadSpinner(want=40)
    spun = spin_in_thread(spinner, interval=0)
    value_of(spun, spinner)
    what = "spin_in_thread(interval=0), a job that waits for 40 frames"
    check_spin_in_thread(spinner, spun, 0, what)


@pytest.mark.task(1)
def test_spin_in_thread_stops_at_once_in_a_day_long_interval(monkeypatch):
    # time.sleep cannot be woken up: here a sleep in another thread is noted, and lets go as
    # soon as the job ends, so that a spinner that sleeps out its interval ends the test fast.
    ended = threading.Event()
    slept: list[float] = []
    guarded_sleep = time.sleep

    def sleep(seconds: float) -> None:
        if threading.current_thread() is threading.main_thread():
            guarded_sleep(seconds)
        else:
            slept.append(seconds)
            ended.wait(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    spinner = ThreadSpinner(want=1)
    job = spinner.job

    def day_job() -> object:
        try:
            return job()
        finally:
            ended.set()

    spinner.job = day_job  # type: ignore[method-assign]
    spun = spin_in_thread(spinner, interval=86_400)
    value_of(spun, spinner)
    if slept:
        pytest.fail(
            f"spin_in_thread(interval=86400): the spinner waited with time.sleep({slept[0]:g}) "
            "in its thread. Nothing can wake a time.sleep, so spin_in_thread() would have "
            "waited out the rest of a day before its spinner noticed the Event. Wait with "
            "`done.wait(interval)`: it returns the moment the Event is set.",
            pytrace=False,
        )
    check_spin_in_thread(spinner, spun, 86_400, "spin_in_thread(interval=86400)")
    checks.equal(
        [s.frame for s in spun.shown],
        ["|", ""],
        "Frames shown by spin_in_thread(interval=86400) of a job that ends after the first",
        lambda got: frames_after_the_job(spun.shown),
    )


@pytest.mark.task(1)
def test_each_spin_in_thread_has_a_spinner_of_its_own():
    for call in ("First", "Second", "Third"):
        spinner = ThreadSpinner(want=3, result=call)
        spun = spin_in_thread(spinner)
        got = value_of(spun, spinner)
        what = f"{call} call of spin_in_thread() in a row"
        check_spin_in_thread(spinner, spun, 0.005, what)
        checks.equal(got, call, f"{what}: its result")


@pytest.mark.task(1)
def test_spin_in_thread_waits_for_a_spinner_that_takes_a_day_to_clear_the_line(monkeypatch):
    # The spinner's last show("") takes a day, on the test's ThreadClock: a day that passes in
    # no time, but only once this thread waits for the spinner, and a wait with a timeout
    # shorter than a day runs out first.
    clock = ThreadClock()
    clock.install(monkeypatch)
    clock.watch()  # this thread calls spin_in_thread()
    spinner = ThreadSpinner(want=1)
    spinner.hold = False
    record = spinner.show

    def show(frame: str) -> None:
        if frame == "" and threading.get_ident() != spinner.home:
            clock.begin()
            clock.over.wait(4 * GATE)
        record(frame)

    spinner.show = show  # type: ignore[method-assign]
    what = "spin_in_thread() with a spinner whose last show('') takes a day"
    try:
        spun = spin_in_thread(spinner)
    finally:
        clock.stop()
    value_of(spun, spinner)
    check_job_ran_here(spinner)
    if spun.alive and clock.gave_up():
        pytest.fail(
            f"{what} (a day on the test's clock, which lets it pass in no time): it waited "
            f"for its spinner with {clock.gave_up()}. That ran out while the spinner was "
            "still clearing the line, and spin_in_thread() returned with the spinner thread "
            "still running. Wait until the spinner has ended, however long that takes: "
            "`spinner.join()`, with no timeout of your own.",
            pytrace=False,
        )
    check_spin_in_thread(spinner, spun, 0.005, what)


def wait_until(condition: Callable[[], bool]) -> bool:
    """From a thread of the test's: poll `condition` for a gate() (False if it never held)."""
    deadline = time.monotonic() + gate()
    while not condition():
        if time.monotonic() > deadline:
            _current.expired = True
            return False
        threading.Event().wait(0.001)
    return True


@pytest.mark.task(1)
def test_two_spin_in_threads_at_once_keep_their_own_spinners():
    # The calls overlap in a fixed order: A starts; B starts while A's job runs; A's job ends
    # once both spinners have turned, and A returns; then B's job waits for three more frames
    # of B's spinner, which must go on turning though A's has stopped.
    a, b = ThreadSpinner(want=2, result="A"), ThreadSpinner(want=2, result="B")
    a_running, b_running, a_returned = threading.Event(), threading.Event(), threading.Event()
    after_a: dict[str, float] = {}  # "at": when A returned; "frames": B's frames by then
    a_job, b_job = a.job, b.job

    def first_job() -> object:
        a_running.set()
        if waited(b_running):
            wait_until(lambda: b.frames >= 2)
        return a_job()  # (it waits for A's own two frames)

    def second_job() -> object:
        b_running.set()
        if waited(a_returned):
            after_a["frames"] = b.frames
            b.want = b.frames + 3
            b.enough.clear()
            if b.frames >= b.want:  # (shown meanwhile)
                b.enough.set()
        return b_job()

    a.job, b.job = first_job, second_job  # type: ignore[method-assign]
    outcomes: dict[str, tuple[str, object]] = {}
    function = threads.spin_in_thread

    def call(name: str, spinner: ThreadSpinner) -> None:
        spinner.home = threading.get_ident()
        spinner.hold = False  # two callers: neither may hold the interpreter
        try:
            outcomes[name] = ("returned", function(spinner.job, spinner.show, 0.005))
        except BaseException as exc:
            outcomes[name] = ("raised", exc)
        finally:
            spinner.phase = "returned"
            if name == "A":
                after_a["at"] = time.monotonic()
                a_returned.set()

    callers = {
        name: threading.Thread(target=call, args=(name, spinner), name=f"caller {name}")
        for name, spinner in (("A", a), ("B", b))
    }
    callers["A"].start()
    if waited(a_running):
        callers["B"].start()
    for caller in callers.values():
        if caller.ident is not None:
            caller.join(4 * GATE)
    for name, spinner in (("A", a), ("B", b)):
        how, outcome = outcomes.get(name, ("", None))
        if how == "raised" and isinstance(outcome, Stopped):
            shown_by_the_caller(spinner)
        if how == "raised":
            raise outcome  # type: ignore[misc]
    what = "Two spin_in_thread() calls at once, from two threads"
    if any(c.is_alive() for c in callers.values()) or len(outcomes) < 2:
        pytest.fail(
            f"{what}: one had not returned {4 * GATE:g} s later. Likely they share something "
            "kept at module level (an Event, a thread): each call needs its own.",
            pytrace=False,
        )
    _current.check_no_crash(what)
    checks.equal(
        [outcomes["A"][1], outcomes["B"][1]],
        ["A", "B"],
        f"The results of {what}",
        "Each call returns its own job's result.",
    )
    b_stopped = [
        s
        for s in b.shown
        if s.frame == "" and s.phase in ("before", "running") and s.at >= a.ended_at > 0
    ]
    if not b.saw_frames and b_stopped:
        pytest.fail(
            f"{what}: when call A's job ended and A stopped its spinner, call B's spinner "
            "stopped too, and cleared the line, while B's job was still running (after A had "
            "returned it waited for three more frames, and got "
            f"{count(b.frames - int(after_a.get('frames', b.frames)), 'frame')}). Likely the "
            "two calls share one threading.Event, kept at module level, so stopping one "
            "spinner stops both. Each call needs an Event of its own, made in the call.",
            pytrace=False,
        )
    for name, spinner, other in (("A", a, b), ("B", b, a)):
        call_what = f"Call {name} of two spin_in_thread() calls at once"
        check_job_ran_here(spinner)
        check_turned_during_job(spinner, 0.005, call_what)
        for problem in (frames_problem(spinner.shown, other.shown), clear_problem(spinner.shown)):
            if problem:
                pytest.fail(f"{call_what}: {problem}", pytrace=False)


@pytest.mark.task(1)
@scenarios.given(
    result=st.sampled_from([None, 0, "", "ok", ("a", "b")]),
    fails=st.booleans(),
    want=st.integers(1, 5),
    interval=st.sampled_from([0.001, 0.003]),
    max_examples=12,
)
def test_spin_in_thread_in_any_scenario(result, fails, want, interval):
    error = KeyError("gone") if fails else None
    scene = f"with interval={interval:g} and a job that waits for {count(want, 'frame')}, then " + (
        "raises KeyError" if fails else f"returns {result!r}"
    )
    scenarios.describe(scene)
    spinner = ThreadSpinner(want=want, result=result, error=error)
    spun = spin_in_thread(spinner, interval=interval)
    got = value_of(spun, spinner)
    what = f"spin_in_thread() {scene}"
    check_spin_in_thread(spinner, spun, interval, what)
    if fails:
        if spun.raised is not error:
            pytest.fail(f"{what}: it returned {got!r}, not the KeyError.", pytrace=False)
    elif got is not result:
        pytest.fail(f"{what}: it returned {got!r}; expected {result!r} itself.", pytrace=False)


# Task 2: spin_in_task


class TaskSpinner:
    """show() and job() for spin_in_task(). show() notes every call and must be called on
    the loop's thread. job() is blocking: it must run in another thread, where it waits until
    the spinner has shown `want` frames (proof that the loop stays free while it runs)."""

    def __init__(self, want: int = 3, result: object = "done", error=None) -> None:
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.want, self.result, self.error = want, result, error
        self.shown: list[Shown] = []
        self.phase = "before"
        self.enough = threading.Event()
        self.frames = 0
        self.job_threads: list[int] = []
        self.called_from = ""  # where job() was called on the loop's thread
        self.saw_frames: bool | None = None
        self.gate = GATE
        self.blocked = ""  # where the loop's thread was stuck while job() waited
        self.job_ended = asyncio.Event()
        self.stop = False
        self.spinner_tasks: set[asyncio.Task] = set()  # the tasks that called show()
        _current.spinners.append(self)
        use_the_pool(self.loop)
        arm_the_watchdog(self.loop)

    def release(self) -> None:
        self.enough.set()

    def show(self, frame: str) -> None:
        me = threading.get_ident()
        task = asyncio.current_task() if me == self.loop_thread else None
        cancelled = task is not None and task.cancelling() > 0
        self.shown.append(Shown(frame, me, self.phase, time.monotonic(), cancelled))
        if task is not None:
            self.spinner_tasks.add(task)
        if me != self.loop_thread or self.stop:
            raise Stopped  # a spinner in a thread (told below), or one the test gave up on
        if frame:
            self.frames += 1
            if self.frames >= self.want:
                self.enough.set()

    def job(self) -> object:
        me = threading.get_ident()
        self.job_threads.append(me)
        if me == self.loop_thread:
            self.called_from = line_of(sys._getframe(1))
            raise OnTheLoop("job() was called on the event loop's thread")
        self.phase = "running"
        try:
            self.gate = gate()
            self.saw_frames = waited(self.enough)
            if not self.saw_frames:
                self.blocked = stuck_at(self.loop_thread)
        finally:
            self.phase = "ended"
            with contextlib.suppress(RuntimeError):  # the loop may be closed by now
                self.loop.call_soon_threadsafe(self.job_ended.set)
        if self.error is not None:
            raise self.error
        return self.result


@dataclass
class Turned:
    result: object
    raised: BaseException | None
    shown: list[Shown]  # show() calls made before it returned
    left: list[str]  # tasks it left running, by the coroutine they run
    late: list[str]  # frames shown after it had returned


async def wait_for_call(task: asyncio.Future, ended: asyncio.Event, seconds: float) -> bool:
    """Wait until `task` is done, but no more than `seconds` after `ended` is set (and no
    more than 3 * GATE in all): True if it is done."""
    ender = asyncio.ensure_future(ended.wait())
    try:
        await asyncio.wait([task, ender], timeout=3 * GATE, return_when="FIRST_COMPLETED")
        if not task.done() and ender.done():
            await asyncio.wait([task], timeout=seconds)
    finally:
        ender.cancel()
        await asyncio.wait([ender])
    return task.done()


def calling(spinner: TaskSpinner, interval: float):
    """The learner's spin_in_task() for `spinner`, noting the very moment it ends: its
    coroutine returns straight into this one, before anything else on the loop can run."""
    function = threads.spin_in_task

    async def spin_in_task_of_the_test() -> object:
        try:
            return await function(spinner.job, spinner.show, interval)
        finally:
            spinner.phase = "returned"

    return spin_in_task_of_the_test()


def ended_cancelled(what: str) -> str:
    return (
        f"{what} ended with CancelledError, though nobody had cancelled it. Likely it awaited "
        "the spinner task it had cancelled: that raises the spinner's CancelledError in "
        "spin_in_task() itself. Wait for the cancelled spinner with `await "
        "asyncio.wait([spinner])`, which does not raise, or catch that CancelledError (and "
        "re-raise it only if spin_in_task() itself is being cancelled)."
    )


async def spin_in_task(
    spinner: TaskSpinner,
    interval: float,
    what: str,
    started: tuple[asyncio.Future, set[asyncio.Task]] | None = None,
) -> Turned:
    """Await the learner's spin_in_task(), then note what it left running. `started`: the
    call, already started as a task, and the tasks there were before it."""
    spinner.interval = interval
    if started is None:
        before = asyncio.all_tasks()
        task = asyncio.ensure_future(calling(spinner, interval))
    else:
        task, before = started
    finished = await wait_for_call(task, spinner.job_ended, gate())
    await turns()
    left = [t for t in left_running(before) if t is not task]
    names = sorted({getattr(t.get_coro(), "__qualname__", "?") for t in left})
    shown = [s for s in spinner.shown if s.phase != "returned"]
    late = [s.frame for s in spinner.shown if s.phase == "returned"]
    why = "" if finished else still_spinning([spinner])
    spinner.stop = True
    await stop_tasks(left)
    check_deadlock(what)
    if not finished:
        await stop_tasks([task])
        check_job_calls(spinner, shown, what)
        pytest.fail(
            f"{what} had not returned {gate():g} s after job() had ended. {why}", pytrace=False
        )
    if task.cancelled():
        check_job_calls(spinner, shown, what)
        pytest.fail(ended_cancelled(what), pytrace=False)
    result = raised = None
    try:
        result = task.result()
    except OnTheLoop:
        explain_job_on_loop(spinner, what)
        raise
    except Exception as exc:
        raised = exc
    return Turned(result, raised, shown, names, late)


def still_spinning(spinners: list[TaskSpinner]) -> str:
    """Why calls of spin_in_task() have not returned though their jobs have ended: what their
    spinner tasks were doing. (Called before the test stops them.)"""
    carried_on = [s.frame for sp in spinners for s in sp.shown if s.frame and s.cancelled]
    running = [t for sp in spinners for t in sp.spinner_tasks if not t.done()]
    its, was, had = ("Their", "were", "tasks") if len(spinners) > 1 else ("Its", "was", "task")
    if carried_on:
        return (
            f"{its} spinner {had} had been cancelled, and went on showing frames "
            f"({carried_on[:4]!r}{'...' if len(carried_on) > 4 else ''}): a spinner that "
            "catches the CancelledError and carries on, so waiting for it never ends. Let the "
            "CancelledError end the spinner's loop (clear the line in a finally:)."
        )
    if running and not any(t.cancelling() for t in running):
        return (
            f"{its} spinner {had} {was} still running, and had never been cancelled: waiting "
            "for a spinner nobody cancels never ends. Cancel it first, then wait for it."
        )
    return (
        "Likely it waits for something that never ends: a spinner task that catches the "
        "CancelledError and carries on, or one that is waited for without being cancelled. "
        "Cancel the spinner task, then wait for it."
    )


def explain_job_on_loop(spinner: TaskSpinner, what: str) -> None:
    if spinner.called_from or any(t == spinner.loop_thread for t in spinner.job_threads):
        pytest.fail(
            f"{what}: job() was called on the event loop's thread"
            + (f", at {spinner.called_from}" if spinner.called_from else "")
            + ". job() is a blocking function: run there, it freezes the whole loop (the "
            "spinner task could not show a single frame until it ended). Run it in a worker "
            "thread: `await asyncio.to_thread(job)`.",
            pytrace=False,
        )


def check_job_calls(spinner: TaskSpinner, shown: list[Shown], what: str) -> None:
    """The spinner ran on the loop, the job once in another thread, the loop stayed free."""
    _current.check_no_crash(what)
    away = [s for s in shown if s.thread != spinner.loop_thread]
    if away:
        pytest.fail(
            f"{what}: show() was called from a thread that is not the event loop's. In "
            "spin_in_task() the spinner is a task on the loop (asyncio.create_task), and the "
            "job gets the thread.",
            pytrace=False,
        )
    explain_job_on_loop(spinner, what)
    if not spinner.job_threads:
        pytest.fail(f"{what}: job() was never called.", pytrace=False)
    if len(spinner.job_threads) > 1:
        pytest.fail(
            f"{what}: job() was called {count(len(spinner.job_threads), 'time')}; call it "
            "exactly once.",
            pytrace=False,
        )
    if spinner.blocked:
        pytest.fail(
            blocked_message(
                f"{what}: while job() ran in its thread",
                spinner.blocked,
                spinner.gate,
                "The spinner could not show a frame. Await the job instead: "
                "`await asyncio.to_thread(job)` waits without blocking.",
            ),
            pytrace=False,
        )


def check_spinner_task(spinner: TaskSpinner, shown: list[Shown], what: str) -> None:
    check_job_calls(spinner, shown, what)
    for task in spinner.spinner_tasks:
        if task.done() and not task.cancelled():
            error = task.exception()
            if error is not None and not isinstance(error, Stopped):
                pytest.fail(
                    f"{what}: the spinner task ended with {type(error).__name__}: "
                    f"{said(error)}, and nobody saw it (an exception in a task is "
                    "only raised where the task is awaited).",
                    pytrace=False,
                )
    check_turned_during_job(spinner, spinner.interval, what)
    check_no_frame_once_cancelled(shown, what)
    for problem in (frames_problem(shown), clear_problem(shown)):
        if problem:
            pytest.fail(f"{what}: {problem}", pytrace=False)


def check_no_frame_once_cancelled(shown: list[Shown], what: str) -> None:
    late = [s.frame for s in shown if s.frame and s.cancelled]
    if late:
        pytest.fail(
            f"{what}: the spinner task showed {late[0]!r} after it had been cancelled"
            + (f" ({count(len(late), 'frame')} in all)" if len(late) > 1 else "")
            + '. Once cancelled, the spinner only clears the line (show("") in its '
            "finally:), with no frame after the cancel: let the CancelledError end its loop "
            "(do not catch it to show one more frame, or to carry on).",
            pytrace=False,
        )


def check_turned(spinner: TaskSpinner, turned: Turned, what: str) -> None:
    check_job_calls(spinner, turned.shown, what)
    if turned.left:
        cleared = any(s.frame == "" for s in turned.shown)
        pytest.fail(
            f"{what}: when spin_in_task() returned, {count(len(turned.left), 'task')} it "
            f"started {'was' if len(turned.left) == 1 else 'were'} still running "
            f"({', '.join(turned.left)})"
            + ("" if cleared else ", and the spinner had not cleared the line")
            + ": the spinner was not stopped. Cancel the spinner task (in a finally:) and wait "
            "until it has ended (`await asyncio.wait([spinner])`) before you return.",
            pytrace=False,
        )
    if turned.late:
        pytest.fail(
            f"{what}: show() was called after spin_in_task() had returned "
            f"({turned.late!r}): its spinner had not finished yet. cancel() only asks a task "
            "to stop; wait until it has (`await asyncio.wait([spinner])`) before you return.",
            pytrace=False,
        )
    check_spinner_task(spinner, turned.shown, what)


def turned_value(spinner: TaskSpinner, turned: Turned, what: str = "spin_in_task()") -> object:
    raised = turned.raised
    if raised is not None and raised is not spinner.error:
        error = spinner.error
        if (
            isinstance(raised, BaseExceptionGroup)
            and error is not None
            and raised.subgroup(lambda e: e is error) is not None
        ):
            pytest.fail(
                f"{what} raised an ExceptionGroup ({raised}) holding the job's "
                f"{type(error).__name__}, where the job's own exception should come out as "
                "it is, unwrapped. A TaskGroup wraps whatever is raised inside its `async "
                "with` block in an ExceptionGroup: catch the job's exception inside the block "
                "and raise it once the block has ended, or keep the job out of the TaskGroup.",
                pytrace=False,
            )
        raise raised
    return turned.result


JOB_SAFELY = (
    "From the job's thread, reach the loop only with loop.call_soon_threadsafe(), or let "
    "`await asyncio.to_thread(job)` hand the result over for you."
)


async def spin_and_check(
    spinner: TaskSpinner,
    interval: float,
    what: str,
    watch: LoopWatch | None = None,
    started: tuple[asyncio.Future, set[asyncio.Task]] | None = None,
) -> Turned:
    turned = await spin_in_task(spinner, interval, what, started)
    if watch is not None:
        watch.check(what, JOB_SAFELY)
    turned_value(spinner, turned, what)
    check_turned(spinner, turned, what)
    return turned


@pytest.mark.task(2)
async def test_spin_in_task_returns_what_the_job_returned(watch):
    report = {"pages": 3}
    spinner = TaskSpinner(want=2, result=report)
    turned = await spin_and_check(spinner, 0.005, "spin_in_task()", watch)
    if turned.result is not report:
        pytest.fail(
            f"spin_in_task() returned {turned.result!r}; expected the very object job() "
            f"returned, {report!r}: return what `await asyncio.to_thread(job)` gives back.",
            pytrace=False,
        )


@pytest.mark.task(2)
async def test_spin_in_task_runs_the_job_once_in_a_worker_thread(watch):
    spinner = TaskSpinner(want=2)
    await spin_and_check(spinner, 0.005, "spin_in_task()", watch)
    checks.equal(
        [t != spinner.loop_thread for t in spinner.job_threads],
        [True],
        "Calls of job() away from the event loop's thread",
    )


@pytest.mark.task(2)
async def test_spin_in_task_shows_the_frames_in_turn_on_the_loop_while_the_job_runs(watch):
    spinner = TaskSpinner(want=6)
    what = "spin_in_task() of a job that waits for 6 frames"
    turned = await spin_and_check(spinner, 0.005, what, watch)
    checks.equal(frames_of(turned.shown)[:6], cycle(6), "The first six frames")


@pytest.mark.task(2)
async def test_spin_in_task_clears_the_line_once_before_it_returns():
    spinner = TaskSpinner(want=3)
    turned = await spin_and_check(spinner, 0.005, "spin_in_task()")
    checks.equal(
        turned.shown[-1].frame, "", "The last call of show() before spin_in_task() returned"
    )


@pytest.mark.task(2)
async def test_spin_in_task_leaves_no_task_running():
    spinner = TaskSpinner(want=3)
    turned = await spin_and_check(spinner, 0.005, "spin_in_task()")
    checks.equal(turned.left, [], "Tasks still running after spin_in_task() returned")


@pytest.mark.task(2)
async def test_spin_in_task_stops_the_spinner_when_the_job_raises():
    # (Not TimeoutError: asyncio.to_thread hands that one over as a new, equal exception.)
    failure = PermissionError("the printer is locked")
    spinner = TaskSpinner(want=2, error=failure)
    what = "spin_in_task() of a job that raises PermissionError"
    turned = await spin_and_check(spinner, 0.005, what)
    if turned.raised is not failure:
        pytest.fail(
            f"{what} returned {turned.result!r} instead of raising the job's exception: let it "
            "through to the caller (stop the spinner in a finally:, do not catch the error).",
            pytrace=False,
        )


@pytest.mark.task(2)
@pytest.mark.parametrize("result", [None, 0, "", False, ()], ids=repr)
async def test_spin_in_task_returns_falsy_results_as_they_are(result):
    spinner = TaskSpinner(want=1, result=result)
    turned = await spin_and_check(spinner, 0.005, f"spin_in_task() of a job returning {result!r}")
    if turned.result is not result:
        pytest.fail(
            f"job() returned {result!r} and spin_in_task() returned {turned.result!r}: return "
            "what the job gave back, whatever it is.",
            pytrace=False,
        )


@pytest.mark.task(2)
async def test_spin_in_task_waits_the_interval_between_frames():
    spinner = TaskSpinner(want=3)
    turned = await spin_and_check(spinner, 0.025, "spin_in_task(interval=0.025)")
    frames = [s for s in turned.shown if s.frame]
    # asyncio.sleep never wakes early, so the gaps are at least the interval (a slow machine
    # only makes them longer, which this test allows).
    short = [round(b.at - a.at, 3) for a, b in itertools.pairwise(frames) if b.at - a.at < 0.022]
    if short:
        pytest.fail(
            f"spin_in_task(interval=0.025): frames came {short[0]:g} s apart; the spinner "
            "waits the interval it is given after each frame: `await asyncio.sleep(interval)`.",
            pytrace=False,
        )


@pytest.mark.task(2)
async def test_spin_in_task_with_an_interval_of_zero_spins_without_waiting():
    spinner = TaskSpinner(want=40)
    await spin_and_check(spinner, 0, "spin_in_task(interval=0), a job that waits for 40 frames")


@pytest.mark.task(2)
async def test_spin_in_task_stops_at_once_in_a_day_long_interval():
    spinner = TaskSpinner(want=1)
    turned = await spin_and_check(spinner, 86_400, "spin_in_task(interval=86400)")
    checks.equal(
        [s.frame for s in turned.shown],
        ["|", ""],
        "Frames shown by spin_in_task(interval=86400) of a job that ends after the first",
        lambda got: frames_after_the_job(turned.shown),
    )


@pytest.mark.task(2)
async def test_cancelling_spin_in_task_stops_the_spinner_too():
    spinner = TaskSpinner(want=10**9)  # the job waits until the test lets it go
    spinner.interval = 0.005
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(calling(spinner, 0.005))
    what = "spin_in_task() cancelled while its job ran"
    try:
        await until(lambda: spinner.frames >= 3 or task.done())
        if task.done() or spinner.frames < 3:
            shown = list(spinner.shown)
            spinner.release()
            if task.done() and not task.cancelled():
                try:
                    task.result()
                except OnTheLoop:
                    explain_job_on_loop(spinner, what)
                    raise
            if spinner.job_threads:
                await until(spinner.job_ended.is_set)
            check_spinner_task(spinner, shown, what)
            pytest.fail(f"{what}: it ended before its job had.", pytrace=False)
        task.cancel()
        await asyncio.wait([task], timeout=GATE)
        ended_in_time = task.done()
        await turns()
        left = [t for t in left_running(before) if t is not task]
        spinning = [t for t in spinner.spinner_tasks if not t.done()]
        never_cancelled = bool(spinning) and not any(t.cancelling() for t in spinning)
        carried_on = [s.frame for s in spinner.shown if s.frame and s.cancelled]
    finally:
        spinner.release()  # the job's thread ends now (it cannot be cancelled)
        if spinner.job_threads:
            await until(spinner.job_ended.is_set)
    shown = [s for s in spinner.shown if s.phase != "returned"]
    late = [s.frame for s in spinner.shown if s.phase == "returned"]
    spinner.stop = True
    await stop_tasks(left)
    check_deadlock(what)
    if not ended_in_time:
        await stop_tasks([task])
        if carried_on:
            likely = (
                f"Its spinner task had been cancelled, and went on showing frames "
                f"({carried_on[:4]!r}): it catches the CancelledError and carries on, so "
                "waiting for it never ends. Let the CancelledError end the spinner's loop."
            )
        elif spinning and never_cancelled:
            likely = (
                "Its spinner task was still running, and had never been cancelled: waiting "
                "for a spinner nobody cancels never ends. Cancel it first, then wait for it."
            )
        else:
            likely = (
                "Likely it waited for the job's thread, which cannot be cancelled: cancel the "
                "spinner, wait for it, and let the CancelledError through."
            )
        pytest.fail(
            f"{what}: {GATE:g} s after it had been cancelled it had still not ended. {likely}",
            pytrace=False,
        )
    if not task.cancelled():
        outcome = task.exception() or task.result()
        pytest.fail(
            f"{what}: it ended with {outcome!r} instead of being cancelled: let the "
            "CancelledError reach the caller (do not catch it, or re-raise it).",
            pytrace=False,
        )
    check_no_frame_once_cancelled(shown, what)
    if left or late:
        if never_cancelled:
            pytest.fail(
                f"{what}: it ended cancelled, but its spinner task had never been cancelled: "
                "it was still running"
                + (f" (it showed {late[:4]!r} afterwards)" if late else "")
                + ". Cancel the spinner task in a finally:, so that it stops whichever way "
                "spin_in_task() ends, cancelled too, and wait for it.",
                pytrace=False,
            )
        pytest.fail(
            f"{what}: its spinner task had been cancelled, but had not ended when "
            "spin_in_task() did"
            + (f" (it showed {late[:4]!r} afterwards)" if late else "")
            + ": cancel() only asks. Wait for the spinner after cancelling it (`await "
            "asyncio.wait([spinner])`), in the finally: that runs when spin_in_task() is "
            "cancelled too.",
            pytrace=False,
        )
    problem = clear_problem(shown)
    if problem:
        pytest.fail(f"{what}: {problem}", pytrace=False)


@pytest.mark.task(2)
async def test_two_spin_in_tasks_at_once_keep_their_own_spinners():
    first, second = TaskSpinner(want=3, result="A"), TaskSpinner(want=5, result="B")
    what = "Two spin_in_task() calls at once"
    calls = [asyncio.ensure_future(calling(s, 0.005)) for s in (first, second)]
    ended = (first.job_ended, second.job_ended)
    await until(lambda: all(e.is_set() for e in ended) or any(c.done() for c in calls), 3 * GATE)
    await asyncio.wait(calls, timeout=gate())
    await turns()
    stuck = [c for c in calls if not c.done()]
    why = still_spinning([first, second]) if stuck else ""
    for spinner in (first, second):
        spinner.interval = 0.005
        spinner.stop = True
    await stop_tasks(stuck)
    check_deadlock(what)
    if stuck:
        pytest.fail(
            f"{what}: {gate():g} s after both jobs had ended, "
            f"{count(len(stuck), 'call')} had still not returned. {why}",
            pytrace=False,
        )
    results = []
    for call, spinner in zip(calls, (first, second), strict=True):
        if call.cancelled():
            pytest.fail(ended_cancelled(what), pytrace=False)
        try:
            results.append(call.result())
        except OnTheLoop:
            explain_job_on_loop(spinner, what)
            raise
    checks.equal(results, ["A", "B"], f"The results of {what}")
    for name, spinner in (("A", first), ("B", second)):
        shown = [s for s in spinner.shown if s.phase != "returned"]
        late = [s.frame for s in spinner.shown if s.phase == "returned"]
        call_what = f"Call {name} of two spin_in_task() calls at once"
        if late:
            pytest.fail(
                f"{call_what}: show() was called after that call had returned ({late!r}): "
                "its spinner had not finished yet. cancel() only asks a task to stop; wait "
                "until it has (`await asyncio.wait([spinner])`) before you return.",
                pytrace=False,
            )
        check_spinner_task(spinner, shown, call_what)


@pytest.mark.task(2)
@pytest.mark.looptime(True)
@pytest.mark.loop_limit(30 * DAY)
@pytest.mark.wall_limit(5)
async def test_spin_in_task_gives_a_day_long_job_all_the_time_it_takes(watch):
    # Virtual time: once the job has begun, a day of loop time passes in no time while it
    # waits in its thread (looptime jumps to the next timer: the spinner's, the test's, or a
    # timeout of yours). Only then does the test let the job end; the rest runs in real time.
    loop = asyncio.get_running_loop()
    report = ["a day", "of work"]
    spinner = TaskSpinner(want=1, result=report)
    job_started, day_over = threading.Event(), threading.Event()

    def day_job() -> object:
        me = threading.get_ident()
        spinner.job_threads.append(me)
        if me == spinner.loop_thread:
            spinner.called_from = line_of(sys._getframe(1))
            raise OnTheLoop("job() was called on the event loop's thread")
        spinner.phase = "running"
        spinner.saw_frames = True
        job_started.set()
        try:
            day_over.wait(4 * GATE)  # the test opens it once a day of loop time has passed
        finally:
            spinner.phase = "ended"
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(spinner.job_ended.set)
        return report

    spinner.job = day_job  # type: ignore[method-assign]
    what = "spin_in_task(job, show, interval=3600) of a job that takes a day"
    with blind_to_executors(loop):
        try:
            async with in_real_time(loop):  # until the job has begun in its thread
                before = asyncio.all_tasks()
                start = loop.time()
                task = asyncio.ensure_future(calling(spinner, HOUR))
                await until(lambda: job_started.is_set() or task.done())
            await asyncio.wait([task], timeout=DAY)
            ended_after = loop.time() - start
        finally:
            day_over.set()
    if task.done():
        check_deadlock(what)
        outcome = (
            "ended cancelled"
            if task.cancelled()
            else task.exception() or f"returned {task.result()!r}"
        )
        if isinstance(outcome, NotImplementedError):
            raise outcome
        if isinstance(outcome, TimeoutError) and not spinner.job_threads:
            pytest.fail(gave_up_message(what, "job", outcome, ended_after, False), pytrace=False)
        check_job_calls(spinner, [s for s in spinner.shown if s.phase != "returned"], what)
        if isinstance(outcome, OnTheLoop):
            explain_job_on_loop(spinner, what)
        await until(spinner.job_ended.is_set)
        pytest.fail(gave_up_message(what, "job", outcome, ended_after), pytrace=False)
    async with in_real_time(loop):
        turned = await spin_and_check(spinner, HOUR, what, watch, started=(task, before))
    if turned.result is not report:
        pytest.fail(
            f"{what} returned {turned.result!r}; expected the very object job() returned, "
            f"{report!r}.",
            pytrace=False,
        )


@pytest.mark.task(2)
@scenarios.given(
    result=st.sampled_from([None, 0, "", "ok", ("a", "b")]),
    fails=st.booleans(),
    want=st.integers(1, 5),
    interval=st.sampled_from([0, 0.001, 0.003]),
    max_examples=12,
)
async def test_spin_in_task_in_any_scenario(result, fails, want, interval):
    error = KeyError("gone") if fails else None
    scene = f"with interval={interval:g} and a job that waits for {count(want, 'frame')}, then " + (
        "raises KeyError" if fails else f"returns {result!r}"
    )
    scenarios.describe(scene)
    spinner = TaskSpinner(want=want, result=result, error=error)
    what = f"spin_in_task() {scene}"
    turned = await spin_and_check(spinner, interval, what)
    if fails:
        if turned.raised is not error:
            pytest.fail(f"{what}: it returned {turned.result!r}, not the KeyError.", pytrace=False)
    elif turned.result is not result:
        pytest.fail(
            f"{what}: it returned {turned.result!r}; expected {result!r} itself.", pytrace=False
        )


# Task 3: run_with_progress


class Progress:
    """work() and on_progress() for run_with_progress(). work() runs in the learner's worker
    thread: it first checks that the loop is free, then reports `values`, burst by burst,
    and after each burst lets the loop go round TURNS times before it goes on, then checks
    that on_progress() has had every value so far: proof that the reports reach the loop
    while the work goes on. on_progress() notes each value, the
    thread it was called from, and what was going on at the time."""

    def __init__(self, values=(), bursts=None, result: object = "finished", error=None):
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.values = list(values)
        self.bursts = list(bursts) if bursts is not None else [1] * len(self.values)
        self.result, self.error = result, error
        self.delivered: list[tuple[object, int, str]] = []  # (value, thread, stage)
        self.stage = "running"  # the test's: "running", then "returned" or "cancelled"
        self.work_threads: list[int] = []
        self.called_from = ""
        self.blocked = ""
        self.gate = GATE
        self.late: int | None = None  # reports made when one had not arrived TURNS turns later
        self.pause_after: int | None = None  # reports after which work() waits for `resume`
        self.after_pause = ""  # what it means when exactly the reports after the pause are lost
        self.paused = threading.Event()
        self.resume = threading.Event()
        self.work_ended = asyncio.Event()
        self.work_finished = threading.Event()
        _current.spinners.append(self)
        use_the_pool(self.loop)
        arm_the_watchdog(self.loop)

    def release(self) -> None:
        self.resume.set()

    def on_progress(self, value: object) -> None:
        self.delivered.append((value, threading.get_ident(), self.stage))

    def loop_turned(self) -> bool:
        """From the worker thread: wait until the loop has gone round TURNS times from now,
        so that whatever was handed to it before has run (False if it is blocked, noted in
        self.blocked). A report handed over with call_soon_threadsafe reaches on_progress on
        the first of them."""
        done = threading.Event()

        def turn(left: int) -> None:
            if left:
                self.loop.call_soon(turn, left - 1)
            else:
                done.set()

        self.loop.call_soon_threadsafe(turn, TURNS)
        answered, self.blocked = loop_answered(done, self.loop_thread)
        return answered

    def work(self, report: Callable[[object], None]) -> object:
        me = threading.get_ident()
        self.work_threads.append(me)
        if me == self.loop_thread:
            self.called_from = line_of(sys._getframe(1))
            raise OnTheLoop("work() was called on the event loop's thread")
        try:
            self.gate = gate()
            free = threading.Event()
            self.loop.call_soon_threadsafe(free.set)
            _, self.blocked = loop_answered(free, self.loop_thread)
            sent = 0
            for burst in self.bursts:
                for _ in range(burst):
                    report(self.values[sent])
                    sent += 1
                if not self.blocked:
                    self.loop_turned()
                if not self.blocked and self.late is None and len(self.delivered) < sent:
                    self.late = sent
                if self.pause_after == sent:
                    self.paused.set()
                    self.resume.wait(4 * GATE)
            if self.error is not None:
                raise self.error
            return self.result
        finally:
            self.work_finished.set()
            with contextlib.suppress(RuntimeError):  # the loop may be closed by now
                self.loop.call_soon_threadsafe(self.work_ended.set)


def calling_run_with_progress(progress: Progress):
    function = threads.run_with_progress

    async def run_with_progress_of_the_test() -> object:
        try:
            return await function(progress.work, progress.on_progress)
        except asyncio.CancelledError:
            progress.stage = "cancelled"
            raise
        finally:
            if progress.stage == "running":
                progress.stage = "returned"

    return run_with_progress_of_the_test()


REPORT_SAFELY = (
    "Give work a report function that hands each value over with "
    "`loop.call_soon_threadsafe(on_progress, value)` (loop = asyncio.get_running_loop(), "
    "taken on the loop's thread before the work starts)."
)


def check_work_calls(progress: Progress, what: str) -> None:
    _current.check_no_crash(what)
    if progress.called_from or progress.loop_thread in progress.work_threads:
        pytest.fail(
            f"{what}: work() was called on the event loop's thread"
            + (f", at {progress.called_from}" if progress.called_from else "")
            + ". It is a blocking function: there it freezes the loop until it ends, and "
            "nothing reported could reach the loop meanwhile. Run it in a worker thread: "
            "`await asyncio.to_thread(work, report)`.",
            pytrace=False,
        )
    if not progress.work_threads:
        pytest.fail(f"{what}: work() was never called.", pytrace=False)
    if len(progress.work_threads) > 1:
        pytest.fail(
            f"{what}: work() was called {count(len(progress.work_threads), 'time')}; call it "
            "exactly once.",
            pytrace=False,
        )
    if progress.blocked:
        where = progress.blocked if progress.blocked != "busy" else "busy with something"
        pytest.fail(
            blocked_message(
                f"{what}: while work() ran in its thread",
                where,
                progress.gate,
                "Await the work instead: `await asyncio.to_thread(work, report)`.",
            ),
            pytrace=False,
        )


def check_delivered(progress: Progress, delivered: list, what: str) -> None:
    away = [v for v, thread, _ in delivered if thread != progress.loop_thread]
    if away:
        pytest.fail(
            f"{what}: on_progress({away[0]!r}) was called from the worker thread, not on the "
            "event loop's thread: the report went straight to on_progress. on_progress "
            f"belongs to the loop (it may touch loop objects). {REPORT_SAFELY}",
            pytrace=False,
        )
    got = [v for v, _, _ in delivered]
    same = len(got) == len(progress.values) and all(
        a is b for a, b in zip(got, progress.values, strict=True)
    )
    if not same:
        likely = ""
        shared = progress.pause_after is not None and got == progress.values[: progress.pause_after]
        if shared and progress.after_pause:
            likely = f" {progress.after_pause}"
        elif len(got) < len(progress.values):
            likely = (
                " Some reports were lost: one on_progress call per report(value), even for "
                "values that repeat or look empty (None, 0, ''), and even when several come at "
                "once (never keep only the latest value)."
            )
        elif len(got) > len(progress.values):
            likely = " There are more calls than reports: hand each report over once."
        elif got == progress.values:
            likely = (
                " They are equal to the values reported, in the same order, but copies, not "
                "the very objects: pass each value on as it is (no copy, no conversion)."
            )
        elif checks.same_items(got, progress.values):
            likely = " The same values in another order: hand them over in the order reported."
        pytest.fail(
            f"{what}: on_progress was called with {got!r}; expected each value reported, in "
            f"order: {progress.values!r}.{likely}",
            pytrace=False,
        )
    if progress.late is not None:
        value = progress.values[progress.late - 1]
        pytest.fail(
            f"{what}: after work() had reported {value!r}, the event loop went round {TURNS} "
            "times while the work went on, and on_progress still had not been called with "
            "it. Each report must reach on_progress as soon as the loop gets to it (not be "
            f"saved up for the end, nor polled for now and then). {REPORT_SAFELY}",
            pytrace=False,
        )


def explain_progress_error(exc: BaseException, what: str) -> None:
    """Fail with the lesson behind an exception run_with_progress() raised, if one fits."""
    if non_threadsafe(exc):
        pytest.fail(debug_refused(what, exc, REPORT_SAFELY), pytrace=False)
    text = str(exc)
    if (
        isinstance(exc, RuntimeError)
        and "event loop" in text
        and ("no current" in text or "no running" in text)
    ):
        pytest.fail(
            f"{what} raised RuntimeError: {said(exc)}. The worker thread has "
            "no event loop of its own to find: take the loop with "
            "asyncio.get_running_loop() in run_with_progress() itself, on the loop's "
            "thread, before the work starts, and use that one in report().",
            pytrace=False,
        )
    if isinstance(exc, asyncio.InvalidStateError):
        pytest.fail(
            f"{what} raised InvalidStateError: {exc}. A future's result was read (or "
            "set) at the wrong moment: from the worker thread, hand the result over with "
            "loop.call_soon_threadsafe(future.set_result, value), and await the future.",
            pytrace=False,
        )


async def run_progress(
    progress: Progress, watch: LoopWatch, what: str, task: asyncio.Future | None = None
) -> tuple[object, object]:
    """Await the learner's run_with_progress() (`task`, if it was started already):
    (result, raised)."""
    if task is None:
        task = asyncio.ensure_future(calling_run_with_progress(progress))
    finished = await wait_for_call(task, progress.work_ended, gate())
    at_return = list(progress.delivered)
    await turns()
    later = progress.delivered[len(at_return) :]
    check_deadlock(what)
    if not finished:
        await stop_tasks([task])
        check_work_calls(progress, what)
        watch.check(what, REPORT_SAFELY)
        pytest.fail(
            f"{what} had not returned {gate():g} s after work() had ended"
            + ("" if progress.work_threads else " (work() was never called)")
            + ". Return what the work returned as soon as it ends: `return await "
            "asyncio.to_thread(work, report)`.",
            pytrace=False,
        )
    result = raised = None
    try:
        result = task.result()
        checks.not_coroutine(result, f"{what}'s result")
    except OnTheLoop:
        check_work_calls(progress, what)
        raise
    except Exception as exc:
        raised = exc
    if raised is not None and raised is not progress.error:
        explain_progress_error(raised, what)
        raise raised
    check_work_calls(progress, what)
    watch.check(what, REPORT_SAFELY)
    check_delivered(progress, at_return + later, what)
    if later:
        pytest.fail(
            f"{what}: on_progress({later[0][0]!r}) was called after run_with_progress() had "
            "returned: return only once every report has been handed over. (A result handed "
            "over with call_soon_threadsafe after the last report comes after it.)",
            pytrace=False,
        )
    return result, raised


@pytest.mark.task(3)
async def test_run_with_progress_hands_each_report_to_on_progress_on_the_loop(watch):
    progress = Progress(values=["10%", "60%", "100%"])
    await run_progress(progress, watch, "run_with_progress() of work reporting 10%, 60%, 100%")


@pytest.mark.task(3)
async def test_run_with_progress_returns_what_the_work_returned(watch):
    summary = {"copied": 3}
    progress = Progress(values=[1, 2], result=summary)
    result, _ = await run_progress(progress, watch, "run_with_progress()")
    checks.not_coroutine(result, "run_with_progress()'s result")
    if result is not summary:
        pytest.fail(
            f"run_with_progress() returned {result!r}; expected the very object work() "
            f"returned, {summary!r}.",
            pytrace=False,
        )


@pytest.mark.task(3)
async def test_run_with_progress_runs_the_work_once_in_a_worker_thread(watch):
    progress = Progress(values=["a"])
    await run_progress(progress, watch, "run_with_progress()")
    checks.equal(
        [t != progress.loop_thread for t in progress.work_threads],
        [True],
        "Calls of work() away from the event loop's thread",
    )


@pytest.mark.task(3)
async def test_run_with_progress_leaves_the_loop_free_while_the_work_runs(watch):
    progress = Progress(values=[], result="quiet")  # work() checks that the loop is free
    result, _ = await run_progress(
        progress, watch, "run_with_progress() of work that reports nothing"
    )
    checks.equal(result, "quiet", "run_with_progress() of work that reports nothing")


@pytest.mark.task(3)
async def test_run_with_progress_delivers_each_report_while_the_work_goes_on(watch):
    progress = Progress(values=["step 1", "step 2", "step 3", "step 4"])
    await run_progress(progress, watch, "run_with_progress() of work reporting 4 steps")
    stages = {stage for _, _, stage in progress.delivered}
    checks.equal(stages, {"running"}, "What run_with_progress() was doing at each on_progress call")


@pytest.mark.task(3)
async def test_run_with_progress_keeps_repeated_and_empty_values(watch):
    values = [0, None, "", 0, False, None, "same", "same"]
    progress = Progress(values=values, bursts=[2, 1, 3, 2])
    await run_progress(progress, watch, f"run_with_progress() of work reporting {values!r}")


@pytest.mark.task(3)
async def test_run_with_progress_passes_each_value_on_as_it_is(watch):
    values = [[1, 2], {"done": 1}, b"\x00raw", (3,), 2.5, [1, 2]]
    progress = Progress(values=values, bursts=[3, 3])
    await run_progress(progress, watch, f"run_with_progress() of work reporting {values!r}")


@pytest.mark.task(3)
async def test_run_with_progress_hands_over_a_burst_of_many_reports(watch):
    values = list(range(500))
    progress = Progress(values=values, bursts=[250, 1, 249])
    await run_progress(progress, watch, "run_with_progress() of work reporting 0 to 499 in bursts")


@pytest.mark.task(3)
async def test_run_with_progress_returns_a_falsy_result_as_it_is(watch):
    for result in (None, 0, ""):
        progress = Progress(values=[1], result=result)
        got, _ = await run_progress(
            progress, watch, f"run_with_progress() of work returning {result!r}"
        )
        if got is not result:
            pytest.fail(
                f"work() returned {result!r} and run_with_progress() returned {got!r}: return "
                "what the work gave back, whatever it is.",
                pytrace=False,
            )


@pytest.mark.task(3)
async def test_a_failing_work_raises_its_exception_after_its_progress(watch):
    failure = LookupError("disk full")
    progress = Progress(values=["started", "half"], error=failure)
    what = "run_with_progress() of work reporting 'started', 'half', then raising LookupError"
    result, raised = await run_progress(progress, watch, what)
    if raised is not failure:
        pytest.fail(
            f"{what} returned {result!r} instead of raising the work's LookupError: let it "
            "through (asyncio.to_thread raises it for you).",
            pytrace=False,
        )


@pytest.mark.task(3)
async def test_cancelling_run_with_progress_ends_it_at_once_and_drops_later_reports(watch):
    progress = Progress(values=["a", "b", "c"], bursts=[1, 2])
    progress.pause_after = 1
    task = asyncio.ensure_future(calling_run_with_progress(progress))
    what = "run_with_progress() cancelled after work() had reported 'a'"
    try:
        await until(lambda: progress.paused.is_set() or task.done(), 3 * GATE)
        if not progress.paused.is_set() or task.done():
            progress.release()
            await run_progress_ended(task, progress, watch, what)
            pytest.fail(f"{what}: it ended before its work did.", pytrace=False)
        task.cancel()
        await asyncio.wait([task], timeout=GATE)
        ended_in_time = task.done()
        if progress.stage == "running":
            progress.stage = "cancelled"  # it ended some other way: still, it is over
    finally:
        progress.release()  # the work's thread goes on now: it cannot be cancelled
    await until(progress.work_finished.is_set)
    await turns()
    check_deadlock(what)
    check_work_calls(progress, what)
    watch.check(what, REPORT_SAFELY)
    if not ended_in_time:
        await stop_tasks([task])
        pytest.fail(
            f"{what}: {GATE:g} s after it had been cancelled it had still not ended. Likely "
            "it waited for the work, which cannot be cancelled (join(), or a shielded "
            "await): let the CancelledError through at once.",
            pytrace=False,
        )
    if not task.cancelled():
        outcome = task.exception() or task.result()
        pytest.fail(
            f"{what}: it ended with {outcome!r} instead of being cancelled: let the "
            "CancelledError reach the caller.",
            pytrace=False,
        )
    after = [v for v, _, stage in progress.delivered if stage != "running"]
    if after:
        pytest.fail(
            f"{what}: the work, which went on in its thread, reported 'b' and 'c' after that, "
            f"and on_progress was still called with {after!r}. Once run_with_progress() has "
            "ended, nothing may reach on_progress: note that it has ended (a flag set in a "
            "finally:) and drop what arrives after.",
            pytrace=False,
        )
    checks.equal(
        [v for v, _, _ in progress.delivered],
        ["a"],
        f"{what}: the values on_progress got",
    )


async def run_progress_ended(task, progress, watch, what) -> None:
    await asyncio.wait([task], timeout=GATE)
    check_deadlock(what)
    if task.done() and not task.cancelled():
        try:
            task.result()
        except OnTheLoop:
            check_work_calls(progress, what)
            raise
        except NotImplementedError:
            raise
        except Exception as exc:
            check_work_calls(progress, what)
            watch.check(what, REPORT_SAFELY)
            explain_progress_error(exc, what)
            raise
    check_work_calls(progress, what)
    watch.check(what, REPORT_SAFELY)


@pytest.mark.task(3)
async def test_two_runs_with_progress_at_once_keep_their_own_progress(watch):
    first = Progress(values=["a1", "a2", "a3"], result="A")
    first.pause_after = 1  # the first goes on only once the second has returned
    first.after_pause = (
        "The reports lost are exactly those the first call made after the second call had "
        "returned: the calls share something (a flag kept at module level?). Each call "
        "keeps its own."
    )
    second = Progress(values=["b1", "b2"], result="B")
    one = asyncio.ensure_future(
        run_progress(first, watch, "The first of two run_with_progress() calls at once")
    )
    try:
        await until(lambda: first.paused.is_set() or one.done(), 3 * GATE)
        two = await run_progress(second, watch, "The second of two run_with_progress() calls")
    finally:
        first.release()
    one_result = await one
    checks.equal(
        [one_result[0], two[0]],
        ["A", "B"],
        "The results of two run_with_progress() calls at once (the second began and ended "
        "while the first ran)",
    )


@pytest.mark.task(3)
@pytest.mark.looptime(True)
@pytest.mark.loop_limit(30 * DAY)
@pytest.mark.wall_limit(5)
async def test_run_with_progress_gives_day_long_work_all_the_time_it_takes(watch):
    # Virtual time: once the work has begun, a day of loop time passes in no time while it
    # waits in its thread. Only then does the test let it go on; the rest runs in real time.
    loop = asyncio.get_running_loop()
    summary = {"days": 1}
    progress = Progress(values=["morning", "evening"], result=summary)
    work_started, day_over = threading.Event(), threading.Event()

    def day_work(report: Callable[[object], None]) -> object:
        me = threading.get_ident()
        progress.work_threads.append(me)
        if me == progress.loop_thread:
            progress.called_from = line_of(sys._getframe(1))
            raise OnTheLoop("work() was called on the event loop's thread")
        work_started.set()
        try:
            report(progress.values[0])
            day_over.wait(4 * GATE)  # the test opens it once a day of loop time has passed
            report(progress.values[1])
            return summary
        finally:
            progress.work_finished.set()
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(progress.work_ended.set)

    progress.work = day_work  # type: ignore[method-assign]
    what = "run_with_progress() of work that takes a day, reporting 'morning' and 'evening'"
    with blind_to_executors(loop):
        try:
            async with in_real_time(loop):  # until the work has begun in its thread
                start = loop.time()
                task = asyncio.ensure_future(calling_run_with_progress(progress))
                await until(lambda: work_started.is_set() or task.done())
            await asyncio.wait([task], timeout=DAY)
            ended_after = loop.time() - start
            running = bool(progress.work_threads) and not progress.work_finished.is_set()
        finally:
            day_over.set()
    if task.done():
        check_deadlock(what)
        outcome = (
            "ended cancelled"
            if task.cancelled()
            else task.exception() or f"returned {task.result()!r}"
        )
        if isinstance(outcome, NotImplementedError):
            raise outcome
        if isinstance(outcome, TimeoutError) and not progress.work_threads:
            pytest.fail(gave_up_message(what, "work", outcome, ended_after, False), pytrace=False)
        await until(progress.work_finished.is_set)
        check_work_calls(progress, what)
        watch.check(what, REPORT_SAFELY)
        if not running and isinstance(outcome, BaseException):  # the work itself had failed
            explain_progress_error(outcome, what)
            raise outcome
        pytest.fail(gave_up_message(what, "work", outcome, ended_after), pytrace=False)
    async with in_real_time(loop):
        result, _ = await run_progress(progress, watch, what, task)
    if result is not summary:
        pytest.fail(
            f"{what} returned {result!r}; expected the very object work() returned, {summary!r}.",
            pytrace=False,
        )


PROGRESS_VALUES = st.lists(st.sampled_from([0, 1, None, "", "x", False, "x"]), max_size=8)


@pytest.mark.task(3)
@scenarios.given(
    values=PROGRESS_VALUES,
    cuts=st.lists(st.integers(1, 4), max_size=8),
    outcome=st.sampled_from(["result", "None", "raises"]),
    max_examples=15,
)
async def test_run_with_progress_in_any_scenario(values, cuts, outcome):
    bursts, left = [], len(values)
    for cut in cuts:
        if left <= 0:
            break
        bursts.append(min(cut, left))
        left -= bursts[-1]
    if left > 0:
        bursts.append(left)
    error = ValueError("broke") if outcome == "raises" else None
    result = None if outcome == "None" else {"n": len(values)}
    scene = f"with work reporting {values!r} in bursts of {bursts!r}, then " + (
        "raising ValueError" if error else f"returning {result!r}"
    )
    scenarios.describe(scene)
    progress = Progress(values=values, bursts=bursts, result=result, error=error)
    watch = LoopWatch(asyncio.get_running_loop())  # (a fixture would serve every scenario)
    try:
        got, raised = await run_progress(progress, watch, f"run_with_progress() {scene}")
    finally:
        watch.undo()
    if error is not None and raised is not error:
        pytest.fail(f"run_with_progress() {scene}: it returned {got!r}.", pytrace=False)
    if error is None and got is not result:
        pytest.fail(
            f"run_with_progress() {scene}: it returned {got!r}; expected {result!r} itself.",
            pytrace=False,
        )


# Task 4: fetch_all_from_thread


class Site:
    """fetch() for fetch_all_from_thread(): a coroutine that must run on the test's loop, in
    its thread. Each fetch first waits until `at_once` fetches have started (proof that they
    run together), then gives its page or raises its exception; a URL in `hold` waits on
    until the test lets it go (or until it is cancelled)."""

    def __init__(self, pages: dict[str, object], at_once: int, hold=()) -> None:
        self.urls: list[str] = []  # the urls of the call, as the test passed them
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.pages = pages
        self.at_once = at_once
        self.hold = set(hold)
        self.calls: list[str] = []
        self.ended: dict[int, str] = {}  # call index: "returned", "raised" or "cancelled"
        self.running: dict[int, asyncio.Task] = {}
        self.misplaced: list[tuple[str, bool]] = []  # (url, ran in another thread)
        self.all_in = asyncio.Event()
        self.release = asyncio.Event()
        self.gate = GATE
        self.apart = False  # a fetch waited in vain for the others to start
        self.waited = GATE  # how long the test gave the call (fetch_all_failing)
        self.left: list[str] = []  # the fetches still running when it ended
        self.how_ended: dict[str, str] = {}  # url: "returned", "raised", "cancelled", "running"
        use_the_pool(self.loop)

    async def fetch(self, url: str) -> object:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not self.loop or threading.get_ident() != self.loop_thread:
            self.misplaced.append((url, threading.get_ident() != self.loop_thread))
            raise WrongLoop(f"fetch({url!r}) ran outside the test's event loop")
        if url not in self.pages:
            pytest.fail(
                f"fetch({url!r}) was called, but {url!r} is not one of the URLs asked for "
                f"({sorted(self.pages)!r}): pass each URL to fetch exactly as given.",
                pytrace=False,
            )
        index = len(self.calls)
        self.calls.append(url)
        self.running[index] = asyncio.current_task()  # type: ignore[assignment]
        try:
            if len(self.calls) >= self.at_once:
                self.all_in.set()
            if not self.apart:
                self.gate = gate()
                try:
                    async with asyncio.timeout(self.gate):
                        await self.all_in.wait()
                except TimeoutError:
                    self.apart = _current.expired = True
                    raise NotAtOnce(url) from None
            if url in self.hold:
                await self.release.wait()
            outcome = self.pages[url]
            if isinstance(outcome, BaseException):
                self.ended[index] = "raised"
                raise outcome
            self.ended[index] = "returned"
            return outcome
        except asyncio.CancelledError:
            self.ended[index] = "cancelled"
            raise
        finally:
            del self.running[index]

    def still_running(self) -> list[str]:
        return [self.calls[i] for i in sorted(self.running)]

    async def clean_up(self) -> None:
        self.release.set()
        await stop_tasks(list(self.running.values()))


async def from_a_thread(function: Callable, *args: object, seconds: float) -> tuple[str, object]:
    """Call `function(*args)` in a thread of its own, as plain code there would, and wait (on
    the loop) until it returns ("returned", value) or raises ("raised", exception), or
    `seconds` pass ("stuck", None). The thread is a daemon: one that never ends stops nothing."""
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future = loop.create_future()

    def settle(result: tuple[str, object]) -> None:
        if not outcome.done():
            outcome.set_result(result)

    def body() -> None:
        try:
            result: tuple[str, object] = ("returned", function(*args))
        except BaseException as exc:
            result = ("raised", exc)
        with contextlib.suppress(RuntimeError):  # the loop may be closed by now
            loop.call_soon_threadsafe(settle, result)

    assert _current.runs is not None
    _current.runs.put(body)  # a waiting "plain code" thread calls it
    done, _ = await asyncio.wait([outcome], timeout=seconds)
    return outcome.result() if done else ("stuck", None)


LOOP_SAFELY = (
    "Submit each coroutine with `asyncio.run_coroutine_threadsafe(fetch(url), loop)`: it hands "
    "the coroutine to the loop safely and gives back a concurrent.futures.Future to wait on."
)


def explain_fetch_failure(site: Site, exc: BaseException, what: str) -> None:
    """Fail with the lesson behind an exception fetch_all_from_thread() raised, if one fits."""
    text = str(exc)
    if site.misplaced or isinstance(exc, WrongLoop):
        url, elsewhere = site.misplaced[0] if site.misplaced else ("?", True)
        where = (
            "in the calling thread, on an event loop of its own"
            if elsewhere
            else "on another event loop"
        )
        pytest.fail(
            f"{what}: fetch({url!r}) ran {where}, not on `loop`. asyncio.run() (or a new "
            "loop's run_until_complete) in the calling thread starts a second loop, which "
            "cannot use anything that belongs to the first (its connections, locks, tasks). "
            f"{LOOP_SAFELY}",
            pytrace=False,
        )
    if isinstance(exc, NotAtOnce) and Counter(site.calls) != Counter(site.urls):
        started, wanted = Counter(site.calls), Counter(site.urls)
        if set(started) == set(wanted) and all(started[u] <= wanted[u] for u in started):
            twice = next(u for u in wanted if started[u] < wanted[u])
            pytest.fail(
                f"{what}: {twice!r} is listed {count(wanted[twice], 'time')} in urls, but only "
                f"{count(started[twice], 'fetch', 'fetches')} of it started: one fetch per "
                "entry of urls, even for a URL listed twice (no set or dict of URLs).",
                pytrace=False,
            )
    if isinstance(exc, NotAtOnce):
        pytest.fail(
            f"{what}: the fetch of {exc.args[0]!r} waited {site.gate:g} s for the others to "
            f"start, and only {count(len(site.calls), 'fetch', 'fetches')} of "
            f"{site.at_once} had started: the fetches ran one after another. Submit every "
            "fetch first (run_coroutine_threadsafe returns at once), then wait for the "
            "futures.",
            pytrace=False,
        )
    if isinstance(exc, RuntimeError) and "already running" in text:
        pytest.fail(
            f"{what} raised RuntimeError: {text}. loop.run_until_complete() cannot be used on "
            f"a loop that is already running in another thread. {LOOP_SAFELY}",
            pytrace=False,
        )
    if isinstance(exc, RuntimeError) and "no current event loop" in text.lower():
        pytest.fail(
            f"{what} raised RuntimeError: {said(exc)}. This thread has "
            "no event "
            "loop, so asyncio functions that need one (asyncio.gather, ensure_future, "
            "get_event_loop) cannot be called here. To gather on the loop, submit one "
            "coroutine that does the gathering: `async def all_pages(): return await "
            "asyncio.gather(...)`.",
            pytrace=False,
        )
    if non_threadsafe(exc):
        pytest.fail(debug_refused(what, exc, LOOP_SAFELY), pytrace=False)
    if isinstance(exc, asyncio.InvalidStateError):
        pytest.fail(
            f"{what} raised InvalidStateError: {text}. An asyncio future's result() does not "
            "wait, and must not be read from another thread. The concurrent.futures.Future "
            "from run_coroutine_threadsafe has a result() that blocks until it is ready.",
            pytrace=False,
        )


def check_unchanged(site: Site, urls: list[str], what: str) -> None:
    if urls != site.urls:
        pytest.fail(
            f"{what} changed the caller's urls list: it was {site.urls!r} and is {urls!r} "
            "afterwards. Leave it as it is (read it; no pop(), remove() or sort()).",
            pytrace=False,
        )


async def fetch_all(site: Site, urls: list[str], what: str, watch: LoopWatch) -> tuple[str, object]:
    """Call the learner's fetch_all_from_thread() from a thread: (how, what) it ended with."""
    function = threads.fetch_all_from_thread
    site.urls = list(urls)
    try:
        how, outcome = await from_a_thread(function, site.loop, site.fetch, urls, seconds=3 * GATE)
        await turns()  # cancellations asked for from the thread take effect
        if how == "raised" and isinstance(outcome, NotImplementedError):
            raise outcome  # type: ignore[misc]
        watch.check(what, LOOP_SAFELY)
        _current.check_no_crash(what)
        check_unchanged(site, urls, what)
        if how == "raised":
            explain_fetch_failure(site, outcome, what)  # type: ignore[arg-type]
        elif site.misplaced:
            explain_fetch_failure(site, WrongLoop(), what)
        if how == "stuck":
            running = site.still_running()
            pytest.fail(
                f"{what} had not returned {3 * GATE:g} s later"
                + (f", while fetches of {running!r} still waited" if running else "")
                + (". Its fetches never ran" if not site.calls else "")
                + ". Block on the concurrent.futures.Future that run_coroutine_threadsafe "
                "gives back (its .result(), or concurrent.futures.wait).",
                pytrace=False,
            )
        return how, outcome
    finally:
        await site.clean_up()


def check_pages(site: Site, urls: list[str], how: str, outcome: object, what: str) -> None:
    if how == "raised":
        raise outcome  # type: ignore[misc]
    checks.not_coroutine(outcome, f"{what}'s result")
    if type(outcome) is not list:
        pytest.fail(
            f"{what} returned a {type(outcome).__name__} ({outcome!r}); the contract promises "
            "a new list of pages.",
            pytrace=False,
        )
    if outcome is urls:
        pytest.fail(
            f"{what} returned the very list `urls` it was given; return a new list.", pytrace=False
        )
    urls = site.urls
    if Counter(site.calls) != Counter(urls):
        cleaned = [
            u
            for u in site.calls
            if site.calls.count(u) > urls.count(u)
            and any(u != a and u in (a.strip(), a.lower(), a.strip().lower()) for a in urls)
        ]
        checks.equal(
            dict(Counter(site.calls)),
            dict(Counter(urls)),
            f"{what}: times each URL was fetched",
            f"{cleaned[0]!r} is a cleaned-up form of a URL asked for: pass each URL to fetch "
            "exactly as given (no strip or lower)."
            if cleaned
            else "One fetch per entry of urls: a URL listed twice is fetched twice.",
        )
    expected = [site.pages[url] for url in urls]
    checks.equal(
        outcome,
        expected,
        f"{what}: the pages",
        lambda got: (
            "The same pages in another order: keep the order of urls, not the order the "
            "fetches finished."
            if checks.same_items(got, expected)
            else "The empty pages ('') are missing, and only they: an empty page is a page. "
            "Keep every page, whatever it is (no `if page`, no filter)."
            if isinstance(got, list) and got == [p for p in expected if p]
            else "It holds more pages than there are URLs: something outlives a call (a list "
            "kept at module level?). Each call returns a new list of its own pages."
            if isinstance(got, list) and len(got) > len(expected)
            else ""
        ),
    )


@pytest.mark.task(4)
async def test_fetch_all_from_thread_returns_the_pages_in_the_order_of_urls(watch):
    pages = {"b": "page B", "a": "page A", "c": "page C"}
    site = Site(pages, at_once=3)
    urls = ["c", "a", "b"]
    what = "fetch_all_from_thread(loop, fetch, ['c', 'a', 'b'])"
    how, outcome = await fetch_all(site, urls, what, watch)
    check_pages(site, urls, how, outcome, what)


@pytest.mark.task(4)
async def test_fetch_all_from_thread_runs_each_fetch_on_the_loop(watch):
    site = Site({"x": "X"}, at_once=1)
    what = "fetch_all_from_thread(loop, fetch, ['x'])"
    how, outcome = await fetch_all(site, ["x"], what, watch)
    check_pages(site, ["x"], how, outcome, what)


@pytest.mark.task(4)
async def test_fetch_all_from_thread_runs_every_fetch_at_once(watch):
    urls = [f"u{n}" for n in range(6)]
    site = Site({url: url.upper() for url in urls}, at_once=6)
    what = f"fetch_all_from_thread(loop, fetch, {urls!r})"
    how, outcome = await fetch_all(site, urls, what, watch)
    check_pages(site, urls, how, outcome, what)


@pytest.mark.task(4)
async def test_fetch_all_from_thread_fetches_a_repeated_url_each_time_and_keeps_empty_pages(watch):
    site = Site({"a": "A", "": "root", "blank": ""}, at_once=5)
    urls = ["a", "", "a", "blank", "blank"]
    what = f"fetch_all_from_thread(loop, fetch, {urls!r}), blank's page being ''"
    how, outcome = await fetch_all(site, urls, what, watch)
    check_pages(site, urls, how, outcome, what)


@pytest.mark.task(4)
async def test_fetch_all_from_thread_of_no_urls_is_an_empty_list(watch):
    site = Site({}, at_once=0)
    what = "fetch_all_from_thread(loop, fetch, [])"
    how, outcome = await fetch_all(site, [], what, watch)
    check_pages(site, [], how, outcome, what)


@pytest.mark.task(4)
async def test_fetch_all_from_thread_leaves_urls_unchanged_and_returns_a_new_list(watch):
    site = Site({"a": "A", "b": "B"}, at_once=3)
    urls = ["a", "b", "a"]
    what = "fetch_all_from_thread(loop, fetch, ['a', 'b', 'a'])"
    how, outcome = await fetch_all(site, urls, what, watch)
    checks.equal(
        urls,
        ["a", "b", "a"],
        "The caller's urls after fetch_all_from_thread()",
        "It changed the list it was given (pop, remove, sort): leave the caller's list as it was.",
    )
    check_pages(site, urls, how, outcome, what)


@pytest.mark.task(4)
async def test_fetch_all_from_thread_passes_each_url_exactly_as_given(watch):
    pages = {"a": "lower", "A": "upper", " a ": "spaced", "Ärger/ß?q=1,2": "ü"}
    site = Site(pages, at_once=4)
    urls = list(pages)
    what = f"fetch_all_from_thread(loop, fetch, {urls!r})"
    how, outcome = await fetch_all(site, urls, what, watch)
    check_pages(site, urls, how, outcome, what)


@pytest.mark.task(4)
async def test_a_failed_fetch_is_raised_at_once(watch):
    failure = ConnectionError("refused")
    site = Site({"slow": "S", "bad": failure, "slower": "T"}, at_once=3, hold={"slow", "slower"})
    urls = ["slow", "bad", "slower"]
    what = "fetch_all_from_thread() of ['slow', 'bad', 'slower'], where 'bad' fails at once"
    how, outcome = await fetch_all_failing(site, urls, what, watch)
    check_raised(failure, how, outcome, what, site)


@pytest.mark.task(4)
async def test_a_failed_fetch_cancels_the_fetches_still_running(watch):
    failure = PermissionError("forbidden")
    site = Site({"bad": failure, "slow": "S", "slower": "T"}, at_once=3, hold={"slow", "slower"})
    urls = ["bad", "slow", "slower"]
    what = "fetch_all_from_thread() of ['bad', 'slow', 'slower'], where 'bad' fails at once"
    how, outcome = await fetch_all_failing(site, urls, what, watch)
    check_raised(failure, how, outcome, what, site)
    left = site.left
    if left:
        pytest.fail(
            f"{what}: it raised the failure, but left the fetches of {left!r} running on the "
            "loop. Nobody will ever read their results: cancel the futures still pending "
            "(future.cancel() on a run_coroutine_threadsafe future cancels its coroutine).",
            pytrace=False,
        )
    checks.equal(
        site.how_ended,
        {"bad": "raised", "slow": "cancelled", "slower": "cancelled"},
        f"{what}: how each fetch ended",
    )


async def fetch_all_failing(site: Site, urls, what, watch) -> tuple[str, object]:
    """Like fetch_all(), but a call still blocked after a gate() is the test's to report, and
    what the fetches were doing is noted (site.left, site.how_ended) before they are cleaned
    up."""
    function = threads.fetch_all_from_thread
    site.urls = list(urls)
    try:
        site.waited = gate()
        how, outcome = await from_a_thread(function, site.loop, site.fetch, urls, seconds=gate())
        await turns()  # cancellations asked for from the thread take effect
        if how == "raised" and isinstance(outcome, NotImplementedError):
            raise outcome  # type: ignore[misc]
        watch.check(what, LOOP_SAFELY)
        check_unchanged(site, urls, what)
        if how == "raised" and not isinstance(outcome, ConnectionError | PermissionError):
            explain_fetch_failure(site, outcome, what)  # type: ignore[arg-type]
        return how, outcome
    finally:
        site.left = site.still_running()
        site.how_ended = {
            site.calls[i]: site.ended.get(i, "running") for i in range(len(site.calls))
        }
        await site.clean_up()


def check_raised(failure: BaseException, how: str, outcome: object, what: str, site: Site) -> None:
    if how == "stuck":
        started = site.calls
        if "bad" not in started or site.how_ended.get("bad") != "raised":
            state = (
                "had not even started"
                if "bad" not in started
                else "was still waiting for the others to start"
            )
            pytest.fail(
                f"{what}: {site.waited:g} s after it was called it had still not raised, and "
                f"the fetch of 'bad' {state}: only {started!r} had started. Likely the "
                "fetches ran one after another, each waited for before the next was "
                "submitted. Submit every fetch first (run_coroutine_threadsafe returns at "
                "once), then wait for the futures.",
                pytrace=False,
            )
        pytest.fail(
            f"{what}: {site.waited:g} s after it was called it had still not raised, though "
            f"the fetch of 'bad' had failed at once, while {site.left!r} went on. Likely it "
            "waited for the fetches still running: waiting on each .result() in turn waits "
            "for the slow ones too, and a result() inside try/except that carries on waits "
            "for the next. Raise a failed fetch's exception at once: "
            "concurrent.futures.wait(futures, return_when=FIRST_EXCEPTION) returns as soon "
            "as one fails.",
            pytrace=False,
        )
    if how == "returned":
        pytest.fail(
            f"{what} returned {outcome!r}; it must raise the failed fetch's exception "
            f"({failure!r}).",
            pytrace=False,
        )
    if outcome is not failure:
        raise outcome  # type: ignore[misc]


@pytest.mark.task(4)
async def test_two_fetch_alls_from_two_threads_keep_their_own_pages(watch):
    first = Site({"a": "A1", "b": "B1"}, at_once=2)
    second = Site({"c": "C2"}, at_once=1)
    first.urls, second.urls = ["a", "b"], ["c"]
    function = threads.fetch_all_from_thread
    loop = asyncio.get_running_loop()
    try:
        one, two = await asyncio.gather(
            from_a_thread(function, loop, first.fetch, ["a", "b"], seconds=3 * GATE),
            from_a_thread(function, loop, second.fetch, ["c"], seconds=3 * GATE),
        )
    finally:
        await first.clean_up()
        await second.clean_up()
    watch.check("Two fetch_all_from_thread() calls at once", LOOP_SAFELY)
    for (how, outcome), site, urls, name in (
        (one, first, ["a", "b"], "The first"),
        (two, second, ["c"], "The second"),
    ):
        what = f"{name} of two fetch_all_from_thread() calls at once, from two threads"
        if how == "raised":
            explain_fetch_failure(site, outcome, what)  # type: ignore[arg-type]
        if how == "stuck":
            pytest.fail(f"{what} had not returned {3 * GATE:g} s later.", pytrace=False)
        check_pages(site, urls, how, outcome, what)
    again = Site({"d": "D3"}, at_once=1)
    what = "A third fetch_all_from_thread() call, of ['d']"
    how, outcome = await fetch_all(again, ["d"], what, watch)
    check_pages(again, ["d"], how, outcome, what)


@pytest.mark.task(4)
async def test_fetch_all_from_thread_waits_for_a_fetch_that_takes_a_day(watch, monkeypatch):
    # The fetch of 'day' takes a day on the test's ThreadClock: a day that passes in no time,
    # but only once the thread that called fetch_all_from_thread() waits for it (and the
    # fetch of 'quick' has ended); a wait with a timeout shorter than a day runs out first.
    loop = asyncio.get_running_loop()
    clock_over = asyncio.Event()
    ended: list[str] = []

    clock = ThreadClock(busy=lambda: "quick" not in ended)
    clock.on_over.append(lambda: loop.call_soon_threadsafe(clock_over.set))
    clock.install(monkeypatch)

    async def fetch(url: str) -> str:
        if url == "day":
            clock.begin()
            await clock_over.wait()
        ended.append(url)
        return url.upper()

    def fetch_all_from_thread(*args: object) -> object:
        clock.watch()
        return threads.fetch_all_from_thread(*args)

    urls = ["quick", "day"]
    what = "fetch_all_from_thread(loop, fetch, ['quick', 'day']), where 'day' takes a day"
    try:
        how, outcome = await from_a_thread(
            fetch_all_from_thread, loop, fetch, urls, seconds=3 * GATE
        )
    finally:
        clock.stop()
        await turns()
    if how == "raised" and isinstance(outcome, NotImplementedError):
        raise outcome
    watch.check(what, LOOP_SAFELY)
    gave_up = clock.gave_up()
    if gave_up and (how != "returned" or outcome != ["QUICK", "DAY"]):
        ended_with = (
            f"raised {type(outcome).__name__}" + (f": {said(outcome)}" if str(outcome) else "")  # type: ignore[arg-type]
            if how == "raised"
            else f"returned {outcome!r}"
            if how == "returned"
            else "had still not returned"
        )
        pytest.fail(
            f"{what} (a day on the test's clock, which lets it pass in no time): it waited "
            f"with {gave_up}. That ran out while the fetch of 'day' was still running, and "
            f"then it {ended_with}. The fetches may take as long as they take: wait for them "
            "with no timeout of your own (concurrent.futures.wait(futures, "
            "return_when=FIRST_EXCEPTION) with no timeout=, and no result(timeout=...)).",
            pytrace=False,
        )
    if how == "stuck":
        pytest.fail(f"{what} had not returned {3 * GATE:g} s later.", pytrace=False)
    if how == "raised":
        raise outcome  # type: ignore[misc]
    checks.equal(outcome, ["QUICK", "DAY"], f"{what}: the pages")


FETCHES = st.lists(
    st.tuples(st.sampled_from(["a", "b", "", "A"]), st.sampled_from(["page", "", "fails"])),
    max_size=6,
)


@pytest.mark.task(4)
@scenarios.given(fetches=FETCHES, max_examples=15)
async def test_fetch_all_from_thread_in_any_scenario(fetches):
    outcomes = {}
    for url, outcome in fetches:  # one outcome per URL: the first one given
        outcomes.setdefault(url, outcome)
    urls = [url for url, _ in fetches]
    pages = {
        url: ConnectionError(f"{url} failed") if o == "fails" else ("" if o == "" else f"<{url}>")
        for url, o in outcomes.items()
    }
    scene = (
        "with "
        + (
            ", ".join(
                f"{url!r} {'failing' if isinstance(p, BaseException) else f'giving {p!r}'}"
                for url, p in pages.items()
            )
            or "no URLs"
        )
        + f": urls {urls!r}"
    )
    scenarios.describe(scene)
    site = Site(pages, at_once=1)  # (the fetches' concurrency is the other tests' business)
    watch = LoopWatch(asyncio.get_running_loop())  # (a fixture would serve every scenario)
    what = f"fetch_all_from_thread() {scene}"
    try:
        how, outcome = await fetch_all(site, list(urls), what, watch)
    finally:
        watch.undo()
    failures = [pages[u] for u in urls if isinstance(pages[u], BaseException)]
    if failures:
        if how != "raised" or not any(outcome is f for f in failures):
            if how == "raised":
                raise outcome  # type: ignore[misc]
            pytest.fail(
                f"{what}: it returned {outcome!r} instead of raising a failure.", pytrace=False
            )
        return
    check_pages(site, urls, how, outcome, what)
