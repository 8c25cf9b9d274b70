"""Exercise 03 tests. Run them with `pytest exercises/03`."""

import asyncio
from collections import Counter

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios

tasks = exercise_module(__file__)


class Jobs:
    """Test doubles (jobs and fetches) that record, in loop time since the test double was
    made, when each one started, ended, failed or was cancelled."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.events: list[tuple[float, str, str]] = []  # (time, "start"/"end"/..., name)
        self.running: dict[int, asyncio.Task | None] = {}
        self._count = 0

    def now(self) -> float:
        return round(self.loop.time() - self.t0, 6)

    async def _run(self, name: str, seconds: float, outcome: object) -> object:
        key = self._count
        self._count += 1
        self.running[key] = asyncio.current_task()
        self.events.append((self.now(), "start", name))
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            self.events.append((self.now(), "cancelled", name))
            raise
        finally:
            del self.running[key]
        if isinstance(outcome, BaseException):
            self.events.append((self.now(), "fail", name))
            raise outcome
        self.events.append((self.now(), "end", name))
        return outcome

    def job(self, name: str, seconds: float, result: str):
        """A job named `name` that takes `seconds` of loop time and returns `result`."""

        async def job() -> object:
            return await self._run(name, seconds, result)

        job.__name__ = job.__qualname__ = name  # leftover-task messages name the job
        return job

    def fetch(self, pages: dict[str, tuple[float, str | Exception]]):
        """`fetch(url)`: waits the URL's delay, then returns its page or raises its exception."""

        async def fetch(url: str) -> object:
            if url not in pages:
                pytest.fail(
                    f"fetch({url!r}) was called, but {url!r} is not one of the URLs asked for "
                    f"({sorted(pages)!r}): pass each URL to fetch exactly as given (no strip, "
                    "lower or other clean-up).",
                    pytrace=False,
                )
            delay, outcome = pages[url]
            return await self._run(url, delay, outcome)

        return fetch

    def calls(self) -> list[str]:
        return [name for _, kind, name in self.events if kind == "start"]

    def times(self, kind: str) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for at, what, name in self.events:
            if what == kind:
                found.setdefault(name, []).append(at)
        return found

    def most_at_once(self) -> int:
        """The largest number of jobs that were running at the same moment."""
        level = best = 0
        order = {"cancelled": 0, "end": 0, "fail": 0, "start": 1}  # ends first at a tie
        for _, kind, _ in sorted(self.events, key=lambda e: (e[0], order[e[1]])):
            level += 1 if kind == "start" else -1
            best = max(best, level)
        return best

    def still_running(self) -> list[str]:
        started = Counter(self.calls())
        for _, kind, name in self.events:
            if kind != "start":
                started[name] -= 1
        return sorted(name for name, n in started.items() for _ in range(n))

    async def clean_up(self) -> None:
        """Cancel whatever the learner's code left running (the test reports it itself)."""
        me = asyncio.current_task()
        left = {t for t in self.running.values() if t is not None and t is not me and not t.done()}
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left, timeout=1)


def took(jobs: Jobs, expected: float, what: str, likely: dict[float, str] | None = None) -> None:
    """checks.took on the loop time since `jobs` was made; a call that returned well after its
    last job ended is told so (that is observed, not guessed)."""
    actual = jobs.now()
    likely = dict(likely or {})
    ends = [at for at, kind, _ in jobs.events if kind in ("end", "fail")]
    if ends and not jobs.still_running() and actual > max(ends) + 1e-6 and actual not in likely:
        likely[actual] = (
            f"It returned at {actual:g} s, though its last job had ended at {max(ends):g} s. "
            "Likely polling (sleeping in a loop until a task is done) or a fixed sleep: "
            "`await` the task (or gather) instead, which wakes you the moment it is done."
        )
    checks.took(actual, expected, what, likely)


def _lesson(name: str, exc: BaseException) -> str:
    """The classic mistakes with gather, create_task and wait, told plainly ("" if none fits)."""
    text = str(exc)
    if isinstance(exc, TypeError) and "unhashable type: 'list'" in text:
        return (
            f"{name}() passed a whole list to asyncio.gather (TypeError: {text}). gather takes "
            "each awaitable as its own argument: unpack the list with a star, "
            "`asyncio.gather(*[fetch(url) for url in urls])`."
        )
    if isinstance(exc, TypeError) and "coroutine or an awaitable is required" in text:
        return (
            f"{name}() handed asyncio a function where it needs a coroutine object "
            f"(TypeError: {text}). Call the function to get one: `brew_coffee()`, "
            "`fetch(url)`, not `brew_coffee` or `fetch`."
        )
    if isinstance(exc, TypeError) and "a coroutine was expected" in text:
        return (
            f"{name}() handed create_task() something that is not a coroutine object "
            f"(TypeError: {text}). Call the function inside it: "
            "`asyncio.create_task(brew_coffee())`."
        )
    if isinstance(exc, ValueError) and "Set of Tasks/Futures is empty" in text:
        return (
            f"{name}() called asyncio.wait() with nothing to wait for (ValueError: {text}). "
            "asyncio.wait refuses an empty collection: when there are no URLs, return at once "
            "(asyncio.gather(), by contrast, accepts zero awaitables)."
        )
    return ""


def _time_limit(name: str, exc: BaseException, seconds: float) -> str:
    return (
        f"{name}() raised {type(exc).__name__} after {seconds:g} s of loop time, but none of "
        "the test's jobs raises it. Likely a time limit of your own (asyncio.wait_for(..., "
        "timeout=...), asyncio.timeout(...)): the contract sets none, a job may legally take "
        "a day. Wait as long as the slowest job takes."
    )


