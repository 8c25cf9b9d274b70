"""Hygiene checks around one exercise test: blocking calls, a stalled loop, coroutines never
awaited, errors asyncio only logged, and tasks left running.

`guarded()` patches the process for the length of one test (in a forked child that is the
child's whole life); `Findings` gathers what went wrong so the plugin can report it in the
learner's words.
"""

from __future__ import annotations

import ast
import asyncio
import asyncio.base_events
import asyncio.events
import builtins
import collections
import contextlib
import functools
import inspect
import linecache
import os
import sys
import threading
import time
import types
import warnings
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiokata import checks, clocks, loopwatch, resources, targets

try:
    import resource

    _RUSAGE_THREAD: int | None = getattr(resource, "RUSAGE_THREAD", None)
except ImportError:  # Windows
    _RUSAGE_THREAD = None

# One step of a coroutine (or one callback) holding the loop this long in real time is a
# blocking call. Steps of a correct solution take microseconds; this is 1000x that.
STALL_SECONDS = 0.5

_ASYNCIO = os.path.dirname(asyncio.__file__) + os.sep

# What Python 3.11 logs when a gather() is cancelled from outside and nobody awaits it again:
# typically `asyncio.wait_for(asyncio.gather(...), t)` running out of time (3.12's wait_for
# does not leave it).
GATHER_CANCELLED = (
    "a gather() was cancelled from outside (by a time limit, or a cancel()) and nobody took "
    'its CancelledError: asyncio logged "_GatheringFuture exception was never retrieved". On '
    "Python 3.11, `asyncio.wait_for(asyncio.gather(...), t)` does this when the time runs "
    "out. Put the time limit around an await of the gather instead (`async with "
    "asyncio.timeout(t): await asyncio.gather(...)`), or wrap the gather in a coroutine or a "
    "task that you await"
)
_HERE = __file__.removesuffix("c")  # this file's frames (the create_task wrapper) are ours

Frame = tuple[str, int, str]  # (file name, line number, function)


# Of a step that took STALL_SECONDS, this much CPU of the loop's own thread means it computed
# all along (a correct step uses microseconds): less, and no wait in the kernel, means the
# machine gave the thread no CPU (another process ran), which is not the learner's code.
STALL_CPU_SECONDS = 0.1


