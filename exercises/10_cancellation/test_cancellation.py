"""Exercise 10 tests. Run them with `pytest exercises/10`."""

import asyncio

import pytest
from hypothesis import assume
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import now, settle

cancellation = exercise_module(__file__)


FRAMES = "|/-\\"


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
        self.task: asyncio.Task | None = None  # the spinner task, once the test knows it
        self.late_clears: list[float] = []  # clear() calls made after the spinner task ended

    def show(self, frame: str) -> None:
        if self.unplugged:
            raise TerminalGone("the test stopped this spinner")
        self.frames_shown += 1
        if self.fail_on_frame == self.frames_shown:
            self.failed_at = round(now() - self.start, 6)
            raise OSError("terminal closed")
        self.log.append((round(now() - self.start, 6), frame))

    def clear(self) -> None:
        at = round(now() - self.start, 6)
        self.log.append((at, "clear"))
        if self.task is not None and self.task.done():
            self.late_clears.append(at)

    def frames(self) -> list[tuple[float, str]]:
        return [entry for entry in self.log if entry[1] != "clear"]

    def clears(self) -> list[float]:
        return [at for at, what in self.log if what == "clear"]


def reraise_failure_unless(task: asyncio.Task, expected: type) -> None:
    """Like reraise_failure, but an `expected` exception is left for the test to judge."""
    if task.done() and not task.cancelled() and task.exception() is not None:
        if not isinstance(task.exception(), expected):
            task.result()


def reraise_failure(task: asyncio.Task) -> None:
    """If the learner's task failed with an exception, raise it here (the stub's
    NotImplementedError included), so the test reports it."""
    if task.done() and not task.cancelled() and task.exception() is not None:
        task.result()


async def cancel_spinner(task: asyncio.Task, terminal: Terminal) -> None:
    """Cancel a running spinner and wait until it ends; fail clearly if it keeps going."""
    reraise_failure(task)
    if task.done():
        pytest.fail(
            "The spinner stopped by itself after showing "
            f"{checks.count(terminal.frames_shown, 'frame')}, "
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
        "The spinner was cancelled but it kept on spinning (it showed frames after the "
        "cancel). Likely: it caught asyncio.CancelledError and carried on (an `except "
        "asyncio.CancelledError:` or `except BaseException:` inside the loop, or a loop "
        "around the try). A cancelled task must stop: put the cleanup in `finally:` and let "
        "the CancelledError propagate (or re-raise it with a bare `raise`).",
        pytrace=False,
    )