async def run(name: str, *args: object):
    """Await the learner's coroutine function `name`, explaining the classic mistakes."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        return await getattr(tasks, name)(*args)
    except TimeoutError as exc:
        if any(exc is outcome for outcome in _RAISED):
            raise
        pytest.fail(_time_limit(name, exc, loop.time() - started), pytrace=False)
    except (TypeError, ValueError) as exc:
        lesson = _lesson(name, exc)
        if not lesson:
            raise
        pytest.fail(lesson, pytrace=False)


_RAISED: list[BaseException] = []  # exceptions the test's own fetches raise on purpose


async def cancelled_while_waiting(name: str, jobs: Jobs, after: float, call) -> str:
    """Start `call` (the test's await of the learner's `name`) as a task, cancel it `after`
    seconds in, and say what went wrong ("" if it ended cancelled and left nothing running)."""
    outer = asyncio.create_task(call)
    await asyncio.sleep(after)
    if outer.done():
        await outer
        return f"{name}() had already returned after {after:g} s, before it could be cancelled."
    running = jobs.still_running()
    outer.cancel()
    await asyncio.wait([outer], timeout=100)
    for _ in range(10):  # a `finally: task.cancel()` takes effect within a turn or two
        await asyncio.sleep(0)
    left = jobs.still_running()
    await jobs.clean_up()
    problems = []
    if left:
        problems.append(
            f"{', '.join(map(repr, left))} {'was' if len(left) == 1 else 'were'} still running "
            f"after {name}() had been cancelled (at {after:g} s, while {running!r} ran): "
            "tasks you start are yours to cancel. asyncio.gather and TaskGroup cancel their "
            "jobs when they are cancelled; asyncio.wait, as_completed and a plain create_task "
            "do not: cancel your tasks in a `finally:`."
        )
    if not outer.done():
        outer.cancel()
        await asyncio.wait([outer], timeout=1)
        problems.append(
            f"{name}() was still running 100 s after it had been cancelled: it caught the "
            "CancelledError and carried on. Let it reach the caller."
        )
    elif not outer.cancelled():
        failure = outer.exception()
        if isinstance(failure, pytest.fail.Exception):
            raise failure
        if failure is not None:
            problems.append(
                f"{name}() raised {failure!r} when it was cancelled; it must end cancelled "
                "(the CancelledError reaches the caller)."
            )
        else:
            problems.append(
                f"{name}() returned {outer.result()!r} after it had been cancelled: it caught "
                "the CancelledError and did not re-raise it, so the caller cannot tell it was "
                "cancelled. Let the CancelledError propagate (re-raise it after cleaning up)."
            )
    return " ".join(problems)


def mixed_up(got: object, mine: set, theirs: set, why: str) -> str:
    """`why` when `got` holds values that belong to another call, else "" (observed only)."""
    try:
        found = set(got) if not isinstance(got, dict) else set(got.values())  # type: ignore[arg-type]
    except TypeError:
        return ""
    return why if (found & theirs) - mine else ""


def as_tuple(result: object) -> object:
    """A list or tuple as a tuple, so that a value check does not also judge the type."""
    return tuple(result) if isinstance(result, list | tuple) else result


def as_list(result: object) -> object:
    return list(result) if isinstance(result, list | tuple) else result


# Task 1: make_breakfast


async def breakfast(brew_coffee, toast_bread):
    """Await the learner's make_breakfast(), explaining a result read too early."""
    try:
        return await run("make_breakfast", brew_coffee, toast_bread)
    except asyncio.InvalidStateError as exc:
        pytest.fail(
            f"make_breakfast() read a task's result before the task had finished "
            f"(InvalidStateError: {exc}). task.result() does not wait: `await coffee_task` "
            "waits until the coffee is ready and gives you its value.",
            pytrace=False,
        )


def kitchen_story(jobs: Jobs) -> str:
    """What the test saw of the two jobs, told as a likely mistake ("" if nothing stands out)."""
    calls = Counter(jobs.calls())
    if calls["coffee"] != 1 or calls["toast"] != 1:
        return (
            f"brew_coffee() was called {checks.count(calls['coffee'], 'time')} and toast_bread() "
            f"{checks.count(calls['toast'], 'time')}: call each exactly once, and await the one "
            "coffee task "
            "you started rather than calling brew_coffee() again."
        )
    started = {name: at[0] for name, at in jobs.times("start").items()}
    ended = {name: at[0] for name, at in jobs.times("end").items()}
    if ended.get("toast", 0) > 0 and started["coffee"] >= ended["toast"]:
        return (
            f"The coffee started only at {started['coffee']:g} s, once the toast was done: "
            "start the coffee task before you await the toast."
        )
    if ended.get("coffee", 0) > 0 and started["toast"] >= ended["coffee"]:
        return (
            f"The toasting began only at {started['toast']:g} s, after the coffee had finished "
            "brewing: start the coffee as a task, then await the toast while it brews."
        )
    return ""


def breakfast_took(jobs: Jobs, expected: float, what: str) -> None:
    """took(), told with what the test saw of the two jobs when that explains it."""
    story = kitchen_story(jobs)
    if story and abs(jobs.now() - expected) > 1e-6:
        pytest.fail(
            f"{what} took {jobs.now():g} s of loop time; expected {expected:g} s. {story}",
            pytrace=False,
        )
    took(jobs, expected, what)


@pytest.mark.task(1)
async def test_breakfast_returns_coffee_then_toast():
    jobs = Jobs()
    result = await breakfast(jobs.job("coffee", 3, "coffee"), jobs.job("toast", 2, "toast"))
    checks.not_coroutine(result, "make_breakfast()'s result")
    checks.equal(
        as_tuple(result),
        ("coffee", "toast"),
        "make_breakfast() returned the wrong values",
        lambda got: (
            "It holds a task (or future) instead of its value: a task is a handle on the "
            "running job. `await coffee_task` waits for it and gives the coffee."
            if isinstance(got, tuple) and any(isinstance(item, asyncio.Future) for item in got)
            else "Return the values the two jobs returned, coffee first."
            if got == ("toast", "coffee")
            else ""
        ),
    )


@pytest.mark.task(1)
async def test_breakfast_returns_a_tuple():
    jobs = Jobs()
    result = await breakfast(jobs.job("coffee", 1, "latte"), jobs.job("toast", 1, "rye"))
    checks.not_coroutine(result, "make_breakfast()'s result")
    if not isinstance(result, tuple):
        pytest.fail(
            f"make_breakfast() returned a {type(result).__name__} ({result!r}); the contract "
            "promises a tuple (coffee, toast)."
            + (
                " asyncio.gather gives a list: unpack it, `coffee, toast = await "
                "asyncio.gather(...)`, then `return coffee, toast`."
                if isinstance(result, list)
                else ""
            ),
            pytrace=False,
        )


