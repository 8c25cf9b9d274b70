"""Exercise 07 tests. Run them with `pytest exercises/07`."""

import asyncio
import collections
import contextlib
import inspect

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios

ac = exercise_module(__file__)


# Test doubles


def content(name: str) -> str:
    return f"<{name}.zip>"


class MirrorGone(Exception):
    """A download error of a kind no learner would think of catching by name."""


Plan = dict[str, tuple[float, Exception | None]]


class Downloads:
    """`download(name)` takes plan[name] = (seconds, error or None) of loop time, then returns
    contents[name] (content(name) unless given) or raises the error. Notes when each download
    starts, ends or is cancelled (in loop time since it was made), and the task running it."""

    def __init__(self, plan: Plan, contents: dict[str, str] | None = None, cleanup: float = 0.0):
        self.plan = plan
        self.cleanup = cleanup  # loop time a cancelled download takes to stop (closing up)
        self.contents = {name: content(name) for name in plan} | (contents or {})
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.cancelled_at: dict[str, float] = {}
        self.tasks: dict[str, asyncio.Task] = {}
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()

    def now(self) -> float:
        return round(self.loop.time() - self.t0, 6)

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
            self.cancelled_at[name] = self.now()
            if self.cleanup:
                await asyncio.sleep(self.cleanup)
            raise
        if error is not None:
            raise error
        return self.contents[name]

    def own(self) -> dict[str, object]:
        """What each name must be reported with: its content, or the very error it raises."""
        return {
            name: error if error is not None else self.contents[name]
            for name, (_, error) in self.plan.items()
        }

    def still_running(self) -> list[str]:
        return [name for name, task in self.tasks.items() if not task.done()]

    def stop_leftovers(self) -> None:
        for task in self.tasks.values():
            task.cancel()


class Reports:
    """`report(name, outcome)`, noting the loop time (since it was made) of each call."""

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


def plan_of(**seconds: float) -> Plan:
    return {name: (delay, None) for name, delay in seconds.items()}


def shown(entries: list[tuple[str, object, float]]) -> str:
    return ", ".join(f"{name!r}: {outcome!r} at {stamp:g} s" for name, outcome, stamp in entries)


_MIXED_UP = (
    "asyncio.as_completed yields results in the order they finish, not the order of `names`, "
    "so zip(names, as_completed(...)) pairs names with the wrong results. Wrap each download "
    "in a coroutine that returns (name, outcome), and unpack that."
)


def _is_own(outcome: object, own: object) -> bool:
    if isinstance(own, BaseException):
        return outcome is own
    return type(outcome) is type(own) and outcome == own


def wrong_type(name: str, outcome: object, own: object) -> str:
    """The message for an outcome of another type than what download(name) gave."""
    said = f"report({name!r}, {outcome!r}) passed a {type(outcome).__name__}"
    if asyncio.isfuture(outcome):
        return (
            f"{said}, the task (or future) itself, not what download({name!r}) returned: "
            "report task.result(), or the exception for a failed one."
        )
    if isinstance(outcome, tuple):
        return (
            f"{said}; expected the {type(own).__name__} download({name!r}) returned, "
            f"{own!r}. If your wrapper returns (name, outcome), unpack it: "
            "`name, outcome = await next_done`."
        )
    return (
        f"{said}; expected the {type(own).__name__} download({name!r}) returned, {own!r}: "
        "report exactly what the download gave (or the exception it raised)."
    )


def mixed_up(outcomes: dict, own: dict, deadline: float | None = None) -> str:
    """What is wrong with the first outcome that is not the name's own, if any: another
    download's outcome (the zip(names, as_completed(...)) mistake), an exception turned into
    text or copied, a straggler reported as cancelled, or a value of the wrong type."""
    for name, outcome in outcomes.items():
        if name not in own or _is_own(outcome, own[name]):
            continue
        mine = own[name]
        if any(
            other != name and _is_own(outcome, theirs) and not _is_own(mine, theirs)
            for other, theirs in own.items()
        ):
            return (
                f"report({name!r}, {outcome!r}) gives {name!r} another download's outcome. "
                + _MIXED_UP
            )
        if isinstance(outcome, asyncio.CancelledError) or (
            deadline is not None
            and isinstance(outcome, TimeoutError)
            and not isinstance(mine, BaseException)
        ):
            return (
                f"report({name!r}, {outcome!r}): {name!r} did not finish before the deadline. "
                "Downloads cancelled at the deadline are not reported: return their names."
            )
        if isinstance(mine, BaseException):
            return (
                f"report({name!r}, {outcome!r}) instead of the exception its download raised, "
                f"{mine!r}. Report the very exception object you caught (`except Exception as "
                "exc: ... report(name, exc)`), not its text, its type or a new one."
            )
        if type(outcome) is not type(mine):
            return wrong_type(name, outcome, mine)
        return f"report({name!r}, {outcome!r}): expected its own content, {mine!r}."
    return ""


_CANCELLED_REPORTED = (
    "A download cancelled at the deadline is not reported: return its name instead."
)

_ALL_DONE_AFTER_CANCEL = (
    "None of the unfinished names came back. Likely: the stragglers were looked for with "
    "done() or cancelled() after cancelling and awaiting them (every task is done by then, "
    "and a cancelled task is done too), or with a record of reported names that outlived "
    "an earlier call. Keep track of the names you reported in this call, and return the "
    "others in the order of names."
)


