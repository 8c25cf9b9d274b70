"""Exercise 16 tests. Run them with `pytest exercises/16`.

The tests hand your code blocking functions: `get`, a fake of a requests-style download that
blocks the thread it runs in, and `work`, a CPU-bound hash. They check where each call ran
(which thread, which process) and what was in flight together, with thread identities,
process ids and call logs, never with a stopwatch.

Threads and processes take real time, so these tests run on the real clock, but every wait is
tiny. A heartbeat task ticks on the event loop all through each test, and a blocked `get`
answers only once the heartbeat has ticked while it was blocked. If your code blocks the loop,
the heartbeat stops, and `get` gives up after a second and a half and says so.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import concurrent.futures.process
import concurrent.futures.thread
import contextlib
import functools
import hashlib
import inspect
import logging
import multiprocessing
import multiprocessing.resource_tracker
import os
import pickle
import sys
import threading
import time
import traceback
import types
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import fail

executors = exercise_module(__file__)

pytestmark = [
    pytest.mark.looptime(False),  # threads and processes run in real time
    pytest.mark.wall_limit(4),
    # The kit fails a test whose loop is held 0.5 s of real time without an await. Here the
    # code under test starts threads and forks processes, and each start waits, on the loop's
    # thread, until the OS has run the new thread (or forked the process): on a loaded machine
    # that alone can take most of a second, and a correct `asyncio.to_thread` answer was
    # failed for it. So these tests leave that judgement to their own instruments, which see
    # the mistakes that matter here by identity, not by a stopwatch: `get` and `work` refuse
    # to run on the loop's thread (or in the test's process), and a blocked `get` only answers
    # once the heartbeat has ticked while it waited, so a loop that waits for a thread without
    # awaiting is caught after BLOCKED s.
    pytest.mark.allow_blocking,
    # The pool's worker processes are forks of the test's process. Python 3.12+ warns when a
    # process forks while other threads run (a worker thread of the loop, say); the forks
    # here only run `work`, and the warning would fail the test for the kit's choice of fork.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

TICK = 0.002  # real seconds between two heartbeats
BEATS = 2  # heartbeats a blocked call must see before it may answer
STALL = 1.0  # real seconds with no new call before the test stops waiting for more
BLOCKED = 1.5  # real seconds a blocked call waits for the heartbeat before it gives up
LIMIT = 2.5  # real seconds the test gives your function to return
WIDE = 64  # threads in the loop's default executor here, and in a ThreadPoolExecutor() of yours
# A test waits out STALL or BLOCKED once at most: after that it has its verdict, and later
# calls (the smaller scenarios hypothesis tries next) are given no more than a moment.
PATIENCE = {"spent": False}


def stall() -> float:
    return 0.05 if PATIENCE["spent"] else STALL


def blocked() -> float:
    return 0.2 if PATIENCE["spent"] else BLOCKED


ThreadPool = concurrent.futures.ThreadPoolExecutor
ProcessPool = concurrent.futures.ProcessPoolExecutor
# Their own methods, before the tests patch them (see watching_executors).
REAL = {
    (cls, name): getattr(cls, name)
    for cls in (ThreadPool, ProcessPool)
    for name in ("__init__", "submit", "shutdown")
}


@dataclass
class History:
    """What earlier calls in this test did, so that a result kept from one of them can be
    named as such."""

    test: str | None = None  # the test it belongs to
    sites: list[Site] = field(default_factory=list)  # every fake site, in the order made
    hashed: set[str] = field(default_factory=set)  # keys of the blobs work() has hashed
    made: list[object] = field(default_factory=list)  # executors made while the test watched

    def now(self) -> History:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
        if test != self.test:  # a new test: what another test did is no earlier call
            self.test, self.sites, self.hashed, self.made = test, [], set(), []
        return self

    def urls_before(self, site: Site) -> set[str]:
        sites = self.now().sites
        earlier = sites[: next((i for i, s in enumerate(sites) if s is site), len(sites))]
        return {call.url for s in earlier for call in s.calls}


HISTORY = History()


_STUCK: list[str] = []  # the message of a scenario that failed after a wait


def sticky(test):
    """Once a scenario has failed after waiting out STALL or BLOCKED, every later scenario
    (hypothesis tries smaller ones) fails at once with that same message: it names the
    scenario that failed, and no later wait, cut short, can put a verdict of its own in its
    place."""

    @functools.wraps(test)
    async def scenario(*args, **kwargs):
        if _STUCK:
            fail(_STUCK[0])
        try:
            return await test(*args, **kwargs)
        except pytest.fail.Exception as exc:
            if PATIENCE["spent"]:
                _STUCK.append(str(exc.msg))
            raise

    return scenario


def learner_line(exc: BaseException) -> str:
    """` (executors.py, line 12: `return get(url, timeout=timeout)`)` for the innermost frame
    of the learner's file in the exception's traceback, or ""."""
    mine = str(executors.path.resolve())
    found = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == mine]
    if not found:
        return ""
    frame = found[-1]
    code = f": `{frame.line}`" if frame.line else ""
    return f" ({Path(frame.filename).name}, line {frame.lineno}{code})"


# The heartbeat: a task on the event loop that ticks while the test runs. The fakes only
# answer after it has ticked while they were blocked, which proves the loop was free.


class Heartbeat:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.ticks = 0
        self.duties: list[Callable[[], None]] = []  # run on every tick
        self.endings: list[Callable[[], None]] = []  # run when the test ends
        self.thread_errors: list[BaseException] = []  # raised in threads, or in callbacks
        self.error_threads: list[str] = []  # the name of the thread each was raised in
        self.foreign: list[tuple[str, str]] = []  # (callback, thread) given to call_soon
        self.trouble = asyncio.Event()  # set once a thread error shows up
        self.sites: list[Site] = []
        self.calling = "your code"  # the function under test, for messages: "download()"

    def warm_threads(self, count: int) -> None:
        """Give the loop a default executor of WIDE threads, `count` of them started already.

        asyncio's own default executor has min(32, CPUs + 4) threads: a cap that is not
        yours, and that the tests lift so that only a cap of your own can keep downloads from
        running at once. It also starts its threads one by one as jobs come, and starting a
        thread holds the loop until the OS has run it: started here, before your code runs,
        they cost your code nothing."""
        pool = getattr(self.loop, "_default_executor", None)
        if getattr(pool, "aiokata_warm", None) is None:
            pool = ThreadPool.__new__(ThreadPool)  # not one of yours: made the real way
            REAL[(ThreadPool, "__init__")](pool, max_workers=WIDE, thread_name_prefix="asyncio")
            pool.aiokata_warm = 0  # type: ignore[attr-defined]
            self.loop.set_default_executor(pool)
        if pool.aiokata_warm >= count:  # type: ignore[union-attr]
            return
        together = threading.Barrier(count)  # so that each job holds a thread of its own
        submit = REAL[(ThreadPool, "submit")]
        concurrent.futures.wait([submit(pool, together.wait, 2) for _ in range(count)], 3)
        pool.aiokata_warm = count  # type: ignore[union-attr]

    async def settle(self) -> None:
        """Wait (a moment at most) until every get() call has answered and every thread of
        your own that made one has ended, so that what such a thread does last (a future's
        set_result(), say) happens while the test still watches."""
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            calls = [call for site in self.sites for call in site.calls]
            workers = getattr(concurrent.futures.thread, "_threads_queues", {})
            own = [
                c.thread_object
                for c in calls
                if c.thread != self.loop_thread and c.thread_object not in workers
            ]
            if all(c.answered for c in calls) and not any(t.is_alive() for t in own):
                return
            await asyncio.sleep(TICK)

    async def heartbeat_ticking(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            self.ticks += 1
            for duty in list(self.duties):
                duty()
            if self.thread_errors and not self.trouble.is_set():
                self.trouble.set()


class _CallbackErrors(logging.Handler):
    """Errors that concurrent.futures caught in a done-callback and only logged."""

    def __init__(self, beat: Heartbeat) -> None:
        super().__init__(logging.ERROR)
        self.beat = beat

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.beat.thread_errors.append(record.exc_info[1])


@contextlib.asynccontextmanager
async def heartbeat():
    """The heartbeat, for the length of the block. Meanwhile errors raised in threads are
    collected, and so is every loop.call_soon made from another thread (an asyncio future's
    set_result makes one): such a call is not thread-safe, and works only by luck, so it is
    noted and handed on with call_soon_threadsafe, the safe way, instead."""
    beat = Heartbeat()
    loop = beat.loop
    call_soon = loop.call_soon
    HISTORY.now()

    def call_soon_checked(callback, *args, context=None):
        if threading.get_ident() != beat.loop_thread:
            name = getattr(callback, "__qualname__", None) or repr(callback)
            beat.foreign.append((name, threading.current_thread().name))
            return loop.call_soon_threadsafe(callback, *args, context=context)
        return call_soon(callback, *args, context=context)

    def thread_error(args) -> None:
        beat.thread_errors.append(args.exc_value)
        beat.error_threads.append(args.thread.name if args.thread else "?")

    loop.call_soon = call_soon_checked  # type: ignore[method-assign]
    hook = threading.excepthook
    threading.excepthook = thread_error
    handler = _CallbackErrors(beat)
    futures_log = logging.getLogger("concurrent.futures")
    futures_log.addHandler(handler)
    ticking = asyncio.ensure_future(beat.heartbeat_ticking())
    failed = False
    try:
        yield beat
    except BaseException:
        failed = True
        raise
    finally:
        ticking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticking
        for ending in beat.endings:
            ending()
        await beat.settle()
        futures_log.removeHandler(handler)
        threading.excepthook = hook
        del loop.call_soon  # the loop's own method again
        if beat.thread_errors and not failed:
            fail(_late_thread_lesson(beat))


class RanOnTheLoop(RuntimeError):
    """Raised by a fake called on the event loop's own thread."""


class LoopStoodStill(RuntimeError):
    """Raised by a fake that waited BLOCKED s for the heartbeat to let it answer."""

    def __init__(self, seconds: float, ticks: int) -> None:
        super().__init__(f"get() waited {seconds:g} s for the event loop")
        self.seconds, self.ticks = seconds, ticks


# `get`: a requests-style download that blocks its thread


@dataclass
class Call:
    url: str
    timeout: object
    thread: int
    thread_name: str
    tick: int  # the heartbeat's count when the call began
    thread_object: threading.Thread
    on_loop: bool = False
    answered: bool = False  # it returned (or raised) to its caller
    go: threading.Event = field(default_factory=threading.Event)


