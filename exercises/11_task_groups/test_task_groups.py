"""Exercise 11 tests. Run them with `pytest exercises/11`."""

import asyncio
import os
from dataclasses import dataclass, field

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import now

task_groups = exercise_module(__file__)

CLEANUP = 0.25  # what a cancelled fake job takes to close its connection

DAY = 86_400


def this_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]


# The tests in which a job of a fetch_unless_offline() call raised Offline: a later call of the
# same test that returns None with nothing Offline may have kept a flag between calls.
OFFLINE_RAISED: set[str] = set()


def offline(name: str) -> Exception:
    """The learner's own Offline exception (their module defines the class)."""
    return task_groups.Offline(f"{name} is offline")


class Job:
    """A fake job (or check): works for `seconds`, then returns `result` or raises `error`.
    Cancelled, it takes `cleanup` s to close its connection. Records, in loop time from
    when it was made, when it started, was cancelled and ended, and how it ended."""

    def __init__(
        self,
        seconds: float = 1,
        result: object = "page",
        error: BaseException | None = None,
        cleanup: float = CLEANUP,
    ) -> None:
        self.seconds, self.result, self.error, self.cleanup = seconds, result, error, cleanup
        self.t0 = now()
        self.calls = 0
        self.task: asyncio.Task | None = None
        self.started_at: float | None = None
        self.cancelled_at: float | None = None
        self.interrupted_at: float | None = None  # a second cancel cut the cleanup short
        self.ended_at: float | None = None
        self.how: str | None = None  # "returned", "raised" or "cancelled"

    def since(self) -> float:
        return round(now() - self.t0, 6)

    def __call__(self):  # -> the coroutine the learner awaits or makes a task of
        self.calls += 1
        return self.service_call()

    async def service_call(self) -> object:
        self.task = asyncio.current_task()
        self.started_at = self.since()
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled_at = self.since()
            try:
                if self.cleanup:
                    await asyncio.sleep(self.cleanup)  # closing the connection takes a moment
            except asyncio.CancelledError:
                self.interrupted_at = self.since()
                raise
            finally:
                self.ended_at, self.how = self.since(), "cancelled"
            raise
        self.ended_at = self.since()
        if self.error is not None:
            self.how = "raised"
            raise self.error
        self.how = "returned"
        return self.result

    def __repr__(self) -> str:
        what = f"raises {self.error!r}" if self.error is not None else f"returns {self.result!r}"
        return f"<job: {self.seconds:g} s, {what}>"

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.ended_at is None


def cancel_of(job: Job) -> str:
    """How far a running job's cancellation has got: "" when it was never cancelled."""
    if job.cancelled_at is not None:
        return f"was cancelled at {job.cancelled_at:g} s"
    if job.task is not None and job.task.cancelling():
        return "had been cancelled (its CancelledError not yet delivered)"
    return ""


@dataclass
class Run:
    """How one call of the learner's function went, seen from its caller."""

    value: object = None
    error: BaseException | None = None
    ended_at: float | None = None  # loop time from the call
    alive: list[str] = field(default_factory=list)  # jobs still running when it ended
    cancelled: dict[str, str] = field(default_factory=dict)  # ... and cancelled by then
    never_ended: bool = False


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside a (possibly nested) exception group, or the error itself."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


def outcome(r: Run) -> str:
    if r.never_ended:
        return "never ended"
    if r.error is not None:
        return f"raised {r.error!r}"
    return f"returned {r.value!r}"


async def settle(fakes: dict) -> None:
    """Test cleanup: end every fake job still running, whatever the learner left behind."""
    tasks = {job.task for job in fakes.values() if isinstance(job, Job) and job.task}
    for _ in range(3):
        pending = [t for t in tasks if not t.done() and t is not asyncio.current_task()]
        if not pending:
            break
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=5)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" noise


async def call(name: str, jobs: dict, fakes: dict | None = None, limit: float = 1_000) -> Run:
    """Await the learner's function `name` on `jobs`; record how and when it ended, and which
    fake jobs were still running at that moment. `fakes` are the Jobs to watch (by name)."""
    before = dict(jobs)  # the caller's dict as it was: the learner's code may change `jobs`
    fakes = before if fakes is None else fakes
    function = getattr(task_groups, name)
    r = Run()
    t0 = now()

    async def observed() -> None:
        try:
            r.value = await function(jobs)
        except NotImplementedError:
            raise
        except asyncio.CancelledError as exc:
            me = asyncio.current_task()
            if me is not None and me.cancelling():
                raise  # the test's own time limit: not the learner's doing
            r.error = exc
        except (Exception, BaseExceptionGroup) as exc:
            r.error = exc
        r.ended_at = round(now() - t0, 6)
        r.alive = [n for n, job in fakes.items() if isinstance(job, Job) and job.running]
        r.cancelled = {n: cancel_of(fakes[n]) for n in r.alive if cancel_of(fakes[n])}

    try:
        await checks.within(
            limit,
            observed(),
            f"{name}() never returned: it was still waiting {limit:g} s after it was called, "
            f"though every {'check' if name == 'run_checks' else 'job'} had ended long before. "
            "Likely: it waits for something that never comes (a task that was never started, "
            "or an Event never set).",
        )
    finally:
        await settle(fakes)
    if list(jobs.items()) != list(before.items()) or any(jobs[n] is not before[n] for n in before):
        noun = "checks" if name == "run_checks" else "jobs"
        pytest.fail(
            f"{scene_of(before, noun)}: {name}() changed the caller's dict of {noun}; after "
            f"the call it was {jobs!r}. Leave `{noun}` unchanged: put the results in a new "
            "dict of your own and return that.",
            pytrace=False,
        )
    if name == "fetch_unless_offline" and any(
        isinstance(j, Job) and j.how == "raised" and isinstance(j.error, task_groups.Offline)
        for j in fakes.values()
    ):
        OFFLINE_RAISED.add(this_test())
    if isinstance(r.error, TimeoutError) and not any(
        r.error is getattr(job, "error", None) for job in fakes.values()
    ):
        pytest.fail(
            f"{name}() raised TimeoutError after {r.ended_at:g} s, though the slowest job takes "
            f"{max((j.seconds for j in fakes.values() if isinstance(j, Job)), default=0):g} s "
            "and nothing in the test has a time limit. Likely: a timeout of your own (an "
            "asyncio.timeout() or wait_for() 'to be safe'). Wait as long as the jobs take.",
            pytrace=False,
        )
    if isinstance(r.error, ValueError) and "empty" in str(r.error) and not jobs:
        pytest.fail(
            f"{name}({{}}) raised {r.error!r}: with no jobs there is nothing to wait for, and "
            "asyncio.wait() refuses an empty set. No jobs give {}: return it before waiting "
            "(a TaskGroup or gather() of nothing simply ends at once).",
            pytrace=False,
        )
    if r.error is not None and not isinstance(r.error, BaseExceptionGroup):
        known = [job.error for job in fakes.values() if isinstance(job, Job)]
        if not isinstance(r.error, asyncio.CancelledError) and not any(r.error is e for e in known):
            raise r.error  # the learner's own bug: the kit says where it came from
    checks.not_coroutine(r.value, f"{name}()'s result")
    return r


