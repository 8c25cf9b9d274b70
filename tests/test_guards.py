"""The hang and hygiene guards, each proven with a planted bad submission.

Each file in tests/hostile/ is appended to exercise 03's reference solution (so it replaces
one function, or breaks the module) and run as a submission. It must fail the hanging or
misbehaving test with a message that says what happened, within the wall limit, and the run
must go on to the next test, which passes.

A planted file's run is kept (KIT/.aiokata/kept-runs) once its test passed, until the engine,
exercise 03, its solution, the planted file or this file changes; `--fresh-proofs` runs all.
"""

import asyncio
import contextlib
import os
import select
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from aiokata import guards, runner, targets
from aiokata.proof_cache import KeptRuns, kept_key

KIT = Path(__file__).resolve().parents[1]
HOSTILE = KIT / "tests" / "hostile"
WALL_LIMIT = 1.5
# A thread left running is waited for (resources.THREAD_GRACE) before it is judged.
WALL_LIMITS = {"leaked_thread": 4.0}
# The first test calls fetch_all (the planted function); the second does not.
SELECTED = "test_three_one_second_fetches_take_one_second or test_report_with_no_failures"

# file: (status of the fetch_all test, words its message must contain, the rest still passes)
EXPECTED = {
    "spin": ("timeout", ["Stopped after 1.5 s", "while True:"], True),
    "blocking_sleep": ("fail", ["time.sleep(1) was called on the event loop's thread"], True),
    "blocking_run": (
        "fail",
        ["subprocess.run() was called on the event loop's thread, at line", "in _check_disk"],
        True,
    ),
    "deadlock": ("fail", ["still waiting after 600 s of loop time", "deadlock"], True),
    "swallowed_cancellation": ("timeout", ["Stopped after", "caught asyncio.CancelledError"], True),
    "retry_forever": ("timeout", ["Stopped after", "It was running", "tasks.py"], True),
    "import_hang": ("timeout", ["did not finish within 1.5 s", "in <module>"], False),
    "import_exit": ("error", ["exited with status 3 while importing"], False),
    "os_exit": ("error", ["ended the whole program"], True),
    "sys_exit": ("fail", ["SystemExit", "stops a whole program"], True),
    "keyboard_interrupt": ("fail", ["KeyboardInterrupt", "stops a whole program"], True),
    "never_awaited": ("fail", ["`fetch(url)` on line", "made a coroutine that was never"], True),
    "leaked_task": ("fail", ["Your code started 1 task with create_task() on", "sleep()"], True),
    "orphan_process": ("fail", ["left 1 process running", "    /bin/sleep 60\n"], True),
    "lost_exception": ("fail", ["never retrieved", "lost in a background task"], True),
    "busy_wait": (
        "fail",
        ["held the event loop for", "without reaching an `await`, at line", "`while time."],
        True,
    ),
    "stubborn_task": ("timeout", ["would not stop when it was cancelled"], True),
    "syntax_error": ("fail", ["has a syntax error on line", "async def fetch_all"], False),
    "import_error": ("fail", ["ModuleNotFoundError while being imported"], False),
    "missing_function": ("fail", ["has no `fetch_all`"], True),
    "leaked_thread": ("fail", ["started 1 thread on line", "still running", "it is at line"], True),
    "open_executor": ("fail", ["made 1 executor on line", "never shut it down"], True),
    "unclosed_session": ("fail", ["made 1 aiohttp.ClientSession on line", "never closed"], True),
    "open_server": ("fail", ["started 1 server on line", "still listening (127.0.0.1:"], True),
    "thread_error": ("fail", ["thread counter ended with ValueError: bad count", "`raise"], True),
    "open_connection": ("fail", ["opened 1 connection to 127.0.0.1:", "never closed"], True),
}


def kept_place(kept_runs: KeptRuns | None, name: str) -> str | None:
    if kept_runs is None:
        return None
    read = ("src/aiokata", "exercises/03_tasks", "solutions/03_tasks", "tests/test_guards.py")
    extra = "\n".join([str(KIT), sys.executable, "hostile", name])
    return kept_key(KIT, (*read, f"tests/hostile/{name}.py"), extra)


