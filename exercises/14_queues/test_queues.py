"""Exercise 14 tests. Run them with `pytest exercises/14`."""

import asyncio
import heapq
import linecache
import sys
from collections import Counter
from dataclasses import dataclass, field

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import fail, now

queues = exercise_module(__file__)

CLEANUP = 0.25  # what a cancelled fake handle() or fetch() takes to clean up
DAY = 86_400
SPIN_TURNS = 1_000  # turns of the loop at one loop time, each with a callback ready: polling
WAKE_UPS = 100  # moments the loop woke at during one call (a correct answer: under ten)


def key(value: object) -> tuple[str, str]:
    """A sortable, hashable stand-in for any value (items may be None, lists, ...)."""
    return type(value).__name__, repr(value)


def same(a: object, b: object) -> bool:
    """`a` is `b`, or an equal value of the same type (0 is not False, 1 is not 1.0)."""
    return a is b or (type(a) is type(b) and a == b)


class Broken(Exception):
    """The error a fake handle() or fetch() raises for an item or page that fails."""


class NotFound(Exception):
    """What the fake fetch() raises for a URL the site does not have."""


# -- Watching the learner's code ------------------------------------------------------------


class SpinWatch:
    """Notices a task that polls instead of waiting. With `await asyncio.sleep(0)` between
    tries (get_nowait() or empty() in a loop), the event loop goes round and round at one
    loop time, a callback ready on every turn: on the virtual clock that stops time for
    good, so no fake handle() or fetch() could ever finish. The loop asks its selector for
    I/O with a zero timeout exactly when a callback is ready; this counts those turns at one
    loop time and calls `on_spin` when they reach SPIN_TURNS (a correct answer makes a few
    dozen). With a short sleep between tries instead, the loop wakes at moment after moment
    though nothing happens; this counts the distinct loop times the loop asked for I/O at,
    and calls `on_spin` when they reach WAKE_UPS (a correct answer wakes only when a fake
    finishes: under ten times here)."""

    def __init__(self, on_spin) -> None:
        self.loop = asyncio.get_running_loop()
        self.on_spin = on_spin
        self.at: float | None = None
        self.turns = 0
        self.spun_at: float | None = None
        self.moments = 0
        self.last: float | None = None
        self.woke_too_often = False
        self.selector = getattr(self.loop, "_selector", None)
        self.own = False

    def __enter__(self) -> "SpinWatch":
        if self.selector is not None and callable(getattr(self.selector, "select", None)):
            self.own = "select" in vars(self.selector)  # looptime puts its own one there
            self.original = self.selector.select
            self.selector.select = self.select
        return self

    def select(self, timeout=None):
        if self.spun_at is None:
            t = self.loop.time()
            if t != self.last:
                self.last = t
                self.moments += 1
                if self.moments >= WAKE_UPS:
                    self.spun_at, self.woke_too_often = round(t, 6), True
                    self.on_spin()
            if timeout == 0:
                if t != self.at:
                    self.at, self.turns = t, 0
                self.turns += 1
                if self.turns >= SPIN_TURNS:
                    self.spun_at = round(t, 6)
                    self.on_spin()
        return self.original(timeout)

    def __exit__(self, *exc) -> None:
        if self.selector is None or self.selector.select != self.select:
            return
        if self.own:
            self.selector.select = self.original
        else:
            del self.selector.select


@dataclass
class Run:
    """How one call of the learner's code went, seen from its caller."""

    what: str
    limit: float
    value: object = None
    error: BaseException | None = None
    cancelled: bool = False  # it ended with CancelledError (not the test's time limit)
    ended_at: float | None = None  # loop time from the call
    alive: list = field(default_factory=list)  # tasks it started, still running when it ended
    cancelling: int = 0  # how many of those had been cancelled (and not ended yet)
    never_ended: bool = False  # still running `limit` s after the call
    stuck: tuple | None = None  # then: (line of the learner's file, code, what it awaited)
    stuck_tasks: list = field(default_factory=list)  # ... and the same for each task it started
    spun_at: float | None = None  # loop time (from the call) at which the loop spun
    woke_too_often: bool = False  # ... by waking WAKE_UPS times (not by turning at one time)
    started: set = field(default_factory=set)  # every task it started that we saw


async def settle(tasks) -> None:
    """Test cleanup: end every task the learner's code left behind."""
    tasks = set(tasks)
    for _ in range(3):
        pending = [t for t in tasks if not t.done() and t is not asyncio.current_task()]
        if not pending:
            break
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=5)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" noise


class Creators:
    """While active, remembers which task created each new task (through the loop's task
    factory), so the test can tell the tasks a call of the learner's code started, however
    deep, from those the test started (a task of the test's own calling pool.join(), say)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.of: dict[asyncio.Task, asyncio.Task | None] = {}

    def __enter__(self) -> "Creators":
        self.previous = self.loop.get_task_factory()
        self.loop.set_task_factory(self.factory)
        return self

    def factory(self, loop, coro, **kwargs):
        if self.previous is not None:
            task = self.previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        self.of[task] = asyncio.current_task(loop)
        return task

    def __exit__(self, *exc) -> None:
        self.loop.set_task_factory(self.previous)

    def descends(self, task: asyncio.Task, root: asyncio.Task, ours: set) -> bool:
        """Whether `task` was started by `root`, or by a task that was, ..., and not through
        one of the test's own tasks (`ours`)."""
        seen = set()
        while task is not None and task not in seen:
            seen.add(task)
            task = self.of.get(task)
            if task is root:
                return True
            if task in ours:
                return False
        return False


async def run(call, what: str, limit: float, cancel_at: float | None = None, ours=()) -> Run:
    """Run `call()` (a coroutine of the learner's code) as a task, cancelling it at
    `cancel_at` if given; record how and when it ended, which tasks it had started that were
    still running then, and whether the loop spun. Cleans up whatever it left running.
    `ours`: the test's own tasks (the test may add to the set meanwhile)."""
    r = Run(what, limit)
    t0 = now()
    ours = ours if isinstance(ours, set) else set(ours)
    me: asyncio.Task | None = None

    def spawned() -> set:
        found = {
            t
            for t in creators.of
            if t is not me and t not in ours and creators.descends(t, me, ours)
        }
        r.started |= found
        return {t for t in found if not t.done()}

    async def observed() -> None:
        try:
            r.value = await call()
        except asyncio.CancelledError:
            r.cancelled = True
            raise
        except Exception as exc:  # an ExceptionGroup too
            r.error = exc
        finally:
            r.ended_at = round(now() - t0, 6)
            r.alive = list(spawned())
            r.cancelling = sum(1 for t in r.alive if t.cancelling())

    with Creators() as creators:
        me = asyncio.create_task(observed())
        if cancel_at is not None:
            asyncio.get_running_loop().call_later(cancel_at, me.cancel)
        try:
            with SpinWatch(me.cancel) as spin:
                done, _ = await asyncio.wait([me], timeout=limit)
                spawned()
                if not done:
                    r.never_ended = True
                    r.stuck = stuck_at(me)
                    r.stuck_tasks = [stuck_at(t) for t in spawned()]
                    me.cancel()
                    await asyncio.wait([me], timeout=5)
        finally:
            if not me.done():  # the test itself was cancelled (the kit's own limit)
                me.cancel()
                await settle(r.started | spawned() | {me})
        if spin.spun_at is not None:
            r.spun_at = round(spin.spun_at - t0, 6)
            r.woke_too_often = spin.woke_too_often
        await settle(r.started | spawned())
    if me.done() and not me.cancelled() and me.exception() is not None:
        raise me.exception()  # from the test's own code: not the learner's
    return r


def is_learners(filename: str) -> bool:
    parts = filename.replace("\\", "/").split("/")
    return parts[-2:] == ["14_queues", "queues.py"]


def stuck_at(task: asyncio.Task) -> tuple | None:
    """Where a waiting task is stuck in the learner's file: (line number, the line, the name
    of what that line awaits: "join", "put", "gather", ...), following its chain of awaits."""
    found = None
    obj = task.get_coro()
    while obj is not None:
        frame = getattr(obj, "cr_frame", None)
        if frame is not None and is_learners(frame.f_code.co_filename):
            found = [frame.f_lineno, linecache.getline(frame.f_code.co_filename, frame.f_lineno)]
            found.append(None)
        elif found is not None and found[2] is None:
            found[2] = getattr(getattr(obj, "cr_code", None), "co_name", type(obj).__name__)
            if getattr(getattr(obj, "cr_code", None), "co_qualname", "") == "Event.wait":
                found[2] = "Event.wait"
        obj = getattr(obj, "cr_await", None)
    if found is None:
        return None
    return found[0], found[1].strip(), found[2] or ""


def stuck_text(r: Run) -> str:
    if r.stuck is None:
        return ""
    line, code, _ = r.stuck
    return f" It was waiting at line {line} of your file: `{code}`."


def stuck_on_workers(r: Run) -> bool:
    """Waiting on a future (gather() of the workers, a task) rather than on the queue."""
    waits = ("FutureIter", "_GatheringFuture", "Task", "Future", "wait", "__aexit__", "gather")
    return r.stuck is not None and r.stuck[2] in waits


def task_names(tasks) -> str:
    names = Counter()
    for t in tasks:
        coro = t.get_coro()
        names[getattr(coro, "__qualname__", None) or repr(coro)] += 1
    return ", ".join(f"{n}() x{c}" if c > 1 else f"{n}()" for n, c in names.items())


def check_spin(r: Run, scene: str) -> None:
    if r.spun_at is None:
        return
    if r.woke_too_often:
        fail(
            f"{scene}: by {r.spun_at:g} s the event loop had woken up at {WAKE_UPS:,} different "
            "moments, though the fakes the test gave you only finish at a few of them: "
            "something polls on a timer. Likely: a worker that tries queue.get_nowait() (or "
            "queue.empty()) and sleeps a little between tries, so it notices an item only at "
            "its next try and keeps the loop busy all along. Wait with "
            "`item = await queue.get()`: it wakes the moment an item comes, and only then."
        )
    fail(
        f"{scene}: at {r.spun_at:g} s the event loop went round {SPIN_TURNS:,} times without "
        "its clock moving, a callback ready on every turn: something polls instead of "
        "waiting. Likely: a worker loop around queue.get_nowait() or queue.empty() with "
        "`await asyncio.sleep(0)` while the queue is empty. It never "
        "lets the clock move, so nothing that sleeps can finish. Wait with "
        "`item = await queue.get()`: it sleeps until an item comes, at no cost."
    )


def check_interrupted(calls: list, scene: str, fake: str) -> None:
    for c in calls:
        if c.interrupted_at is not None:
            fail(
                f"{scene}: {fake}({c.item!r}) was cancelled at {c.cancelled_at:g} s, and its "
                f"cleanup was itself cancelled at {c.interrupted_at:g} s: its task was "
                "cancelled a second time while it was still cleaning up. Likely: the "
                "workers were cancelled twice, once by a gather() that was itself cancelled "
                "(it cancels its tasks) and again by you; or cancel() called in a loop. "
                "Cancel each worker once, then wait for it."
            )