# The oracle: what each job does and how the call ends, for each task's rules.


@dataclass
class Expected:
    fates: dict[str, tuple]  # name -> ("returned" | "raised" | "cancelled", at)
    ended_at: float
    failed_at: float | None  # when the first job failed (None: nothing failed)
    failures: list[str]  # the jobs whose errors the call reports
    value: object = None  # the dict returned, or None
    raises: str | None = None  # "group" (of `failures`'s errors) or "checks"


def oracle(task: int, fakes: dict[str, Job]) -> Expected:
    failing = [n for n, j in fakes.items() if j.error is not None]
    if task == 3 or not failing:
        fates = {n: ("raised" if j.error else "returned", j.seconds) for n, j in fakes.items()}
        value = {n: j.result for n, j in fakes.items() if j.error is None}
        ended = max((j.seconds for j in fakes.values()), default=0)
        failed_at = min((fakes[n].seconds for n in failing), default=None)
        return Expected(
            fates,
            ended,
            failed_at,
            failing,
            None if failing else value,
            "checks" if failing else None,
        )
    at = min(fakes[n].seconds for n in failing)
    fates = {}
    for n, j in fakes.items():
        if j.seconds <= at:  # done by then: all the steps due at one loop time run together
            fates[n] = ("raised" if j.error else "returned", j.seconds)
        else:
            fates[n] = ("cancelled", at)
    ended = max([at] + [at + j.cleanup for n, j in fakes.items() if fates[n][0] == "cancelled"])
    failures = [n for n in failing if fakes[n].seconds == at]
    if task == 2:
        bugs = [n for n in failures if not isinstance(fakes[n].error, task_groups.Offline)]
        return Expected(fates, ended, at, bugs, None, "group" if bugs else None)
    return Expected(fates, ended, at, failures, None, "group")


def who_failed(fakes: dict[str, Job], exp: Expected) -> str:
    names = [n for n, j in fakes.items() if j.error is not None and j.seconds == exp.failed_at]
    errors = " and ".join(f"{n!r} raised {fakes[n].error!r}" for n in names)
    return f"{errors} at {exp.failed_at:g} s"


def judge(task: int, r: Run, fakes: dict[str, Job], scene: str) -> None:
    """Compare a run with the oracle and fail with the first difference, in the learner's
    words. `scene` begins each message ("With jobs ..., fetch_all()")."""
    function = {1: "fetch_all", 2: "fetch_unless_offline", 3: "run_checks"}[task]
    noun = "check" if task == 3 else "job"
    exp = oracle(task, fakes)
    if r.alive:
        name = r.alive[0]
        job = fakes[name]
        when = f"it {outcome(r).split(' ', 1)[0]} at {r.ended_at:g} s"
        if name in r.cancelled:
            pytest.fail(
                f"{scene}: {function}() ended ({when}) while {name!r} {r.cancelled[name]} and "
                f"had not ended yet (its cleanup takes {job.cleanup:g} s): it did not wait for "
                "the tasks it cancelled, so they outlived the call. "
                "task.cancel() only asks; await the cancelled tasks before you return or raise "
                "(a TaskGroup waits for them itself).",
                pytrace=False,
            )
        hint = (
            "a fire-and-forget task that outlives the function. Likely: asyncio.gather() "
            "without return_exceptions, which raises the first error at once and leaves the "
            "other jobs running; or tasks made with create_task() and never cancelled. In a "
            "`async with asyncio.TaskGroup() as tg:` block the others are cancelled and "
            "waited for."
            if task != 3
            else "a task that outlives the function. Likely: asyncio.gather() without "
            "return_exceptions=True, which raises the first error at once and leaves the other "
            "checks running. Run every check to its end before you raise."
        )
        pytest.fail(
            f"{scene}: {function}() ended ({when}) while {name!r} was still running, never "
            f"cancelled: {hint}",
            pytrace=False,
        )
    for n, job in fakes.items():
        if job.calls != 1:
            pytest.fail(
                f"{scene}: {function}() called {n!r} {checks.count(job.calls, 'time')}; expected "
                "exactly once"
                + (
                    f". A failed {noun} is reported, not tried again."
                    if job.calls > 1 and job.error is not None
                    else f": every {noun} once, however many there are, whatever they return."
                ),
                pytrace=False,
            )
    late = {n: j.started_at for n, j in fakes.items() if j.started_at not in (None, 0.0)}
    if late:
        n = next(iter(late))
        pytest.fail(
            f"{scene}: {n!r} started at {late[n]:g} s; expected every {noun} to start at once, "
            f"at 0 s. Likely: the {noun}s were awaited one after another. Make them all tasks "
            "first "
            + (
                "(tg.create_task() for each), then wait for them together."
                if task != 3
                else "(or hand them all to asyncio.gather() at once), then wait for them together."
            ),
            pytrace=False,
        )
    for n, (how, at) in exp.fates.items():
        job = fakes[n]
        got = (job.how, job.cancelled_at if job.how == "cancelled" else job.ended_at)
        if got == (how, at):
            continue
        if how == "cancelled":
            if job.how == "cancelled":
                pytest.fail(
                    f"{scene}: {n!r} was cancelled at {job.cancelled_at:g} s; expected at "
                    f"{at:g} s, the moment {who_failed(fakes, exp)}. Cancel the others as soon "
                    "as one fails, not earlier or later (a TaskGroup does it at once).",
                    pytrace=False,
                )
            pytest.fail(
                f"{scene}: {n!r} was not cancelled when {who_failed(fakes, exp)}: it went on "
                f"and {job.how} at {job.ended_at:g} s, and {function}() waited for it. Once a "
                "job has failed the others' work is wasted: cancel them at that moment. Likely: "
                "asyncio.gather(..., return_exceptions=True) or asyncio.wait() for all the "
                "tasks; a TaskGroup cancels the rest when a child fails.",
                pytrace=False,
            )
        if job.how == "cancelled":
            first = [m for m, j in fakes.items() if j.error is not None]
            pytest.fail(
                f"{scene}: {n!r} was cancelled at {job.cancelled_at:g} s; expected it to run to "
                f"its end and {how} at {at:g} s."
                + (
                    f" A failing check must not stop the others: {first[0]!r} failed at "
                    f"{fakes[first[0]].seconds:g} s, and its siblings were cancelled. Likely: a "
                    "TaskGroup, which cancels the rest when one child fails. Let every check run "
                    "to its end (gather with return_exceptions=True, or catch each check's error "
                    "inside its own task)."
                    if task == 3 and first
                    else " Cancel the others only when a job fails."
                ),
                pytrace=False,
            )
        pytest.fail(
            f"{scene}: {n!r} "
            + ("never ran" if job.how is None else f"{job.how} at {job.ended_at:g} s")
            + f"; expected it to {how} at {at:g} s.",
            pytrace=False,
        )
    judge_outcome(task, r, fakes, exp, scene, function)
    if r.ended_at != exp.ended_at:
        pytest.fail(
            f"{scene}: {function}() {outcome(r).split(' ', 1)[0]} at {r.ended_at:g} s; expected "
            f"at {exp.ended_at:g} s"
            + (
                f", when the last {noun} had ended. Likely: it waited longer than needed (polling, "
                "or a sleep of its own)."
                if r.ended_at > exp.ended_at
                else "."
            ),
            pytrace=False,
        )