def _thread_usage() -> tuple[float, int] | None:
    """(CPU seconds, voluntary context switches) of this thread, where the OS tells them."""
    if _RUSAGE_THREAD is None:
        return None
    usage = resource.getrusage(_RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime, usage.ru_nvcsw


def held_the_loop(before: tuple[float, int] | None, after: tuple[float, int] | None) -> bool:
    """Whether a long step was the code's doing: it computed (used CPU) or waited in the kernel
    (a blocking call: a voluntary switch), rather than being kept off the CPU by a busy machine."""
    if before is None or after is None:
        return True  # no per-thread figures: judge by the wall clock alone
    cpu, waits = after[0] - before[0], after[1] - before[1]
    return cpu >= STALL_CPU_SECONDS or waits > 0


class BlockingCallError(RuntimeError):
    """Raised in place of a blocking call made on the event loop's thread."""


# Blocking calls too short to trip the stall check, stopped the moment the learner's code makes
# one on the loop's thread (from a thread, they are fine): (module, function, what to use).
BLOCKING_CALLS = [
    ("subprocess", "run", "await asyncio.create_subprocess_exec(...)"),
    ("subprocess", "call", "await asyncio.create_subprocess_exec(...)"),
    ("subprocess", "check_call", "await asyncio.create_subprocess_exec(...)"),
    ("subprocess", "check_output", "await asyncio.create_subprocess_exec(...)"),
    ("subprocess", "getoutput", "await asyncio.create_subprocess_shell(...)"),
    ("subprocess", "getstatusoutput", "await asyncio.create_subprocess_shell(...)"),
    ("os", "system", "await asyncio.create_subprocess_shell(...)"),
    ("urllib.request", "urlopen", "an aiohttp.ClientSession (exercise 19)"),
    ("socket", "create_connection", "await asyncio.open_connection(...)"),
]


@dataclass
class Findings:
    focus: set[str] = field(default_factory=set)  # the target's files, for pointing at lines
    allow_blocking: bool = False
    blocking_calls: list[str] = field(default_factory=list)
    stalls: list[tuple[float, str]] = field(default_factory=list)
    unawaited: list[str] = field(default_factory=list)
    loop_errors: list[str] = field(default_factory=list)
    leftover: list[asyncio.Task] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    tasks_before: set[asyncio.Task] = field(default_factory=set)
    loop_elapsed: float | None = None  # loop time the test's body took
    test_file: str | None = None  # the test's own file
    test_name: str | None = None  # the test function's name
    # Who made each task: the asyncio function called, and the target's line that called it.
    task_origins: weakref.WeakKeyDictionary[asyncio.Task, TaskOrigin] = field(
        default_factory=weakref.WeakKeyDictionary
    )
    # Threads, servers... the target's code opened; it shares `focus`.
    ledger: resources.Ledger = field(init=False)

    def __post_init__(self) -> None:
        self.ledger = resources.Ledger(self.focus)

    @staticmethod
    def where(site: Frame | None) -> str:
        """`(tasks.py, line 12, in run_all)` for a frame of the target's file, if there is one."""
        if site is None:
            return ""
        filename, lineno, func = site
        return f" ({Path(filename).name}, line {lineno}, in {func})"

    def on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        message = context.get("message", "an error asyncio could only log")
        exc = context.get("exception")
        # Python 3.11 logs a start_server() handler whose task ends cancelled as an error (an
        # asyncio bug, fixed in 3.12); cancelling the handlers is a right way to shut down.
        if isinstance(exc, asyncio.CancelledError) and "StreamReaderProtocol.connection_made" in (
            str(message)
        ):
            return
        detail = f"{type(exc).__name__}: {exc}" if exc is not None else ""
        source = context.get("task") or context.get("future") or context.get("handle")
        if isinstance(exc, asyncio.CancelledError) and type(source).__name__ == "_GatheringFuture":
            self.loop_errors.append(GATHER_CANCELLED)
            return
        name = _describe(source)
        self.loop_errors.append(f"{message}{f' in {name}' if name else ''}: {detail}".rstrip(": "))

    def note_task(self, task: asyncio.Task, frame) -> None:
        """Remember how `task` was made, from `frame`, the caller of loop.create_task()."""
        api = "loop.create_task"
        while frame is not None and _internal(frame.f_code.co_filename):
            if frame.f_code.co_filename.startswith(_ASYNCIO):
                api = frame.f_code.co_qualname  # the outermost: what the caller called
            frame = frame.f_back
        site, starter = None, frame.f_code.co_filename if frame is not None else None
        if starter in self.focus:
            site = (starter, frame.f_lineno, frame.f_code.co_name)
        self.task_origins[task] = TaskOrigin(api, site, starter)

    def unawaited_coroutine(self, coro: object) -> str:
        """What to say about `coro`, a coroutine thrown away without being awaited: the
        expression in the target's file that made it, when its origin shows one."""
        name = getattr(coro, "__name__", "?")
        origin = list(getattr(coro, "cr_origin", None) or ())  # most recent call first
        index = next((i for i, (f, _, _) in enumerate(origin) if f in self.focus), None)
        builds = (
            "Calling an async function only builds a coroutine object; nothing in it runs "
            "until you await it"
        )
        if index is None:
            return (
                f"The coroutine {name}() was created but never awaited. {builds} "
                "or hand it to asyncio.create_task()."
            )
        filename, lineno, _ = origin[index]
        where = f"line {lineno} of {targets.display(Path(filename))}"
        code = linecache.getline(filename, lineno).strip()
        if index == 0:  # made right there, by calling a coroutine function
            call = _unawaited_call(filename, lineno, name)
            if call is not None:
                return (
                    f"`{call}` on {where} made a coroutine that was never awaited. "
                    f"{builds} (`await {call}`) or hand it to asyncio.create_task()."
                )
            return (
                f"A call on {where} made a coroutine of {name}() that was never awaited"
                f"{f': `{code}`' if code else ''}. {builds} (`await` the call) or hand it "
                "to asyncio.create_task()."
            )
        return (
            f"{where[0].upper()}{where[1:]}{f' (`{code}`)' if code else ''} called code that "
            f"made a coroutine of {name}(), and that coroutine was never awaited. If a call "
            "on that line gives back a coroutine, `await` it (or hand it to "
            "asyncio.create_task())."
        )

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
                f"reaching an `await`, {what}. Code that runs without awaiting (a CPU "
                "loop, busy-waiting, a blocking call such as time.sleep or a synchronous "
                "network call) freezes every other task. Await something that yields, or move "
                "the work to asyncio.to_thread()."
            )
        found.extend(dict.fromkeys(self.unawaited))  # once each, in order
        for entry in self.loop_errors:
            found.append(
                f"asyncio caught an error your code never saw and only logged it: {entry}."
                + (
                    ""
                    if entry == GATHER_CANCELLED
                    else " An exception inside a task nobody awaits, or inside a callback, "
                    "is lost unless you await the task (or check its result)."
                )
            )
        found.extend(self._leftover_messages())
        return found

    def _runs_the_test(self, task: asyncio.Task) -> bool:
        """Is `task` the one running the test function itself?"""
        coro = task.get_coro()
        return getattr(coro, "__name__", None) == self.test_name and any(
            frame.f_code.co_filename == self.test_file for frame in _awaiting(coro)
        )

    def _leftover_messages(self) -> list[str]:
        """One paragraph per way the leftover tasks were made: by the target's own
        create_task(), by a gather() or as_completed() it called, or by other code."""
        groups: dict[tuple, list[asyncio.Task]] = {}
        for task in self.leftover:
            origin = self.task_origins.get(task) or TaskOrigin("", None)
            inside = _code_file(task.get_coro()) in self.focus or _waiting_at(task, self.focus)
            if origin.site is None and inside:  # another's task, running the target's code
                by_test = origin.starter is not None and origin.starter == self.test_file
                key: tuple = ("inside", by_test)
            elif origin.site is None and self._runs_the_test(task):
                key = ("test",)
            elif origin.site is None:
                key = ("other",)
            elif origin.api in _STARTS_A_TASK:
                key = ("started", origin.api, origin.site)
            elif origin.api == "gather":
                key = ("gather", origin.site, _gathered_by(task))
            else:
                key = ("wrapped", origin.api, origin.site)
            groups.setdefault(key, []).append(task)
        return [
            _leftover_message(key, tasks, self.focus, _cancel_note(tasks))
            for key, tasks in groups.items()
        ]


