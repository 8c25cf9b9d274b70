"""Exercise 18 tests. Run them with `pytest exercises/18`.

These tests start real child processes (tiny Python programs), so they run in real time, not
on the virtual clock. The children and the test talk through files in a scratch folder: a
child waits for a file the test creates from a task on the event loop, which only happens if
your code leaves the loop free. Every child notes its pid there and dies by itself after a few
seconds; the `children` fixture kills any still running when a test ends, so a wrong answer
cannot leave processes behind.
"""

import asyncio
import contextlib
import copy
import functools
import gc
import os
import reprlib
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from collections.abc import Awaitable
from pathlib import Path

import pytest

from aiokata import checks, exercise_module
from aiokata.guards import BlockingCallError

subprocesses = exercise_module(__file__)

pytestmark = [
    pytest.mark.looptime(False),  # real children take real time
    # When a test gives up on a wrong answer that still waits for its child, asyncio warns that
    # the child's pipes were never closed. The test has already said what went wrong.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

# Real seconds a call gets to do what a correct one does at once, and a child gets to see
# what the test did. On 2 cores at a load of 13, starting a Python child alone took over a
# second; a correct answer never waits this long, only a wrong one that waits for something
# that never comes does.
PATIENCE = 4.0
# A child that nobody stops exits by itself after this: past every net, so that a child
# ending on its own never hides a mistake the net was there to catch.
CHILD_LIFETIME = 2 * PATIENCE + 2

CHILD_PRELUDE = """\
import os, signal, sys, threading, time
from pathlib import Path

SCRATCH = Path({scratch!r})
(SCRATCH / "pids" / str(os.getpid())).touch()
threading.Thread(target=lambda: (time.sleep({lifetime}), os._exit(99)), daemon=True).start()


def arrives(path, seconds):
    return arrives_by(path, time.monotonic() + seconds)


def arrives_by(path, deadline):
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True

"""


def _state(pid: int) -> str | None:
    """Our child's state letter from /proc (R, S, Z...), or None once it is gone (reaped).
    A pid that now belongs to a process that is not our child counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = stat.rsplit(")", 1)[1].split()[:2]
    return state if int(ppid) == os.getpid() else None


def running(pid: int) -> bool:
    return _state(pid) not in (None, "Z", "X")


def _alive_and_ours(pid: int, scratch: Path) -> bool:
    """A child of this test (its command line names the scratch folder) that is still alive,
    whoever its parent is: a shell may stand between the learner's code and the child."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return str(scratch).encode() in cmdline and state not in ("Z", "X")


class Children:
    """Builds child commands and knows every child they started (and, for children started
    with asyncio.create_subprocess_exec/_shell, their asyncio Process objects)."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        (scratch / "pids").mkdir()
        self.procs: list[asyncio.subprocess.Process] = []

    def command(self, body: str, *extra_args: str, lifetime: float = CHILD_LIFETIME) -> list[str]:
        prelude = CHILD_PRELUDE.format(scratch=str(self.scratch), lifetime=lifetime)
        return [sys.executable, "-c", prelude + textwrap.dedent(body), *extra_args]

    def file(self, name: str) -> Path:
        return self.scratch / name

    def pids(self) -> list[int]:
        return sorted(int(p.name) for p in (self.scratch / "pids").iterdir())

    def alive(self) -> list[int]:
        return [pid for pid in self.pids() if _alive_and_ours(pid, self.scratch)]

    def gone(self, pid: int) -> bool:
        """The child has exited and been collected (its pid is free, or reused by another)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        return state not in ("Z", "X") and str(self.scratch).encode() not in cmdline

    async def settle(self, seconds: float) -> None:
        """Wait (up to `seconds`) until every child has exited and been collected, so that
        none outlives the test, not even as a zombie."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not all(self.gone(pid) for pid in self.pids()) and loop.time() < deadline:
            await asyncio.sleep(0.005)

    async def release(self) -> None:
        """Let children that wait for the "release" file exit, and wait until they have."""
        self.file("release").touch()
        await self.settle(2)

    def kill_leftovers(self) -> bool:
        """Kill every child still running; True if there were any."""
        leftovers = self.alive()
        for pid in leftovers:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return bool(leftovers)


def _recording(create, procs: list):
    """asyncio.create_subprocess_exec (or _shell), unchanged, noting each Process it makes."""

    @functools.wraps(create)
    async def recorded(*args, **kwargs):
        proc = await create(*args, **kwargs)
        procs.append(proc)
        return proc

    return recorded


@pytest.fixture
async def children(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    kids = Children(tmp_path)
    for module in (asyncio, asyncio.subprocess):
        for name in ("create_subprocess_exec", "create_subprocess_shell"):
            monkeypatch.setattr(module, name, _recording(getattr(module, name), kids.procs))
    try:
        yield kids
    finally:
        if kids.kill_leftovers():
            # Let asyncio collect the killed children while the loop still runs, so that what
            # a wrong answer left behind is cleaned up here and not in a later test.
            await kids.settle(1)
            await asyncio.sleep(0.02)
            gc.collect()


@contextlib.asynccontextmanager
async def in_background(coro: Awaitable[None]):
    """Run `coro` as a task on the loop for the length of the block, then stop it."""
    task = asyncio.ensure_future(coro)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def create_when(go: Path, ready: Path | None = None) -> None:
    """From the event loop: create `go` (once `ready` exists, if given)."""
    while ready is not None and not ready.exists():
        await asyncio.sleep(0.005)
    go.touch()


async def finish_within(seconds: float, awaitable: Awaitable, message: str = ""):
    """Await the learner's call; fail with `message` if it is still running after `seconds`
    of real time. A TimeoutError the learner's code raises itself passes through."""
    try:
        async with asyncio.timeout(seconds) as scope:
            return await awaitable
    except TimeoutError:
        if not scope.expired():
            raise
    except BlockingCallError as exc:
        message = explain_blocking_subprocess(exc)
        if not message:
            raise
    except (AttributeError, TypeError, ValueError) as exc:
        message = explain_error(exc)
        if not message:
            raise
    # Failing here, outside the except block, lets the learner's frames (and any child process
    # object they hold) go at once instead of living on in a chained traceback.
    pytest.fail(message or f"Your function had not returned after {seconds:g} s.", pytrace=False)


async def finish_while_lines_come(quiet: float, awaitable: Awaitable, lines: list, what: str):
    """finish_within for a long output: fail only after `quiet` s of real time in which no new
    line reached `lines` (a loaded machine makes a long output slow, never silent)."""
    task = asyncio.ensure_future(awaitable)
    seen, since = len(lines), time.monotonic()
    while not task.done():
        await asyncio.wait({task}, timeout=0.25)
        if len(lines) != seen:
            seen, since = len(lines), time.monotonic()
        elif not task.done() and time.monotonic() - since >= quiet:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            stop = "before handing over any line" if not seen else f"after {seen:,} lines"
            pytest.fail(
                f"{what} had not returned {quiet:g} s after its last progress, {stop}: it "
                "stopped reading the child's output, or never returned once the lines were "
                "over.",
                pytrace=False,
            )
    return await finish_within(1.0, task)  # its explanations of the learner's own errors


def explain_error(exc: Exception) -> str:
    """Explain an exception the learner's code raised for a common mistake, or return ""."""
    text = str(exc)
    learner = subprocesses.path.resolve()
    mine = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == learner]
    if not mine:  # not raised by the learner's code
        return ""
    where = f"{learner.name}, line {mine[-1].lineno}: `{mine[-1].line}`\n"
    if "'NoneType' object has no attribute" in text or ("async for" in text and "NoneType" in text):
        return (
            f"{type(exc).__name__}: {text}\n{where}The child's output was not captured: "
            "proc.stdout (and the output proc.communicate() returns) is None unless you start "
            "the child with `stdout=asyncio.subprocess.PIPE`."
        )
    if isinstance(exc, TypeError) and ("not list" in text or "not tuple" in text):
        return (
            f"TypeError: {text}\n{where}asyncio.create_subprocess_exec(program, arg1, arg2, ...) "
            "takes the program and each argument separately, not one list: unpack it with "
            "`asyncio.create_subprocess_exec(*args, ...)`."
        )
    if isinstance(exc, ValueError) and "chunk" in text and "limit" in text:
        return (
            f"ValueError: {text}\n{where}Reading the output line by line (readline() or "
            "`async for line in proc.stdout`) fails on a line longer than the StreamReader's "
            "limit (64 KiB), and this child writes one long line. To collect all of the "
            "output, read it whole: `await proc.communicate()` or `await proc.stdout.read()`."
        )
    if isinstance(exc, ValueError) and "Set of Tasks/Futures is empty" in text:
        return (
            f"ValueError: {text}\n{where}asyncio.wait() refuses an empty collection: with no "
            "commands, return [] (asyncio.gather() of nothing gives [] by itself)."
        )
    return ""


def explain_blocking_subprocess(exc: BlockingCallError) -> str:
    """The kit's time.sleep guard fired inside the subprocess module: say which call did it."""
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [i for i, f in enumerate(frames) if f.filename == subprocess.__file__]
    if not inside or inside[0] == 0:
        return ""
    caller = frames[inside[0] - 1]
    return (
        f"{exc}\n{Path(caller.filename).name}, line {caller.lineno}: `{caller.line}` is a call "
        "into the subprocess module, which waits without awaiting (here it polled with "
        "time.sleep), so the whole event loop stopped. In async code start the child with "
        "`await asyncio.create_subprocess_exec(...)` and wait with `await proc.wait()` (inside "
        "asyncio.wait_for for a timeout)."
    )