@pytest.fixture(scope="session")
def hostile_runs(tmp_path_factory, kept_runs) -> dict[str, tuple[list[dict], str, bool]]:
    """name: (its two tests' results, its output, whether they were kept from a past run)."""
    solution = (KIT / "solutions" / "03_tasks" / "tasks.py").read_text()
    scratch = tmp_path_factory.mktemp("hostile")
    found = {}
    for name in EXPECTED:
        key = kept_place(kept_runs, name)
        kept = kept_runs.get(key) if kept_runs is not None and key is not None else None
        if isinstance(kept, list) and len(kept) == 2:
            found[name] = (kept[0], kept[1], True)

    def run(name: str) -> tuple[str, tuple[list[dict], str, bool]]:
        folder = scratch / name
        (folder / "03_tasks").mkdir(parents=True)
        planted = (HOSTILE / f"{name}.py").read_text()
        (folder / "03_tasks" / "tasks.py").write_text(f"{solution}\n\n{planted}")
        _, tests, output = runner.run_exercises(
            KIT,
            ["03_tasks"],
            submission=folder,
            extra=(f"--wall-limit={WALL_LIMITS.get(name, WALL_LIMIT)}", "-k", SELECTED),
            timeout=120,
        )
        return name, (tests, output, False)

    with ThreadPoolExecutor(max_workers=2) as pool:
        found.update(pool.map(run, sorted(set(EXPECTED) - set(found))))
    return found