def explain_reports(got, expected, own, names, deadline=None, returned_at=None) -> str:
    """The likely mistake behind a wrong list of (name, outcome, time) reports."""
    first = min((stamp for _, _, stamp in expected), default=None)
    if not got and returned_at is not None and first is not None and returned_at < first:
        return (
            f"It returned after {returned_at:g} s, before the first download finished (at "
            f"{first:g} s). Likely: a fixed time limit (wait_for(..., N), asyncio.timeout(N), "
            "as_completed(..., timeout=N)) added to be safe: wait as long as the downloads "
            "take" + (", up to the deadline." if deadline is not None else ".")
        )
    if not got and expected and all(isinstance(o, BaseException) for _, o, _ in expected):
        return (
            "Nothing was reported, and every download here failed: a failed download is "
            "reported too, as report(name, the exception it raised)."
        )
    if not got:
        return "Nothing was reported: call report(name, content) for each download."
    wrong_pair = mixed_up({n: o for n, o, _ in got}, own, deadline)
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
    if collections.Counter(got_names) != collections.Counter(expected_names):
        twice = sorted({n for n in got_names if got_names.count(n) > 1})
        missing = [n for n in expected_names if n not in got_names]
        if twice:
            return f"{twice} were reported more than once: report each download exactly once."
        timeouts = [n for n in missing if isinstance(own.get(n), TimeoutError)]
        if timeouts and deadline is not None:
            return (
                f"{timeouts[0]!r} failed with its own TimeoutError, {own[timeouts[0]]!r}, "
                f"before the {deadline:g} s deadline, and was not reported: that is a failed "
                "download to report, not the deadline. Tell the deadline apart from a "
                "download's own TimeoutError (a wrapper that catches Exception around each "
                "download makes it a result like any other)."
            )
        failed = [n for n in missing if isinstance(own.get(n), BaseException)]
        if failed and len(failed) == len(missing):
            return (
                f"{failed} failed and were never reported: a failed download is reported "
                "too, as report(name, the exception it raised)."
            )
        if returned_at is not None and missing:
            ends = {n: stamp for n, _, stamp in expected}
            cut = [n for n in missing if ends[n] > returned_at]
            if cut and len(cut) == len(missing):
                return (
                    f"It returned after {returned_at:g} s, before {cut} finished. Likely: a "
                    "fixed time limit (wait_for(..., N), asyncio.timeout(N), "
                    "as_completed(..., timeout=N)) added to be safe, or a loop that stops "
                    "early."
                )
        return (
            f"{missing} were never reported, although they finished"
            + (f" before the {deadline:g} s deadline" if deadline is not None else "")
            + ": report every download that finishes."
        )
    when = {n: stamp for n, _, stamp in expected}
    failures = {n for n, o, _ in expected if isinstance(o, BaseException)}
    held = [(n, s) for n, _, s in got if n in failures and s != when[n]]
    if held and all(s == when[n] for n, _, s in got if n not in failures):
        name, stamp = held[0]
        return (
            f"The failure of {name!r} was reported at {stamp:g} s, but it failed at "
            f"{when[name]:g} s, while the successes were reported on time. Report a failure "
            "the moment it happens, in the same loop as the successes. Likely: failures "
            "held back and reported after the loop."
        )
    slowest = max(when.values())
    if len(stamps) == 1 and len(got) > 1 and max(stamps) == slowest:
        in_names = ", in the order of `names`," if got_names == list(names) else ""
        return (
            f"Every report came at {slowest:g} s{in_names} when the slowest download ended. "
            "Likely: the results were collected first (gather, asyncio.wait, awaiting the "
            "tasks one by one, ...) and reported afterwards. Report each one the moment it "
            "finishes: loop over asyncio.as_completed(...) and report inside the loop."
        )
    if got_names == list(names) and got_names != expected_names:
        return (
            "The reports came in the order of `names`, not the order the downloads finish. "
            "Likely: the downloads (or their tasks) were awaited one by one, so a fast one "
            "waited behind a slow one. Loop over asyncio.as_completed(...) instead."
        )
    if got_names != expected_names:
        return (
            "The reports must come in the order the downloads finish (fastest first), not "
            "the order of `names`: did you await the downloads one after another?"
        )
    early = [(n, s) for n, _, s in got if s != when[n]]
    if early:
        name, stamp = early[0]
        return (
            f"{name!r} was reported at {stamp:g} s, but its download finished at "
            f"{when[name]:g} s. Each report must come at the moment its own download finishes."
        )
    return "Each report must come at the moment its own download finishes."