@pytest.mark.task(1)
async def test_breakfast_takes_as_long_as_the_slower_job():
    jobs = Jobs()
    await breakfast(jobs.job("coffee", 3, "coffee"), jobs.job("toast", 2, "toast"))
    breakfast_took(jobs, 3, "Breakfast with 3 s of coffee and 2 s of toast")


@pytest.mark.task(1)
async def test_breakfast_starts_both_jobs_at_once():
    jobs = Jobs()
    await breakfast(jobs.job("coffee", 1, "coffee"), jobs.job("toast", 4, "toast"))
    checks.equal(
        sorted(jobs.calls()),
        ["coffee", "toast"],
        "Jobs that ran (brew_coffee and toast_bread, once each)",
        kitchen_story(jobs),
    )
    checks.equal(
        {name: at[0] for name, at in jobs.times("start").items()},
        {"coffee": 0.0, "toast": 0.0},
        "Loop time at which each job started",
        lambda got: kitchen_story(jobs) or "Both jobs should start at 0 s.",
    )


@pytest.mark.task(1)
async def test_breakfast_calls_each_job_exactly_once():
    jobs = Jobs()
    await breakfast(jobs.job("coffee", 3, "coffee"), jobs.job("toast", 2, "toast"))
    checks.equal(
        dict(Counter(jobs.calls())),
        {"coffee": 1, "toast": 1},
        "Times brew_coffee() and toast_bread() were called",
        kitchen_story(jobs),
    )


@pytest.mark.task(1)
@pytest.mark.loop_limit(100_000)
async def test_breakfast_waits_for_a_coffee_that_takes_a_day():
    jobs = Jobs()
    result = await breakfast(
        jobs.job("coffee", 86_400, "cold brew"), jobs.job("toast", 10_000, "burnt")
    )
    checks.equal(
        as_tuple(result), ("cold brew", "burnt"), "make_breakfast() with a day-long coffee"
    )
    breakfast_took(jobs, 86_400, "Breakfast with 86400 s of coffee and 10000 s of toast")


@pytest.mark.task(1)
async def test_two_breakfasts_at_once_keep_their_own_values():
    first, second = Jobs(), Jobs()
    results = await asyncio.gather(
        breakfast(first.job("coffee", 2, "espresso"), first.job("toast", 1, "rye")),
        breakfast(second.job("coffee", 1, "tea"), second.job("toast", 3, "white")),
    )
    checks.equal(
        [as_tuple(r) for r in results],
        [("espresso", "rye"), ("tea", "white")],
        "Two breakfasts made at the same time",
        lambda got: (
            "One breakfast got the other's coffee or toast: each call must keep its own "
            "coffee task and toast, nothing in a module-level variable, which every call shares."
            if isinstance(got, list)
            and len(got) == 2
            and (
                mixed_up(got[0], {"espresso", "rye"}, {"tea", "white"}, "x")
                or mixed_up(got[1], {"tea", "white"}, {"espresso", "rye"}, "x")
            )
            else ""
        ),
    )
    third = Jobs()
    again = await breakfast(third.job("coffee", 1, "mocha"), third.job("toast", 1, "bagel"))
    checks.equal(
        as_tuple(again),
        ("mocha", "bagel"),
        "A third breakfast, made afterwards",
        lambda got: mixed_up(
            got,
            {"mocha", "bagel"},
            {"espresso", "rye", "tea", "white"},
            "Something from an earlier call came back: each call starts from nothing.",
        ),
    )
    for jobs in (first, second, third):
        checks.equal(
            dict(Counter(jobs.calls())),
            {"coffee": 1, "toast": 1},
            "Jobs of one breakfast that were called",
            kitchen_story(jobs),
        )


@pytest.mark.task(1)
@pytest.mark.parametrize(("coffee", "toast"), [(3, 2), (2, 3)])
async def test_a_cancelled_breakfast_stops_brewing_and_toasting(coffee, toast):
    jobs = Jobs()
    problems = await cancelled_while_waiting(
        "make_breakfast",
        jobs,
        1,
        breakfast(jobs.job("coffee", coffee, "coffee"), jobs.job("toast", toast, "toast")),
    )
    if problems:
        pytest.fail(
            f"With {coffee} s of coffee and {toast} s of toast, cancelled at 1 s: {problems}",
            pytrace=False,
        )


COFFEES = st.sampled_from(["coffee", "", "same"])
TOASTS = st.sampled_from(["toast", "", "same"])
DELAYS = st.sampled_from([0, 0.37, 2.5, 10_000])


@pytest.mark.task(1)
@pytest.mark.loop_limit(100_000)
@scenarios.given(coffee=st.tuples(COFFEES, DELAYS), toast=st.tuples(TOASTS, DELAYS))
async def test_breakfast_in_any_scenario(coffee, toast):
    jobs = Jobs()
    scene = (
        f"with brew_coffee() taking {coffee[1]:g} s and returning {coffee[0]!r}, and "
        f"toast_bread() taking {toast[1]:g} s and returning {toast[0]!r}"
    )
    scenarios.describe(scene)
    result = await breakfast(
        jobs.job("coffee", coffee[1], coffee[0]), jobs.job("toast", toast[1], toast[0])
    )
    checks.not_coroutine(result, "make_breakfast()'s result")
    checks.equal(as_tuple(result), (coffee[0], toast[0]), f"make_breakfast() {scene}")
    checks.equal(
        dict(Counter(jobs.calls())),
        {"coffee": 1, "toast": 1},
        f"Calls of each job {scene}",
        kitchen_story(jobs),
    )
    checks.equal(
        {name: at[0] for name, at in jobs.times("start").items()},
        {"coffee": 0.0, "toast": 0.0},
        f"Loop time at which each job started {scene}",
        lambda got: kitchen_story(jobs) or "Both jobs should start at once.",
    )
    breakfast_took(jobs, max(coffee[1], toast[1]), f"make_breakfast() {scene}")


# Task 2: fetch_all