def check_alive(r: Run, scene: str, function: str) -> None:
    if not r.alive:
        return
    count = len(r.alive)
    tasks = f"{checks.count(count, 'task')} it started ({task_names(r.alive)})"
    how = f"{function} {'ended cancelled' if r.cancelled else 'ended'} at {r.ended_at:g} s"
    if r.cancelling == count:
        fail(
            f"{scene}: {how}, while {tasks} had been cancelled but had not ended yet: "
            "task.cancel() only asks a task to stop (and a gather() that is itself cancelled "
            "cancels its tasks without waiting for them). Await the workers after cancelling "
            "them (`await asyncio.gather(*workers, return_exceptions=True)`), so that none "
            "of them outlives the call."
        )
    fail(
        f"{scene}: {how}, but {tasks} {'was' if count == 1 else 'were'} still running. "
        "Likely: the workers were never stopped: once queue.join() has returned they wait "
        "in queue.get() forever"
        + (
            ", and when the caller cancels, a worker that is not cancelled goes on by itself"
            if r.cancelled
            else ""
        )
        + ". Stop them: put one sentinel (a unique `STOP = object()`) per worker on the "
        "queue, or cancel each worker; then await them all before returning (in a "
        "`finally:`, so that a cancelled call stops them too)."
    )


def sentinel_hint(item: object) -> str:
    if item is None or (isinstance(item, str) and item.strip().lower() in {"", "stop", "done"}):
        return (
            f" Likely: {item!r} is the value your workers take as the signal to stop (a "
            "sentinel), but an item can be anything. Make the sentinel a value no caller "
            "can give: `STOP = object()`, compared with `is`."
        )
    return ""


# -- Task 1: process_all ----------------------------------------------------------------------


@dataclass
class Call:
    """One call of a fake handle() or fetch()."""

    item: object
    started: float
    task: object
    ended: float | None = None
    how: str | None = None  # "returned", "raised" or "cancelled"
    cancelled_at: float | None = None
    interrupted_at: float | None = None  # a second cancel cut its cleanup short


class Handle:
    """A fake handle(item). `spec` lists (item, seconds, outcome): handling the item takes
    that long, then returns its result (outcome "ok"; the result is `results`' entry for the
    item, or f"{item!r} done") or raises the outcome (an Exception). Other items take
    `seconds` and succeed. Cancelled, it takes CLEANUP s to clean up. Records every call and
    the most calls running at once."""

    def __init__(
        self, spec=(), seconds: float = 1, results=(), cleanup: float = CLEANUP, cleanups=()
    ):
        self.t0 = now()
        self.cleanups = list(cleanups)  # (item, seconds) for items whose cleanup differs
        self.spec = list(spec)
        self.seconds = seconds
        self.results = list(results)  # (item, result) pairs
        self.cleanup = cleanup
        self.calls: list[Call] = []
        self.running = 0
        self.peak = 0

    def since(self) -> float:
        return round(now() - self.t0, 6)

    def seconds_of(self, item: object) -> float:
        return next((s for i, s, _ in self.spec if same(i, item)), self.seconds)

    def cleanup_of(self, item: object) -> float:
        return next((s for i, s in self.cleanups if same(i, item)), self.cleanup)

    def outcome_of(self, item: object) -> object:
        """The error the item raises, or its result."""
        error = next((o for i, _, o in self.spec if same(i, item)), "ok")
        if isinstance(error, BaseException):
            return error
        return next((r for i, r in self.results if same(i, item)), f"{item!r} done")

    def __call__(self, item):
        call = Call(item, self.since(), asyncio.current_task())
        self.calls.append(call)
        return self.handle_item(call)

    async def handle_item(self, call: Call) -> object:
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(self.seconds_of(call.item))
        except asyncio.CancelledError:
            call.cancelled_at = self.since()
            try:
                await asyncio.sleep(self.cleanup_of(call.item))
            except asyncio.CancelledError:
                call.interrupted_at = self.since()
                raise
            finally:
                call.ended, call.how = self.since(), "cancelled"
                self.running -= 1
            raise
        self.running -= 1
        call.ended = self.since()
        outcome = self.outcome_of(call.item)
        if isinstance(outcome, BaseException):
            call.how = "raised"
            raise outcome
        call.how = "returned"
        return outcome

    def calls_of(self, item: object) -> list[Call]:
        return [c for c in self.calls if same(c.item, item)]


def starts_of(items, workers: int, seconds_of) -> tuple[list[float], float]:
    """The oracle: when each item starts (taken first come, first served by the first free
    worker) and when the last one ends."""
    free = [0.0] * workers
    starts, end = [], 0.0
    for item in items:
        start = heapq.heappop(free)
        starts.append(start)
        end = max(end, start + seconds_of(item))
        heapq.heappush(free, start + seconds_of(item))
    return starts, end


def describe_items(items, handle: Handle) -> str:
    parts = []
    for item in items:
        outcome = handle.outcome_of(item)
        fails = " raising" if isinstance(outcome, BaseException) else ""
        parts.append(f"{item!r} ({handle.seconds_of(item):g} s{fails})")
    return "[" + ", ".join(parts) + "]"


def unexpected(r: Run, known=()) -> BaseException | None:
    """The error the call raised if the test did not cause it (so the kit reports it)."""
    if r.error is None:
        return None
    leaves = [r.error]
    while any(isinstance(e, BaseExceptionGroup) for e in leaves):
        leaves = [
            x for e in leaves for x in (e.exceptions if isinstance(e, BaseExceptionGroup) else [e])
        ]
    if any(any(leaf is k for k in known) for leaf in leaves):
        return None
    return r.error


def escaped_error(
    r: Run, known, scene: str, function: str, where: str, kept: str = "kept in the result"
) -> None:
    """Fail when an error a fake raised (one of `known`) escaped from the call."""
    if r.error is None or unexpected(r, known) is not None:
        return
    fail(
        f"{scene}: {function} raised {r.error!r}, the error {where} raised; expected it to be "
        f"{kept}, and the other work to go on. Likely: the worker does not catch "
        "the exception (so it ends the worker, and asyncio.gather() or a TaskGroup hands it "
        "on). Catch `Exception` around the await, keep it, and carry on with the next one."
    )


def queue_errors(r: Run, scene: str, function: str) -> None:
    """Fail with a teaching line for the queue errors a learner's own code tends to raise."""
    leaves = [r.error] if r.error is not None else []
    while any(isinstance(e, BaseExceptionGroup) for e in leaves):
        leaves = [
            x for e in leaves for x in (e.exceptions if isinstance(e, BaseExceptionGroup) else [e])
        ]
    for error in leaves:
        if isinstance(error, AttributeError) and "shutdown" in str(error):
            fail(
                f"{scene}: {function} raised {error!r}. Queue.shutdown() is new in Python 3.13, "
                f"and these tests ran on Python {sys.version_info[0]}.{sys.version_info[1]}. "
                "Keep a fallback for older versions (`if hasattr(queue, 'shutdown'):` ... "
                "else cancel the workers, or put one sentinel per worker, and drop the "
                "waiting items with get_nowait() + task_done())."
            )
        if isinstance(error, asyncio.QueueFull) and function == "process_all()":
            fail(
                f"{scene}: process_all() raised QueueFull. Likely: a bounded queue "
                "(asyncio.Queue(maxsize)) filled with put_nowait(), which refuses an item "
                "once the queue is full. Give the items an unbounded asyncio.Queue(), or "
                "`await queue.put(item)` while the workers are already taking them."
            )


def own_time_limit(r: Run, scene: str, function: str) -> None:
    if isinstance(r.error, TimeoutError):
        fail(
            f"{scene}: {function} raised TimeoutError after {r.ended_at:g} s, though nothing in "
            "the test has a time limit. Likely: a time limit of your own (asyncio.wait_for() "
            "or asyncio.timeout() around join(), 'to be safe'). Wait as long as the work takes."
        )


def died_of_own_error(r: Run, calls: list, lead: str, known) -> None:
    """Fail when a task the learner started (seen running or calling a fake) ended with an
    error no fake raised."""
    for task in r.started | {c.task for c in calls if isinstance(c.task, asyncio.Task)}:
        if not task.done() or task.cancelled() or task.exception() is None:
            continue
        error = task.exception()
        if any(error is k for k in known):
            continue
        hint = (
            " Likely: items kept in a set or used as dict keys; an item can be anything, a "
            "list included: keep each result by its item's position instead."
            if isinstance(error, TypeError) and "unhashable" in str(error)
            else ""
        )
        fail(
            f"{lead}: a task it started ({task_names([task])}) ended with {error!r}, an error "
            f"of its own, so the work it had taken on was never finished.{hint}"
        )


def all_done(r: Run, lead: str, calls: list, noun: str) -> None:
    """Fail a call that never ended though every fake call it made was over."""
    last = max((c.ended for c in calls), default=0)
    raised = [c for c in calls if c.how == "raised"]
    done = "fetched" if noun == "URL" else "handled"
    head = f"{lead}, though every {noun} had been {done} by {last:g} s.{stuck_text(r)}"
    if r.stuck is not None and r.stuck[2] == "Event.wait":
        fail(
            f"{head} That line waits for an asyncio.Event, and nothing set it, though the "
            "work was done. If it is what join() waits for (the pool to stop, say), wait for "
            "the queue instead: `await queue.join()` returns once task_done() has been called "
            "for every item put on it."
        )
    swallowed = [c for c in calls if c.how == "cancelled"]
    if stuck_on_workers(r) and swallowed and r.stuck_tasks:
        c = swallowed[0]
        fail(
            f"{head} That waits for the workers, which did not end: {len(r.stuck_tasks)} "
            f"still running, though the {noun} {c.item!r} they were on was cancelled at "
            f"{c.cancelled_at:g} s and ended cancelled. Likely: the worker catches the "
            "CancelledError (`except BaseException:`, or a bare `except:`) and carries on "
            "with its loop. Catch `Exception` only: a CancelledError must end the worker."
        )
    if stuck_on_workers(r):
        fail(
            f"{head} That waits for tasks that never end: likely workers never told to stop "
            "(one sentinel short, or never cancelled), each still waiting in queue.get(). Once "
            "queue.join() has returned, put one sentinel per worker or cancel them; then await "
            "them."
        )
    fail(
        f"{head} Likely: queue.join() waits until task_done() has been called once for every "
        f"{noun} put on the queue (sentinels included), and a task_done() is missing"
        + (
            f"; {noun}s raised here ({', '.join(repr(c.item) for c in raised)}): is task_done() "
            "skipped when that happens?"
            if raised
            else ", on some path through the worker's loop (a `continue` before it?)."
        )
        + " Call queue.task_done() in a `finally:` after each get()."
    )


def hung_pool(r: Run, handle: Handle, items, scene: str) -> None:
    """Explain a process_all() that never returned, from what the fake handle saw."""
    unfinished = [c for c in handle.calls if c.how is None]
    handled = [c for c in handle.calls if c.how is not None]
    dead = [
        c
        for c in handle.calls
        if c.how == "raised"
        and isinstance(c.task, asyncio.Task)
        and c.task.done()
        and not c.task.cancelled()
        and c.task.exception() is handle.outcome_of(c.item)
    ]
    lead = f"{scene}: process_all() had still not returned {r.limit:g} s after it was called"
    died_of_own_error(r, handle.calls, lead, [handle.outcome_of(c.item) for c in handle.calls])
    if dead:
        c = dead[0]
        fail(
            f"{lead}. The worker that handled {c.item!r} ended at {c.ended:g} s with the error "
            f"handle() raised for it ({handle.outcome_of(c.item)!r}), so "
            f"{len(items) - len(handle.calls)} of the {len(items)} items were never taken off "
            "the queue, and join() waits for them forever. An error in one item must not end "
            "its worker: catch `Exception` around `await handle(item)`, put the exception in "
            "the item's place, and go on with the next item."
        )
    if not unfinished and len(handled) == len(items):
        all_done(r, lead, handle.calls, "item")
    never = [i for i in items if not handle.calls_of(i)]
    fail(
        f"{lead}; {len(handled)} of the {len(items)} items had been handled"
        + (f", and {never[0]!r} never was." if never else ".")
        + (
            (sentinel_hint(never[0]) if never else "")
            or " Likely: every worker stopped before the queue was empty, or join() waits for "
            "a task_done() that never comes."
        )
    )