def check_reports(reports: Reports, expected, own, names, what: str, deadline=None) -> None:
    if reports.entries == expected and all(
        _is_own(o, e) for (_, o, _), (_, e, _) in zip(reports.entries, expected, strict=True)
    ):
        return
    pytest.fail(
        f"{what}: expected reports {shown(expected)}; got {shown(reports.entries) or 'none'}. "
        + explain_reports(reports.entries, expected, own, names, deadline),
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
        if not failed:
            raise
        late = [n for n in names if n not in reports.names and n not in failed]
        pytest.fail(
            f"report_downloads() raised {exc!r}, the error of the download {failed[0]!r}, and "
            f"{late} were never reported: one failed download ended the whole batch. Catch "
            "the exception for that one download (in a wrapper coroutine around "
            "download(name)) and call report(name, exception).",
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
    loop = asyncio.get_running_loop()
    started = loop.time()
    planned = [e for _, e in getattr(download, "plan", {}).values() if e is not None]
    try:
        with explained_lookups():
            return await ac.report_downloads(download, names, report)
    except TimeoutError as exc:
        if any(exc is e for e in planned):
            raise  # a download's own error: the caller explains it
        pytest.fail(
            f"report_downloads() raised TimeoutError after {loop.time() - started:g} s, "
            "although no download raised one. A download may take as long as it takes: "
            "this task has no deadline. Likely: a fixed timeout (as_completed(..., "
            "timeout=N), asyncio.wait_for(..., N), asyncio.timeout(N)) added to be safe.",
            pytrace=False,
        )


def check_names_unchanged(names: list[str], before: list[str], what: str) -> None:
    if names == before:
        return
    pytest.fail(
        f"{what} changed the caller's list: `names` was {before!r} and is now {names!r}. "
        "Leave `names` as it is: work on a copy (list(names)) or keep your own record of "
        "what was reported.",
        pytrace=False,
    )


async def expect_cancelled(
    job: asyncio.Task, downloads: Downloads, reports: Reports, what: str, at: float, left: list
) -> None:
    """`job` (running `what`) was cancelled `at` s: it must end cancelled, with the downloads
    `left` cancelled at that moment and stopped before it ended, and report nothing more."""
    done, _ = await asyncio.wait({job}, timeout=60)
    if not done:
        job.cancel()
        downloads.stop_leftovers()
        pytest.fail(
            f"{what} was cancelled at {at:g} s but was still running 60 s later: it caught the "
            "CancelledError and carried on. Let the cancellation end it (re-raise it, after "
            "stopping the downloads).",
            pytrace=False,
        )
    running = downloads.still_running()
    if running:
        asked = [n for n in running if downloads.tasks[n].cancelling()]
        downloads.stop_leftovers()
        pytest.fail(
            f"{what} was cancelled at {at:g} s and ended, but its downloads {running} were "
            "still running: "
            + (
                "they had been cancelled, yet cancel() only asks, and they had not stopped "
                "yet. After cancelling them, wait for them (await asyncio.gather(*tasks, "
                "return_exceptions=True)) before letting the CancelledError go on."
                if asked == running
                else "nobody cancelled them. When your function is cancelled, the "
                "CancelledError arrives at the await it is paused on; the tasks it started "
                "(including the ones asyncio.as_completed makes from bare coroutines) run on. "
                "Create the tasks yourself, and in a `finally:` cancel them and wait until "
                "they have stopped (or use an asyncio.TaskGroup, which does that)."
            ),
            pytrace=False,
        )
    if not job.cancelled():
        exc = None if job.cancelled() else job.exception()
        if exc is not None and not isinstance(exc, (AssertionError, pytest.fail.Exception)):
            raise exc
        pytest.fail(
            f"{what} was cancelled at {at:g} s, but it returned normally instead of ending "
            "cancelled: the CancelledError was swallowed. Likely: an `except "
            "asyncio.CancelledError` (or `except BaseException`) that does not re-raise, or a "
            "`return` inside a `finally`. Stop the downloads, then let the CancelledError go "
            "on to your caller.",
            pytrace=False,
        )
    late_reports = [(n, o, s) for n, o, s in reports.entries if s > at]
    if late_reports:
        pytest.fail(
            f"{what} was cancelled at {at:g} s, but it still reported {shown(late_reports)}: a "
            "cancelled call reports nothing more.",
            pytrace=False,
        )
    checks.equal(
        sorted(downloads.cancelled),
        sorted(left),
        f"Downloads cancelled when {what} was cancelled at {at:g} s",
        "Cancel exactly the downloads still running.",
    )
    when = {n: s for n, s in downloads.cancelled_at.items() if s != at}
    if when:
        name, stamp = next(iter(when.items()))
        pytest.fail(
            f"{what} was cancelled at {at:g} s, but it cancelled the download {name!r} only "
            f"at {stamp:g} s. Cancel the downloads at once, when the cancellation arrives.",
            pytrace=False,
        )


# Scenarios: generated batches, checked against a tiny oracle

SCENARIO_NAMES = ["a", "b", "", "ä", "a b"]  # one per position: all different, some awkward
# Multiples of 1/8 s only, so loop times stay exact floats: with inexact ones, a correct
# `while loop.time() < deadline:` loop could spin forever on the virtual clock, a hair short
# of its deadline.
SCENARIO_DELAYS = [1, 0, 2.5, 86_400]
SCENARIO_CONTENTS = ["<a.zip>", "", "ünïcödé"]  # equal and empty contents are values too
FAILURES = [None, "reset", "timeout", "gone"]


def make_error(kind: str | None) -> Exception | None:
    return {
        None: None,
        "reset": ConnectionResetError("connection reset"),
        "timeout": TimeoutError("the mirror timed out"),  # the download's own, not a deadline
        "gone": MirrorGone(""),  # a custom error with an empty message
    }[kind]


def scenario_jobs(failures: bool):
    """Up to five downloads (delay, content, error kind), one draw each: cheap to generate
    and to shrink, so a wrong answer's smallest scenario is found in well under a second."""
    kinds = FAILURES if failures else [None]
    combos = [
        (delay, text, kind)
        for kind in kinds
        for delay in SCENARIO_DELAYS
        for text in SCENARIO_CONTENTS
        if kind is None or text == SCENARIO_CONTENTS[0]
    ]
    return st.lists(st.sampled_from(combos), max_size=len(SCENARIO_NAMES)).map(
        lambda picked: [(name, *combo) for name, combo in zip(SCENARIO_NAMES, picked, strict=False)]
    )


def story(plan: Plan, contents: dict[str, str]) -> str:
    def one(name: str) -> str:
        seconds, error = plan[name]
        if error is not None:
            return f"{name!r} failing with {error!r} at {seconds:g} s"
        return f"{name!r} returning {contents[name]!r} at {seconds:g} s"

    return "[" + ", ".join(one(name) for name in plan) + "]"


def set_up(jobs) -> tuple[list[str], Plan, Downloads, Reports, str]:
    names = [name for name, _, _, _ in jobs]
    plan = {name: (delay, make_error(kind)) for name, delay, _, kind in jobs}
    downloads = Downloads(plan, {name: text for name, _, text, _ in jobs})
    said = f"with downloads {story(plan, downloads.contents)}"
    scenarios.describe(said)
    return names, plan, downloads, Reports(), said


def check_scenario_reports(
    reports, downloads, names, on_time, said, deadline=None, returned_at=None
) -> None:
    """Every name in `on_time` reported once, with its own outcome, when it finished."""
    plan, own = downloads.plan, downloads.own()
    right = collections.Counter(reports.names) == collections.Counter(on_time) and all(
        _is_own(outcome, own[name]) and stamp == plan[name][0]
        for name, outcome, stamp in reports.entries
    )
    if right:
        return
    order = {name: i for i, name in enumerate(reports.names)}
    expected = sorted(
        ((name, own[name], plan[name][0]) for name in on_time),
        key=lambda entry: (entry[2], order.get(entry[0], len(order))),
    )
    pytest.fail(
        f"{said}: expected reports {shown(expected)}; got {shown(reports.entries) or 'none'}. "
        + explain_reports(reports.entries, expected, own, names, deadline, returned_at),
        pytrace=False,
    )


def check_started_once(downloads: Downloads, names: list[str], said: str) -> None:
    counts = collections.Counter(downloads.started)
    wrong = {name: counts[name] for name in names if counts[name] != 1}
    if not wrong:
        return
    name, times = next(iter(wrong.items()))
    failed = downloads.plan[name][1] is not None
    pytest.fail(
        f"{said}: download({name!r}) was called {times} times; expected once. "
        + (
            "It failed, and a failure is reported, not retried."
            if failed and times > 1
            else "Call download(name) exactly once for every name."
        ),
        pytrace=False,
    )


async def scenario_of_report_downloads(jobs, failures: bool) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    names, plan, downloads, reports, said = set_up(jobs)
    before = list(names)
    if failures:
        await run_reporting(downloads, names, reports)
    else:
        await report_downloads(downloads, names, reports)
    took = loop.time() - t0
    check_names_unchanged(names, before, f"report_downloads() {said}")
    check_started_once(downloads, names, said)
    check_scenario_reports(reports, downloads, names, names, said, returned_at=took)
    running = downloads.still_running()
    if running:
        downloads.stop_leftovers()
        pytest.fail(
            f"{said}: report_downloads() returned while {running} were still downloading.",
            pytrace=False,
        )
    checks.took(took, max((d for d, _ in plan.values()), default=0), f"report_downloads() {said}")


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
        downloads.own(),
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
        lambda got: mixed_up(got, {name: content(name) for name in names}),
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
            mixed_up(got, {name: content(name) for name in names})
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
    check_started_once(downloads, ["x", "y", "z"], "Downloads x, y and z")
    checks.equal(
        collections.Counter(reports.names),
        collections.Counter(["x", "y", "z"]),
        "How often each name was reported",
        "Call report(name, outcome) exactly once per name.",
    )


@pytest.mark.task(1)
async def test_no_names_reports_nothing(looptime):
    reports = Reports()
    await report_downloads(Downloads({}), [], reports)
    checks.equal(reports.entries, [], "Reports for an empty list of names")
    checks.took(looptime, 0, "report_downloads() with no names")


@pytest.mark.task(1)
async def test_an_empty_content_is_reported_as_it_is():
    downloads = Downloads(plan_of(empty=1, full=2), {"empty": ""})
    reports = Reports()
    await report_downloads(downloads, ["full", "empty"], reports)
    check_reports(
        reports,
        [("empty", "", 1), ("full", content("full"), 2)],
        downloads.own(),
        ["full", "empty"],
        "Downloads 'empty' (returning '' at 1 s) and 'full' (at 2 s)",
    )


@pytest.mark.task(1)
async def test_report_gets_exactly_what_download_returned():
    downloads, reports = Downloads(plan_of(p=1, q=2)), Reports()
    await report_downloads(downloads, ["p", "q"], reports)
    for name, outcome, _ in reports.entries:
        own = downloads.contents.get(name)
        if not _is_own(outcome, own):
            pytest.fail(
                f"Downloads 'p' and 'q': {mixed_up({name: outcome}, downloads.own())}",
                pytrace=False,
            )
    checks.equal(sorted(reports.names), ["p", "q"], "Names reported", "Once per name.")


@pytest.mark.task(1)
async def test_names_are_left_unchanged():
    names = ["one", "two", "three"]
    downloads, reports = Downloads(plan_of(one=2, two=1, three=3)), Reports()
    await report_downloads(downloads, names, reports)
    check_names_unchanged(names, ["one", "two", "three"], "report_downloads()")


@pytest.mark.task(1)
@pytest.mark.loop_limit(100_000)
async def test_a_day_long_download_is_waited_for(looptime):
    plan = plan_of(daily=86_400, quick=1)
    downloads, reports = Downloads(plan), Reports()
    await report_downloads(downloads, ["daily", "quick"], reports)
    if "daily" not in reports.names:
        downloads.stop_leftovers()
        pytest.fail(
            "A download taking 86,400 s (a day) was never reported: report_downloads() "
            f"returned after {float(looptime):g} s with only "
            f"{shown(reports.entries) or 'no reports'}. "
            "A download may take as long as it takes: there is no deadline in this task. "
            "Likely: a fixed timeout (asyncio.wait_for(..., N), as_completed(..., timeout=N), "
            "asyncio.timeout(N)) added to be safe, or a loop that stops early.",
            pytrace=False,
        )
    check_reports(
        reports,
        [("quick", content("quick"), 1), ("daily", content("daily"), 86_400)],
        downloads.own(),
        ["daily", "quick"],
        "Downloads taking 86,400 and 1 s",
    )
    checks.took(looptime, 86_400, "report_downloads() with a day-long download")


@pytest.mark.task(1)
async def test_two_calls_at_once_keep_their_own_reports():
    first = Downloads(plan_of(a=1, b=3))
    second = Downloads(plan_of(x=2, y=0.5, z=4))
    first_reports, second_reports = Reports(), Reports()
    await asyncio.gather(
        report_downloads(first, ["a", "b"], first_reports),
        report_downloads(second, ["x", "y", "z"], second_reports),
    )
    checks.equal(
        (first_reports.names, second_reports.names),
        (["a", "b"], ["y", "x", "z"]),
        "Names each of two report_downloads() calls running at once reported",
        "Each call reports its own downloads, once each, through its own report function. "
        "Likely: a list, set or dict kept at module level (or in a default argument) that "
        "both calls share.",
    )
    third = Downloads(plan_of(a=2, c=1))
    third_reports = Reports()
    await report_downloads(third, ["a", "c"], third_reports)
    checks.equal(
        third_reports.names,
        ["c", "a"],
        "Names a later call with ['a', 'c'] reported",
        "A call must not remember anything from earlier calls. Likely: a list, set or dict "
        "kept at module level (or in a default argument) that outlives the call.",
    )


@pytest.mark.task(1)
async def test_cancelling_report_downloads_stops_its_downloads():
    plan = plan_of(a=1, b=5, c=9)
    downloads, reports = Downloads(plan, cleanup=0.5), Reports()
    job = asyncio.create_task(report_downloads(downloads, ["b", "a", "c"], reports))
    await asyncio.sleep(2)
    job.cancel()
    await expect_cancelled(job, downloads, reports, "report_downloads()", 2, ["b", "c"])
    checks.equal(reports.names, ["a"], "Names reported before the cancellation at 2 s")


@pytest.mark.task(1)
@pytest.mark.loop_limit(100_000)
@scenarios.given(jobs=scenario_jobs(failures=False))
async def test_report_downloads_in_any_scenario(jobs):
    await scenario_of_report_downloads(jobs, failures=False)


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
            else mixed_up(got, downloads.own())
        ),
    )
    checks.took(looptime, 3, "report_downloads() when the 1 s download fails")


