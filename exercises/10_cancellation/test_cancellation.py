"""Exercise 10 tests. Run them with `pytest exercises/10`."""

import asyncio

import pytest

from aiokata import checks, exercise_module

cancellation = exercise_module(__file__)


def now() -> float:
    """Loop time, rounded so that 0.1 + 0.2 compares equal to 0.3."""
    return round(asyncio.get_running_loop().time(), 6)


class TerminalGone(Exception):
    """Raised by the fake terminal once the test gives up on a spinner that will not stop."""


class Terminal:
    """A fake terminal: records each frame shown and each clear, with the loop time."""

    def __init__(self, fail_on_frame: int | None = None) -> None:
        self.start = now()
        self.log: list[tuple[float, str]] = []
        self.frames_shown = 0
        self.fail_on_frame = fail_on_frame
        self.failed_at: float | None = None
        self.unplugged = False

    def show(self, frame: str) -> None:
        if self.unplugged:
            raise TerminalGone("the test stopped this spinner")
        self.frames_shown += 1
        if self.fail_on_frame == self.frames_shown:
            self.failed_at = round(now() - self.start, 6)
            raise OSError("terminal closed")
        self.log.append((round(now() - self.start, 6), frame))

    def clear(self) -> None:
        self.log.append((round(now() - self.start, 6), "clear"))

    def frames(self) -> list[tuple[float, str]]:
        return [entry for entry in self.log if entry[1] != "clear"]

    def clears(self) -> list[float]:
        return [at for at, what in self.log if what == "clear"]


def reraise_failure(task: asyncio.Task) -> None:
    """If the learner's task failed with an exception, raise it here (the stub's
    NotImplementedError included), so the test reports it."""
    if task.done() and not task.cancelled() and task.exception() is not None:
        task.result()


async def settle(*tasks: asyncio.Task) -> None:
    """Test cleanup: end the tasks a test started, whatever state they are in."""
    for task in tasks:
        task.cancel()
    pending = [t for t in tasks if not t.done()]
    if pending:
        await asyncio.wait(pending, timeout=5)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" noise


async def cancel_spinner(task: asyncio.Task, terminal: Terminal) -> None:
    """Cancel a running spinner and wait until it ends; fail clearly if it keeps going."""
    reraise_failure(task)
    if task.done():
        pytest.fail(
            f"The spinner stopped by itself after showing {terminal.frames_shown} frame(s), "
            "before anyone cancelled it. A spinner spins until it is cancelled: loop forever "
            "(`while True:` or `for frame in itertools.cycle(FRAMES):`).",
            pytrace=False,
        )
    task.cancel()
    await asyncio.wait([task], timeout=1)
    if task.done():
        if not task.cancelled() and isinstance(task.exception(), NotImplementedError):
            task.result()
        return
    terminal.unplugged = True  # its next frame raises, which ends it
    await asyncio.wait([task], timeout=1)
    await settle(task)
    pytest.fail(
        "The spinner was cancelled but it kept on spinning: it caught asyncio.CancelledError "
        "and carried on (an `except asyncio.CancelledError:` inside the loop, or a loop around "
        "the try). A cancelled task must stop: put the cleanup in `finally:` and let the "
        "CancelledError propagate (or re-raise it with a bare `raise`).",
        pytrace=False,
    )


async def spin_for(seconds: float, terminal: Terminal, **kwargs: float) -> asyncio.Task:
    """Run the learner's spinner as a task for `seconds`, then cancel it and wait for it."""
    task = asyncio.create_task(cancellation.spinner(terminal, **kwargs))
    try:
        await asyncio.sleep(seconds)
        await cancel_spinner(task, terminal)
    finally:
        await settle(task)
    return task


# Task 1: spinner


@pytest.mark.task(1)
async def test_spinner_shows_a_frame_every_tenth_of_a_second():
    terminal = Terminal()
    await spin_for(0.35, terminal)
    checks.equal(
        terminal.frames(),
        [(0.0, "|"), (0.1, "/"), (0.2, "-"), (0.3, "\\")],
        "Frames shown as (loop time, frame) by a spinner cancelled at 0.35 s",
        "Show a frame at once, then `await asyncio.sleep(interval)` before the next one; "
        "the default interval is 0.1 s and the frames go | / - \\ in turn.",
    )


