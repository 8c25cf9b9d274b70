"""Exercise 04 tests. Run them with `pytest exercises/04`."""

import asyncio
import inspect
import time

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios

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
        if not isinstance(got, list):
            return ""
        if no_turns(got, *workers) and sum(steps > 0 for _, steps in workers) > 1:
            return NEVER_HANDED_OVER
        for name in dict.fromkeys(n for n, _ in workers):
            top = max(steps for n, steps in workers if n == name)
            for entry in map(str, got):
                rest = entry[len(name) :] if entry.startswith(name) else ""
                if rest.isdigit() and int(rest) > top:
                    return (
                        f"{entry!r} was logged, but no worker named {name!r} has that many "
                        f"steps ({top}): something outlived an earlier call, or is shared by "
                        "workers of the same name (a counter at module level?). Each worker "
                        "counts its own steps from 1."
                    )
        if any(f"{name}0" in got for name, _ in workers):
            return "Steps are numbered from 1: worker('a', 2, log) logs 'a1' then 'a2'."
        expected = round_robin(list(workers))
        if got and len(got) < len(expected) and got == expected[len(expected) - len(got) :]:
            return (
                f"The first {len(expected) - len(got)} entries are missing: something removed "
                "entries from the log (log.clear(), slicing). Only append to `log`."
            )
        idle = [name for name, steps in workers if steps == 0]
        if len(idle) == len(workers) and got:
            return (
                "A worker of 0 steps logged a step: 0 steps means none. Likely a loop that "
                "runs its body once before checking (while True ... break at the end)."
            )
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


def round_robin(workers: list[tuple[str, int]]) -> list[str]:
    """The log of workers run together: each round, every worker with steps left logs one."""
    return [
        f"{name}{i}"
        for i in range(1, max((steps for _, steps in workers), default=0) + 1)
        for name, steps in workers
        if steps >= i
    ]


def call_worker(name: str, steps: int, log: list[str]):
    """The learner's worker(...) call, which must give a coroutine to await."""
    result = interleaving.worker(name, steps, log)
    if not inspect.iscoroutine(result):
        pytest.fail(
            f"worker() returned {type(result).__name__} ({result!r}), not a coroutine: write "
            "it as `async def worker(...)`.",
            pytrace=False,
        )
    return result


@pytest.mark.task(1)
async def test_worker_returns_a_coroutine():
    log: list[str] = []
    coroutine = call_worker("a", 2, log)
    checks.equal(log, [], "Log after calling worker() but before awaiting it")
    await coroutine
    checks.equal(log, ["a1", "a2"], "Log once the worker was awaited")


@pytest.mark.task(1)
async def test_two_workers_with_the_same_name_both_log_their_steps():
    log: list[str] = []
    await together(call_worker("a", 2, log), call_worker("a", 2, log))
    checks.equal(
        log,
        ["a1", "a1", "a2", "a2"],
        "Log of two workers both named 'a', 2 steps each, run together",
        worker_likely(("a", 2), ("a", 2)),
    )


@pytest.mark.task(1)
async def test_a_worker_of_zero_steps_logs_nothing():
    log: list[str] = []
    await together(call_worker("a", 0, log), call_worker("b", 2, log))
    checks.equal(
        log,
        ["b1", "b2"],
        "Log of worker('a', 0) and worker('b', 2) run together",
        lambda got: (
            "worker('a', 0) logged a step: 0 steps means none. Likely a loop that runs its "
            "body once before checking (while True ... break at the end)."
            if isinstance(got, list) and any(str(e).startswith("a") for e in got)
            else ""
        ),
    )
    log = []
    await call_worker("", 2, log)
    checks.equal(log, ["1", "2"], "Log of worker('', 2): an empty name is a name too")