_SHORT = reprlib.Repr()
_SHORT.maxstring = 60
_SHORT.maxother = 60


def short(value: object) -> str:
    """repr(value), shortened: outputs may be a megabyte long."""
    return _SHORT.repr(value)


def pair_type_mistake(result: object, what: str) -> str:
    """Why `result` is not a (return code: int, output: str) tuple, or ""."""
    if not isinstance(result, tuple):
        return (
            f"{what} is a {type(result).__name__} ({short(result)}), not a tuple: return the pair "
            "as a tuple, `return code, text`."
        )
    if len(result) != 2:
        return f"{what} has {len(result)} elements; expected a pair (return code, output)."
    code = result[0]
    if code is not None and (type(code) is not int):
        return (
            f"The return code in {what} is a {type(code).__name__} ({code!r}), not an int: "
            "return proc.returncode (or what `await proc.wait()` gives back) as it is."
        )
    return ""


def as_pair(result: object, what: str) -> object:
    """The learner's (code, output) pair; fail if it is not a tuple with an int code."""
    checks.not_coroutine(result, what)
    mistake = pair_type_mistake(result, what)
    if mistake:
        pytest.fail(mistake, pytrace=False)
    return result


def readable(value: object) -> object:
    """An args list (or a list of them) with the long program text of a test child shown as
    '<program>', so that a message can show it."""
    if isinstance(value, list):
        return [readable(item) for item in value]
    if isinstance(value, str) and len(value) > 40:
        return "<program>"
    return value


def unchanged(before: list, after: object, what: str) -> None:
    """Fail if the caller's list was changed by the learner's call."""
    if before != after:
        pytest.fail(
            f"Your function changed the caller's {what}: it was {short(readable(before))} "
            f"and is {short(readable(after))} afterwards. Leave it as it is: read it "
            "(`*args`), do not pop(), insert() or append to it; copy it first (`list(args)`) "
            "if you need a changed version.",
            pytrace=False,
        )


PROMPT_STEPS = 50  # loop iterations a call gets to return once asyncio has seen the exit


async def wait_until(path: Path, task: asyncio.Future, seconds: float = PATIENCE) -> bool:
    """Wait (on the loop) until `path` exists; False if it did not within `seconds`. If the
    learner's `task` ends first, its result or exception comes out here (an exception
    propagates: the kit says what it was)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not path.exists():
        if task.done():
            task.result()
            return False
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


async def output_read(children: Children, task: asyncio.Future, seconds: float = PATIENCE) -> None:
    """Wait (on the loop) until the learner's code has read its child's output to the end,
    then give it a few loop iterations to move on to whatever it awaits next. With the output
    over but the child still alive, that next await shows how the exit is waited for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    stream = children.procs[0].stdout if len(children.procs) == 1 else None
    while stream is not None and not stream.at_eof() and not task.done():
        if loop.time() > deadline:
            return
        await asyncio.sleep(0.002)
    for _ in range(PROMPT_STEPS):
        await asyncio.sleep(0)


async def check_returns_once_the_exit_is_seen(
    children: Children, task: asyncio.Task, go: Path, what: str
) -> None:
    """Let the child exit (create `go`), wait until asyncio has seen the exit, then give the
    learner's call PROMPT_STEPS loop iterations to return. Only for children started with
    asyncio.create_subprocess_exec/_shell: other ways of starting them cannot be timed so."""
    go.touch()
    if len(children.procs) != 1:
        return
    proc = children.procs[0]
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(PATIENCE):
            await proc.wait()
    if proc.returncode is None:
        return  # the child did not exit (a wrong answer the other checks describe)
    for _ in range(PROMPT_STEPS):
        if task.done():
            return
        await asyncio.sleep(0)
    if not task.done():
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        pytest.fail(
            f"The child exited and asyncio had seen its exit (proc.wait() had returned), but "
            f"{what} had still not returned {PROMPT_STEPS} loop iterations later: it was not "
            "awaiting the exit. Likely it checks proc.returncode now and then with "
            "asyncio.sleep in between (polling), which answers late by up to one sleep. Await "
            "the exit itself: `await proc.wait()` (inside asyncio.wait_for for a timeout).",
            pytrace=False,
        )


async def check_cancelled_cleanly(
    children: Children, task: asyncio.Task, before: set, what: str
) -> None:
    """`task` (running the learner's call) has just been cancelled: it must end cancelled,
    with its children killed and reaped, and leave none of the tasks it started running."""
    try:
        async with asyncio.timeout(PATIENCE):
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(task)
    except TimeoutError:
        pytest.fail(
            f"{what} was cancelled, but it had not ended {PATIENCE:g} s later: it caught the "
            "CancelledError and went on waiting. Let the cancellation through.",
            pytrace=False,
        )
    if not task.cancelled():
        how = f"raised {task.exception()!r}" if task.exception() else f"returned {task.result()!r}"
        pytest.fail(
            f"{what} was cancelled while its child ran, but it did not end cancelled: it "
            f"{how}. It caught the CancelledError (except asyncio.CancelledError, "
            "except BaseException, or a bare except): let it propagate, so the caller "
            "sees the cancellation. (If you clean up, re-raise afterwards.)",
            pytrace=False,
        )
    # What the call started may need a moment to wind down (asyncio.gather ends as soon as
    # one of its cancelled tasks has, while the others are still killing their children):
    # allow it PATIENCE. A child nobody kills runs on for longer.
    me = asyncio.current_task()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE
    while True:
        alive = children.alive()
        zombies = [pid for pid in children.pids() if _state(pid) == "Z"]
        left = [t for t in asyncio.all_tasks() - before if t is not me and not t.done()]
        if not (alive or zombies or left) or loop.time() > deadline:
            break
        await asyncio.sleep(0.005)
    if left:
        names = ", ".join(sorted({t.get_coro().__qualname__ for t in left}))
        for t in left:
            t.cancel()
        await asyncio.wait(left, timeout=0.5)
        pytest.fail(
            f"{what} was cancelled and ended cancelled, but {checks.count(len(left), 'task')} it "
            "had started "
            f"{'was' if len(left) == 1 else 'were'} still running {PATIENCE:g} s later ({names})"
            + (
                f", with {checks.count(len(alive), 'child', 'children')} still running"
                if alive
                else ""
            )
            + ": cancelling your function must stop the work it started. asyncio.gather and "
            "asyncio.TaskGroup cancel their tasks when they are cancelled; tasks you create "
            "yourself (create_task, ensure_future, as_completed, asyncio.wait) you must cancel "
            "yourself (try/finally).",
            pytrace=False,
        )
    if alive or zombies:
        pytest.fail(
            f"{what} was cancelled and ended cancelled, but "
            + (
                f"{len(alive)} of its children were still running"
                if alive
                else f"{len(zombies)} of its children had died without being reaped (zombies)"
            )
            + " 1 s after it ended. A cancelled call must not leave its child behind: catch the "
            "cancellation, kill the child (proc.kill()), await proc.wait(), then re-raise: "
            "`except asyncio.CancelledError: proc.kill(); await proc.wait(); raise` (or the "
            "same in a finally: for a child that is still running).",
            pytrace=False,
        )


EXACTLY = "Return the output exactly as the child wrote it, final newline included."


def explain_pair(expected_code: int):
    """A `likely` function for a wrong (return code, output) pair."""

    def likely(got: object) -> str:
        if not (isinstance(got, tuple) and len(got) == 2):
            return "Return a pair: (return code, output text)."
        code, out = got
        if isinstance(out, bytes):
            return "The output is bytes: turn it into text with out.decode()."
        if out is None:
            return (
                "The output is None: pass stdout=asyncio.subprocess.PIPE when you start the "
                "child, or there is no output to collect."
            )
        if code is None:
            return (
                "The return code is None: it is only known once the child's exit has been "
                "collected, by awaiting proc.communicate() or proc.wait(). Reading the output "
                "to its end is not enough: it can end before the child exits."
            )
        if isinstance(out, str) and out and not out.endswith("\n") and code == expected_code:
            return EXACTLY
        if code != expected_code:
            return (
                f"The child exited with code {code}: did it get its arguments exactly as "
                "given? Pass them to asyncio.create_subprocess_exec(*args) one by one; "
                "joined into one string for a shell they are split and interpreted again."
            )
        return ""

    return likely


# Task 1: run

# The output ends 0.1 s before the exit: reading to the end of the output is not waiting.
CLOSES_THEN_EXITS = """
print("partial")
sys.stdout.flush()
os.close(1)
time.sleep(0.1)
sys.exit(3)
"""


@pytest.mark.task(1)
async def test_run_returns_the_return_code_and_the_output(children):
    result = await finish_within(PATIENCE, subprocesses.run(children.command('print("hello")')))
    checks.equal(
        as_pair(result, "run()'s result"),
        (0, "hello\n"),
        "run() of a child that prints hello",
        explain_pair(0),
    )


# The same, and it complains on its standard error, which is not part of the output.
COMPLAINS_THEN_EXITS = 'sys.stderr.write("warning: failing\\n")\nsys.stderr.flush()\n' + (
    CLOSES_THEN_EXITS
)


