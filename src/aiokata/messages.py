"""What the learner reads when a test is stopped, a stub is untouched, or code misbehaves."""

from __future__ import annotations

import collections
import errno
import linecache
import re
import traceback
from pathlib import Path
from typing import TypeVar

import pytest
from _pytest.reports import TestReport

from aiokata import guards, isolation, scenarios, targets

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

STATUS = "aiokata_status"  # a report property: pass/fail/error/timeout as aiokata saw it
LOOP_TIME = "aiokata_loop_time"  # a report property: loop time the test's body simulated
REAL_TIME = "aiokata_real_time"  # a report property: the test runs in real time (no looptime)
NOTES = "aiokata also noticed"  # the report section for hygiene notes on a failed test
TAMPERED = (
    "The test's process sent back results that are not this test's own (malformed, or for a "
    "different test). Code under test must not write to the test harness's pipes; this test "
    "counts as an error."
)


def loop_limit(seconds: float, virtual: bool = True) -> str:
    shown = f"{seconds:,.10g}" if seconds < 1e15 else f"{seconds:g}"  # 1,000,000, not 1e+06
    if virtual:
        waited = (
            f"Your code was still waiting after {shown} s of loop time. The tests run on a "
            "virtual clock, so that took no real time: the code waits for something that "
            "never happens."
        )
    else:  # this exercise's tests run in real time (real threads or processes)
        waited = (
            f"Your code was still waiting after {shown} s, far longer than anything this "
            "test waits for: the code waits for something that never happens."
        )
    return (
        f"{waited} Likely: a deadlock (an Event nobody sets, a Queue nobody fills or drains, "
        "a task awaiting itself or a lock it already holds), or a loop that never ends."
    )


def failed_report(
    item: pytest.Item, message: str, *, status: str = "fail", duration: float = 0.0
) -> TestReport:
    return TestReport(
        nodeid=item.nodeid,
        location=item.location,
        keywords=dict.fromkeys(item.keywords, 1),
        outcome="failed",
        longrepr=message,
        when="call",
        sections=[],
        duration=duration,
        user_properties=[*item.user_properties, (STATUS, status)],
    )


def strays(found: list[str]) -> str:
    """`found`: the command line of each process a test left running (and that was killed)."""
    counts = collections.Counter(found)
    shown = "\n".join(
        f"    {command}" + (f" ({n} of them)" if n > 1 else "")
        for command, n in counts.most_common(5)
    )
    more = f"\n    ... and {len(counts) - 5} other commands" if len(counts) > 5 else ""
    how = ""
    if not all(command.endswith(isolation.IN_GROUP) for command in found):
        how = (
            "They had left the test's process group (a session of their own, or a parent "
            "that exited first), so nothing waited for them. "
        )
    if any("multiprocessing.resource_tracker" in c or "forkserver" in c for c in found):
        how += (
            "One is multiprocessing's own helper (its resource tracker or fork server): a "
            "process pool started with the 'spawn' or 'forkserver' method (mp_context) starts "
            "it and leaves it running for the rest of the program. Leave mp_context out "
            "unless the exercise asks for it. "
        )
    return (
        f"Your code left {len(found)} {'process' if len(found) == 1 else 'processes'} running "
        f"after the test ended; {'it was' if len(found) == 1 else 'they were'} killed:\n"
        f"{shown}{more}\n{how}Every process your code starts must have ended before your "
        "function returns: await its wait(), or kill it and then await wait()."
    )


def interrupted(exc: BaseException) -> str:
    return (
        f"Your code raised {type(exc).__name__}, which stops a whole program: "
        "an exercise function should return or raise an ordinary exception instead."
    )


