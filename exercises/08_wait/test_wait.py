"""Exercise 08 tests. Run them with `pytest exercises/08`."""

import asyncio
import inspect
from collections.abc import Coroutine

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios

wait = exercise_module(__file__)


class Run:
    """One call of a test double: when it started, was cancelled and closed (loop time)."""

    def __init__(self, number: int, started: float):
        self.number = number
        self.started = started
        self.coro: Coroutine | None = None
        self.began = False  # its coroutine started running
        self.cancelled_at: float | None = None
        self.closed_at: float | None = None
        self.cut_short_at: float | None = None  # cancelled again while cleaning up

    @property
    def stopped_unstarted(self) -> bool:
        """Its task was cancelled before its coroutine ever ran: nothing to clean up."""
        return (
            not self.began
            and self.coro is not None
            and inspect.getcoroutinestate(self.coro) == inspect.CORO_CLOSED
        )

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None or self.stopped_unstarted

    @property
    def closed(self) -> bool:
        return self.closed_at is not None or self.stopped_unstarted


class Service:
    """A test double for a remote call: `await service()` takes `delay` seconds of loop time,
    then returns `answer` (or raises it, if it is an exception); with `answers`, the n-th call
    returns answers[n - 1] instead. Whatever happens, it then closes its connection, which
    takes `cleanup` seconds, in a `finally` block.

    It records every call (a Run): when it started, whether it was cancelled, and whether its
    cleanup ran to the end."""

    def __init__(
        self,
        name: str,
        delay: float,
        answer: str | Exception | None = None,
        cleanup: float = 0.0,
        kind: str = "service",
        answers: list[str | Exception] | None = None,
    ):
        self.name = name
        self.kind = kind
        self.delay = delay
        self.answer = answer
        self.answers = answers
        self.cleanup = cleanup
        self.runs: list[Run] = []

    def __call__(self) -> Coroutine[object, object, str]:
        run = Run(len(self.runs) + 1, asyncio.get_running_loop().time())
        self.runs.append(run)
        coro = run.coro = self._run(run)
        coro.__name__ = coro.__qualname__ = f"{self.kind}_{self.name}"  # for the kit's reports
        return coro

    def outcome(self, number: int = 1) -> str | Exception:
        return self.answers[number - 1] if self.answers else self.answer  # type: ignore[return-value]

    async def _run(self, run: Run) -> str:
        run.began = True
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(self.delay)
            outcome = self.outcome(run.number)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        except asyncio.CancelledError:
            run.cancelled_at = loop.time()
            raise
        finally:
            try:
                await asyncio.sleep(self.cleanup)  # closing the connection takes an await too
            except asyncio.CancelledError:
                run.cut_short_at = loop.time()
                raise
            run.closed_at = loop.time()

    @property
    def calls(self) -> int:
        return len(self.runs)

    @property
    def cancelled(self) -> bool:
        return any(run.cancelled for run in self.runs)

    @property
    def closed(self) -> bool:
        return bool(self.runs) and all(run.closed for run in self.runs)

    @property
    def running(self) -> bool:
        return any(not run.closed and run.cut_short_at is None for run in self.runs)

    @property
    def cut_short(self) -> bool:
        return any(run.cut_short_at is not None for run in self.runs)

    def __repr__(self) -> str:
        return f"the {self.kind} {self.name!r} (which takes {self.delay:g} s)"


def Job(name: str, delay: float, outcome=None, cleanup: float = 0.0, answers=None) -> Service:
    """A deployment job: the same double, reported as a job."""
    return Service(name, delay, outcome, cleanup, kind="job", answers=answers)


async def call(what: str, awaitable):
    """Await the learner's function, turning asyncio.wait's own errors into lessons."""
    try:
        return await awaitable
    except TypeError as exc:
        if "must derive from BaseException" in str(exc):
            pytest.fail(
                f"{what} raised a TypeError ({exc}): it executed `raise None`. The task you "
                "took from `done` had succeeded, so its task.exception() is None. `done` may "
                "hold finished jobs that succeeded as well as the one that failed, in no "
                "order: look through it for the task whose exception() is not None, and "
                "raise that.",
                pytrace=False,
            )
        if "coroutines is forbidden" not in str(exc):
            raise
        pytest.fail(
            f"{what} handed coroutine objects straight to asyncio.wait(), which refuses them "
            f"since Python 3.11 (TypeError: {exc}). asyncio.wait() only takes tasks or futures: "
            "wrap each call first, `tasks = [asyncio.create_task(service()) for service in "
            "services]`, and pass the tasks, so you can also tell which one finished and "
            "cancel the others.",
            pytrace=False,
        )
    except ExceptionGroup as group:
        inner = ", ".join(repr(e) for e in group.exceptions)
        pytest.fail(
            f"{what} raised an ExceptionGroup wrapping {inner}. A TaskGroup bundles failures "
            "that way, but this function's caller expects the job's own exception: raise "
            "that one (for example `raise group.exceptions[0]`), or use asyncio.wait().",
            pytrace=False,
        )
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # the test itself is being cancelled: not the learner's doing
        pytest.fail(
            f"{what} raised CancelledError although nobody cancelled it. That is the "
            "CancelledError of a task you cancelled, passed on when you awaited it or asked "
            "for its result: `await task`, `task.result()` and plain asyncio.gather(*pending) "
            "all re-raise it. Await the cancelled tasks in a way that does not raise: await "
            "asyncio.wait(pending), or asyncio.gather(*pending, return_exceptions=True). And "
            "if you cancelled tasks whose results you still needed, asyncio.wait() woke you "
            "too early: check its return_when.",
            pytrace=False,
        )
    except ValueError as exc:
        if "empty" not in str(exc):
            raise
        pytest.fail(
            f"{what} called asyncio.wait() with no tasks at all, and it raised ValueError "
            f"({exc}). asyncio.wait() refuses an empty set: when there is nothing to wait for "
            "(no jobs at all, a single service and so no losers, every task already done), "
            "skip it: only wait for the pending set if it is not empty.",
            pytrace=False,
        )


def fail_if_cut_short(services: list[Service], what: str) -> None:
    cut = [s for s in services if s.cut_short]
    if cut:
        pytest.fail(
            f"{what}: {cut[0]!r} was cancelled a second time while it was closing its "
            "connection, so its cleanup (the `finally` block) was cut short. Cancel each "
            "task once, then wait for it. Note that a gather (or wait_for) that is "
            "cancelled has already cancelled its children: then only wait for them.",
            pytrace=False,
        )


async def expect_cleaned_up(others: list[Service], what: str, when: str) -> None:
    """Fail unless every call of the services in `others` was cancelled and finished its
    cleanup already, telling apart "left running" from "cancelled but not awaited"."""
    unique = list({id(s): s for s in others}.values())
    fail_if_cut_short(unique, f"{what} {when}")
    unfinished = [(s, run) for s in unique for run in s.runs if not run.closed]
    if not unfinished:
        return
    for _ in range(3):  # give a cancelled-but-not-awaited task its chance to notice
        await asyncio.sleep(0)
    cancelled_late = [(s, run) for s, run in unfinished if run.cancelled]
    if cancelled_late:
        service = cancelled_late[0][0]
        pytest.fail(
            f"{what} {when} while {service!r} was cancelled but not yet finished: "
            "its cleanup (the `finally` that closes its connection) had not run when you "
            f"returned. task.cancel() only asks a task to stop; it stops at its next await, "
            "later. After cancelling the pending tasks, await them too (await asyncio.wait("
            "pending), or asyncio.gather(*pending, return_exceptions=True)).",
            pytrace=False,
        )
    service = unfinished[0][0]
    twice = (
        " It is listed more than once, and one of its calls was never cancelled: a dict or "
        "set keyed by the service keeps only one of its tasks."
        if len(service.runs) > 1
        else ""
    )
    pytest.fail(
        f"{what} {when}, but {service!r} was still running: it was never "
        "cancelled, so it keeps using a connection for an answer nobody will read. Cancel "
        f"every task left in the pending set, then await them before you return.{twice}",
        pytrace=False,
    )