@pytest.mark.task(1)
async def test_run_reports_a_failing_return_code(children):
    result = await finish_within(PATIENCE, subprocesses.run(children.command(COMPLAINS_THEN_EXITS)))

    def likely(got: object) -> str:
        if isinstance(got, tuple) and len(got) == 2 and "warning: failing" in str(got[1]):
            return (
                "The output includes what the child wrote to its standard error: return only "
                "its standard output. Pipe stdout alone (no stderr=asyncio.subprocess.STDOUT), "
                "and if you pipe stderr too, keep it out of the result."
            )
        if isinstance(got, tuple) and got[1:] == ("partial\n",) and got[0] is not None:
            return "Return the child's own return code (proc.returncode), whatever it is."
        return explain_pair(3)(got)

    checks.equal(
        as_pair(result, "run()'s result"),
        (3, "partial\n"),
        "run() of a child that writes 'warning: failing' to its standard error, prints "
        "'partial', closes its output and 0.1 s later exits with code 3",
        likely,
    )


@pytest.mark.task(1)
async def test_run_passes_every_argument_unchanged(children):
    tricky = "two words; echo $HOME 'quoted' *"
    result = await finish_within(
        PATIENCE,
        subprocesses.run(children.command("print(sys.argv[1])\nprint(len(sys.argv) - 1)", tricky)),
    )
    checks.equal(
        as_pair(result, "run()'s result"),
        (0, f"{tricky}\n1\n"),
        f"run() of a child that prints its one argument {tricky!r} and how many it got",
        lambda got: (
            explain_pair(0)(got)
            if isinstance(got, tuple) and len(got) == 2 and not isinstance(got[1], str)
            else EXACTLY
            if isinstance(got, tuple) and got[1:] == (f"{tricky}\n1",)
            else "The child must get each argument exactly as given. "
            "asyncio.create_subprocess_exec(*args) passes them straight to the program; a shell "
            "(create_subprocess_shell, or the arguments joined into one string) splits them on "
            "spaces and expands $ and *."
        ),
    )


@pytest.mark.task(1)
async def test_run_collects_more_output_than_a_pipe_holds(children):
    size = 1_000_000
    result = await finish_within(
        PATIENCE,
        subprocesses.run(children.command(f'sys.stdout.write("x" * {size - 1} + "\\n")')),
        f"run() of a child that writes {size:,} bytes never returned. A pipe holds only 64 KiB "
        "(and asyncio buffers only a little more): once it is full the child waits for someone "
        "to read, so awaiting proc.wait() before reading waits for a child that waits for you "
        "(a deadlock). proc.communicate() reads the output while it waits for the exit.",
    )
    result = as_pair(result, "run()'s result")
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str | bytes):
        result = (result[0], f"{len(result[1]):,} characters")
    checks.equal(
        result,
        (0, f"{size:,} characters"),
        f"run() of a child that writes {size:,} characters (return code, output size)",
        lambda got: (
            EXACTLY
            if got == (0, f"{size - 1:,} characters")
            else "Read everything the child writes, to the end: proc.communicate() does."
        ),
    )


@pytest.mark.task(1)
async def test_run_leaves_the_event_loop_free_while_the_child_runs(children):
    go, ready = children.file("go"), children.file("ready")
    body = f"""
    Path({str(ready)!r}).touch()
    print("the test answered" if arrives(Path({str(go)!r}), {PATIENCE}) else "nobody answered")
    """
    async with in_background(create_when(go, ready)):
        result = await finish_within(2 * PATIENCE, subprocesses.run(children.command(body)))
    result = as_pair(result, "run()'s result")
    if "nobody answered" in repr(result):
        pytest.fail(
            f"The child waited {PATIENCE:g} s for a file that the test creates from another "
            "task on the event loop, and it never came: while run() waited for the child, it "
            "blocked the event loop, so no other task could run. subprocess.run() and "
            "Popen.communicate() wait without awaiting. Start the child with "
            "`await asyncio.create_subprocess_exec(...)` and `await proc.communicate()`.",
            pytrace=False,
        )
    checks.equal(
        result,
        (0, "the test answered\n"),
        "run() of a child that waits for the test",
        explain_pair(0),
    )


@pytest.mark.task(1)
async def test_run_of_a_silent_child_is_zero_and_empty_text(children):
    result = await finish_within(PATIENCE, subprocesses.run(children.command("pass")))
    checks.equal(
        as_pair(result, "run()'s result"),
        (0, ""),
        "run() of a child that prints nothing and exits with code 0",
        lambda got: (
            "No output is the empty text '', not None: decode whatever came back "
            "(b''.decode() is ''), without an `if out` test."
            if got[1] is None
            else "A return code of 0 is a result like any other: return it as it is."
            if got[0] != 0
            else explain_pair(0)(got)
        ),
    )


@pytest.mark.task(1)
async def test_run_passes_empty_and_repeated_arguments_and_leaves_args_unchanged(children):
    args = children.command("print(repr(sys.argv[1:]))", "", "x", "x", "")
    before = copy.deepcopy(args)
    result = await finish_within(PATIENCE, subprocesses.run(args))
    checks.equal(
        as_pair(result, "run()'s result"),
        (0, "['', 'x', 'x', '']\n"),
        "run() of a child that prints the arguments it got, given '', 'x', 'x', ''",
        lambda got: (
            explain_pair(0)(got)
            if not isinstance(got[1], str)
            else "Every argument counts, an empty one and a repeated one too: pass them all, "
            "in order, as they are (`create_subprocess_exec(*args)`); a shell or a filter "
            "(`if arg`) loses the empty ones, and a set loses the repeats."
        ),
    )
    unchanged(before, args, "args list")
    checks.equal(len(children.pids()), 1, "Children started by one run() call")


COUNTS_ITS_RUNS = """
runs = SCRATCH / "runs"
with open(runs, "a") as f:
    f.write("x")
print(len(runs.read_text()))
"""


@pytest.mark.task(1)
async def test_run_runs_the_command_every_time(children):
    args = children.command(COUNTS_ITS_RUNS)
    first = as_pair(await finish_within(PATIENCE, subprocesses.run(args)), "run()'s first result")
    second = as_pair(await finish_within(PATIENCE, subprocesses.run(args)), "run()'s second result")
    checks.equal(
        (first, second, len(children.pids())),
        ((0, "1\n"), (0, "2\n"), 2),
        "(first result, second result, children started) for run() of the same command "
        "twice; the child prints how many times it has run",
        lambda got: (
            "The second call did not start the child again: it gave back the first "
            "call's result. Every call runs the command anew (its output and return code "
            "may differ each time): keep no cache of results between calls."
            if got[2] == 1
            else ""
        ),
    )


# The child writes "café €😀\r\n" in pieces that split its multi-byte characters, waiting a
# moment between pieces so that a reader sees them in separate reads; then much more of the
# same (3-byte "€"), so reads of any size cut through characters.
SPLIT_UTF8 = """
out = sys.stdout.buffer
for piece in (b"caf\\xc3", b"\\xa9 \\xe2\\x82", b"\\xac\\xf0\\x9f", b"\\x98\\x80\\r\\n"):
    out.write(piece)
    out.flush()
    time.sleep(0.03)
out.write("€".encode() * 100_000 + b"\\n")
out.flush()
"""
SPLIT_UTF8_TEXT = "café €😀\r\n" + "€" * 100_000 + "\n"
SPLIT_UTF8_HUNG = (
    "{} of a child that writes 300 KB of text (in pieces) had not returned after {:g} s. A "
    "pipe holds only 64 KiB: once it is full the child waits for someone to read, so awaiting "
    "proc.wait() before reading is a deadlock, and reading it line by line fails on a line "
    "longer than 64 KiB. Read it whole while you wait: proc.communicate()."
)


def explain_split_text(got: object, what: str) -> str:
    if isinstance(got, str) and got.replace("\r\n", "\n") == SPLIT_UTF8_TEXT.replace("\r\n", "\n"):
        return (
            f"{what}: the '\\r\\n' the child wrote came back as '\\n'. Return the output "
            "exactly as written: decode the bytes (out.decode()), without newline translation "
            "(text=True / universal_newlines in subprocess, or splitlines() and a join)."
        )
    if isinstance(got, str) and "\ufffd" in got:
        return (
            f"{what} holds '\\ufffd' (replacement characters): the bytes were decoded piece "
            "by piece, and a multi-byte character (é, €, 😀) split between two reads was "
            "broken. Decode the whole output once, after collecting all the bytes."
        )
    return ""


@pytest.mark.task(1)
async def test_run_decodes_characters_split_across_reads(children):
    try:
        result = await finish_within(
            PATIENCE,
            subprocesses.run(children.command(SPLIT_UTF8)),
            SPLIT_UTF8_HUNG.format("run()", PATIENCE),
        )
    except UnicodeDecodeError as exc:
        pytest.fail(
            f"run() raised UnicodeDecodeError: {exc}. The child writes UTF-8 text whose "
            "multi-byte characters (é, €, 😀) are split between two reads: decoding each "
            "piece on its own fails on half a character. Collect all the bytes, then decode "
            "once (`out.decode()` after communicate() or read()).",
            pytrace=False,
        )
    result = as_pair(result, "run()'s result")
    if result != (0, SPLIT_UTF8_TEXT):
        code, out = result
        described = (
            f"{len(out):,} characters starting {out[:12]!r}" if isinstance(out, str) else repr(out)
        )
        pytest.fail(
            f"run() of a child that writes 'café €😀\\r\\n' and 100,000 '€' (UTF-8, in pieces "
            f"that split characters) returned ({code!r}, {described}); expected (0, "
            f"{len(SPLIT_UTF8_TEXT):,} characters starting {SPLIT_UTF8_TEXT[:12]!r}). "
            + (explain_split_text(out, "The output") or explain_pair(0)(result)),
            pytrace=False,
        )


