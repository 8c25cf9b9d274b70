"""Exercise 04 tests. Run them with `pytest exercises/04`."""

import asyncio
import inspect
import time

import pytest

from aiokata import checks, exercise_module

interleaving = exercise_module(__file__)


async def together(*awaitables) -> None:
    """Run everything at once and wait for all of it; then raise the first error, if any
    (no task is left running behind a failure)."""
    if not all(inspect.isawaitable(a) for a in awaitables):
        for a in awaitables:
            if inspect.iscoroutine(a):
                a.close()
        pytest.fail(
            "worker() did not return a coroutine: write it as `async def worker(...)`, so "
            "that several workers can run together on the loop.",
            pytrace=False,
        )
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def ticker(log: list[str], ticks: int) -> None:
    """The test's own well-behaved coroutine: logs "tick", then hands over, `ticks` times."""
    for _ in range(ticks):
        log.append("tick")
        await asyncio.sleep(0)


def started_order(durations: dict[str, float], got: object) -> list[str]:
    """The order in which the learner's run started the jobs, when it started each job once
    (any order is fine: asyncio.as_completed, for one, starts them in no particular order);
    otherwise the order of `durations`."""
    names = [
        str(entry)[len("start ") :]
        for entry in (got if isinstance(got, list) else [])
        if str(entry).startswith("start ")
    ]
    return names if sorted(names) == sorted(durations) else list(durations)


def ended_order(durations: dict[str, float], got: object, started: list[str]) -> list[str]:
    """The order in which the jobs must end: shortest first. Jobs of equal duration end at the
    same moment, in an order asyncio leaves undefined: keep the learner's own order for them."""
    names = [
        str(entry)[len("end ") :]
        for entry in (got if isinstance(got, list) else [])
        if str(entry).startswith("end ")
    ]
    return sorted(names if sorted(names) == sorted(durations) else started, key=durations.get)


def at_once_log(durations: dict[str, float], got: object) -> list[str]:
    """The log run_at_once() must produce: every start, then every end, shortest job first."""
    started = started_order(durations, got)
    ended = ended_order(durations, got, started)
    return [f"start {name}" for name in started] + [f"end {name}" for name in ended]


def blocked_log(durations: dict[str, float], got: object) -> list[str]:
    """The log of jobs whose sleep blocks: each runs from start to end before the next."""
    return [
        line
        for name in started_order(durations, got)
        for line in (f"start {name}", f"(blocked {durations[name]:g})", f"end {name}")
    ]


def one_after_another(got: object) -> bool:
    """True when the log shows each job ending before the next started: what run_at_once()
    must NOT produce."""
    if not isinstance(got, list) or len(got) < 4 or len(got) % 2:
        return False
    pairs = zip(got[::2], got[1::2], strict=True)
    return all(
        str(start).startswith("start ") and str(end) == "end " + str(start)[len("start ") :]
        for start, end in pairs
    )


def no_turns(got: object, *workers: tuple[str, int]) -> bool:
    """True when each worker logged all its steps in one go (it never handed over)."""
    return got == [f"{name}{i}" for name, steps in workers for i in range(1, steps + 1)]


def worker_likely(*workers: tuple[str, int]):
    """Explain a wrong log of workers run together."""

    def likely(got: object) -> str:
        if no_turns(got, *workers):
            return NEVER_HANDED_OVER
        if isinstance(got, list) and any(str(entry).endswith("0") for entry in got):
            return "Steps are numbered from 1: worker('a', 2, log) logs 'a1' then 'a2'."
        return ""

    return likely


NEVER_HANDED_OVER = (
    "Each worker ran all its steps before the other got a turn: a coroutine keeps the loop "
    "until it reaches an `await` that waits. After logging a step, `await asyncio.sleep(0)` "
    "to hand over."
)


def must_await(result: object, name: str) -> object:
    """The learner's call result, which must be awaitable: it is an async function."""
    if not inspect.isawaitable(result):
        pytest.fail(
            f"{name}() returned {result!r} instead of something to await: write it as "
            f"`async def {name}(...)`.",
            pytrace=False,
        )
    return result


async def call_run_at_once(*args) -> None:
    await must_await(interleaving.run_at_once(*args), "run_at_once")


# Task 1: worker


@pytest.mark.task(1)
async def test_two_workers_take_turns():
    log: list[str] = []
    await together(interleaving.worker("a", 3, log), interleaving.worker("b", 3, log))
    checks.equal(
        log,
        ["a1", "b1", "a2", "b2", "a3", "b3"],
        "Log of worker('a', 3) and worker('b', 3) run together",
        worker_likely(("a", 3), ("b", 3)),
    )