def not_the_jobs_exception(what: str, raised: Exception, expected: Exception):
    """Fail a deployment that raised some other exception than the failing job's own."""
    if isinstance(raised, NotImplementedError):
        raise raised  # the stub: the kit reports it as "not written yet"
    pytest.fail(
        f"{what} raised {raised!r}, but the job that failed raised {expected!r}. Raise the "
        "job's own exception object, unchanged (`raise task.exception()`), not a new "
        f"exception made from it: your caller wants to catch {type(expected).__name__}.",
        pytrace=False,
    )


async def expect_ended_cancelled(
    job: asyncio.Task, services: list[Service], what: str, at: float
) -> None:
    """`job` (running `what`) was cancelled `at` loop time (absolute): every call of
    `services` still running must have been cancelled at that moment and have finished its
    cleanup when the call ended, and the call must end cancelled."""
    done, _ = await asyncio.wait({job}, timeout=60)
    fail_if_cut_short(services, f"{what}, cancelled")
    running = [s for s in services if s.running]
    if not done:
        job.cancel()
        pytest.fail(
            f"{what} was cancelled, but it was still running 60 s later: it caught the "
            "CancelledError and carried on. Stop the tasks it started, then let the "
            "cancellation end it (re-raise it).",
            pytrace=False,
        )
    if running:
        asked = [s for s in running if s.cancelled]
        pytest.fail(
            f"{what} was cancelled and ended, but {running[0]!r} was still running: "
            + (
                "it had been cancelled, yet cancel() only asks, and its cleanup had not run "
                "when your function ended. After cancelling the tasks, wait for them (await "
                "asyncio.wait(tasks)) before letting the CancelledError go on."
                if asked
                else "nobody cancelled it. When your function is cancelled, the "
                "CancelledError arrives at the await it is paused on, and the tasks it "
                "started run on unless it stops them (asyncio.wait and as_completed never "
                "cancel them). Put the waiting in `try:` and, in `finally:`, cancel every "
                "task still running and wait for them (or use an asyncio.TaskGroup, which "
                "does that)."
            ),
            pytrace=False,
        )
    if not job.cancelled():
        exc = job.exception()
        if exc is not None:
            raise exc
        pytest.fail(
            f"{what} was cancelled, but it returned {job.result()!r} instead of ending "
            "cancelled: the CancelledError was swallowed. Likely: an `except "
            "asyncio.CancelledError` (or `except BaseException`) that does not re-raise, or "
            "a `return` inside a `finally`. Stop the tasks, then let the CancelledError go on "
            "to your caller.",
            pytrace=False,
        )
    late = [
        (s, run.cancelled_at)
        for s in services
        for run in s.runs
        if run.cancelled_at is not None and abs(run.cancelled_at - at) > 1e-9
    ]
    if late:
        service, when = late[0]
        pytest.fail(
            f"{what} was cancelled, but it cancelled {service!r} only {when - at:g} s later. "
            "Cancel the tasks at once, when the cancellation arrives.",
            pytrace=False,
        )


def check_unchanged(value: object, before: object, what: str, name: str) -> None:
    if value == before:
        return
    pytest.fail(
        f"{what} changed the caller's `{name}`: it was {before!r} and is now {value!r}. "
        f"Leave `{name}` as it is: build your own lists and dicts of tasks.",
        pytrace=False,
    )


def check_called_once_each(services: list[Service], what: str) -> None:
    counts: dict[int, int] = {}
    for s in services:
        counts[id(s)] = counts.get(id(s), 0) + 1
    for s in services:
        expected = counts[id(s)]
        if s.calls != expected:
            pytest.fail(
                f"{what}: {s!r} was called {checks.count(s.calls, 'time')}; expected {expected} "
                "(once for "
                "each time it is listed). "
                + (
                    "Each call is a new request: call it once when you create its task, and "
                    "take the answer from the task (task.result()), not from a second call."
                    if s.calls > expected
                    else "It appears more than once, and each entry is a request of its own: "
                    "do not merge them (a set, or a dict keyed by the function, keeps one)."
                    if expected > 1
                    else "Call every entry once, when you create its task."
                ),
                pytrace=False,
            )