def plain_failure(
    excinfo: pytest.ExceptionInfo, focus: set[str], test_path: Path | None = None
) -> str | None:
    """What the learner needs instead of pytest's traceback: a failure the test explains
    (`pytest.fail(..., pytrace=False)`) shows only its message; an untouched stub shows one
    line saying what to write; an exit from the learner's code says what it did; any other
    exception says which function raised what, where (when `test_path`, the test file, is
    given). None: keep pytest's own report."""
    flaky = scenarios.first_failure(excinfo.value)
    if flaky is not None:
        if isinstance(flaky, pytest.fail.Exception):
            inner = str(flaky.msg)
        elif flaky.__traceback__ is not None:
            inner = plain_failure(pytest.ExceptionInfo.from_exception(flaky), focus, test_path)
        else:
            inner = None
        return (
            "This scenario failed once and passed when run again, so your code does not "
            "always do the same thing with the same input. Likely: it depends on an order "
            "asyncio does not promise (the `done` set of asyncio.wait, a set's order) or on "
            "state left over from an earlier run.\nThe failure it gave:\n"
            + (inner or _exception(flaky))
        )
    if excinfo.errisinstance(pytest.fail.Exception) and not excinfo.value.pytrace:
        return str(excinfo.value.msg)
    if excinfo.errisinstance(guards.BlockingCallError):  # the guard's message is the lesson
        return str(excinfo.value)
    if excinfo.errisinstance((SystemExit, KeyboardInterrupt)):
        return interrupted(excinfo.value)
    if excinfo.errisinstance(MemoryError):
        return out_of_memory(excinfo, focus)
    if excinfo.errisinstance(OSError) and excinfo.value.errno == errno.EFBIG:
        return (
            f"Your code wrote a file larger than this process may write ({excinfo.value}); "
            "whoever runs the tests set that limit. None of these exercises writes big files."
        )
    logged = _only_logged(excinfo.value)
    if logged:
        # The same warning (told apart only by a number, e.g. a pid) is said once, counted.
        seen: dict[str, list] = {}  # the warning with its numbers masked: [first, count]
        for warning in logged:
            seen.setdefault(re.sub(r"\d+", "N", warning), [warning, 0])[1] += 1
        what = "\n    ".join(
            first + (f" (and {n - 1} more like it)" if n > 1 else "") for first, n in seen.values()
        )
        lead = what if len(logged) == 1 else f"\n    {what}"
        if all(_UNAWAITED_ACLOSE.search(w) for w in logged):  # Python 3.13+ says so
            return (
                f"Python could only log this problem, after your code ran: {lead}\n"
                "An async generator's aclose() was called but never awaited: aclose() only "
                "gives an awaitable, and the generator is closed (its `finally:` runs) when "
                "that is awaited. Write `await stream.aclose()` for your stream, or loop "
                "inside `async with contextlib.aclosing(stream):`."
            )
        return (
            f"Python could only log this problem, after your code ran: {lead}\n"
            "Likely: something your code started or opened was never finished or closed (a "
            "subprocess still running, a file or socket left open). Wait for it, close it, or "
            "use `with` / `async with`."
        )
    lost = _thread_errors(excinfo.value)
    if lost:
        return thread_errors(lost, focus)
    if excinfo.errisinstance(NotImplementedError):
        frames = [f for f in traceback.extract_tb(excinfo.tb) if f.filename in focus]
        if frames:
            frame = frames[-1]
            detail = str(excinfo.value) or "it still raises NotImplementedError"
            return (
                f"{targets.display(Path(frame.filename))}:{frame.lineno}: {frame.name}() is "
                f"not written yet: {detail}"
            )
    if test_path is not None and not excinfo.errisinstance(pytest.fail.Exception):
        return unexpected(excinfo, focus, str(test_path))
    return None


_UNAWAITED_ACLOSE = re.compile(r"coroutine method 'aclose' of '[^']+' was never awaited")


E = TypeVar("E", bound=BaseException)


def _only(exc: BaseException, kind: type[E]) -> list[E]:
    """The `kind` exceptions `exc` is, when that is all it is, alone or as a group; else []."""
    if isinstance(exc, BaseExceptionGroup):
        found = [_only(e, kind) for e in exc.exceptions]
        return [w for ws in found for w in ws] if all(found) else []
    return [exc] if isinstance(exc, kind) else []