def judge_outcome(task: int, r: Run, fakes: dict[str, Job], exp: Expected, scene, function):
    noun = "check" if task == 3 else "job"
    errors = [fakes[n].error for n in exp.failures]
    said = f"{scene}: {function}() {outcome(r)}"
    if isinstance(r.error, asyncio.CancelledError):
        pytest.fail(
            f"{said} to its caller, though nobody cancelled {function}(). The CancelledErrors "
            "of the tasks you cancelled are expected: they must not escape. Likely: awaiting a "
            "cancelled task without catching its CancelledError; a TaskGroup handles them.",
            pytrace=False,
        )
    if exp.raises is None:
        if r.error is not None:
            if task == 2 and isinstance(r.error, BaseExceptionGroup):
                only = all(isinstance(e, task_groups.Offline) for e in leaves(r.error))
                pytest.fail(
                    f"{said}; expected None: "
                    + (
                        "every failure was Offline, which is expected (try again later), yet "
                        "the Offline errors reached the caller. Likely: an `except Offline:` "
                        "clause, which never matches here (a TaskGroup raises an ExceptionGroup "
                        "around its children's errors, never the bare error); a `raise` inside "
                        "`except* Offline:`, which sends on the very errors it was meant to "
                        "handle (set a flag there instead, and return None after the `try`); "
                        "or an `except*` whose `try:` does not hold the whole `async with` "
                        "block (the group is raised as the block ends). Put the block inside "
                        "`try:` and handle `except* Offline:` (or catch ExceptionGroup and "
                        "split() it)."
                        if only
                        else "the only failures were Offline."
                    ),
                    pytrace=False,
                )
            if task == 2 and isinstance(r.error, task_groups.Offline):
                pytest.fail(
                    f"{said} itself; expected None, since every failure was Offline.",
                    pytrace=False,
                )
            pytest.fail(f"{said}; expected it to return {exp.value!r}.", pytrace=False)
        expected = exp.value if exp.failed_at is None else None
        if type(r.value) is not type(expected):
            pytest.fail(
                said
                + ("" if r.value is None else f", a {type(r.value).__name__}")
                + "; expected "
                + (
                    "None: every failure was Offline (try again later)."
                    if expected is None
                    else f"a new dict, {expected!r}"
                    + (
                        f". No {noun} failed, so none was Offline: no {noun}s give {{}}"
                        if r.value is None and not fakes
                        else ""
                    )
                    + (
                        f". Nothing failed in this call, but in an earlier {function}() call "
                        "of this test a job raised Offline. Likely: a flag kept "
                        "between calls (at module level, set by `except* Offline:` and never "
                        "reset). Keep nothing between calls: set the flag to False at the start "
                        "of each call."
                        if r.value is None and task == 2 and this_test() in OFFLINE_RAISED and fakes
                        else "."
                    )
                ),
                pytrace=False,
            )
        if isinstance(r.value, dict):
            values = [v for v in r.value.values() if isinstance(v, asyncio.Future)]
            if values:
                pytest.fail(
                    f"{scene}: {function}() returned a dict whose values are "
                    f"{type(values[0]).__name__} objects: its values are tasks, not the jobs' "
                    "results. Once the tasks are done, read each one's result with "
                    "task.result().",
                    pytrace=False,
                )
        checks.equal(
            r.value,
            expected,
            f"{scene}: {function}()'s result",
            result_likely(fakes, expected, noun),
        )
        if isinstance(r.value, dict) and list(r.value) != list(expected):
            pytest.fail(
                f"{said}: the right results, but in the order {list(r.value)!r}; expected the "
                f"order of the {noun}s, {list(expected)!r}.",
                pytrace=False,
            )
        if r.value is not None and any(r.value is v for v in (fakes,)):
            pytest.fail(
                f"{said}: the very dict of jobs you were given, filled with results. Return a "
                "new dict and leave the caller's unchanged.",
                pytrace=False,
            )
        return
    # An error is expected.
    if r.error is None:
        if task == 2:
            pytest.fail(
                f"{said} although {who_failed(fakes, exp)}: "
                + ", ".join(f"{fakes[n].error!r}" for n in exp.failures)
                + " is a bug, not Offline, and was swallowed. Handle only the Offline errors "
                "(`except* Offline:`) and let every other error reach the caller: an `except "
                "ExceptionGroup:`, `except* Exception:` or `except Exception:` hides them all.",
                pytrace=False,
            )
        pytest.fail(
            f"{said} although "
            + (
                who_failed(fakes, exp)
                if task != 3
                else ", ".join(f"{n!r} raised {fakes[n].error!r}" for n in exp.failures)
            )
            + ": a failure must reach the caller"
            + (
                ", in an ExceptionGroup. Likely: gather(return_exceptions=True), or an `except` "
                "that swallowed the error."
                if task == 1
                else ", in a ChecksFailed(results, errors)."
            ),
            pytrace=False,
        )
    if exp.raises == "checks":
        judge_checks_failed(r, fakes, exp, said)
        return
    if not isinstance(r.error, BaseExceptionGroup):
        pytest.fail(
            f"{said} itself, bare; expected an ExceptionGroup holding {errors!r}. Likely: "
            "asyncio.gather() or asyncio.wait(), which hand you one error at a time. A "
            "TaskGroup raises its children's errors together in an ExceptionGroup; if you run "
            "the tasks yourself, raise ExceptionGroup(message, errors).",
            pytrace=False,
        )
    nested = [e for e in r.error.exceptions if isinstance(e, BaseExceptionGroup)]
    if nested:
        pytest.fail(
            f"{said}: a group inside a group. Expected one flat ExceptionGroup whose "
            f".exceptions are the {noun}s' errors themselves, {errors!r}; its .exceptions hold "
            f"{nested[0]!r}, itself a group. Likely: the TaskGroup's ExceptionGroup caught and "
            "wrapped in a new one (`raise ExceptionGroup(..., [eg])`). Let it through as it is "
            "(a bare `raise`, or no `except` at all), or build the new group from "
            "eg.exceptions.",
            pytrace=False,
        )
    got = leaves(r.error)
    missing = [e for e in errors if not any(e is g for g in got)]
    extra = [g for g in got if not any(e is g for e in errors)]
    if extra and task == 2 and all(isinstance(g, task_groups.Offline) for g in extra):
        pytest.fail(
            f"{said}; expected an ExceptionGroup holding only {errors!r}. It still holds the "
            f"Offline errors {extra!r}, which you handle: let only the other errors through "
            "(`except* Offline:` does that for you; by hand, eg.split(Offline)).",
            pytrace=False,
        )
    if missing or extra:
        pytest.fail(
            f"{said}; expected an ExceptionGroup holding exactly {errors!r}"
            + (
                f": {missing!r} {'is' if len(missing) == 1 else 'are'} missing. Every job "
                f"that failed must be in it ({who_failed(fakes, exp)}). Likely: only the "
                "first error was kept."
                if missing
                else f": {extra!r} should not be there."
            ),
            pytrace=False,
        )