async def spin_for(seconds: float, terminal: Terminal, **kwargs: float) -> asyncio.Task:
    """Run the learner's spinner as a task for `seconds`, then cancel it and wait for it."""
    task = asyncio.create_task(cancellation.spinner(terminal, **kwargs))
    terminal.task = task
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
            "The spinner task was cancelled, but it ended "
            + (
                f"with {task.exception()!r}"
                if task.exception() is not None
                else "normally (it returned)"
            )
            + " instead of ending cancelled (task.cancelled() is False). Likely: it caught "
            "asyncio.CancelledError and returned (or raised something else), or a `return` in "
            "`finally:` ended the CancelledError there. Whoever cancels a task must be able to "
            "see that it stopped because of it. Do the cleanup in `finally:`, or re-raise the "
            "CancelledError with `raise`.",
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
            if got[0] < 0.35
            else "Clear the line as the CancelledError goes by, not later."
        ),
    )
    if terminal.late_clears:
        pytest.fail(
            "terminal.clear() ran at 0.35 s, but only after the spinner task had already ended "
            "(the task was done when clear() was called). Whoever awaits the spinner sees it "
            "finished with the line not yet cleared. Likely: the clear was scheduled (with "
            "loop.call_soon(), call_later() or a new task) instead of called directly in "
            "`finally:`.",
            pytrace=False,
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
    terminal.task = task
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
        if terminal.late_clears:
            pytest.fail(
                "terminal.clear() ran only after the spinner task had already ended with the "
                "terminal's OSError. Likely: the clear was scheduled (loop.call_soon(), "
                "call_later() or a new task) instead of called directly in `finally:`.",
                pytrace=False,
            )
    finally:
        await settle(task)


@pytest.mark.task(1)
async def test_an_interval_of_zero_spins_without_waiting():
    terminal = Terminal()
    task = asyncio.create_task(cancellation.spinner(terminal, interval=0))
    terminal.task = task
    try:
        for _ in range(12):
            await asyncio.sleep(0)
        await cancel_spinner(task, terminal)
    finally:
        await settle(task)
    frames = terminal.frames()
    if len(frames) < 3 or any(at != 0 for at, _ in frames):
        pytest.fail(
            f"spinner(interval=0) showed {frames!r} as (loop time, frame) while the loop turned "
            "12 times without the clock moving: expected a new frame each turn, all at 0 s. "
            + (
                "Your frames came later"
                if any(at != 0 for at, _ in frames)
                else f"Only {checks.count(len(frames), 'frame')} came while the clock stood still"
            )
            + ": an interval of 0 is a legal interval (sleep(0) just lets the others run "
            "once), not a missing one. Likely: it was replaced with a default (`interval or "
            "0.1`, `if not interval:`), or the spinner waits some other way between frames.",
            pytrace=False,
        )


@pytest.mark.task(1)
@pytest.mark.loop_limit(100_000)
async def test_a_very_long_interval_is_waited_out():
    terminal = Terminal()
    await spin_for(35_000, terminal, interval=10_000)
    checks.equal(
        terminal.frames(),
        [(0.0, "|"), (10_000.0, "/"), (20_000.0, "-"), (30_000.0, "\\")],
        "Frames shown as (loop time, frame) by spinner(interval=10000) cancelled at 35,000 s",
        "Sleep exactly `interval` between frames, however long it is.",
    )
    checks.equal(terminal.clears(), [35_000.0], "Loop times of terminal.clear()")


@pytest.mark.task(1)
async def test_every_spinner_starts_at_the_first_frame_and_keeps_its_own_count():
    first, second = Terminal(), Terminal()
    one = asyncio.create_task(cancellation.spinner(first, interval=1))
    first.task = one
    try:
        await asyncio.sleep(1.25)
        two = asyncio.create_task(cancellation.spinner(second, interval=1))
        second.task = two
        try:
            await asyncio.sleep(2.25)
            await cancel_spinner(one, first)
            await cancel_spinner(two, second)
        finally:
            await settle(two)
    finally:
        await settle(one)
    shown = (
        "".join(frame for _, frame in first.frames()),
        "".join(frame for _, frame in second.frames()),
    )
    checks.equal(
        shown,
        ("|/-\\", "|/-"),
        "(frames of a spinner running 0-3.5 s, frames of a second one running 1.25-3.5 s), "
        "interval=1",
        lambda got: (
            "The second spinner did not start at '|': the frames seem to continue where the "
            "first spinner was. Keep the position in the cycle in a local variable (or make "
            "the itertools.cycle inside the function), never at module level."
            if got[1][:1] != "|"
            else ""
        ),
    )


@pytest.mark.task(1)
@pytest.mark.wall_limit(5)  # 10,001 loop turns: about 0.3 s, more on a loaded machine
async def test_the_spinner_never_stops_by_itself():
    terminal = Terminal()
    enough = asyncio.Event()
    show = terminal.show

    def counting_show(frame: str) -> None:
        show(frame)
        if terminal.frames_shown >= FRAMES_WANTED:
            enough.set()

    terminal.show = counting_show  # type: ignore[method-assign]
    task = asyncio.create_task(cancellation.spinner(terminal, interval=0))
    terminal.task = task
    waiting = asyncio.create_task(enough.wait())
    try:
        # Only the spinner runs until it has shown enough frames (or stopped by itself).
        await asyncio.wait([task, waiting], return_when=asyncio.FIRST_COMPLETED)
        reraise_failure(task)
        if task.done():
            pytest.fail(
                f"spinner(interval=0) stopped by itself after {terminal.frames_shown} frames, "
                "before anyone cancelled it. A spinner spins until it is cancelled, however "
                "long that takes: loop forever (`while True:` or `for frame in "
                "itertools.cycle(FRAMES):`), not a fixed number of frames or seconds.",
                pytrace=False,
            )
        await cancel_spinner(task, terminal)
    finally:
        await settle(task, waiting)
    checks.equal(terminal.clears(), [0.0], "Loop times of terminal.clear()")


FRAMES_WANTED = 10_001  # more frames than a "long enough" loop of range(10_000) allows


@pytest.mark.task(1)
@pytest.mark.loop_limit(2_000_000)
async def test_a_spinner_spins_for_days_if_need_be():
    terminal = Terminal()
    await spin_for(1_000_000 + 5_000, terminal, interval=10_000)
    checks.equal(
        (terminal.frames_shown, terminal.clears()),
        (101, [1_005_000.0]),
        "(frames shown, loop times of terminal.clear()) by spinner(interval=10000) cancelled "
        "after 1,005,000 s (11.6 days)",
        "A spinner spins until it is cancelled, however long that takes: no time limit or "
        "frame limit of your own.",
    )


@pytest.mark.task(1)
@scenarios.given(
    interval=st.sampled_from([0.1, 0.25, 1, 3]),
    cancel_at=st.sampled_from([0.05, 0.35, 1.2, 5.5, 13]),
    fail_on=st.sampled_from([None, 1, 2, 6]),
)
async def test_spinner_in_any_scenario(interval, cancel_at, fail_on):
    loop = asyncio.get_running_loop()
    # frame i is due at i * interval; a cancel exactly then is not a scenario
    assume(round(cancel_at / interval, 6) % 1 != 0)
    scenario = (
        f"with interval={interval:g}"
        + (f", a terminal whose frame {fail_on} raises OSError" if fail_on else "")
        + f", cancelled at {cancel_at:g} s"
    )
    scenarios.describe(scenario)
    terminal = Terminal(fail_on_frame=fail_on)
    t0 = loop.time()
    task = asyncio.create_task(cancellation.spinner(terminal, interval))
    terminal.task = task
    ended: list[float] = []
    task.add_done_callback(lambda _: ended.append(round(loop.time() - t0, 6)))
    try:
        await asyncio.sleep(cancel_at)
        reraise_failure_unless(task, OSError)
        if not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=1)
        if not task.done():
            terminal.unplugged = True
            await asyncio.wait([task], timeout=1)
            pytest.fail(
                f"{scenario}, the spinner kept on spinning after its cancel.", pytrace=False
            )
    finally:
        await settle(task)
    shown = int(cancel_at // interval) + 1  # frames due up to the cancel
    fails = fail_on is not None and fail_on <= shown
    stop = round((fail_on - 1) * interval, 6) if fails else cancel_at
    # Where in the cycle a spinner starts is another test's business (state kept between
    # spinners would make this one's verdict depend on the scenarios before it).
    got = terminal.frames()
    first = FRAMES.index(got[0][1]) if got and got[0][1] in FRAMES else 0
    expected_frames = [
        (round(i * interval, 6), FRAMES[(first + i) % 4])
        for i in range((fail_on - 1) if fails else shown)
    ]
    checks.equal(got, expected_frames, f"{scenario}, frames shown as (loop time, frame)")
    ending = (
        "cancelled"
        if task.cancelled()
        else type(task.exception()).__name__
        if task.exception() is not None
        else "returned"
    )
    checks.equal(
        (ending, ended[0], terminal.clears()),
        ("OSError" if fails else "cancelled", stop, [stop]),
        f"{scenario}, (how the spinner ended, when, loop times of terminal.clear())",
    )
    if terminal.late_clears:
        pytest.fail(
            f"{scenario}, terminal.clear() ran after the spinner task had already ended: call "
            "it directly in `finally:`, not scheduled with call_soon() or a new task.",
            pytrace=False,
        )


def _error(task: asyncio.Task) -> BaseException | None:
    if not task.done() or task.cancelled():
        return None
    return task.exception()


# Task 2: run_with_spinner


class FakeSpinner:
    """`spin()` for run_with_spinner: spins until cancelled, then takes CLEANUP s to clean up
    (an odd length, so that code polling for its end on a grid of 0.1 s or 0.25 s is late)."""

    CLEANUP = 0.5037

    def __init__(self, frame_every: float = 0.25) -> None:
        self.frame_every = frame_every
        self.calls = 0
        self.task: asyncio.Task | None = None
        self.started_at: float | None = None
        self.frames = 0
        self.stopped_at: float | None = None  # when the CancelledError (or error) arrived
        self.cleaned_at: float | None = None
        self.interrupted_at: float | None = None  # when a second cancel cut the cleanup short
        self.at_return: tuple = ()  # snapshot() taken the moment run_with_spinner() returned

    async def __call__(self) -> None:
        self.calls += 1
        self.task = asyncio.current_task()
        self.started_at = now()
        try:
            while True:
                self.frames += 1
                await asyncio.sleep(self.frame_every)
        finally:
            self.stopped_at = now()
            try:
                await asyncio.sleep(self.CLEANUP)  # restoring the cursor takes a moment
            except asyncio.CancelledError:
                self.interrupted_at = now()
                raise
            self.cleaned_at = now()


class FakeJob:
    """`job()`: works for `seconds`, then returns `result` or raises `error`."""

    def __init__(self, seconds: float, result: str = "report", error: Exception | None = None):
        self.seconds, self.result, self.error = seconds, result, error
        self.calls = 0
        self.cancelled_at: float | None = None
        self.ended_at: float | None = None

    async def __call__(self) -> str:
        self.calls += 1
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled_at = now()
            raise
        self.ended_at = now()
        if self.error is not None:
            raise self.error
        return self.result


NEVER_RETURNED = (
    "run_with_spinner() never returned, although the job finished after {job:g} s. The spinner "
    "never stops by itself: awaiting spin() (or gathering it with the job) waits forever. Start "
    "it with asyncio.create_task(spin()), await job(), then cancel the spinner task."
)


class LearnerTimeout(Exception):
    """A TimeoutError raised by run_with_spinner() itself, kept apart from the test's own."""


async def call_run_with_spinner(job: FakeJob, spin: FakeSpinner) -> str:
    start = now()

    async def observed() -> str:
        try:
            result = await cancellation.run_with_spinner(job, spin)
        except TimeoutError as exc:
            raise LearnerTimeout() from exc
        spin.at_return = snapshot(spin)
        returned_at.append(now())
        return result

    returned_at: list[float] = []

    try:
        result = await checks.within(
            job.seconds + spin.CLEANUP + 100, observed(), NEVER_RETURNED.format(job=job.seconds)
        )
    except LearnerTimeout:
        await settle(*[t for t in [spin.task] if t])
        pytest.fail(
            f"run_with_spinner() raised TimeoutError after {now() - start:g} s, though the job "
            f"takes {job.seconds:g} s and nothing in the test has a time limit. Likely: a "
            "timeout of your own (a wait_for(job(), ...) 'to be safe'). Wait for the job as "
            "long as it takes.",
            pytrace=False,
        )
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
    if (
        spin.stopped_at is not None
        and job.ended_at is not None
        and spin.stopped_at < job.ended_at - 1e-6
    ):
        pytest.fail(
            f"The spinner was stopped at {spin.stopped_at:g} s, before its job ended (at "
            f"{job.ended_at:g} s): something stopped it early. Likely: a spinner task shared "
            "between calls (kept at module level or on the function), so another call's "
            "cleanup cancelled this one; keep each call's spinner task in a local variable.",
            pytrace=False,
        )
    if spin.cleaned_at is not None and returned_at and returned_at[0] > spin.cleaned_at + 1e-6:
        pytest.fail(
            f"run_with_spinner() returned {returned_at[0] - spin.cleaned_at:g} s after the "
            "spinner task had ended: it noticed the end late. Likely: it polled (a loop with "
            "asyncio.sleep() checking spinner_task.done()) instead of awaiting the task, which "
            "wakes you the moment it ends.",
            pytrace=False,
        )
    return result


def check_spinner_stopped(spin: "FakeSpinner", when: str, snapshot: tuple) -> None:
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
            "it was itself cancelled"
            + (
                f" {spin.interrupted_at - spin.stopped_at:g} s into its {spin.CLEANUP:g} s cleanup"
                if spin.interrupted_at is not None and spin.stopped_at is not None
                else ""
            )
            + ". Likely: a second cancel(), or a timeout (wait_for) on the spinner task. Cancel "
            "the spinner once, then wait for it as long as it takes: a plain `await` (or "
            "`asyncio.wait([task])`), with no timeout and no second cancel().",
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
            if got >= 2.0
            else "Start the spinner at once, as a task, before you await the job."
        ),
    )
    checks.equal(spin.calls, 1, "Calls to spin()", "Call spin() once: one spinner per job.")
    if spin.frames < 4:
        pytest.fail(
            f"The spinner showed only {checks.count(spin.frames, 'frame')} during a 2 s job: it "
            "should have "
            "spun the whole time the job ran.",
            pytrace=False,
        )


