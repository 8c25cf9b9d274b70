"""Exercise 07 tests. Run them with `pytest exercises/07`."""

import asyncio
import contextlib
import inspect

import pytest

from aiokata import checks, exercise_module

ac = exercise_module(__file__)


# Test doubles


def content(name: str) -> str:
    return f"<{name}.zip>"


class Downloads:
    """`download(name)` takes plan[name] = (seconds, error or None) of loop time, then returns
    content(name) or raises the error. Notes when each download starts, ends or is cancelled,
    and the task running it."""

    def __init__(self, plan: dict[str, tuple[float, Exception | None]]):
        self.plan = plan
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.tasks: dict[str, asyncio.Task] = {}
        self.t0 = asyncio.get_running_loop().time()

    async def __call__(self, name: str) -> str:
        self.started.append(name)
        task = asyncio.current_task()
        assert task is not None
        self.tasks[name] = task
        seconds, error = self.plan[name]
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            self.cancelled.append(name)
            raise
        if error is not None:
            raise error
        return content(name)

    def still_running(self) -> list[str]:
        return [name for name, task in self.tasks.items() if not task.done()]


class Reports:
    """`report(name, outcome)`, noting the loop time (since the test began) of each call."""

    def __init__(self):
        self.entries: list[tuple[str, object, float]] = []
        self._changed = asyncio.Event()
        self.t0 = asyncio.get_running_loop().time()

    def __call__(self, name: str, outcome: object) -> None:
        stamp = round(asyncio.get_running_loop().time() - self.t0, 6)
        self.entries.append((name, outcome, stamp))
        self._changed.set()

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.entries]

    def outcomes(self) -> dict[str, object]:
        return {name: outcome for name, outcome, _ in self.entries}

    async def reached(self, count: int) -> None:
        while len(self.entries) < count:
            self._changed.clear()
            await self._changed.wait()


def plan_of(**seconds: float) -> dict[str, tuple[float, Exception | None]]:
    return {name: (delay, None) for name, delay in seconds.items()}


def shown(entries: list[tuple[str, object, float]]) -> str:
    return ", ".join(f"{name}={outcome!r} at {stamp:g} s" for name, outcome, stamp in entries)


_MIXED_UP = (
    "asyncio.as_completed yields results in the order they finish, not the order of `names`, "
    "so zip(names, as_completed(...)) pairs names with the wrong results. Wrap each download "
    "in a coroutine that returns (name, outcome), and unpack that."
)


def _own(name: str, plan: dict) -> object:
    error = plan.get(name, (0, None))[1]
    return error if error is not None else content(name)


def mixed_up(outcomes: dict, plan: dict) -> str:
    """What is wrong with the first outcome that is not the name's own, if any: another
    download's outcome (the zip(names, as_completed(...)) mistake), an exception turned into
    text or copied, or a straggler reported as cancelled."""
    for name, outcome in outcomes.items():
        if name not in plan:
            continue
        own = _own(name, plan)
        if outcome is own or (outcome == own and not isinstance(own, BaseException)):
            continue
        if any(outcome is _own(other, plan) or outcome == content(other) for other in plan):
            return (
                f"report({name!r}, {outcome!r}) gives {name!r} another download's outcome. "
                + _MIXED_UP
            )
        if isinstance(outcome, asyncio.CancelledError):
            return (
                f"report({name!r}, {outcome!r}): {name!r} did not finish before the deadline. "
                "Downloads cancelled at the deadline are not reported: return their names."
            )
        if isinstance(own, BaseException):
            return (
                f"report({name!r}, {outcome!r}) instead of the exception its download raised, "
                f"{own!r}. Report the very exception object you caught (`except Exception as "
                "exc: ... report(name, exc)`), not its text, its type or a new one."
            )
        return f"report({name!r}, {outcome!r}): expected its own content, {own!r}."
    return ""


_CANCELLED_REPORTED = (
    "A download cancelled at the deadline is not reported: return its name instead."
)

_ALL_DONE_AFTER_CANCEL = (
    "Every task is done once it has been cancelled and awaited (a cancelled task is done "
    "too), so asking done() or cancelled() afterwards cannot find the stragglers reliably. "
    "Keep track of the names you reported, and return the others in the order of names."
)