def judge_checks_failed(r: Run, fakes: dict[str, Job], exp: Expected, said: str) -> None:
    errors = {n: fakes[n].error for n in exp.failures}
    results = {n: j.result for n, j in fakes.items() if j.error is None}
    if not isinstance(r.error, task_groups.ChecksFailed):
        bare = not isinstance(r.error, BaseExceptionGroup)
        pytest.fail(
            f"{said}; expected ChecksFailed(results, errors) with results={results!r} and "
            f"errors={errors!r}"
            + (
                ". Likely: the first check's error was raised as it is (asyncio.gather() "
                "without return_exceptions=True does that)."
                if bare
                else ". A plain ExceptionGroup does not carry the results of the checks that "
                "passed: raise ChecksFailed(results, errors)."
            ),
            pytrace=False,
        )
    got_errors = r.error.errors
    if (
        not isinstance(got_errors, dict)
        or list(got_errors) != list(errors)
        or any(got_errors[n] is not errors[n] for n in errors)
    ):
        pytest.fail(
            f"{said}; its errors were {got_errors!r}, expected {errors!r}: every check that "
            "failed, by name, in the order of `checks`, each with the exception it raised"
            + errors_likely(got_errors, errors),
            pytrace=False,
        )
    got = r.error.results
    if got != results or list(got) != list(results) or type(got) is not dict:
        pytest.fail(
            f"{said}; its results were {got!r}, expected {results!r}: the results of every "
            "check that passed must come with the failures" + results_likely(got, results),
            pytrace=False,
        )


def errors_likely(got: object, errors: dict[str, BaseException]) -> str:
    """Why ChecksFailed.errors differs from `errors`, as far as the test can tell."""
    if not isinstance(got, dict):
        return "."
    lost = [n for n in errors if not any(v is errors[n] for v in got.values())]
    odd = [k for k in got if k not in errors]
    if odd:
        return (
            f". The keys {odd!r} are not the names of the checks that failed: key each error by "
            "its check's name, as in `checks`"
            + (
                f". Keyed otherwise, errors can share a key and overwrite one another: the "
                f"errors of {lost!r} are missing."
                if lost
                else "."
            )
        )
    if lost:
        return (
            f". The errors of {lost!r} are missing: collect every failed check's error before "
            "you raise."
        )
    return "."


def results_likely(got: object, results: dict[str, object]) -> str:
    """Why ChecksFailed.results differs from `results`, as far as the test can tell."""
    if not isinstance(got, dict):
        return ", by name, in the order of `checks`."
    lost = [n for n in results if n not in got]
    if lost and all(not results[n] for n in lost):
        return (
            f". The checks {lost!r} returned {[results[n] for n in lost]!r}: falsy, but results "
            "all the same. Keep every result (no `if result:`)."
        )
    if lost:
        return f". The results of {lost!r} are missing."
    return ", by name, in the order of `checks`."


def result_likely(fakes: dict[str, Job], expected: object, noun: str = "job"):
    def likely(got: object) -> str:
        if not isinstance(got, dict) or not isinstance(expected, dict):
            return ""
        lost = [k for k in expected if k not in got]
        if lost and all(not expected[k] for k in lost):
            return (
                f"The {noun}s {lost!r} returned {[expected[k] for k in lost]!r}: falsy, but "
                "results all the same. Keep every result (no `if result:`)."
            )
        odd = [k for k in got if k not in expected]
        changed = [k for k in lost if isinstance(k, str) and (k.strip() in got or k.lower() in got)]
        if changed and not odd:
            return (
                f"The names {changed!r} are missing, and their stripped or lower-case forms "
                "are there: keep each name exactly as given (never strip, lower-case or change "
                "it)."
            )
        if odd:
            return (
                f"The names {odd!r} are not the {noun}s' names: keep each name exactly as given "
                "(never strip, lower-case or change it)."
            )
        return ""

    return likely


def describe(fakes: dict) -> str:
    """The jobs, in the learner's words: "'a' (1 s, returns 'A'), 'b' (2 s, raises ...)"."""
    if not fakes:
        return "no jobs"
    return ", ".join(
        f"{n!r} ({j.seconds:g} s, "
        + (f"raises {j.error!r}" if j.error is not None else f"returns {j.result!r}")
        + ")"
        if isinstance(j, Job)
        else f"{n!r} (the function {getattr(j, '__name__', j)})"
        for n, j in fakes.items()
    )


def scene_of(fakes: dict, noun: str = "jobs") -> str:
    """How a message begins: "With jobs 'a' (1 s, returns 'A')", or "With no jobs at all"."""
    if not fakes:
        return f"With no {noun} at all ({{}})"
    return f"With {noun} {describe(fakes)}"


async def cancelled_from_outside(name: str, fakes: dict[str, Job], at: float) -> None:
    """Run the learner's function as a task, cancel it at `at`, and check that it ends
    cancelled once every job has been cancelled and has cleaned up."""
    function = getattr(task_groups, name)
    noun = "checks" if name == "run_checks" else "jobs"
    t0 = now()
    task = asyncio.create_task(function(fakes))
    ended: list[float] = []
    task.add_done_callback(lambda _: ended.append(round(now() - t0, 6)))
    try:
        await asyncio.sleep(at)
        if task.done() and not task.cancelled() and task.exception() is not None:
            task.result()  # the stub's NotImplementedError, or the learner's own bug
        if task.done():
            pytest.fail(
                f"{name}() ended at {ended[0]:g} s, before the {noun} (of "
                f"{', '.join(f'{j.seconds:g}' for j in fakes.values())} s) were done.",
                pytrace=False,
            )
        task.cancel()
        await asyncio.wait([task], timeout=100)
        alive = [n for n, j in fakes.items() if j.running]
        scene = (
            f"{name}() with {noun} of "
            f"{', '.join(f'{j.seconds:g}' for j in fakes.values())} s, cancelled at {at:g} s"
        )
        if not task.done():
            pytest.fail(
                f"{scene}: it was still running 100 s after the cancel. Likely: it caught the "
                "CancelledError and went on waiting.",
                pytrace=False,
            )
        if alive:
            pytest.fail(
                f"{scene}: it ended while {alive[0]!r} was still "
                + (
                    "cleaning up after its cancel: wait for the cancelled tasks before you go."
                    if fakes[alive[0]].cancelled_at is not None
                    else f"running, never cancelled: the {noun} outlived the call. Likely: "
                    "asyncio.wait() or asyncio.shield(), which do not cancel what they wait "
                    "for when you are cancelled; cancel every task (a TaskGroup or gather do)."
                ),
                pytrace=False,
            )
        if not task.cancelled():
            error = task.exception()
            pytest.fail(
                f"{scene}: it "
                + (f"returned {task.result()!r}" if error is None else f"raised {error!r}")
                + " instead of ending cancelled. Let the caller's CancelledError through: never "
                "catch BaseException or CancelledError without re-raising it.",
                pytrace=False,
            )
        fates = {n: (j.how, j.cancelled_at) for n, j in fakes.items()}
        checks.equal(
            fates,
            {n: ("cancelled", at) for n in fakes},
            f"{scene}: (how each {noun[:-1]} ended, when it was cancelled)",
            f"Cancel every {noun[:-1]} the moment you are cancelled.",
        )
        checks.equal(
            ended[0],
            at + CLEANUP,
            f"{scene}: loop time at which it ended "
            f"(each {noun[:-1]}'s cleanup takes {CLEANUP:g} s)",
            f"End once every cancelled {noun[:-1]} has cleaned up: await them.",
        )
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=5)
        await settle(fakes)