def _only_logged(exc: BaseException) -> list[str]:
    """The problems Python could only log (pytest's unraisable-exception warnings), when that
    is all `exc` is, alone or as a group; else []."""
    return [
        f"{type(w.__cause__).__name__}: {w.__cause__}" if w.__cause__ else str(w)
        for w in _only(exc, pytest.PytestUnraisableExceptionWarning)
    ]


def _thread_errors(exc: BaseException) -> list[pytest.PytestUnhandledThreadExceptionWarning]:
    """The exceptions that ended threads uncaught (pytest's warnings about them), when that is
    all `exc` is, alone or as a group; else []."""
    return _only(exc, pytest.PytestUnhandledThreadExceptionWarning)


def thread_errors(lost: list[pytest.PytestUnhandledThreadExceptionWarning], focus: set[str]) -> str:
    """An exception ended a thread and nothing caught it: say what, in which thread, where."""
    said = []
    for warning in lost:
        heading = str(warning.args[0]).splitlines()[0] if warning.args else ""
        thread = heading.removeprefix("Exception in thread ").strip() or "a thread"
        cause = warning.__cause__
        what = _exception(cause) if cause is not None else "an exception"
        frames = traceback.extract_tb(cause.__traceback__) if cause is not None else []
        mine = [f for f in frames if f.filename in focus]
        where = f", raised at {_at(mine[-1])}" if mine else ""
        said.append(f"the thread {thread} ended with {what}{where}")
    first = said[0] + (f" (and {len(said) - 1} more)" if len(said) > 1 else "")
    return (
        f"A thread ended with an exception nothing caught: {first}. Nothing awaits a "
        "thread, so its exception only ends the thread and is lost. Catch it inside the "
        "thread and hand it on to the loop (for example set it on a future with "
        "loop.call_soon_threadsafe), or run the function with asyncio.to_thread(), which "
        "raises its error where you await it."
    )