def fetch_all_likely(urls: list[str], pages: list[str], jobs: Jobs):
    """Explain a wrong list of pages from what the test saw ("" if nothing explains it)."""

    def likely(got: object) -> str:
        if not isinstance(got, list | tuple):
            return f"fetch_all() must return a list of pages, not a {type(got).__name__}."
        got = list(got)
        calls = Counter(jobs.calls())
        merged = [u for u in dict.fromkeys(urls) if calls[u] < urls.count(u)]
        if len(got) < len(pages) and merged:
            return (
                f"{merged[0]!r} is listed {urls.count(merged[0])} times but was fetched "
                f"{checks.count(calls[merged[0]], 'time')}: a URL listed twice is fetched twice "
                "and its page "
                "appears twice. Likely the URLs or pages went through a dict or a set."
            )
        if len(got) < len(pages) and "" in pages and sorted(got) == sorted(p for p in pages if p):
            return (
                "The empty page '' is missing: an empty page is still a page. Likely an "
                "`if page:` (or `page or ...`) that takes '' for nothing."
            )
        if got != pages and checks.same_items(got, pages):
            return (
                "The pages must follow the order of `urls`, not the order the downloads "
                "finished: asyncio.gather already returns them in the order you passed the "
                "awaitables."
            )
        return ""

    return likely


def concurrency_likely(jobs: Jobs, total: int) -> str:
    most = jobs.most_at_once()
    if most >= total:
        return ""
    late = max(at for at, kind, _ in jobs.events if kind == "start")
    if most == 1:
        return (
            f"Only one fetch ran at a time (the last one started at {late:g} s): " + AWAIT_IN_A_LOOP
        )
    return (
        f"At most {most} fetches ran at the same time (the last one started at {late:g} s): "
        "every fetch must start at once. Likely a Semaphore, batches or a worker pool that "
        "caps how many run together; the contract sets no cap."
    )


@pytest.mark.task(2)
async def test_fetch_all_returns_pages_in_the_order_of_urls():
    jobs = Jobs()
    fetch = jobs.fetch({"slow": (3, "S"), "medium": (2, "M"), "fast": (1, "F")})
    urls = ["slow", "medium", "fast"]
    result = await run("fetch_all", fetch, list(urls))
    checks.not_coroutine(result, "fetch_all()'s result")
    checks.equal(
        as_list(result),
        ["S", "M", "F"],
        "Pages for urls ['slow', 'medium', 'fast'] (finishing in 3, 2 and 1 s)",
        fetch_all_likely(urls, ["S", "M", "F"], jobs),
    )


@pytest.mark.task(2)
async def test_fetch_all_returns_a_new_list():
    jobs = Jobs()
    urls = ["a", "b"]
    result = await run("fetch_all", jobs.fetch({"a": (1, "A"), "b": (1, "B")}), urls)
    checks.not_coroutine(result, "fetch_all()'s result")
    if not isinstance(result, list):
        pytest.fail(
            f"fetch_all() returned a {type(result).__name__} ({result!r}); the contract "
            "promises a list of pages. asyncio.gather already gives a list: return it, or "
            "wrap what you have in list(...).",
            pytrace=False,
        )
    if result is urls:
        pytest.fail(
            "fetch_all() returned the caller's own `urls` list, with the pages written into "
            "it: return a new list and leave `urls` alone.",
            pytrace=False,
        )


@pytest.mark.task(2)
async def test_three_one_second_fetches_take_one_second():
    jobs = Jobs()
    await run(
        "fetch_all", jobs.fetch({"a": (1, "A"), "b": (1, "B"), "c": (1, "C")}), ["a", "b", "c"]
    )
    took(
        jobs,
        1,
        "Three 1 s fetches",
        {3: "They ran one after another: " + AWAIT_IN_A_LOOP} if jobs.most_at_once() == 1 else {},
    )


AWAIT_IN_A_LOOP = (
    "each fetch started only once the one before had ended. Awaiting each fetch (or its "
    "task) before starting the next does that: start them all, then wait for all of them."
)


@pytest.mark.task(2)
async def test_total_time_is_the_slowest_fetch_not_the_sum():
    jobs = Jobs()
    await run(
        "fetch_all", jobs.fetch({"a": (2, "A"), "b": (2, "B"), "c": (1, "C")}), ["a", "b", "c"]
    )
    took(
        jobs,
        2,
        "Fetches of 2, 2 and 1 s",
        {5: "That is 2 + 2 + 1: the fetches ran one after another."}
        if jobs.most_at_once() == 1
        else {},
    )


@pytest.mark.task(2)
async def test_all_fetches_are_in_flight_together():
    urls = [f"u{i}" for i in range(5)]
    everyone_started = asyncio.Barrier(len(urls))

    async def fetch(url: str) -> str:
        await everyone_started.wait()  # passes only once all five are waiting at once
        return url.upper()

    expected = [u.upper() for u in urls]
    result = await checks.within(
        10,
        run("fetch_all", fetch, urls),
        "Five fetches that each wait for the others never finished: they were not all "
        "running at the same time. Start every fetch before awaiting any of them.",
    )
    checks.equal(as_list(result), expected, "fetch_all() pages")


@pytest.mark.task(2)
async def test_two_hundred_fetches_all_start_at_once():
    jobs = Jobs()
    urls = [f"u{i}" for i in range(200)]
    expected = [u.upper() for u in urls]
    result = await run("fetch_all", jobs.fetch({u: (1, u.upper()) for u in urls}), list(urls))
    checks.equal(as_list(result), expected, "fetch_all() of 200 URLs")
    checks.equal(jobs.most_at_once(), 200, "Fetches running at once", concurrency_likely(jobs, 200))
    took(jobs, 1, "200 fetches of 1 s")


@pytest.mark.task(2)
async def test_each_url_is_fetched_exactly_once():
    jobs = Jobs()
    await run("fetch_all", jobs.fetch({"a": (1, "A"), "b": (2, "B")}), ["a", "b"])
    checks.equal(
        sorted(jobs.calls()),
        ["a", "b"],
        "URLs fetched",
        "Call fetch(url) once per URL: each call is a new download.",
    )


@pytest.mark.task(2)
async def test_fetch_all_keeps_duplicate_urls():
    jobs = Jobs()
    urls = ["a", "b", "a"]
    result = await run("fetch_all", jobs.fetch({"a": (1, "A"), "b": (2, "B")}), list(urls))
    checks.equal(
        as_list(result),
        ["A", "B", "A"],
        "Pages for urls ['a', 'b', 'a']",
        fetch_all_likely(urls, ["A", "B", "A"], jobs),
    )
    checks.equal(
        dict(Counter(jobs.calls())),
        {"a": 2, "b": 1},
        "Times each URL was fetched for urls ['a', 'b', 'a']",
        "One fetch per entry of `urls`: 'a' is listed twice, so it is fetched twice. Likely "
        "the URLs went through a dict or set, or a page was reused.",
    )