async def two_calls_at_once(name: str) -> None:
    """Two calls at once: one's failure must not touch the other's jobs."""
    function = getattr(task_groups, name)
    first = {"a": Job(3, "A1"), "b": Job(1, error=KeyError("b broke"))}
    second = {"a": Job(2, "A2"), "c": Job(2, "C2")}
    one = asyncio.create_task(function(first))
    two = asyncio.create_task(function(second))
    try:
        await asyncio.wait([one, two], timeout=100)
        for task in (one, two):
            if task.done() and not task.cancelled():
                error = task.exception()
                if isinstance(error, NotImplementedError):
                    task.result()
        if not two.done():
            pytest.fail(f"The second {name}() call never ended.", pytrace=False)
        fates = {n: (j.how, j.cancelled_at or j.ended_at) for n, j in second.items()}
        if any(how == "cancelled" for how, _ in fates.values()):
            pytest.fail(
                f"Two {name}() calls ran at once; the first one's job 'b' failed at 1 s, and the "
                f"second call's jobs ended {fates!r}: they were cancelled, though nothing of "
                "theirs failed. Something is shared between calls (a module-level set or dict "
                "of tasks, or a group kept between calls): keep every task in a local variable, "
                "or use a TaskGroup made in the call.",
                pytrace=False,
            )
        got = "cancelled" if two.cancelled() else two.exception() or two.result()
        checks.equal(
            got,
            {"a": "A2", "c": "C2"},
            f"The second of two {name}() calls at once (its jobs 'a' and 'c' return 'A2' and "
            "'C2' after 2 s; the first call's 'a' returns 'A1')",
            "Each call returns its own jobs' results, and only those: keep nothing between calls.",
        )
    finally:
        for task in (one, two):
            if not task.done():
                task.cancel()
        await asyncio.wait([one, two], timeout=5)
        for task in (one, two):
            if task.done() and not task.cancelled():
                task.exception()
        await settle(first)
        await settle(second)


def borrowed(got: object, mine: dict[str, Job], theirs: dict[str, Job]) -> list[str]:
    """The entries of a call's results that are another call's jobs' results, not its own."""
    if not isinstance(got, dict):
        return []
    own = [j.result for j in mine.values()]
    return [
        f"{k!r}: {v!r}"
        for k, v in got.items()
        if not any(v == o for o in own) and any(v == j.result for j in theirs.values())
    ]


def ended_with(r: Run) -> object:
    """What a call handed back: its dict, or the results a ChecksFailed carried."""
    if r.error is not None:
        return getattr(r.error, "results", None)
    return r.value


async def overlapping_calls(name: str) -> None:
    """Two calls that overlap, every job passing: each call's results are read after the
    other call has written results under the same names."""
    noun = "checks" if name == "run_checks" else "jobs"
    first = {"y": Job(1, "Y1"), "x": Job(2, "X1"), "z": Job(4, "Z1")}
    one = asyncio.create_task(call(name, first))
    await asyncio.sleep(0.5)
    second = {"x": Job(1, "X2"), "y": Job(2.5, "Y2")}
    two = asyncio.create_task(call(name, second))
    await asyncio.wait([one, two])  # each call() has its own time limit
    for task in (one, two):
        task.exception()  # both retrieved, whichever raises first below
    r1, r2 = one.result(), two.result()
    runs = ((r1, first, second), (r2, second, first))
    if any(borrowed(ended_with(r), mine, theirs) for r, mine, theirs in runs):
        said = " ".join(
            f"The {which} call {outcome(r)}; expected {mine_results!r}"
            + (
                f": {', '.join(borrowed(ended_with(r), mine, theirs))} "
                f"{'is' if len(borrowed(ended_with(r), mine, theirs)) == 1 else 'are'} the "
                "other call's."
                if borrowed(ended_with(r), mine, theirs)
                else " (right)."
            )
            for which, (r, mine, theirs), mine_results in zip(
                ("first", "second"),
                runs,
                ({n: j.result for n, j in first.items()}, {n: j.result for n, j in second.items()}),
                strict=True,
            )
        )
        pytest.fail(
            f"Two {name}() calls overlapped: the first, called at 0 s with {noun} "
            f"{describe(first)}; the second, called at 0.5 s with {noun} {describe(second)}. "
            f"{said} One call read what the other had written: something is kept between "
            "calls (a module-level dict of tasks or results, cleared or not). Keep nothing "
            "between calls: make every dict of tasks or results afresh, in a local variable of "
            "the call.",
            pytrace=False,
        )
    task = {"fetch_all": 1, "fetch_unless_offline": 2, "run_checks": 3}[name]
    judge(
        task,
        r1,
        first,
        f"Of two {name}() calls that overlap, the first, with {noun} {describe(first)}",
    )
    judge(
        task,
        r2,
        second,
        f"Of two {name}() calls that overlap, the second (called at 0.5 s), "
        f"with {noun} {describe(second)}",
    )


# Task 1: fetch_all


@pytest.mark.task(1)
async def test_fetch_all_returns_every_result_by_name():
    fakes = {"weather": Job(1, "sunny"), "news": Job(2, "calm"), "stocks": Job(1.5, "up")}
    r = await call("fetch_all", fakes)
    judge(1, r, fakes, scene_of(fakes))
    if type(r.value) is not dict:
        pytest.fail(
            f"fetch_all() returned a {type(r.value).__name__}; expected a dict.", pytrace=False
        )


@pytest.mark.task(1)
async def test_fetch_all_runs_the_jobs_at_once_and_takes_as_long_as_the_slowest():
    fakes = {f"part{i}": Job(seconds, f"P{i}") for i, seconds in enumerate([2, 3, 1, 3, 2.5])}
    r = await call("fetch_all", fakes)
    judge(1, r, fakes, "With five jobs of 2, 3, 1, 3 and 2.5 s")
    checks.took(r.ended_at, 3, "fetch_all() of five jobs of 2, 3, 1, 3 and 2.5 s")