@pytest.mark.task(1)
async def test_run_returns_as_soon_as_the_child_exits(children):
    go, ready = children.file("go"), children.file("ready")
    # The output ends first; the child exits only when the test says so (where asyncio may
    # already know of an exit when the output ends, a poll would never be seen to lag).
    body = f"""
    print("done", flush=True)
    os.close(1)
    Path({str(ready)!r}).touch()
    arrives(Path({str(go)!r}), 2)
    sys.exit(6)
    """
    task = asyncio.ensure_future(subprocesses.run(children.command(body)))
    try:
        if await wait_until(ready, task):
            await output_read(children, task)
            await check_returns_once_the_exit_is_seen(children, task, go, "run()")
        result = await finish_within(PATIENCE, asyncio.shield(task))
    finally:
        task.cancel()
    checks.equal(as_pair(result, "run()'s result"), (6, "done\n"), "run()", explain_pair(6))


@pytest.mark.task(1)
@pytest.mark.wall_limit(5)
async def test_cancelling_run_ends_it_cancelled(children):
    ready = children.file("ready")
    body = f"""
    Path({str(ready)!r}).touch()
    arrives(SCRATCH / "release", {2 * PATIENCE})
    """
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(subprocesses.run(children.command(body)))
    try:
        if not await wait_until(ready, task):
            pytest.fail("run() never started its child.", pytrace=False)
        task.cancel()
        await check_cancelled_cleanly(children, task, before, "run()")
    finally:
        task.cancel()
        await children.release()


# Task 2: run_all


def missing_code(results: object) -> str:
    """Explain a result list in which some return code is None or some output is bytes."""
    if not isinstance(results, list):
        return ""
    pairs = [r for r in results if isinstance(r, tuple) and len(r) == 2]
    if any(code is None for code, _ in pairs):
        return "A return code is None: await each child's exit (communicate() or wait())."
    if any(out is None for _, out in pairs):
        return (
            "An output is None: a child that prints nothing has the output '' (b''.decode()); "
            "decode whatever came back, without an `if out` test."
        )
    if any(isinstance(out, bytes) for _, out in pairs):
        return "The outputs are bytes: decode each one to text (out.decode())."
    if pairs and all(isinstance(out, str) and not out.endswith("\n") for _, out in pairs):
        return EXACTLY
    return ""


def results_type_check(result: object, what: str = "run_all()'s result") -> None:
    """Fail unless run_all() returned a list of (int, str) tuples."""
    checks.not_coroutine(result, what)
    if not isinstance(result, list):
        pytest.fail(
            f"{what} is a {type(result).__name__} ({short(result)}), not a list: return a "
            "list of (return code, output) pairs, e.g. `list(await asyncio.gather(...))`.",
            pytrace=False,
        )
    for i, pair in enumerate(result):
        mistake = pair_type_mistake(pair, f"result {i}")
        if mistake:
            pytest.fail(f"In {what}: {mistake}", pytrace=False)


def output_text(result: object) -> object:
    """The output of one (code, output) result, as text when it came back as bytes."""
    out = result[1] if isinstance(result, tuple | list) and len(result) == 2 else result
    return out.decode(errors="replace") if isinstance(out, bytes) else out


@pytest.mark.task(2)
async def test_run_all_returns_every_result_in_the_order_of_commands(children):
    commands = [
        children.command('print("hello")'),
        children.command(CLOSES_THEN_EXITS),
        children.command('time.sleep(0.1)\nprint("slept")'),
    ]
    result = await finish_within(PATIENCE, subprocesses.run_all(commands))
    results_type_check(result)
    checks.equal(
        result,
        [(0, "hello\n"), (3, "partial\n"), (0, "slept\n")],
        "run_all() of three children (hello; partial with code 3; slept after 0.1 s)",
        lambda got: (
            missing_code(got)
            or "Return one (return code, output) pair per command, in the order of `commands`."
        ),
    )


@pytest.mark.task(2)
async def test_run_all_runs_every_command_at_the_same_time(children):
    started = children.file("started")
    started.mkdir()
    count = 3
    # One deadline for all (the monotonic clock is the machine's, shared by every process): a
    # child started only after another ended finds it passed, so one after another costs
    # PATIENCE once, not once per child.
    meet_by = time.monotonic() + PATIENCE

    def body(index: int) -> str:
        return f"""
        (SCRATCH / "started" / "{index}").touch()
        while len(os.listdir(SCRATCH / "started")) < {count} and time.monotonic() < {meet_by!r}:
            time.sleep(0.002)
        print("together" if len(os.listdir(SCRATCH / "started")) >= {count} else "alone")
        """

    result = await finish_within(
        2 * PATIENCE,
        subprocesses.run_all([children.command(body(i)) for i in range(count)]),
        f"run_all() of three children that wait up to {PATIENCE:g} s for each other never "
        "returned.",
    )
    outputs = [output_text(r) for r in result]
    alone = sum("alone" in str(out) for out in outputs)
    if alone:
        pytest.fail(
            f"{alone} of {count} children ran alone: they waited {PATIENCE:g} s for the other "
            "children to start, and they were not all running. The commands ran one after "
            "another (or only a few at a time, with a Semaphore or a limit). Start every child "
            "first (create_subprocess_exec for each, or asyncio.gather over the commands), then "
            "wait for their results.",
            pytrace=False,
        )
    checks.equal(
        outputs,
        ["together\n"] * count,
        "Outputs of three children that meet",
        lambda got: EXACTLY if got == ["together"] * count else "",
    )


@pytest.mark.task(2)
async def test_run_all_keeps_the_order_of_commands_when_later_ones_finish_first(children):
    last = 2
    # One deadline for all, as in the test above.
    meet_by = time.monotonic() + PATIENCE

    def body(index: int) -> str:
        wait = "True" if index == last else f'arrives_by(SCRATCH / "done-{index + 1}", {meet_by!r})'
        return f"""
        waited = {wait}
        time.sleep(0.05)
        print("job {index}" if waited else "job {index} (job {index + 1} never finished)")
        sys.stdout.flush()
        (SCRATCH / "done-{index}").touch()
        """

    result = await finish_within(
        2 * PATIENCE,
        subprocesses.run_all([children.command(body(i)) for i in range(last + 1)]),
        "run_all() of three children that finish in reverse order never returned.",
    )
    expected = [(0, f"job {i}\n") for i in range(last + 1)]
    results_type_check(result)
    got = result

    def likely(got: object) -> str:
        if missing_code(got):
            return missing_code(got)
        if any("never finished" in str(r) for r in got):  # type: ignore[attr-defined]
            return (
                "Each child waited for the next one to finish first, and it had not even "
                "started: the commands ran one after another. Start them all, then wait."
            )
        if checks.same_items(got, expected):
            return (
                "These are the results in the order the children finished (job 2 first), not "
                "the order of commands: asyncio.gather returns them in the order you passed "
                "the awaitables."
            )
        return ""

    checks.equal(
        got,
        expected,
        "run_all() of jobs 0, 1, 2 that finish in the order 2, 1, 0",
        likely,
    )


@pytest.mark.task(2)
async def test_run_all_of_no_commands_is_an_empty_list(children):
    result = await finish_within(PATIENCE, subprocesses.run_all([]))
    checks.not_coroutine(result, "run_all([])")
    checks.equal(list(result), [], "run_all([])")


@pytest.mark.task(2)
async def test_run_all_runs_a_repeated_command_twice(children):
    command = children.command("print(os.getpid())")
    commands = [command, list(command)]
    result = await finish_within(PATIENCE, subprocesses.run_all(commands))
    results_type_check(result)
    pids = children.pids()
    printed = sorted(int(out) for _, out in result if str(out).strip().isdigit())
    if len(result) != 2 or len(pids) != 2:
        pytest.fail(
            f"run_all() of the same command twice returned {checks.count(len(result), 'result')} "
            "and "
            f"started {checks.count(len(pids), 'child', 'children')}; expected 2 and 2. Each "
            "command in the list is a "
            "request of its own, even when it repeats another: run every one (no dict or set "
            "keyed by the command, no cache), and return one result per command.",
            pytrace=False,
        )
    checks.equal(
        printed,
        pids,
        "The pids printed by the two children of a repeated command",
        "The two results must come from two different runs: one child per command.",
    )