@pytest.mark.task(2)
async def test_a_failure_is_reported_the_moment_it_happens():
    plan = {
        "a": (3.0, None),
        "b": (1.0, ConnectionError("reset")),
        "c": (2.0, PermissionError("denied")),
    }
    downloads, reports = Downloads(plan), Reports()
    await run_reporting(downloads, ["a", "b", "c"], reports)
    check_started_once(downloads, ["a", "b", "c"], "Downloads a (3 s), b and c (failing)")
    own = downloads.own()
    check_reports(
        reports,
        [("b", own["b"], 1), ("c", own["c"], 2), ("a", own["a"], 3)],
        own,
        ["a", "b", "c"],
        "Downloads a (3 s), b (fails at 1 s) and c (fails at 2 s)",
    )


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
            mixed_up(reports.outcomes(), downloads.own())
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
            mixed_up(got, downloads.own())
            or "Each name is reported with the very exception its own download raised."
        ),
    )
    for name, outcome in reports.outcomes().items():
        if not _is_own(outcome, downloads.own()[name]):
            pytest.fail(mixed_up({name: outcome}, downloads.own()), pytrace=False)


@pytest.mark.task(2)
async def test_unusual_errors_are_reported_too():
    own_timeout = TimeoutError("the mirror timed out")
    gone, missing = MirrorGone(""), KeyError("archive")
    plan = {"t": (1.0, own_timeout), "g": (2.0, gone), "k": (3.0, missing), "ok": (4.0, None)}
    downloads, reports = Downloads(plan), Reports()
    await run_reporting(downloads, ["ok", "k", "g", "t"], reports)
    check_started_once(downloads, ["ok", "k", "g", "t"], "Downloads t, g, k (failing) and ok")
    own = downloads.own()
    check_reports(
        reports,
        [("t", own_timeout, 1), ("g", gone, 2), ("k", missing, 3), ("ok", content("ok"), 4)],
        own,
        ["ok", "k", "g", "t"],
        "Downloads failing with TimeoutError (the download's own), a custom MirrorGone('') "
        "and KeyError at 1, 2 and 3 s, one succeeding at 4 s",
    )