@pytest.mark.task(2)
async def test_fetch_all_keeps_empty_pages():
    jobs = Jobs()
    urls = ["", "b", "c"]
    result = await run(
        "fetch_all", jobs.fetch({"": (1, "root"), "b": (1, ""), "c": (2, "C")}), list(urls)
    )
    checks.equal(
        as_list(result),
        ["root", "", "C"],
        "Pages for urls ['', 'b', 'c'], where '' is a URL and b's page is empty",
        lambda got: (
            fetch_all_likely(urls, ["root", "", "C"], jobs)(got)
            or (
                "The URL '' was skipped: an empty string is a URL like any other. Likely an "
                "`if url:` that takes it for nothing."
                if isinstance(got, list | tuple) and "root" not in got
                else ""
            )
        ),
    )


@pytest.mark.task(2)
async def test_fetch_all_passes_each_url_exactly_as_given():
    jobs = Jobs()
    urls = ["a", "A", " b ", "Ärger/ß?q=1,2"]
    spec = {"a": (1, "lower"), "A": (1, "upper"), " b ": (2, "spaced"), "Ärger/ß?q=1,2": (1, "ü")}
    result = await run("fetch_all", jobs.fetch(spec), list(urls))
    checks.equal(
        as_list(result),
        ["lower", "upper", "spaced", "ü"],
        f"Pages for urls {urls!r}",
        fetch_all_likely(urls, ["lower", "upper", "spaced", "ü"], jobs),
    )
    checks.equal(sorted(jobs.calls()), sorted(urls), "URLs fetched, exactly as given")


@pytest.mark.task(2)
async def test_fetch_all_leaves_urls_unchanged():
    jobs = Jobs()
    urls = ["a", "b", "a"]
    before = list(urls)
    await run("fetch_all", jobs.fetch({"a": (1, "A"), "b": (2, "B")}), urls)
    checks.equal(
        urls,
        before,
        "The caller's `urls` list after fetch_all()",
        "fetch_all() changed the list it was given (pop, remove, sort, or writing pages into "
        "it): leave the caller's list as it was and build a new one.",
    )


@pytest.mark.task(2)
@pytest.mark.loop_limit(100_000)
async def test_fetch_all_waits_for_a_fetch_that_takes_a_day():
    jobs = Jobs()
    urls = ["day", "hours"]
    result = await run(
        "fetch_all", jobs.fetch({"day": (86_400, "D"), "hours": (10_000, "H")}), urls
    )
    checks.equal(as_list(result), ["D", "H"], "Pages of a 86400 s fetch and a 10000 s fetch")
    took(jobs, 86_400, "fetch_all() with fetches of 86400 s and 10000 s")


@pytest.mark.task(2)
async def test_fetch_all_keeps_nothing_between_calls():
    first = Jobs()
    one = await run("fetch_all", first.fetch({"a": (1, "A1"), "b": (2, "B1")}), ["a", "b"])
    second = Jobs()
    two = await run("fetch_all", second.fetch({"a": (2, "A2"), "c": (1, "C2")}), ["a", "c"])
    stale = (
        "Something outlives a call (a cache or list at module level): each call starts from "
        "nothing."
    )
    checks.equal(as_list(one), ["A1", "B1"], "First call, urls ['a', 'b']")
    checks.equal(
        as_list(two),
        ["A2", "C2"],
        "Second call, urls ['a', 'c'] with another fetch",
        lambda got: (
            f"The second call's result holds pages of the first call's fetch. {stale}"
            if isinstance(got, list | tuple) and {"A1", "B1"} & set(got)
            else ""
        ),
    )
    checks.equal(
        sorted(second.calls()),
        ["a", "c"],
        "URLs the second call fetched",
        lambda got: (
            f"It did not fetch 'a' again, which the first call had. {stale}"
            if isinstance(got, list) and "a" not in got
            else ""
        ),
    )
    third, fourth = Jobs(), Jobs()
    both = await asyncio.gather(
        run("fetch_all", third.fetch({"x": (2, "X3")}), ["x"]),
        run("fetch_all", fourth.fetch({"x": (1, "X4"), "y": (1, "Y4")}), ["x", "y"]),
    )
    checks.equal(
        [as_list(r) for r in both],
        [["X3"], ["X4", "Y4"]],
        "Two calls running at the same time",
        lambda got: (
            "One call's result holds a page of the other call: each call must keep its own "
            "pages, nothing shared at module level."
            if isinstance(got, list)
            and len(got) == 2
            and (
                mixed_up(got[0], {"X3"}, {"X4", "Y4"}, "x")
                or mixed_up(got[1], {"X4", "Y4"}, {"X3"}, "x")
            )
            else ""
        ),
    )


@pytest.mark.task(2)
async def test_a_cancelled_fetch_all_cancels_its_fetches():
    jobs = Jobs()
    fetch = jobs.fetch({"a": (1, "A"), "b": (5, "B"), "c": (10, "C")})
    problems = await cancelled_while_waiting(
        "fetch_all", jobs, 2, run("fetch_all", fetch, ["a", "b", "c"])
    )
    if problems:
        pytest.fail(
            f"fetch_all() with fetches of 1, 5 and 10 s, cancelled at 2 s: {problems}",
            pytrace=False,
        )


@pytest.mark.task(2)
async def test_no_urls_gives_an_empty_list():
    jobs = Jobs()
    result = await run("fetch_all", jobs.fetch({}), [])
    checks.equal(as_list(result), [], "fetch_all(fetch, [])")
    took(jobs, 0, "fetch_all() with no URLs")


def calls_likely(spec: dict[str, tuple[float, object]], urls: list[str]):
    """Explain wrong call counts: repeats merged, or failures fetched again."""

    def likely(got: object) -> str:
        if not isinstance(got, dict):
            return ""
        fewer = [u for u in dict.fromkeys(urls) if got.get(u, 0) < urls.count(u)]
        more = [u for u in dict.fromkeys(urls) if got.get(u, 0) > urls.count(u)]
        if fewer and urls.count(fewer[0]) > 1 and got.get(fewer[0], 0) > 0:
            return (
                f"{fewer[0]!r} is listed {urls.count(fewer[0])} times but was fetched "
                f"{checks.count(got[fewer[0]], 'time')}: one fetch per entry of `urls`. Likely "
                "the URLs went "
                "through a set or dict first."
            )
        if more and isinstance(spec[more[0]][1], BaseException):
            return (
                f"{more[0]!r}, whose fetch fails, was fetched "
                f"{checks.count(got[more[0]], 'time')}: a failed "
                "fetch is reported, not tried again."
            )
        return "One fetch per entry of `urls`, no more, no less."

    return likely