@pytest.mark.task(2)
async def test_run_all_keeps_silent_and_failing_results_and_leaves_commands_unchanged(children):
    commands = [
        children.command("pass"),
        children.command("sys.exit(1)"),
        children.command('print(0)\nsys.stdout.write("")'),
    ]
    before = copy.deepcopy(commands)
    result = await finish_within(PATIENCE, subprocesses.run_all(commands))
    results_type_check(result)
    checks.equal(
        result,
        [(0, ""), (1, ""), (0, "0\n")],
        "run_all() of a silent child, a silent child that exits with 1 and one that prints 0",
        lambda got: (
            "Every command gives a result, whatever it is: a silent child's output is '' and "
            "its code may be 0; keep them all (no `if out` or `if code` filter)."
            if len(got) < 3
            else missing_code(got)
        ),
    )
    unchanged(before, commands, "list of commands")


@pytest.mark.task(2)
async def test_run_all_twice_gives_each_call_its_own_results(children):
    first = await finish_within(PATIENCE, subprocesses.run_all([children.command('print("a")')]))
    second = await finish_within(
        PATIENCE, subprocesses.run_all([children.command('print("b")'), children.command("pass")])
    )
    results_type_check(first)
    results_type_check(second)
    checks.equal(
        (first, second),
        ([(0, "a\n")], [(0, "b\n"), (0, "")]),
        "(first call, second call) of run_all([prints a]) then run_all([prints b, silent])",
        lambda got: (
            "The second call's results include the first call's: keep the results in a list "
            "made inside each call, not at module level (or in a default argument)."
            if len(got[1]) > 2 or got[0] is got[1]
            else ""
        ),
    )


@pytest.mark.task(2)
@pytest.mark.wall_limit(5)
async def test_cancelling_run_all_stops_its_tasks(children):
    started = children.file("started")
    started.mkdir()
    body = f"""
    (SCRATCH / "started" / str(os.getpid())).touch()
    arrives(SCRATCH / "release", {2 * PATIENCE})
    """
    before = asyncio.all_tasks()
    commands = [children.command(body, str(i)) for i in range(3)]
    task = asyncio.ensure_future(subprocesses.run_all(commands))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PATIENCE
        while len(os.listdir(started)) < 3 and loop.time() < deadline and not task.done():
            await asyncio.sleep(0.005)
        task.cancel()
        await check_cancelled_cleanly(children, task, before, "run_all()")
    finally:
        task.cancel()
        await children.release()


@pytest.mark.task(2)
async def test_run_all_returns_every_output_exactly(children):
    commands = [children.command(SPLIT_UTF8), children.command("print(repr(sys.argv[1:]))", "")]
    try:
        result = await finish_within(
            PATIENCE, subprocesses.run_all(commands), SPLIT_UTF8_HUNG.format("run_all()", PATIENCE)
        )
    except UnicodeDecodeError as exc:
        pytest.fail(
            f"run_all() raised UnicodeDecodeError: {exc}. A child writes UTF-8 text whose "
            "multi-byte characters are split between two reads: collect all of a child's "
            "bytes, then decode them once.",
            pytrace=False,
        )
    results_type_check(result)
    expected = [(0, SPLIT_UTF8_TEXT), (0, "['']\n")]
    if result != expected:

        def shown(pairs: list) -> str:
            return "[" + ", ".join(f"({code!r}, {short(out)})" for code, out in pairs) + "]"

        mistake = (
            explain_split_text(result[0][1], "The first output")
            if len(result) == 2 and isinstance(result[0][1], str)
            else ""
        )
        pytest.fail(
            f"run_all() of a child that writes 'café €😀\\r\\n' and 100,000 '€' in pieces, "
            f"and a child given one empty argument that prints its arguments, returned "
            f"{shown(result)}; expected {shown(expected)}. "
            + (mistake or "Return each child's output exactly as it wrote it."),
            pytrace=False,
        )


# Task 3: stream_lines


def explain_lines(got: object) -> str:
    if isinstance(got, list) and got[-1:] == [""]:
        return (
            "The last call got an empty string: splitting the output on '\\n' leaves an "
            "empty piece after the last newline (and for no output at all). Hand over only "
            "real lines, as they arrive: `async for line in proc.stdout`."
        )
    if isinstance(got, list) and any(isinstance(line, bytes) for line in got):
        return "on_line got bytes: decode each line to text (line.decode())."
    if isinstance(got, list) and any(str(line).endswith("\n") for line in got):
        return "Remove the trailing newline from each line before you hand it over."
    return ""


def explain_code(got: object) -> str:
    if got is None:
        return (
            "proc.returncode is None until the child's exit has been collected, and the "
            "output can end before the child exits: after the last line, "
            "`return await proc.wait()`."
        )
    return ""


@pytest.mark.task(3)
async def test_stream_lines_hands_over_each_line_without_its_newline(children):
    lines: list[str] = []
    code = await finish_within(
        PATIENCE,
        subprocesses.stream_lines(
            children.command('print("one")\nprint("  two  ")\nsys.stdout.write("three")'),
            lines.append,
        ),
    )
    checks.not_coroutine(code, "stream_lines()'s result")
    checks.equal(
        lines,
        ["one", "  two  ", "three"],
        "Lines handed to on_line for a child that prints 'one', '  two  ' and 'three' "
        "(the last without a newline)",
        lambda got: (
            explain_lines(got)
            or (
                "Remove only the line ending (line.removesuffix('\\n') or line.rstrip('\\n')): "
                "strip(), or rstrip() with no argument, also removes the spaces that are part of "
                "the line."
                if isinstance(got, list) and len(got) == 3 and got[1] != "  two  "
                else "The last line, 'three', has no newline to remove: line[:-1] cut off its "
                "last character. Remove the newline only where there is one "
                "(line.removesuffix('\\n'))."
                if isinstance(got, list) and got[-1:] == ["thre"]
                else "Call on_line(text) once per line, decoded and without its '\\n'."
            )
        ),
    )
    checks.equal(
        code, 0, "stream_lines()'s return value for a child that exits normally", explain_code
    )


@pytest.mark.task(3)
async def test_stream_lines_keeps_empty_lines_and_every_other_character(children):
    lines: list[str] = []
    written = ["first", "", "tab\tand form\x0cfeed", "  ", "again", "again", "", "last"]
    body = f"sys.stdout.write({chr(10).join(written) + chr(10)!r})"
    code = await finish_within(
        PATIENCE, subprocesses.stream_lines(children.command(body), lines.append)
    )
    checks.not_coroutine(code, "stream_lines()'s result")

    def likely(got: object) -> str:
        if not isinstance(got, list):
            return ""
        if explain_lines(got):
            return explain_lines(got)
        if "" not in got or "  " not in got:
            return (
                "An empty line (or one of spaces only) is a line too: call on_line('') for "
                "it. Do not skip lines whose text is empty, and note that "
                "b'\\n'.decode().splitlines() is [], not ['']."
            )
        if any(str(line).startswith(("tab", "and", "feed")) for line in got):
            return (
                "Only '\\n' ends a line. str.splitlines() also splits on other characters "
                "(form feed \\x0c, \\r, \\x1c ...), and strip() removes tabs too: remove just "
                "the trailing newline (line.removesuffix('\\n')) and keep every other character."
            )
        return "Call on_line(text) once per line, decoded and without its '\\n'."

    checks.equal(
        lines,
        written,
        f"Lines handed to on_line for a child that writes {chr(10).join(written) + chr(10)!r}",
        likely,
    )
    checks.equal(code, 0, "stream_lines()'s return value", explain_code)


@pytest.mark.task(3)
async def test_stream_lines_hands_over_a_line_while_the_child_still_runs(children):
    go, gave_up = children.file("go"), children.file("gave-up")
    body = f"""
    print("first", flush=True)
    if arrives(Path({str(go)!r}), {PATIENCE}):
        print("second")
    else:
        Path({str(gave_up)!r}).touch()
        print("second (nobody answered)")
    """
    lines: list[str] = []
    child_had_given_up: list[bool] = []
    first_arrived = asyncio.Event()
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    def on_line(line: str) -> None:
        threads.add(threading.get_ident())
        lines.append(line)
        text = line.decode(errors="replace") if isinstance(line, bytes) else str(line)
        if text.strip() == "first":  # (a wrong newline or type is reported further down)
            child_had_given_up.append(gave_up.exists())
            first_arrived.set()

    async def answer() -> None:
        await first_arrived.wait()
        go.touch()

    async with in_background(answer()):
        code = await finish_within(
            2 * PATIENCE,
            subprocesses.stream_lines(children.command(body), on_line),
            "stream_lines() of a child that prints two lines never returned.",
        )
    if child_had_given_up == [True]:
        pytest.fail(
            f"The child printed 'first' and then waited {PATIENCE:g} s for the test to see it, "
            "but "
            "on_line('first') only came after the child had finished: your code read the "
            "output only at the end (communicate(), read(), or after awaiting proc.wait()). "
            "Hand each line over as it arrives: `async for line in proc.stdout:` or a loop "
            "over `await proc.stdout.readline()`, and wait for the exit after the last line.",
            pytrace=False,
        )
    if threads - {loop_thread}:
        pytest.fail(
            "on_line was called from another thread, not the event loop's, so what it did "
            "(here: setting an asyncio.Event the test waits on) did not reach the loop in "
            "time. Call on_line from your coroutine, on the loop's thread: read the lines "
            "with asyncio (`async for line in proc.stdout`), not in a worker thread.",
            pytrace=False,
        )
    if any("nobody answered" in str(line) for line in lines):
        pytest.fail(
            "on_line('first') came in time, but the test's task that answers it never ran "
            "while the child was waiting: your code blocked the event loop while it read. "
            "Reading a subprocess.Popen pipe (for line in proc.stdout) waits without "
            "awaiting. Use asyncio.create_subprocess_exec and `async for line in proc.stdout`.",
            pytrace=False,
        )
    checks.equal(lines, ["first", "second"], "Lines handed to on_line", explain_lines)
    checks.equal(code, 0, "stream_lines()'s return value", explain_code)