@dataclass(frozen=True)
class TaskOrigin:
    api: str  # the asyncio function called to make the task ("create_task", "gather", ...)
    site: Frame | None  # the target's line that called it; None: no line of the target did
    starter: str | None = None  # the file of the code that called it


# The functions that start the one task they are asked for; the others (gather, as_completed,
# wait_for, shield) wrap coroutines handed to them in tasks of their own.
_STARTS_A_TASK = {
    "create_task",
    "ensure_future",
    "TaskGroup.create_task",
    "loop.create_task",  # called directly: no asyncio function in between
}


def _internal(filename: str) -> bool:
    return filename.startswith(_ASYNCIO) or filename == _HERE


def _plural(count: int, one: str, many: str) -> str:
    return one if count == 1 else many


def _tasks(count: int) -> str:
    return checks.count(count, "task")


def _names(tasks: list[asyncio.Task]) -> str:
    counts = collections.Counter(_describe(t) for t in tasks)
    shown = [name if n == 1 else f"{name} ({n} of them)" for name, n in counts.most_common(5)]
    more = len(counts) - len(shown)
    return ", ".join(shown) + (
        f", and {more} other {_plural(more, 'kind', 'kinds')}" if more else ""
    )


def _site(site: Frame) -> str:
    return targets.line_at(site[0], site[1])


def _gathered_by(task: asyncio.Task) -> asyncio.Future | None:
    """The future asyncio.gather() returned for the coroutines it wrapped, `task` among them:
    gather's callback on each of its tasks holds it."""
    for callback, _ in getattr(task, "_callbacks", None) or ():
        code = getattr(callback, "__code__", None)
        if code is None or code.co_qualname != "gather.<locals>._done_callback":
            continue
        cells = dict(
            zip(code.co_freevars, getattr(callback, "__closure__", None) or (), strict=False)
        )
        try:
            outer = cells["outer"].cell_contents
        except (KeyError, ValueError):
            continue
        if isinstance(outer, asyncio.Future):
            return outer
    return None


def _code_file(coro: object) -> str | None:
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    return getattr(code, "co_filename", None)