@pytest.mark.task(1)
async def test_fetch_all_keeps_falsy_results():
    fakes = {"none": Job(1, None), "zero": Job(1, 0), "empty": Job(1, ""), "list": Job(1, [])}
    r = await call("fetch_all", fakes)
    judge(1, r, fakes, scene_of(fakes))


@pytest.mark.task(1)
async def test_fetch_all_of_no_jobs_is_an_empty_dict():
    r = await call("fetch_all", {})
    judge(1, r, {}, "With no jobs at all ({})")


@pytest.mark.task(1)
async def test_fetch_all_calls_the_same_job_once_per_name():
    calls: list[str] = []

    async def shared_job() -> str:
        calls.append("call")
        await asyncio.sleep(1)
        return "same"

    jobs = {"first": shared_job, "second": shared_job, "third": Job(1, "other")}
    r = await call("fetch_all", jobs, fakes={"third": jobs["third"]})
    checks.equal(
        (r.value, len(calls)),
        ({"first": "same", "second": "same", "third": "other"}, 2),
        "(fetch_all()'s result, calls of the job given under the names 'first' and 'second')",
        "The same job under two names is still two jobs: call it once per name, and keep a "
        "result for each name.",
    )


@pytest.mark.task(1)
async def test_fetch_all_leaves_jobs_unchanged_and_returns_a_new_dict():
    fakes = {"a": Job(1, "A"), "b": Job(2, "B")}
    given = dict(fakes)
    r = await call("fetch_all", given, fakes=fakes)
    checks.equal(
        given, fakes, "The caller's dict of jobs after fetch_all()", "Leave `jobs` unchanged."
    )
    if r.value is given:
        pytest.fail(
            "fetch_all() returned the very dict of jobs it was given: return a new dict.",
            pytrace=False,
        )
    judge(1, r, fakes, scene_of(fakes))


@pytest.mark.task(1)
async def test_fetch_all_keys_each_result_by_its_name_exactly():
    names = ["a", "A", " a", "", "a ", "café", "ä/ü?x=1"]
    fakes = {n: Job(1, f"page of {n!r}") for n in names}
    r = await call("fetch_all", fakes)
    judge(1, r, fakes, f"With jobs named {names!r}")


@pytest.mark.task(1)
async def test_a_failure_cancels_the_other_jobs_at_that_moment():
    fakes = {
        "profile": Job(0.5, "Ada"),
        "orders": Job(1, error=ValueError("orders service broke")),
        "photos": Job(5, "photo.png"),
        "friends": Job(3, ["Bob"]),
    }
    r = await call("fetch_all", fakes)
    judge(1, r, fakes, scene_of(fakes))


@pytest.mark.task(1)
async def test_fetch_all_raises_only_once_the_cancelled_jobs_have_cleaned_up():
    fakes = {"slow": Job(5, "late", cleanup=2), "bad": Job(1, error=OSError("disk full"))}
    r = await call("fetch_all", fakes)
    judge(1, r, fakes, scene_of(fakes) + " ('slow' takes 2 s to clean up)")
    checks.equal(
        (fakes["slow"].cancelled_at, fakes["slow"].ended_at, r.ended_at),
        (1.0, 3.0, 3.0),
        "(when 'slow' was cancelled, when its cleanup ended, when fetch_all() raised)",
    )


@pytest.mark.task(1)
async def test_fetch_all_raises_an_exception_group_of_the_error():
    broken = ValueError("no such user")
    fakes = {"user": Job(1, error=broken), "slow": Job(2, "S")}
    r = await call("fetch_all", fakes)
    judge(1, r, fakes, scene_of(fakes))
    if not isinstance(r.error, ExceptionGroup):
        pytest.fail(f"fetch_all() raised {r.error!r}; expected an ExceptionGroup.", pytrace=False)


@pytest.mark.task(1)
async def test_two_jobs_failing_at_once_are_both_in_the_group():
    fakes = {
        "a": Job(1, error=ValueError("a broke")),
        "b": Job(1, error=KeyError("b broke")),
        "c": Job(2, error=OSError("c would break later")),
        "d": Job(4, "D"),
    }
    r = await call("fetch_all", fakes)
    judge(1, r, fakes, scene_of(fakes))


@pytest.mark.task(1)
@pytest.mark.loop_limit(200_000)
async def test_fetch_all_waits_for_a_job_that_takes_a_day():
    fakes = {"backup": Job(DAY, "done"), "quick": Job(1, "ok")}
    r = await call("fetch_all", fakes, limit=DAY + 1_000)
    judge(1, r, fakes, "With a job of a day (86,400 s) and one of 1 s")


@pytest.mark.task(1)
@pytest.mark.loop_limit(200_000)
async def test_a_failure_after_a_day_still_cancels_the_others():
    fakes = {"long": Job(2 * DAY, "L"), "fails": Job(DAY, error=ValueError("after a day"))}
    r = await call("fetch_all", fakes, limit=3 * DAY)
    judge(1, r, fakes, "With jobs of two days and of one day (which then fails)")


@pytest.mark.task(1)
async def test_two_fetch_all_calls_at_once_keep_to_their_own_jobs():
    await two_calls_at_once("fetch_all")


@pytest.mark.task(1)
async def test_two_overlapping_fetch_all_calls_return_their_own_results():
    await overlapping_calls("fetch_all")


@pytest.mark.task(1)
async def test_cancelling_fetch_all_cancels_every_job():
    fakes = {"a": Job(2, "A"), "b": Job(5, "B"), "c": Job(10, "C")}
    await cancelled_from_outside("fetch_all", fakes, 1)


NAMES = st.sampled_from(["a", "b", "A", "", " a", "é"])
DELAYS = st.sampled_from([0, 0.5, 1, 2.5, DAY])
RESULTS = st.sampled_from(["page", "", None, 0])
OUTCOMES = st.sampled_from(["ok", "ok", "fails"])
CLEANUPS = st.sampled_from([0, 0.25, 0.5])


def build(specs: list, kinds: list[str] | None = None) -> dict[str, Job]:
    """Jobs from generated specs (name, delay, result, outcome, cleanup), first name wins."""
    fakes: dict[str, Job] = {}
    for name, delay, result, how, cleanup in specs:
        if name in fakes:
            continue
        error = None
        if how == "fails":
            error = ValueError(f"{name} broke")
        elif how == "offline":
            error = offline(name)
        elif how == "bug":
            error = KeyError(f"{name} has a bug")
        fakes[name] = Job(delay, result, error, cleanup)
    return fakes


SPECS = st.lists(st.tuples(NAMES, DELAYS, RESULTS, OUTCOMES, CLEANUPS), max_size=5)


@pytest.mark.task(1)
@pytest.mark.loop_limit(10_000_000)
@scenarios.given(specs=SPECS)
async def test_fetch_all_in_any_scenario(specs):
    fakes = build(specs)
    scene = scene_of(fakes)
    scenarios.describe(scene)
    given = dict(fakes)
    r = await call("fetch_all", given, fakes=fakes, limit=2 * DAY)
    checks.equal(given, fakes, f"{scene}: the caller's dict of jobs after fetch_all()")
    judge(1, r, fakes, scene)