@pytest.mark.task(2)
async def test_an_empty_content_next_to_a_failure_is_reported_as_it_is():
    broken = ConnectionResetError("reset")
    downloads = Downloads({"blank": (1.0, None), "bad": (2.0, broken)}, {"blank": ""})
    reports = Reports()
    await run_reporting(downloads, ["bad", "blank"], reports)
    check_reports(
        reports,
        [("blank", "", 1), ("bad", broken, 2)],
        downloads.own(),
        ["bad", "blank"],
        "Downloads 'blank' (returning '' at 1 s) and 'bad' (failing at 2 s)",
    )


@pytest.mark.task(2)
async def test_a_failed_download_is_not_retried():
    plan = {"flaky": (1.0, ConnectionError("reset")), "fine": (2.0, None)}
    downloads, reports = Downloads(plan), Reports()
    await run_reporting(downloads, ["flaky", "fine"], reports)
    check_started_once(downloads, ["flaky", "fine"], "Downloads 'flaky' (fails at 1 s), 'fine'")
    checks.equal(
        collections.Counter(reports.names),
        collections.Counter(["flaky", "fine"]),
        "How often each name was reported",
        "Call report(name, outcome) exactly once per name, a failed one too.",
    )


@pytest.mark.task(2)
async def test_cancelled_after_a_failure_it_still_stops_the_rest():
    plan = {"bad": (1.0, OSError("disk full")), "big": (6.0, None), "huge": (8.0, None)}
    downloads, reports = Downloads(plan, cleanup=0.5), Reports()
    job = asyncio.create_task(report_downloads(downloads, ["big", "bad", "huge"], reports))
    await asyncio.sleep(3)
    job.cancel()
    await expect_cancelled(job, downloads, reports, "report_downloads()", 3, ["big", "huge"])
    checks.equal(reports.names, ["bad"], "Names reported before the cancellation at 3 s")