def judge_pool(r: Run, handle: Handle, items, before: list, workers: int, scene: str) -> None:
    """Compare a process_all() call with the oracle; fail with the first difference."""
    check_spin(r, scene)
    errors = [o for o in (handle.outcome_of(i) for i in items) if isinstance(o, BaseException)]
    if isinstance(r.error, TypeError) and "unhashable" in str(r.error):
        fail(
            f"{scene}: process_all() raised {r.error!r}. Likely: the items are kept in a set "
            "or used as dict keys; an item can be anything, a list included, and may come "
            "twice. Keep each result by its item's position (its index) instead."
        )
    queue_errors(r, scene, "process_all()")
    escaped_error(r, errors, scene, "process_all()", "handle() of an item")
    own_time_limit(r, scene, "process_all()")
    if (error := unexpected(r)) is not None:
        raise error
    if r.never_ended:
        hung_pool(r, handle, items, scene)
    check_alive(r, scene, "process_all()")
    if r.cancelled:
        fail(
            f"{scene}: process_all() ended cancelled at {r.ended_at:g} s, though nothing "
            "cancelled it. Likely: `await asyncio.gather(*workers)` after cancelling the "
            "workers, without return_exceptions=True: it raises the first cancelled worker's "
            "CancelledError. "
            "Await them with `asyncio.gather(*workers, return_exceptions=True)`."
        )
    if list(items) != before or len(items) != len(before):
        fail(
            f"{scene}: process_all() changed the caller's items: they were {before!r}, and "
            f"after the call {list(items)!r}. Leave `items` unchanged: put them on the queue "
            "as they are (a for loop over them), without pop() or del."
        )
    checks.not_coroutine(r.value, "process_all()'s result")
    if not isinstance(r.value, list):
        fail(
            f"{scene}: process_all() returned {r.value!r}, a {type(r.value).__name__}; "
            "expected a new list of results."
        )
    if r.value is items:
        fail(f"{scene}: process_all() returned the very list of items it was given.")
    for item in dict.fromkeys(map(key, items)):
        wanted = [i for i in items if key(i) == item]
        got = handle.calls_of(wanted[0])
        if len(got) != len(wanted):
            fail(
                f"{scene}: handle({wanted[0]!r}) was called {checks.count(len(got), 'time')}; "
                f"expected {checks.count(len(wanted), 'time')}, once for each time the item is "
                "given"
                + (
                    " (duplicates included). Likely: the items were made unique first (a set, "
                    "dict keys)."
                    if 0 < len(got) < len(wanted)
                    else "."
                    if got
                    else "." + sentinel_hint(wanted[0])
                )
                + (
                    " A failed item is kept as it is, not tried again."
                    if len(got) > len(wanted)
                    and isinstance(handle.outcome_of(wanted[0]), BaseException)
                    else ""
                )
            )
    expected = [handle.outcome_of(i) for i in items]
    got = r.value

    def likely(got: list) -> str:
        foreign = [g for g in got if not any(same(g, e) for e in expected)]
        if len(got) != len(expected) and foreign and not isinstance(foreign[0], Exception):
            return (
                f"One result per item, in the order of items. {foreign[0]!r} is not what "
                "handle() gave for any item of this call: likely the results are kept where "
                "another call also writes them (a list at module level, or a default "
                "argument). Make the list of results inside each call."
            )
        if len(got) != len(expected):
            return (
                "One result per item, in the order of items. Likely: results kept in a dict "
                "keyed by item (an item given twice is one key) or in a set."
            )
        cut = [
            c
            for i, g in zip(items, got, strict=True)
            if g is None
            for c in handle.calls_of(i)
            if c.how == "cancelled"
        ]
        if cut:
            c = cut[0]
            return (
                f"handle({c.item!r}) was cancelled at {c.cancelled_at:g} s, before it had "
                f"finished, and process_all() returned at {r.ended_at:g} s without its result: "
                "queue.join() returned while items were still being handled. Likely: "
                "task_done() called right after get(), before handle() is done. Call it in a "
                "`finally:` after the item has been handled."
            )
        dropped = [
            (i, e)
            for i, e, g in zip(items, expected, got, strict=True)
            if g is None and e is not None and not e and not isinstance(e, Exception)
        ]
        if dropped:
            return (
                f"handle({dropped[0][0]!r}) returned {dropped[0][1]!r}, and its place holds "
                "None. Likely: a falsy result is not stored (`if result:`, or `result or "
                "None`). Store whatever handle() returned, 0, '' and [] included."
            )
        if sorted(map(key, got)) == sorted(map(key, expected)):
            return (
                "The right results in another order: likely in the order the items finished "
                "(a list appended to by the workers). Put each result at its item's index: "
                "queue (index, item) pairs and write `results[index] = ...`."
            )
        timeouts = [
            i
            for i, (e, g) in enumerate(zip(expected, got, strict=True))
            if isinstance(g, TimeoutError) and not isinstance(e, TimeoutError)
        ]
        if timeouts:
            return (
                f"The place of {items[timeouts[0]]!r} holds a TimeoutError, though handle() "
                "never raised one: likely a time limit of your own on each item "
                "(asyncio.wait_for(), asyncio.timeout()). An item may take as long as it takes."
            )
        repeated = [
            i
            for i, (e, g) in enumerate(zip(expected, got, strict=True))
            if not same(e, g) and any(same(items[i], x) for x in items[:i])
        ]
        if repeated and len(repeated) == sum(
            not same(e, g) for e, g in zip(expected, got, strict=True)
        ):
            return (
                f"Only the places of repeated items are wrong (index {repeated[0]}, "
                f"{items[repeated[0]]!r} again): likely the position found with "
                "items.index(item), which always gives the first of equal items. Queue "
                "(index, item) pairs instead."
            )
        lost = [
            e for e, g in zip(expected, got, strict=True) if isinstance(e, Exception) and g is not e
        ]
        if lost:
            return (
                f"The error handle() raised ({lost[0]!r}) must be the result itself in its "
                "item's place: `except Exception as exc: results[index] = exc`."
            )
        return ""

    checks.equal(got, expected, f"{scene}: the results", likely)
    if handle.peak > workers:
        fail(
            f"{scene}: {handle.peak} handle() calls ran at once; expected at most {workers}, "
            "the number of workers. Likely: a task per item (or gather() of them all) instead "
            f"of {workers} workers taking items off one queue."
        )
    starts, end = starts_of(items, workers, handle.seconds_of)
    if (
        r.ended_at is not None
        and r.ended_at > end
        and handle.calls
        and all(c.ended is not None and c.ended < r.ended_at for c in handle.calls)
        and handle.peak <= workers
    ):
        last = max(c.ended for c in handle.calls)
        if last == end:
            fail(
                f"{scene}: process_all() returned at {r.ended_at:g} s, though its last item had "
                f"been handled at {last:g} s and nothing happened in between. Likely: it checks "
                "on a timer whether the work is done (queue.empty(), a counter) instead of "
                "waiting for it with `await queue.join()`, which returns the moment the last "
                "task_done() is called."
            )
    want = sorted(zip(starts, map(key, items), strict=True))
    seen = sorted((c.started, key(c.item)) for c in handle.calls)
    if seen != want:
        fail(
            f"{scene}: when each item's handle() started: expected {show_starts(want)}; got "
            f"{show_starts(seen)}. "
            + (
                f"Only one handle() ever ran at a time, with workers={workers}. Likely: the "
                "workers were awaited one after another (`await worker()` in a loop) instead "
                "of started together as tasks with asyncio.create_task()."
                if handle.peak == 1 and workers > 1 and len(items) > 1
                else f"At most {handle.peak} handle() calls ever ran at once, though "
                f"workers={workers} and {len(items)} items were waiting at 0 s. Likely: fewer "
                f"workers than asked (a cap such as min(workers, 3) or os.cpu_count()). Start "
                "exactly `workers` worker tasks."
                if 1 < handle.peak < min(workers, len(items))
                else "Each item must start the moment a worker is free, in the order given."
            )
        )
    checks.took(r.ended_at, end, f"{scene}: process_all()")


def show_starts(starts: list) -> str:
    return ", ".join(f"{k[1]} at {t:g} s" for t, k in starts) or "none"


async def call_pool(handle: Handle, items, workers: int, scene: str, limit: float = 100, **kw):
    before = list(items)
    r = await run(lambda: queues.process_all(handle, items, workers), scene, limit, **kw)
    return r, before


async def pool_case(items, workers: int, spec=(), results=(), limit: float = 100) -> Run:
    handle = Handle(spec, results=results)
    scene = f"process_all() of items {describe_items(items, handle)} with workers={workers}"
    scenarios.describe(scene)
    r, before = await call_pool(handle, items, workers, scene, limit)
    judge_pool(r, handle, items, before, workers, scene)
    return r


@pytest.mark.task(1)
async def test_process_all_runs_the_workers_at_once_and_keeps_the_order_of_items():
    items = ["a", "b", "c", "d", "e"]
    await pool_case(items, 2, spec=[("a", 2, "ok"), ("d", 2, "ok")])


@pytest.mark.task(1)
async def test_at_most_workers_at_once_and_never_fewer_while_items_wait():
    await pool_case([f"job{i}" for i in range(7)], 3)


@pytest.mark.task(1)
async def test_many_workers_all_run_at_once():
    await pool_case([f"job{i}" for i in range(8)], 8)
    await pool_case([f"job{i}" for i in range(50)], 50)


@pytest.mark.task(1)
async def test_more_workers_than_items_and_no_items_at_all():
    await pool_case(["only"], 4)
    await pool_case([], 3)


@pytest.mark.task(1)
async def test_an_error_goes_in_its_items_place_and_the_worker_carries_on():
    error = Broken("item 'bad' broke")
    await pool_case(["a", "bad", "b", "c"], 1, spec=[("bad", 0.5, error)])


@pytest.mark.task(1)
async def test_an_error_with_several_workers_leaves_every_worker_at_work():
    errors = [("x", 0.25, Broken("x broke")), ("y", 0.5, Broken("y broke"))]
    await pool_case(["x", "y", "a", "b", "c", "d"], 2, spec=errors)


@pytest.mark.task(1)
async def test_falsy_and_sentinel_like_items_and_results_are_values():
    items = [None, 0, "", "STOP", (), "a"]
    results = [("a", None), ("STOP", 0), ("", "")]
    await pool_case(items, 2, results=results)
    await pool_case([None], 1)


@pytest.mark.task(1)
async def test_an_item_given_twice_is_handled_twice():
    await pool_case(["a", "b", "a", "a"], 2, spec=[("b", 2, "ok")])


@pytest.mark.task(1)
async def test_unhashable_items_are_handled_in_their_places():
    await pool_case([["x"], {"k": 1}, ["x"], []], 2, results=[(["x"], ["X"]), ([], 0)])


@pytest.mark.task(1)
async def test_items_are_left_unchanged_and_any_sequence_will_do():
    await pool_case(["c", "b", "a"], 2)
    handle = Handle()
    items = ("t1", "t2", "t3")
    scene = "process_all() of a tuple of items ('t1', 't2', 't3') with workers=3"
    r, before = await call_pool(handle, items, 3, scene)
    judge_pool(r, handle, items, before, 3, scene)