@pytest.mark.task(3)
async def test_stream_lines_returns_the_return_code(children):
    lines: list[str] = []
    # The child closes its output 0.1 s before it exits: the output ends before the exit.
    body = 'print("bye")\nsys.stdout.flush()\nos.close(1)\ntime.sleep(0.1)\nsys.exit(5)'
    code = await finish_within(
        PATIENCE, subprocesses.stream_lines(children.command(body), lines.append)
    )
    checks.not_coroutine(code, "stream_lines()'s result")
    checks.equal(
        code,
        5,
        "stream_lines()'s return value for a child that exits with code 5",
        lambda got: explain_code(got) or "Return the child's return code.",
    )
    checks.equal(lines, ["bye"], "Lines handed to on_line", explain_lines)


@pytest.mark.task(3)
async def test_stream_lines_copes_with_more_output_than_a_pipe_holds(children):
    count = 2_000  # lines of 250 characters: 500 KB in all, far more than a pipe holds
    lines: list[str] = []
    code = await finish_within(
        PATIENCE,
        subprocesses.stream_lines(
            children.command(f'for i in range({count}):\n    print(f"{{i:05}}" + "." * 244)'),
            lines.append,
        ),
        f"stream_lines() of a child that prints {count:,} lines (500 KB) never returned. A pipe "
        "holds only 64 KiB (and asyncio buffers only a little more): a child whose output "
        "nobody reads stops and waits, so awaiting proc.wait() before reading the lines is a "
        "deadlock. Read the lines first, then wait.",
    )
    expected = [f"{i:05}" + "." * 244 for i in range(count)]
    if lines != expected:
        if len(lines) != count:
            detail = f"on_line was called {len(lines):,} times"
        else:
            wrong = next(
                i for i, (got, want) in enumerate(zip(lines, expected, strict=True)) if got != want
            )
            detail = (
                f"line {wrong} should start {expected[wrong][:12]!r}..., got "
                f"{lines[wrong][:12]!r}..."
            )
        pytest.fail(
            f"For a child that prints {count:,} lines ('00000.....' to '01999.....', 250 "
            f"characters each), {detail}. "
            + (explain_lines(lines) or "Hand over every line, in order, exactly once."),
            pytrace=False,
        )
    checks.equal(code, 0, "stream_lines()'s return value", explain_code)


@pytest.mark.task(3)
@pytest.mark.wall_limit(60)
async def test_stream_lines_hands_over_every_line_of_a_very_long_output(children):
    count = 12_000  # more lines than a cautious cap would allow
    # Long lines: what one read of the pipe brings (up to 64 KiB) is handed over in one step
    # of a right answer (no await waits while lines are buffered). With 40-character lines
    # such a step of the solution took 0.6 s at a load of about 5 (a clean-clone CI run), and
    # so counted as holding the loop; 400 characters make ten times fewer lines a read.
    lines: list[str] = []
    # About 0.45 s on a quiet machine, and over 8 s for a right answer at a load of 13: so the
    # net is not a total time but 8 s in which no new line arrives. Only an answer that has
    # stopped reading (or never returns once the lines are over) waits that long.
    code = await finish_while_lines_come(
        8.0,
        subprocesses.stream_lines(
            children.command(
                f"sys.stdout.write(''.join(f'{{i:06}}{'.' * 394}\\n' for i in range({count})))"
            ),
            lines.append,
        ),
        lines,
        f"stream_lines() of a child that prints {count:,} lines",
    )
    expected = [f"{i:06}" + "." * 394 for i in range(count)]
    if lines != expected:
        pytest.fail(
            f"For a child that prints {count:,} lines ('000000...' to '{count - 1:06}...'), "
            f"on_line was called {len(lines):,} times"
            + (f", the last with {lines[-1][:10]!r}..." if lines else "")
            + ". Hand over every line, however many there are: a cap on the number of lines "
            '("so a runaway child cannot flood us") loses the rest, and stops reading a '
            "pipe the child still writes to.",
            pytrace=False,
        )
    checks.equal(code, 0, "stream_lines()'s return value", explain_code)


@pytest.mark.task(3)
async def test_stream_lines_of_a_silent_child_calls_nothing(children):
    lines: list[str] = []
    code = await finish_within(
        PATIENCE, subprocesses.stream_lines(children.command("pass"), lines.append)
    )
    checks.not_coroutine(code, "stream_lines()'s result")
    checks.equal(
        lines, [], "Lines handed to on_line for a child that prints nothing", explain_lines
    )
    checks.equal(code, 0, "stream_lines()'s return value for a silent child", explain_code)


@pytest.mark.task(3)
async def test_stream_lines_keeps_carriage_returns_and_leaves_args_unchanged(children):
    lines: list[str] = []
    written = "50%\r100%\nwindows line\r\n\r\nlast\r"
    args = children.command(f"sys.stdout.write({written!r})")
    before = copy.deepcopy(args)
    code = await finish_within(PATIENCE, subprocesses.stream_lines(args, lines.append))
    checks.not_coroutine(code, "stream_lines()'s result")
    expected = ["50%\r100%", "windows line\r", "\r", "last\r"]

    def likely(got: object) -> str:
        if not isinstance(got, list):
            return ""
        if explain_lines(got):
            return explain_lines(got)
        return (
            "Only '\\n' ends a line, and only it is removed: a '\\r' is part of the line "
            "(a progress bar redraws with it; a Windows line ends in '\\r\\n', and its '\\r' "
            "stays). rstrip('\\r\\n'), strip(), splitlines() and newline translation all lose "
            "or split on it: remove just the trailing '\\n' (line.removesuffix('\\n'))."
        )

    checks.equal(
        lines,
        expected,
        f"Lines handed to on_line for a child that writes {written!r}",
        likely,
    )
    checks.equal(code, 0, "stream_lines()'s return value", explain_code)
    unchanged(before, args, "args list")
    checks.equal(len(children.pids()), 1, "Children started by one stream_lines() call")


# The child writes lines whose multi-byte characters are split between two writes, with a
# pause in between, so that a reader gets half a character at the end of one read.
SPLIT_LINES = """
out = sys.stdout.buffer
for piece in (b"caf\\xc3", b"\\xa9\\n\\xe2\\x82", b"\\xac \\xf0\\x9f", b"\\x98\\x80\\n", b"fin"):
    out.write(piece)
    out.flush()
    time.sleep(0.03)
"""


@pytest.mark.task(3)
async def test_stream_lines_decodes_characters_split_across_reads(children):
    lines: list[str] = []
    try:
        code = await finish_within(
            2, subprocesses.stream_lines(children.command(SPLIT_LINES), lines.append)
        )
    except UnicodeDecodeError as exc:
        pytest.fail(
            f"stream_lines() raised UnicodeDecodeError: {exc}. The child writes UTF-8 lines "
            "whose multi-byte characters (é, €, 😀) are split between two reads, and a piece "
            "was decoded on its own. Split the bytes into lines first (on b'\\n', which never "
            "occurs inside a character) and decode each whole line: `async for raw in "
            "proc.stdout: on_line(raw.decode()...)`.",
            pytrace=False,
        )
    checks.equal(
        lines,
        ["café", "€ 😀", "fin"],
        "Lines handed to on_line for a child that writes 'café\\n€ 😀\\nfin' in pieces that "
        "split its characters",
        lambda got: (
            "A line holds '\\ufffd' (a replacement character): bytes were decoded piece by "
            "piece, and a character split between two reads was broken. Decode whole lines."
            if any("\ufffd" in str(line) for line in got)
            else explain_lines(got)
        ),
    )
    checks.equal(code, 0, "stream_lines()'s return value", explain_code)


@pytest.mark.task(3)
async def test_stream_lines_calls_on_line_on_the_event_loop_thread(children):
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def on_line(line: str) -> None:
        threads.append(threading.get_ident())

    await finish_within(
        PATIENCE, subprocesses.stream_lines(children.command('print("a")\nprint("b")'), on_line)
    )
    others = [t for t in threads if t != loop_thread]
    if others:
        pytest.fail(
            f"on_line was called {checks.count(len(others), 'time')} from another thread, not the "
            "event "
            "loop's: the caller's callback may touch asyncio objects (an Event, a Queue, a "
            "Future), which only the loop's own thread may use. Read the lines with asyncio "
            "(`async for line in proc.stdout`) and call on_line from your coroutine; do not "
            "hand it to a worker thread (asyncio.to_thread, run_in_executor).",
            pytrace=False,
        )
    checks.equal(len(threads), 2, "Calls of on_line for a child that prints 'a' and 'b'")