@pytest.mark.task(2)
@pytest.mark.loop_limit(100_000)
@scenarios.given(jobs=scenario_jobs(failures=True))
async def test_report_downloads_with_failures_in_any_scenario(jobs):
    await scenario_of_report_downloads(jobs, failures=True)


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
        downloads.stop_leftovers()
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
    if not isinstance(result, list):
        pytest.fail(
            f"report_within() returned a {type(result).__name__}, {result!r}; expected a list "
            "of names (in the order of `names`). Build it with a list comprehension, e.g. "
            "[name for name in names if name not in reported].",
            pytrace=False,
        )
    if result is names:
        pytest.fail(
            "report_within() returned the caller's own `names` list: return a new list of "
            "the unfinished names, so the caller's list stays theirs.",
            pytrace=False,
        )
    return result


def wrong_late(got: object, expected: list[str], reports: Reports) -> str:
    if got == [] and expected:
        return _ALL_DONE_AFTER_CANCEL
    if checks.same_items(got, expected):
        return (
            "Those are the right names in another order: return them in the order of `names` "
            "(a set, or sorting, loses that order), e.g. [n for n in names if n not in "
            "reported]."
        )
    if isinstance(got, list):
        finished = [n for n in got if n in reports.names]
        if finished:
            return (
                f"{finished} were reported, so they finished in time: only the names never "
                "reported are returned."
            )
        missed = [n for n in expected if n not in got]
        if missed:
            return (
                f"{missed} never finished (they were not reported) and are missing from the "
                "list: return every name you did not report."
            )
    return ""


@pytest.mark.task(3)
async def test_stragglers_are_returned_at_the_deadline(looptime):
    plan = plan_of(a=5, b=1, c=2.5, d=9)
    downloads, reports = Downloads(plan), Reports()
    late = await run_within(downloads, ["a", "b", "c", "d"], reports, 3)
    check_reports(
        reports,
        [("b", content("b"), 1), ("c", content("c"), 2.5)],
        downloads.own(),
        ["a", "b", "c", "d"],
        "Downloads taking 5, 1, 2.5 and 9 s with a 3 s deadline",
        deadline=3,
    )
    checks.equal(
        late,
        ["a", "d"],
        "Names report_within() returned (the unfinished ones, in the order of names)",
        lambda got: wrong_late(got, ["a", "d"], reports),
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
async def test_unfinished_downloads_are_cancelled_at_the_deadline():
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
    checks.equal(
        downloads.cancelled_at,
        {"slow": 2, "slower": 2},
        "When (loop time, s) each straggler was cancelled",
        "Cancel the stragglers at the deadline itself, all at once.",
    )
    check_started_once(downloads, ["slow", "fast", "slower"], "With a 2 s deadline")


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
        late,
        ["b", "c"],
        "Unfinished names returned",
        lambda got: wrong_late(got, ["b", "c"], reports),
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
        late,
        ["mid", "zeta", "alpha", "kilo"],
        "Names report_within(['mid', 'zeta', 'quick', 'alpha', 'kilo'], ...) returned when "
        "only 'quick' finished before the deadline",
        lambda got: wrong_late(got, ["mid", "zeta", "alpha", "kilo"], reports),
    )


