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
import gc
import os
import signal
import subprocess
import sys
import textwrap
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

CHILD_LIFETIME = 4  # seconds: a child that nobody stops exits by itself after this

CHILD_PRELUDE = """\
import os, signal, sys, threading, time
from pathlib import Path

SCRATCH = Path({scratch!r})
(SCRATCH / "pids" / str(os.getpid())).touch()
threading.Thread(target=lambda: (time.sleep({lifetime}), os._exit(99)), daemon=True).start()


def arrives(path, seconds):
    deadline = time.monotonic() + seconds
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


class Children:
    """Builds child commands and knows every child they started."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        (scratch / "pids").mkdir()

    def command(self, body: str, *extra_args: str) -> list[str]:
        prelude = CHILD_PRELUDE.format(scratch=str(self.scratch), lifetime=CHILD_LIFETIME)
        return [sys.executable, "-c", prelude + textwrap.dedent(body), *extra_args]

    def file(self, name: str) -> Path:
        return self.scratch / name

    def pids(self) -> list[int]:
        return sorted(int(p.name) for p in (self.scratch / "pids").iterdir())

    def kill_leftovers(self) -> bool:
        """Kill every child still running; True if there were any."""
        leftovers = [pid for pid in self.pids() if running(pid)]
        for pid in leftovers:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return bool(leftovers)


@pytest.fixture
async def children(tmp_path: Path):
    kids = Children(tmp_path)
    try:
        yield kids
    finally:
        if kids.kill_leftovers():
            # Let asyncio collect the killed children while the loop still runs, so that what
            # a wrong answer left behind is cleaned up here and not in a later test.
            for _ in range(40):
                if not any(running(pid) for pid in kids.pids()):
                    break
                await asyncio.sleep(0.005)
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


def as_pair(result: object, what: str) -> object:
    checks.not_coroutine(result, what)
    return tuple(result) if isinstance(result, list) else result


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
    result = await finish_within(1.5, subprocesses.run(children.command('print("hello")')))
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
    result = await finish_within(1.5, subprocesses.run(children.command(COMPLAINS_THEN_EXITS)))

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
        1.5,
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
        1.5,
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
    print("the test answered" if arrives(Path({str(go)!r}), 0.8) else "nobody answered")
    """
    async with in_background(create_when(go, ready)):
        result = await finish_within(1.5, subprocesses.run(children.command(body)))
    result = as_pair(result, "run()'s result")
    if "nobody answered" in repr(result):
        pytest.fail(
            "The child waited 0.8 s for a file that the test creates from another task on the "
            "event loop, and it never came: while run() waited for the child, it blocked the "
            "event loop, so no other task could run. subprocess.run() and "
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


# Task 2: run_all


def missing_code(results: object) -> str:
    """Explain a result list in which some return code is None or some output is bytes."""
    if not isinstance(results, list):
        return ""
    pairs = [r for r in results if isinstance(r, tuple) and len(r) == 2]
    if any(code is None for code, _ in pairs):
        return "A return code is None: await each child's exit (communicate() or wait())."
    if any(isinstance(out, bytes) for _, out in pairs):
        return "The outputs are bytes: decode each one to text (out.decode())."
    if pairs and all(isinstance(out, str) and not out.endswith("\n") for _, out in pairs):
        return EXACTLY
    return ""


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
    result = await finish_within(1.5, subprocesses.run_all(commands))
    checks.not_coroutine(result, "run_all()'s result")
    checks.equal(
        [tuple(r) if isinstance(r, list) else r for r in result],
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

    def body(index: int) -> str:
        return f"""
        (SCRATCH / "started" / "{index}").touch()
        deadline = time.monotonic() + 0.5
        while len(os.listdir(SCRATCH / "started")) < {count} and time.monotonic() < deadline:
            time.sleep(0.002)
        print("together" if len(os.listdir(SCRATCH / "started")) >= {count} else "alone")
        """

    result = await finish_within(
        1.8,
        subprocesses.run_all([children.command(body(i)) for i in range(count)]),
        "run_all() of three children that each wait 0.5 s for the others never returned.",
    )
    outputs = [output_text(r) for r in result]
    alone = sum("alone" in str(out) for out in outputs)
    if alone:
        pytest.fail(
            f"{alone} of {count} children ran alone: each waited 0.5 s for the other children "
            "to start, and they were not all running. The commands ran one after another (or "
            "only a few at a time, with a Semaphore or a limit). Start every child first "
            "(create_subprocess_exec for each, or asyncio.gather over the commands), then wait "
            "for their results.",
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

    def body(index: int) -> str:
        wait = "True" if index == last else f'arrives(SCRATCH / "done-{index + 1}", 0.5)'
        return f"""
        waited = {wait}
        time.sleep(0.05)
        print("job {index}" if waited else "job {index} (job {index + 1} never finished)")
        sys.stdout.flush()
        (SCRATCH / "done-{index}").touch()
        """

    result = await finish_within(
        1.8,
        subprocesses.run_all([children.command(body(i)) for i in range(last + 1)]),
        "run_all() of three children that finish in reverse order never returned.",
    )
    expected = [(0, f"job {i}\n") for i in range(last + 1)]
    got = [tuple(r) if isinstance(r, list) else r for r in result]

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
    result = await finish_within(1.5, subprocesses.run_all([]))
    checks.not_coroutine(result, "run_all([])")
    checks.equal(list(result), [], "run_all([])")


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
        1.5,
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
    written = ["first", "", "tab\tand form\x0cfeed", "  ", "last"]
    body = f"sys.stdout.write({chr(10).join(written) + chr(10)!r})"
    code = await finish_within(1.5, subprocesses.stream_lines(children.command(body), lines.append))
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
    if arrives(Path({str(go)!r}), 0.8):
        print("second")
    else:
        Path({str(gave_up)!r}).touch()
        print("second (nobody answered)")
    """
    lines: list[str] = []
    child_had_given_up: list[bool] = []
    first_arrived = asyncio.Event()

    def on_line(line: str) -> None:
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
            1.5,
            subprocesses.stream_lines(children.command(body), on_line),
            "stream_lines() of a child that prints two lines never returned.",
        )
    if child_had_given_up == [True]:
        pytest.fail(
            "The child printed 'first' and then waited 0.8 s for the test to see it, but "
            "on_line('first') only came after the child had finished: your code read the "
            "output only at the end (communicate(), read(), or after awaiting proc.wait()). "
            "Hand each line over as it arrives: `async for line in proc.stdout:` or a loop "
            "over `await proc.stdout.readline()`, and wait for the exit after the last line.",
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
    code = await finish_within(1.5, subprocesses.stream_lines(children.command(body), lines.append))
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
        1.5,
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
async def test_stream_lines_of_a_silent_child_calls_nothing(children):
    lines: list[str] = []
    code = await finish_within(
        1.5, subprocesses.stream_lines(children.command("pass"), lines.append)
    )
    checks.not_coroutine(code, "stream_lines()'s result")
    checks.equal(
        lines, [], "Lines handed to on_line for a child that prints nothing", explain_lines
    )
    checks.equal(code, 0, "stream_lines()'s return value for a silent child", explain_code)


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
        1.5,
        subprocesses.run_with_timeout(children.command("sys.exit(7)"), timeout=5),
        "run_with_timeout(timeout=5) had not returned 1.5 s after starting a child that exits "
        "at once: it waits the whole timeout. Return as soon as the child exits; the timeout "
        "is only the longest you wait (asyncio.wait_for(proc.wait(), timeout)), not a sleep.",
    )
    checks.not_coroutine(result, "run_with_timeout()'s result")
    checks.equal(
        result,
        7,
        "run_with_timeout() of a child that exits with code 7 well within its timeout",
        "A child that finishes in time is not killed: return its own return code.",
    )