@pytest.mark.task(1)
async def test_a_worker_only_appends_to_the_log():
    log = ["written before"]
    await together(call_worker("a", 2, log), ticker(log, 1))
    checks.equal(
        log,
        ["written before", "a1", "tick", "a2"],
        "Log that already held 'written before', after worker('a', 2) beside a ticker",
        lambda got: (
            "The worker removed entries it did not write: only append to `log`."
            if isinstance(got, list) and "written before" not in got
            else ""
        ),
    )


@pytest.mark.task(1)
async def test_a_worker_of_a_thousand_steps_does_them_all():
    log: list[str] = []
    await together(call_worker("a", 1000, log), call_worker("b", 1000, log))
    expected = round_robin([("a", 1000), ("b", 1000)])
    if log != expected:
        last = [e for e in log if str(e).startswith("a")][-1:]
        stopped = bool(last) and last[0] != "a1000" and len(log) < 2000
        pytest.fail(
            f"Two workers of 1000 steps logged {len(log)} entries, expected 2000"
            + (
                f" (worker 'a' stopped at {last[0]!r}). Every step must be done, however "
                "many: no cap on the steps."
                if stopped
                else "."
            )
            + " "
            + worker_likely(("a", 1000), ("b", 1000))(log),
            pytrace=False,
        )


@pytest.mark.task(1)
async def test_a_worker_keeps_nothing_between_calls():
    first: list[str] = []
    await call_worker("a", 2, first)
    second: list[str] = []
    await call_worker("a", 3, second)
    checks.equal(first, ["a1", "a2"], "Log of worker('a', 2)", worker_likely(("a", 2)))
    checks.equal(
        second,
        ["a1", "a2", "a3"],
        "Log of worker('a', 3) into a new log, after worker('a', 2) had run",
        lambda got: (
            "The second worker did not start from step 1: something outlived the first call "
            "(a counter or log at module level). Each call starts from nothing."
            if isinstance(got, list) and got and got[0] != "a1" and "a0" not in got
            else worker_likely(("a", 3))(got)
        ),
    )
    mine: list[str] = []
    theirs: list[str] = []
    await together(call_worker("x", 2, mine), call_worker("y", 1, theirs))
    checks.equal(
        (mine, theirs),
        (["x1", "x2"], ["y1"]),
        "Logs of worker('x', 2) and worker('y', 1), each given its own log",
        lambda got: (
            "A worker wrote into another worker's log: each writes only to the log it was given."
            if any(str(e).startswith("y") for e in mine)
            or any(str(e).startswith("x") for e in theirs)
            else ""
        ),
    )


@pytest.mark.task(1)
async def test_a_cancelled_worker_stops_at_once():
    log: list[str] = []
    task = asyncio.create_task(call_worker("a", 5, log))
    await asyncio.sleep(0)  # the worker's first turn: a1
    await asyncio.sleep(0)  # its second: a2
    at_cancel = list(log)
    task.cancel()
    await asyncio.wait([task], timeout=1)
    for _ in range(5):
        await asyncio.sleep(0)
    if not task.done():
        task.cancel()
        pytest.fail(
            "worker() was still running after it was cancelled: it caught the CancelledError "
            "and carried on. Let it reach the caller.",
            pytrace=False,
        )
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()
    checks.equal(
        log,
        ["a1", "a2"],
        "Log of worker('a', 5), cancelled after two turns",
        lambda got: (
            f"It logged {got[len(at_cancel) :]!r} after it was cancelled: a cancelled worker "
            "must stop (let the CancelledError out of the `await asyncio.sleep(0)`)."
            if at_cancel == ["a1", "a2"] and isinstance(got, list) and len(got) > 2
            else "In two turns the worker should log two steps: one step per turn, logged "
            "first, then one `await asyncio.sleep(0)`."
            if at_cancel != ["a1", "a2"]
            else ""
        ),
    )
    checks.equal(
        task.cancelled(),
        True,
        "Did the cancelled worker end cancelled?",
        "It swallowed the CancelledError (an `except` around the sleep): let it propagate.",
    )