@pytest.mark.task(1)
async def test_two_calls_at_once_keep_their_own_items():
    first, second = Handle(seconds=1), Handle(seconds=2)
    one, two = ["a1", "a2", "a3"], ["b1", "b2"]
    one_before, two_before = list(one), list(two)
    t0 = now()
    ended: dict[int, float] = {}

    async def timed(n: int, call):
        value = await call
        ended[n] = round(now() - t0, 6)
        return value

    scene = (
        f"Two process_all() calls at once, one of items {one!r} (1 s each, workers=1) with "
        f"handle A, the other of {two!r} (2 s each, workers=2) with handle B"
    )
    r = await run(
        lambda: asyncio.gather(
            timed(1, queues.process_all(first, one, 1)),
            timed(2, queues.process_all(second, two, 2)),
        ),
        scene,
        100,
    )
    check_spin(r, scene)
    a = [c.item for c in first.calls]
    b = [c.item for c in second.calls]
    if set(a) - set(one) or set(b) - set(two):
        fail(
            f"{scene}: handle A was called with {a!r} and handle B with {b!r}. The two calls "
            "shared their queue or their workers: likely a queue (or a list of results) kept "
            "at module level. Make the queue, the workers and the results inside each call."
        )
    if (error := unexpected(r)) is not None:
        raise error
    check_alive(r, scene, "the second of them")
    values = r.value if isinstance(r.value, list) else [None, None]
    for n, handle, items, before, workers in (
        (1, first, one, one_before, 1),
        (2, second, two, two_before, 2),
    ):
        own = Run(
            r.what, r.limit, value=values[n - 1], ended_at=ended.get(n), never_ended=r.never_ended
        )
        judge_pool(own, handle, items, before, workers, f"{scene}: call {'AB'[n - 1]}")


@pytest.mark.task(1)
@pytest.mark.loop_limit(10 * DAY)
async def test_an_item_that_takes_a_day():
    await pool_case(["nightly", "quick"], 2, spec=[("nightly", DAY, "ok")], limit=2 * DAY)


async def cancelled_pool(items, workers: int, running, cleanups=()) -> None:
    """Cancel process_all() at 0.5 s; `running`: the items being handled then."""
    handle = Handle(cleanups=cleanups)
    scene = (
        f"process_all() of items {describe_items(items, handle)} with workers={workers}, "
        "cancelled at 0.5 s" + "".join(f" ({i!r} takes {s:g} s to clean up)" for i, s in cleanups)
    )
    cleanup = max([CLEANUP, *(s for _, s in cleanups)])
    r, _ = await call_pool(handle, items, workers, scene, cancel_at=0.5)
    check_spin(r, scene)
    if (error := unexpected(r)) is not None:
        raise error
    late = [c for c in handle.calls if c.started > 0.5]
    if late:
        fail(
            f"{scene}: handle({late[0].item!r}) was still started at {late[0].started:g} s, "
            "after the cancellation: the workers went on."
            + (
                " A handle() cancelled at 0.5 s ended cancelled, and its worker took the next "
                "item: likely the worker catches the CancelledError (`except BaseException:`, "
                "or a bare `except:`) and carries on. Catch `Exception` only: a "
                "CancelledError must end the worker."
                if any(c.how == "cancelled" for c in handle.calls)
                else ""
            )
        )
    if not r.cancelled and r.ended_at is not None and r.ended_at < 0.5:
        fail(
            f"{scene}: process_all() returned {r.value!r} at {r.ended_at:g} s, before it was "
            "cancelled at 0.5 s, though "
            + (
                f"handle({handle.calls[0].item!r}) takes 1 s"
                if handle.calls
                else "no handle() had been called"
            )
            + ". Likely: queue.join() returned before the items were handled (task_done() "
            "right after get(), before handle() is done)."
        )
    if not r.cancelled:
        fail(
            f"{scene}: process_all() "
            + ("never ended" if r.never_ended else f"returned {r.value!r}")
            + "; expected it to end cancelled. Let the CancelledError go on to the caller."
        )
    check_alive(r, scene, "process_all()")
    check_interrupted(handle.calls, scene, "handle")
    checks.equal(
        sorted(key(c.item)[1] for c in handle.calls),
        sorted(map(repr, running)),
        f"{scene}: the items handle() was called for",
    )
    for c in handle.calls:
        if c.cancelled_at != 0.5:
            fail(
                f"{scene}: handle({c.item!r}) was running when process_all() was cancelled at "
                f"0.5 s, and it {c.how or 'was still running'}"
                + (f" at {c.ended:g} s" if c.ended is not None else "")
                + "; expected it to be cancelled at 0.5 s. Cancel the workers when "
                "process_all() is cancelled: stop them in a `finally:` around queue.join()."
            )
    checks.took(
        r.ended_at,
        0.5 + cleanup,
        f"{scene}: process_all() (the longest cleanup of a cancelled handle() takes {cleanup:g} s)",
        {0.5: "It ended before its cancelled workers had finished: await them."},
    )


@pytest.mark.task(1)
async def test_cancelling_process_all_cancels_its_workers():
    await cancelled_pool(["a", "b", "c", "d"], 2, ["a", "b"])
    await cancelled_pool(["slow"], 3, ["slow"])  # two workers idle, waiting for an item
    await cancelled_pool(["a", "b", "c"], 2, ["a", "b"], cleanups=[("b", 1)])


POOL_ITEMS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "", None, 0]),
        st.sampled_from([0, 0.25, 1, 2.5, 10_000]),
        st.sampled_from(["ok", "ok", "fails"]),
    ),
    max_size=7,
)


@pytest.mark.task(1)
@pytest.mark.loop_limit(10**9)
@scenarios.given(specs=POOL_ITEMS, workers=st.integers(1, 3))
async def test_process_all_in_any_scenario(specs, workers):
    spec, items = [], []
    for item, seconds, how in specs:
        items.append(item)
        if not any(same(i, item) for i, _, _ in spec):
            spec.append((item, seconds, Broken(f"{item!r} broke") if how == "fails" else how))
    handle = Handle(spec)
    _, end = starts_of(items, workers, handle.seconds_of)
    await pool_case(items, workers, spec=spec, limit=end + 100)


# -- Task 2: crawl ----------------------------------------------------------------------------

MISSING = 0.5  # what the fake fetch() takes to find that a page does not exist

# Every URL an earlier crawl() in this process fetched: a crawl that skips one of them may
# have kept its set of seen URLs between calls.
FETCHED_BEFORE: set[str] = set()


class Site:
    """A fake web site: `pages` maps a URL to (seconds, links) or (seconds, an Exception).
    fetch(url) takes that long, then returns that very list of links (or raises). A URL the
    site does not have takes MISSING s, then raises NotFound. Cancelled, a fetch takes
    CLEANUP s to clean up. Records every call and the most fetches running at once."""

    def __init__(self, pages: dict) -> None:
        self.t0 = now()
        self.pages = pages
        self.copies = {u: list(o) for u, (_, o) in pages.items() if isinstance(o, list)}
        self.not_found: dict[str, NotFound] = {}
        self.calls: list[Call] = []
        self.running = 0
        self.peak = 0

    def since(self) -> float:
        return round(now() - self.t0, 6)

    def seconds(self, url: str) -> float:
        return self.pages[url][0] if url in self.pages else MISSING

    def outcome(self, url: str) -> object:
        if url in self.pages:
            return self.pages[url][1]
        return self.not_found.setdefault(url, NotFound(f"no page at {url!r}"))

    def __call__(self, url: str):
        call = Call(url, self.since(), asyncio.current_task())
        self.calls.append(call)
        return self.fetch_page(call)

    async def fetch_page(self, call: Call) -> list:
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            await asyncio.sleep(self.seconds(call.item))
        except asyncio.CancelledError:
            call.cancelled_at = self.since()
            try:
                await asyncio.sleep(CLEANUP)
            except asyncio.CancelledError:
                call.interrupted_at = self.since()
                raise
            finally:
                call.ended, call.how = self.since(), "cancelled"
                self.running -= 1
            raise
        self.running -= 1
        call.ended = self.since()
        outcome = self.outcome(call.item)
        if isinstance(outcome, BaseException):
            call.how = "raised"
            raise outcome
        call.how = "returned"
        return outcome

    def calls_of(self, url: str) -> list[Call]:
        return [c for c in self.calls if c.item == url]

    def describe(self) -> str:
        parts = []
        for url, (seconds, outcome) in self.pages.items():
            what = f"raises {outcome!r}" if isinstance(outcome, BaseException) else f"{outcome!r}"
            parts.append(f"{url!r} ({seconds:g} s): {what}")
        return "{" + ", ".join(parts) + "}"


def reachable(site: Site, start: str) -> dict:
    """The oracle: every URL reachable from `start`, mapped to what fetch() gives for it."""
    order, seen = [start], {start}
    for url in order:
        outcome = site.outcome(url)
        if isinstance(outcome, list):
            for link in outcome:
                if link not in seen:
                    seen.add(link)
                    order.append(link)
    return {url: site.outcome(url) for url in order}


def found_at(site: Site, start: str) -> dict:
    """When (and on which page) each URL fetched was first found: the end of the first
    fetch that returned a link to it; the start at 0."""
    found = {start: (0.0, None, 0)}
    for c in sorted((c for c in site.calls if c.how == "returned"), key=lambda c: c.ended):
        for n, link in enumerate(site.outcome(c.item)):
            found.setdefault(link, (c.ended, c.item, n))
    return found


def hung_crawl(r: Run, site: Site, start: str, scene: str) -> None:
    lead = f"{scene}: crawl() had still not returned {r.limit:g} s after it was called"
    died_of_own_error(r, site.calls, lead, [site.outcome(c.item) for c in site.calls])
    dead = [
        c
        for c in site.calls
        if c.how == "raised"
        and isinstance(c.task, asyncio.Task)
        and c.task.done()
        and not c.task.cancelled()
        and c.task.exception() is site.outcome(c.item)
    ]
    expected = reachable(site, start)
    never = [u for u in expected if not site.calls_of(u)]
    if dead:
        c = dead[0]
        fail(
            f"{lead}. The worker that fetched {c.item!r} ended at {c.ended:g} s with the error "
            f"fetch() raised ({site.outcome(c.item)!r})"
            + (f", and {never[0]!r} was never fetched" if never else "")
            + ". A page that fails must not end its worker: catch `Exception` around "
            "`await fetch(url)`, keep the exception as that URL's result, and go on."
        )
    putting = [s for s in r.stuck_tasks if s is not None and s[2] == "put"]
    if putting:
        fail(
            f"{lead}: {checks.count(len(putting), 'task')} it started "
            f"{'was' if len(putting) == 1 else 'were'} waiting in queue.put(), at line "
            f"{putting[0][0]} of your file: `{putting[0][1]}`. A bounded frontier "
            "(Queue(maxsize)) fills up while the workers add links, and then no worker is left "
            "to take one: they all wait for room that only they could make. Keep the "
            "frontier unbounded (asyncio.Queue()) and put with put_nowait()."
        )
    running = [c for c in site.calls if c.how is None]
    if not never and not running:
        all_done(r, lead, site.calls, "URL")
    if never:
        when, page, _ = found_at(site, start).get(never[0], (None, None, 0))
        where = f", found at {when:g} s on {page!r}," if page is not None else ""
        fail(
            f"{lead}; {never[0]!r}{where} was never fetched, and no fetch was running."
            + (
                " Likely: `if link:` (or `if url:`), which skips the URL '' : every string "
                "is a URL, the empty one too."
                if never[0] == ""
                else sentinel_hint(never[0]).replace(
                    "an item can be anything", "a URL can be any string"
                )
                if sentinel_hint(never[0])
                else " Likely: every worker had stopped while URLs were still to come: a "
                "loop such as `while not queue.empty():` ends the moment the queue is empty, "
                "though a page being fetched may still add links. Let each worker wait with "
                "`await queue.get()` until it is stopped."
            )
        )
    fail(f"{lead}.")