def explain_reports(got, expected, plan, names, deadline=None) -> str:
    """The likely mistake behind a wrong list of (name, outcome, time) reports."""
    if not got:
        return "Nothing was reported: call report(name, content) for each download."
    wrong_pair = mixed_up({n: o for n, o, _ in got}, plan)
    if wrong_pair:
        return wrong_pair
    expected_names = [n for n, _, _ in expected]
    got_names = [n for n, _, _ in got]
    stamps = {stamp for _, _, stamp in got}
    late = [n for n in got_names if n not in expected_names]
    if late and any(isinstance(o, asyncio.CancelledError) for _, o, _ in got):
        return _CANCELLED_REPORTED
    if late and deadline is not None:
        return (
            f"{late} finished after the {deadline:g} s deadline, so the deadline was not "
            "enforced: stop waiting when it passes (asyncio.as_completed(..., timeout=) or "
            "asyncio.timeout()), cancel what is left and return those names unreported."
        )
    if sorted(got_names) != sorted(expected_names):
        return "Report each download exactly once."
    if got_names == list(names) and got_names != expected_names:
        return (
            "The reports came in the order of `names`, not the order the downloads finish: "
            "awaiting each download (or task) in turn makes a fast one wait behind a slow "
            "one. Loop over asyncio.as_completed(...) instead."
        )
    if len(stamps) == 1 and len(got) > 1:
        return (
            f"Every report came at {stamps.pop():g} s, when the slowest download ended: the "
            "results were collected first (gather, asyncio.wait, ...) and reported "
            "afterwards. Report each one the moment it finishes: loop over "
            "asyncio.as_completed(...) and report inside the loop."
        )
    if got_names != expected_names:
        return (
            "The reports must come in the order the downloads finish (fastest first), not "
            "the order of `names`: did you await the downloads one after another?"
        )
    return "Each report must come at the moment its own download finishes."


def check_reports(reports: Reports, expected, plan, names, what: str, deadline=None) -> None:
    if reports.entries == expected:
        return
    pytest.fail(
        f"{what}: expected reports {shown(expected)}; got {shown(reports.entries) or 'none'}. "
        + explain_reports(reports.entries, expected, plan, names, deadline),
        pytrace=False,
    )