@pytest.mark.task(3)
async def test_two_stream_lines_at_once_keep_their_own_lines(children):
    ones: list[str] = []
    twos: list[str] = []
    # Each child writes the start of a line, waits until the other has too, then (a moment
    # later) ends its line: both calls hold an unfinished line at the same time.
    one = children.command(f"""
    sys.stdout.write("one ")
    sys.stdout.flush()
    (SCRATCH / "one-started").touch()
    arrives(SCRATCH / "two-started", {PATIENCE})
    time.sleep(0.1)
    sys.stdout.write("a\\n")
    """)
    two = children.command(f"""
    sys.stdout.write("two ")
    sys.stdout.flush()
    (SCRATCH / "two-started").touch()
    arrives(SCRATCH / "one-started", {PATIENCE})
    time.sleep(0.2)
    sys.stdout.write("b")
    """)

    async def both() -> list:
        return await asyncio.gather(
            subprocesses.stream_lines(one, ones.append),
            subprocesses.stream_lines(two, twos.append),
        )

    codes = await finish_within(2 * PATIENCE, both())
    checks.equal(
        (ones, twos, list(codes)),
        (["one a"], ["two b"], [0, 0]),
        "(lines of child one, lines of child two, return codes) for two stream_lines() run "
        "at the same time",
        lambda got: (
            "Lines of one child reached the other's on_line: each call must keep its own "
            "unfinished line (a local variable), not a module-level buffer."
            if any("two" in str(line) for line in got[0])
            or any("one" in str(line) for line in got[1])
            else "The last line, 'two b', has no newline to remove: line[:-1] cut off its last "
            "character. Remove the newline only where there is one (line.removesuffix('\\n'))."
            if got[1] == ["two "]
            else explain_lines(got[0]) or explain_lines(got[1])
        ),
    )


@pytest.mark.task(3)
@pytest.mark.wall_limit(5)
async def test_cancelling_stream_lines_stops_the_lines(children):
    go = children.file("go")
    body = f"""
    print("first", flush=True)
    if arrives(Path({str(go)!r}), 2):
        print("after the cancel", flush=True)
    arrives(SCRATCH / "release", {2 * PATIENCE})
    """
    lines: list[str] = []
    seen_first = asyncio.Event()

    def on_line(line: str) -> None:
        lines.append(line)
        seen_first.set()

    before = asyncio.all_tasks()
    task = asyncio.ensure_future(subprocesses.stream_lines(children.command(body), on_line))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PATIENCE
        while not seen_first.is_set() and not task.done() and loop.time() < deadline:
            await asyncio.sleep(0.005)
        if task.done():
            task.result()  # an exception of the learner's comes out here
        if not seen_first.is_set():
            pytest.fail(
                f"stream_lines() did not hand over the child's first line within {PATIENCE:g} s.",
                pytrace=False,
            )
        task.cancel()
        await check_cancelled_cleanly(children, task, before, "stream_lines()")
        go.touch()  # the child now prints another line: nobody should hand it over
        await asyncio.sleep(0.2)
    finally:
        task.cancel()
        await children.release()
    checks.equal(
        lines,
        ["first"],
        "Lines handed to on_line by a stream_lines() cancelled after the first line",
        "on_line was called after stream_lines() had been cancelled: something of yours "
        "kept reading the child's output.",
    )


@pytest.mark.task(3)
async def test_stream_lines_returns_as_soon_as_the_child_exits(children):
    go, ready = children.file("go"), children.file("ready")
    # The output ends first; the child exits only when the test says so.
    body = f"""
    print("bye", flush=True)
    os.close(1)
    Path({str(ready)!r}).touch()
    arrives(Path({str(go)!r}), 2)
    sys.exit(0)
    """
    lines: list[str] = []
    task = asyncio.ensure_future(subprocesses.stream_lines(children.command(body), lines.append))
    try:
        if await wait_until(ready, task):
            await output_read(children, task)
            await check_returns_once_the_exit_is_seen(children, task, go, "stream_lines()")
        code = await finish_within(PATIENCE, asyncio.shield(task))
    finally:
        task.cancel()
    checks.not_coroutine(code, "stream_lines()'s result")
    checks.equal(
        code, 0, "stream_lines()'s return value for a child that exits with 0", explain_code
    )
    checks.equal(lines, ["bye"], "Lines handed to on_line", explain_lines)


# Task 4: run_with_timeout


def only_child(children: Children) -> int | None:
    """The pid of the one child, or None if it was killed before its first line ran (only on
    a machine so busy that starting Python took longer than the timeout)."""
    pids = children.pids()
    if len(pids) > 1:
        pytest.fail(
            f"Expected run_with_timeout() to start the child once; {len(pids)} started.",
            pytrace=False,
        )
    return pids[0] if pids else None


async def check_killed_and_reaped(children: Children, result: object, raised: object) -> None:
    pid = only_child(children)
    state_at_return = None if pid is None else _state(pid)
    for _ in range(60):  # a killed child needs a moment to die: allow it 0.3 s
        if pid is None or not running(pid):
            break
        await asyncio.sleep(0.005)
    if pid is not None and running(pid):
        pytest.fail(
            "The child is still running after run_with_timeout() "
            + (
                "let a TimeoutError out. If you meant to catch it and kill the child: "
                "asyncio.wait_for and asyncio.timeout raise TimeoutError (not CancelledError), "
                "so catch that. "
                if raised is not None
                else "returned: "
            )
            + "When the timeout passes you must stop the child yourself (proc.kill()); "
            "asyncio.wait_for only stops waiting, it does not stop the child.",
            pytrace=False,
        )
    if raised is not None:
        pytest.fail(
            f"run_with_timeout() raised {type(raised).__name__} after killing the child: "
            "catch the timeout, kill the child, await proc.wait() and return its (negative) "
            "return code.",
            pytrace=False,
        )
    if result is None or state_at_return is not None:
        pytest.fail(
            "The child was killed but not waited for: when run_with_timeout() returned, "
            f"{'it returned None and ' if result is None else ''}the dead child was not yet "
            "reaped (a zombie), and proc.returncode stays None until you wait. After "
            "proc.kill(), `await proc.wait()`: it collects the exit and returns the code.",
            pytrace=False,
        )
    if result == -signal.SIGTERM:
        pytest.fail(
            "run_with_timeout() returned -15: the child died of SIGTERM, so it was asked to "
            "stop with proc.terminate() (a polite request it may ignore or take its time "
            "over). When the timeout passes, kill it at once with proc.kill() (SIGKILL), "
            "then return what `await proc.wait()` gives back: -9.",
            pytrace=False,
        )
    if result != -signal.SIGKILL:
        pytest.fail(
            f"run_with_timeout() returned {result!r} for a child it had to kill; expected the "
            "child's negative return code (-9 after proc.kill()). Return what "
            "`await proc.wait()` gives back after the kill.",
            pytrace=False,
        )


@pytest.mark.task(4)
async def test_run_with_timeout_returns_the_code_of_a_child_that_finishes_in_time(children):
    result = await finish_within(
        PATIENCE,
        subprocesses.run_with_timeout(children.command("sys.exit(7)"), timeout=60),
        f"run_with_timeout(timeout=60) had not returned {PATIENCE:g} s after starting a child "
        "that exits at once: it waits the whole timeout. Return as soon as the child exits; the "
        "timeout is only the longest you wait (asyncio.wait_for(proc.wait(), timeout)), not a "
        "sleep.",
    )
    checks.not_coroutine(result, "run_with_timeout()'s result")
    checks.equal(
        result,
        7,
        "run_with_timeout() of a child that exits with code 7 well within its timeout",
        "A child that finishes in time is not killed: return its own return code.",
    )


@pytest.mark.task(4)
async def test_run_with_timeout_lets_a_chatty_child_finish(children):
    # The child writes 1 MB only when its output is a pipe that is not the test's own output:
    # a pipe run_with_timeout() made. Left unread, that pipe fills up and the child stops.
    body = """
    import stat
    out = os.fstat(1)
    if stat.S_ISFIFO(out.st_mode) and out.st_ino != int(sys.argv[1]):
        sys.stdout.write("x" * 1_000_000)
    sys.exit(4)
    """
    own_output = os.fstat(1).st_ino
    # The timeout is the child's whole time to start and write; the net lies beyond it.
    result = await finish_within(
        PATIENCE + 2,
        subprocesses.run_with_timeout(children.command(body, str(own_output)), timeout=PATIENCE),
        f"run_with_timeout(timeout={PATIENCE:g}) of a child that writes 1 MB and exits at once "
        f"had not returned after {PATIENCE + 2:g} s. If you start the child with "
        "stdout=asyncio.subprocess.PIPE and never read that pipe, the child stops once it is "
        "full (64 KiB), waiting for a reader, and even after proc.kill() proc.wait() can go "
        "on waiting for the unread pipe. Do not pipe output you do not read (leave stdout "
        "out), or read it while you wait (asyncio.wait_for(proc.communicate(), timeout)).",
    )
    checks.not_coroutine(result, "run_with_timeout()'s result")
    checks.equal(
        result,
        4,
        f"run_with_timeout(timeout={PATIENCE:g}) of a child that writes 1 MB to its output and "
        "exits with code 4 at once",
        lambda got: (
            "The child was killed although it would have finished in time: you piped its "
            "output (stdout=asyncio.subprocess.PIPE) and never read it, so once the pipe was "
            "full (64 KiB) the child stopped, waiting for a reader, until the timeout. Do not "
            "pipe output you do not read (leave stdout out), or read it while you wait "
            "(asyncio.wait_for(proc.communicate(), timeout))."
            if isinstance(got, int) and got < 0
            else "A child that finishes in time is not killed: return its own return code."
        ),
    )