def describe_fetches(spec: dict[str, tuple[float, object]], urls: list[str]) -> str:
    shown = ", ".join(
        f"fetch({url!r}) takes {delay:g} s and "
        + (f"raises {outcome!r}" if isinstance(outcome, BaseException) else f"returns {outcome!r}")
        for url, (delay, outcome) in spec.items()
        if url in urls
    )
    return f"with urls {urls!r}" + (f" ({shown})" if shown else "")


URLS = ["a", "b", "", "A", " b ", "Ärger/ß?q=1,2"]  # case, spaces and unicode are the URL's own


def fetch_specs(outcomes):
    """A URL -> (delay, outcome) table, and a list of its URLs (repeats allowed, maybe empty)."""
    table = st.dictionaries(st.sampled_from(URLS), st.tuples(DELAYS, outcomes), max_size=3)
    return table.flatmap(
        lambda spec: st.tuples(
            st.just(spec),
            st.lists(st.sampled_from(sorted(spec)), max_size=5) if spec else st.just([]),
        )
    )


@pytest.mark.task(2)
@pytest.mark.loop_limit(100_000)
@scenarios.given(case=fetch_specs(st.sampled_from(["A", "", "same"])))
async def test_fetch_all_in_any_scenario(case):
    spec, urls = case
    jobs = Jobs()
    scene = describe_fetches(spec, urls)
    scenarios.describe(scene)
    given = list(urls)
    result = await run("fetch_all", jobs.fetch(spec), given)
    checks.not_coroutine(result, "fetch_all()'s result")
    expected = [spec[url][1] for url in urls]
    got = as_list(result)
    if got != expected:
        likely = fetch_all_likely(urls, expected, jobs)(got)
        pytest.fail(
            f"{scene} you returned {result!r}, expected {expected!r}."
            + (f" {likely}" if likely else ""),
            pytrace=False,
        )
    checks.equal(
        dict(Counter(jobs.calls())),
        dict(Counter(urls)),
        f"Times each URL was fetched {scene}",
        calls_likely(spec, urls),
    )
    checks.equal(given, urls, f"The caller's `urls` after fetch_all() {scene}")
    checks.equal(
        sorted({at for ats in jobs.times("start").values() for at in ats}) or [0.0],
        [0.0],
        f"Loop times at which the fetches started {scene}",
        concurrency_likely(jobs, len(urls)) or "Every fetch must start at once, at 0 s.",
    )
    took(jobs, max((spec[u][0] for u in urls), default=0), f"fetch_all() {scene}")


# Task 3: fetch_report


async def report(fetch, urls: list[str], raised: list[Exception]):
    """Await the learner's fetch_report(); `raised` are the exceptions the fetches raise."""
    _RAISED[:] = raised
    try:
        result = await run("fetch_report", fetch, urls)
    except Exception as exc:
        if not any(exc is failure for failure in raised):
            raise
        pytest.fail(
            f"fetch_report() let the {type(exc).__name__} of one fetch escape instead of "
            f"reporting it: {exc!r} should be in `errors`. Every failed fetch belongs there, "
            "whatever exception it raised: use asyncio.gather(..., return_exceptions=True), or "
            "catch `Exception` (not only some types) around each fetch.",
            pytrace=False,
        )
    finally:
        _RAISED.clear()
    checks.not_coroutine(result, "fetch_report()'s result")
    if not (isinstance(result, tuple | list) and len(result) == 2):
        pytest.fail(
            f"fetch_report() returned {result!r}; the contract promises a tuple of two dicts, "
            "(pages, errors).",
            pytrace=False,
        )
    return result


def report_story(spec, urls: list[str], jobs: Jobs, pages: dict, errors: dict) -> str:
    """Explain a wrong (pages, errors) from what the test saw ("" if nothing explains it)."""
    asked = set(urls)
    foreign = [u for u in [*pages, *errors] if u not in asked]
    if foreign and all(isinstance(u, str) for u in foreign):
        cleaned = [
            u
            for u in foreign
            if any(u == a.strip().lower() or u == a.strip() or u == a.lower() for a in asked)
        ]
        if cleaned:
            return (
                f"It has the key {cleaned[0]!r}, a cleaned-up form of a URL asked for: key "
                "each result by its URL exactly as given (no strip or lower), so that different "
                "URLs never merge."
            )
    if foreign:
        return (
            f"It has entries for {foreign[0]!r}, a URL this call was not asked for. Something "
            "outlives a call (dicts at module level?): each call starts from nothing."
        )
    for url, value in errors.items():
        if isinstance(value, str):
            return "Each failed URL maps to the exception object its fetch raised, not its text."
        if isinstance(value, TimeoutError) and value is not spec[url][1]:
            return (
                f"{url!r} got a TimeoutError the test never raised: its fetch takes "
                f"{spec[url][0]:g} s. Likely a time limit of your own (wait_for, timeout): the "
                "contract sets none."
            )
    lost = [u for u in urls if u not in pages and u not in errors]
    cancelled = [u for u in lost if u in jobs.times("cancelled")]
    if cancelled:
        return (
            f"The fetch of {cancelled[0]!r} was cancelled before it ended, so its result is "
            "missing: one failure must not cut the other fetches short. A TaskGroup (or gather "
            "without return_exceptions) cancels the others."
        )
    if "" in lost:
        return (
            "The URL '' is missing: an empty string is a URL like any other. Likely an "
            "`if url:` that takes it for nothing."
        )
    if lost and all(spec[u][1] == "" for u in lost):
        return (
            "The empty page '' is missing: an empty page is still a page, not a failure. "
            "Likely an `if page:` that takes '' for nothing."
        )
    if any(spec[u][1] == "" and u in errors for u in urls):
        return (
            "An empty page '' was put in `errors`: a page is an error only when its fetch "
            "raised. Likely an `if page:` test."
        )
    return ""