async def until_reported(job: asyncio.Task, reports: Reports, count: int, message: str) -> None:
    """Wait until `count` reports were made; if the job ends first, surface why."""
    waiter = asyncio.create_task(reports.reached(count))
    done, _ = await asyncio.wait({job, waiter}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if waiter in done:
        return
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    if job in done:
        job.result()  # the learner's own error, if it raised
        pytest.fail(f"report_downloads() returned early. {message}", pytrace=False)
    job.cancel()
    await asyncio.gather(job, return_exceptions=True)
    pytest.fail(message, pytrace=False)


async def run_reporting(downloads: Downloads, names: list[str], reports: Reports) -> None:
    """report_downloads(), failing with a teaching message if it raises a download's error."""
    errors = tuple({type(e) for _, e in downloads.plan.values() if e is not None})
    try:
        await report_downloads(downloads, names, reports)
    except errors as exc:
        failed = [n for n, (_, e) in downloads.plan.items() if e is exc]
        late = [n for n in names if n not in reports.names and n not in failed]
        pytest.fail(
            f"report_downloads() raised {exc!r}: one failed download ended the whole batch "
            f"and {late} were never reported. Catch the exception for that one download (in "
            "a wrapper coroutine around download(name)) and call report(name, exception).",
            pytrace=False,
        )


@contextlib.contextmanager
def explained_lookups():
    """Explain the KeyError of looking up as_completed's awaitables in a dict of tasks."""
    try:
        yield
    except ValueError as exc:
        if "is not in list" not in str(exc) or "coroutine" not in str(exc):
            raise
        pytest.fail(
            f"Your code raised ValueError: {exc}. asyncio.as_completed (Python 3.11) yields "
            "new awaitables, not the tasks you gave it, so you cannot find them in your list "
            "of tasks (tasks.index(...)). Let each job carry its own name: wrap "
            "download(name) in a coroutine that returns (name, outcome).",
            pytrace=False,
        )
    except KeyError as exc:
        key = exc.args[0] if exc.args else None
        if not (inspect.isawaitable(key) or asyncio.isfuture(key)):
            raise
        pytest.fail(
            f"Your code raised KeyError: {key!r}. asyncio.as_completed (Python 3.11) yields "
            "new awaitables, not the tasks you gave it, so they are not keys of your dict of "
            "tasks. Let each job carry its own name: wrap download(name) in a coroutine that "
            "returns (name, outcome).",
            pytrace=False,
        )


async def report_downloads(download, names, report) -> object:
    with explained_lookups():
        return await ac.report_downloads(download, names, report)


# Task 1: report each download as it finishes


@pytest.mark.task(1)
async def test_reports_come_fastest_first_as_each_finishes(looptime):
    plan = plan_of(a=3, b=1, c=2)
    downloads, reports = Downloads(plan), Reports()
    result = await report_downloads(downloads, ["a", "b", "c"], reports)
    checks.not_coroutine(result, "report_downloads()'s result")
    check_reports(
        reports,
        [("b", content("b"), 1), ("c", content("c"), 2), ("a", content("a"), 3)],
        plan,
        ["a", "b", "c"],
        "Downloads a, b, c taking 3, 1 and 2 s",
    )
    checks.took(looptime, 3, "report_downloads() of downloads taking 3, 1 and 2 s")


@pytest.mark.task(1)
async def test_reports_follow_the_order_downloads_finish_in():
    names = ["a", "b", "c", "d"]
    gates = {name: asyncio.Event() for name in names}

    async def download(name: str) -> str:
        await gates[name].wait()
        return content(name)

    reports = Reports()
    job = asyncio.create_task(report_downloads(download, names, reports))
    for count, name in enumerate(["c", "a", "d", "b"], start=1):
        gates[name].set()
        await until_reported(
            job,
            reports,
            count,
            f"Download {name!r} finished, but it was still not reported while the other "
            "downloads were running. Report each download the moment it finishes (loop over "
            "asyncio.as_completed), not after all of them and not in the order of names.",
        )
    await job
    checks.equal(
        reports.outcomes(),
        {name: content(name) for name in names},
        "What each name was reported with",
        lambda got: mixed_up(got, plan_of(**dict.fromkeys(names, 0))),
    )
    checks.equal(
        reports.names,
        ["c", "a", "d", "b"],
        "Names reported when downloads finish in the order c, a, d, b",
        "Report in the order they finish.",
    )


@pytest.mark.task(1)
async def test_downloads_finishing_in_the_same_instant_keep_their_names():
    names = ["a", "b", "c"]
    gates = {name: asyncio.Event() for name in names}

    async def download(name: str) -> str:
        await gates[name].wait()
        return content(name)

    reports = Reports()
    job = asyncio.create_task(report_downloads(download, names, reports))
    await asyncio.sleep(0.5)
    gates["c"].set()  # c and a finish together, c first
    gates["a"].set()
    await until_reported(
        job,
        reports,
        2,
        "Downloads 'c' and 'a' finished together, but they were not both reported while 'b' "
        "was still running. Report each download the moment it finishes.",
    )
    gates["b"].set()
    await job
    checks.equal(
        reports.outcomes(),
        {name: content(name) for name in names},
        "What each name was reported with, when 'c' and 'a' finish in the same instant",
        lambda got: (
            mixed_up(got, plan_of(**dict.fromkeys(names, 0)))
            + " Do not guess which download a result belongs to (for example the first finished "
            "task in the order of names): two can finish at once."
        ),
    )
    checks.equal(sorted(reports.names), names, "Names reported", "Once per name.")


@pytest.mark.task(1)
async def test_all_downloads_run_at_once():
    names = [f"file{i}" for i in range(5)]
    everyone_started = asyncio.Barrier(len(names))

    async def download(name: str) -> str:
        await everyone_started.wait()  # passes only once all five are waiting at once
        return content(name)

    reports = Reports()
    await checks.within(
        10,
        report_downloads(download, names, reports),
        "Five downloads that each wait for the others never finished: they were not all "
        "running at the same time. Start every download before waiting for any of them.",
    )
    checks.equal(sorted(reports.names), sorted(names), "Names reported")


@pytest.mark.task(1)
async def test_each_download_runs_once_and_is_reported_once():
    downloads, reports = Downloads(plan_of(x=1, y=1, z=2)), Reports()
    await report_downloads(downloads, ["x", "y", "z"], reports)
    checks.equal(
        sorted(downloads.started),
        ["x", "y", "z"],
        "Downloads started",
        "Call download(name) once per name.",
    )
    checks.equal(sorted(reports.names), ["x", "y", "z"], "Names reported", "Once per name.")


@pytest.mark.task(1)
async def test_no_names_reports_nothing(looptime):
    reports = Reports()
    await report_downloads(Downloads({}), [], reports)
    checks.equal(reports.entries, [], "Reports for an empty list of names")
    checks.took(looptime, 0, "report_downloads() with no names")


# Task 2: a failure is reported and loses nothing


@pytest.mark.task(2)
async def test_a_failure_is_reported_and_the_others_still_arrive(looptime):
    broken = ConnectionError("connection reset")
    plan = {"a": (3.0, None), "b": (1.0, broken), "c": (2.0, None)}
    downloads, reports = Downloads(plan), Reports()
    await run_reporting(downloads, ["a", "b", "c"], reports)
    checks.equal(
        reports.outcomes(),
        {"b": broken, "c": content("c"), "a": content("a")},
        "Outcome reported for each name (b fails at 1 s)",
        lambda got: (
            "The failed download must be reported too: report('b', the exception it raised)."
            if isinstance(got, dict) and "b" not in got
            else mixed_up(got, plan)
        ),
    )
    checks.took(looptime, 3, "report_downloads() when the 1 s download fails")


@pytest.mark.task(2)
async def test_an_early_failure_does_not_stop_the_slow_downloads(looptime):
    plan = {"quick": (1.0, ValueError("bad archive")), "slow": (4.0, None)}
    downloads, reports = Downloads(plan), Reports()
    await run_reporting(downloads, ["slow", "quick"], reports)
    checks.equal(
        reports.outcomes().get("slow"),
        content("slow"),
        "What 'slow' was reported with, after 'quick' failed at 1 s",
        lambda _: (
            mixed_up(reports.outcomes(), plan)
            or "The slow download must run to its end and be reported after another one failed."
        ),
    )
    checks.equal(downloads.cancelled, [], "Downloads cancelled", "A failure cancels nothing.")
    checks.took(looptime, 4, "report_downloads() with a 4 s download")


@pytest.mark.task(2)
async def test_every_failure_is_reported_with_its_own_exception():
    missing, denied = FileNotFoundError("no such file"), PermissionError("denied")
    plan = {"m": (2.0, missing), "ok": (1.0, None), "d": (3.0, denied)}
    downloads, reports = Downloads(plan), Reports()
    await run_reporting(downloads, ["m", "ok", "d"], reports)
    checks.equal(
        reports.outcomes(),
        {"ok": content("ok"), "m": missing, "d": denied},
        "Outcome reported for each name",
        lambda got: (
            mixed_up(got, plan)
            or "Each name is reported with the very exception its own download raised."
        ),
    )


# Task 3: a deadline over the whole batch


async def run_within(downloads, names, reports, timeout) -> list[str]:
    try:
        with explained_lookups():
            result = await ac.report_within(downloads, names, reports, timeout)
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # the test itself is being cancelled
        pytest.fail(
            "report_within() raised CancelledError. Awaiting a task you cancelled raises "
            "its CancelledError (and so does asyncio.gather(*tasks) without "
            "return_exceptions=True): wait for the cancelled downloads with "
            "`await asyncio.gather(*tasks, return_exceptions=True)` (or asyncio.wait) and "
            "carry on.",
            pytrace=False,
        )
    except ValueError as exc:
        if "empty" not in str(exc):
            raise
        pytest.fail(
            f"report_within() raised ValueError: {exc} asyncio.wait() refuses an empty set, "
            "which is what is left to cancel when everything finished in time (or there "
            "were no names). Skip the wait when nothing is left, or use "
            "asyncio.gather(*tasks, return_exceptions=True), which accepts none.",
            pytrace=False,
        )
    checks.not_coroutine(result, "report_within()'s result")
    running = downloads.still_running()
    if running:
        asked = [n for n in running if downloads.tasks[n].cancelling()]
        pytest.fail(
            f"When report_within() returned, the downloads {running} were still running. "
            + (
                "You called cancel() on them, but cancel() only asks: the task stops later, "
                "at its next await. Wait for the cancelled tasks to finish (for example "
                "`await asyncio.gather(*tasks, return_exceptions=True)`) before returning."
                if asked == running
                else "At the deadline, cancel every unfinished download (task.cancel()) and "
                "wait for them to stop. asyncio.as_completed(..., timeout=) raises "
                "TimeoutError but leaves them running; so do bare coroutines you cannot "
                "cancel: create the tasks yourself so you hold them."
            ),
            pytrace=False,
        )
    return result


@pytest.mark.task(3)
async def test_stragglers_are_returned_at_the_deadline(looptime):
    plan = plan_of(a=5, b=1, c=2.5, d=9)
    downloads, reports = Downloads(plan), Reports()
    late = await run_within(downloads, ["a", "b", "c", "d"], reports, 3)
    check_reports(
        reports,
        [("b", content("b"), 1), ("c", content("c"), 2.5)],
        plan,
        ["a", "b", "c", "d"],
        "Downloads taking 5, 1, 2.5 and 9 s with a 3 s deadline",
        deadline=3,
    )
    checks.equal(
        list(late) if isinstance(late, (list, tuple)) else late,
        ["a", "d"],
        "Names report_within() returned (the unfinished ones, in the order of names)",
        lambda got: _ALL_DONE_AFTER_CANCEL if got == [] else "",
    )
    checks.took(
        looptime,
        3,
        "report_within() with a 3 s deadline and downloads of up to 9 s",
        {
            9: "It waited for the slowest download: the deadline was not enforced. Pass "
            "timeout= to asyncio.as_completed (or wrap the loop in asyncio.timeout()).",
        },
    )


@pytest.mark.task(3)
async def test_unfinished_downloads_are_cancelled():
    plan = plan_of(fast=1, slow=5, slower=7)
    downloads, reports = Downloads(plan), Reports()
    await run_within(downloads, ["slow", "fast", "slower"], reports, 2)
    checks.equal(
        sorted(downloads.cancelled),
        ["slow", "slower"],
        "Downloads cancelled at the 2 s deadline",
        lambda got: (
            "None was cancelled: they all ran to their end, so the deadline was not enforced. "
            "At the deadline, cancel the downloads still running."
            if got == []
            else "Cancel the downloads still running at the deadline, and only those."
        ),
    )


@pytest.mark.task(3)
async def test_the_deadline_counts_from_the_start_not_from_each_result(looptime):
    plan = plan_of(a=1.5, b=3, c=4.5)
    downloads, reports = Downloads(plan), Reports()
    late = await run_within(downloads, ["a", "b", "c"], reports, 2)
    checks.equal(
        reports.names,
        ["a"],
        "Names reported with a 2 s deadline (downloads finish at 1.5, 3 and 4.5 s)",
        lambda got: (
            _CANCELLED_REPORTED
            if any(isinstance(o, asyncio.CancelledError) for o in reports.outcomes().values())
            else "b and c finished after the 2 s deadline. The timeout covers the whole batch, "
            "counted from the call: a fresh 2 s wait for each next result lets the batch run "
            "for much longer."
            if isinstance(got, list) and len(got) > 1
            else ""
        ),
    )
    checks.equal(
        list(late),
        ["b", "c"],
        "Unfinished names returned",
        lambda got: _ALL_DONE_AFTER_CANCEL if got == [] else "",
    )
    checks.took(looptime, 2, "report_within() with a 2 s deadline")


class Name(str):
    """A name whose hash is chosen, so a set of names iterates in a known order that is not
    the order of `names` (strings hash differently in every run)."""

    rank: int

    def __hash__(self) -> int:
        return self.rank


def names_hashed_in_reverse(*texts: str) -> list[str]:
    names = []
    for rank, text in enumerate(reversed(texts)):
        name = Name(text)
        name.rank = rank
        names.append(name)
    return names[::-1]


@pytest.mark.task(3)
async def test_unfinished_names_keep_the_order_of_names():
    names = names_hashed_in_reverse("mid", "zeta", "quick", "alpha", "kilo")
    plan = {name: (seconds, None) for name, seconds in zip(names, [6, 4, 1, 9, 5], strict=True)}
    downloads, reports = Downloads(plan), Reports()
    late = await run_within(downloads, names, reports, 2)
    checks.equal(
        list(late) if isinstance(late, (list, tuple)) else late,
        ["mid", "zeta", "alpha", "kilo"],
        "Names report_within(['mid', 'zeta', 'quick', 'alpha', 'kilo'], ...) returned when "
        "only 'quick' finished before the deadline",
        lambda got: (
            "Those are the right names in another order: return them in the order of `names` "
            "(a set, or sorting, loses that order), e.g. [n for n in names if n not in "
            "reported]."
            if checks.same_items(got, ["mid", "zeta", "alpha", "kilo"])
            else _ALL_DONE_AFTER_CANCEL
            if got == []
            else ""
        ),
    )


@pytest.mark.task(3)
async def test_everything_on_time_returns_an_empty_list_when_the_last_finishes(looptime):
    plan = plan_of(a=2, b=1)
    downloads, reports = Downloads(plan), Reports()
    late = await run_within(downloads, ["a", "b"], reports, 10)
    check_reports(
        reports,
        [("b", content("b"), 1), ("a", content("a"), 2)],
        plan,
        ["a", "b"],
        "Downloads taking 2 and 1 s with a 10 s deadline",
        deadline=10,
    )
    checks.equal(list(late) if isinstance(late, (list, tuple)) else late, [], "Names returned")
    checks.took(
        looptime,
        2,
        "report_within() when every download ends by 2 s and the deadline is 10 s",
        {10: "It waited for the deadline: return as soon as the last download is reported."},
    )


@pytest.mark.task(3)
async def test_a_failure_within_the_deadline_is_reported():
    broken = ConnectionError("reset")
    plan = {"bad": (1.0, broken), "good": (1.5, None), "huge": (8.0, None)}
    downloads, reports = Downloads(plan), Reports()
    try:
        late = await run_within(downloads, ["huge", "bad", "good"], reports, 2)
    except ConnectionError:
        pytest.fail(
            "report_within() raised the ConnectionError of one download: report it as "
            "report(name, exception) and carry on, as in task 2.",
            pytrace=False,
        )
    checks.equal(
        reports.outcomes(),
        {"bad": broken, "good": content("good")},
        "Outcomes reported before the 2 s deadline",
        lambda got: (
            _CANCELLED_REPORTED
            if isinstance(got, dict) and isinstance(got.get("huge"), asyncio.CancelledError)
            else "'huge' finished after the 2 s deadline, so the deadline was not enforced."
            if isinstance(got, dict) and "huge" in got
            else "A failure before the deadline is reported as report(name, exception)."
        ),
    )
    checks.equal(
        list(late),
        ["huge"],
        "Unfinished names returned",
        lambda got: _ALL_DONE_AFTER_CANCEL if got == [] else "",
    )


@pytest.mark.task(3)
async def test_no_names_returns_an_empty_list_at_once(looptime):
    reports = Reports()
    late = await run_within(Downloads({}), [], reports, 5)
    checks.equal(list(late) if isinstance(late, (list, tuple)) else late, [], "Names returned")
    checks.equal(reports.entries, [], "Reports for an empty list of names")
    checks.took(
        looptime,
        0,
        "report_within() with no names and a 5 s deadline",
        {5: "It waited for the deadline although there was nothing to wait for."},
    )