@pytest.mark.task(1)
async def test_spinner_frames_go_round_in_a_cycle():
    terminal = Terminal()
    await spin_for(5.5, terminal, interval=1)
    checks.equal(
        "".join(frame for _, frame in terminal.frames()),
        "|/-\\|/",
        "Frames shown in 5.5 s with interval=1",
        lambda got: (
            "One frame short: show the first frame at once, then sleep `interval` before "
            "each of the next ones."
            if len(got) == 5 and "|/-\\|/".startswith(got)
            else "After \\ comes | again: cycle through the four frames for as long as the "
            "spinner runs (itertools.cycle, or an index modulo 4). Use the `interval` you are "
            "given."
        ),
    )


@pytest.mark.task(1)
async def test_cancelled_spinner_ends_cancelled():
    terminal = Terminal()
    task = await spin_for(0.35, terminal)
    if not task.cancelled():
        pytest.fail(
            "The spinner task was cancelled, but it ended normally instead of ending "
            "cancelled (task.cancelled() is False): it caught asyncio.CancelledError and "
            "returned. Whoever cancels a task must be able to see that it stopped because of "
            "it. Do the cleanup in `finally:`, or re-raise the CancelledError with `raise`.",
            pytrace=False,
        )


@pytest.mark.task(1)
async def test_spinner_clears_the_line_once_when_cancelled():
    terminal = Terminal()
    await spin_for(0.35, terminal)
    clears = terminal.clears()
    checks.equal(
        clears,
        [0.35],
        "Loop times at which the spinner called terminal.clear() (cancelled at 0.35 s)",
        lambda got: (
            "It never cleared the line: call terminal.clear() in a `finally:` block so it "
            "runs when the CancelledError arrives at the spinner's await."
            if not got
            else "Clear the line exactly once, when the spinner stops."
            if len(got) > 1
            else "Clear the line when the spinner stops, not before."
        ),
    )
    checks.equal(
        terminal.log[-1][1],
        "clear",
        "The last thing the spinner did",
        "After clearing, a spinner must not show another frame: the CancelledError "
        "arrives at the `await`, so nothing after it in the loop may run.",
    )


@pytest.mark.task(1)
async def test_spinner_clears_even_when_the_terminal_fails():
    terminal = Terminal(fail_on_frame=3)
    task = asyncio.create_task(cancellation.spinner(terminal))
    try:
        await asyncio.wait([task], timeout=1)
        if isinstance(_error(task), NotImplementedError):
            task.result()
        if not task.done():
            await cancel_spinner(task, terminal)
            pytest.fail(
                "The terminal raised OSError when showing the third frame, but the spinner "
                "kept running: let errors propagate (never `except Exception: pass`).",
                pytrace=False,
            )
        error = _error(task)
        checks.equal(
            "cancelled"
            if task.cancelled()
            else "returned"
            if error is None
            else type(error).__name__,
            "OSError",
            "How the spinner ended when terminal.show() raised OSError",
            lambda got: (
                "The spinner swallowed the terminal's error and returned normally: a `return` "
                "in `finally:`, or an `except` without `raise`, ends the exception there. Let "
                "the terminal's error propagate out of the spinner."
                if got == "returned"
                else "Let the terminal's error propagate out of the spinner."
            ),
        )
        checks.equal(
            terminal.clears(),
            [terminal.failed_at],
            f"Loop times of terminal.clear() when showing the third frame (at "
            f"{terminal.failed_at or 0:g} s) failed",
            lambda got: (
                "The spinner stopped without clearing the line: the cleanup only ran for a "
                "cancellation. Put terminal.clear() in a `finally:` block, which runs however "
                "the spinner ends: cancelled, failed or returned."
                if not got
                else "Clear the line exactly once."
                if len(got) > 1
                else "Clear the line as the error goes by, not later."
            ),
        )
    finally:
        await settle(task)


def _error(task: asyncio.Task) -> BaseException | None:
    if not task.done() or task.cancelled():
        return None
    return task.exception()


# Task 2: run_with_spinner