def judge_crawl(r: Run, site: Site, start: str, workers: int, scene: str, before=()) -> None:
    """Compare a crawl() call with the oracle; fail with the first difference. `before`: the
    URLs earlier crawls (in this process) fetched."""
    check_spin(r, scene)
    known = [site.outcome(c.item) for c in site.calls]
    queue_errors(r, scene, "crawl()")
    escaped_error(r, known, scene, "crawl()", "fetch() of a page")
    own_time_limit(r, scene, "crawl()")
    if (error := unexpected(r)) is not None:
        raise error
    if r.never_ended:
        hung_crawl(r, site, start, scene)
    check_alive(r, scene, "crawl()")
    if r.cancelled:
        fail(
            f"{scene}: crawl() ended cancelled at {r.ended_at:g} s, though nothing "
            "cancelled it. Likely: `await asyncio.gather(*workers)` after cancelling the "
            "workers, without return_exceptions=True: it raises the first cancelled worker's "
            "CancelledError. "
            "Await them with `asyncio.gather(*workers, return_exceptions=True)`."
        )
    for url, links in site.copies.items():
        if site.pages[url][1] != links:
            fail(
                f"{scene}: crawl() changed the list of links fetch({url!r}) returned, from "
                f"{links!r} to {site.pages[url][1]!r}. Leave it as it is: it is the page's "
                "result. Read it with a for loop, and keep what you need in lists or sets of "
                "your own."
            )
    checks.not_coroutine(r.value, "crawl()'s result")
    if not isinstance(r.value, dict):
        fail(
            f"{scene}: crawl() returned {r.value!r}, a {type(r.value).__name__}; expected a "
            "dict mapping each URL fetched to its links (or its error)."
        )
    expected = reachable(site, start)
    for url in expected:
        calls = site.calls_of(url)
        if len(calls) > 1:
            fail(
                f"{scene}: fetch({url!r}) was called {len(calls)} times, at "
                f"{', '.join(f'{c.started:g}' for c in calls)} s; expected once: every URL is "
                "fetched exactly once, however many links point to it."
                + (
                    f" Its first fetch had already ended at {calls[0].ended:g} s, raising "
                    f"{site.outcome(url)!r}: a page that fails is kept with its error, not "
                    "tried again. Likely: the URL is taken out of the set of seen URLs (or put "
                    "back on the queue) when its fetch fails."
                    if calls[0].how == "raised" and calls[1].started >= calls[0].ended
                    else " Likely: the start URL was not marked as seen, so a link back to it "
                    "queued it again."
                    if url == start
                    else " Likely: a URL is marked as seen only once it has been fetched (or "
                    "taken off the queue), so a link found meanwhile queues it again. Add it "
                    "to the set of seen URLs when you put it on the queue, with no await in "
                    "between."
                )
            )
    extra = [c.item for c in site.calls if c.item not in expected]
    if extra:
        fail(f"{scene}: fetch({extra[0]!r}) was called, though no page fetched links to it.")
    never = [u for u in expected if not site.calls_of(u)]
    if never:
        url = never[0]
        if url not in found_at(site, start):
            unfinished = [c for c in site.calls if c.how != "returned" and c.how != "raised"]
            fail(
                f"{scene}: crawl() returned at {r.ended_at:g} s without fetching {url!r}: the "
                "fetch that would have found it had not ended by then"
                + (
                    f" (fetch({unfinished[0].item!r}), started at {unfinished[0].started:g} s, "
                    f"was {unfinished[0].how or 'still running'}"
                    + (
                        f" at {unfinished[0].cancelled_at:g} s"
                        if unfinished[0].cancelled_at is not None
                        else ""
                    )
                    + ")"
                    if unfinished
                    else ""
                )
                + ". crawl() must wait until every URL taken has been fetched and its links "
                "queued. Likely: queue.join() returned early (task_done() called right after "
                "get(), before the fetch), or the crawl ends when the queue is empty rather "
                "than on `await queue.join()`."
            )
        when, page, _ = found_at(site, start)[url]
        fail(
            f"{scene}: crawl() returned without fetching {url!r}, found at {when:g} s on "
            f"{page!r}."
            + (
                " Likely: `if link:` (or `if url:`), which skips the URL '': every string is a "
                "URL, the empty one too."
                if url == ""
                else sentinel_hint(url).replace(
                    "an item can be anything", "a URL can be any string"
                )
                if sentinel_hint(url)
                else f" An earlier crawl() (in this run of the tests) fetched a page {url!r} "
                "too: likely the set of seen URLs is kept between calls (at module level). "
                "Make it inside each call."
                if url in before
                else " Every URL that can be reached from the start must be fetched."
            )
        )

    def likely(got: dict) -> str:
        fetched = {c.item for c in site.calls}
        extra = [u for u in got if u not in fetched]
        if extra:
            return f"The result holds {extra[0]!r}, which this crawl() never fetched" + (
                ", but an earlier crawl() (in this run of the tests) did: likely the dict "
                "of results is kept between calls (at module level, or a default "
                "argument). Make it inside each call."
                if extra[0] in before
                else "."
            )
        for url, want in expected.items():
            have = got.get(url, "missing")
            if isinstance(want, Exception) and have is not want:
                return (
                    f"For {url!r}, whose fetch() raised, expected the exception itself "
                    f"({want!r}) as its result; got {have!r}."
                )
            if isinstance(want, list) and have != want:
                return (
                    f"For {url!r}, expected the links exactly as fetch() returned them, "
                    f"{want!r}, all of them (repeats and links already seen included); got "
                    f"{have!r}."
                )
        return ""

    checks.equal(r.value, expected, f"{scene}: crawl()'s result", likely)
    if site.peak > workers:
        fail(
            f"{scene}: {site.peak} fetches ran at once; expected at most {workers}, the number "
            "of workers. Likely: a task per URL instead of a fixed number of workers taking "
            "URLs off one queue."
        )
    check_frontier(site, start, workers, scene)
    last = max((c.ended for c in site.calls), default=0.0)
    if r.ended_at is not None and r.ended_at > last:
        fail(
            f"{scene}: crawl() returned at {r.ended_at:g} s, though its last fetch had ended at "
            f"{last:g} s and nothing happened in between. Likely: it checks on a timer whether "
            "the work is done (queue.empty(), a counter, `_unfinished_tasks`) instead of "
            "waiting for it with `await queue.join()`, which returns the moment the last "
            "task_done() is called."
        )
    checks.took(r.ended_at, last, f"{scene}: crawl(), which should end when its last fetch does")


def check_frontier(site: Site, start: str, workers: int, scene: str) -> None:
    """Every URL found is fetched the moment a worker is free, in the order found."""
    calls = {c.item: c for c in site.calls}
    found = found_at(site, start)

    def running_at(t: float) -> int:
        return sum(1 for c in calls.values() if c.started <= t and (c.ended is None or c.ended > t))

    for url, call in calls.items():
        when, page, _ = found[url]
        if call.started <= when:
            continue
        points = {when} | {
            x for c in calls.values() for x in (c.started, c.ended) if x and when < x < call.started
        }
        for t in sorted(points):
            busy = running_at(t)
            if busy >= workers:
                continue
            on = f"on {page!r}" if page is not None else "(the start)"
            freed = any(c.ended == call.started for c in calls.values())
            if site.peak == 1 and workers > 1:
                hint = (
                    " Only one fetch ever ran at a time. Likely: the other workers stopped "
                    "early (a loop like `while not queue.empty():` ends the moment the queue is "
                    "empty, though a page being fetched may still add links), or the workers "
                    "were awaited one after another. Let each worker wait in `await "
                    "queue.get()` until it is stopped."
                )
            elif not freed and call.started - when < 1:
                hint = (
                    f" Nothing happened at {call.started:g} s that could have freed a worker "
                    "(no fetch ended then). Likely: a worker that polls the queue on a timer "
                    "(get_nowait(), then asyncio.sleep() between tries) and only notices a URL "
                    "at its next poll. Wait with `await queue.get()` instead."
                )
            else:
                hint = (
                    " A URL found must be fetched the moment a worker is free. Possibly: a "
                    "bounded frontier (Queue(maxsize)) where a worker waits in `await "
                    "queue.put()` for room before it takes the next URL, a worker that sleeps "
                    "before its next get(), or fewer workers than asked."
                )
            fail(
                f"{scene}: {url!r}, found at {when:g} s {on}, was only fetched from "
                f"{call.started:g} s, though at {t:g} s only {busy} of the {workers} workers "
                f"were fetching.{hint}"
            )
    for u, cu in calls.items():
        for v, cv in calls.items():
            fu, fv = found[u], found[v]
            same_page = fu[1] == fv[1] and fu[0] == fv[0] and fu[2] < fv[2]
            if (fu[0] < fv[0] or same_page) and cu.started > cv.started:
                how = (
                    f"listed before it on {fu[1]!r}"
                    if same_page and fu[1] is not None
                    else f"found earlier, at {fu[0]:g} s"
                )
                fail(
                    f"{scene}: {v!r} (found at {fv[0]:g} s) was fetched at {cv.started:g} s, "
                    f"before {u!r} ({how}), which waited until {cu.started:g} s. URLs are "
                    "fetched in the order they were found: use a first in, first out "
                    "asyncio.Queue (not a LifoQueue, a stack or a set)."
                )


async def crawl_case(pages: dict, start: str, workers: int, limit: float = 100):
    site = Site(pages)
    scene = f"crawl(fetch, {start!r}, workers={workers}) of the site {site.describe()}"
    scenarios.describe(scene)
    r = await run(lambda: queues.crawl(site, start, workers), scene, limit)
    before = set(FETCHED_BEFORE)
    FETCHED_BEFORE.update(c.item for c in site.calls)
    judge_crawl(r, site, start, workers, scene, before)
    return r, site


def check_starts(site: Site, expected: dict, scene: str) -> None:
    got = {c.item: c.started for c in site.calls}
    checks.equal(got, expected, f"{scene}: when each page's fetch started")


@pytest.mark.task(2)
async def test_crawl_fetches_every_page_once_and_returns_its_links():
    pages = {
        "home": (1, ["a", "b", "c"]),
        "a": (1, ["d", "home"]),
        "b": (1, ["a"]),
        "c": (1, []),
        "d": (1, []),
    }
    _, site = await crawl_case(pages, "home", 2)
    check_starts(site, {"home": 0, "a": 1, "b": 1, "c": 2, "d": 2}, "A 5-page site, 2 workers")


@pytest.mark.task(2)
async def test_crawl_uses_all_its_workers():
    links = [f"p{i}" for i in range(7)]
    pages = {"home": (0.25, links), **{p: (1, []) for p in links}}
    await crawl_case(pages, "home", 3)


@pytest.mark.task(2)
async def test_a_link_found_many_times_is_fetched_once():
    pages = {
        "home": (1, ["x", "x", "y", "home"]),
        "y": (0.25, ["x", "y", "home", "z"]),
        "x": (2, ["y", "z"]),
        "z": (1, ["x"]),
    }
    await crawl_case(pages, "home", 2)
    await crawl_case(pages, "home", 3)