@pytest.mark.task(4)
async def test_run_with_timeout_kills_and_reaps_a_child_that_runs_too_long(children):
    result = raised = None
    try:
        result = await finish_within(
            PATIENCE,
            subprocesses.run_with_timeout(
                children.command("while True:\n    time.sleep(0.01)"), timeout=0.3
            ),
            "run_with_timeout(timeout=0.3) of a child that never ends had not returned after "
            f"{PATIENCE:g} s. When the timeout passes, kill the child (proc.kill()), then await "
            "proc.wait() and return its return code.",
        )
    except TimeoutError as exc:
        raised = exc
    checks.not_coroutine(result, "run_with_timeout()'s result")
    await check_killed_and_reaped(children, result, raised)


@pytest.mark.task(4)
async def test_run_with_timeout_kills_a_child_that_ignores_sigterm(children):
    result = raised = None
    body = "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.01)"
    try:
        result = await finish_within(
            PATIENCE,
            subprocesses.run_with_timeout(children.command(body), timeout=0.3),
            "run_with_timeout(timeout=0.3) of a child that ignores SIGTERM had not returned "
            f"after {PATIENCE:g} s. proc.terminate() sends SIGTERM, which only asks the child "
            "to stop: this one refuses, and waiting for it never ends. proc.kill() sends SIGKILL, "
            "which cannot be ignored.",
        )
    except TimeoutError as exc:
        raised = exc
    await check_killed_and_reaped(children, result, raised)


@pytest.mark.task(4)
async def test_run_with_timeout_leaves_the_event_loop_free_while_it_waits(children):
    # The child ends by itself once a task on the loop has answered it, so a right answer
    # returns as soon as the child has started; a loop held by the wait never answers.
    go, ready, saw = children.file("go"), children.file("ready"), children.file("saw-go")
    body = f"""
    Path({str(ready)!r}).touch()
    if arrives(Path({str(go)!r}), {PATIENCE}):
        Path({str(saw)!r}).touch()
        sys.exit(0)
    sys.exit(3)
    """
    result = raised = None
    async with in_background(create_when(go, ready)):
        try:
            result = await finish_within(
                2 * PATIENCE,
                subprocesses.run_with_timeout(children.command(body), timeout=60),
                f"run_with_timeout(timeout=60) had not returned {2 * PATIENCE:g} s after "
                "starting a child that exits as soon as a task on the event loop answers it. "
                "The timeout is only the longest you wait: return once the child exits.",
            )
        except TimeoutError as exc:
            raised = exc
    if not saw.exists():
        pytest.fail(
            "While run_with_timeout() waited, the child waited for a file that the test "
            "creates from another task on the event loop, and it never came: "
            "run_with_timeout() blocked the event loop while it waited. "
            "subprocess.run(..., timeout=...) and Popen.wait(timeout=...) wait without "
            "awaiting. Use asyncio.create_subprocess_exec and "
            "`await asyncio.wait_for(proc.wait(), timeout)`.",
            pytrace=False,
        )
    if raised is not None:
        pytest.fail(
            f"run_with_timeout(timeout=60) raised {type(raised).__name__}, yet its child "
            "exited by itself well within the timeout. Only a child that outlives the "
            "timeout is killed; return the code of one that ends in time.",
            pytrace=False,
        )
    checks.not_coroutine(result, "run_with_timeout()'s result")
    checks.equal(
        result,
        0,
        "run_with_timeout(timeout=60) of a child that exits with code 0 once the loop answers it",
        "A child that finishes in time is not killed: return its own return code.",
    )


@pytest.mark.task(4)
async def test_run_with_timeout_zero_kills_at_once(children):
    result = raised = None
    try:
        result = await finish_within(
            PATIENCE,
            subprocesses.run_with_timeout(
                children.command("while True:\n    time.sleep(0.01)"), timeout=0
            ),
            "run_with_timeout(timeout=0) of a child that never ends had not returned after "
            f"{PATIENCE:g} s. A timeout of 0 is legal: it means no time at all, so kill the "
            "child at once. Do not treat 0 as 'no timeout' (`timeout or None`, `if timeout:`).",
        )
    except TimeoutError as exc:
        raised = exc
    checks.not_coroutine(result, "run_with_timeout()'s result")
    await check_killed_and_reaped(children, result, raised)


@pytest.mark.task(4)
async def test_run_with_timeout_returns_as_soon_as_the_child_exits(children):
    go, ready = children.file("go"), children.file("ready")
    body = f"""
    Path({str(ready)!r}).touch()
    arrives(Path({str(go)!r}), 2)
    sys.exit(0)
    """
    args = children.command(body)
    before = copy.deepcopy(args)
    # A day-long timeout: the child exits long before it, and that is when the call returns.
    task = asyncio.ensure_future(subprocesses.run_with_timeout(args, timeout=86_400))
    try:
        if await wait_until(ready, task):
            await check_returns_once_the_exit_is_seen(
                children, task, go, "run_with_timeout(timeout=86400)"
            )
        result = await finish_within(
            PATIENCE,
            asyncio.shield(task),
            f"run_with_timeout(timeout=86400) had not returned {PATIENCE:g} s after its child "
            "exited. "
            "Return as soon as the child exits: await proc.wait() (inside "
            "asyncio.wait_for(..., timeout)); the timeout is only the longest you wait.",
        )
    finally:
        task.cancel()
    checks.not_coroutine(result, "run_with_timeout()'s result")
    if type(result) is not int:
        pytest.fail(
            f"run_with_timeout() returned {result!r}, a {type(result).__name__}; expected the "
            "child's return code, an int (0 here): return what `await proc.wait()` gives back.",
            pytrace=False,
        )
    checks.equal(
        result,
        0,
        "run_with_timeout(timeout=86400) of a child that exits with code 0",
        "A child that finishes in time is not killed: return its own return code, 0 included.",
    )
    unchanged(before, args, "args list")
    checks.equal(len(children.pids()), 1, "Children started by one run_with_timeout() call")


def pending_timers(loop: asyncio.AbstractEventLoop) -> set[asyncio.TimerHandle]:
    """The loop's timers (call_later, call_at) not yet run nor cancelled. asyncio keeps them
    in `_scheduled`: looking there finds a forgotten timer without waiting for it to fire."""
    return {h for h in getattr(loop, "_scheduled", ()) if not h.cancelled()}


@pytest.mark.task(4)
async def test_run_with_timeout_leaves_nothing_behind_after_it_returns(children):
    before = asyncio.all_tasks()
    loop = asyncio.get_running_loop()
    timers_before = pending_timers(loop)
    # The child must start and exit within the timeout even on a loaded machine.
    result = await finish_within(
        PATIENCE + 2,
        subprocesses.run_with_timeout(children.command("sys.exit(2)"), timeout=PATIENCE),
    )
    checks.not_coroutine(result, "run_with_timeout()'s result")
    checks.equal(
        result, 2, f"run_with_timeout(timeout={PATIENCE:g}) of a child that exits with code 2"
    )
    left_timers = sorted(pending_timers(loop) - timers_before, key=lambda h: h.when())
    me = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() - before if t is not me and not t.done()]
    if left:
        names = ", ".join(sorted({t.get_coro().__qualname__ for t in left}))
        for t in left:
            t.cancel()
        await asyncio.wait(left, timeout=0.5)
        pytest.fail(
            f"run_with_timeout() returned, but {checks.count(len(left), 'task')} it started "
            f"{'was' if len(left) == 1 else 'were'} still "
            f"running ({names}): cancel what you no longer need before returning (a task "
            "racing proc.wait() against asyncio.sleep(timeout) must be cancelled when the "
            "other one wins).",
            pytrace=False,
        )
    if left_timers:
        shown = ", ".join(
            f"{reprlib.repr(getattr(t, '_callback', t))} due in {t.when() - loop.time():.1f} s"
            for t in left_timers
        )
        kills = any("kill" in repr(getattr(t, "_callback", "")) for t in left_timers)
        for timer in left_timers:
            timer.cancel()  # a kill that would fire after the test, on a child long gone
        pytest.fail(
            "run_with_timeout() returned, but it left "
            f"{checks.count(len(left_timers), 'timer')} scheduled on the loop ({shown}). "
            + (
                "It is a proc.kill() for a child that has already exited: a "
                "loop.call_later(timeout, proc.kill) that was never cancelled. Keep the "
                "handle and cancel it (handle.cancel(), in a finally:) once the child has "
                "exited."
                if kills
                else "Cancel whatever you scheduled (handle.cancel()) before you return."
            ),
            pytrace=False,
        )


@pytest.mark.task(4)
@pytest.mark.wall_limit(5)
async def test_cancelling_run_with_timeout_ends_it_cancelled(children):
    ready = children.file("ready")
    body = f"""
    Path({str(ready)!r}).touch()
    arrives(SCRATCH / "release", {2 * PATIENCE})
    """
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(subprocesses.run_with_timeout(children.command(body), timeout=100))
    try:
        if not await wait_until(ready, task):
            pytest.fail("run_with_timeout() never started its child.", pytrace=False)
        task.cancel()
        await check_cancelled_cleanly(children, task, before, "run_with_timeout(timeout=100)")
    finally:
        task.cancel()
        await children.release()