@pytest.mark.task(2)
async def test_spinner_is_cancelled_and_cleaned_up_before_returning(looptime):
    job, spin = FakeJob(2), FakeSpinner()
    await call_run_with_spinner(job, spin)
    check_spinner_stopped(spin, "When run_with_spinner() returned", spin.at_return)
    checks.equal(
        spin.stopped_at,
        2.0,
        "Loop time at which the spinner was stopped (the job ended at 2 s)",
        "Cancel the spinner as soon as the job is over, not later.",
    )
    checks.took(
        looptime,
        2 + FakeSpinner.CLEANUP,
        f"run_with_spinner() with a 2 s job and a spinner that takes {FakeSpinner.CLEANUP:g} s "
        "to clean up",
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
    ended_at: list[float] = []
    outer.add_done_callback(lambda _: ended_at.append(now()))
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
        checks.equal(
            (spin.stopped_at, ended_at[0] if ended_at else None),
            (1.0, round(1 + FakeSpinner.CLEANUP, 6)),
            "(loop time the spinner was stopped, loop time the cancelled run_with_spinner() "
            f"ended), cancelled at 1 s with a {FakeSpinner.CLEANUP:g} s spinner cleanup",
            "When you are cancelled, stop the spinner at once and end as soon as its cleanup "
            "is over.",
        )
    finally:
        await settle(*[t for t in [outer, spin.task] if t])


@pytest.mark.task(2)
async def test_a_cancel_while_the_spinner_cleans_up_still_reaches_the_caller():
    job, spin = FakeJob(1), FakeSpinner()
    outer = asyncio.create_task(cancellation.run_with_spinner(job, spin))
    try:
        await asyncio.sleep(1.25)  # the job is done; the spinner is cleaning up
        reraise_failure(outer)
        if outer.done():
            pytest.fail(
                "run_with_spinner() had already returned 0.25 s after the job ended, though the "
                f"spinner takes {FakeSpinner.CLEANUP:g} s to clean up: wait for it.",
                pytrace=False,
            )
        outer.cancel()
        await asyncio.wait([outer], timeout=10)
        reraise_failure(outer)
        if not outer.cancelled():
            pytest.fail(
                "run_with_spinner() was cancelled by its caller at 1.25 s, while it waited for "
                "the spinner to clean up, but it "
                + ("never ended." if not outer.done() else f"returned {outer.result()!r}.")
                + " That CancelledError was meant for run_with_spinner() itself, not the "
                "spinner, and something caught it. Likely: a blanket "
                "`contextlib.suppress(asyncio.CancelledError)` (or `except "
                "asyncio.CancelledError: pass`) around `await spinner_task`. Re-raise when "
                "`asyncio.current_task().cancelling()` is not 0, or wait with "
                "`await asyncio.wait([spinner_task])`, which never raises the spinner's own "
                "CancelledError.",
                pytrace=False,
            )
    finally:
        await settle(*[t for t in [outer, spin.task] if t])


@pytest.mark.task(2)
async def test_a_slow_spinner_cleanup_is_waited_for_to_its_end():
    job, spin = FakeJob(1), FakeSpinner()
    spin.CLEANUP = 300.25  # this spinner takes five minutes to restore the terminal
    start = now()
    await call_run_with_spinner(job, spin)
    check_spinner_stopped(spin, "When run_with_spinner() returned", spin.at_return)
    checks.equal(
        now() - start,
        301.25,
        "Loop time at which run_with_spinner() returned (a 1 s job, a 300.25 s spinner cleanup)",
    )


@pytest.mark.task(2)
async def test_whatever_the_job_returns_is_returned_as_it_is():
    report = ["page 1", "page 2"]
    for value in (0, None, "", report):
        job, spin = FakeJob(1, result=value), FakeSpinner()
        result = await call_run_with_spinner(job, spin)
        if result is not value:
            pytest.fail(
                f"The job returned {value!r} but run_with_spinner() returned {result!r}: return "
                "the job's result itself, whatever it is"
                + (
                    ", with no truth test on it (a falsy result is still the result)."
                    if not value
                    else "."
                ),
                pytrace=False,
            )


@pytest.mark.task(2)
@pytest.mark.loop_limit(200_000)
async def test_a_very_long_job_keeps_the_spinner_going_to_its_end():
    # Longer than a day (a limit "to be safe" of an hour or a day fails), in few frames.
    job, spin = FakeJob(100_000, result="done"), FakeSpinner(frame_every=10_000)
    start = now()
    result = await call_run_with_spinner(job, spin)
    checks.equal(
        (result, spin.stopped_at - start if spin.stopped_at is not None else None),
        ("done", 100_000.0),
        "(result, loop time the spinner was stopped) of run_with_spinner() with a 100,000 s job",
        "Wait for the job as long as it takes: no timeout of your own on the job or the spinner.",
    )
    check_spinner_stopped(spin, "When run_with_spinner() returned", spin.at_return)


@pytest.mark.task(2)
async def test_two_jobs_at_once_each_stop_their_own_spinner():
    short, long = (FakeJob(1, result="short"), FakeSpinner()), (FakeJob(3, "long"), FakeSpinner())
    results = await asyncio.gather(
        call_run_with_spinner(*short), call_run_with_spinner(*long), return_exceptions=True
    )
    for outcome in results:
        if isinstance(outcome, BaseException):
            raise outcome
    checks.equal(
        (results, short[1].stopped_at, long[1].stopped_at),
        (["short", "long"], 1.0, 3.0),
        "(results, loop time the first spinner was stopped, loop time the second one was) of "
        "run_with_spinner() with a 1 s job and a 3 s job at once",
        "Each call has its own spinner task: keep it in a local variable, not at module level "
        "or on the function, so one call never stops (or waits for) another's spinner.",
    )


# Task 3: cancel_and_wait


class Victim:
    """A task's body that works for 100 s; on cancellation it cleans up (taking `cleanup`
    seconds, maybe failing) and re-raises, or, if `stubborn`, returns instead."""

    def __init__(
        self, cleanup: float = 0, stubborn: bool = False, cleanup_error: Exception | None = None
    ):
        self.cleanup, self.stubborn, self.cleanup_error = cleanup, stubborn, cleanup_error
        self.log: list[tuple[str, float]] = []
        self.interrupted_at: float | None = None  # a second CancelledError during the cleanup

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
                try:
                    await asyncio.sleep(self.cleanup)
                except asyncio.CancelledError:
                    self.interrupted_at = now()
                    raise
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


def check_bool(result: object) -> None:
    if not isinstance(result, bool):
        pytest.fail(
            f"cancel_and_wait() returned {result!r}, a {type(result).__name__}, not a bool: "
            "return task.cancelled() (called, with the brackets), which is True or False.",
            pytrace=False,
        )


@pytest.mark.task(3)
async def test_cancel_and_wait_returns_true_once_the_task_is_cancelled():
    victim = Victim()
    task = await started(victim)
    try:
        result = await call_cancel_and_wait(task)
        check_bool(result)
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
    victim = Victim(cleanup=2.0037)  # an odd length: polling on a 0.1 s grid is late
    task = await started(victim)
    try:
        await call_cancel_and_wait(task)
        returned_at = now()
        checks.equal(
            (victim.log, returned_at),
            ([("cancelled", 1.0), ("cleaned up", 3.0037)], 3.0037),
            "(what the task did, when cancel_and_wait() returned) for a task whose cleanup "
            "takes 2.0037 s, cancelled at 1 s",
            lambda got: (
                f"The task's cleanup was itself cancelled at {victim.interrupted_at:g} s, before "
                "it was over: the task was cancelled a second time (another cancel(), or a "
                "wait_for() timeout on it). Cancel it once, then wait as long as it takes."
                if victim.interrupted_at is not None
                else "cancel_and_wait() returned before the task had finished cleaning up. "
                "task.cancel() only asks: the CancelledError arrives at the task's next await "
                "and its `finally:` may itself await. Wait for the task to end: `await task`."
                if got[1] < 3.0037
                else f"You returned {got[1] - 3.0037:g} s after the task had ended: you noticed "
                "its end late. Likely: polling (a loop with asyncio.sleep() checking "
                "task.done()) instead of awaiting the task, which wakes you the moment it ends."
                if got[0][-1:] == [("cleaned up", 3.0037)]
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
    check_bool(result)
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


@pytest.mark.task(3)
async def test_cancel_and_wait_waits_for_a_very_long_cleanup():
    victim = Victim(cleanup=400)
    task = await started(victim)
    start = now()
    try:
        result = await call_cancel_and_wait(task)
        checks.equal(
            (result, now() - start, victim.log[-1:]),
            (True, 400.0, [("cleaned up", start + 400)]),
            "(result, loop time, the task's last step) of cancel_and_wait() for a task whose "
            "cleanup takes 400 s",
            lambda got: (
                "The task's cleanup was cancelled "
                f"{victim.interrupted_at - start:g} s after you were called: a timeout of your "
                "own (a wait_for(task, ...) 'to be safe') or a second cancel() cut it short. "
                "Wait for the task however long it takes."
                if victim.interrupted_at is not None
                else ""
            ),
        )
    finally:
        await settle(task)


@pytest.mark.task(3)
async def test_cancel_and_wait_cancels_the_task_only_once():
    victim = Victim(cleanup=1)
    task = await started(victim)
    try:
        await call_cancel_and_wait(task)
        checks.equal(
            (
                [what for what, _ in victim.log],
                None if victim.interrupted_at is None else round(victim.interrupted_at, 6),
            ),
            (["cancelled", "cleaned up"], None),
            "(what the task did, loop time its cleanup got a second CancelledError) after "
            "cancel_and_wait() at 1 s, for a task whose cleanup takes 1 s",
            "Its cleanup got a second CancelledError: the task was cancelled again while it "
            "was cleaning up. Call task.cancel() once, then only wait.",
        )
    finally:
        await settle(task)


@pytest.mark.task(3)
@scenarios.given(
    behaviour=st.sampled_from(
        ["stops", "refuses", "fails in cleanup", "already done", "already failed"]
    ),
    cleanup=st.sampled_from([0, 0.5, 3]),
    cancel_caller_at=st.sampled_from([None, 0.25]),
)
async def test_cancel_and_wait_in_any_scenario(behaviour, cleanup, cancel_caller_at):
    loop = asyncio.get_running_loop()
    waiting = behaviour not in ("already done", "already failed") and cleanup > 0
    if cancel_caller_at is not None and not waiting:
        cancel_caller_at = None  # nothing to wait for: the caller's cancel has no moment
    scenario = (
        f"with a task that {behaviour}"
        + (
            f" (cleanup {cleanup:g} s)"
            if behaviour not in ("already done", "already failed")
            else ""
        )
        + (
            f", and your own caller cancelling you at {cancel_caller_at:g} s"
            if cancel_caller_at is not None
            else ""
        )
    )
    scenarios.describe(scenario)
    broken = OSError("cleanup failed")
    if behaviour == "already done":
        task = asyncio.create_task(asyncio.sleep(0.5, result=None))
        await asyncio.sleep(1)
    elif behaviour == "already failed":

        async def fails() -> None:
            await asyncio.sleep(0.5)
            raise broken

        task = asyncio.create_task(fails())
        await asyncio.sleep(1)
    else:
        victim = Victim(
            cleanup=cleanup,
            stubborn=behaviour == "refuses",
            cleanup_error=broken if behaviour == "fails in cleanup" else None,
        )
        task = await started(victim)
    t0 = loop.time()
    caller = asyncio.create_task(cancellation.cancel_and_wait(task))
    if cancel_caller_at is not None:
        loop.call_at(t0 + cancel_caller_at, caller.cancel)
    ends: dict[str, float] = {}
    if not task.done():
        task.add_done_callback(lambda _: ends.setdefault("task", round(loop.time() - t0, 6)))
    caller.add_done_callback(lambda _: ends.setdefault("you", round(loop.time() - t0, 6)))
    try:
        await asyncio.wait([caller], timeout=100)
        reraise_failure_unless(caller, OSError)
        if not caller.done():
            pytest.fail(f"{scenario}, cancel_and_wait() never ended.", pytrace=False)
        if caller.cancelled():
            got = "it ended cancelled"
        elif caller.exception() is not None:
            got = f"it raised {caller.exception()!r}"
        else:
            got = f"it returned {caller.result()!r}"
        if cancel_caller_at is not None:
            expected, ok = "to end cancelled", caller.cancelled()
        elif behaviour in ("fails in cleanup", "already failed"):
            expected = "to raise the task's OSError"
            ok = not caller.cancelled() and caller.exception() is broken
        else:
            value = behaviour == "stops"
            expected = f"to return {value!r}"
            ok = not caller.cancelled() and caller.exception() is None and caller.result() is value
        if not ok:
            pytest.fail(f"{scenario}, expected you {expected}, but {got}.", pytrace=False)
        if cancel_caller_at is None and not task.done():
            pytest.fail(
                f"{scenario}, cancel_and_wait() ended while the task was still running: wait "
                "until it has ended.",
                pytrace=False,
            )
        # (cancelled itself, it may end at once or once the task is over: both are fine)
        expected_end = ends.get("task", 0.0)
        if cancel_caller_at is None and abs(ends["you"] - expected_end) > 1e-6:
            pytest.fail(
                f"{scenario}, cancel_and_wait() ended at {ends['you']:g} s, expected at "
                f"{expected_end:g} s, when the task ended. Likely: polling for the task's end "
                "instead of awaiting it, or waiting longer than needed.",
                pytrace=False,
            )
    finally:
        await settle(caller, task)