@pytest.mark.task(2)
async def test_a_failing_page_is_kept_with_its_error_and_the_crawl_goes_on():
    pages = {
        "home": (1, ["bad", "a", "b"]),
        "bad": (0.5, Broken("500 Internal Server Error")),
        "a": (1, ["bad"]),
        "b": (1, []),
    }
    await crawl_case(pages, "home", 1)
    await crawl_case(pages, "home", 2)


@pytest.mark.task(2)
async def test_a_failing_start_page_and_links_to_missing_pages():
    await crawl_case({"home": (2, Broken("503 Service Unavailable"))}, "home", 2)
    await crawl_case({"home": (1, ["gone", "a"]), "a": (1, ["gone", "lost"])}, "home", 2)


@pytest.mark.task(2)
async def test_the_empty_url_and_pages_without_links():
    await crawl_case({"home": (1, ["", "a"]), "": (1, []), "a": (0.25, [""])}, "home", 2)
    await crawl_case({"": (1, ["x"]), "x": (1, ["", "x"])}, "", 1)


@pytest.mark.task(2)
async def test_urls_are_kept_exactly_as_given():
    links = [" a", "a", "a ", "A", "é", "a#top", "a/", "a?q=1"]
    await crawl_case({"home": (1, links), **{u: (1, []) for u in links}}, "home", 4)
    odd = ["STOP", "None", "done", "stop", ""]
    await crawl_case({"home": (1, odd), **{u: (1, ["home"]) for u in odd}}, "home", 2)


@pytest.mark.task(2)
async def test_the_lists_fetch_returns_are_left_unchanged_and_kept_whole():
    pages = {"home": (1, ["b", "a", "a", "home", "b"]), "a": (1, ["home", "b"]), "b": (1, [])}
    await crawl_case(pages, "home", 2)


@pytest.mark.task(2)
async def test_crawling_again_fetches_every_page_again():
    pages = {"home": (1, ["a"]), "a": (1, ["b"]), "b": (1, [])}
    await crawl_case(pages, "home", 2)
    await crawl_case(pages, "home", 2)


@pytest.mark.task(2)
async def test_two_crawls_at_once_keep_their_own_pages():
    one = Site({"home": (1, ["a", "b"]), "a": (1, []), "b": (2, [])})
    two = Site({"home": (2, ["c", "a"]), "c": (1, ["home"]), "a": (1, [])})
    t0 = now()
    ended: dict[int, float] = {}

    async def timed(n: int, call):
        value = await call
        ended[n] = round(now() - t0, 6)
        return value

    scene = (
        f"Two crawls at once from 'home', one of the site {one.describe()} with 2 workers, the "
        f"other of the site {two.describe()} with 1 worker"
    )
    r = await run(
        lambda: asyncio.gather(
            timed(1, queues.crawl(one, "home", 2)), timed(2, queues.crawl(two, "home", 1))
        ),
        scene,
        100,
    )
    check_spin(r, scene)
    for site in (one, two):
        if any(c.item not in reachable(site, "home") for c in site.calls):
            fail(
                f"{scene}: the first site's fetch() was called for {[c.item for c in one.calls]!r} "
                f"and the second's for {[c.item for c in two.calls]!r}. The crawls shared "
                "something: likely a queue or a set of seen URLs kept at module level. Make "
                "them inside each call."
            )
    if (error := unexpected(r)) is not None:
        raise error
    check_alive(r, scene, "the second of them")
    values = r.value if isinstance(r.value, list) else [None, None]
    for n, site, workers in ((1, one, 2), (2, two, 1)):
        own = Run(r.what, r.limit, value=values[n - 1], ended_at=ended.get(n))
        before = set(FETCHED_BEFORE) | {c.item for c in (two if n == 1 else one).calls}
        judge_crawl(own, site, "home", workers, f"{scene}: crawl {n}", before)
    FETCHED_BEFORE.update(c.item for c in one.calls + two.calls)


@pytest.mark.task(2)
@pytest.mark.loop_limit(10 * DAY)
async def test_a_page_that_takes_a_day():
    pages = {
        "home": (1, ["archive", "a"]),
        "archive": (DAY, ["a", "b"]),
        "a": (1, []),
        "b": (1, []),
    }
    await crawl_case(pages, "home", 2, limit=3 * DAY)


async def cancelled_crawl(pages: dict, workers: int, at: float, running: list) -> None:
    site = Site(pages)
    scene = (
        f"crawl(fetch, 'home', workers={workers}) of the site {site.describe()}, cancelled at "
        f"{at:g} s"
    )
    r = await run(lambda: queues.crawl(site, "home", workers), scene, 100, cancel_at=at)
    check_spin(r, scene)
    if (error := unexpected(r)) is not None:
        raise error
    if not r.cancelled and r.ended_at is not None and r.ended_at < at:
        fail(
            f"{scene}: crawl() returned {r.value!r} at {r.ended_at:g} s, before it was "
            f"cancelled at {at:g} s, though its pages take 1 s each. Likely: queue.join() "
            "returned before the pages were fetched (task_done() right after get(), before "
            "the fetch), or the crawl ends when the queue is empty instead of on "
            "`await queue.join()`."
        )
    if not r.cancelled:
        fail(
            f"{scene}: crawl() "
            + ("never ended" if r.never_ended else f"returned {r.value!r}")
            + "; expected it to end cancelled. Let the CancelledError go on to the caller."
        )
    check_alive(r, scene, "crawl()")
    check_interrupted(site.calls, scene, "fetch")
    late = [c for c in site.calls if c.started > at]
    if late:
        fail(
            f"{scene}: fetch({late[0].item!r}) was still started at {late[0].started:g} s, "
            "after the cancellation: the workers went on."
        )
    for c in site.calls:
        if c.item in running and c.cancelled_at != at:
            fail(
                f"{scene}: fetch({c.item!r}) was running when crawl() was cancelled at {at:g} s, "
                f"and it {c.how or 'was still running'}"
                + (f" at {c.ended:g} s" if c.ended is not None else "")
                + f"; expected it to be cancelled at {at:g} s. Cancel the workers when crawl() "
                "is cancelled: stop them in a `finally:` around queue.join()."
            )
    checks.took(
        r.ended_at,
        at + CLEANUP,
        f"{scene}: crawl() (its cancelled fetches take {CLEANUP:g} s to clean up)",
        {at: "It ended before its cancelled workers had finished: await them."},
    )


@pytest.mark.task(2)
async def test_cancelling_crawl_cancels_its_fetches():
    pages = {"home": (1, ["a", "b", "c"]), "a": (1, []), "b": (1, []), "c": (1, [])}
    await cancelled_crawl(pages, 2, 1.5, ["a", "b"])
    await cancelled_crawl({"home": (1, [])}, 2, 0.5, ["home"])  # one worker idle


URLS = st.sampled_from(["home", "a", "b", "c", "", "gone"])
PAGE = st.tuples(
    st.sampled_from([0, 0.25, 1, 2.5, 10_000]),
    st.one_of(st.lists(URLS, max_size=4), st.just("fails")),
)


@pytest.mark.task(2)
@pytest.mark.loop_limit(10**9)
@scenarios.given(
    pages=st.dictionaries(st.sampled_from(["home", "a", "b", "c", ""]), PAGE, min_size=1),
    workers=st.integers(1, 3),
)
async def test_crawl_in_any_scenario(pages, workers):
    pages = {
        url: (s, Broken(f"{url!r} failed") if links == "fails" else links)
        for url, (s, links) in pages.items()
    }
    start = "home" if "home" in pages else next(iter(pages))
    site = Site(pages)
    total = sum(site.seconds(u) for u in reachable(site, start))
    await crawl_case(pages, start, workers, limit=total + 100)


# -- Task 3: Pool -----------------------------------------------------------------------------


@dataclass
class Block:
    """What the test's `async with Pool(...) as pool:` block saw, in loop time from its start."""

    pool: object = None
    entered: object = None
    submitted: list = field(default_factory=list)  # (item, when submit() returned)
    joins: list = field(default_factory=list)  # when each pool.join() in the block returned
    waiters: dict = field(default_factory=dict)  # name -> [its task, when its join() returned]
    left_at: float | None = None  # when the `async with` was over (after a normal end)


async def join_elsewhere(pool, block: Block, name: str, t0: float) -> None:
    await pool.join()
    block.waiters[name][1] = round(now() - t0, 6)


async def pool_block(handle: Handle, workers: int, maxsize: int, steps, b: Block, ours: set):
    """The test's block: run `steps` inside `async with Pool(handle, workers, maxsize)`.
    Steps: ("submit", item), ("sleep", s), ("join",), ("waiter", name) (a task of the test's
    that awaits pool.join()), ("raise", error)."""
    t0 = now()
    pool = queues.Pool(handle, workers, maxsize)
    b.pool = pool
    async with pool as entered:
        b.entered = entered
        for step in steps:
            if step[0] == "submit":
                await pool.submit(step[1])
                b.submitted.append((step[1], round(now() - t0, 6)))
            elif step[0] == "sleep":
                await asyncio.sleep(step[1])
            elif step[0] == "join":
                await pool.join()
                b.joins.append(round(now() - t0, 6))
            elif step[0] == "waiter":
                b.waiters[step[1]] = [None, None]
                task = asyncio.create_task(join_elsewhere(pool, b, step[1], t0))
                b.waiters[step[1]][0] = task
                ours.add(task)
                await asyncio.sleep(0)  # it is waiting in join() now
            elif step[0] == "raise":
                raise step[1]
    b.left_at = round(now() - t0, 6)


@dataclass
class PoolPlan:
    """The oracle's account of a block: when each submit() returns, when each item starts,
    which are handled, cancelled or dropped, and when leaving the block is over."""

    submitted: list[float]
    starts: list[float | None]  # None: never started (dropped)
    cancelled: list[bool]
    left_at: float
    stopped_at: float | None  # when the block raised or was cancelled (None: a normal end)


def plan_pool(steps, workers: int, maxsize: int, seconds_of, cancel_at=None) -> PoolPlan:
    t, free = 0.0, [0.0] * workers
    submitted, starts, ends = [], [], []
    stop = None
    for step in steps:
        if step[0] == "sleep":
            if cancel_at is not None and t < cancel_at < t + step[1]:
                stop = cancel_at
                break
            t += step[1]
        elif step[0] == "submit":
            n = len(starts)
            if n >= maxsize and starts[n - maxsize] > t:
                if cancel_at is not None and t < cancel_at < starts[n - maxsize]:
                    stop = cancel_at
                    break
                t = starts[n - maxsize]
            submitted.append(t)
            start = max(t, heapq.heappop(free))
            starts.append(start)
            ends.append(start + seconds_of(step[1]))
            heapq.heappush(free, ends[-1])
        elif step[0] == "raise":
            stop = t
            break
    if stop is None and cancel_at is not None and cancel_at < max([t, *ends]):
        stop = cancel_at  # cancelled while leaving the block, waiting for the items
    if stop is None:
        return PoolPlan(submitted, starts, [False] * len(starts), max([t, *ends]), None)
    kept, cancelled = [], []
    for start, end in zip(starts, ends, strict=True):
        kept.append(start if start < stop else None)
        cancelled.append(start < stop < end)
    return PoolPlan(submitted, kept, cancelled, stop + (CLEANUP if any(cancelled) else 0), stop)


def describe_steps(steps, handle: Handle) -> str:
    parts = []
    for step in steps:
        if step[0] == "submit":
            parts.append(f"submit({step[1]!r}) ({handle.seconds_of(step[1]):g} s)")
        elif step[0] == "sleep":
            parts.append(f"sleep {step[1]:g} s")
        elif step[0] == "join":
            parts.append("await pool.join()")
        elif step[0] == "waiter":
            parts.append(f"another task awaits pool.join() ({step[1]})")
        elif step[0] == "raise":
            parts.append(f"raise {step[1]!r}")
    return ", ".join(parts) or "nothing"