WORKERS = st.lists(
    st.tuples(st.sampled_from(["a", "b", ""]), st.sampled_from([0, 1, 2, 3])), max_size=3
)


@pytest.mark.task(1)
@scenarios.given(workers=WORKERS)
async def test_workers_in_any_scenario(workers):
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    calls = ", ".join(f"worker({name!r}, {steps})" for name, steps in workers)
    scene = f"with {calls or 'no workers'} run together"
    scenarios.describe(scene)
    log: list[str] = []
    await together(*(call_worker(name, steps, log) for name, steps in workers))
    expected = round_robin(workers)
    if log != expected:
        likely = worker_likely(*workers)(log)
        pytest.fail(
            f"{scene}, the log was {log!r}; expected {expected!r}."
            + (f" {likely}" if likely else ""),
            pytrace=False,
        )
    checks.took(loop.time() - t0, 0, f"Workers {scene}")


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
            f"launch() returned a {type(task).__name__} ({task!r}), not an asyncio.Task: "
            "return the very task asyncio.create_task(job()) gave you.",
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


@pytest.mark.task(2)
async def test_launching_the_same_job_twice_starts_it_twice():
    log: list[str] = []
    gate = asyncio.Event()
    job = gated_job(log, gate)
    first = await launched(job)
    second = await launched(job)
    checks.equal(
        log,
        ["job started", "job started"],
        "Log after launching the same job twice",
        lambda got: (
            "The second launch() did not start the job again: each launch() calls job() and "
            "starts a task of its own; nothing may be kept from one launch to the next (a task "
            "cached by job?)."
            if got == ["job started"]
            else ""
        ),
    )
    checks.equal(first is second, False, "Did both launches return the same task?")
    gate.set()
    checks.equal([await first, await second], ["done", "done"], "What the two tasks gave")


@pytest.mark.task(2)
async def test_launched_tasks_give_back_falsy_results():
    results = []
    for value in (None, 0, "", []):

        async def job(value=value):
            await asyncio.sleep(0)
            return value

        results.append(await (await launched(job)))

    async def at_once() -> int:  # finishes in its first turn, without ever waiting
        return 0

    task = await launched(at_once)
    results.append(await task)
    checks.equal(
        results,
        [None, 0, "", [], 0],
        "What awaiting the launched tasks of jobs returning None, 0, '', [] and 0 gave",
    )


@pytest.mark.task(2)
async def test_launch_calls_the_job_function_once():
    calls: list[float] = []
    gate = asyncio.Event()

    async def waiting() -> str:
        await gate.wait()
        return "done"

    def job():
        calls.append(asyncio.get_running_loop().time())
        return waiting()

    task = await launched(job)
    gate.set()
    await task
    checks.equal(
        len(calls),
        1,
        "Times launch() called job()",
        "Call job() once: each call makes a new coroutine (a second one is never awaited, or "
        "runs the job twice).",
    )


@pytest.mark.task(2)
@pytest.mark.loop_limit(100_000)
async def test_launch_of_a_day_long_job(looptime):
    async def job() -> str:
        await asyncio.sleep(86_400)
        return "a day later"

    task = await launched(job)
    at_return = float(looptime)
    checks.equal(task.done(), False, "Was the day-long job already done when launch() returned?")
    checks.took(at_return, 0, "launch() of a day-long job (until it returned)")
    checks.equal(await task, "a day later", "What awaiting the task of a day-long job gave")
    checks.took(looptime, 86_400, "launch() and then awaiting a day-long job")


