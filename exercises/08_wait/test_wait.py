"""Exercise 08 tests. Run them with `pytest exercises/08`."""

import asyncio
from collections.abc import Coroutine

import pytest

from aiokata import checks, exercise_module

wait = exercise_module(__file__)


class Service:
    """A test double for a remote call: `await service()` takes `delay` seconds of loop time,
    then returns `answer` (or raises it, if it is an exception). Whatever happens, it then
    closes its connection, which takes `cleanup` seconds, in a `finally` block.

    It records what happened to it: how often it was called, whether it was cancelled, and
    whether its cleanup ran to the end."""

    def __init__(
        self,
        name: str,
        delay: float,
        answer: str | Exception,
        cleanup: float = 0.0,
        kind: str = "service",
    ):
        self.name = name
        self.kind = kind
        self.delay = delay
        self.answer = answer
        self.cleanup = cleanup
        self.calls = 0
        self.cancelled = False
        self.closed = False

    def __call__(self) -> Coroutine[object, object, str]:
        self.calls += 1
        coro = self._run()
        coro.__name__ = coro.__qualname__ = f"{self.kind}_{self.name}"  # for the kit's reports
        return coro

    async def _run(self) -> str:
        try:
            await asyncio.sleep(self.delay)
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            await asyncio.sleep(self.cleanup)  # closing the connection takes an await too
            self.closed = True

    def __repr__(self) -> str:
        return f"the {self.kind} {self.name!r} (which takes {self.delay:g} s)"


def Job(name: str, delay: float, outcome: str | Exception, cleanup: float = 0.0) -> Service:
    """A deployment job: the same double, reported as a job."""
    return Service(name, delay, outcome, cleanup, kind="job")


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
            f"{what} called asyncio.wait() with no tasks at all, and it raised ValueError: "
            f"{exc}. When nothing is pending (a single service, or every one already done) "
            "there is nothing to cancel or wait for: only wait for the pending set if it is "
            "not empty.",
            pytrace=False,
        )