@pytest.mark.task(1)
async def test_a_worker_with_more_steps_carries_on_alone():
    log: list[str] = []
    await together(interleaving.worker("a", 3, log), interleaving.worker("b", 1, log))
    checks.equal(
        log,
        ["a1", "b1", "a2", "a3"],
        "Log of worker('a', 3) and worker('b', 1) run together",
        worker_likely(("a", 3), ("b", 1)),
    )


@pytest.mark.task(1)
async def test_a_worker_logs_its_first_step_as_soon_as_it_runs():
    log: list[str] = []
    task = asyncio.create_task(interleaving.worker("a", 2, log))
    await asyncio.sleep(0)  # the worker's task gets exactly one turn
    first_turn = list(log)
    await task
    checks.equal(
        first_turn,
        ["a1"],
        "Log after the worker's first turn on the loop",
        lambda got: (
            "Nothing was logged in the worker's first turn: it handed over before logging. "
            "Log the step first, then `await asyncio.sleep(0)`."
            if got == []
            else "The worker did more than one step in its first turn: hand over after every step."
            if len(got) > 1
            else ""
        ),
    )
    checks.equal(log, ["a1", "a2"], "The worker's whole log")


@pytest.mark.task(1)
async def test_a_worker_hands_over_once_after_each_step():
    log: list[str] = []
    await together(interleaving.worker("a", 2, log), ticker(log, 3))
    checks.equal(
        log,
        ["a1", "tick", "a2", "tick", "tick"],
        "Log of worker('a', 2) beside a ticker that logs 'tick' and hands over each turn",
        lambda got: (
            "The worker never handed over: after each step, `await asyncio.sleep(0)`."
            if got == ["a1", "a2", "tick", "tick", "tick"]
            else "The ticker got two turns between your steps: hand over once per step "
            "(one `await asyncio.sleep(0)`), not more."
            if got == ["a1", "tick", "tick", "a2", "tick"]
            else "The ticker ran before your first step: log first, then hand over."
            if got[:1] == ["tick"]
            else "The ticker finished while your worker waited between steps: "
            "asyncio.sleep(0) hands over without waiting any time."
            if got == ["a1", "tick", "tick", "tick", "a2"]
            else ""
        ),
    )


@pytest.mark.task(1)
async def test_workers_take_no_loop_time(looptime):
    log: list[str] = []
    await together(interleaving.worker("a", 3, log), interleaving.worker("b", 3, log))
    checks.took(
        looptime,
        0,
        "Two workers of 3 steps",
        {
            0.3: "That is 3 x 0.1 s: asyncio.sleep(0) is enough to hand over; it does not wait.",
            3: "That is 3 x 1 s: asyncio.sleep(0) is enough to hand over; it does not wait.",
        },
    )


# Task 2: launch


STARTED_TWICE = (
    "The job started more than once: call job() once, and make a task of that one coroutine; "
    "return that same task."
)


def gated_job(log: list[str], gate: asyncio.Event, result: str = "done"):
    """A job that logs its start, waits for the test to open `gate`, then finishes."""

    async def job() -> str:
        log.append("job started")
        await gate.wait()
        log.append("job finished")
        return result

    return job


async def call_launch(job) -> object:
    try:
        return await must_await(interleaving.launch(job), "launch")
    except TypeError as exc:
        if not any(
            words in str(exc)
            for words in ("coroutine was expected", "a coroutine or an awaitable is required")
        ):
            raise
    pytest.fail(
        "launch() passed the function `job` itself to create_task (or ensure_future), which "
        "needs a coroutine object: call the function first, asyncio.create_task(job()).",
        pytrace=False,
    )


async def launched(job) -> asyncio.Task:
    task = await checks.within(
        10,
        call_launch(job),
        "launch() did not return while the job was still running: it waited for the job to "
        "finish. Return the task as soon as the job has started; do not await the task.",
    )
    if asyncio.iscoroutine(task):
        task.close()
        pytest.fail(
            "launch() returned a coroutine object: nothing in it runs until it is awaited or "
            "made a task. Wrap it: asyncio.create_task(job()).",
            pytrace=False,
        )
    if not isinstance(task, asyncio.Task):
        pytest.fail(
            f"launch() returned {task!r}, not the job's task. Return what "
            "asyncio.create_task(job()) gave you.",
            pytrace=False,
        )
    return task


@pytest.mark.task(2)
async def test_launch_returns_once_the_job_has_started():
    log: list[str] = []
    gate = asyncio.Event()
    task = await launched(gated_job(log, gate))
    started = list(log)
    gate.set()
    result = await task
    checks.equal(
        started,
        ["job started"],
        "Log when launch() returned",
        lambda got: (
            "The job had not started yet: a new task does not run until the code that "
            "created it yields to the loop. asyncio.create_task() only schedules it; "
            "`await asyncio.sleep(0)` once to give it its first turn before you return."
            if got == []
            else ""
        ),
    )
    checks.equal(result, "done", "What awaiting the returned task gave", "Return job's task.")