def hung_block(r: Run, handle: Handle, b: Block, steps, scene: str) -> None:
    lead = f"{scene}: the `async with` had still not ended {r.limit:g} s after it began"
    died_of_own_error(r, handle.calls, lead, [handle.outcome_of(c.item) for c in handle.calls])
    dead = [
        c
        for c in handle.calls
        if c.how == "raised"
        and isinstance(c.task, asyncio.Task)
        and c.task.done()
        and not c.task.cancelled()
        and c.task.exception() is handle.outcome_of(c.item)
    ]
    if dead:
        c = dead[0]
        fail(
            f"{lead}. The worker that handled {c.item!r} ended at {c.ended:g} s with the error "
            f"handle() raised ({handle.outcome_of(c.item)!r}), and the items after it were "
            "never handled. An error in one item must not end its worker: catch `Exception` "
            "around `await handle(item)`, append (item, exception) to pool.errors, go on."
        )
    kinds = [step[0] for step in steps]
    if b.entered is None:
        where = "entering it"
    elif len(b.submitted) < kinds.count("submit"):
        waiting = [step[1] for step in steps if step[0] == "submit"][len(b.submitted)]
        where = f"in submit({waiting!r})"
    elif len(b.joins) < kinds.count("join"):
        where = "in its own `await pool.join()`"
    else:
        where = "leaving it"
    if not handle.calls and "submit" in kinds:
        fail(
            f"{lead}: it was stuck {where}, and handle() was never called: no worker ever "
            "took an item. Likely: the workers were never started: start them in __aenter__, "
            "each with asyncio.create_task(), before returning the pool."
        )
    if all(c.how is not None for c in handle.calls) and not where.startswith("in submit"):
        all_done(r, f"{lead}: it was stuck {where}", handle.calls, "item")
    fail(f"{lead}: it was stuck {where}.{stuck_text(r)}")


def judge_block(
    r: Run, handle: Handle, b: Block, steps, workers: int, maxsize: int, scene: str, plan
) -> None:
    """Compare a Pool block with the oracle's plan; fail with the first difference."""
    check_spin(r, scene)
    if isinstance(r.error, asyncio.QueueFull):
        fail(
            f"{scene}: submit() raised QueueFull after {len(b.submitted)} items had been "
            "submitted. Likely: queue.put_nowait(), which refuses an item when the queue is "
            "full. `await queue.put(item)` waits for room instead: that wait is the "
            "backpressure."
        )
    queue_errors(r, scene, "the pool")
    errors = [handle.outcome_of(c.item) for c in handle.calls]
    escaped_error(
        r,
        [e for e in errors if isinstance(e, Exception)],
        scene,
        "the block",
        "handle() of an item",
        "appended to pool.errors",
    )
    own_time_limit(r, scene, "the pool")
    raised = next((step[1] for step in steps if step[0] == "raise"), None)
    if raised is not None and r.error is not raised:
        if isinstance(r.error, BaseExceptionGroup) and unexpected(r, [raised]) is None:
            fail(
                f"{scene}: the block raised {raised!r}, and the caller got {r.error!r}, a group "
                "around it: let the block's error go on unchanged (return None from "
                "__aexit__, and raise nothing of your own)."
            )
        if r.error is None and not r.cancelled and not r.never_ended:
            fail(
                f"{scene}: the block raised {raised!r}, but the `async with` ended without an "
                "error: the pool hid it. Likely: __aexit__ returns True (or something true), "
                "which tells Python the error was handled. Return None."
            )
    if (error := unexpected(r, [raised])) is not None:
        raise error
    if r.never_ended:
        hung_block(r, handle, b, steps, scene)
    check_alive(r, scene, "the `async with`")
    check_interrupted(handle.calls, scene, "handle")
    early = r.ended_at is not None and plan.stopped_at is not None and r.ended_at < plan.stopped_at
    if plan.stopped_at is not None and raised is None and not r.cancelled and not early:
        fail(
            f"{scene}: the block was cancelled at {plan.stopped_at:g} s, but the `async with` "
            + (f"ended with {r.error!r}" if r.error else "ended normally")
            + "; expected the CancelledError to go on to the caller. Do not swallow it."
        )
    if plan.stopped_at is None and r.cancelled:
        fail(
            f"{scene}: the block ended cancelled at {r.ended_at:g} s, though nothing "
            "cancelled it. Likely: `await asyncio.gather(*workers)` after cancelling the "
            "workers, without return_exceptions=True: it raises the first cancelled worker's "
            "CancelledError. "
            "Await them with `asyncio.gather(*workers, return_exceptions=True)`."
        )
    if b.entered is not b.pool:
        fail(
            f"{scene}: `async with Pool(...) as pool:` gave {b.entered!r}; expected the pool "
            "itself. Return self from __aenter__."
        )
    checks.not_coroutine(b.pool.errors, "pool.errors")
    if not isinstance(b.pool.errors, list):
        fail(f"{scene}: pool.errors was {b.pool.errors!r}; expected a list.")
    items = [step[1] for step in steps if step[0] == "submit"][: len(plan.starts)]
    for item, start in zip(items, plan.starts, strict=True):
        calls = handle.calls_of(item)
        wanted = sum(
            1 for i, s in zip(items, plan.starts, strict=True) if same(i, item) and s is not None
        )
        if start is None and not calls:
            continue
        if len(calls) != wanted:
            fail(
                f"{scene}: handle({item!r}) was called {checks.count(len(calls), 'time')}; "
                f"expected {checks.count(wanted, 'time')}"
                + (
                    f". The block stopped at {plan.stopped_at:g} s with that item still "
                    "waiting in the queue: when the block raises or is cancelled, drop the "
                    "items still waiting (and never hand them to handle())."
                    if start is None and plan.stopped_at is not None
                    else f". The `async with` was over at {r.ended_at:g} s, before that item's "
                    f"turn (at {start:g} s): after a normal end, leaving the block must first "
                    "wait until every item submitted has been handled (await queue.join()), "
                    "and only then stop the workers."
                    if not calls
                    and r.ended_at is not None
                    and start is not None
                    and r.ended_at <= start
                    and not sentinel_hint(item)
                    else "."
                    + (sentinel_hint(item) if not calls else "")
                    + (
                        " A failed item is kept in pool.errors, not tried again."
                        if len(calls) > wanted and isinstance(handle.outcome_of(item), Exception)
                        else ""
                    )
                )
            )
    times = [t for _, t in b.submitted]

    def likely(got: list) -> str:
        moments = {0} | {x for c in handle.calls for x in (c.started, c.ended) if x is not None}
        odd = [t for t in got if t not in moments and t not in plan.submitted]
        if odd:
            return (
                f"A submit() returned at {odd[0]:g} s, when nothing happened that could make "
                "room (no handle() started or ended then). Likely: submit() checks "
                "queue.full() on a timer (a loop with asyncio.sleep()) instead of waiting with "
                "`await queue.put(item)`, which returns the moment a worker takes an item."
            )
        if len(got) == len(plan.submitted) and len(got) > maxsize and all(t == got[0] for t in got):
            return (
                "Every submit() returned at once: the queue has no bound. asyncio.Queue() "
                f"holds any number of items; asyncio.Queue(maxsize) holds {maxsize}, and then "
                "`await queue.put()` waits for a worker to take one. That wait is the "
                "backpressure."
            )
        if got and all(a <= w for a, w in zip(got, plan.submitted, strict=False)):
            return (
                "Some submit() returned before a worker had taken an item to make room: "
                f"at most maxsize={maxsize} items may wait in the queue (items being handled "
                "do not count): asyncio.Queue(maxsize)."
            )
        return (
            f"submit() must wait only while maxsize={maxsize} items are waiting, not yet "
            "taken by a worker (the ones being handled do not count): asyncio.Queue(maxsize) "
            "and `await queue.put(item)`."
        )

    checks.equal(times, plan.submitted, f"{scene}: when each submit() returned", likely)
    want = sorted((s, key(i)) for i, s in zip(items, plan.starts, strict=True) if s is not None)
    seen = sorted((c.started, key(c.item)) for c in handle.calls)
    if seen != want:
        fail(
            f"{scene}: when each item's handle() started: expected {show_starts(want)}; got "
            f"{show_starts(seen)}. Each worker takes the next item the moment it is free, in "
            "the order submitted."
        )
    for item, start, cancelled in zip(items, plan.starts, plan.cancelled, strict=True):
        if not cancelled:
            continue
        for c in handle.calls_of(item):
            if c.started == start and c.cancelled_at != plan.stopped_at:
                if r.ended_at is not None and r.ended_at < plan.stopped_at:
                    fail(
                        f"{scene}: the `async with` was already over at {r.ended_at:g} s, "
                        f"before the cancellation at {plan.stopped_at:g} s, and handle({item!r}) "
                        f"(started at {start:g} s) "
                        + (
                            f"was cancelled at {c.cancelled_at:g} s"
                            if c.cancelled_at is not None
                            else f"{c.how or 'was still running'}"
                            + (f" at {c.ended:g} s" if c.ended is not None else "")
                        )
                        + ", before it had finished. Leaving the block after a normal end must "
                        "wait until every item has been handled. Likely: queue.join() returned "
                        "while items were still being handled (task_done() called right after "
                        "get(), before handle() is done)."
                    )
                fail(
                    f"{scene}: handle({item!r}) was running when the block stopped at "
                    f"{plan.stopped_at:g} s, and it {c.how or 'was still running'}"
                    + (f" at {c.ended:g} s" if c.ended is not None else "")
                    + f"; expected it to be cancelled at {plan.stopped_at:g} s. When the block "
                    "raises or is cancelled, the pool stops at once: cancel the workers (and "
                    "so the items they are handling) instead of waiting for join()."
                )
    expected_errors = [
        (c.item, handle.outcome_of(c.item)) for c in handle.calls if c.how == "raised"
    ]
    got_errors = list(b.pool.errors)
    ok = (
        len(got_errors) == len(expected_errors)
        and all(isinstance(g, tuple) and len(g) == 2 for g in got_errors)
        and sorted(map(repr, got_errors)) == sorted(map(repr, expected_errors))
        and all(any(g[1] is e for _, e in expected_errors) for g in got_errors)
    )
    if not ok:
        fail(
            f"{scene}: pool.errors was {got_errors!r}; expected {expected_errors!r}: one "
            "(item, exception) tuple for each handle() call that raised, the exception "
            "itself."
        )
    checks.took(r.ended_at, plan.left_at, f"{scene}: the `async with` (from its start to its end)")


async def block_case(
    steps,
    workers: int,
    maxsize: int,
    spec=(),
    cancel_at: float | None = None,
    limit: float = 100,
    note: str = "",
):
    handle = Handle(spec)
    scene = (
        f"Pool(handle, workers={workers}, maxsize={maxsize}), a block that does: "
        f"{describe_steps(steps, handle)}"
        + (f", cancelled at {cancel_at:g} s" if cancel_at is not None else "")
        + note
    )
    scenarios.describe(scene)
    b = Block()
    ours: set = set()
    r = await run(
        lambda: pool_block(handle, workers, maxsize, steps, b, ours),
        scene,
        limit,
        cancel_at=cancel_at,
        ours=ours,
    )
    plan = plan_pool(steps, workers, maxsize, handle.seconds_of, cancel_at)
    waiting = [task for task, _ in b.waiters.values() if task is not None and not task.done()]
    if waiting:  # released as the pool stopped, they may still be finishing at that moment
        await asyncio.wait(waiting, timeout=0.001)
    try:
        judge_block(r, handle, b, steps, workers, maxsize, scene, plan)
    finally:
        await settle(ours)
    return r, b, handle, plan, scene