@pytest.mark.task(2)
async def test_two_launches_at_once_get_their_own_tasks():
    gate = asyncio.Event()
    owners: dict[str, asyncio.Task | None] = {}

    def job(name: str):
        async def run() -> str:
            owners[name] = asyncio.current_task()
            await gate.wait()
            return name

        return run

    tasks = await asyncio.gather(launched(job("p")), launched(job("q")))
    checks.equal(sorted(owners), ["p", "q"], "Jobs started by two launches made at once")
    checks.equal(
        [owners["p"] is tasks[0], owners["q"] is tasks[1]],
        [True, True],
        "Did each launch() return the task its own job runs in?",
        lambda got: (
            "One launch() returned the other's task: each call must return the task it "
            "created, nothing shared at module level."
            if tasks[0] is owners.get("q") or tasks[1] is owners.get("p")
            else "Return the very task asyncio.create_task(job()) gave you."
        ),
    )
    gate.set()
    checks.equal([await t for t in tasks], ["p", "q"], "Results of the two launched tasks")


@pytest.mark.task(2)
async def test_cancelling_the_launched_task_cancels_the_job():
    log: list[str] = []

    async def job() -> None:
        log.append("job started")
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            log.append("job cancelled")
            raise
        log.append("job finished")

    task = await launched(job)
    task.cancel()
    await asyncio.wait([task], timeout=200)
    checks.equal(
        log,
        ["job started", "job cancelled"],
        "Job log after the caller cancelled the task launch() returned",
        "Return the very task the job runs in, so that cancelling it cancels the job.",
    )
    checks.equal(task.cancelled(), True, "Did the cancelled task end cancelled?")


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
        ends = [str(e) for e in got if str(e).startswith("end ")]
        twice = sorted({e for e in ends if ends.count(e) > 1})
        if twice and len(set(ends)) < len(ends):
            return (
                f"{twice[0]!r} was logged more than once: each job must log its own name. "
                "Likely the end was looked up by duration (a dict keyed by seconds), which "
                "merges jobs of equal length."
            )
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


class TimedLog(list):
    """A log that notes when each entry was added, on `clock` (the contract only appends)."""

    def __init__(self, clock, entries=()) -> None:
        super().__init__(entries)
        self.clock = clock
        self.times: list[float] = [clock() for _ in entries]

    def append(self, entry) -> None:
        self.times.append(self.clock())
        super().append(entry)

    def extend(self, entries) -> None:
        entries = list(entries)
        self.times.extend(self.clock() for _ in entries)
        super().extend(entries)

    def __iadd__(self, entries):
        self.extend(entries)
        return self

    def stamped(self) -> list[tuple[str, float]] | None:
        """(entry, time) pairs, or None if the log was changed other than by appending."""
        if len(self.times) != len(self):
            return None
        return [(str(entry), round(at, 6)) for entry, at in zip(self, self.times, strict=True)]


def loop_clock():
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    return lambda: loop.time() - t0


class Sleeps:
    """An async `sleep(seconds)` for run_at_once() that records each call in loop time, and
    whether it ended or was cancelled."""

    def __init__(self) -> None:
        self.clock = loop_clock()
        self.asked: list[float] = []
        self.ended: list[float] = []
        self.cancelled: list[float] = []
        self.tasks: set[asyncio.Task] = set()

        async def sleep(seconds: float) -> None:
            self.asked.append(seconds)
            task = asyncio.current_task()
            if task is not None:
                self.tasks.add(task)
            try:
                await asyncio.sleep(seconds)
            except asyncio.CancelledError:
                self.cancelled.append(seconds)
                raise
            self.ended.append(seconds)

        self.sleep = sleep

    def running(self) -> list[float]:
        left = list(self.asked)
        for seconds in self.ended + self.cancelled:
            left.remove(seconds)
        return sorted(left)

    async def clean_up(self) -> None:
        me = asyncio.current_task()
        left = {t for t in self.tasks if t is not me and not t.done()}
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left, timeout=1)