class Site:
    """A fake web site. `site.get(url, *, timeout)` blocks the thread that calls it until the
    heartbeat lets it answer, then returns the URL's page (or raises its exception).

    A call answers once the heartbeat has ticked BEATS times since the call began, and once
    `together` calls are in flight at the same time. With `reverse` (the URLs in the order
    asked), the calls answer one at a time, the last URL first. With `hold`, nothing answers
    until `release()`. If fewer than `together` calls are in flight and no new one comes for
    STALL s, the site answers them anyway and notes it in `stalled`."""

    def __init__(
        self,
        beat: Heartbeat,
        pages: dict[str, bytes | BaseException],
        *,
        together: int = 1,
        reverse: list[str] | None = None,
        hold: bool = False,
        threads: int = 4,
    ) -> None:
        self.beat = beat
        self.pages = pages
        self.together = together
        self.reverse = reverse
        self.hold = hold
        self.lock = threading.Lock()
        self.calls: list[Call] = []
        self.answered: list[str] = []  # URLs in the order their calls answered
        self.stalled: tuple[int, int] | None = None  # (in flight, together) when it gave up
        self.gave_up = False  # a call waited BLOCKED s without a heartbeat
        self.gave_up_after = (0.0, 0)  # (seconds it waited, heartbeats meanwhile)
        self.met = False  # `together` calls have been in flight at once
        self.released = False  # the test has let every call answer, now and later
        self.last_call = time.monotonic()
        beat.duties.append(self.on_tick)
        beat.endings.append(self.release)
        beat.sites.append(self)
        HISTORY.now().sites.append(self)
        beat.warm_threads(max(threads, together))

        def get(url: str, *, timeout: float | None) -> bytes:
            return self._get(url, timeout)

        self.get = get

    def _get(self, url: str, timeout: object) -> bytes:
        ident, thread = threading.get_ident(), threading.current_thread()
        call = Call(url, timeout, ident, thread.name, self.beat.ticks, thread)
        with self.lock:
            self.calls.append(call)
            self.last_call = time.monotonic()
        if self.released:
            call.go.set()  # the test is over: answer at once
        if url not in self.pages:
            call.answered = True
            fail(
                f"get({url!r}) was called, but {url!r} is not one of the URLs asked for "
                f"({sorted(self.pages)!r}): pass each URL to get exactly as given."
            )
        if ident == self.beat.loop_thread:
            call.on_loop = call.answered = True
            raise RanOnTheLoop(f"get({url!r}) was called on the event loop's thread")
        waited = blocked()
        if not call.go.wait(waited):
            with self.lock:
                self.gave_up = PATIENCE["spent"] = True
                self.gave_up_after = (waited, self.beat.ticks - call.tick)
                for other in self.calls:
                    other.go.set()  # no other call waits as long
            call.answered = True
            raise LoopStoodStill(*self.gave_up_after)
        with self.lock:
            call.answered = True
            self.answered.append(url)
        outcome = self.pages[url]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def in_flight(self) -> list[Call]:
        return [c for c in self.calls if not c.answered and not c.on_loop]

    def on_tick(self) -> None:
        with self.lock:
            waiting = [c for c in self.in_flight() if not c.go.is_set()]
            if not waiting or self.hold:
                return
            if len(self.in_flight()) >= self.together:
                self.met = True
            if not self.met and self.stalled is None:
                if time.monotonic() - self.last_call < stall():
                    return
                self.stalled = (len(self.in_flight()), self.together)
                PATIENCE["spent"] = True
            if any(self.beat.ticks < c.tick + BEATS for c in waiting):
                return
            if self.reverse is not None and self.stalled is None:
                if any(c.go.is_set() for c in self.in_flight()):
                    return  # one at a time: the one let go has not answered yet
                last = max(waiting, key=lambda c: self.reverse.index(c.url))  # type: ignore[union-attr]
                last.go.set()
                return
            for call in waiting:
                call.go.set()

    def release(self) -> None:
        self.hold = False
        self.together = 0
        self.released = True
        for call in self.calls:
            call.go.set()

    def urls_called(self) -> list[str]:
        return [c.url for c in self.calls]


# `work`: the CPU-bound job for the process pool. Pickle sends a function (or an object) to
# the pool's processes by module and name, so the test's doubles live in a module of their own
# that the processes, forked from this one, already hold.

DOUBLES = types.ModuleType("aiokata_doubles_16_executors")
sys.modules[DOUBLES.__name__] = DOUBLES


def _double(cls):
    cls.__module__ = DOUBLES.__name__
    setattr(DOUBLES, cls.__qualname__, cls)
    return cls


def crunch(blob: bytes, rounds: int) -> str:
    """`rounds` rounds of SHA-256, the first 16 hex digits (short enough to read in a message)."""
    value = blob
    for _ in range(rounds):
        value = hashlib.sha256(value).digest()
    return value.hex()[:16]