async def expect_cleaned_up(others: list[Service], what: str, when: str) -> None:
    """Fail unless every service in `others` was cancelled and finished its cleanup already,
    telling apart "left running" from "cancelled but not awaited"."""
    unfinished = [s for s in others if not s.closed]
    if not unfinished:
        return
    for _ in range(3):  # give a cancelled-but-not-awaited task its chance to notice
        await asyncio.sleep(0)
    cancelled_late = [s for s in unfinished if s.cancelled]
    if cancelled_late:
        pytest.fail(
            f"{what} {when} while {cancelled_late[0]!r} was cancelled but not yet finished: "
            "its cleanup (the `finally` that closes its connection) had not run when you "
            f"returned. task.cancel() only asks a task to stop; it stops at its next await, "
            "later. After cancelling the pending tasks, await them too (await asyncio.wait("
            "pending), or asyncio.gather(*pending, return_exceptions=True)).",
            pytrace=False,
        )
    pytest.fail(
        f"{what} {when}, but {unfinished[0]!r} was still running: it was never "
        "cancelled, so it keeps using a connection for an answer nobody will read. Cancel "
        "every task left in the pending set, then await them before you return.",
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


# Task 1: fastest_ip


@pytest.mark.task(1)
async def test_the_first_service_to_answer_wins():
    services = [
        Service("slow", 3, "10.0.0.3"),
        Service("fast", 1, "10.0.0.1"),
        Service("medium", 2, "10.0.0.2"),
    ]
    result = await call("fastest_ip()", wait.fastest_ip(services))
    checks.not_coroutine(result, "fastest_ip()'s result")

    def likely(got: object) -> str:
        if isinstance(got, (set, frozenset, tuple, list)):
            return (
                "asyncio.wait() returns two sets of tasks, (done, pending): take the one "
                "finished task out of `done` and return its .result(), the IP string."
            )
        if isinstance(got, asyncio.Future):
            return "That is the finished task itself: return task.result(), the IP it got."
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
    await call("fastest_ip()", wait.fastest_ip(services))
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
    await call("fastest_ip()", wait.fastest_ip([losers[0], fast, losers[1]]))
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
    await call("fastest_ip()", wait.fastest_ip([sticky, fast]))
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
    await call("fastest_ip()", wait.fastest_ip(services))
    checks.equal(
        [s.calls for s in services],
        [1, 1, 1],
        "Number of calls to each service",
        "Call every service() once, when you create its task: each call is a new request.",
    )


@pytest.mark.task(1)
async def test_a_single_service_is_simply_awaited(looptime):
    result = await call("fastest_ip()", wait.fastest_ip([Service("only", 2, "10.9.9.9")]))
    checks.equal(result, "10.9.9.9", "fastest_ip() with a single service")
    checks.took(looptime, 2, "fastest_ip() with a single 2 s service")


# Task 2: deploy_all


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
    checks.not_coroutine(result, "deploy_all()'s result")
    expected = ["web ok", "db ok", "cache ok", "queue ok", "auth ok"]
    checks.equal(
        list(result) if isinstance(result, (list, tuple)) else result,
        expected,
        "deploy_all() of five jobs that all succeed",
        lambda got: (
            "The reports must follow the order of `jobs`. The `done` set asyncio.wait() gives "
            "back has no order: read the results from your own list of tasks instead."
            if checks.same_items(got, expected)
            else ""
        ),
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
    try:
        result = await call("deploy_all()", wait.deploy_all(jobs))
    except ConnectionRefusedError as exc:
        checks.equal(exc, refused, "The exception deploy_all() raised")
    except Exception as exc:
        not_the_jobs_exception("deploy_all()", exc, refused)
    else:
        checks.not_coroutine(result, "deploy_all()'s result")
        pytest.fail(
            f"deploy_all() returned {result!r} although the 'db' job raised "
            f"ConnectionRefusedError at 1 s. With FIRST_EXCEPTION, asyncio.wait() returns when "
            "a task fails but does not raise anything itself: look for the failed task in "
            "`done` (task.exception() is not None) and raise its exception.",
            pytrace=False,
        )
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
    try:
        await call("deploy_all()", wait.deploy_all(jobs))
    except ValueError:
        pass
    except Exception as exc:
        not_the_jobs_exception("deploy_all()", exc, bad)
    else:
        pytest.fail("deploy_all() should have raised the failing job's ValueError.", pytrace=False)
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
        checks.equal(
            exc,
            first,
            "The exception deploy_all() raised when 'cache' fails at 1 s and 'web' at 2 s",
            "Raise the failure that stopped the deployment, the first one: by the time it "
            "happened, the other job had not failed yet.",
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
        result = await call("poll_services()", wait.poll_services(services, 3))
    except TimeoutError:
        pytest.fail(
            "poll_services() raised TimeoutError, so the two answers that came in time (at 1 s "
            "and 2 s) were lost. asyncio.wait(tasks, timeout=...) never raises on a timeout: it "
            "returns (done, pending), and `done` holds the answers you already have.",
            pytrace=False,
        )
    checks.not_coroutine(result, "poll_services()'s result")
    answers, late = result
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
        list(late),
        ["icanhazip", "ident"],
        "Late services (sorted names)",
        "List the names of the services whose tasks were still pending at the timeout.",
    )


@pytest.mark.task(3)
async def test_late_services_are_cancelled_and_awaited_before_returning():
    late_ones = [Service("slow", 4, "9.9.9.9"), Service("sticky", 6, "8.8.8.8", cleanup=0.25)]
    services = {"quick": Service("quick", 1, "1.1.1.1"), "slow": late_ones[0]}
    services["sticky"] = late_ones[1]
    await call("poll_services()", wait.poll_services(services, 2))
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
    answers, late = await call("poll_services()", wait.poll_services(services, 10))
    checks.equal(
        (answers, list(late)),
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


@pytest.mark.task(3)
async def test_a_broken_service_is_ignored():
    services = {
        "broken": Service("broken", 1, ConnectionResetError("connection reset")),
        "good": Service("good", 2, "5.6.7.8"),
        "slow": Service("slow", 9, "5.6.7.9"),
    }
    try:
        answers, late = await call("poll_services()", wait.poll_services(services, 3))
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
        lambda got: (
            "A failed service is not an answer: leave it out."
            if isinstance(got, dict) and "broken" in got
            else "You stopped when 'broken' failed, at 1 s. A failure does not end the poll: "
            "only the timeout, or every service being done, does. Leave return_when at its "
            "default (ALL_COMPLETED) and just pass timeout=."
            if got == {}
            else ""
        ),
    )
    checks.equal(
        list(late),
        ["slow"],
        "Late services",
        "Only services still running at the timeout are late; 'broken' had already finished "
        "(by failing).",
    )


@pytest.mark.task(3)
async def test_the_timeout_is_exact(looptime):
    services = {
        "x": Service("x", 2.25, "10.1.1.1"),
        "y": Service("y", 2.75, "10.2.2.2"),
        "z": Service("z", 1.5, "10.3.3.3"),
    }
    answers, late = await call("poll_services()", wait.poll_services(services, 2.5))
    checks.equal(
        (answers, list(late)),
        ({"x": "10.1.1.1", "z": "10.3.3.3"}, ["y"]),
        "poll_services() with a 2.5 s timeout, services taking 2.25, 2.75 and 1.5 s",
    )
    checks.took(looptime, 2.5, "poll_services() with a 2.5 s timeout")


@pytest.mark.task(3)
async def test_when_nobody_answers_in_time_everyone_is_late(looptime):
    services = {"b": Service("b", 5, "2.2.2.2"), "a": Service("a", 4, "1.1.1.1")}
    answers, late = await call("poll_services()", wait.poll_services(services, 1))
    checks.equal(
        (answers, list(late)),
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
        answers, late = await call("poll_services()", wait.poll_services(services, 2))
        expected = sorted(names)
        wrong_order = (
            "Those are the right names in the wrong order. `late` must be sorted: the "
            "pending set has no order of its own. Return sorted(names)."
            if checks.same_items(list(late), expected)
            else ""
        )
        checks.equal(
            list(late),
            expected,
            f"Late services out of {names} (all still running at the timeout)",
            wrong_order,
        )
        checks.equal(answers, {"fast": "1.1.1.1"}, "Answers within the 2 s timeout")