def check_report(result, spec, urls: list[str], jobs: Jobs, what: str) -> None:
    pages, errors = result
    for name, value in (("pages", pages), ("errors", errors)):
        if not isinstance(value, dict):
            pytest.fail(
                f"{what}: `{name}` is a {type(value).__name__} ({value!r}); the contract "
                "promises a dict keyed by URL.",
                pytrace=False,
            )
    want_pages = {u: spec[u][1] for u in urls if not isinstance(spec[u][1], BaseException)}
    want_errors = {u: spec[u][1] for u in urls if isinstance(spec[u][1], BaseException)}
    if dict(pages) == want_errors and dict(errors) == want_pages and pages != errors:
        pytest.fail(
            f"{what}: pages and errors are swapped: return (pages, errors), pages first.",
            pytrace=False,
        )
    story = report_story(spec, urls, jobs, dict(pages), dict(errors))
    checks.equal(dict(pages), want_pages, f"{what}: pages", story)
    checks.equal(
        dict(errors),  # exceptions compare by identity: the very object the fetch raised
        want_errors,
        f"{what}: errors (each the very exception its fetch raised)",
        story,
    )


@pytest.mark.task(3)
async def test_report_keeps_every_page_when_one_fetch_fails():
    jobs = Jobs()
    broken = ConnectionError("server down")
    spec = {"a": (1, "A"), "bad": (2, broken), "c": (3, "C")}
    _RAISED[:] = [broken]
    try:
        result = await run("fetch_report", jobs.fetch(spec), ["a", "bad", "c"])
    except ConnectionError:
        pytest.fail(
            "fetch_report() raised the ConnectionError of one URL: the other pages were lost. "
            "Pass return_exceptions=True to asyncio.gather so a failure comes back as a "
            "result instead of being raised.",
            pytrace=False,
        )
    finally:
        _RAISED.clear()
    pages, errors = result
    checks.equal(pages, {"a": "A", "c": "C"}, "Pages of the URLs that worked")
    checks.equal(
        errors,
        {"bad": broken},
        "Errors by URL",
        "Each failed URL maps to the exception object its fetch raised.",
    )


@pytest.mark.task(3)
async def test_report_returns_a_tuple_of_two_dicts():
    jobs = Jobs()
    broken = KeyError("k")
    result = await report(jobs.fetch({"a": (1, "A"), "b": (1, broken)}), ["a", "b"], [broken])
    if not isinstance(result, tuple):
        pytest.fail(
            f"fetch_report() returned a {type(result).__name__} ({result!r}); the contract "
            "promises a tuple: `return pages, errors`.",
            pytrace=False,
        )
    check_report(result, {"a": (1, "A"), "b": (1, broken)}, ["a", "b"], jobs, "fetch_report()")


@pytest.mark.task(3)
async def test_report_with_no_failures_has_no_errors():
    jobs = Jobs()
    pages, errors = await report(jobs.fetch({"a": (1, "A"), "b": (1, "B")}), ["a", "b"], [])
    checks.equal((pages, errors), ({"a": "A", "b": "B"}, {}), "fetch_report() of two good URLs")


@pytest.mark.task(3)
async def test_report_of_no_urls_is_two_empty_dicts():
    jobs = Jobs()
    result = await report(jobs.fetch({}), [], [])
    checks.equal(as_tuple(result), ({}, {}), "fetch_report(fetch, [])")
    took(jobs, 0, "fetch_report() with no URLs")


@pytest.mark.task(3)
async def test_a_failure_does_not_cut_the_others_short():
    jobs = Jobs()
    boom = ValueError("bad page")
    pages, errors = await report(
        jobs.fetch({"boom": (1, boom), "slow": (4, "S")}), ["boom", "slow"], [boom]
    )
    checks.equal(
        pages,
        {"slow": "S"},
        "Pages when the quick fetch fails and the slow one works",
        lambda got: (
            "The slow fetch was cancelled when the quick one failed: it must still run to the "
            "end. A TaskGroup (or gather without return_exceptions) cancels the others."
            if "slow" in jobs.times("cancelled")
            else "The slow fetch must still run to the end after the other one failed."
        ),
    )
    checks.equal(list(errors), ["boom"], "URLs that failed")
    took(
        jobs,
        4,
        "fetch_report() with fetches of 1 s (failing) and 4 s",
        {5: "That is 1 + 4: the fetches ran one after another."}
        if jobs.most_at_once() == 1
        else {},
    )


@pytest.mark.task(3)
async def test_every_failure_is_reported():
    jobs = Jobs()
    failures: list[Exception] = [KeyError("x"), TimeoutError()]
    spec = {"x": (2, failures[0]), "y": (1, failures[1]), "z": (1, "Z")}
    pages, errors = await report(jobs.fetch(spec), ["x", "y", "z"], failures)
    checks.equal(pages, {"z": "Z"}, "Pages")
    checks.equal(
        {url: type(exc).__name__ for url, exc in errors.items()},
        {"x": "KeyError", "y": "TimeoutError"},
        "Errors by URL (exception types)",
    )


@pytest.mark.task(3)
async def test_a_failed_fetch_is_not_retried():
    jobs = Jobs()
    down = ConnectionError("down")
    spec = {"down": (1, down), "up": (1, "U")}
    result = await report(jobs.fetch(spec), ["down", "up"], [down])
    checks.equal(
        dict(Counter(jobs.calls())),
        {"down": 1, "up": 1},
        "Times each URL was fetched",
        lambda got: (
            f"The failed URL was fetched {got.get('down')} times: a failed fetch is reported, "
            "not tried again."
            if isinstance(got, dict) and got.get("down", 0) > 1
            else "One fetch per entry of `urls`."
        ),
    )
    check_report(result, spec, ["down", "up"], jobs, "fetch_report()")


@pytest.mark.task(3)
async def test_report_fetches_a_repeated_url_once_per_entry():
    jobs = Jobs()
    bad = OSError("gone")
    spec = {"a": (1, "A"), "bad": (2, bad)}
    urls = ["a", "bad", "a", "bad"]
    result = await report(jobs.fetch(spec), urls, [bad])
    check_report(result, spec, urls, jobs, "fetch_report() of urls ['a', 'bad', 'a', 'bad']")
    checks.equal(
        dict(Counter(jobs.calls())),
        {"a": 2, "bad": 2},
        "Times each URL was fetched for urls ['a', 'bad', 'a', 'bad']",
        "One fetch per entry of `urls`: a URL listed twice is fetched twice (and has one "
        "entry in the dicts). Likely the URLs went through a set or dict first.",
    )