@pytest.mark.task(2)
async def test_launch_does_not_wait_for_the_job(looptime):
    log: list[str] = []
    gate = asyncio.Event()
    task = await launched(gated_job(log, gate))
    checks.equal(task.done(), False, "Was the job already done when launch() returned?")
    gate.set()
    await task
    checks.took(looptime, 0, "launch() of a job that finishes as soon as it is let go")


@pytest.mark.task(2)
async def test_launch_takes_no_loop_time(looptime):
    log: list[str] = []

    async def job() -> None:
        log.append("job started")
        await asyncio.sleep(5)

    task = await call_launch(job)
    at_return = float(looptime)
    await task
    checks.took(
        at_return,
        0,
        "launch() (until it returned)",
        {
            0.1: "A fixed delay is a guess: one `await asyncio.sleep(0)` is exactly enough "
            "for the new task to reach its first await.",
            1: "A fixed delay is a guess: one `await asyncio.sleep(0)` is exactly enough "
            "for the new task to reach its first await.",
            5: "That is the whole job: launch() waited for it to finish.",
        },
    )
    checks.equal(
        log,
        ["job started"],
        "Job log",
        lambda got: STARTED_TWICE if isinstance(got, list) and len(got) > 1 else "",
    )


@pytest.mark.task(2)
async def test_launched_jobs_start_in_order_and_run_in_their_own_tasks():
    log: list[str] = []
    gate = asyncio.Event()
    owners: list[asyncio.Task | None] = []

    def job(name: str):
        async def run() -> str:
            owners.append(asyncio.current_task())
            log.append(f"{name} started")
            await gate.wait()
            return name

        return run

    tasks = []
    for name in ["x", "y", "z"]:
        tasks.append(await launched(job(name)))
        checks.equal(
            log[-1:],
            [f"{name} started"],
            f"Last log entry once launch() of job {name!r} returned",
            "Every launched job must have started before launch() returns: give the new "
            "task a turn with `await asyncio.sleep(0)`.",
        )
    gate.set()
    results = [await t for t in tasks]
    checks.equal(
        len(owners),
        3,
        "Number of times the three launched jobs started",
        STARTED_TWICE,
    )
    checks.equal(results, ["x", "y", "z"], "Results of the three launched tasks")
    checks.equal(
        [owner is asyncio.current_task() for owner in owners],
        [False, False, False],
        "Did any job run inside the caller's own task?",
        "Run the job as a task of its own (asyncio.create_task), not by awaiting it inline.",
    )
    checks.equal(len(set(owners)), 3, "Number of distinct tasks the three jobs ran in")


# Task 3: run_in_turn (synchronous) and run_at_once (asynchronous)

JOB_SHAPE = (
    "Each job must log its own end as soon as its own sleep is over, so the shortest job "
    "ends first: put the three steps of one job (log, await sleep, log) in one coroutine, "
    "and run one such coroutine per job."
)


def at_once_likely(durations: dict[str, float]):
    """Explain a wrong log of run_at_once()."""

    def likely(got: object) -> str:
        if one_after_another(got):
            return IN_TURN
        if not isinstance(got, list):
            return ""
        starts = sorted(f"start {name}" for name in durations)
        if sorted(got[: len(starts)]) == starts:
            if len(got) < 2 * len(durations):
                return RETURNED_EARLY
            return JOB_SHAPE
        return ""

    return likely


IN_TURN = (
    "The jobs ran one after another: awaiting each job in a loop waits for it to end before "
    "the next one starts. Start them all (asyncio.gather, or create_task for each), then wait "
    "for all of them."
)

RETURNED_EARLY = (
    "run_at_once() returned before every job had ended: wait for all of them "
    "(asyncio.gather, a TaskGroup, or await every task you created), not just the first."
)

DURATIONS = {"a": 0.02, "b": 0.01, "c": 0.03}