def check_at_once_times(durations: dict[str, float], log: TimedLog, what: str) -> None:
    """Every start at 0 s, every end when its own job's sleep is over."""
    stamped = log.stamped()
    if stamped is None:
        return  # the log's order is checked elsewhere
    wrong = []
    for entry, at in stamped:
        kind, _, name = entry.partition(" ")
        if name not in durations or kind not in ("start", "end"):
            continue
        expected = 0 if kind == "start" else durations[name]
        if abs(at - expected) > 1e-6:
            wrong.append(f"{entry!r} at {at:g} s (expected {expected:g} s)")
    if wrong:
        pytest.fail(
            f"{what}: logged {', '.join(wrong[:3])}. Each job logs its start at once and its "
            "end the moment its own sleep is over. "
            + (
                "Likely the ends were logged all together after waiting for every job: put "
                "the three steps of one job (log, await sleep, log) in one coroutine."
                if any(e.startswith("'end") for e in wrong)
                else ""
            ),
            pytrace=False,
        )


@pytest.mark.task(3)
async def test_run_at_once_logs_each_end_when_its_job_ends():
    durations = {"a": 2, "b": 0.5, "c": 3}
    log = TimedLog(loop_clock())
    await call_run_at_once(dict(durations), log)
    checks.equal(
        list(log),
        at_once_log(durations, list(log)),
        "Log of run_at_once() with jobs a (2 s), b (0.5 s), c (3 s)",
        at_once_likely(durations),
    )
    check_at_once_times(durations, log, "run_at_once() with jobs a (2 s), b (0.5 s), c (3 s)")


@pytest.mark.task(3)
def test_run_in_turn_sleeps_even_for_a_zero_second_job():
    log: list[str] = []
    sleep = FakeBlockingSleep(log)
    call_run_in_turn({"a": 0, "b": 0.01}, log, sleep)
    checks.equal(
        sleep.calls,
        [0, 0.01],
        "Durations run_in_turn() passed to its sleep for jobs a (0 s) and b (0.01 s)",
        lambda got: (
            "The 0 s job never slept: call sleep(seconds) for every job, even when seconds "
            "is 0. Likely an `if seconds:` that takes 0 for nothing."
            if got == [0.01]
            else ""
        ),
    )
    checks.equal(
        log,
        ["start a", "(slept 0)", "end a", "start b", "(slept 0.01)", "end b"],
        "Log of run_in_turn() with jobs a (0 s) and b (0.01 s)",
    )


@pytest.mark.task(3)
async def test_run_at_once_awaits_sleep_even_for_a_zero_second_job():
    durations = {"a": 0, "b": 1}
    sleeps = Sleeps()
    log = TimedLog(sleeps.clock)
    await call_run_at_once(dict(durations), log, sleeps.sleep)
    checks.equal(
        sorted(sleeps.asked),
        [0, 1],
        "Durations run_at_once() awaited its sleep for, with jobs a (0 s) and b (1 s)",
        lambda got: (
            "The 0 s job never awaited its sleep: await sleep(seconds) for every job, even "
            "when seconds is 0 (sleep(0) still hands over). Likely an `if seconds:`."
            if got == [1]
            else ""
        ),
    )
    checks.equal(
        list(log),
        at_once_log(durations, list(log)),
        "Log of run_at_once() with jobs a (0 s) and b (1 s)",
        at_once_likely(durations),
    )


@pytest.mark.task(3)
async def test_no_jobs_log_nothing():
    log: list[str] = []
    sleep = FakeBlockingSleep(log)
    call_run_in_turn({}, log, sleep)
    checks.equal(log, [], "Log of run_in_turn() with no jobs")
    await call_run_at_once({}, log)
    checks.equal(log, [], "Log of run_at_once() with no jobs")