@pytest.mark.task(4)
@pytest.mark.wall_limit(4)
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
    result = await finish_within(
        2.5,
        subprocesses.run_with_timeout(children.command(body, str(own_output)), timeout=2),
        "run_with_timeout(timeout=2) of a child that writes 1 MB and exits at once had not "
        "returned after 2.5 s. If you start the child with stdout=asyncio.subprocess.PIPE and "
        "never read that pipe, the child stops once it is full (64 KiB), waiting for a reader, "
        "and even after proc.kill() proc.wait() can go on waiting for the unread pipe. Do not "
        "pipe output you do not read (leave stdout out), or read it while you wait "
        "(asyncio.wait_for(proc.communicate(), timeout)).",
    )
    checks.not_coroutine(result, "run_with_timeout()'s result")
    checks.equal(
        result,
        4,
        "run_with_timeout(timeout=2) of a child that writes 1 MB to its output and exits with "
        "code 4 at once",
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
            1.5,
            subprocesses.run_with_timeout(
                children.command("while True:\n    time.sleep(0.01)"), timeout=0.3
            ),
            "run_with_timeout(timeout=0.3) of a child that never ends had not returned after "
            "1.5 s. When the timeout passes, kill the child (proc.kill()), then await "
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
            1.3,
            subprocesses.run_with_timeout(children.command(body), timeout=0.3),
            "run_with_timeout(timeout=0.3) of a child that ignores SIGTERM had not returned "
            "after 1.3 s. proc.terminate() sends SIGTERM, which only asks the child to stop: "
            "this one refuses, and waiting for it never ends. proc.kill() sends SIGKILL, "
            "which cannot be ignored.",
        )
    except TimeoutError as exc:
        raised = exc
    await check_killed_and_reaped(children, result, raised)


@pytest.mark.task(4)
async def test_run_with_timeout_leaves_the_event_loop_free_while_it_waits(children):
    go, ready, saw = children.file("go"), children.file("ready"), children.file("saw-go")
    body = f"""
    Path({str(ready)!r}).touch()
    if arrives(Path({str(go)!r}), 3):
        Path({str(saw)!r}).touch()
    while True:
        time.sleep(0.01)
    """
    result = raised = None
    async with in_background(create_when(go, ready)):
        try:
            result = await finish_within(
                1.5,
                subprocesses.run_with_timeout(children.command(body), timeout=0.5),
                "run_with_timeout(timeout=0.5) of a child that never ends had not returned "
                "after 1.5 s.",
            )
        except TimeoutError as exc:
            raised = exc
    if not saw.exists():
        pytest.fail(
            "During the 0.5 s timeout the child waited for a file that the test creates from "
            "another task on the event loop, and it never came: run_with_timeout() blocked "
            "the event loop while it waited. subprocess.run(..., timeout=...) and "
            "Popen.wait(timeout=...) wait without awaiting. Use "
            "asyncio.create_subprocess_exec and `await asyncio.wait_for(proc.wait(), timeout)`.",
            pytrace=False,
        )
    await check_killed_and_reaped(children, result, raised)