async def race(services: list[Service]) -> object:
    """fastest_ip(), with its result checked to be the str it promises."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        result = await call("fastest_ip()", wait.fastest_ip(services))
    except (TimeoutError, KeyError, IndexError, StopIteration, RuntimeError) as exc:
        waited = loop.time() - started
        first = min(s.delay for s in services)
        if isinstance(exc, RuntimeError) and "StopIteration" not in str(exc):
            raise
        if waited >= first:
            raise
        pytest.fail(
            f"fastest_ip() raised {exc!r} after {waited:g} s, before any service had "
            f"answered (the fastest takes {first:g} s). A service may take as long as it "
            "takes: wait for the first answer however long it is. Likely: a fixed timeout "
            "(asyncio.wait(..., timeout=N), wait_for(..., N)) added to be safe, which left "
            "`done` empty.",
            pytrace=False,
        )
    checks.not_coroutine(result, "fastest_ip()'s result")
    if not isinstance(result, str):
        if isinstance(result, (set, frozenset, tuple, list)):
            hint = (
                "asyncio.wait() returns two sets of tasks, (done, pending): take the one "
                "finished task out of `done` and return its .result(), the IP string."
            )
        elif isinstance(result, asyncio.Future):
            hint = "That is the finished task itself: return task.result(), the IP it got."
        else:
            hint = "Return the winning service's answer, the str it returned."
        pytest.fail(
            f"fastest_ip() returned a {type(result).__name__}, {result!r}; expected a str, "
            f"the IP address. {hint}",
            pytrace=False,
        )
    return result


def check_reports_list(result: object, expected: list[str], what: str) -> None:
    """A deploy_all() result: a list equal to `expected`."""
    checks.not_coroutine(result, "deploy_all()'s result")
    if not isinstance(result, list):
        pytest.fail(
            f"{what}: deploy_all() returned a {type(result).__name__}, {result!r}; expected a "
            f"list, {expected!r}. Build a new list: [task.result() for task in tasks].",
            pytrace=False,
        )
    checks.equal(
        result,
        expected,
        what,
        lambda got: (
            "The reports must follow the order of `jobs`. The `done` set asyncio.wait() gives "
            "back has no order: read the results from your own list of tasks instead."
            if checks.same_items(got, expected)
            else "Fewer reports than jobs: a job listed twice runs twice and has two reports "
            "(a dict or set keyed by the job keeps one)."
            if isinstance(got, list) and len(got) < len(expected)
            else "Two entries got the same report although their runs reported differently: "
            "a job listed twice runs twice, and each entry gets the report of its own run. "
            "Keep one task per entry, in a list (a dict keyed by the job keeps only its last "
            "task)."
            if isinstance(got, list)
            and len(got) == len(expected)
            and len(set(got)) < len(set(expected))
            else ""
        ),
    )


async def poll(services: dict[str, Service], timeout: float) -> tuple[dict, list]:
    """poll_services(), with its result checked to be the (dict, list) tuple it promises."""
    try:
        result = await call("poll_services()", wait.poll_services(services, timeout))
    except Exception as exc:
        broken = [name for name, s in services.items() if s.answer is exc]
        if not broken:
            raise
        pytest.fail(
            f"poll_services() raised {exc!r}, the error of the broken service {broken[0]!r}. "
            "A task in `done` may have finished by raising: task.result() then raises that "
            "error. Check task.exception() first and leave failed services out.",
            pytrace=False,
        )
    checks.not_coroutine(result, "poll_services()'s result")
    if not (isinstance(result, tuple) and len(result) == 2):
        pytest.fail(
            f"poll_services() returned {result!r}; expected a tuple (answers, late): "
            "`return answers, late`.",
            pytrace=False,
        )
    answers, late = result
    if not isinstance(answers, dict):
        pytest.fail(
            f"poll_services()'s answers are a {type(answers).__name__}, {answers!r}; expected "
            "a dict mapping each name that answered in time to its IP.",
            pytrace=False,
        )
    if not isinstance(late, list):
        pytest.fail(
            f"poll_services()'s late names are a {type(late).__name__}, {late!r}; expected a "
            "list (sorted): sorted(...) gives one.",
            pytrace=False,
        )
    return answers, late


# Task 1: fastest_ip


@pytest.mark.task(1)
async def test_the_first_service_to_answer_wins():
    services = [
        Service("slow", 3, "10.0.0.3"),
        Service("fast", 1, "10.0.0.1"),
        Service("medium", 2, "10.0.0.2"),
    ]
    result = await race(services)

    def likely(got: object) -> str:
        if got == "10.0.0.3":
            return (
                "That is the first service in the list, and the slowest, not the first one to "
                "answer: with return_when=FIRST_COMPLETED, `done` holds the winner."
            )
        if got == "10.0.0.2":
            return "That is neither the first in the list nor the fastest."
        return ""

    checks.equal(
        result,
        "10.0.0.1",
        "fastest_ip() with services answering in 3 s, 1 s and 2 s",
        likely,
    )


@pytest.mark.task(1)
async def test_it_returns_as_soon_as_the_first_answer_arrives(looptime):
    services = [Service("a", 4, "1.1.1.1"), Service("b", 1, "2.2.2.2"), Service("c", 2, "3.3.3.3")]
    await race(services)
    checks.took(
        looptime,
        1,
        "fastest_ip() with services answering in 4 s, 1 s and 2 s",
        {
            4: "That is the slowest service: you waited for all of them. Pass "
            "return_when=asyncio.FIRST_COMPLETED to asyncio.wait() to wake up at the first "
            "answer.",
            7: "That is 4 + 1 + 2: the services were asked one after another. Start them all "
            "as tasks first, then wait for the first one.",
        },
    )


@pytest.mark.task(1)
async def test_the_losers_are_cancelled_and_awaited_before_returning():
    fast = Service("fast", 1, "10.0.0.1")
    losers = [Service("slow", 5, "10.0.0.5"), Service("slower", 9, "10.0.0.9")]
    await race([losers[0], fast, losers[1]])
    await expect_cleaned_up(losers, "fastest_ip()", "returned the fastest answer")
    checks.equal(
        [s.cancelled for s in losers],
        [True, True],
        "Was each losing service cancelled?",
        "The losers must be stopped with task.cancel(), not left to finish.",
    )


@pytest.mark.task(1)
async def test_a_loser_that_takes_time_to_close_is_still_awaited(looptime):
    fast = Service("fast", 2, "10.0.0.2")
    sticky = Service("sticky", 6, "10.0.0.6", cleanup=0.5)
    await race([sticky, fast])
    await expect_cleaned_up([sticky], "fastest_ip()", "returned the fastest answer")
    checks.took(
        looptime,
        2.5,
        "fastest_ip() whose loser needs 0.5 s to close its connection after the winner "
        "answered at 2 s",
        {
            6.5: "You let the loser run to its end instead of cancelling it.",
        },
    )


@pytest.mark.task(1)
async def test_each_service_is_asked_exactly_once():
    services = [Service("a", 2, "1.1.1.1"), Service("b", 1, "2.2.2.2"), Service("c", 3, "3.3.3.3")]
    await race(services)
    check_called_once_each(services, "fastest_ip() with three services")


@pytest.mark.task(1)
async def test_a_single_service_is_simply_awaited(looptime):
    result = await race([Service("only", 2, "10.9.9.9")])
    checks.equal(result, "10.9.9.9", "fastest_ip() with a single service")
    checks.took(looptime, 2, "fastest_ip() with a single 2 s service")


@pytest.mark.task(1)
async def test_the_same_service_listed_twice_is_asked_twice():
    echo = Service("echo", 4, "10.4.4.4")
    fast = Service("fast", 1, "10.1.1.1")
    result = await race([echo, fast, echo])
    checks.equal(result, "10.1.1.1", "fastest_ip([echo, fast, echo])")
    check_called_once_each([echo, fast, echo], "fastest_ip([echo, fast, echo])")
    await expect_cleaned_up([echo], "fastest_ip()", "returned the fastest answer")


@pytest.mark.task(1)
async def test_an_empty_answer_can_win(looptime):
    services = [Service("slow", 3, "10.0.0.3"), Service("blank", 1, "")]
    result = await race(services)
    checks.equal(
        result,
        "",
        "fastest_ip() when the 1 s service answers '' and the 3 s one '10.0.0.3'",
        lambda got: (
            "'' came first, at 1 s: an empty answer is still the first answer. Likely: a "
            "truthiness check (`if result:`, `while not winner:`, `result or ...`) that takes "
            "'' for 'no answer yet'."
            if got == "10.0.0.3"
            else ""
        ),
    )
    checks.took(looptime, 1, "fastest_ip() whose fastest service answers '' at 1 s")


@pytest.mark.task(1)
async def test_the_services_list_is_left_unchanged():
    services = [Service("a", 2, "1.1.1.1"), Service("b", 1, "2.2.2.2")]
    before = list(services)
    await race(services)
    check_unchanged(services, before, "fastest_ip()", "services")


@pytest.mark.task(1)
@pytest.mark.loop_limit(200_000)
async def test_a_day_long_race_is_waited_for(looptime):
    services = [Service("daily", 86_400, "10.8.6.4"), Service("later", 90_000, "10.9.0.0")]
    try:
        result = await race(services)
    except (TimeoutError, KeyError, IndexError, StopIteration) as exc:
        pytest.fail(
            f"fastest_ip() raised {exc!r} after {float(looptime):g} s, although the fastest "
            "service answers at 86,400 s (a day). A service may take as long as it takes: "
            "wait for the first answer however long it is. Likely: a fixed timeout "
            "(asyncio.wait(..., timeout=N), wait_for(..., N)) added to be safe, which left "
            "`done` empty.",
            pytrace=False,
        )
    checks.equal(result, "10.8.6.4", "fastest_ip() with services of 86,400 and 90,000 s")
    checks.took(looptime, 86_400, "fastest_ip() whose fastest service takes 86,400 s")


@pytest.mark.task(1)
async def test_two_races_at_once_keep_their_own_services(looptime):
    first = [Service("a-fast", 1, "10.1.0.1"), Service("a-slow", 5, "10.1.0.5")]
    second = [Service("b-mid", 3, "10.2.0.3"), Service("b-slow", 4, "10.2.0.4")]
    results = await asyncio.gather(race(first), race(second))
    checks.equal(
        results,
        ["10.1.0.1", "10.2.0.3"],
        "Answers of two fastest_ip() calls running at once (winners at 1 s and 3 s)",
        lambda _: (
            "The second call's winner, 'b-mid', was cancelled before it could answer. "
            "Likely: the first call cancelled tasks that were not its own, through a list "
            "or set of tasks kept at module level (or in a default argument) that both "
            "calls share."
            if second[0].cancelled
            else ""
        ),
    )
    checks.equal(
        [s.cancelled for s in first + second],
        [False, True, False, True],
        "Which services were cancelled (a-fast, a-slow, b-mid, b-slow)?",
        "Each call cancels only its own losers. Likely: tasks kept at module level, shared "
        "by both calls.",
    )
    checks.took(looptime, 3, "Two fastest_ip() calls at once, winners at 1 s and 3 s")


@pytest.mark.task(1)
async def test_cancelling_fastest_ip_stops_every_service():
    services = [Service("slow", 5, "10.0.0.5", cleanup=0.5), Service("slower", 9, "10.0.0.9")]
    job = asyncio.create_task(wait.fastest_ip(services))
    await asyncio.sleep(2)
    at = asyncio.get_running_loop().time()
    job.cancel()
    await expect_ended_cancelled(job, services, "fastest_ip()", at)


# Every time in the scenarios is a multiple of 1/8 s, so loop times stay exact floats: with
# inexact ones, a correct `while loop.time() < deadline:` loop could spin forever on the
# virtual clock, a hair short of its deadline. Polling (every 0.1 or 0.25 s) still lands
# beside 0.375 and 1.125.
RACE_DELAYS = [1, 0.375, 2.5, 1.125, 86_400, 90_000]
RACE_ANSWERS = ["10.0.0.1", "", "fe80::1"]


@pytest.mark.task(1)
@pytest.mark.loop_limit(200_000)
@scenarios.given(
    picks=st.lists(
        st.sampled_from([(d, a) for d in RACE_DELAYS for a in RACE_ANSWERS]),
        min_size=1,
        max_size=4,
        unique_by=lambda pick: pick[0],
    )
)
async def test_fastest_ip_in_any_scenario(picks):
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    services = [Service(f"s{i}", delay, answer) for i, (delay, answer) in enumerate(picks)]
    said = "with services answering " + ", ".join(f"{a!r} at {d:g} s" for d, a in picks)
    scenarios.describe(said)
    before = list(services)
    result = await race(services)
    took = loop.time() - t0
    winner = min(services, key=lambda s: s.delay)
    check_unchanged(services, before, f"fastest_ip() {said}", "services")
    check_called_once_each(services, f"fastest_ip() {said}")
    checks.equal(
        result,
        winner.answer,
        f"fastest_ip() {said}",
        lambda got: (
            "An empty answer is still the first answer. Likely: a truthiness check (`if "
            "result:`, `while not winner:`) that takes '' for 'no answer yet'."
            if winner.answer == ""
            else ""
        ),
    )
    losers = [s for s in services if s is not winner]
    await expect_cleaned_up(losers, "fastest_ip()", f"returned ({said})")
    for loser in losers:
        when = loser.runs[0].cancelled_at
        if when is None or abs(when - t0 - winner.delay) > 1e-9:
            pytest.fail(
                f"fastest_ip() {said}: {loser!r} was "
                + ("never cancelled" if when is None else f"cancelled at {when - t0:g} s")
                + f"; expected at {winner.delay:g} s, the moment the winner answered.",
                pytrace=False,
            )
    checks.took(
        took,
        winner.delay,
        f"fastest_ip() {said}",
        {
            max(s.delay for s in services): "That is the slowest service: you waited for all "
            "of them. Pass return_when=asyncio.FIRST_COMPLETED."
        }
        if len(services) > 1
        else {},
    )


# Task 2: deploy_all


async def deploy(jobs: list[Service], what: str, failure: Exception) -> None:
    """deploy_all() when `failure` must be raised: fail unless that very exception came."""
    try:
        result = await call("deploy_all()", wait.deploy_all(jobs))
    except Exception as exc:
        if exc is failure:
            return
        other = [job for job in jobs if job.answer is exc]
        if other:
            pytest.fail(
                f"deploy_all() {what} raised {exc!r}, the failure of {other[0]!r}, but the "
                f"first job to fail raised {failure!r}: raise the failure that stopped the "
                "deployment, the earliest one.",
                pytrace=False,
            )
        not_the_jobs_exception("deploy_all()", exc, failure)
    else:
        checks.not_coroutine(result, "deploy_all()'s result")
        pytest.fail(
            f"deploy_all() {what} returned {result!r} instead of raising {failure!r}. With "
            "FIRST_EXCEPTION, asyncio.wait() returns when a task fails but does not raise "
            "anything itself: look for the failed task in `done` (task.exception() is not "
            "None) and raise its exception.",
            pytrace=False,
        )


@pytest.mark.task(2)
async def test_every_report_comes_back_in_the_order_of_the_jobs(looptime):
    jobs = [
        Job("web", 3, "web ok"),
        Job("db", 1, "db ok"),
        Job("cache", 2, "cache ok"),
        Job("queue", 4, "queue ok"),
        Job("auth", 0.5, "auth ok"),
    ]
    result = await call("deploy_all()", wait.deploy_all(jobs))
    check_reports_list(
        result,
        ["web ok", "db ok", "cache ok", "queue ok", "auth ok"],
        "deploy_all() of five jobs that all succeed",
    )
    checks.took(
        looptime,
        4,
        "deploy_all() of jobs taking 3, 1, 2, 4 and 0.5 s",
        {10.5: "That is their sum: the jobs ran one after another. Start them all first."},
    )


@pytest.mark.task(2)
async def test_the_first_failure_is_raised_at_once(looptime):
    refused = ConnectionRefusedError("db refused the upgrade")
    jobs = [Job("web", 5, "web ok"), Job("db", 1, refused), Job("cache", 4, "ok")]
    await deploy(jobs, "when the 'db' job raises ConnectionRefusedError at 1 s", refused)
    checks.took(
        looptime,
        1,
        "deploy_all() where the 1 s job fails and the others take 4 and 5 s",
        {
            5: "You waited for every job to end before raising: pass "
            "return_when=asyncio.FIRST_EXCEPTION so asyncio.wait() wakes up at the first failure."
        },
    )


@pytest.mark.task(2)
async def test_after_a_failure_the_other_jobs_are_cancelled_and_awaited():
    others = [Job("web", 5, "web ok"), Job("cache", 3, "cache ok", cleanup=0.5)]
    bad = ValueError("bad config")
    jobs = [others[0], Job("db", 1, bad), others[1]]
    await deploy(jobs, "when the 'db' job raises ValueError at 1 s", bad)
    await expect_cleaned_up(others, "deploy_all()", "raised the failure")
    checks.equal(
        [s.cancelled for s in others],
        [True, True],
        "Was each job still running at the failure cancelled?",
        "Once one job fails the deployment is off: cancel the others instead of letting them "
        "finish.",
    )


@pytest.mark.task(2)
async def test_when_two_jobs_fail_the_earlier_failure_is_raised(looptime):
    first = KeyError("cache: no such key")
    jobs = [
        Job("web", 2, OSError("web: disk full")),
        Job("cache", 1, first),
        Job("db", 3, "db ok"),
    ]
    try:
        await call("deploy_all()", wait.deploy_all(jobs))
    except (KeyError, OSError) as exc:
        if exc is not first:
            pytest.fail(
                f"deploy_all() raised {exc!r}, but 'cache' failed first, at 1 s, with "
                f"{first!r}: raise the failure that stopped the deployment, the first one "
                "(by then the other job had not failed yet).",
                pytrace=False,
            )
    except Exception as exc:
        not_the_jobs_exception("deploy_all()", exc, first)
    else:
        pytest.fail("deploy_all() should have raised the 'cache' job's KeyError.", pytrace=False)
    checks.took(looptime, 1, "deploy_all() whose first failure comes at 1 s")


@pytest.mark.task(2)
async def test_a_failure_after_some_successes_is_still_raised(looptime):
    late = TimeoutError("db never acknowledged")
    jobs = [Job("web", 1, "web ok"), Job("db", 3, late), Job("cache", 2, "cache ok")]
    try:
        result = await call("deploy_all()", wait.deploy_all(jobs))
    except TimeoutError as exc:
        checks.equal(exc, late, "The exception deploy_all() raised")
    except Exception as exc:
        not_the_jobs_exception("deploy_all()", exc, late)
    else:
        pytest.fail(
            f"deploy_all() returned {result!r}, but the last job to finish ('db', at 3 s) "
            "raised TimeoutError. When FIRST_EXCEPTION wakes you up, check every task in "
            "`done` for an exception: the failure may come after other jobs already succeeded.",
            pytrace=False,
        )
    checks.took(looptime, 3, "deploy_all() whose only failure comes at 3 s")


@pytest.mark.task(2)
async def test_a_failure_among_finished_and_running_jobs_is_found():
    # `done` holds jobs that succeeded as well as the failed one; try the failure in every
    # position, so that picking any task out of `done` cannot pass by luck.
    for position in range(6):
        broken = OSError(f"node{position}: disk full")
        jobs = [Job(f"node{i}", 0.5 + 0.25 * i, f"node{i} ok") for i in range(5)]
        jobs.insert(position, Job(f"node{position}-bad", 2, broken))
        slow = Job("slow", 6, "slow ok", cleanup=0.5)
        jobs.append(slow)
        start = asyncio.get_running_loop().time()
        try:
            result = await call("deploy_all()", wait.deploy_all(jobs))
        except OSError as exc:
            checks.equal(
                exc,
                broken,
                "The exception deploy_all() raised when one job fails at 2 s, five others "
                "already succeeded and one is still running",
            )
        except Exception as exc:
            not_the_jobs_exception("deploy_all()", exc, broken)
        else:
            checks.not_coroutine(result, "deploy_all()'s result")
            pytest.fail(
                f"deploy_all() returned {result!r}, but a job raised OSError at 2 s, after "
                "five others had succeeded and while one was still running. `done` holds "
                "the successes and the failure together, in no order: look through it for a "
                "task whose exception() is not None, and raise that exception.",
                pytrace=False,
            )
        checks.took(
            asyncio.get_running_loop().time() - start,
            2.5,
            "deploy_all() whose job fails at 2 s while a job with a 0.5 s cleanup still runs",
        )
        await expect_cleaned_up([slow], "deploy_all()", "raised the failure")


@pytest.mark.task(2)
async def test_no_jobs_deploy_nothing(looptime):
    result = await call("deploy_all([])", wait.deploy_all([]))
    check_reports_list(result, [], "deploy_all([]) with no jobs at all")
    checks.took(looptime, 0, "deploy_all([])")


@pytest.mark.task(2)
async def test_an_empty_report_is_kept():
    jobs = [Job("web", 2, "web ok"), Job("quiet", 1, ""), Job("db", 3, "db ok")]
    result = await call("deploy_all()", wait.deploy_all(jobs))
    check_reports_list(result, ["web ok", "", "db ok"], "deploy_all() whose 'quiet' job reports ''")


@pytest.mark.task(2)
async def test_the_same_job_listed_twice_runs_twice():
    web = Job("web", 2, answers=["web ok (first run)", "web ok (second run)"])
    db = Job("db", 1, "db ok")
    result = await call("deploy_all()", wait.deploy_all([web, db, web]))
    check_called_once_each([web, db, web], "deploy_all([web, db, web])")
    check_reports_list(
        result,
        ["web ok (first run)", "db ok", "web ok (second run)"],
        "deploy_all([web, db, web]), whose two web runs report differently",
    )


@pytest.mark.task(2)
async def test_each_job_runs_once_even_when_one_fails():
    jobs = [Job("web", 3, "web ok"), Job("db", 1, PermissionError("denied")), Job("q", 2, "q ok")]
    await deploy(jobs, "when the 'db' job raises PermissionError at 1 s", jobs[1].answer)
    check_called_once_each(jobs, "deploy_all() when 'db' fails at 1 s")


@pytest.mark.task(2)
async def test_jobs_are_left_unchanged():
    jobs = [Job("web", 2, "web ok"), Job("db", 1, "db ok")]
    before = list(jobs)
    await call("deploy_all()", wait.deploy_all(jobs))
    check_unchanged(jobs, before, "deploy_all()", "jobs")
    failing = [Job("web", 2, "web ok"), Job("db", 1, ValueError("bad"))]
    before = list(failing)
    await deploy(failing, "when 'db' raises ValueError at 1 s", failing[1].answer)
    check_unchanged(failing, before, "deploy_all()", "jobs")


@pytest.mark.task(2)
@pytest.mark.loop_limit(200_000)
async def test_day_long_jobs_are_waited_for(looptime):
    jobs = [Job("migrate", 50_000, "migrated"), Job("reindex", 10_000, "reindexed")]
    try:
        result = await call("deploy_all()", wait.deploy_all(jobs))
    except (TimeoutError, asyncio.InvalidStateError) as exc:
        pytest.fail(
            f"deploy_all() raised {exc!r} after {float(looptime):g} s, although its jobs only "
            "need 10,000 and 50,000 s. A job may take as long as it takes. Likely: a fixed "
            "timeout (asyncio.wait(..., timeout=N), wait_for(..., N)) added to be safe.",
            pytrace=False,
        )
    check_reports_list(result, ["migrated", "reindexed"], "deploy_all() of jobs taking hours")
    checks.took(looptime, 50_000, "deploy_all() whose slowest job takes 50,000 s")


@pytest.mark.task(2)
async def test_two_deployments_at_once_keep_their_own_jobs(looptime):
    refused = ConnectionRefusedError("refused")
    failing = [Job("a-bad", 1, refused), Job("a-slow", 6, "a ok")]
    fine = [Job("b-one", 2, "b1 ok"), Job("b-two", 3, "b2 ok")]
    outcome = await asyncio.gather(
        deploy(failing, "when 'a-bad' fails at 1 s", refused),
        call("deploy_all()", wait.deploy_all(fine)),
        return_exceptions=True,
    )
    for item in outcome:
        if isinstance(item, BaseException):
            raise item
    check_reports_list(
        outcome[1],
        ["b1 ok", "b2 ok"],
        "A deployment running while another one fails at 1 s",
    )
    checks.equal(
        [s.cancelled for s in fine],
        [False, False],
        "Were the other deployment's jobs cancelled?",
        "Only the failing deployment's own jobs are cancelled. Likely: tasks kept at module "
        "level (or in a default argument) shared by both calls.",
    )
    checks.took(looptime, 3, "Two deployments at once, the healthy one taking 3 s")


@pytest.mark.task(2)
async def test_cancelling_deploy_all_stops_every_job():
    jobs = [Job("web", 5, "web ok", cleanup=0.5), Job("db", 9, "db ok"), Job("q", 1, "q ok")]
    task = asyncio.create_task(wait.deploy_all(jobs))
    await asyncio.sleep(2)
    at = asyncio.get_running_loop().time()
    task.cancel()
    await expect_ended_cancelled(task, jobs, "deploy_all()", at)


DEPLOY_DELAYS = [1, 0.375, 2.5, 1.125, 86_400]  # multiples of 1/8 s: see RACE_DELAYS
DEPLOY_OUTCOMES = ["ok", "", "refused", "timeout", "missing"]


def deploy_outcome(kind: str, i: int) -> str | Exception:
    return {
        "ok": f"job{i} ok",
        "": "",
        "refused": ConnectionRefusedError(f"job{i} refused"),
        "timeout": TimeoutError(f"job{i} timed out"),  # the job's own
        "missing": KeyError(f"job{i}"),
    }[kind]


@pytest.mark.task(2)
@pytest.mark.loop_limit(200_000)
@scenarios.given(
    picks=st.lists(
        st.sampled_from([(d, k) for d in DEPLOY_DELAYS for k in DEPLOY_OUTCOMES]),
        max_size=4,
        unique_by=lambda pick: pick[0],
    )
)
async def test_deploy_all_in_any_scenario(picks):
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    jobs = [Job(f"job{i}", d, deploy_outcome(k, i)) for i, (d, k) in enumerate(picks)]
    said = "with jobs " + (
        ", ".join(
            f"{job.name} {'raising' if isinstance(job.answer, Exception) else 'reporting'} "
            f"{job.answer!r} at {job.delay:g} s"
            for job in jobs
        )
        or "[]"
    )
    scenarios.describe(said)
    before = list(jobs)
    failures = [job for job in jobs if isinstance(job.answer, Exception)]
    if failures:
        first = min(failures, key=lambda job: job.delay)
        await deploy(jobs, said, first.answer)
        end = first.delay
    else:
        result = await call("deploy_all()", wait.deploy_all(jobs))
        check_reports_list(result, [job.answer for job in jobs], f"deploy_all() {said}")
        end = max((job.delay for job in jobs), default=0)
    took = loop.time() - t0
    check_unchanged(jobs, before, f"deploy_all() {said}", "jobs")
    check_called_once_each(jobs, f"deploy_all() {said}")
    cut = [job for job in jobs if job.delay > end]
    await expect_cleaned_up(cut, "deploy_all()", f"raised the failure ({said})")
    for job in jobs:
        when = job.runs[0].cancelled_at
        expected = t0 + end if job.delay > end else None
        if when is None and expected is None:
            continue
        if when is None or expected is None or abs(when - expected) > 1e-9:
            pytest.fail(
                f"deploy_all() {said}: {job!r} was "
                + ("not cancelled" if when is None else f"cancelled at {when - t0:g} s")
                + (
                    f"; expected it cancelled at {end:g} s, when the first failure came."
                    if expected is not None
                    else "; it had finished before the first failure, so there was nothing "
                    "to cancel."
                ),
                pytrace=False,
            )
    checks.took(took, end, f"deploy_all() {said}")


# Task 3: poll_services


@pytest.mark.task(3)
async def test_answers_that_arrive_in_time_are_kept_the_rest_are_late(looptime):
    services = {
        "ipify": Service("ipify", 1, "1.2.3.4"),
        "icanhazip": Service("icanhazip", 5, "1.2.3.4"),
        "ifconfig": Service("ifconfig", 2, "1.2.3.5"),
        "ident": Service("ident", 8, "1.2.3.6"),
    }
    try:
        answers, late = await poll(services, 3)
    except TimeoutError:
        pytest.fail(
            "poll_services() raised TimeoutError, so the two answers that came in time (at 1 s "
            "and 2 s) were lost. asyncio.wait(tasks, timeout=...) never raises on a timeout: it "
            "returns (done, pending), and `done` holds the answers you already have.",
            pytrace=False,
        )
    checks.took(
        looptime,
        3,
        "poll_services() with a 3 s timeout and services taking up to 8 s",
        {
            8: "You waited for every service: give asyncio.wait() its timeout=.",
            1: "You stopped at the first answer: FIRST_COMPLETED is not what this task needs.",
        },
    )
    checks.equal(
        answers,
        {"ipify": "1.2.3.4", "ifconfig": "1.2.3.5"},
        "Answers within a 3 s timeout from services taking 1, 5, 2 and 8 s",
        lambda got: (
            "The answers that arrived before the timeout are missing: keep the results of "
            "the tasks in `done`."
            if isinstance(got, dict) and len(got) < 2
            else ""
        ),
    )
    checks.equal(
        late,
        ["icanhazip", "ident"],
        "Late services (sorted names)",
        "List the names of the services whose tasks were still pending at the timeout.",
    )


@pytest.mark.task(3)
async def test_late_services_are_cancelled_and_awaited_before_returning():
    late_ones = [Service("slow", 4, "9.9.9.9"), Service("sticky", 6, "8.8.8.8", cleanup=0.25)]
    services = {"quick": Service("quick", 1, "1.1.1.1"), "slow": late_ones[0]}
    services["sticky"] = late_ones[1]
    await poll(services, 2)
    await expect_cleaned_up(late_ones, "poll_services()", "returned at the timeout")
    checks.equal(
        [s.cancelled for s in late_ones],
        [True, True],
        "Was each late service cancelled?",
        "asyncio.wait() does not cancel anything when the timeout runs out: you must.",
    )


@pytest.mark.task(3)
async def test_when_every_service_answers_early_it_does_not_wait_for_the_timeout(looptime):
    services = {"a": Service("a", 1, "1.1.1.1"), "b": Service("b", 2, "2.2.2.2")}
    answers, late = await poll(services, 10)
    checks.equal(
        (answers, late),
        ({"a": "1.1.1.1", "b": "2.2.2.2"}, []),
        "poll_services() when every service answers within the timeout",
    )
    checks.took(
        looptime,
        2,
        "poll_services() with a 10 s timeout and services taking 1 and 2 s",
        {
            10: "You slept through the whole timeout. asyncio.wait(..., timeout=...) returns "
            "as soon as every task is done, or at the timeout, whichever comes first."
        },
    )


def broken_service_message(got: object) -> str:
    if isinstance(got, dict) and "broken" in got:
        return "A failed service is not an answer: leave it out."
    if got == {}:
        return (
            "You stopped when 'broken' failed, at 1 s. A failure does not end the poll: "
            "only the timeout, or every service being done, does. Leave return_when at its "
            "default (ALL_COMPLETED) and just pass timeout=."
        )
    return ""


@pytest.mark.task(3)
async def test_a_broken_service_is_ignored():
    services = {
        "broken": Service("broken", 1, ConnectionResetError("connection reset")),
        "good": Service("good", 2, "5.6.7.8"),
        "slow": Service("slow", 9, "5.6.7.9"),
    }
    try:
        answers, late = await poll(services, 3)
    except ConnectionResetError:
        pytest.fail(
            "poll_services() raised the ConnectionResetError of the 'broken' service. A task "
            "in `done` may have finished by raising: task.result() then raises that error. "
            "Check task.exception() first and leave failed services out.",
            pytrace=False,
        )
    checks.equal(
        answers,
        {"good": "5.6.7.8"},
        "Answers when 'broken' fails at 1 s, 'good' answers at 2 s, 'slow' takes 9 s",
        broken_service_message,
    )
    checks.equal(
        late,
        ["slow"],
        "Late services",
        "Only services still running at the timeout are late; 'broken' had already finished "
        "(by failing).",
    )
    check_called_once_each(list(services.values()), "poll_services() with a broken service")


@pytest.mark.task(3)
async def test_the_timeout_is_exact(looptime):
    services = {
        "x": Service("x", 2.25, "10.1.1.1"),
        "y": Service("y", 2.75, "10.2.2.2"),
        "z": Service("z", 1.5, "10.3.3.3"),
    }
    answers, late = await poll(services, 2.5)
    checks.equal(
        (answers, late),
        ({"x": "10.1.1.1", "z": "10.3.3.3"}, ["y"]),
        "poll_services() with a 2.5 s timeout, services taking 2.25, 2.75 and 1.5 s",
    )
    checks.took(looptime, 2.5, "poll_services() with a 2.5 s timeout")


@pytest.mark.task(3)
async def test_when_nobody_answers_in_time_everyone_is_late(looptime):
    services = {"b": Service("b", 5, "2.2.2.2"), "a": Service("a", 4, "1.1.1.1")}
    answers, late = await poll(services, 1)
    checks.equal(
        (answers, late),
        ({}, ["a", "b"]),
        "poll_services() when nobody answers in 1 s",
        lambda got: (
            "`late` must be sorted by name: neither the pending set nor the dict of "
            "services is in alphabetical order. Return sorted(names)."
            if isinstance(got, tuple) and got[1] == ["b", "a"]
            else ""
        ),
    )
    checks.took(looptime, 1, "poll_services() with a 1 s timeout")


@pytest.mark.task(3)
async def test_the_late_names_are_sorted():
    # Several rounds of five late services, so that names read from the (unordered) pending
    # set cannot come out sorted by luck.
    rounds = [
        ["echo", "delta", "charlie", "bravo", "alpha"],
        ["mike", "alpha", "zulu", "kilo", "bravo"],
        ["papa", "oscar", "hotel", "quebec", "golf"],
    ]
    for names in rounds:
        services = {"fast": Service("fast", 1, "1.1.1.1")}
        services.update({name: Service(name, 5 + i, f"10.0.0.{i}") for i, name in enumerate(names)})
        answers, late = await poll(services, 2)
        expected = sorted(names)
        wrong_order = (
            "Those are the right names in the wrong order. `late` must be sorted: the "
            "pending set has no order of its own. Return sorted(names)."
            if checks.same_items(late, expected)
            else ""
        )
        checks.equal(
            late,
            expected,
            f"Late services out of {names} (all still running at the timeout)",
            wrong_order,
        )
        checks.equal(answers, {"fast": "1.1.1.1"}, "Answers within the 2 s timeout")


@pytest.mark.task(3)
async def test_an_empty_answer_is_an_answer():
    services = {"blank": Service("blank", 1, ""), "full": Service("full", 2, "10.0.0.2")}
    services["slow"] = Service("slow", 7, "10.0.0.7")
    answers, late = await poll(services, 3)
    checks.equal(
        (answers, late),
        ({"blank": "", "full": "10.0.0.2"}, ["slow"]),
        "poll_services() when 'blank' answers '' at 1 s, 'full' at 2 s, 'slow' at 7 s, "
        "with a 3 s timeout",
        lambda got: (
            "'blank' answered '' in time: an empty answer is an answer too. Likely: a "
            "truthiness check (`if task.result():`, `result or ...`) that takes '' for none."
            if isinstance(got, tuple) and isinstance(got[0], dict) and "blank" not in got[0]
            else ""
        ),
    )


@pytest.mark.task(3)
async def test_a_zero_timeout_returns_at_once_with_everyone_late(looptime):
    services = {"b": Service("b", 2, "10.0.0.2"), "a": Service("a", 1, "10.0.0.1")}
    answers, late = await poll(services, 0)
    checks.took(
        looptime,
        0,
        "poll_services() with a timeout of 0 s",
        {
            2: "It waited for every service: a timeout of 0 means 'do not wait', not 'no "
            "timeout'. Likely: `timeout or None`, or `if timeout:`, which take 0 for none."
        },
    )
    checks.equal(
        (answers, late),
        ({}, ["a", "b"]),
        "poll_services() with a timeout of 0 s and services taking 1 and 2 s",
    )
    await expect_cleaned_up(list(services.values()), "poll_services()", "returned")


@pytest.mark.task(3)
async def test_one_function_under_two_names_is_asked_for_each():
    shared = Service("shared", 1, answers=["10.0.0.1", "10.0.0.2"])
    services = {"first": shared, "second": shared, "other": Service("other", 2, "10.0.0.3")}
    answers, late = await poll(services, 5)
    check_called_once_each(
        list(services.values()), "poll_services() with one function under two names"
    )
    checks.equal(
        sorted(answers),
        ["first", "other", "second"],
        "Names that answered, when 'first' and 'second' share one function",
        "Each name is a service of its own, even when two share a function: ask once per "
        "name (a dict or set keyed by the function keeps one).",
    )
    checks.equal(
        sorted(answers.values()),
        ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
        "Answers, when 'first' and 'second' share one function",
        "Each name gets the answer of its own call.",
    )
    checks.equal(late, [], "Late services")


@pytest.mark.task(3)
async def test_the_services_dict_is_left_unchanged():
    services = {
        "broken": Service("broken", 1, OSError("down")),
        "good": Service("good", 2, "10.0.0.2"),
        "slow": Service("slow", 9, "10.0.0.9"),
    }
    before = dict(services)
    await poll(services, 3)
    check_unchanged(services, before, "poll_services()", "services")
    checks.equal(list(services), list(before), "The order of the caller's `services` keys")


@pytest.mark.task(3)
async def test_a_service_s_own_timeout_error_is_a_failure_not_late(looptime):
    services = {
        "flaky": Service("flaky", 1, TimeoutError("upstream timed out")),
        "good": Service("good", 2, "10.0.0.2"),
        "slow": Service("slow", 8, "10.0.0.8"),
    }
    try:
        answers, late = await poll(services, 4)
    except TimeoutError:
        pytest.fail(
            "poll_services() raised a TimeoutError: the 'flaky' service raised one at 1 s, "
            "by itself. A service that raises, whatever the exception, is broken and "
            "ignored; only the 4 s timeout makes services late.",
            pytrace=False,
        )
    checks.equal(
        (answers, late),
        ({"good": "10.0.0.2"}, ["slow"]),
        "poll_services() when 'flaky' raises its own TimeoutError at 1 s, 'good' answers at "
        "2 s and 'slow' at 8 s, with a 4 s timeout",
        lambda got: (
            "'flaky' failed by itself at 1 s, with a TimeoutError of its own: it is broken "
            "(ignored), not late. Only the services still running at the timeout are late. "
            "Tell the deadline apart from a service's own TimeoutError."
            if isinstance(got, tuple) and isinstance(got[1], list) and "flaky" in got[1]
            else ""
        ),
    )
    checks.took(looptime, 4, "poll_services() with a 4 s timeout")


@pytest.mark.task(3)
@pytest.mark.loop_limit(200_000)
async def test_a_day_long_timeout_is_honoured(looptime):
    services = {
        "hours": Service("hours", 10_000, "10.0.1.0"),
        "days": Service("days", 100_000, "10.0.2.0"),
    }
    answers, late = await poll(services, 86_400)
    if float(looptime) < 10_000:
        pytest.fail(
            f"With an 86,400 s (a day) timeout and services of 10,000 and 100,000 s, "
            f"poll_services() returned after {float(looptime):g} s with {(answers, late)!r}. "
            "Only `timeout` limits the wait. Likely: a fixed limit (wait_for(..., N), "
            "asyncio.timeout(N)) added to be safe.",
            pytrace=False,
        )
    checks.equal(
        (answers, late),
        ({"hours": "10.0.1.0"}, ["days"]),
        "poll_services() with an 86,400 s timeout, services of 10,000 and 100,000 s",
    )
    checks.took(looptime, 86_400, "poll_services() with an 86,400 s timeout")


@pytest.mark.task(3)
async def test_two_polls_at_once_keep_their_own_services(looptime):
    first = {"a": Service("a", 1, "10.0.0.1"), "b": Service("b", 5, "10.0.0.5")}
    second = {"a": Service("a2", 3, "10.1.0.3"), "c": Service("c", 9, "10.1.0.9")}
    results = await asyncio.gather(poll(first, 2), poll(second, 4))
    checks.equal(
        results,
        [({"a": "10.0.0.1"}, ["b"]), ({"a": "10.1.0.3"}, ["c"])],
        "Results of two poll_services() calls at once (timeouts 2 s and 4 s)",
        "Each call answers for its own services only. Likely: tasks or answers kept at "
        "module level (or in a default argument) shared by both calls.",
    )
    again = await poll({"b": Service("b", 1, "10.2.0.1")}, 2)
    checks.equal(
        again,
        ({"b": "10.2.0.1"}, []),
        "A later poll_services() call with one 1 s service 'b'",
        "A call must not remember earlier calls. Likely: state kept at module level.",
    )
    again = await poll({"a": Service("a", 5, "10.3.0.5")}, 1)
    checks.equal(
        again,
        ({}, ["a"]),
        "A later poll_services() call whose service 'a' (it answered in an earlier call) is "
        "late this time",
        "'a' did not answer in this call: an answer from an earlier call is not an answer "
        "now. Likely: answers kept at module level (a cache of last-known IPs).",
    )


@pytest.mark.task(3)
async def test_cancelling_poll_services_stops_every_service():
    services = {
        "quick": Service("quick", 1, "10.0.0.1"),
        "slow": Service("slow", 5, "10.0.0.5", cleanup=0.5),
        "slower": Service("slower", 9, "10.0.0.9"),
    }
    job = asyncio.create_task(wait.poll_services(services, 7))
    await asyncio.sleep(2)
    at = asyncio.get_running_loop().time()
    job.cancel()
    await expect_ended_cancelled(job, list(services.values()), "poll_services()", at)


POLL_NAMES = ["delta", "alpha", "charlie", "bravo"]  # one per position: sorted differs
POLL_DELAYS = [1, 0.375, 2.5, 3.25, 86_400]  # multiples of 1/8 s: see RACE_DELAYS
POLL_OUTCOMES = ["10.0.0.1", "", "reset", "timeout"]
POLL_TIMEOUTS = [0.5, 2, 3, 50_000]  # never equal to a service's time: no ties


def poll_outcome(kind: str) -> str | Exception:
    if kind == "reset":
        return ConnectionResetError("reset")
    if kind == "timeout":
        return TimeoutError("upstream timed out")  # the service's own
    return kind


@pytest.mark.task(3)
@pytest.mark.loop_limit(200_000)
@scenarios.given(
    picks=st.lists(
        st.sampled_from([(d, k) for d in POLL_DELAYS for k in POLL_OUTCOMES]),
        min_size=1,
        max_size=len(POLL_NAMES),
    ),
    timeout=st.sampled_from(POLL_TIMEOUTS),
)
async def test_poll_services_in_any_scenario(picks, timeout):
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    services = {
        name: Service(name, delay, poll_outcome(kind))
        for name, (delay, kind) in zip(POLL_NAMES, picks, strict=False)
    }
    said = (
        "with services "
        + ", ".join(
            f"{name!r} {'raising' if isinstance(s.answer, Exception) else 'answering'} "
            f"{s.answer!r} at {s.delay:g} s"
            for name, s in services.items()
        )
        + f" and a {timeout:g} s timeout"
    )
    scenarios.describe(said)
    before = dict(services)
    answers, late = await poll(services, timeout)
    took = loop.time() - t0
    check_unchanged(services, before, f"poll_services() {said}", "services")
    check_called_once_each(list(services.values()), f"poll_services() {said}")
    expected_answers = {
        name: s.answer
        for name, s in services.items()
        if s.delay < timeout and not isinstance(s.answer, Exception)
    }
    expected_late = sorted(name for name, s in services.items() if s.delay > timeout)

    def likely(got: object) -> str:
        if not isinstance(got, tuple):
            return ""
        got_answers, got_late = got
        broken_late = [
            n
            for n in got_late
            if n in services
            and isinstance(services[n].answer, Exception)
            and services[n].delay < timeout
        ]
        if broken_late:
            return (
                f"{broken_late[0]!r} failed (by itself) before the timeout: it is broken and "
                "ignored, not late, even when its exception is a TimeoutError."
            )
        extra = [n for n in got_answers if n not in expected_answers]
        if extra:
            name = extra[0]
            if name in services and isinstance(services[name].answer, Exception):
                return f"{name!r} raised: a failed service is not an answer, leave it out."
            if name in services and services[name].delay > timeout:
                return (
                    f"{name!r} was still running at the timeout, so it gave no answer in this "
                    "call. Likely: an answer remembered from an earlier call (a cache kept at "
                    "module level), or answers read from somewhere other than this call's "
                    "finished tasks."
                )
        if checks.same_items(got_late, expected_late) and got_late != expected_late:
            return "`late` must be sorted: the pending set has no order. Return sorted(names)."
        blank = [n for n, ip in expected_answers.items() if ip == "" and n not in got_answers]
        if blank:
            return (
                f"{blank[0]!r} answered '' in time: an empty answer is an answer too. Likely: "
                "a truthiness check that takes '' for none."
            )
        return ""

    checks.equal(
        (answers, late), (expected_answers, expected_late), f"poll_services() {said}", likely
    )
    await expect_cleaned_up(
        [services[name] for name in expected_late], "poll_services()", f"returned ({said})"
    )
    for name, s in services.items():
        when = s.runs[0].cancelled_at
        expected = t0 + timeout if name in expected_late else None
        if (when is None) != (expected is None) or (
            when is not None and abs(when - expected) > 1e-9
        ):
            pytest.fail(
                f"poll_services() {said}: {s!r} was "
                + ("not cancelled" if when is None else f"cancelled at {when - t0:g} s")
                + (
                    f"; expected it cancelled at the timeout, {timeout:g} s."
                    if expected is not None
                    else "; it had finished before the timeout, so there was nothing to cancel."
                ),
                pytrace=False,
            )
    checks.took(
        took,
        timeout if expected_late else max(s.delay for s in services.values()),
        f"poll_services() {said}",
    )