def _awaiting(coro: object) -> Iterator:
    """The frames of a suspended coroutine and of those it awaits, outermost first."""
    for _ in range(100):
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            return
        yield frame
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)


def _waiting_at(task: asyncio.Task, focus: set[str]) -> Frame | None:
    """The innermost line of the target's file that `task` is suspended at, if any."""
    found = None
    for frame in _awaiting(task.get_coro()):
        if frame.f_code.co_filename in focus:
            found = (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
    return found


def _cancel_note(tasks: list[asyncio.Task]) -> str:
    """Said of leftover tasks that had been asked to cancel, but had not ended yet."""
    asked = sum(1 for task in tasks if task.cancelling())
    if not asked:
        return ""
    who = _plural(asked, "It had", "They had") if asked == len(tasks) else f"{asked} of them had"
    return (
        f"{who} been cancelled, but had not ended yet: cancel() only asks, so await a task "
        "after cancelling it, to be sure it has ended."
    )


def _leftover_message(key: tuple, tasks: list[asyncio.Task], focus: set[str], note: str) -> str:
    """`note`: what _cancel_note() says of these tasks ("" when none was cancelled)."""
    count, names = len(tasks), _names(tasks)
    was = _plural(count, "was", "were")
    must_end = note or (
        "Every task your code starts must have finished before it returns: await it, or "
        "cancel it and then await it."
    )
    if key[0] == "started":
        _, api, site = key
        return (
            f"Your code started {_tasks(count)} with {api}() on {_site(site)}, and "
            f"{_plural(count, 'it was', 'they were')} still running when the test "
            f"ended: {names}. {must_end}"
        )
    if key[0] == "gather":
        _, site, outer = key
        return _gather_message(site, outer, count, names, note)
    if key[0] == "wrapped":
        _, api, site = key
        if api == "as_completed":
            return (
                f"The as_completed(...) on {_site(site)} ran each coroutine handed to it as a "
                f"task, and {count} of them {was} still running when the test "
                f"ended: {names}. as_completed() does not cancel them when you stop taking "
                "its results early, or when it times out: cancel the ones still running, then "
                f"await them, before your function returns.{f' {note}' if note else ''}"
            )
        handed = _plural(count, "the coroutine handed to it", "the coroutines handed to it")
        return (
            f"The {api}(...) on {_site(site)} ran {handed} as {_plural(count, 'a task', 'tasks')}"
            f", and {_plural(count, 'it was', f'{count} were')} still running when the test "
            f"ended: {names}. {must_end}"
        )
    if key[0] == "inside":
        started = "the test started" if key[1] else "your code did not start"
        waiting = _waiting_at(tasks[0], focus)
        if count == 1:
            at = f", waiting at {_site(waiting)}" if waiting else ""
            lead = f"a task {started} was still running your code: {names}{at}."
        else:
            at = f"; one was waiting at {_site(waiting)}" if waiting else ""
            lead = f"{count} tasks {started} were still running your code: {names}{at}."
        return f"When the test ended, {lead}{f' {note}' if note else ''}"
    if key[0] == "test":
        return (
            f"The test's own task ({names}) had not finished when the test's run ended: the "
            "event loop stopped running it. An exception that stops a whole program "
            "(SystemExit, KeyboardInterrupt) stops the loop too when it escapes from a task."
        )
    them = _plural(count, "it", "them")
    return (
        f"{_tasks(count)} {was} still running when the test ended: {names}. No line of your "
        f"file started {them}: perhaps asyncio or a library started {them} for something your "
        "code did (a callback, a coroutine handed on). Whatever your code sets going must have "
        f"finished before it returns.{f' {note}' if note else ''}"
    )


def _gather_message(
    site: Frame, outer: asyncio.Future | None, count: int, names: str, note: str
) -> str:
    was = _plural(count, "was", "were")
    where = f"gather(...) on {_site(site)}"
    them = f"{count} of them {was}"
    also = f" {note}" if note else ""
    if outer is not None and outer.done() and not outer.cancelled():
        unseen = bool(getattr(outer, "_log_traceback", False))  # read: nobody awaited it
        error = getattr(outer, "_exception", None)  # exception() would mark it as read
        if getattr(outer, "_cancel_requested", False):  # gather itself was cancelled
            return (
                f"The {where} was cancelled, and cancelled its coroutines in turn, but did not "
                f"wait for them to end: {them} still running when the test ended: "
                f"{names}. To be sure they have ended, start them as tasks and, when your "
                "code is cancelled, cancel them and await them (an asyncio.TaskGroup does "
                "that for you)."
            )
        if isinstance(error, asyncio.CancelledError):
            why = "CancelledError when one of its coroutines was cancelled"
        else:
            why = "when one of its coroutines failed" + (
                f" ({_exception(error)})" if error is not None else ""
            )
        if unseen:
            return (
                f"Nothing awaited the {where}. It ended with {why}, and the others kept "
                f"running: {them} still running when the test ended: {names}. "
                "gather() starts its coroutines at once, and only awaiting it waits for "
                f"them: `await asyncio.gather(...)`.{also}"
            )
        return (
            f"The {where} raised {why}, and the others kept running: gather does not cancel "
            f"them. {them} still running when the test ended: {names}. Before "
            "your function returns, every coroutine it hands to gather must have finished: "
            "catch the error and cancel the others (asyncio.TaskGroup does both for you). "
            "(return_exceptions=True also waits for all of them, but then gather returns each "
            f"error in place of that coroutine's result instead of raising it.){also}"
        )
    if outer is not None and not outer.done():
        return (
            f"The {where} had not finished when the test ended: {count} of the coroutines "
            f"handed to it {was} still running: {names}. gather() starts its coroutines at "
            "once, and only awaiting it waits for them. Likely: it was never awaited; write "
            f"`await asyncio.gather(...)`.{also}"
        )
    return (
        f"The {where} ran each coroutine handed to it as a task, and {them} still "
        f"running when the test ended: {names}. Every coroutine your code hands to "
        "gather must have finished before it returns: await the gather, and if it raises, "
        f"cancel the others (asyncio.TaskGroup does both for you).{also}"
    )


def _exception(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _callee(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


# Methods that never give back a coroutine, on the objects a learner puts coroutines into.
_PLAIN_METHODS = {"append", "extend", "insert", "add", "setdefault", "put_nowait", "format", "join"}


def _plain(func: ast.expr) -> bool:
    """Is `func` known to be a plain (not async) function: a builtin, or asyncio's own?"""
    if isinstance(func, ast.Name):
        found = getattr(builtins, func.id, None)
    elif isinstance(func, ast.Attribute):
        if func.attr in _PLAIN_METHODS:
            return True
        if not (isinstance(func.value, ast.Name) and func.value.id == "asyncio"):
            return False
        found = getattr(asyncio, func.attr, None)
    else:
        return False
    return callable(found) and not inspect.iscoroutinefunction(found)


def _unawaited_call(filename: str, lineno: int, name: str) -> str | None:
    """The source of the one call on line `lineno` that can have made a coroutine of
    `name`() without awaiting it, or None when the line does not show which call it was."""
    return _call_on_line("".join(linecache.getlines(filename)), lineno, name)


@functools.lru_cache(maxsize=256)  # a loop can throw away thousands of coroutines in one test
def _call_on_line(source: str, lineno: int, name: str) -> str | None:
    calls = _calls_by_line(source).get(lineno, [])
    named = [call for call in calls if _callee(call) == name]
    calls = named or [call for call in calls if not _plain(call.func)]
    found = {" ".join((ast.get_source_segment(source, call) or "").split()) for call in calls}
    if len(found) != 1:
        return None
    return found.pop() or None


@functools.lru_cache(maxsize=8)
def _calls_by_line(source: str) -> dict[int, list[ast.Call]]:
    """The calls not awaited right away, by the lines a call is reported on: where it starts,
    and where its `(` is (a method call split over lines)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    awaited = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Await)}
    lines: dict[int, list[ast.Call]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and id(node) not in awaited:
            for line in dict.fromkeys((node.lineno, node.func.end_lineno)):
                if line is not None:
                    lines.setdefault(line, []).append(node)
    return lines


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
    real_create_task = asyncio.base_events.BaseEventLoop.create_task
    real_warn = warnings._warn_unawaited_coroutine  # type: ignore[attr-defined]
    old_depth = sys.get_coroutine_origin_tracking_depth()

    def guarded_sleep(seconds: float) -> None:
        __tracebackhide__ = True
        if not findings.allow_blocking and _loop_running_here():
            # The learner's own line, even when the sleep happens deep inside a library.
            where = findings.where(_learners_frame(findings.focus, sys._getframe(1)))
            message = (
                f"time.sleep({seconds!r}) was called on the event loop's thread{where}. "
                "It blocks the whole loop: while it sleeps, no other task can run. "
                f"Use `await asyncio.sleep({seconds!r})` in async code."
            )
            findings.blocking_calls.append(message)
            raise BlockingCallError(message)
        real_sleep(seconds)

    def guard_call(real: Callable, name: str, instead: str) -> Callable:
        @functools.wraps(real)
        def guarded_call(*args, **kwargs):
            __tracebackhide__ = True
            if not findings.allow_blocking and _loop_running_here():
                site = _learners_frame(findings.focus, sys._getframe(1))
                if site is not None:  # the test's own helpers may block: only the learner's
                    message = (
                        f"{name}() was called on the event loop's thread, at {_site(site)}, "
                        f"in {site[2]}. It blocks the whole loop while it waits: no other task "
                        f"runs meanwhile. Use {instead} in async code, or run the call in a "
                        "thread with `await asyncio.to_thread(...)`."
                    )
                    findings.blocking_calls.append(message)
                    raise BlockingCallError(message)
            return real(*args, **kwargs)

        return guarded_call

    # Only modules already imported: the learner's module was imported before any test ran.
    blocking = [
        (sys.modules[module], attr, getattr(sys.modules[module], attr), f"{module}.{attr}", instead)
        for module, attr, instead in BLOCKING_CALLS
        if module in sys.modules and hasattr(sys.modules[module], attr)
    ]

    start_waits = findings.ledger.start_waits
    watch = loopwatch.LoopWatch(findings.focus)

    def timed_run(handle: asyncio.Handle) -> None:
        me = threading.get_ident()
        excused = start_waits.get(me, 0.0)
        started = clocks.perf_counter()
        watch.begin(me, started)
        before = _thread_usage()
        try:
            real_run(handle)
        finally:
            site = watch.end(me)
            # Waiting in Thread.start() for a new thread to be scheduled is not holding the loop.
            excused = start_waits.get(me, 0.0) - excused
            took = clocks.perf_counter() - started - excused
            if took >= STALL_SECONDS and held_the_loop(before, _thread_usage()):
                # The learner's line, when the watch saw it, says more than the task's name.
                what = f"at {_site(site)}" if site else f"in {_describe_handle(handle)}"
                findings.stalls.append((took, what))

    def record_unawaited(coro: object) -> None:
        findings.unawaited.append(findings.unawaited_coroutine(coro))

    def tracked_create_task(loop: asyncio.AbstractEventLoop, *args, **kwargs) -> asyncio.Task:
        __tracebackhide__ = True
        task = real_create_task(loop, *args, **kwargs)
        with contextlib.suppress(Exception):  # only a note: never break the task's creation
            findings.note_task(task, sys._getframe(1))
        return task

    time.sleep = guarded_sleep
    for module, attr, real, name, instead in blocking:
        setattr(module, attr, guard_call(real, name, instead))
    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]
    asyncio.base_events.BaseEventLoop.create_task = tracked_create_task  # type: ignore[method-assign]
    warnings._warn_unawaited_coroutine = record_unawaited  # type: ignore[attr-defined]
    sys.set_coroutine_origin_tracking_depth(32)
    _current = findings
    watch.start()
    try:
        with resources.watching(findings.ledger):
            yield findings
    finally:
        watch.stop()
        _current = None
        time.sleep = real_sleep
        for module, attr, real, _, _ in blocking:
            setattr(module, attr, real)
        asyncio.events.Handle._run = real_run  # type: ignore[method-assign]
        asyncio.base_events.BaseEventLoop.create_task = real_create_task  # type: ignore[method-assign]
        warnings._warn_unawaited_coroutine = real_warn  # type: ignore[attr-defined]
        sys.set_coroutine_origin_tracking_depth(old_depth)


def _learners_frame(focus: set[str], frame: types.FrameType | None) -> Frame | None:
    """The innermost frame of the learner's file on this stack, if it is on it."""
    while frame is not None:
        if frame.f_code.co_filename in focus:
            return (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)
        frame = frame.f_back
    return None


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