def key_of(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


class WorkInTestProcess(RuntimeError):
    """Raised by `work` called in the test's own process (not in the pool's)."""

    def __init__(self, on_loop: bool) -> None:
        super().__init__("work() was called in the test's own process")
        self.on_loop = on_loop


@_double
class Worked(str):
    """The digest a job sends back from the pool's process, a str that also notes which blob
    (by `key`), how many rounds and which process. Your code is handed a plain str."""

    key: str
    rounds: int
    pid: int

    def __new__(cls, digest: str, key: str, rounds: int, pid: int) -> Worked:
        worked = super().__new__(cls, digest)
        worked.key, worked.rounds, worked.pid = key, rounds, pid
        return worked

    def __reduce__(self):
        return (Worked, (str(self), self.key, self.rounds, self.pid))

    @property
    def digest(self) -> str:
        return str.__str__(self)


@_double
class Refused(ValueError):
    """What `work` raises for the blob it is told to refuse (in the pool's process)."""


@_double
class Work:
    """`work(blob, *, rounds)`: hash `blob` `rounds` times; CPU-bound. With a `salt`, another
    work function: its digests differ. It raises Refused for the blob `refuse`."""

    def __init__(
        self, test_pid: int, loop_thread: int, salt: bytes = b"", refuse: bytes | None = None
    ) -> None:
        self.test_pid = test_pid
        self.loop_thread = loop_thread
        self.salt = salt
        self.refuse = refuse

    def __call__(self, blob: bytes, *, rounds: int) -> Worked:
        if os.getpid() == self.test_pid:
            raise WorkInTestProcess(on_loop=threading.get_ident() == self.loop_thread)
        if blob == self.refuse:
            raise Refused(f"work() cannot hash {blob!r}")
        return Worked(crunch(self.salt + blob, rounds), key_of(blob), rounds, os.getpid())

    def __repr__(self) -> str:
        return "work"


def new_work(beat: Heartbeat, salt: bytes = b"", refuse: bytes | None = None) -> Work:
    return Work(os.getpid(), beat.loop_thread, salt, refuse)


# Every executor the code makes or hands work to, and every job given to a process pool


class Held(concurrent.futures.Future):
    """The future `ProcessPoolExecutor.submit` hands back while the test watches: it gets the
    job's result only when the test lets it (see Executors)."""

    def __init__(self, watch: Executors) -> None:
        super().__init__()
        self.watch = watch
        self.real: concurrent.futures.Future | None = None

    def result(self, timeout=None):
        if not self.done() and threading.get_ident() == self.watch.beat.loop_thread:
            self.watch.stop_holding(blocked=True)  # the loop itself waits: do not hang it
        return super().result(timeout)

    def cancel(self) -> bool:
        cancelled = super().cancel()
        if self.real is not None:
            self.real.cancel()
        return cancelled


@dataclass
class Job:
    pool: object
    real: concurrent.futures.Future
    held: Held
    size: int  # the blobs it covers (pool.map sends several in one job)
    real_done: bool = False


class Executors:
    """Patches ThreadPoolExecutor and ProcessPoolExecutor to note every executor made, handed
    work, and shut down. The results of process jobs are held until `expected` jobs have been
    handed to a pool and all of them have finished; then the heartbeat hands them back, the
    last job first (so results put in completion order come out reversed). If fewer jobs come
    and no new one for STALL s, they are handed back anyway and `sequential` says how many
    there were. If the loop's own thread waits for a job's result, holding stops at once."""

    def __init__(self, beat: Heartbeat) -> None:
        self.beat = beat
        self.lock = threading.RLock()
        self.made: list[object] = []
        self.used: list[object] = []
        self.shut: dict[int, tuple[bool, bool]] = {}  # id -> (wait, on the loop's thread)
        self.jobs: list[Job] = []
        self.worked: list[Worked] = []
        self.expected = 0
        self.holding = False
        self.keep = False  # hold until release(), whatever comes
        self.sequential: tuple[int, int] | None = None
        self.blocked = False  # the loop's thread waited on a job's result
        self.late = False  # a result was handed back after its pool was shut down
        self.last_change = time.monotonic()
        self.watchdog: threading.Thread | None = None
        beat.duties.append(self.on_tick)
        beat.endings.append(self.release)

    def expect(self, jobs: int, *, keep: bool = False, hold: bool = True) -> None:
        """Hold the results of the next call's jobs until `jobs` of them have come (with
        `hold=False`, hand each back as soon as it is done, from the pool's own thread)."""
        with self.lock:
            self.jobs.clear()
            self.worked.clear()
            self.expected, self.holding, self.keep = jobs, hold, keep
            self.sequential, self.blocked, self.late = None, False, False
            self.last_change = time.monotonic()

    def submitted(self) -> int:
        return sum(job.size for job in self.jobs)

    # the patched methods

    def note_made(self, executor: object) -> None:
        with self.lock:
            self.made.append(executor)
            HISTORY.now().made.append(executor)

    def note_used(self, executor: object) -> None:
        with self.lock:
            if not any(e is executor for e in self.used):
                self.used.append(executor)

    def note_shutdown(self, executor: object, wait: bool) -> None:
        with self.lock:
            self.shut[id(executor)] = (wait, threading.get_ident() == self.beat.loop_thread)

    def hold(self, pool: object, real: concurrent.futures.Future, fn: object, args) -> Held:
        held = Held(self)
        held.real = real
        size = 1
        if isinstance(fn, functools.partial) and getattr(fn.func, "__name__", "") == (
            "_process_chunk"
        ):
            size = len(args[0]) if args else 1  # pool.map's chunk of argument tuples
        job = Job(pool, real, held, size)
        with self.lock:
            self.jobs.append(job)
            self.last_change = time.monotonic()
            if self.holding and (self.watchdog is None or not self.watchdog.is_alive()):
                # Started once the pool has forked its processes (the real submit above).
                self.watchdog = threading.Thread(target=self._watch_the_loop, daemon=True)
                self.watchdog.start()
        real.add_done_callback(lambda _: self._real_done(job))
        return held

    def _watch_the_loop(self) -> None:
        """While results are held: if the heartbeat stops for BLOCKED s (the loop's thread
        waits for the jobs without awaiting, in concurrent.futures.wait() say), stop holding,
        so that the code can go on and the test can say what it saw."""
        ticks, since = self.beat.ticks, time.monotonic()
        stop = threading.Event()
        while self.holding:
            stop.wait(0.01)
            if self.beat.ticks != ticks:
                ticks, since = self.beat.ticks, time.monotonic()
            elif time.monotonic() - since >= blocked():
                PATIENCE["spent"] = True
                self.stop_holding(blocked=True)

    async def watchdog_gone(self) -> None:
        """Wait until the watchdog thread has ended: the next pool must fork without it."""
        while self.watchdog is not None and self.watchdog.is_alive():
            await asyncio.sleep(0.002)

    # handing results back

    def _real_done(self, job: Job) -> None:
        with self.lock:
            job.real_done = True
            self.last_change = time.monotonic()
            real = job.real
            if not real.cancelled() and real.exception() is None:
                value = real.result()
                self.worked.extend(v for v in _flat(value) if isinstance(v, Worked))
            now = not self.holding or real.cancelled() or real.exception() is not None
        if now:
            self._hand_back(job)

    def _hand_back(self, job: Job) -> None:
        held, real = job.held, job.real
        if held.done():
            return
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            if real.cancelled():
                held.cancel()
                return
            error = real.exception()
            if error is not None:
                held.set_exception(error)
                return
            wait, on_loop = self.shut.get(id(job.pool), (False, False))
            if wait and on_loop:
                self.late = True
            held.set_result(_unwrap(real.result()))

    def stop_holding(self, *, blocked: bool = False) -> None:
        with self.lock:
            if blocked and self.holding:
                self.blocked = True
            self.holding = False
            ready = [job for job in reversed(self.jobs) if job.real_done]
        for job in ready:
            self._hand_back(job)

    def on_tick(self) -> None:
        with self.lock:
            if not self.holding or self.keep or not self.jobs:
                return
            if not all(job.real_done for job in self.jobs):
                return
            if self.submitted() < self.expected:
                if time.monotonic() - self.last_change < stall():
                    return
                self.sequential = (self.submitted(), self.expected)
                PATIENCE["spent"] = True
        self.stop_holding()

    def release(self) -> None:
        self.keep = False
        self.stop_holding()

    # after a call

    def left_running(self) -> list[object]:
        default = getattr(self.beat.loop, "_default_executor", None)
        seen: list[object] = []
        for executor in [*self.made, *self.used]:
            if executor is default or any(executor is e for e in seen):
                continue
            if id(executor) not in self.shut:
                seen.append(executor)
        return seen

    def origin(self, executor: object) -> str:
        """When `executor` was made: "during" this watch, by an "earlier" call, or at
        "import" (while no call was watched: by code at the top level of the file)."""
        if any(executor is e for e in self.made):
            return "during"
        if any(executor is e for e in HISTORY.now().made):
            return "earlier"
        return "import"

    async def shut_leftovers(self) -> list[object]:
        """Shut down (for the learner) every executor left running; the ones that were."""
        left = self.left_running()
        for executor in left:
            self.shut[id(executor)] = (False, False)  # the test's doing: reported once
            REAL[(type(executor), "shutdown")](executor, wait=False, cancel_futures=True)
        if any(isinstance(e, ProcessPool) for e in left):
            deadline = time.monotonic() + 1
            while multiprocessing.active_children() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        return left


def _flat(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


def _unwrap(value: object) -> object:
    if isinstance(value, Worked):
        return value.digest
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def _lifted(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """ThreadPoolExecutor's arguments, with WIDE threads where the default was asked for."""
    if args and args[0] is None:
        return (WIDE, *args[1:]), kwargs
    if not args and kwargs.get("max_workers") is None:
        return args, {**kwargs, "max_workers": WIDE}
    return args, kwargs


@contextlib.contextmanager
def watching_executors(beat: Heartbeat):
    """Note every executor made, handed work and shut down meanwhile (see Executors).

    A ThreadPoolExecutor() made with the default max_workers gets WIDE threads: its default
    cap, like the loop's own executor's, is not a cap of yours (see Heartbeat.warm_threads).
    Your file is imported first, so that an executor made at its top level is told apart
    from one made during a call."""
    executors.load()
    watch = Executors(beat)
    real = REAL
    tracker = multiprocessing.resource_tracker._resource_tracker  # type: ignore[attr-defined]
    tracking = getattr(tracker, "_pid", None) is not None

    def patched(cls):
        made, submit, shutdown = (real[(cls, n)] for n in ("__init__", "submit", "shutdown"))

        @functools.wraps(made)
        def __init__(self, *args, **kwargs):
            if cls is ThreadPool:
                args, kwargs = _lifted(args, kwargs)
            made(self, *args, **kwargs)
            watch.note_made(self)

        @functools.wraps(submit)
        def submit_(self, fn, /, *args, **kwargs):
            future = submit(self, fn, *args, **kwargs)
            watch.note_used(self)
            if cls is ProcessPool:
                return watch.hold(self, future, fn, args)
            return future

        @functools.wraps(shutdown)
        def shutdown_(self, wait=True, *, cancel_futures=False):
            watch.note_shutdown(self, wait)
            return shutdown(self, wait, cancel_futures=cancel_futures)

        cls.__init__, cls.submit, cls.shutdown = __init__, submit_, shutdown_

    start_method = multiprocessing.get_start_method(allow_none=True)
    # The pool's processes must be forks of this one: only a fork has the learner's module and
    # the test's doubles (Python 3.14 would start them with forkserver).
    multiprocessing.set_start_method("fork", force=True)
    try:
        patched(ThreadPool)
        patched(ProcessPool)
        yield watch
    finally:
        for (cls, name), method in real.items():
            setattr(cls, name, method)
        multiprocessing.set_start_method(start_method, force=True)
        if not tracking and getattr(tracker, "_pid", None) is not None:
            # A spawn or forkserver context starts multiprocessing's resource tracker, a
            # process that would outlive the test (a fork of the test's process needs none).
            with contextlib.suppress(Exception):
                tracker._stop()


def count_executors(found: list[object]) -> str:
    kinds = Counter(type(e).__name__ for e in found)
    return " and ".join(checks.count(n, name) for name, n in sorted(kinds.items()))


async def no_executor_left(watch: Executors, what: str) -> None:
    """Fail if an executor the learner made (not the loop's own) was never shut down."""
    left = await watch.shut_leftovers()
    if not left:
        return
    before = [e for e in left if watch.origin(e) != "during"]
    if before:
        one = len(before) == 1
        processes = any(isinstance(e, ProcessPool) for e in before)
        when = (
            "by an earlier call"
            if all(watch.origin(e) == "earlier" for e in before)
            else "by code at the top level of your file, when the tests imported it"
        )
        fail(
            f"{what} handed its jobs to {count_executors(before)} made before the call began "
            f"({when}), and {'it was' if one else 'they were'} still running after the call "
            "had returned. "
            "An executor kept at module level outlives every call: its worker "
            + ("processes keep running" if processes else "threads live on")
            + " until the program ends. Make the executor inside the call and shut it down "
            + (
                "before you return: `with ProcessPoolExecutor() as pool:` around the awaits."
                if processes
                else "before you return, without waiting for its threads (shutdown(wait=False) "
                "in a `finally:`), or use the loop's own: asyncio.to_thread(...)."
            )
        )
    processes = any(isinstance(e, ProcessPool) for e in left)
    one = len(left) == 1
    fail(
        f"After {what} had returned, {count_executors(left)} that your code had made during "
        f"the call {'was' if one else 'were'} never shut down (no shutdown() call, no `with` "
        f"block): until {'it is' if one else 'they are'}, {'its' if one else 'their'} worker "
        + ("processes keep running" if processes else "threads live on")
        + ". Shut down every executor you make, before you return, even when a job fails or "
        "you are cancelled: `with ProcessPoolExecutor() as pool:` (or ThreadPoolExecutor) "
        "around the awaits does it for you; keeping it for later calls, at module level, "
        "would leave it running after every call. (The loop's own executor, which "
        "asyncio.to_thread and run_in_executor(None, ...) use, is the loop's to shut down.)"
    )


# Calling the learner's code


def _kwargs_lesson(name: str, exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, TypeError) and "run_in_executor" in text and "keyword" in text:
        return (
            f"{name}() passed a keyword argument to loop.run_in_executor (TypeError: {text}). "
            "run_in_executor(executor, func, *args) hands on positional arguments only: bind "
            "the keyword first, `functools.partial(get, url, timeout=timeout)`, and pass that "
            "as func."
        )
    fake = "get()" in text or "Work.__call__()" in text  # the test's own get and work
    if isinstance(exc, TypeError) and fake and "positional argument" in text:
        return (
            f"{name}() called the test's function with too many positional arguments "
            f"(TypeError: {text}). Its keyword argument (`timeout` of get, `rounds` of work) is "
            "keyword-only, as requests.get's options are: pass it by name, "
            "`functools.partial(get, url, timeout=timeout)`, since run_in_executor only "
            "passes positional arguments."
        )
    keyword = "'timeout'" in text or "'rounds'" in text
    if isinstance(exc, TypeError) and keyword and "required keyword-only argument" in text:
        return (
            f"{name}() called the test's function without its keyword argument "
            f"(TypeError: {text}). Pass it on by name: `functools.partial(get, url, "
            "timeout=timeout)` or `functools.partial(work, blob, rounds=rounds)`."
        )
    return ""


def _pool_lesson(name: str, exc: BaseException) -> str:
    text = str(exc)
    # Python 3.11 and 3.12 say "Can't pickle local object", 3.13 "Can't get local object",
    # 3.14 raises PicklingError.
    unpicklable = "local object" in text or isinstance(exc, pickle.PicklingError)
    if unpicklable and name in ("download", "download_all"):
        return (
            f"{name}() sent get() to a process pool ({type(exc).__name__}: {text}): a "
            "ProcessPoolExecutor pickles each job to send it to another process, and the "
            "test's get, like most functions handed to you, cannot be pickled. get() is a "
            "blocking download, which waits on the network: that is work for a thread, and "
            "threads need no pickling. `await asyncio.to_thread(get, url, timeout=timeout)`, "
            "or `loop.run_in_executor(None, functools.partial(get, url, timeout=timeout))`."
        )
    if unpicklable or "<lambda>" in text:
        return (
            f"{name}() sent the pool a function that cannot be pickled ({type(exc).__name__}: "
            f"{text}). A ProcessPoolExecutor sends each job to another process by pickling it, "
            "and pickle sends a function by its module and name: a lambda or a function "
            "defined inside another has no such name. Send the test's own `work` with its "
            "arguments bound, `functools.partial(work, blob, rounds=rounds)`, or a function "
            "defined at the top level of your file."
        )
    if isinstance(exc, concurrent.futures.process.BrokenProcessPool):
        return (
            f"{name}() found its process pool broken (BrokenProcessPool: {text}): a worker "
            "process died before it could run a job. If you passed mp_context (spawn or "
            "forkserver) or max_tasks_per_child, leave them out: the tests' processes must be "
            "forks of the test's own process to find your file and `work`."
        )
    if isinstance(exc, ValueError) and "max_workers must be greater than 0" in text:
        return (
            f"{name}() made an executor with max_workers=0 (ValueError: {text}), likely "
            "max_workers=len(...) of an empty list. No items is a legal input: return [] "
            "without making an executor, or leave max_workers at its default."
        )
    if isinstance(exc, RuntimeError) and "after shutdown" in text:
        return (
            f"{name}() handed a job to an executor that had already been shut down "
            f"(RuntimeError: {text}): the `with` block (or shutdown()) ended before every "
            "job had been handed in. Submit and await every job inside the block."
        )
    return ""


def _in_test_process_lesson(name: str, exc: WorkInTestProcess) -> str:
    where = learner_line(exc)
    if exc.on_loop:
        return (
            f"{name}() called work() on the event loop's own thread{where}. work() is CPU-bound: "
            "while it runs, nothing else on the loop can. Hand it to a ProcessPoolExecutor: "
            "`await loop.run_in_executor(pool, functools.partial(work, blob, rounds=rounds))`."
        )
    return (
        f"{name}() ran work() in a thread of the test's own process{where}, not in a "
        "ProcessPoolExecutor's process. Threads suit blocking I/O, but CPU-bound Python code in "
        "threads runs one thread at a time (they share one interpreter lock): hand each job "
        "to a ProcessPoolExecutor, `loop.run_in_executor(pool, functools.partial(work, blob, "
        "rounds=rounds))`."
    )


def _on_loop_lesson(name: str, exc: RanOnTheLoop) -> str:
    return (
        f"{name}() called get() on the event loop's own thread{learner_line(exc)}. get() blocks "
        "the thread it runs in, so while it waits nothing else on the loop can run (no other "
        "download, no timer, not even the test's heartbeat). Run it in a worker thread: "
        "`await asyncio.to_thread(get, url, timeout=timeout)` or `await "
        "loop.run_in_executor(None, functools.partial(get, url, timeout=timeout))`."
    )


def _stood_still_lesson(name: str, seconds: float, ticks: int) -> str:
    return (
        f"get() ran in another thread, but the event loop stood still while it ran: in the "
        f"{seconds:g} s get() waited, the test's heartbeat (every {TICK * 1000:g} ms on a free "
        f"loop) ticked {checks.count(ticks, 'time')}, too few to let it answer, so it gave up. "
        f"{name}() waited for the thread without awaiting: likely future.result(), thread.join(), "
        "concurrent.futures.wait(), or the end of a `with ThreadPoolExecutor()` block "
        "(shutdown(wait=True)) reached before the awaits. Await the asyncio future that "
        "asyncio.to_thread or loop.run_in_executor gives you."
    )


def _thread_lesson(name: str, beat: Heartbeat) -> str:
    if beat.foreign:
        callback, thread = beat.foreign[0]
        return (
            f"{name}() touched the event loop from another thread: thread {thread!r} called "
            f"loop.call_soon({callback}, ...), as an asyncio future's set_result() does. A "
            "loop and its futures are not thread-safe: called from another thread, they may "
            "never wake the loop, or corrupt it (this test handed the call on safely, but "
            "noted it). From a thread, hand results over with loop.call_soon_threadsafe(...), "
            "or let asyncio.to_thread / loop.run_in_executor carry them back for you."
        )
    error = beat.thread_errors[0]
    return (
        f"{name}() waited for a thread, but an exception was raised there and never reached "
        f"the loop: {type(error).__name__}: {error}. Run the blocking call with "
        "asyncio.to_thread or loop.run_in_executor: they carry the result, or the "
        "exception, back to the coroutine that awaits them."
    )


def _late_thread_lesson(beat: Heartbeat) -> str:
    error, thread = beat.thread_errors[0], beat.error_threads[0]
    if isinstance(error, asyncio.InvalidStateError):
        return (
            f"After {beat.calling} had returned, thread {thread!r} raised "
            f"asyncio.InvalidStateError ({error}), as an asyncio future's set_result() or "
            "set_exception() does when the future is already done or cancelled: a thread "
            "touched an asyncio future after the coroutine awaiting it had ended (when it "
            "was cancelled, say). A loop and its futures belong to the loop's thread: from a "
            "thread, hand results over with loop.call_soon_threadsafe(...), or let "
            "asyncio.to_thread / loop.run_in_executor carry them back for you."
        )
    return (
        f"After {beat.calling} had returned, thread {thread!r} raised "
        f"{type(error).__name__}: {error}, and nothing caught it. Run the blocking call with "
        "asyncio.to_thread or loop.run_in_executor: they carry the result, or the exception, "
        "back to the coroutine that awaits them."
    )


def lesson_for(name: str, exc: BaseException) -> str:
    """The classic mistake behind an exception from the learner's `name`() ("" if none)."""
    if isinstance(exc, RanOnTheLoop):
        return _on_loop_lesson(name, exc)
    if isinstance(exc, LoopStoodStill):
        return _stood_still_lesson(name, exc.seconds, exc.ticks)
    if isinstance(exc, WorkInTestProcess):
        return _in_test_process_lesson(name, exc)
    if isinstance(exc, TimeoutError):
        return (
            f"{name}() raised TimeoutError, but none of the test's functions raises it. Likely "
            "a time limit of your own (asyncio.wait_for(..., timeout), asyncio.timeout(...)): "
            "`timeout` is get's own option, to pass on to it, not a limit for you to apply "
            "(timeout=0 would then fail at once). Set no time limit of your own."
        )
    if isinstance(exc, ValueError) and "Set of Tasks/Futures is empty" in str(exc):
        return (
            f"{name}() called asyncio.wait() with nothing to wait for (ValueError: {exc}): it "
            "refuses an empty collection. With no items, return [] at once (asyncio.gather(), "
            "by contrast, accepts zero awaitables)."
        )
    return _kwargs_lesson(name, exc) or _pool_lesson(name, exc)


def outcome(task: asyncio.Future, name: str) -> object:
    """The done task's result; an exception it raised is explained when the test knows it."""
    if task.cancelled():
        return task.result()  # raises CancelledError
    error = task.exception()
    if error is None:
        return task.result()
    lesson = "" if isinstance(error, pytest.fail.Exception) else lesson_for(name, error)
    if lesson:
        fail(lesson)
    raise error


async def jobs_ended(before: set[asyncio.Task]) -> None:
    """Wait (a second at most) for the tasks started since `before` to end: a job that was
    still running when another failed may run on (the contract does not say it must be
    cancelled), and the test lets it finish."""
    me = asyncio.current_task()
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline:
        if all(t.done() for t in asyncio.all_tasks() - before if t is not me):
            return
        await asyncio.sleep(TICK)


async def run(beat: Heartbeat, name: str, *args: object, **kwargs: object) -> object:
    """Await the learner's `name`(...), bounded in real time, explaining the classic mistakes."""
    function = getattr(executors, name)
    beat.calling = f"{name}()"
    try:
        called = function(*args, **kwargs)
    except Exception as exc:  # a plain `def` that did the work itself, at once
        lesson = lesson_for(name, exc)
        if not lesson:
            raise
        fail(lesson)
    if not inspect.isawaitable(called):
        fail(
            f"{name}() returned {called!r} without awaiting anything: it must be a coroutine "
            f"function, `async def {name}(...)`, that awaits the work it hands to a thread or "
            "a process."
        )
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(called)
    trouble = asyncio.ensure_future(beat.trouble.wait())
    try:
        await asyncio.wait({task, trouble}, timeout=LIMIT, return_when=asyncio.FIRST_COMPLETED)
    finally:
        trouble.cancel()
    if not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
        if beat.foreign or beat.thread_errors:
            fail(_thread_lesson(name, beat))
        fail(
            f"{name}() had not returned {LIMIT:g} s after it was called. Likely it waits for "
            "something that never comes: an asyncio future nobody completes, or a thread whose "
            "result never reaches the loop."
        )
    if not task.cancelled() and task.exception() is not None:
        # When one job fails, the others may run on (gather leaves them to finish): let them
        # answer and end, so that the failure is the one the test reports.
        for site in beat.sites:
            site.release()
        await jobs_ended(before)
    result = outcome(task, name)
    if beat.foreign:
        fail(_thread_lesson(name, beat))
    checks.not_coroutine(result, f"{name}()'s result")
    return result


# Task 1: download


def check_calls(site: Site, urls: list[str], what: str) -> None:
    called = Counter(site.urls_called())
    short = sorted(u for u, n in Counter(urls).items() if called[u] < n)
    earlier = HISTORY.urls_before(site)
    kept = [u for u in short if not called[u] and u in earlier]
    repeated = [u for u in short if called[u] and urls.count(u) > 1]
    if kept:
        likely = (
            f"{kept[0]!r} had been downloaded by an earlier call, and this call never called "
            f"get({kept[0]!r}): its page was likely kept from an earlier call (a cache, keyed "
            "by URL). Keep nothing between calls: a page can change, so every call downloads "
            "every entry of its urls."
        )
    elif repeated:
        likely = (
            f"{repeated[0]!r} is listed {checks.count(urls.count(repeated[0]), 'time')} in "
            f"urls, but get({repeated[0]!r}) was called "
            f"{checks.count(called[repeated[0]], 'time')}: one get() per entry of urls, no "
            "dict or set keyed by URL."
        )
    else:
        likely = "One get() per entry of urls, with the URL exactly as given."
    checks.equal(dict(called), dict(Counter(urls)), f"Calls of get() per URL for {what}", likely)


def check_site(site: Site, name: str, what: str, urls: list[str] | None = None) -> None:
    """What the site saw of the calls, as a failure, before the results are judged."""
    if site.gave_up:
        fail(_stood_still_lesson(name, *site.gave_up_after))
    if urls is not None:
        check_calls(site, urls, what)
    if site.stalled is not None:
        in_flight, wanted = site.stalled
        if in_flight <= 1:
            fail(
                f"{what}: the downloads ran one after another. The test waited {STALL:g} s "
                f"with one get() blocked, and no other began. Start every download before you "
                "await any: build all the awaitables first, then `await asyncio.gather(*...)`, "
                "instead of awaiting each in a loop."
            )
        fail(
            f"{what}: at most {in_flight} of the {wanted} downloads ran at the same time; "
            f"the test waited {STALL:g} s for the others to begin. Start them all at once, with "
            "no cap (a ThreadPoolExecutor(max_workers=...) smaller than the list, or a "
            "Semaphore, makes the rest wait)."
        )


@pytest.mark.task(1)
async def test_download_returns_what_get_returned():
    async with heartbeat() as beat:
        page = b"<html>hello</html>"
        site = Site(beat, {"https://example.com/": page})
        with watching_executors(beat) as watch:
            result = await run(beat, "download", site.get, "https://example.com/", timeout=5)
            check_site(site, "download()", "download()")
            await no_executor_left(watch, "download()")
    if result is not page:
        checks.equal(
            result,
            page,
            "download() of a page",
            "Return exactly what get() returned (the page's bytes), unchanged.",
        )
        fail(
            f"download() returned a copy of the page ({type(result).__name__}), not the very "
            "object get() returned: hand it back unchanged."
        )


@pytest.mark.task(1)
async def test_download_runs_get_in_a_worker_thread():
    async with heartbeat() as beat:
        site = Site(beat, {"u": b"page"})
        with watching_executors(beat) as watch:
            await run(beat, "download", site.get, "u", timeout=1)
            await no_executor_left(watch, "download()")
    checks.equal(len(site.calls), 1, "Calls of get() made by one download()")
    call = site.calls[0]
    if call.thread == threading.get_ident():
        fail("download() called get() on the event loop's thread.")


@pytest.mark.task(1)
async def test_the_heartbeat_ticks_while_get_blocks():
    async with heartbeat() as beat:
        site = Site(beat, {"slow": b"S"})
        with watching_executors(beat):
            ticks = beat.ticks
            result = await run(beat, "download", site.get, "slow", timeout=30)
            check_site(site, "download()", "download()")
            seen = beat.ticks - ticks
    checks.equal(result, b"S", "download() of a page")
    if seen < BEATS:
        fail(
            f"The test's heartbeat ticked {checks.count(seen, 'time')} during download(); "
            f"get() only answers after {BEATS} ticks, so it cannot have blocked."
        )


@pytest.mark.task(1)
async def test_download_passes_url_and_timeout_exactly():
    cases = [
        ("", 0),
        ("https://example.com/caf\u00e9?q=a b&x=%20", None),
        (" u ", 2.5),
        ("pair", (3.05, 27)),  # requests takes a (connect, read) pair too
    ]
    async with heartbeat() as beat:
        for url, timeout in cases:
            site = Site(beat, {url: f"page of {url}".encode()})
            what = f"download({url!r}, timeout={timeout!r})"
            with watching_executors(beat) as watch:
                try:
                    result = await run(beat, "download", site.get, url, timeout=timeout)
                except TypeError as exc:
                    if not isinstance(timeout, tuple) or site.calls:
                        raise
                    fail(
                        f"{what} raised TypeError ({exc}) before it called get(): the timeout "
                        "is get's to read, not yours. requests, for one, takes a (connect, "
                        "read) pair as well as a number; pass it on exactly as given, without "
                        "converting or checking it."
                    )
                check_site(site, "download()", what)
                await no_executor_left(watch, "download()")
            checks.equal(
                [(c.url, c.timeout) for c in site.calls],
                [(url, timeout)],
                f"get()'s (url, timeout) for {what}",
                lambda got, url=url: (
                    "Pass the timeout on exactly as given: 0 and None are values (a timeout of "
                    "0 is not 'no timeout'), so no `timeout or ...`."
                    if isinstance(got, list) and got and got[0][0] == url
                    else "Pass the URL on exactly as given (no strip, quote or clean-up)."
                ),
            )
            check_the_very_timeout(site, timeout, what)
            checks.equal(result, f"page of {url}".encode(), f"download({url!r})'s result")


def check_the_very_timeout(site: Site, timeout: object, what: str) -> None:
    """get() was given the very object the caller gave as timeout (0, not 0.0)."""

    def kind(value: object) -> str:
        name = type(value).__name__
        return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"

    for call in site.calls:
        if call.timeout is not timeout:
            fail(
                f"For {what}, get() was given timeout={call.timeout!r} ({kind(call.timeout)}), "
                f"equal to the {timeout!r} ({kind(timeout)}) you were given but not the same "
                "object: a conversion such as float(timeout) changed it. Pass the timeout on "
                "exactly as given, the very object, with no float(), int() or rounding: it is "
                "get's option, and get may take values you do not expect (requests takes a "
                "(connect, read) pair)."
            )


@pytest.mark.task(1)
async def test_download_calls_get_once_and_raises_its_error():
    error = ConnectionError("connection reset by peer")
    async with heartbeat() as beat:
        site = Site(beat, {"down": error})
        with watching_executors(beat) as watch:
            raised: Exception | None = None
            returned: object = None
            try:
                returned = await run(beat, "download", site.get, "down", timeout=3)
            except NotImplementedError:
                raise  # the untouched stub: the kit says what to write
            except Exception as exc:
                raised = exc
            check_site(site, "download()", "download()")
            await no_executor_left(watch, "download()")
    calls = len(site.calls)
    if calls != 1:
        fail(
            f"get() was called {checks.count(calls, 'time')} for one download() whose get() "
            "fails; call it exactly once, and let its exception reach the caller (no retry)."
        )
    if raised is not error:
        if raised is None:
            instead = f"it returned {returned!r}"
        elif isinstance(raised, ConnectionError):
            instead = f"it raised another ConnectionError, {raised!r}"
        else:
            instead = f"it raised {raised!r}"
        fail(
            f"download() did not raise the ConnectionError that get() raised ({instead}): "
            "let get()'s exception reach the caller unchanged, no wrapping or catching "
            "(awaiting asyncio.to_thread or run_in_executor re-raises it for you)."
        )


@pytest.mark.task(1)
async def test_two_downloads_at_once_keep_their_own_pages():
    async with heartbeat() as beat:
        site = Site(beat, {"a": b"A", "b": b"B"}, together=2)
        with watching_executors(beat) as watch:
            both = await asyncio.gather(
                run(beat, "download", site.get, "a", timeout=1),
                run(beat, "download", site.get, "b", timeout=2),
                return_exceptions=True,  # each call ends before the test reports on either
            )
            for each in both:
                if isinstance(each, BaseException):
                    raise each
            check_site(site, "download()", "Two download() calls at once")
            await no_executor_left(watch, "two download() calls")
    checks.equal(
        list(both),
        [b"A", b"B"],
        "Two download() calls at once, of 'a' and 'b'",
        "Each call returns its own page: nothing may be shared between calls.",
    )
    checks.equal(
        sorted((c.url, c.timeout) for c in site.calls),
        [("a", 1), ("b", 2)],
        "get()'s (url, timeout) for the two calls",
    )


@pytest.mark.task(1)
async def test_download_leaves_no_executor_running():
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            for n in range(3):
                site = Site(beat, {f"u{n}": b"P"})
                await run(beat, "download", site.get, f"u{n}", timeout=1)
                check_site(site, "download()", "download()")
                await no_executor_left(watch, f"download() call {n + 1}")


@pytest.mark.task(1)
async def test_download_twice_shares_nothing():
    # The same URL in two calls, and the page has changed in between.
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            pages = []
            for n, page in enumerate([b"version 1", b"version 2"], 1):
                site = Site(beat, {"news": page})
                what = f"download('news') call {n}"
                pages.append(await run(beat, "download", site.get, "news", timeout=1))
                check_site(site, "download()", what, ["news"])
                await no_executor_left(watch, what)
    checks.equal(
        pages,
        [b"version 1", b"version 2"],
        "Two download('news') calls, the page changed in between",
        "The second call returned the first call's page: keep nothing between calls.",
    )


@pytest.mark.task(1)
async def test_download_hands_the_page_to_the_loop_safely():
    # The heartbeat notes every loop.call_soon made from another thread (see heartbeat()).
    async with heartbeat() as beat:
        site = Site(beat, {"u": b"P"})
        with watching_executors(beat) as watch:
            result = await run(beat, "download", site.get, "u", timeout=1)
            await no_executor_left(watch, "download()")
    checks.equal(result, b"P", "download()'s result")


def settled(started: list, since: float) -> bool:
    """Something has started, and nothing new for a while: an answer that runs its jobs one
    after another is cancelled during its first (that mistake is another test's to report)."""
    return bool(started) and time.monotonic() - since > 0.3


async def cancel_during(beat: Heartbeat, name: str, started: Callable[[], bool], call) -> str:
    """Start `call`, cancel it once `started()`, and say what went wrong ("" if nothing)."""
    beat.calling = f"the cancelled {name}()"
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(call)
    deadline = time.monotonic() + 1.5
    while not started() and not task.done() and time.monotonic() < deadline:
        await asyncio.sleep(TICK)
    if task.done():
        result = outcome(task, name)
        return f"{name}() had returned {result!r} before it could be cancelled."
    if not started():
        task.cancel()
        return f"{name}() never made the calls the test waited for before cancelling it."
    task.cancel()
    await asyncio.wait({task}, timeout=1)
    problems = []
    if not task.done():
        problems.append(
            f"{name}() had not ended 1 s after it was cancelled, while the thread's call was "
            "still blocked: it waited for the thread. A thread cannot be stopped, but you need "
            "not wait for it: awaiting asyncio.to_thread(...) or run_in_executor(...) ends at "
            "once when you are cancelled."
        )
    elif not task.cancelled():
        error = task.exception()
        if error is not None and (
            isinstance(error, pytest.fail.Exception) or lesson_for(name, error)
        ):
            outcome(task, name)
        problems.append(
            f"{name}() "
            + (f"raised {error!r}" if error else f"returned {task.result()!r}")
            + " when it was cancelled: it must end cancelled (let the CancelledError through)."
        )
    me = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() - before if t is not me and not t.done()]
    if left:
        names = ", ".join(sorted({getattr(t.get_coro(), "__qualname__", "?") for t in left}))
        problems.append(
            f"{checks.count(len(left), 'task')} {name}() had started "
            f"{'was' if len(left) == 1 else 'were'} still running after it had been "
            f"cancelled ({names}). Tasks you start are yours to cancel (create_task() starts "
            "one, and so does asyncio.shield(), which keeps it running on purpose): "
            "asyncio.gather cancels its jobs when it is cancelled; tasks of your own you "
            "cancel in a `finally:`."
        )
        for t in left:
            t.cancel()
    if not task.done():
        task.cancel()
    return " ".join(problems)


def blocked_when_cancelled(site: Site, name: str) -> None:
    if site.gave_up:
        seconds, ticks = site.gave_up_after
        fail(
            f"When {name}() was cancelled, the event loop stood still while get() was still "
            f"blocked: in the {seconds:g} s get() waited, the heartbeat (every {TICK * 1000:g} ms "
            f"on a free loop) ticked only {checks.count(ticks, 'time')}, and get() gave up. "
            "On the way out your code waited for the thread without awaiting. Leaving a `with "
            "ThreadPoolExecutor()` block does that "
            "(shutdown(wait=True)). Use the loop's own executor (asyncio.to_thread), or shut "
            "your executor down with shutdown(wait=False) in a `finally:`."
        )


@pytest.mark.task(1)
async def test_cancelling_download_ends_it_at_once():
    async with heartbeat() as beat:
        site = Site(beat, {"u": b"P"}, hold=True)
        with watching_executors(beat) as watch:
            problem = await cancel_during(
                beat,
                "download",
                lambda: bool(site.in_flight()),
                executors.download(site.get, "u", timeout=60),
            )
            site.release()
            if problem:
                fail(f"download() cancelled while get() blocked: {problem}")
            blocked_when_cancelled(site, "download")
            await no_executor_left(watch, "the cancelled download()")


# Task 2: download_all


def pages_likely(urls: list[str], pages: dict[str, bytes], site: Site) -> Callable[[object], str]:
    expected = [pages[u] for u in urls]

    def likely(got: object) -> str:
        if not isinstance(got, list | tuple):
            return ""
        got = list(got)
        answered = [pages[u] for u in site.answered]
        if got == answered and got != expected:
            made = " (the test made the last URL answer first)" if site.reverse else ""
            return (
                f"That is the order the downloads finished in{made}, not the order of urls: "
                "asyncio.gather returns results in the order you passed the awaitables, "
                "whatever order they finish in."
            )
        if len(got) < len(expected) and set(got) == set(expected):
            return (
                "A repeated URL's page is missing: a URL listed twice is downloaded twice and "
                "its page appears twice (no dict or set keyed by URL)."
            )
        if b"" in expected and b"" not in got:
            return "The empty page b'' is missing: an empty page is a page like any other."
        return ""

    return likely


async def download_all(beat: Heartbeat, site: Site, urls: list[str], timeout, what: str):
    asked = list(urls)
    with watching_executors(beat) as watch:
        result = await run(beat, "download_all", site.get, urls, timeout=timeout)
        check_site(site, "download_all()", what, asked)
        await no_executor_left(watch, what)
    return result


@pytest.mark.task(2)
async def test_download_all_returns_pages_in_the_order_of_urls():
    urls = ["a", "b", "c"]
    pages = {"a": b"A", "b": b"B", "c": b"C"}
    async with heartbeat() as beat:
        site = Site(beat, pages, together=3, reverse=urls)
        result = await download_all(beat, site, list(urls), 1, "download_all(['a', 'b', 'c'])")
    check_list(
        result,
        [b"A", b"B", b"C"],
        "download_all",
        "download_all(['a', 'b', 'c']), where 'c' answers first and 'a' last",
        pages_likely(urls, pages, site),
    )


@pytest.mark.task(2)
async def test_download_all_runs_every_get_at_once():
    # Sixteen downloads, none of which answers until all sixteen are in flight: more than
    # any small cap lets through. The loop's default executor, and a ThreadPoolExecutor() of
    # yours made with the default max_workers, get 64 threads here (see warm_threads).
    urls = [f"u{n:02}" for n in range(16)]
    pages = {u: u.upper().encode() for u in urls}
    what = "download_all() of 16 URLs"
    async with heartbeat() as beat:
        site = Site(beat, pages, together=16)
        result = await download_all(beat, site, list(urls), 2, what)
    check_list(result, [pages[u] for u in urls], "download_all", what)
    checks.equal(sorted(site.urls_called()), sorted(urls), f"URLs get() was called with for {what}")


@pytest.mark.task(2)
async def test_download_all_runs_every_get_off_the_loop_thread():
    urls = ["p", "q"]
    async with heartbeat() as beat:
        site = Site(beat, {"p": b"P", "q": b"Q"}, together=2)
        result = await download_all(beat, site, list(urls), 1, "download_all(['p', 'q'])")
    check_list(result, [b"P", b"Q"], "download_all", "download_all(['p', 'q'])")
    on_loop = [c.url for c in site.calls if c.thread == threading.get_ident()]
    checks.equal(on_loop, [], "URLs whose get() ran on the event loop's thread")


@pytest.mark.task(2)
async def test_download_all_fetches_a_repeated_url_twice():
    urls = ["a", "b", "a"]
    pages = {"a": b"A", "b": b"B"}
    async with heartbeat() as beat:
        site = Site(beat, pages)
        result = await download_all(beat, site, list(urls), 1, "download_all(['a', 'b', 'a'])")
    check_list(
        result,
        [b"A", b"B", b"A"],
        "download_all",
        "download_all(['a', 'b', 'a'])",
        pages_likely(urls, pages, site),
    )


@pytest.mark.task(2)
async def test_download_all_of_no_urls_is_an_empty_list():
    async with heartbeat() as beat:
        site = Site(beat, {})
        result = await download_all(beat, site, [], 1, "download_all([])")
    if not isinstance(result, list):
        fail(
            f"download_all([]) returned a {type(result).__name__}, {result!r}; the contract "
            "promises a list: an empty list, []."
        )
    checks.equal(result, [], "download_all([])")
    checks.equal(site.urls_called(), [], "URLs get() was called with for download_all([])")


@pytest.mark.task(2)
async def test_download_all_keeps_empty_pages_and_leaves_urls_unchanged():
    urls = ["full", "empty", "zero"]
    pages = {"full": b"F", "empty": b"", "zero": b"0"}
    async with heartbeat() as beat:
        site = Site(beat, pages, together=3)
        given = list(urls)
        result = await download_all(beat, site, given, 0, f"download_all({urls!r})")
    checks.equal(given, urls, "The caller's `urls` after download_all()", "Leave it unchanged.")
    if not isinstance(result, list):
        fail(
            f"download_all() returned a {type(result).__name__} ({result!r}); the contract "
            "promises a list of pages: `list(await asyncio.gather(...))`."
        )
    if result is given:
        fail("download_all() returned the caller's own `urls` list, refilled; return a new list.")
    check_list(
        result,
        [b"F", b"", b"0"],
        "download_all",
        f"download_all({urls!r})",
        pages_likely(urls, pages, site),
    )
    checks.equal(
        [c.timeout for c in site.calls],
        [0, 0, 0],
        "The timeout each get() was given for download_all(..., timeout=0)",
        "Pass timeout on exactly as given: 0 is a value, not 'no timeout'.",
    )
    check_the_very_timeout(site, 0, f"download_all({urls!r}, timeout=0)")


@pytest.mark.task(2)
async def test_download_all_passes_each_url_and_timeout_exactly():
    urls = ["", " a ", "A", "https://example.com/caf\u00e9?q=1 2"]
    pages = {u: f"<{u}>".encode() for u in urls}
    async with heartbeat() as beat:
        site = Site(beat, pages, together=4)
        result = await download_all(beat, site, list(urls), None, "download_all(awkward urls)")
    checks.equal(
        sorted((c.url, c.timeout) for c in site.calls),
        sorted((u, None) for u in urls),
        f"get()'s (url, timeout) for download_all({urls!r}, timeout=None)",
    )
    check_list(result, [pages[u] for u in urls], "download_all", f"download_all({urls!r})")


@pytest.mark.task(2)
async def test_download_all_of_many_urls_keeps_their_order():
    urls = [f"page{n}" for n in range(24)]
    pages = {u: u.encode() for u in urls}
    async with heartbeat() as beat:
        site = Site(beat, pages, threads=24)
        result = await download_all(beat, site, list(urls), 5, "download_all() of 24 URLs")
    check_list(
        result,
        [pages[u] for u in urls],
        "download_all",
        "download_all() of 24 URLs",
        pages_likely(urls, pages, site),
    )


@pytest.mark.task(2)
async def test_download_all_twice_shares_nothing():
    # 'a' in both calls, and its page has changed in between.
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            first = Site(beat, {"a": b"A1", "b": b"B1"}, together=2)
            one = await run(beat, "download_all", first.get, ["a", "b"], timeout=1)
            check_site(first, "download_all()", "First download_all(['a', 'b'])", ["a", "b"])
            await no_executor_left(watch, "the first download_all()")
            second = Site(beat, {"a": b"A2", "c": b"C2"})
            two = await run(beat, "download_all", second.get, ["a", "c"], timeout=1)
            check_site(second, "download_all()", "Second download_all(['a', 'c'])", ["a", "c"])
            await no_executor_left(watch, "the second download_all()")
    check_list(one, [b"A1", b"B1"], "download_all", "First download_all(['a', 'b'])")
    check_list(
        two,
        [b"A2", b"C2"],
        "download_all",
        "Second download_all(['a', 'c']), where 'a' has changed since the first",
        "It returned a page of the first call, kept from an earlier call: keep nothing "
        "between calls.",
    )


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside an exception group (or the exception itself)."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


def check_the_error(
    name: str, what: str, raised: BaseException | None, returned: object, matches, told: str
) -> None:
    """`name`() must have raised the exception that `matches`, or an ExceptionGroup holding
    only such exceptions (as an asyncio.TaskGroup raises). `told` names it: "the
    ConnectionError get('down') raised"."""
    if raised is not None and all(matches(leaf) for leaf in leaves(raised)):
        return
    if raised is None:
        items = list(returned) if isinstance(returned, list | tuple) else []
        if any(isinstance(item, BaseException) for item in items):
            fail(
                f"{what}: {name}() returned {returned!r}, with {told} in it, as if it were a "
                "result. That is what asyncio.gather(..., return_exceptions=True) does: it "
                "puts each exception in the list where the result would be. The contract is "
                f"that {name}() raises it: a plain `await asyncio.gather(...)` does that."
            )
        fail(
            f"{what}: {name}() returned {returned!r} instead of raising {told}. Let a failed "
            "job's exception reach your caller: no try/except that turns it into a result "
            "(and no return_exceptions=True)."
        )
    inside = leaves(raised)
    if isinstance(raised, BaseExceptionGroup):
        shown = ", ".join(repr(leaf) for leaf in inside)
        fail(
            f"{what}: {name}() raised {type(raised).__name__} holding {shown}; expected "
            f"{told}, alone (or alone inside the group a TaskGroup raises)."
        )
    wrapped = raised.__cause__ or raised.__context__
    if wrapped is not None and matches(wrapped):
        fail(
            f"{what}: {name}() raised {raised!r}, with {told} as its cause: let the "
            "exception reach your caller as it is, not wrapped in another."
        )
    fail(f"{what}: {name}() raised {raised!r}; expected {told}, unchanged.")


async def call_and_catch(beat: Heartbeat, name: str, *args, **kwargs):
    """(what `name`() raised or None, what it returned)."""
    try:
        return None, await run(beat, name, *args, **kwargs)
    except NotImplementedError:
        raise  # the untouched stub: the kit says what to write
    except Exception as exc:
        return exc, None


@pytest.mark.task(2)
async def test_download_all_raises_the_error_of_a_failed_download():
    error = ConnectionError("connection reset by peer")
    urls = ["a", "down", "c"]
    what = "download_all(['a', 'down', 'c']), where get('down') raises ConnectionError"
    async with heartbeat() as beat:
        site = Site(beat, {"a": b"A", "down": error, "c": b"C"}, together=3)
        with watching_executors(beat) as watch:
            raised, returned = await call_and_catch(
                beat, "download_all", site.get, list(urls), timeout=1
            )
            check_site(site, "download_all()", what, urls)
            await no_executor_left(watch, what)
    check_the_error(
        "download_all",
        what,
        raised,
        returned,
        lambda exc: exc is error,
        "the ConnectionError that get('down') raised",
    )


@pytest.mark.task(2)
async def test_cancelling_download_all_leaves_no_task_running():
    urls = ["a", "b", "c"]
    async with heartbeat() as beat:
        site = Site(beat, {u: u.encode() for u in urls}, hold=True)
        with watching_executors(beat) as watch:
            problem = await cancel_during(
                beat,
                "download_all",
                lambda: len(site.in_flight()) == 3 or settled(site.in_flight(), site.last_call),
                executors.download_all(site.get, list(urls), timeout=60),
            )
            site.release()
            if problem:
                fail(f"download_all(['a', 'b', 'c']) cancelled while the downloads ran: {problem}")
            blocked_when_cancelled(site, "download_all")
            await no_executor_left(watch, "the cancelled download_all()")


URLS = st.lists(st.sampled_from(["a", "b", "", "A", " a"]), max_size=4)


@pytest.mark.task(2)
@scenarios.given(urls=URLS, empty=st.booleans())
@sticky
async def test_download_all_in_any_scenario(urls, empty):
    pages = {u: (b"" if empty and u == "a" else f"<{u}>".encode()) for u in set(urls)}
    scene = f"download_all({urls!r})" + (" where 'a' is an empty page" if empty else "")
    scenarios.describe(scene)
    async with heartbeat() as beat:
        site = Site(beat, pages, together=len(urls))
        given = list(urls)
        result = await download_all(beat, site, given, 1, scene)
    checks.equal(as_list(result), [pages[u] for u in urls], scene, pages_likely(urls, pages, site))
    checks.equal(given, urls, f"The caller's `urls` after {scene}", "Leave it unchanged.")


def as_list(result: object) -> object:
    return list(result) if isinstance(result, tuple) else result


def check_list(
    result: object,
    expected: list,
    name: str,
    what: str,
    likely: str | Callable[[object], str] = "",
) -> None:
    """checks.equal, but a tuple (or another sequence) is named as the wrong type it is."""
    if isinstance(result, tuple | set | dict) or inspect.isgenerator(result):
        fail(
            f"{what}: {name}() returned a {type(result).__name__}, {result!r}; the contract "
            "promises a new list: `list(await asyncio.gather(...))` (gather's own result is a "
            "list already; tuple(...) or a generator is not)."
        )
    checks.equal(result, expected, what, likely)


# Task 3: checksums


# Making a pool forks its processes, and shutting it down joins them, on the loop's thread: a
# moment's work, but on a loaded machine it can hold the loop longer than the kit's limit for
# a blocked loop (see pytestmark). These tests' own heartbeat and watchdog see the mistakes
# that matter here (waiting for the jobs without awaiting); work() itself refuses to run in
# the test's process.


def check_pool(watch: Executors, what: str, blobs: list[bytes], result: object = None) -> None:
    """What the test saw of the process jobs, as a failure, before the results are judged."""
    if watch.blocked:
        fail(
            f"{what}: the event loop's own thread waited for the jobs' results without awaiting "
            "(future.result(), concurrent.futures.wait() or as_completed(), or pool.map(...) "
            "read on the loop): while it waits, the test's heartbeat stops, and nothing else "
            "on the loop runs. "
            "Await asyncio futures instead: `await loop.run_in_executor(pool, job)` for each "
            "job, all of them together with asyncio.gather."
        )
    if watch.late:
        fail(
            f"{what}: the pool was shut down on the event loop's thread (pool.shutdown(), or "
            "the end of its `with` block) before your code had awaited its jobs. shutdown() "
            "waits for every job still running, and it does so without awaiting, so the loop "
            "stands still for as long as the work takes. Await the jobs inside the `with` "
            "block."
        )
    if watch.worked or watch.submitted():
        check_jobs(watch, blobs, what)
    if watch.sequential is not None:
        handed, wanted = watch.sequential
        fail(
            f"{what}: the jobs ran one after another. Only {handed} of the {wanted} jobs had "
            f"been handed to the pool, and no other came for {STALL:g} s while your code "
            "awaited the first. Hand every job to the pool before you await any: build the "
            "list of run_in_executor(...) futures first, then `await asyncio.gather(*jobs)`."
        )
    if not watch.jobs and watch.expected:
        earlier = {key_of(b) for b in blobs} <= HISTORY.now().hashed
        fail(
            f"{what} returned {result!r} without handing any job to a ProcessPoolExecutor "
            "(concurrent.futures): the test saw no job run in a pool's process. "
            + (
                "Every one of these blobs had been hashed by an earlier call: the digests "
                "were likely kept from an earlier call (a cache at module level). Keep nothing "
                "between calls: every call runs work() once per entry of its blobs."
                if earlier
                else "Run each job in one: `loop.run_in_executor(pool, "
                "functools.partial(work, blob, rounds=rounds))`."
            )
        )


def digests_likely(blobs: list[bytes], rounds: int, watch: Executors) -> Callable[[object], str]:
    expected = [crunch(b, rounds) for b in blobs]

    def likely(got: object) -> str:
        if not isinstance(got, list | tuple):
            return ""
        got = list(got)
        if len(expected) > 1 and got == expected[::-1]:
            return (
                "That is the order the jobs finished in (the test handed the last job's result "
                "back first), not the order of blobs: gather the futures, which keeps the "
                "order you passed them in."
            )
        rounds_used = {w.rounds for w in watch.worked}
        if rounds_used and rounds_used != {rounds}:
            return (
                f"work() was called with rounds={sorted(rounds_used)!r}; pass rounds on as given."
            )
        if len(got) < len(expected) and set(got) == set(expected):
            return (
                "A repeated blob's digest is missing: a blob listed twice is hashed twice, and "
                "its digest appears twice."
            )
        return ""

    return likely


async def checksums(
    beat: Heartbeat,
    watch: Executors,
    blobs: list[bytes],
    rounds: int,
    what: str,
    hold: bool = True,
    work: Work | None = None,
):
    asked = list(blobs)
    watch.expect(len(blobs), hold=hold)
    result = await run(beat, "checksums", work or new_work(beat), blobs, rounds=rounds)
    await watch.watchdog_gone()
    check_pool(watch, what, asked, result)
    await no_executor_left(watch, what)
    await no_process_left(what)
    HISTORY.now().hashed.update(w.key for w in watch.worked)
    return result


async def no_process_left(what: str) -> None:
    """Fail if a worker process of the learner's pools outlived the call (after waiting
    for it to end, so that the test leaves none behind)."""
    children = multiprocessing.active_children()
    if not children:
        return
    deadline = time.monotonic() + 1
    while multiprocessing.active_children() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    fail(
        f"{checks.count(len(children), 'worker process', 'worker processes')} of your pool "
        f"{'was' if len(children) == 1 else 'were'} still running when {what} returned. "
        "Shut the pool down and wait for it before you return: the end of a `with "
        "ProcessPoolExecutor() as pool:` block does both (shutdown(wait=False) does not wait)."
    )


def check_jobs(watch: Executors, blobs: list[bytes], what: str) -> None:
    names = {key_of(b): b for b in blobs}
    done = Counter(names.get(w.key, b"?") for w in watch.worked)
    short = [b for b, n in Counter(blobs).items() if done[b] < n]
    kept = [b for b in short if not done[b] and key_of(b) in HISTORY.now().hashed]
    if kept:
        likely = (
            f"{kept[0]!r} had been hashed by an earlier call, and this call ran no job for "
            "it: its digest was likely kept from an earlier call (a cache at module level). "
            "Keep nothing between calls: every call runs work() once per entry of its blobs "
            "(the work() it is given may not be the last one)."
        )
    else:
        likely = (
            "One job per entry of blobs: a blob listed twice is hashed twice, and no job is "
            "run again."
        )
    checks.equal(
        {repr(b): n for b, n in sorted(done.items())},
        {repr(b): n for b, n in sorted(Counter(blobs).items())},
        f"Jobs run per blob for {what}",
        likely,
    )
    pids = {w.pid for w in watch.worked}
    if os.getpid() in pids:
        fail(f"{what}: work() ran in the test's own process.")


def describe_blobs(blobs: list[bytes]) -> str:
    shown = [b if len(b) <= 16 else f"<{len(b):,} bytes>" for b in blobs]
    return "[" + ", ".join(s if isinstance(s, str) else repr(s) for s in shown) + "]"


@pytest.mark.task(3)
async def test_checksums_returns_each_digest_in_the_order_of_blobs():
    blobs = [b"alpha", b"beta", b"gamma"]
    what = "checksums([b'alpha', b'beta', b'gamma'], rounds=100)"
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            result = await checksums(beat, watch, list(blobs), 100, what)
    if isinstance(result, list) and not all(isinstance(d, str) for d in result):
        fail(
            f"{what} returned {result!r}: expected the hex digest strings that work() "
            "returned, one per blob."
        )
    check_list(
        result,
        [crunch(b, 100) for b in blobs],
        "checksums",
        f"{what}, where the last job's result comes back first",
        digests_likely(blobs, 100, watch),
    )
    check_jobs(watch, blobs, what)


@pytest.mark.task(3)
async def test_checksums_runs_work_in_the_pools_processes():
    blobs = [b"one", b"two"]
    what = "checksums([b'one', b'two'], rounds=10)"
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            result = await checksums(beat, watch, list(blobs), 10, what)
            pools = [e for e in watch.used if isinstance(e, ProcessPool)]
    check_list(
        result, [crunch(b, 10) for b in blobs], "checksums", what, digests_likely(blobs, 10, watch)
    )
    check_jobs(watch, blobs, what)
    if not pools:
        fail(f"{what}: no job was handed to a ProcessPoolExecutor.")


@pytest.mark.task(3)
async def test_checksums_hands_every_job_to_the_pool_at_once():
    blobs = [b"a", b"b", b"c", b"d"]
    what = "checksums() of four blobs"
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            result = await checksums(beat, watch, list(blobs), 50, what)
    check_list(
        result, [crunch(b, 50) for b in blobs], "checksums", what, digests_likely(blobs, 50, watch)
    )


@pytest.mark.task(3)
async def test_checksums_keeps_the_loop_free_while_the_pool_works():
    blobs = [b"x", b"y", b"z"]
    what = "checksums([b'x', b'y', b'z'])"
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            ticks = beat.ticks
            result = await checksums(beat, watch, list(blobs), 20, what)
            seen = beat.ticks - ticks
    check_list(
        result, [crunch(b, 20) for b in blobs], "checksums", what, digests_likely(blobs, 20, watch)
    )
    if seen < 1:
        fail(f"{what}: the test's heartbeat never ticked while the pool worked.")


@pytest.mark.task(3)
async def test_checksums_hands_results_to_the_loop_safely():
    # Here each result comes back from the pool's own thread as soon as its job is done, as
    # it would without the test; the heartbeat notes any loop.call_soon made from that thread.
    blobs = [b"p", b"q"]
    what = "checksums([b'p', b'q'])"
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            result = await checksums(beat, watch, list(blobs), 3, what, hold=False)
    checks.equal(sorted(result), sorted(crunch(b, 3) for b in blobs), what)


@pytest.mark.task(3)
async def test_checksums_shuts_its_pool_down_every_call():
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            one = await checksums(beat, watch, [b"first"], 5, "checksums([b'first'])")
            two = await checksums(
                beat, watch, [b"second", b"third"], 5, "checksums([b'second', b'third'])"
            )
            children = multiprocessing.active_children()
    check_list(one, [crunch(b"first", 5)], "checksums", "The first call, checksums([b'first'])")
    later = digests_likely([b"second", b"third"], 5, watch)
    checks.equal(
        two,
        [crunch(b"second", 5), crunch(b"third", 5)],
        "The second call, checksums([b'second', b'third'])",
        lambda got: (
            "It holds a result of the first call: keep nothing between calls."
            if isinstance(got, list) and crunch(b"first", 5) in got
            else later(got)
        ),
    )
    if children:
        fail(
            f"{checks.count(len(children), 'process', 'processes')} of your pools were still "
            "running after checksums() had returned: shut the pool down before you return "
            "(`with ProcessPoolExecutor() as pool:`)."
        )


@pytest.mark.task(3)
async def test_checksums_twice_shares_nothing():
    # b'first' in both calls, and the second call is given another work(), whose digests
    # differ: a digest kept from the first call is the wrong one.
    first, second = [b"first"], [b"first", b"second"]
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            one = await checksums(beat, watch, list(first), 5, "checksums([b'first'])")
            what = "checksums([b'first', b'second']), given another work()"
            other = new_work(beat, salt=b"another")
            two = await checksums(beat, watch, list(second), 5, what, hold=False, work=other)
    check_list(one, [crunch(b"first", 5)], "checksums", "The first call, checksums([b'first'])")
    check_list(
        two,
        [crunch(b"another" + b, 5) for b in second],
        "checksums",
        f"The second call, {what}",
        "It returned a digest of the first call, kept from an earlier call: keep nothing "
        "between calls.",
    )


@pytest.mark.task(3)
async def test_checksums_raises_the_error_of_a_failed_job():
    blobs = [b"ok", b"bad", b"fine"]
    what = "checksums([b'ok', b'bad', b'fine']), where work(b'bad') raises"
    message = "work() cannot hash b'bad'"
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            watch.expect(len(blobs), hold=False)  # each result as soon as its job is done
            raised, returned = await call_and_catch(
                beat, "checksums", new_work(beat, refuse=b"bad"), list(blobs), rounds=2
            )
            await no_executor_left(watch, what)
            await no_process_left(what)
    check_the_error(
        "checksums",
        what,
        raised,
        returned,
        lambda exc: type(exc) is Refused and str(exc) == message,
        f"the ValueError that work(b'bad') raised in the pool's process (Refused: {message})",
    )
    refused = sum(
        1
        for job in watch.jobs
        if job.real.done() and not job.real.cancelled() and type(job.real.exception()) is Refused
    )
    if refused != 1:
        fail(
            f"{what}: work(b'bad') ran {checks.count(refused, 'time')}; run each job once, "
            "and let its exception reach your caller (no retry)."
        )


@pytest.mark.task(3)
async def test_checksums_of_no_blobs_is_an_empty_list():
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            result = await checksums(beat, watch, [], 10, "checksums([])")
    if not isinstance(result, list):
        fail(
            f"checksums([]) returned a {type(result).__name__}, {result!r}; the contract "
            "promises a list: an empty list, []."
        )
    checks.equal(result, [], "checksums([])")


@pytest.mark.task(3)
async def test_checksums_keeps_repeated_and_empty_blobs():
    blobs = [b"same", b"", b"same"]
    what = "checksums([b'same', b'', b'same'], rounds=0)"
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            given = list(blobs)
            result = await checksums(beat, watch, given, 0, what)
    checks.equal(given, blobs, "The caller's `blobs` after checksums()", "Leave it unchanged.")
    if not isinstance(result, list):
        fail(
            f"checksums() returned a {type(result).__name__} ({result!r}); the contract "
            "promises a list: `list(await asyncio.gather(...))`."
        )
    check_list(
        result,
        [crunch(b, 0) for b in blobs],
        "checksums",
        f"{what} (0 rounds: each digest is the blob itself, in hex; b'' gives '')",
        digests_likely(blobs, 0, watch),
    )
    check_jobs(watch, blobs, what)


@pytest.mark.task(3)
async def test_checksums_of_awkward_blobs():
    blobs = [b"\x00", b"\xff\xfe\r\n", bytes(range(256)) * 4096]
    what = "checksums() of b'\\x00', b'\\xff\\xfe\\r\\n' and a 1 MB blob"
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            result = await checksums(beat, watch, list(blobs), 3, what)
    check_list(
        result, [crunch(b, 3) for b in blobs], "checksums", what, digests_likely(blobs, 3, watch)
    )
    check_jobs(watch, blobs, what)


@pytest.mark.task(3)
async def test_cancelling_checksums_shuts_the_pool_down():
    blobs = [b"a", b"b", b"c"]
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            watch.expect(3, keep=True)

            def all_done() -> bool:
                done = bool(watch.jobs) and all(j.real_done for j in watch.jobs)
                return done and (watch.submitted() == 3 or settled(watch.jobs, watch.last_change))

            problem = await cancel_during(
                beat, "checksums", all_done, executors.checksums(new_work(beat), blobs, rounds=1)
            )
            blocked_on_loop = watch.blocked
            watch.release()
            await watch.watchdog_gone()
            if blocked_on_loop:
                check_pool(watch, "checksums() of three blobs", blobs)
            if problem:
                fail(f"checksums() of three blobs, cancelled while it waited: {problem}")
            await no_executor_left(watch, "the cancelled checksums()")


BLOBS = st.lists(st.sampled_from([b"a", b"b", b"", b"\x00", b"A" * 100]), max_size=4)


@pytest.mark.task(3)
@scenarios.given(blobs=BLOBS, rounds=st.sampled_from([0, 1, 7]), max_examples=8)
@sticky
async def test_checksums_in_any_scenario(blobs, rounds):
    scene = f"checksums({describe_blobs(blobs)}, rounds={rounds})"
    scenarios.describe(scene)
    async with heartbeat() as beat:
        with watching_executors(beat) as watch:
            given = list(blobs)
            result = await checksums(beat, watch, given, rounds, scene)
    checks.equal(
        as_list(result),
        [crunch(b, rounds) for b in blobs],
        scene,
        digests_likely(blobs, rounds, watch),
    )
    check_jobs(watch, blobs, scene)
    checks.equal(given, blobs, f"The caller's `blobs` after {scene}", "Leave it unchanged.")