class FakeBlockingSleep:
    """Stands in for time.sleep in the synchronous tests: moves a fake clock, takes no time."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.now = 0.0
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.log.append(f"(slept {seconds:g})")
        self.now += seconds


def call_run_in_turn(durations: dict[str, float], log: list[str], sleep) -> None:
    result = interleaving.run_in_turn(durations, log, sleep)
    if asyncio.iscoroutine(result):
        result.close()
        pytest.fail(
            "run_in_turn() returned a coroutine: it is the synchronous version, so write it "
            "with a plain `def` and call sleep(seconds) without await.",
            pytrace=False,
        )


@pytest.mark.task(3)
def test_run_in_turn_finishes_each_job_before_the_next():
    log: list[str] = []
    sleep = FakeBlockingSleep(log)
    call_run_in_turn(DURATIONS, log, sleep)
    checks.equal(
        sleep.calls,
        [0.02, 0.01, 0.03],
        "Durations run_in_turn() passed to the sleep function it was given",
        lambda got: (
            "The sleep function you were given was never called: call `sleep(seconds)`, not "
            "time.sleep, so the caller decides how to wait."
            if got == []
            else "Sleep once per job, for that job's own duration, between its start and its "
            "end: one job after another."
            if isinstance(got, list) and len(got) != 3
            else ""
        ),
    )
    checks.equal(
        log,
        [
            "start a",
            "(slept 0.02)",
            "end a",
            "start b",
            "(slept 0.01)",
            "end b",
            "start c",
            "(slept 0.03)",
            "end c",
        ],
        "Log of run_in_turn() with jobs a (0.02 s), b (0.01 s), c (0.03 s)",
    )


@pytest.mark.task(3)
def test_run_in_turn_takes_the_sum_of_the_jobs():
    log: list[str] = []
    sleep = FakeBlockingSleep(log)
    call_run_in_turn({"x": 0.005, "y": 0.015}, log, sleep)
    checks.equal(
        round(sleep.now, 6),
        0.02,
        "Time the synchronous run of jobs of 0.005 s and 0.015 s took on the test's clock",
        lambda got: (
            "The sleep function you were given was never called: call `sleep(seconds)`."
            if got == 0
            else "One after another, the times add up: sleep once per job, for its duration."
        ),
    )


@pytest.mark.task(3)
async def test_run_at_once_starts_every_job_before_any_ends(looptime):
    log: list[str] = []
    await call_run_at_once({"a": 2, "b": 1, "c": 3}, log)
    checks.equal(
        log,
        at_once_log({"a": 2, "b": 1, "c": 3}, log),
        "Log of run_at_once() with jobs a (2 s), b (1 s), c (3 s)",
        at_once_likely({"a": 2, "b": 1, "c": 3}),
    )
    checks.took(
        looptime,
        3,
        "run_at_once() with jobs of 2, 1 and 3 s",
        {6: "That is 2 + 1 + 3: the jobs ran one after another."},
    )


@pytest.mark.task(3)
async def test_run_at_once_with_equal_jobs_ends_them_together(looptime):
    log: list[str] = []
    await call_run_at_once({"p": 1, "q": 1}, log)
    checks.equal(
        log,
        at_once_log({"p": 1, "q": 1}, log),
        "Log of run_at_once() with two 1 s jobs",
        at_once_likely({"p": 1, "q": 1}),
    )
    checks.took(looptime, 1, "run_at_once() with two 1 s jobs", {2: "They ran in turn."})


@pytest.mark.task(3)
async def test_run_at_once_awaits_the_sleep_it_is_given(looptime):
    log: list[str] = []
    asked: list[float] = []

    async def sleep(seconds: float) -> None:
        asked.append(seconds)
        await asyncio.sleep(seconds * 10)

    await call_run_at_once({"a": 0.2, "b": 0.1}, log, sleep)
    checks.equal(
        sorted(asked),
        [0.1, 0.2],
        "Durations run_at_once() passed to the sleep it was given",
        "Await `sleep(seconds)`, the function you were given, not asyncio.sleep directly.",
    )
    checks.equal(
        log,
        at_once_log({"a": 0.2, "b": 0.1}, log),
        "Log of run_at_once() with jobs a (0.2 s) and b (0.1 s)",
        at_once_likely({"a": 0.2, "b": 0.1}),
    )
    checks.took(looptime, 2, "run_at_once() with the test's sleep (10x slower)")


@pytest.mark.task(3)
@pytest.mark.allow_blocking
async def test_a_blocking_job_stalls_every_other_job(looptime):
    """Here the jobs block on purpose: each job's sleep is a blocking time.sleep(0). Even
    though run_at_once() starts them all together, no job can start until the one holding
    the loop is done: blocking code gives up all concurrency."""
    log: list[str] = []

    async def blocking_sleep(seconds: float) -> None:
        time.sleep(0)  # blocks the loop's thread (for no time at all, to keep the test fast)
        log.append(f"(blocked {seconds:g})")

    await call_run_at_once({"a": 0.002, "b": 0.001}, log, blocking_sleep)
    checks.equal(
        log,
        blocked_log({"a": 0.002, "b": 0.001}, log),
        "Log of run_at_once() when each job's sleep blocks the loop",
        lambda got: (
            "Your run_at_once() never called the sleep it was given."
            if not any(str(entry).startswith("(blocked") for entry in got)  # type: ignore[union-attr]
            else JOB_SHAPE
            if sorted(got[:2]) == ["start a", "start b"]  # type: ignore[index]
            else ""
        ),
    )
    checks.took(looptime, 0, "Jobs whose sleep blocks (a blocking call moves no loop time)")