class FakeSpinner:
    """`spin()` for run_with_spinner: spins until cancelled, then takes 0.5 s to clean up."""

    CLEANUP = 0.5

    def __init__(self) -> None:
        self.task: asyncio.Task | None = None
        self.started_at: float | None = None
        self.frames = 0
        self.cleaned_at: float | None = None
        self.at_return: tuple = ()  # snapshot() taken the moment run_with_spinner() returned

    async def __call__(self) -> None:
        self.task = asyncio.current_task()
        self.started_at = now()
        try:
            while True:
                self.frames += 1
                await asyncio.sleep(0.25)
        finally:
            await asyncio.sleep(self.CLEANUP)  # restoring the cursor takes a moment
            self.cleaned_at = now()


class FakeJob:
    """`job()`: works for `seconds`, then returns `result` or raises `error`."""

    def __init__(self, seconds: float, result: str = "report", error: Exception | None = None):
        self.seconds, self.result, self.error = seconds, result, error
        self.calls = 0
        self.cancelled_at: float | None = None

    async def __call__(self) -> str:
        self.calls += 1
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled_at = now()
            raise
        if self.error is not None:
            raise self.error
        return self.result


NEVER_RETURNED = (
    "run_with_spinner() never returned, although the job finished after {job:g} s. The spinner "
    "never stops by itself: awaiting spin() (or gathering it with the job) waits forever. Start "
    "it with asyncio.create_task(spin()), await job(), then cancel the spinner task."
)


async def call_run_with_spinner(job: FakeJob, spin: FakeSpinner) -> str:
    async def observed() -> str:
        result = await cancellation.run_with_spinner(job, spin)
        spin.at_return = snapshot(spin)
        return result

    try:
        result = await checks.within(100, observed(), NEVER_RETURNED.format(job=job.seconds))
    except asyncio.CancelledError:
        await settle(*[t for t in [spin.task] if t])
        pytest.fail(
            "run_with_spinner() raised CancelledError to its caller. Awaiting a task you "
            "cancelled raises CancelledError in your code too; that one is expected (you asked "
            "for it), so catch it there: `with contextlib.suppress(asyncio.CancelledError): "
            "await spinner_task`.",
            pytrace=False,
        )
    finally:
        if spin.task is None or not spin.task.done():
            await settle(*[t for t in [spin.task] if t])
    checks.not_coroutine(result, "run_with_spinner()'s result")
    return result


def check_spinner_stopped(spin: FakeSpinner, when: str, snapshot: tuple) -> None:
    """`snapshot` is (started, done, cancelled, cancel requested, cleaned) taken the moment
    run_with_spinner() returned or raised."""
    started, done, cancelled, cancel_requested, cleaned = snapshot
    if not started:
        pytest.fail(
            f"{when}, spin() had never run: call spin() and start it as a task "
            "(asyncio.create_task(spin())) before you await the job.",
            pytrace=False,
        )
    if not done:
        if cancel_requested:
            pytest.fail(
                f"{when}, the spinner task had been cancelled but was still cleaning up: you "
                "returned without waiting for it. task.cancel() only asks; the CancelledError "
                "arrives at the spinner's next await, after you have gone. Await the task after "
                "cancelling it (and catch the CancelledError that the await raises).",
                pytrace=False,
            )
        pytest.fail(
            f"{when}, the spinner was still spinning: it never stops by itself, so cancel it "
            "(spinner_task.cancel()) and then await it.",
            pytrace=False,
        )
    if not cancelled:
        pytest.fail(f"{when}, the spinner task had ended without being cancelled.", pytrace=False)
    if not cleaned:
        pytest.fail(
            f"{when}, the spinner task had ended cancelled, but its cleanup never finished: "
            "it was interrupted (cleanup takes 0.5 s here). Cancel the spinner once, then wait "
            "for it as long as it takes: a plain `await` (or `asyncio.wait([task])`), with no "
            "timeout and no second cancel().",
            pytrace=False,
        )


def snapshot(spin: FakeSpinner) -> tuple:
    task = spin.task
    return (
        task is not None,
        task is not None and task.done(),
        task is not None and task.cancelled(),
        task is not None and task.cancelling() > 0,
        spin.cleaned_at is not None,
    )