@pytest.mark.task(3)
async def test_everything_on_time_returns_an_empty_list_when_the_last_finishes(looptime):
    plan = plan_of(a=2, b=1)
    downloads, reports = Downloads(plan), Reports()
    late = await run_within(downloads, ["a", "b"], reports, 10)
    check_reports(
        reports,
        [("b", content("b"), 1), ("a", content("a"), 2)],
        downloads.own(),
        ["a", "b"],
        "Downloads taking 2 and 1 s with a 10 s deadline",
        deadline=10,
    )
    checks.equal(late, [], "Names returned", lambda got: wrong_late(got, [], reports))
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
    check_reports(
        reports,
        [("bad", broken, 1), ("good", content("good"), 1.5)],
        downloads.own(),
        ["huge", "bad", "good"],
        "Downloads failing at 1 s, finishing at 1.5 s and at 8 s, with a 2 s deadline",
        deadline=2,
    )
    checks.equal(
        late, ["huge"], "Unfinished names returned", lambda got: wrong_late(got, ["huge"], reports)
    )


@pytest.mark.task(3)
async def test_a_download_s_own_timeout_error_is_a_failure_not_the_deadline(looptime):
    own_timeout = TimeoutError("the mirror timed out")
    plan = {"flaky": (1.0, own_timeout), "steady": (2.0, None), "slow": (5.0, None)}
    downloads, reports = Downloads(plan), Reports()
    try:
        late = await run_within(downloads, ["slow", "flaky", "steady"], reports, 3)
    except TimeoutError as exc:
        if exc is not own_timeout:
            raise
        pytest.fail(
            "report_within() raised the TimeoutError that the download 'flaky' raised at 1 s. "
            "That is a failed download, to report as report('flaky', exception), not the "
            "deadline.",
            pytrace=False,
        )
    check_reports(
        reports,
        [("flaky", own_timeout, 1), ("steady", content("steady"), 2)],
        downloads.own(),
        ["slow", "flaky", "steady"],
        "Downloads 'flaky' (raising its own TimeoutError at 1 s), 'steady' (2 s) and 'slow' "
        "(5 s) with a 3 s deadline",
        deadline=3,
    )
    checks.equal(
        late,
        ["slow"],
        "Unfinished names returned",
        lambda got: (
            "'flaky' failed with its own TimeoutError at 1 s: it finished (by failing), it was "
            "reported, and it is not a straggler. Tell the deadline apart from a download's "
            "own TimeoutError."
            if isinstance(got, list) and "flaky" in got
            else wrong_late(got, ["slow"], reports)
        ),
    )
    checks.took(looptime, 3, "report_within() with a 3 s deadline")


@pytest.mark.task(3)
async def test_no_names_returns_an_empty_list_at_once(looptime):
    reports = Reports()
    late = await run_within(Downloads({}), [], reports, 5)
    checks.equal(late, [], "Names returned")
    checks.equal(reports.entries, [], "Reports for an empty list of names")
    checks.took(
        looptime,
        0,
        "report_within() with no names and a 5 s deadline",
        {5: "It waited for the deadline although there was nothing to wait for."},
    )


@pytest.mark.task(3)
async def test_a_zero_deadline_returns_every_name_at_once(looptime):
    downloads, reports = Downloads(plan_of(b=2, a=1)), Reports()
    late = await run_within(downloads, ["b", "a"], reports, 0)
    checks.took(
        looptime,
        0,
        "report_within() with a 0 s deadline",
        {
            2: "It waited for every download: a deadline of 0 means 'at once', not 'no "
            "deadline'. Likely: `timeout or None`, or `if timeout:`."
        },
    )
    checks.equal(reports.entries, [], "Reports with a 0 s deadline (downloads taking 2 and 1 s)")
    checks.equal(late, ["b", "a"], "Names returned with a 0 s deadline")


@pytest.mark.task(3)
async def test_an_empty_content_is_not_a_straggler():
    downloads = Downloads(plan_of(blank=1, full=1.5, slow=6), {"blank": ""})
    reports = Reports()
    late = await run_within(downloads, ["blank", "full", "slow"], reports, 2)
    check_reports(
        reports,
        [("blank", "", 1), ("full", content("full"), 1.5)],
        downloads.own(),
        ["blank", "full", "slow"],
        "Downloads 'blank' (returning '' at 1 s), 'full' (1.5 s) and 'slow' (6 s) with a "
        "2 s deadline",
        deadline=2,
    )
    checks.equal(
        late,
        ["slow"],
        "Unfinished names returned",
        lambda got: (
            "'blank' finished at 1 s with an empty content, '', and was reported: an empty "
            "content is a result like any other. Track which names were reported, not "
            "whether their content is truthy (`if not results.get(name)` takes '' for missing)."
            if isinstance(got, list) and "blank" in got
            else wrong_late(got, ["slow"], reports)
        ),
    )