# Task 2: fetch_unless_offline


@pytest.mark.task(2)
async def test_fetch_unless_offline_returns_the_results_when_all_is_well():
    fakes = {"eu": Job(1, "EU"), "us": Job(2, 0), "asia": Job(1.5, None)}
    r = await call("fetch_unless_offline", fakes)
    judge(2, r, fakes, scene_of(fakes))


@pytest.mark.task(2)
async def test_an_offline_job_gives_none():
    fakes = {"eu": Job(1, error=offline("eu")), "us": Job(3, "US")}
    r = await call("fetch_unless_offline", fakes)
    judge(2, r, fakes, scene_of(fakes))


@pytest.mark.task(2)
async def test_an_offline_job_cancels_the_others_and_none_comes_after_their_cleanup():
    fakes = {
        "eu": Job(2, error=offline("eu")),
        "us": Job(3, "US", cleanup=1.5),
        "asia": Job(1, "ASIA"),
    }
    r = await call("fetch_unless_offline", fakes)
    judge(2, r, fakes, scene_of(fakes) + " ('us' takes 1.5 s to clean up)")


@pytest.mark.task(2)
async def test_two_offline_jobs_at_once_still_give_none():
    fakes = {"eu": Job(1, error=offline("eu")), "us": Job(1, error=offline("us"))}
    r = await call("fetch_unless_offline", fakes)
    judge(2, r, fakes, scene_of(fakes))


@pytest.mark.task(2)
async def test_any_other_error_reaches_the_caller_in_a_group():
    fakes = {"eu": Job(1, error=KeyError("eu: no field 'price'")), "us": Job(3, "US")}
    r = await call("fetch_unless_offline", fakes)
    judge(2, r, fakes, scene_of(fakes))


@pytest.mark.task(2)
async def test_a_bug_beside_an_offline_job_reaches_the_caller_without_it():
    fakes = {
        "eu": Job(1, error=offline("eu")),
        "us": Job(1, error=TypeError("us: price is None")),
        "asia": Job(2, "ASIA"),
    }
    r = await call("fetch_unless_offline", fakes)
    judge(2, r, fakes, scene_of(fakes))


@pytest.mark.task(2)
async def test_an_offline_job_after_a_bug_is_never_reached():
    fakes = {
        "eu": Job(1, error=ValueError("eu: bad date")),
        "us": Job(2, error=offline("us")),
    }
    r = await call("fetch_unless_offline", fakes)
    judge(2, r, fakes, scene_of(fakes))


@pytest.mark.task(2)
async def test_fetch_unless_offline_keeps_falsy_results_and_gives_an_empty_dict_for_no_jobs():
    fakes = {"none": Job(1, None), "zero": Job(1, 0), "empty": Job(1, "")}
    r = await call("fetch_unless_offline", fakes)
    judge(2, r, fakes, scene_of(fakes))
    r = await call("fetch_unless_offline", {})
    judge(2, r, {}, "With no jobs at all ({})")


@pytest.mark.task(2)
async def test_fetch_unless_offline_leaves_jobs_unchanged():
    fakes = {"eu": Job(1, error=offline("eu")), "us": Job(2, "US")}
    given = dict(fakes)
    r = await call("fetch_unless_offline", given, fakes=fakes)
    checks.equal(
        given,
        fakes,
        "The caller's dict of jobs after fetch_unless_offline()",
        "Leave `jobs` unchanged.",
    )
    judge(2, r, fakes, scene_of(fakes))


@pytest.mark.task(2)
@pytest.mark.loop_limit(200_000)
async def test_fetch_unless_offline_waits_a_day_if_need_be():
    fakes = {"archive": Job(DAY, "all of it"), "eu": Job(2, "EU")}
    r = await call("fetch_unless_offline", fakes, limit=DAY + 1_000)
    judge(2, r, fakes, "With a job of a day (86,400 s) and one of 2 s")


@pytest.mark.task(2)
async def test_two_fetch_unless_offline_calls_at_once_keep_to_their_own_jobs():
    await two_calls_at_once("fetch_unless_offline")


@pytest.mark.task(2)
async def test_two_overlapping_fetch_unless_offline_calls_return_their_own_results():
    await overlapping_calls("fetch_unless_offline")


@pytest.mark.task(2)
async def test_an_offline_call_leaves_nothing_behind_for_the_next_call():
    down = {"eu": Job(1, error=offline("eu")), "us": Job(2, "US")}
    r = await call("fetch_unless_offline", down)
    judge(2, r, down, scene_of(down))
    fine = {"eu": Job(1, "EU"), "us": Job(1, "US")}
    r = await call("fetch_unless_offline", fine)
    if r.error is None and r.value is None:
        pytest.fail(
            f"A first fetch_unless_offline() call, with jobs {describe(down)}, rightly returned "
            f"None. A second call, with jobs {describe(fine)}, where nothing failed, returned "
            "None too; expected {'eu': 'EU', 'us': 'US'}. The second call answered for the "
            "first one's Offline: likely a flag kept between calls (at module level, set by "
            "`except* Offline:` and never reset). Keep nothing between calls: start each call "
            "with its own `offline = False`.",
            pytrace=False,
        )
    judge(2, r, fine, "Called again after an Offline call, with jobs " + describe(fine))


@pytest.mark.task(2)
async def test_cancelling_fetch_unless_offline_cancels_every_job():
    fakes = {"eu": Job(2, "EU"), "us": Job(5, "US")}
    await cancelled_from_outside("fetch_unless_offline", fakes, 1)


OUTCOMES_2 = st.sampled_from(["ok", "ok", "offline", "bug"])
SPECS_2 = st.lists(st.tuples(NAMES, DELAYS, RESULTS, OUTCOMES_2, CLEANUPS), max_size=5)


@pytest.mark.task(2)
@pytest.mark.loop_limit(10_000_000)
@scenarios.given(specs=SPECS_2)
async def test_fetch_unless_offline_in_any_scenario(specs):
    fakes = build(specs)
    scene = scene_of(fakes)
    scenarios.describe(scene)
    given = dict(fakes)
    r = await call("fetch_unless_offline", given, fakes=fakes, limit=2 * DAY)
    checks.equal(given, fakes, f"{scene}: the caller's dict of jobs after fetch_unless_offline()")
    judge(2, r, fakes, scene)


# Task 3: run_checks


@pytest.mark.task(3)
async def test_run_checks_returns_every_result_by_name_when_all_pass():
    fakes = {"db": Job(1, "ok"), "disk": Job(2, "73% free"), "cache": Job(0.5, True)}
    r = await call("run_checks", fakes)
    judge(3, r, fakes, scene_of(fakes, "checks"))


@pytest.mark.task(3)
async def test_run_checks_runs_every_check_at_once():
    fakes = {f"c{i}": Job(s, i) for i, s in enumerate([3, 1, 2, 3, 0.5])}
    r = await call("run_checks", fakes)
    judge(3, r, fakes, "With five checks of 3, 1, 2, 3 and 0.5 s")
    checks.took(r.ended_at, 3, "run_checks() of five checks of 3, 1, 2, 3 and 0.5 s")