@pytest.mark.task(2)
async def test_run_with_spinner_returns_the_jobs_result(looptime):
    job, spin = FakeJob(2, result="report"), FakeSpinner()
    result = await call_run_with_spinner(job, spin)
    checks.equal(result, "report", "run_with_spinner()'s result", "Return what job() returned.")
    checks.equal(job.calls, 1, "Calls to job()", "Call job() exactly once.")


@pytest.mark.task(2)
async def test_spinner_spins_while_the_job_runs():
    job, spin = FakeJob(2), FakeSpinner()
    await call_run_with_spinner(job, spin)
    checks.equal(
        spin.started_at,
        0.0,
        "Loop time at which the spinner started (the job takes 2 s)",
        lambda got: (
            "spin() was never called: start it with asyncio.create_task(spin())."
            if got is None
            else "The spinner started only after the job was done: start it as a task "
            "before you await the job, so that it spins while the job runs."
        ),
    )
    if spin.frames < 4:
        pytest.fail(
            f"The spinner showed only {spin.frames} frame(s) during a 2 s job: it should have "
            "spun the whole time the job ran.",
            pytrace=False,
        )


@pytest.mark.task(2)
async def test_spinner_is_cancelled_and_cleaned_up_before_returning(looptime):
    job, spin = FakeJob(2), FakeSpinner()
    await call_run_with_spinner(job, spin)
    check_spinner_stopped(spin, "When run_with_spinner() returned", spin.at_return)
    checks.took(
        looptime,
        2.5,
        "run_with_spinner() with a 2 s job and a spinner that takes 0.5 s to clean up",
        {2: "It returned before the spinner had finished cleaning up: await the cancelled task."},
    )


@pytest.mark.task(2)
async def test_cancelled_error_of_the_spinner_does_not_reach_the_caller():
    job, spin = FakeJob(1), FakeSpinner()
    result = await call_run_with_spinner(job, spin)
    checks.equal(result, "report", "run_with_spinner()'s result")


@pytest.mark.task(2)
async def test_a_failing_job_still_stops_the_spinner(looptime):
    broken = ValueError("job failed")
    job, spin = FakeJob(1, error=broken), FakeSpinner()
    raised: BaseException | None = None
    try:
        await checks.within(
            100, cancellation.run_with_spinner(job, spin), NEVER_RETURNED.format(job=1)
        )
    except NotImplementedError:
        raise
    except (Exception, asyncio.CancelledError) as exc:
        raised = exc
    state = snapshot(spin)
    await settle(*[t for t in [spin.task] if t and not t.done()])
    if raised is not broken:
        grouped = isinstance(raised, BaseExceptionGroup)
        pytest.fail(
            "When the job raised ValueError('job failed'), run_with_spinner() "
            + ("returned normally" if raised is None else f"raised {raised!r}")
            + ": let the job's error propagate to the caller, unchanged (try/finally, no "
            "except)."
            + (
                " A TaskGroup wraps errors in an ExceptionGroup; create the spinner task "
                "yourself instead."
                if grouped
                else ""
            ),
            pytrace=False,
        )
    if not state[1]:
        pytest.fail(
            "When the job raised, run_with_spinner() passed the error on but left the spinner "
            + ("still cleaning up" if state[3] else "spinning")
            + ". Stop it in a `finally:` block (cancel, then await the task), which runs "
            "whether the job returned or raised.",
            pytrace=False,
        )
    check_spinner_stopped(spin, "When the job's error reached the caller", state)