def test_every_planted_file_has_an_expectation() -> None:
    assert sorted(p.stem for p in HOSTILE.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_planted_misbehaviour_fails_with_a_clear_message(
    name: str, hostile_runs, kept_runs
) -> None:
    tests, output, kept = hostile_runs[name]
    key = kept_place(kept_runs, name)
    with dropped_on_failure(kept_runs, name, kept):
        check_planted(name, tests, output)
    if key is not None and not kept:
        kept_runs.put(key, [tests, output])


@contextlib.contextmanager
def dropped_on_failure(kept_runs: KeptRuns | None, name: str, kept: bool) -> Iterator[None]:
    """A failure on a kept run drops it, so the next run runs the planted file again."""
    try:
        yield
    except AssertionError as failure:
        if not kept or kept_runs is None:
            raise
        kept_runs.put(kept_place(kept_runs, name), None)
        raise AssertionError(f"{failure}\n(kept from an earlier run; dropped now)") from None


def check_planted(name: str, tests: list[dict], output: str) -> None:
    status, words, rest_passes = EXPECTED[name]
    assert len(tests) == 2, f"{name}: expected two tests to be reported\n{output}"
    planted, other = tests
    assert "three_one_second" in planted["nodeid"]
    assert planted["status"] == status, f"{name}: {planted['status']}\n{planted['message']}"
    for word in words:
        assert word in planted["message"], f"{name}: {word!r} not in:\n{planted['message']}"
    # The run went on: the next test ran and got its own verdict.
    if rest_passes:
        assert other["status"] == "pass", other["message"]
    else:  # a module that cannot be imported fails every test of its exercise
        assert other["status"] in ("fail", "error"), other["message"]
    # Stopped by the wall limit, not left to hang (a loose bound: 1.5 s plus process start).
    assert planted["duration"] < 10


def test_a_module_that_hangs_on_import_costs_one_wall_limit_not_one_per_test(
    hostile_runs, kept_runs
):
    tests, _, kept = hostile_runs["import_hang"]
    with dropped_on_failure(kept_runs, "import_hang", kept):
        assert tests[1]["message"].startswith("Not run:"), tests[1]["message"]
        assert tests[1]["duration"] < 0.5


def test_a_long_step_counts_as_held_only_if_it_computed_or_waited_in_the_kernel() -> None:
    # A step kept off the CPU by a busy machine: little CPU, only involuntary switches.
    assert not guards.held_the_loop((1.0, 10), (1.002, 10))
    assert guards.held_the_loop((1.0, 10), (1.3, 10)), "it computed for 0.3 s"
    assert guards.held_the_loop((1.0, 10), (1.0, 11)), "it blocked in a system call"
    assert guards.held_the_loop(None, None), "without per-thread figures: the wall clock"


def test_a_blocking_call_in_a_step_is_still_found() -> None:
    async def main() -> None:
        asyncio.get_running_loop().call_soon(select.select, [], [], [], 0.6)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    with guards.guarded(guards.Findings()) as findings:
        asyncio.run(main())
    assert [took >= 0.6 for took, _ in findings.stalls] == [True], findings.stalls


def test_a_test_that_fakes_the_clocks_does_not_make_a_step_look_long(monkeypatch) -> None:
    # Exercise 23's wall clock ties time.perf_counter and time.monotonic to the loop's clock
    # and puts the real ones back when its block ends. A step that ended after that, and that
    # happened to wait in the kernel once (a voluntary switch), was called a stall as long as
    # the machine had been up: a flaky failure of a correct answer.
    async def main() -> None:
        monkeypatch.setattr(time, "perf_counter", lambda: -1e6)  # a clock far behind
        monkeypatch.setattr(time, "monotonic", lambda: -1e6)
        await asyncio.sleep(0)  # the step ends on the faked clock
        select.select([], [], [], 0.01)  # a wait in the kernel, as a switch would be
        monkeypatch.undo()  # the real clocks are back
        await asyncio.sleep(0)

    with guards.guarded(guards.Findings()) as findings:
        asyncio.run(main())
    assert findings.stalls == []


def test_blocking_calls_are_stopped_only_on_the_loop_and_only_from_the_learners_file(
    tmp_path: Path,
) -> None:
    real_system = os.system
    learner = tmp_path / "learner.py"
    learner.write_text("import os\n\ndef shell():\n    return os.system('true')\n")
    namespace: dict = {}
    exec(compile(learner.read_text(), str(learner), "exec"), namespace)

    async def main() -> list:
        outcomes = [os.system("true")]  # the test's own call: not the learner's, allowed
        outcomes.append(await asyncio.to_thread(namespace["shell"]))  # off the loop: allowed
        try:
            namespace["shell"]()
        except guards.BlockingCallError:
            outcomes.append("stopped")
        return outcomes

    with guards.guarded(guards.Findings(focus={str(learner)})) as findings:
        assert asyncio.run(main()) == [0, 0, "stopped"]
    assert findings.blocking_calls == [
        "os.system() was called on the event loop's thread, at line 4 of "
        f"{targets.display(learner)} (`return os.system('true')`), in shell. It blocks the "
        "whole loop while it waits: no other task runs meanwhile. Use await "
        "asyncio.create_subprocess_shell(...) in async code, or run the call in a thread with "
        "`await asyncio.to_thread(...)`."
    ]
    assert os.system is real_system, "the real os.system is back after the test"


def test_waiting_in_thread_start_for_the_new_thread_to_run_is_not_a_stall(monkeypatch) -> None:
    # Thread.start() waits until the new thread has run; on a loaded machine that can take
    # longer than STALL_SECONDS, and it is the scheduler's wait, not the learner's.
    real_start = threading.Thread.start

    def slow_start(thread: threading.Thread) -> None:
        select.select([], [], [], 0.6)  # a wait in the kernel, as a slow start would be
        real_start(thread)

    monkeypatch.setattr(threading.Thread, "start", slow_start)

    async def main() -> None:
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()
        await asyncio.sleep(0)

    with guards.guarded(guards.Findings()) as findings:
        asyncio.run(main())
    assert findings.stalls == []


def test_a_server_handler_cancelled_at_shutdown_is_not_a_lost_error() -> None:
    # On 3.11 asyncio logs "Exception in callback StreamReaderProtocol.connection_made..."
    # with CancelledError when a handler's task is cancelled; any other logged error counts.
    findings = guards.Findings()
    loop = asyncio.new_event_loop()
    try:
        message = "Exception in callback StreamReaderProtocol.connection_made.<locals>.callback"
        findings.on_loop_error(loop, {"message": message, "exception": asyncio.CancelledError()})
        assert findings.loop_errors == []
        findings.on_loop_error(loop, {"message": message, "exception": ValueError("lost")})
        assert len(findings.loop_errors) == 1
    finally:
        loop.close()


def test_a_gather_cancelled_from_outside_is_named_for_what_it_is() -> None:
    # Python 3.11's wait_for(gather(...), t) leaves this log when the time runs out.
    findings = guards.Findings()
    loop = asyncio.new_event_loop()
    try:
        inner = loop.create_future()
        gathering = asyncio.gather(inner)
        inner.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        message = "_GatheringFuture exception was never retrieved"
        context = {"message": message, "exception": asyncio.CancelledError(), "future": gathering}
        findings.on_loop_error(loop, context)
        (said,) = findings.problems()
        assert "asyncio.wait_for(asyncio.gather(...), t)" in said
        assert "asyncio.timeout(t)" in said
        assert "An exception inside a task nobody awaits" not in said
    finally:
        loop.close()