@pytest.mark.task(3)
async def test_report_keeps_empty_pages_and_the_empty_url():
    jobs = Jobs()
    spec = {"": (1, "root"), "blank": (2, ""), "x": (1, "X")}
    result = await report(jobs.fetch(spec), ["", "blank", "x"], [])
    check_report(
        result,
        spec,
        ["", "blank", "x"],
        jobs,
        "fetch_report() of urls ['', 'blank', 'x'], blank's page being ''",
    )


@pytest.mark.task(3)
async def test_report_keys_each_url_exactly_as_given():
    jobs = Jobs()
    bad = ConnectionError("refused")
    spec = {"a": (1, "lower"), "A": (1, "upper"), " b ": (2, bad), "Ärger/ß?q=1,2": (1, "ü")}
    urls = list(spec)
    result = await report(jobs.fetch(spec), list(urls), [bad])
    check_report(result, spec, urls, jobs, f"fetch_report() of urls {urls!r}")


@pytest.mark.task(3)
async def test_report_leaves_urls_unchanged():
    jobs = Jobs()
    bad = RuntimeError("no")
    urls = ["a", "bad", "a"]
    before = list(urls)
    await report(jobs.fetch({"a": (1, "A"), "bad": (2, bad)}), urls, [bad])
    checks.equal(
        urls,
        before,
        "The caller's `urls` list after fetch_report()",
        "fetch_report() changed the list it was given (pop, remove, sort): leave the caller's "
        "list as it was.",
    )


@pytest.mark.task(3)
@pytest.mark.loop_limit(100_000)
async def test_report_waits_for_fetches_that_take_a_day():
    jobs = Jobs()
    late = ConnectionError("gave up after hours")
    spec = {"day": (86_400, "D"), "hours": (10_000, late), "now": (0, "N")}
    result = await report(jobs.fetch(spec), ["day", "hours", "now"], [late])
    check_report(
        result,
        spec,
        ["day", "hours", "now"],
        jobs,
        "fetch_report() with fetches of 86400 s, 10000 s (failing) and 0 s",
    )
    took(jobs, 86_400, "fetch_report() with fetches of 86400 s, 10000 s and 0 s")


@pytest.mark.task(3)
async def test_report_keeps_nothing_between_calls():
    first = Jobs()
    bad = KeyError("first")
    one = await report(first.fetch({"a": (1, "A1"), "b": (1, bad)}), ["a", "b"], [bad])
    check_report(
        one, {"a": (1, "A1"), "b": (1, bad)}, ["a", "b"], first, "First call, urls ['a', 'b']"
    )
    second = Jobs()
    two = await report(second.fetch({"c": (1, "C2")}), ["c"], [])
    stale = "Something outlives a call (dicts at module level): each call starts from nothing."
    checks.equal(
        (dict(two[0]), dict(two[1])),
        ({"c": "C2"}, {}),
        "Second call, urls ['c']",
        lambda got: (
            f"It still holds entries of the first call. {stale}"
            if any(k in d for d in got for k in ("a", "b"))  # type: ignore[union-attr]
            else ""
        ),
    )
    third, fourth = Jobs(), Jobs()
    both = await asyncio.gather(
        report(third.fetch({"x": (2, "X3")}), ["x"], []),
        report(fourth.fetch({"y": (1, "Y4")}), ["y"], []),
    )
    checks.equal(
        [(dict(p), dict(e)) for p, e in both],
        [({"x": "X3"}, {}), ({"y": "Y4"}, {})],
        "Two calls running at the same time",
        lambda got: (
            f"One call's dicts hold the other call's URL. {stale}"
            if isinstance(got, list)
            and len(got) == 2
            and ("y" in got[0][0] or "y" in got[0][1] or "x" in got[1][0] or "x" in got[1][1])
            else ""
        ),
    )


@pytest.mark.task(3)
async def test_a_cancelled_fetch_report_cancels_its_fetches():
    jobs = Jobs()
    bad = ConnectionError("down")
    fetch = jobs.fetch({"bad": (1, bad), "b": (5, "B"), "c": (10, "C")})
    problems = await cancelled_while_waiting(
        "fetch_report", jobs, 2, report(fetch, ["bad", "b", "c"], [bad])
    )
    if problems:
        pytest.fail(
            "fetch_report() with fetches of 1 s (failing), 5 and 10 s, cancelled at 2 s: "
            + problems,
            pytrace=False,
        )


OUTCOMES = st.sampled_from(["A", "", "same", "KeyError", "TimeoutError", "ConnectionError"])
ERRORS = {"KeyError": KeyError, "TimeoutError": TimeoutError, "ConnectionError": ConnectionError}


@pytest.mark.task(3)
@pytest.mark.loop_limit(100_000)
@scenarios.given(case=fetch_specs(OUTCOMES))
async def test_report_in_any_scenario(case):
    table, urls = case
    spec = {
        url: (delay, ERRORS[outcome](f"{url} failed") if outcome in ERRORS else outcome)
        for url, (delay, outcome) in table.items()
    }
    jobs = Jobs()
    scene = describe_fetches(spec, urls)
    scenarios.describe(scene)
    raised = [o for _, o in spec.values() if isinstance(o, BaseException)]
    given = list(urls)
    result = await report(jobs.fetch(spec), given, raised)
    check_report(result, spec, urls, jobs, f"fetch_report() {scene}")
    checks.equal(
        dict(Counter(jobs.calls())),
        dict(Counter(urls)),
        f"Times each URL was fetched {scene}",
        calls_likely(spec, urls),
    )
    checks.equal(given, urls, f"The caller's `urls` after fetch_report() {scene}")
    checks.equal(
        sorted({at for ats in jobs.times("start").values() for at in ats}) or [0.0],
        [0.0],
        f"Loop times at which the fetches started {scene}",
        concurrency_likely(jobs, len(urls)) or "Every fetch must start at once, at 0 s.",
    )
    took(jobs, max((spec[u][0] for u in urls), default=0), f"fetch_report() {scene}")