@pytest.mark.task(2)
async def test_cancelling_run_with_spinner_stops_job_and_spinner(looptime):
    job, spin = FakeJob(3), FakeSpinner()
    outer = asyncio.create_task(cancellation.run_with_spinner(job, spin))
    try:
        await asyncio.sleep(1)
        reraise_failure(outer)
        outer.cancel()
        await asyncio.wait([outer], timeout=10)
        reraise_failure(outer)
        state = snapshot(spin)
        checks.equal(
            job.cancelled_at,
            1.0,
            "Loop time at which the job was cancelled (run_with_spinner() cancelled at 1 s)",
            "Cancelling run_with_spinner() should cancel the job it is awaiting.",
        )
        if not outer.cancelled():
            pytest.fail(
                "run_with_spinner() was cancelled by its caller at 1 s, but it "
                + ("never ended." if not outer.done() else "ended normally.")
                + " The CancelledError raised by `await job()` was meant for run_with_spinner() "
                "itself: do the spinner cleanup in `finally:` and let that CancelledError go "
                "on (never `except asyncio.CancelledError:` without `raise`).",
                pytrace=False,
            )
        if not state[1]:
            pytest.fail(
                "run_with_spinner() was cancelled and passed the cancellation on, but left the "
                "spinner "
                + ("still cleaning up" if state[3] else "spinning")
                + ". Stop it in a `finally:` block (cancel, then await the task).",
                pytrace=False,
            )
        check_spinner_stopped(spin, "When the cancelled run_with_spinner() ended", state)
    finally:
        await settle(*[t for t in [outer, spin.task] if t])


# Task 3: cancel_and_wait


class Victim:
    """A task's body that works for 100 s; on cancellation it cleans up (taking `cleanup`
    seconds, maybe failing) and re-raises, or, if `stubborn`, returns instead."""

    def __init__(
        self, cleanup: float = 0, stubborn: bool = False, cleanup_error: Exception | None = None
    ):
        self.cleanup, self.stubborn, self.cleanup_error = cleanup, stubborn, cleanup_error
        self.log: list[tuple[str, float]] = []

    async def __call__(self) -> str:
        try:
            await asyncio.sleep(100)
            return "finished"
        except asyncio.CancelledError:
            self.log.append(("cancelled", now()))
            if self.stubborn:
                return "ignored the cancel"
            raise
        finally:
            if self.cleanup:
                await asyncio.sleep(self.cleanup)
            if self.cleanup_error is not None:
                raise self.cleanup_error
            self.log.append(("cleaned up", now()))


async def started(victim: Victim) -> asyncio.Task:
    """The victim running as a task, 1 s into its work."""
    task = asyncio.create_task(victim())
    await asyncio.sleep(1)
    return task


async def call_cancel_and_wait(task: asyncio.Task) -> object:
    try:
        result = await cancellation.cancel_and_wait(task)
    except asyncio.CancelledError:
        pytest.fail(
            "cancel_and_wait() raised CancelledError to its caller. Awaiting the task you "
            "cancelled raises its CancelledError in your code; that one is expected, so catch "
            "it and report it through the return value (task.cancelled()). To tell whether it "
            "was meant for you, ask `asyncio.current_task().cancelling()`, not "
            "`task.cancelling()`: the task you cancelled always counts your own cancel().",
            pytrace=False,
        )
    checks.not_coroutine(result, "cancel_and_wait()'s result")
    return result


@pytest.mark.task(3)
async def test_cancel_and_wait_returns_true_once_the_task_is_cancelled():
    victim = Victim()
    task = await started(victim)
    try:
        result = await call_cancel_and_wait(task)
        checks.equal(
            (result, task.cancelled()),
            (True, True),
            "(cancel_and_wait()'s result, task.cancelled()) for a task that stops when cancelled",
            lambda got: (
                "The task was never cancelled: call task.cancel()."
                if not got[1] and not task.done()
                else "Return task.cancelled(): True when the task ended cancelled."
            ),
        )
        checks.equal(
            victim.log,
            [("cancelled", 1.0), ("cleaned up", 1.0)],
            "What the task did after being cancelled at 1 s",
        )
    finally:
        await settle(task)


@pytest.mark.task(3)
async def test_cancel_and_wait_waits_for_a_slow_cleanup(looptime):
    victim = Victim(cleanup=2)
    task = await started(victim)
    try:
        await call_cancel_and_wait(task)
        returned_at = now()
        checks.equal(
            (victim.log, returned_at),
            ([("cancelled", 1.0), ("cleaned up", 3.0)], 3.0),
            "(what the task did, when cancel_and_wait() returned) for a task whose cleanup "
            "takes 2 s, cancelled at 1 s",
            lambda got: (
                "cancel_and_wait() returned before the task had finished cleaning up. "
                "task.cancel() only asks: the CancelledError arrives at the task's next await "
                "and its `finally:` may itself await. Wait for the task to end: `await task`."
                if got[1] < 3.0
                else ""
            ),
        )
    finally:
        await settle(task)