def join_likely(handle: Handle):
    """The hint for a pool.join() that returned at the wrong time, from what handle() saw."""

    def likely(got) -> str:
        for t in got if isinstance(got, list) else [got]:
            if t is None:
                continue
            running = [
                c for c in handle.calls if c.started <= t and (c.ended is None or c.ended > t)
            ]
            if running:
                return (
                    f"At {t:g} s handle({running[0].item!r}) was still running: pool.join() "
                    "returned while an item was being handled. It must wait until every item "
                    "submitted has been handled, not only until none is waiting: `await "
                    "queue.join()` (with task_done() in a `finally:` after each item), not "
                    "queue.empty() or qsize()."
                )
        return (
            "pool.join() returns once every item submitted so far has been handled: `await "
            "queue.join()`."
        )

    return likely


def submits(*items) -> list:
    return [("submit", item) for item in items]


@pytest.mark.task(3)
async def test_entering_gives_the_pool_and_a_normal_end_waits_for_every_item():
    await block_case(submits("a", "b", "c"), 2, 10)


@pytest.mark.task(3)
async def test_submit_waits_while_maxsize_items_are_waiting():
    _, b, *_ = await block_case(submits(*"abcdef"), 1, 2)
    checks.equal(
        [t for _, t in b.submitted],
        [0, 0, 0, 1, 2, 3],
        "One worker, 1 s items, maxsize=2: when each submit() returned",
    )


@pytest.mark.task(3)
async def test_backpressure_with_several_workers_and_uneven_items():
    spec = [("a", 2, "ok"), ("d", 3, "ok"), ("e", 0.25, "ok")]
    await block_case(submits(*"abcdefg"), 2, 1, spec=spec)
    await block_case([*submits("a", "b"), ("sleep", 0.5), *submits("c", "d", "e")], 3, 2)


@pytest.mark.task(3)
async def test_a_pool_left_at_once_stops_its_idle_workers():
    await block_case([], 3, 1)
    await block_case([("sleep", 5)], 2, 4)


@pytest.mark.task(3)
async def test_an_error_neither_stops_a_worker_nor_hangs_join():
    spec = [("bad", 0.5, Broken("bad broke")), ("worse", 1, Broken("worse broke"))]
    _, b, handle, *_ = await block_case(
        [*submits("bad", "a", "worse", "b"), ("join",)], 1, 2, spec=spec
    )
    checks.equal(
        b.joins, [3.5], "pool.join() after the four items: when it returned", join_likely(handle)
    )


@pytest.mark.task(3)
async def test_join_returns_once_nothing_is_waiting_or_being_handled():
    _, b, handle, *_ = await block_case([("join",), *submits("a", "b"), ("join",), ("join",)], 2, 1)
    checks.equal(
        b.joins,
        [0, 1, 1],
        "pool.join() before any submit(), after two 1 s items, and again: when each returned",
        join_likely(handle),
    )
    _, b, handle, *_ = await block_case(
        [*submits("a"), ("waiter", "w"), ("sleep", 0.5), *submits("b"), ("sleep", 2)], 1, 5
    )
    checks.equal(
        b.waiters["w"][1],
        2,
        "Another task's pool.join(), while 'a' (at 0 s) and 'b' (at 0.5 s) are handled: "
        "when it returned (once nothing was waiting or being handled)",
        join_likely(handle),
    )


@pytest.mark.task(3)
async def test_a_failing_block_drops_the_waiting_items_and_cancels_the_rest():
    error = Broken("the producer failed")
    spec = [("a", 2, "ok"), ("b", 2, "ok")]
    await block_case(
        [*submits("a", "b", "c", "d"), ("sleep", 0.5), ("raise", error)], 2, 10, spec=spec
    )


def waiter_check(b: Block, plan: PoolPlan, scene: str, likely: str) -> None:
    _, returned = b.waiters["w"]
    if returned is None:
        fail(
            f"{scene}: the other task's pool.join() had still not returned when the pool had "
            f"stopped (at {plan.left_at:g} s). {likely}"
        )
    if not plan.stopped_at <= returned <= plan.left_at:
        fail(
            f"{scene}: the other task's pool.join() returned at {returned:g} s; expected it "
            f"once the pool stopped, between {plan.stopped_at:g} and {plan.left_at:g} s."
        )


@pytest.mark.task(3)
async def test_a_join_elsewhere_returns_when_the_pool_stops_mid_item():
    error = Broken("the producer failed")
    steps = [*submits("a", "b"), ("waiter", "w"), ("sleep", 0.5), ("raise", error)]
    _, b, _, plan, scene = await block_case(steps, 2, 10)
    waiter_check(
        b,
        plan,
        scene,
        "No item was waiting in the queue then: the only items join() was counting were 'a' "
        "and 'b', being handled when the pool stopped and cancelled. Likely: task_done() is "
        "not in a `finally:`, so a worker cancelled in the middle of an item skips it, and "
        "join() waits for that item forever.",
    )


@pytest.mark.task(3)
async def test_a_join_elsewhere_returns_when_waiting_items_are_dropped():
    error = Broken("the producer failed")
    # First, as a control, the same with no item waiting (only items being handled): the
    # message below blames the dropped items only when that alone made the difference.
    control = Block()
    control_steps = [*submits("a", "b"), ("waiter", "w"), ("sleep", 0.5), ("raise", error)]
    ours: set = set()
    await run(lambda: pool_block(Handle(), 2, 10, control_steps, control, ours), "", 100, ours=ours)
    if ours:
        await asyncio.wait(ours, timeout=0.001)
    await settle(ours)
    control_ok = "w" in control.waiters and control.waiters["w"][1] is not None
    steps = [*submits("a", "b", "c"), ("waiter", "w"), ("sleep", 0.5), ("raise", error)]
    _, b, _, plan, scene = await block_case(steps, 1, 10)
    waiter_check(
        b,
        plan,
        scene,
        "'b' and 'c' were still waiting in the queue when the pool stopped, and join() counts "
        "them until task_done() is called for each. "
        + (
            "With no item waiting (only items being handled, then cancelled), the same "
            "join() did return. Likely: the waiting items were not dropped, or dropped "
            "without task_done(). Take each off with get_nowait() and call task_done() for "
            "it (on Python 3.13+, queue.shutdown(immediate=True) does both)."
            if control_ok
            else "'a' was being handled, and cancelled: join() counts it too until its "
            "task_done(). Call task_done() in a `finally:` after each get(), and drop the "
            "waiting items with get_nowait() + task_done() (on Python 3.13+, "
            "queue.shutdown(immediate=True) drops them)."
        ),
    )


@pytest.mark.task(3)
async def test_cancelling_the_block_stops_the_pool_and_the_task_ends_cancelled():
    await block_case(submits("a", "b", "c"), 1, 1, cancel_at=0.5)


@pytest.mark.task(3)
async def test_cancelled_while_leaving_the_block_the_pool_stops_at_once():
    await block_case(submits("a", "b", "c", "d"), 2, 10, cancel_at=1.5)


@pytest.mark.task(3)
async def test_two_pools_at_once_keep_their_own_queues_and_errors():
    one, two = Handle([("x", 1, Broken("x broke"))]), Handle(seconds=2)
    b1, b2 = Block(), Block()
    ours: set = set()
    scene = (
        "Two pools at once: Pool(handle A, 1, 1) given 'x' (raising), 'a1', 'a2', and "
        "Pool(handle B, 2, 1) given 'b1', 'b2', 'b3' (2 s each)"
    )
    r = await run(
        lambda: asyncio.gather(
            pool_block(one, 1, 1, submits("x", "a1", "a2"), b1, ours),
            pool_block(two, 2, 1, submits("b1", "b2", "b3"), b2, ours),
        ),
        scene,
        100,
        ours=ours,
    )
    check_spin(r, scene)
    a = [c.item for c in one.calls]
    bb = [c.item for c in two.calls]
    if set(a) - {"x", "a1", "a2"} or set(bb) - {"b1", "b2", "b3"}:
        fail(
            f"{scene}: handle A was called with {a!r} and handle B with {bb!r}: the pools "
            "shared their queue. Likely: a queue (or the workers) kept at module level or on "
            "the class; make them in __init__ or __aenter__, for each pool."
        )
    if b1.pool is not None and b2.pool is not None and b1.pool.errors is b2.pool.errors:
        fail(
            f"{scene}: the two pools have the very same pool.errors list. Likely: `errors = []` "
            "on the class (one list for every pool); make it in __init__: self.errors = []."
        )
    if (error := unexpected(r)) is not None:
        raise error
    check_alive(r, scene, "the later of the two blocks")
    checks.equal(
        [(i, type(e).__name__) for i, e in b2.pool.errors],
        [],
        f"{scene}: pool B's errors",
        "Each pool keeps its own errors.",
    )
    checks.equal(
        [(i, str(e)) for i, e in b1.pool.errors],
        [("x", "x broke")],
        f"{scene}: pool A's errors",
    )


@pytest.mark.task(3)
async def test_falsy_and_sentinel_like_items_are_each_handled():
    items = [None, 0, "", "STOP", [], ()]
    await block_case(submits(*items), 2, 2)
    await block_case(submits(None, "a", None), 1, 1)


@pytest.mark.task(3)
async def test_the_same_item_submitted_twice_is_handled_twice():
    await block_case(submits("a", "a", "b", "a"), 2, 1)


@pytest.mark.task(3)
@pytest.mark.loop_limit(10 * DAY)
async def test_an_item_of_a_day_and_a_submit_that_waits_a_day():
    spec = [("nightly", DAY, "ok")]
    await block_case(submits("a", "nightly", "b"), 2, 1, spec=spec, limit=3 * DAY)
    _, b, handle, *_ = await block_case(
        [*submits("nightly", "a"), ("join",)], 2, 1, spec=spec, limit=3 * DAY
    )
    checks.equal(
        b.joins,
        [DAY],
        "pool.join() while 'nightly' (a day) is handled: when it returned",
        join_likely(handle),
    )
    await block_case(submits("nightly", "a", "b"), 1, 1, spec=spec, limit=3 * DAY)


BLOCK_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.sampled_from(["a", "b", "c", None, "x"])),
        st.tuples(st.just("sleep"), st.sampled_from([0.5, 1.5])),
    ),
    max_size=8,
)


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**9)
@scenarios.given(
    steps=BLOCK_STEPS,
    workers=st.integers(1, 3),
    maxsize=st.integers(1, 3),
    ending=st.sampled_from(["normal", "raise", "cancel"]),
    cut=st.sampled_from([0.125, 1.125, 2.625]),
)
async def test_pool_in_any_scenario(steps, workers, maxsize, ending, cut):
    spec = [("a", 1, "ok"), ("b", 2.5, "ok"), ("c", 0.25, "ok"), ("x", 0.5, Broken("x broke"))]
    steps = list(steps)
    cancel_at = None
    if ending == "raise":
        steps += [("sleep", cut), ("raise", Broken("the block failed"))]
    elif ending == "cancel":
        handle = Handle(spec)
        plan = plan_pool(steps, workers, maxsize, handle.seconds_of)
        cancel_at = max(plan.submitted, default=0) + cut
    plan = plan_pool(steps, workers, maxsize, Handle(spec).seconds_of)
    await block_case(steps, workers, maxsize, spec, cancel_at, limit=plan.left_at + 100)