@pytest.mark.task(3)
async def test_a_failing_check_does_not_stop_the_others():
    fakes = {
        "db": Job(1, error=ConnectionError("db unreachable")),
        "disk": Job(3, "73% free"),
        "cache": Job(2, "warm"),
    }
    r = await call("run_checks", fakes)
    judge(3, r, fakes, scene_of(fakes, "checks"))


@pytest.mark.task(3)
async def test_every_failure_is_reported_with_the_results_of_the_rest():
    fakes = {
        "db": Job(1, error=ConnectionError("db unreachable")),
        "disk": Job(2, "73% free"),
        "cache": Job(3, error=TimeoutError("cache too slow")),
        "queue": Job(1, 0),
        "dns": Job(1, error=OSError("no such host")),
    }
    r = await call("run_checks", fakes)
    judge(3, r, fakes, scene_of(fakes, "checks"))


@pytest.mark.task(3)
async def test_run_checks_raises_checks_failed_an_exception_group():
    broken = ValueError("bad config")
    fakes = {"config": Job(1, error=broken), "db": Job(1, "ok")}
    r = await call("run_checks", fakes)
    judge(3, r, fakes, scene_of(fakes, "checks"))
    if not (isinstance(r.error, ExceptionGroup) and r.error.exceptions == (broken,)):
        pytest.fail(f"run_checks() raised {r.error!r}.", pytrace=False)


@pytest.mark.task(3)
async def test_run_checks_keeps_falsy_results_and_gives_an_empty_dict_for_no_checks():
    fakes = {"none": Job(1, None), "zero": Job(1, 0), "false": Job(1, False), "empty": Job(1, "")}
    r = await call("run_checks", fakes)
    judge(3, r, fakes, scene_of(fakes, "checks"))
    fakes = {"none": Job(1, None), "fails": Job(1, error=KeyError("x")), "zero": Job(2, 0)}
    r = await call("run_checks", fakes)
    judge(3, r, fakes, scene_of(fakes, "checks"))
    r = await call("run_checks", {})
    judge(3, r, {}, "With no checks at all ({})")


@pytest.mark.task(3)
async def test_run_checks_calls_the_same_check_once_per_name():
    calls: list[float] = []

    async def shared_check() -> str:
        calls.append(now())
        await asyncio.sleep(1)
        return "fine"

    jobs = {"ping-1": shared_check, "ping-2": shared_check}
    r = await call("run_checks", jobs, fakes={})
    checks.equal(
        (r.value, calls),
        ({"ping-1": "fine", "ping-2": "fine"}, [0.0, 0.0]),
        "(run_checks()'s result, loop times at which the check given under two names ran)",
        "The same check under two names is two checks: run it once per name, all at once.",
    )


@pytest.mark.task(3)
async def test_a_failed_check_is_not_run_again():
    fakes = {"flaky": Job(1, error=ConnectionError("try again?")), "db": Job(1, "ok")}
    r = await call("run_checks", fakes)
    judge(3, r, fakes, scene_of(fakes, "checks"))


@pytest.mark.task(3)
async def test_run_checks_leaves_checks_unchanged_and_returns_a_new_dict():
    fakes = {"db": Job(1, "ok"), "disk": Job(1, "full")}
    given = dict(fakes)
    r = await call("run_checks", given, fakes=fakes)
    checks.equal(
        given, fakes, "The caller's dict of checks after run_checks()", "Leave `checks` unchanged."
    )
    if r.value is given:
        pytest.fail(
            "run_checks() returned the very dict of checks it was given: return a new dict.",
            pytrace=False,
        )
    judge(3, r, fakes, scene_of(fakes, "checks"))


@pytest.mark.task(3)
async def test_run_checks_keys_each_check_by_its_name_exactly():
    names = ["db", "DB", " db", "", "db\n", "ünïcode"]
    fakes = {n: Job(1, error=ValueError(n)) if i % 2 else Job(1, n) for i, n in enumerate(names)}
    r = await call("run_checks", fakes)
    judge(3, r, fakes, f"With checks named {names!r}, every other one failing")


@pytest.mark.task(3)
@pytest.mark.loop_limit(200_000)
async def test_run_checks_waits_a_day_for_a_slow_check_even_after_a_failure():
    fakes = {"fsck": Job(DAY, "clean"), "db": Job(1, error=ConnectionError("down"))}
    r = await call("run_checks", fakes, limit=DAY + 1_000)
    judge(3, r, fakes, "With a check of a day (86,400 s) and one of 1 s that fails")


@pytest.mark.task(3)
async def test_two_run_checks_calls_at_once_keep_to_their_own_checks():
    first = {"a": Job(1, error=ValueError("a1")), "b": Job(2, "B1")}
    second = {"a": Job(1, "A2"), "c": Job(3, error=KeyError("c2"))}
    one = asyncio.create_task(call("run_checks", first))
    two = asyncio.create_task(call("run_checks", second))
    await asyncio.wait([one, two])  # each call() has its own time limit
    r1, r2 = one.result(), two.result()
    for which, r, mine, theirs in (("first", r1, first, second), ("second", r2, second, first)):
        foreign = borrowed(ended_with(r), mine, theirs)
        if foreign:
            pytest.fail(
                f"Two run_checks() calls ran at once: the first with checks {describe(first)}, "
                f"the second with checks {describe(second)}. The {which} call {outcome(r)}; its "
                f"results hold {', '.join(foreign)}, the other call's. Something is kept "
                "between calls (a module-level dict of results or errors, cleared or not). Keep "
                "nothing between calls: make the dicts afresh, in local variables of the call.",
                pytrace=False,
            )
    judge(
        3, r1, first, "Of two run_checks() calls at once, the first, with checks " + describe(first)
    )
    judge(
        3,
        r2,
        second,
        "Of two run_checks() calls at once, the second, with checks " + describe(second),
    )


@pytest.mark.task(3)
async def test_two_overlapping_run_checks_calls_return_their_own_results():
    await overlapping_calls("run_checks")


@pytest.mark.task(3)
async def test_cancelling_run_checks_cancels_every_check():
    fakes = {"db": Job(2, "ok"), "disk": Job(5, "full"), "dns": Job(3, "ok")}
    await cancelled_from_outside("run_checks", fakes, 1)


OUTCOMES_3 = st.sampled_from(["ok", "fails"])
SPECS_3 = st.lists(st.tuples(NAMES, DELAYS, RESULTS, OUTCOMES_3, st.just(0)), max_size=5)


@pytest.mark.task(3)
@pytest.mark.loop_limit(10_000_000)
@scenarios.given(specs=SPECS_3)
async def test_run_checks_in_any_scenario(specs):
    fakes = build(specs)
    scene = scene_of(fakes, "checks")
    scenarios.describe(scene)
    given = dict(fakes)
    r = await call("run_checks", given, fakes=fakes, limit=2 * DAY)
    checks.equal(given, fakes, f"{scene}: the caller's dict of checks after run_checks()")
    judge(3, r, fakes, scene)