@pytest.mark.task(3)
async def test_the_runs_leave_durations_and_earlier_log_entries_alone():
    durations = {"a": 0.02, "b": 0.01}
    log = ["written before"]
    call_run_in_turn(durations, log, FakeBlockingSleep(log))
    checks.equal(
        durations,
        {"a": 0.02, "b": 0.01},
        "The caller's `durations` after run_in_turn()",
        "run_in_turn() changed the dict it was given (pop, del, clear): leave it as it was.",
    )
    checks.equal(log[:1], ["written before"], "First log entry after run_in_turn()", ONLY_APPEND)
    log = ["written before"]
    await call_run_at_once(durations, log)
    checks.equal(
        durations,
        {"a": 0.02, "b": 0.01},
        "The caller's `durations` after run_at_once()",
        "run_at_once() changed the dict it was given (pop, del, clear): leave it as it was.",
    )
    checks.equal(log[:1], ["written before"], "First log entry after run_at_once()", ONLY_APPEND)
    checks.equal(len(log), 5, "Entries in the log after run_at_once() of two jobs", ONLY_APPEND)


ONLY_APPEND = "Only append to `log`: what is already in it belongs to the caller."


@pytest.mark.task(3)
@pytest.mark.loop_limit(100_000)
async def test_run_at_once_waits_for_a_day_long_job(looptime):
    log: list[str] = []
    durations = {"day": 86_400, "now": 0}
    try:
        await call_run_at_once(dict(durations), log)
    except TimeoutError:
        pytest.fail(
            f"run_at_once() raised TimeoutError after {float(looptime):g} s: likely a time "
            "limit of your own (wait_for, timeout). The contract sets none.",
            pytrace=False,
        )
    checks.equal(
        log,
        at_once_log(durations, log),
        "Log of run_at_once() with jobs day (86400 s) and now (0 s)",
        lambda got: (
            "run_at_once() returned before the day-long job ended. Likely a time limit of "
            "your own (asyncio.wait(..., timeout=...)): wait for every job, however long."
            if isinstance(got, list) and "end day" not in got
            else at_once_likely(durations)(got)
        ),
    )
    checks.took(looptime, 86_400, "run_at_once() with a day-long job")


@pytest.mark.task(3)
async def test_two_runs_at_once_keep_their_own_logs():
    first: list[str] = []
    second: list[str] = []
    await asyncio.gather(
        call_run_at_once({"a": 2, "b": 1}, first), call_run_at_once({"c": 1}, second)
    )
    checks.equal(
        (first, second),
        (at_once_log({"a": 2, "b": 1}, first), ["start c", "end c"]),
        "Logs of two run_at_once() calls made at the same time, each with its own log",
        lambda got: (
            "One call's jobs wrote into the other call's log: each call writes only to its "
            "own log, nothing shared at module level."
            if any(str(e).partition(" ")[2] == "c" for e in first)
            or any(str(e).partition(" ")[2] in ("a", "b") for e in second)
            else at_once_likely({"a": 2, "b": 1})(first)
        ),
    )
    third: list[str] = []
    await call_run_at_once({"d": 1}, third)
    checks.equal(third, ["start d", "end d"], "Log of a later run_at_once() call")


@pytest.mark.task(3)
async def test_run_at_once_is_a_coroutine_function():
    log: list[str] = []
    result = interleaving.run_at_once({"a": 1}, log)
    if inspect.iscoroutine(result):
        await result
        return
    if inspect.isawaitable(result):
        await result
    pytest.fail(
        f"run_at_once() returned a {type(result).__name__}, not a coroutine: it is a plain "
        "`def`, so it starts the jobs (or fails, outside a running loop) before anyone awaits "
        "it. Write `async def run_at_once(...)` and await inside it.",
        pytrace=False,
    )