def _exception(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _at(frame: traceback.FrameSummary) -> str:
    code = f": `{frame.line.strip()}`" if frame.line else ""
    return f"{targets.display(Path(frame.filename))}, line {frame.lineno}{code}"


def unexpected(excinfo: pytest.ExceptionInfo, focus: set[str], test_path: str) -> str:
    """An exception the test did not turn into a message, told from what the traceback
    shows: which of the learner's functions let it out, where it was raised, or which of
    the test's own checks it broke."""
    exc = excinfo.value
    frames = traceback.extract_tb(excinfo.tb)
    mine = [f for f in frames if f.filename in focus]
    scenario = scenarios.described()
    lead = f"Scenario: {scenario}\n" if scenario else ""
    if mine:
        entry, origin = mine[0], frames[-1]
        if origin.filename in focus:
            return (
                f"{lead}{entry.name}() raised {_exception(exc)}, at {_at(origin)}\n"
                f"The test did not expect an error here: read the docstring of {entry.name}() "
                "for what it should return or raise instead."
            )
        source = (
            f"the test's own {origin.name}(), which raises it on purpose"
            if origin.filename == test_path
            else f"{origin.name}() in {Path(origin.filename).name}"
        )
        return (
            f"{lead}{entry.name}() let {_exception(exc)} escape. It came from {source}, "
            f"called at {_at(mine[-1])}\nThe test did not expect it to escape: read the "
            f"docstring of {entry.name}() for what should happen to this error (handled, "
            "avoided, or passed on)."
        )
    checks = [f for f in frames if f.filename == test_path]
    where = f" at {_at(checks[-1])}" if checks else ""
    if isinstance(exc, AssertionError):
        return f"{lead}A check in the test failed{where}\n{exc}"
    return (
        f"{lead}While checking what your code did, the test hit {_exception(exc)}{where}\n"
        "Likely: your code returned something other than what its docstring promises "
        "(another type, shape or number of values), or left something in a state the test "
        "could not use."
    )


def out_of_memory(excinfo: pytest.ExceptionInfo, focus: set[str]) -> str:
    frames = [f for f in traceback.extract_tb(excinfo.tb) if f.filename in focus]
    where = ""
    if frames:
        frame = frames[-1]
        where = f" at {targets.display(Path(frame.filename))}:{frame.lineno} ({frame.line})"
    soft, _ = resource.getrlimit(resource.RLIMIT_AS) if resource else (-1, -1)
    limit = (
        f"this process may use at most {soft >> 20} MiB of memory (a limit set by whoever runs "
        "the tests, e.g. `aiokata grade --memory`)"
        if soft > 0
        else "the machine has no more memory to give"
    )
    return (
        f"Your code ran out of memory (MemoryError){where}: {limit}. None of these exercises "
        "needs more than a few megabytes; look for a list, string or buffer that grows without "
        "end."
    )


def _where(stack: str, path: str) -> str:
    frames = isolation.frames_in(stack, {path})
    if not frames:
        return ""
    filename, lineno, func = frames[0]
    code = linecache.getline(filename, lineno).strip()
    return (
        f"\nIt was running {targets.display(Path(filename))}, line {lineno}, in {func}:\n    {code}"
    )


def _limit(outcome: isolation.Outcome, wall_limit: float) -> str:
    """The real time a stopped test had, as its message tells it."""
    extra = ""
    if outcome.waited >= 0.1:
        extra = f" (and {outcome.waited:.1f} s more, which the busy machine kept it waiting)"
    return f"{wall_limit:g} s of real time{extra}"


def lost_child(
    outcome: isolation.Outcome, path: str, wall_limit: float, virtual: bool = True
) -> tuple[str, str, bool]:
    """Explain a test whose child never reported: (message, status, broke while importing)."""
    shown = targets.display(Path(path))
    importing = outcome.last("importing", "imported")
    while_importing = importing is not None and importing["event"] == "importing"
    if outcome.child_error:
        return (
            "aiokata could not run this test (an internal error, not your code):\n"
            + outcome.child_error,
            "error",
            False,
        )
    if outcome.killed:
        where = _where(outcome.stack, path)
        if while_importing:
            return (
                f"Importing {shown} did not finish within {_limit(outcome, wall_limit)}, so "
                f"no test of this exercise could run.{where}\nCode at the top level of the "
                "file runs as soon as the tests import it; keep loops and waits inside "
                "functions.",
                "timeout",
                True,
            )
        if outcome.saw("called"):
            return (
                f"The test itself finished, but cleaning up after it did not, within "
                f"{_limit(outcome, wall_limit)}: a task your code started would not stop when "
                "it was cancelled. Something in it catches asyncio.CancelledError (or "
                f"BaseException) and carries on; let the cancellation through.{where}",
                "timeout",
                False,
            )
        swallowed = ""
        if outcome.saw("loop-limit"):
            swallowed = (
                "\nThe test's time limit cancelled your code, but it kept running: something "
                "caught asyncio.CancelledError and carried on. Never `except BaseException:` "
                "or `except asyncio.CancelledError:` without re-raising."
            )
        clock = (
            "the tests use a virtual clock, so a correct answer takes milliseconds"
            if virtual
            else "a correct answer finishes well within that"
        )
        return (
            f"Stopped after {_limit(outcome, wall_limit)}: the test never finished "
            f"({clock}).{where}"
            f"{swallowed}\nLikely: a loop that never awaits (`while True:` with no `await` "
            "inside, or busy-waiting on a flag another task should set), a blocking call "
            "(time.sleep, input(), a blocking socket), or a `try/except` that swallows every "
            "error and retries forever.",
            "timeout",
            False,
        )
    code = outcome.exit_status
    how = (
        f"was killed by signal {-code}"
        if code is not None and code < 0
        else (f"exited with status {code}")
    )
    if while_importing:
        return (
            f"The test process {how} while importing {shown}, so no test of this exercise "
            "could run. Does the top level of the file call sys.exit() or os._exit()?",
            "error",
            True,
        )
    return (
        f"The test process {how} before the test finished: your code ended the whole "
        "program (os._exit(), or a crash) instead of returning or raising an exception.",
        "error",
        False,
    )


def import_broken_elsewhere(message: str, nodeid: str) -> str:
    return f"Not run: {message}\n(first seen in {nodeid})"