@pytest.mark.task(3)
async def test_cancel_and_wait_reports_a_task_that_refused_to_stop():
    victim = Victim(stubborn=True)
    task = await started(victim)
    try:
        result = await call_cancel_and_wait(task)
        checks.equal(
            result,
            False,
            "cancel_and_wait() of a task that caught its CancelledError and returned",
            "The task ended normally, not cancelled: return task.cancelled() after waiting, "
            "instead of assuming the cancel worked.",
        )
    finally:
        await settle(task)


@pytest.mark.task(3)
async def test_cancel_and_wait_of_a_finished_task_returns_false(looptime):
    task = asyncio.create_task(asyncio.sleep(0.5, result="done"))
    await asyncio.sleep(1)
    result = await call_cancel_and_wait(task)
    checks.equal(
        result,
        False,
        "cancel_and_wait() of a task that had already finished",
        "The task was over before you cancelled it, so cancel() did nothing and it did not "
        "end cancelled: return task.cancelled() rather than assuming the cancel worked.",
    )
    checks.took(looptime, 1, "cancel_and_wait() of a finished task (called at 1 s)")


@pytest.mark.task(3)
async def test_cancel_and_wait_of_a_task_that_had_already_failed_raises_its_error(looptime):
    broken = KeyError("missing")

    async def fails() -> None:
        await asyncio.sleep(0.5)
        raise broken

    task = asyncio.create_task(fails())
    await asyncio.sleep(1)
    try:
        raised: BaseException | None = None
        try:
            result = await call_cancel_and_wait(task)
        except KeyError as exc:
            raised, result = exc, None
        if raised is not broken:
            pytest.fail(
                "The task had already failed with KeyError('missing') before cancel_and_wait() "
                f"was called, and cancel_and_wait() returned {result!r}. An error the task "
                "ended with is not a cancellation: raise it to the caller, even when the task "
                "was over before you cancelled it. Do not return early on `task.done()`: "
                "`await task` (or task.result() when it is not cancelled) raises it for you.",
                pytrace=False,
            )
    finally:
        await settle(task)


@pytest.mark.task(3)
async def test_cancel_and_wait_passes_on_an_error_raised_during_cleanup():
    broken = OSError("could not flush the log")
    victim = Victim(cleanup_error=broken)
    task = await started(victim)
    try:
        raised: BaseException | None = None
        try:
            result = await call_cancel_and_wait(task)
        except OSError as exc:
            raised, result = exc, None
        if raised is not broken:
            pytest.fail(
                "The task failed with OSError('could not flush the log') while cleaning up, but "
                f"cancel_and_wait() returned {result!r}. Only the task's CancelledError is "
                "expected; any other error must reach the caller: catch "
                "asyncio.CancelledError only (not Exception or BaseException), and if you wait "
                "with asyncio.wait, call task.result() on a task that was not cancelled.",
                pytrace=False,
            )
    finally:
        await settle(task)


@pytest.mark.task(3)
async def test_cancelling_the_caller_of_cancel_and_wait_cancels_it(looptime):
    victim = Victim(cleanup=2)
    task = await started(victim)
    caller = asyncio.create_task(cancellation.cancel_and_wait(task))
    try:
        await asyncio.sleep(0.5)  # cancel_and_wait() is now waiting for the 2 s cleanup
        reraise_failure(caller)
        caller.cancel()
        await asyncio.wait([caller], timeout=10)
        reraise_failure(caller)
        if not caller.cancelled():
            pytest.fail(
                "While cancel_and_wait() waited for the task's cleanup, its own caller cancelled "
                "it; it "
                + ("never ended" if not caller.done() else f"returned {caller.result()!r}")
                + " instead of ending cancelled. The CancelledError you catch around `await "
                "task` may be meant for you, not the task: re-raise it when "
                "`asyncio.current_task().cancelling()` is not 0 (or wait with "
                "`await asyncio.wait([task])`, which lets your own cancellation through).",
                pytrace=False,
            )
    finally:
        await settle(caller, task)