@pytest.mark.task(3)
async def test_a_cancelled_run_at_once_cancels_every_job():
    sleeps = Sleeps()
    log: list[str] = []
    outer = asyncio.create_task(call_run_at_once({"a": 1, "b": 5, "c": 10}, log, sleeps.sleep))
    await asyncio.sleep(2)
    if outer.done():
        await outer
        pytest.fail("run_at_once() of jobs of 1, 5 and 10 s had returned after 2 s.", pytrace=False)
    outer.cancel()
    await asyncio.wait([outer], timeout=100)
    for _ in range(10):  # a `finally: task.cancel()` takes effect within a turn or two
        await asyncio.sleep(0)
    left = sleeps.running()
    await sleeps.clean_up()
    problems = []
    if left:
        problems.append(
            f"the job{'s' if len(left) > 1 else ''} of {' and '.join(f'{s:g} s' for s in left)} "
            f"{'were' if len(left) > 1 else 'was'} still running after "
            "run_at_once() had been cancelled: tasks you start are yours to cancel. "
            "asyncio.gather and TaskGroup cancel their jobs when they are cancelled; tasks you "
            "create and await one by one do not: cancel them in a `finally:`."
        )
    if not outer.done():
        outer.cancel()
        await asyncio.wait([outer], timeout=1)
        problems.append("run_at_once() went on running after it had been cancelled.")
    elif not outer.cancelled():
        failure = outer.exception()
        if isinstance(failure, pytest.fail.Exception):
            raise failure
        problems.append(
            "run_at_once() did not end cancelled: it swallowed the CancelledError. Let it "
            "reach the caller."
        )
    if problems:
        pytest.fail(
            "run_at_once() with jobs of 1, 5 and 10 s, cancelled at 2 s: " + " ".join(problems),
            pytrace=False,
        )


DURATIONS_ANY = st.dictionaries(
    st.sampled_from(["a", "b", "c", ""]), st.sampled_from([0, 0.37, 1, 2.5, 10_000]), max_size=4
)


@pytest.mark.task(3)
@scenarios.given(durations=DURATIONS_ANY)
def test_run_in_turn_in_any_scenario(durations):
    scene = f"with durations {durations!r}"
    scenarios.describe(scene)
    given = dict(durations)
    log: list[str] = []
    sleep = FakeBlockingSleep(log)
    call_run_in_turn(given, log, sleep)
    checks.equal(
        sleep.calls,
        list(durations.values()),
        f"Durations run_in_turn() passed to its sleep {scene}",
        lambda got: (
            "A 0 s job must sleep too: call sleep(seconds) for every job. Likely an `if seconds:`."
            if isinstance(got, list) and got == [s for s in durations.values() if s]
            else "Sleep once per job, for its own duration, in the order of `durations`."
        ),
    )
    checks.equal(
        log,
        [
            line
            for name, seconds in durations.items()
            for line in (f"start {name}", f"(slept {seconds:g})", f"end {name}")
        ],
        f"Log of run_in_turn() {scene}",
    )
    checks.equal(given, durations, f"The caller's `durations` after run_in_turn() {scene}")


@pytest.mark.task(3)
@pytest.mark.loop_limit(100_000)
@scenarios.given(durations=DURATIONS_ANY)
async def test_run_at_once_in_any_scenario(durations):
    scene = f"with durations {durations!r}"
    scenarios.describe(scene)
    given = dict(durations)
    sleeps = Sleeps()
    log = TimedLog(sleeps.clock)
    await call_run_at_once(given, log, sleeps.sleep)
    checks.equal(
        sorted(sleeps.asked),
        sorted(durations.values()),
        f"Durations run_at_once() awaited its sleep for, {scene}",
        lambda got: (
            "A 0 s job must await its sleep too (sleep(0) still hands over). Likely an "
            "`if seconds:`."
            if got == sorted(s for s in durations.values() if s)
            else "Await sleep(seconds) once per job, for its own duration."
        ),
    )
    checks.equal(
        list(log),
        at_once_log(durations, list(log)),
        f"Log of run_at_once() {scene}",
        at_once_likely(durations),
    )
    check_at_once_times(durations, log, f"run_at_once() {scene}")
    checks.equal(given, durations, f"The caller's `durations` after run_at_once() {scene}")
    checks.took(sleeps.clock(), max(durations.values(), default=0), f"run_at_once() {scene}")