@pytest.mark.task(3)
async def test_report_within_leaves_names_unchanged():
    names = ["slow", "fast", "mid"]
    downloads, reports = Downloads(plan_of(slow=9, fast=1, mid=2)), Reports()
    late = await run_within(downloads, names, reports, 3)
    check_names_unchanged(names, ["slow", "fast", "mid"], "report_within()")
    checks.equal(
        late, ["slow"], "Unfinished names returned", lambda got: wrong_late(got, ["slow"], reports)
    )
    names = ["x", "y"]
    late = await run_within(Downloads(plan_of(x=5, y=6)), names, Reports(), 1)
    check_names_unchanged(names, ["x", "y"], "report_within()")
    checks.equal(late, ["x", "y"], "Unfinished names returned when none finished")


@pytest.mark.task(3)
@pytest.mark.loop_limit(200_000)
async def test_a_day_long_deadline_is_honoured(looptime):
    plan = plan_of(hours=10_000, half=50_000, days=100_000)
    downloads, reports = Downloads(plan), Reports()
    late = await run_within(downloads, ["days", "half", "hours"], reports, 86_400)
    if looptime < 50_000:
        pytest.fail(
            f"With a deadline of 86,400 s (a day) and downloads of 10,000, 50,000 and "
            f"100,000 s, report_within() returned after {float(looptime):g} s, with reports "
            f"{shown(reports.entries) or 'none'}. Only `timeout` sets the deadline. Likely: a "
            "fixed limit (wait_for(..., N), asyncio.timeout(N)) added to be safe.",
            pytrace=False,
        )
    check_reports(
        reports,
        [("hours", content("hours"), 10_000), ("half", content("half"), 50_000)],
        downloads.own(),
        ["days", "half", "hours"],
        "Downloads of 10,000, 50,000 and 100,000 s with an 86,400 s deadline",
        deadline=86_400,
    )
    checks.equal(
        late, ["days"], "Unfinished names returned", lambda got: wrong_late(got, ["days"], reports)
    )
    checks.took(looptime, 86_400, "report_within() with an 86,400 s deadline")


@pytest.mark.task(3)
async def test_two_batches_at_once_keep_their_own_stragglers():
    first, second = Downloads(plan_of(a=1, b=5)), Downloads(plan_of(a=4, c=0.5, d=9))
    first_reports, second_reports = Reports(), Reports()
    late = await asyncio.gather(
        run_within(first, ["a", "b"], first_reports, 2),
        run_within(second, ["a", "c", "d"], second_reports, 6),
    )
    checks.equal(
        (first_reports.names, second_reports.names),
        (["a"], ["c", "a"]),
        "Names reported by two report_within() calls at once (deadlines 2 s and 6 s)",
        "Each call reports its own downloads through its own report function. Likely: a "
        "list, set or dict kept at module level (or in a default argument) that both calls "
        "share.",
    )
    checks.equal(
        late,
        [["b"], ["d"]],
        "Names the two calls returned",
        "Each call returns its own stragglers. Likely: a record of what was reported kept "
        "at module level (or in a default argument) that both calls share.",
    )
    again = await run_within(Downloads(plan_of(a=3, b=1)), ["a", "b"], Reports(), 2)
    checks.equal(
        again,
        ["a"],
        "Names a later call with ['a', 'b'] and a 2 s deadline returned ('a' takes 3 s)",
        "A call must not remember what earlier calls reported. Likely: a set or list of "
        "reported names kept at module level (or in a default argument).",
    )


@pytest.mark.task(3)
async def test_cancelling_report_within_stops_its_downloads():
    plan = plan_of(a=1, b=5, c=9)
    downloads, reports = Downloads(plan, cleanup=0.5), Reports()
    job = asyncio.create_task(ac.report_within(downloads, ["c", "b", "a"], reports, 7))
    await asyncio.sleep(2)
    job.cancel()
    await expect_cancelled(job, downloads, reports, "report_within()", 2, ["b", "c"])
    checks.equal(reports.names, ["a"], "Names reported before the cancellation at 2 s")


SCENARIO_DEADLINES = [0.5, 2, 4, 50_000]  # never equal to a download's time: no ties


@pytest.mark.task(3)
@pytest.mark.loop_limit(200_000)
@scenarios.given(jobs=scenario_jobs(failures=True), timeout=st.sampled_from(SCENARIO_DEADLINES))
async def test_report_within_in_any_scenario(jobs, timeout):
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    names, plan, downloads, reports, said = set_up(jobs)
    said += f" and a {timeout:g} s deadline"
    scenarios.describe(said)
    before = list(names)
    late = await run_within(downloads, names, reports, timeout)
    took = loop.time() - t0
    check_names_unchanged(names, before, f"report_within() {said}")
    check_started_once(downloads, names, said)
    on_time = [name for name in names if plan[name][0] < timeout]
    expected_late = [name for name in names if plan[name][0] > timeout]
    check_scenario_reports(
        reports, downloads, names, on_time, said, deadline=timeout, returned_at=took
    )
    checks.equal(
        late,
        expected_late,
        f"Names report_within() returned {said}",
        lambda got: wrong_late(got, expected_late, reports),
    )
    checks.equal(
        downloads.cancelled_at,
        dict.fromkeys(expected_late, timeout),
        f"When (loop time, s) each download was cancelled {said}",
        "Cancel the downloads still running at the deadline, all at once, and only those.",
    )
    checks.took(
        took,
        timeout if expected_late else max((plan[n][0] for n in names), default=0),
        f"report_within() {said}",
    )
