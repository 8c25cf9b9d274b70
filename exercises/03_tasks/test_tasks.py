"""Exercise 03 tests. Run them with `pytest exercises/03`."""

import asyncio

import pytest

from aiokata import checks, exercise_module

tasks = exercise_module(__file__)


def timed_job(result: str, seconds: float, log: list[str] | None = None):
    """A job that takes `seconds` of loop time and returns `result`, noting when it starts."""

    async def job() -> str:
        if log is not None:
            log.append(f"start {result}")
        await asyncio.sleep(seconds)
        return result

    return job


def fake_fetch(pages: dict[str, tuple[float, str | Exception]], calls: list[str] | None = None):
    """`fetch(url)`: waits the URL's delay, then returns its page or raises its exception."""

    async def fetch(url: str) -> str:
        if calls is not None:
            calls.append(url)
        delay, outcome = pages[url]
        await asyncio.sleep(delay)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return fetch


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


async def run(name: str, *args: object):
    """Await the learner's coroutine function `name`, explaining the classic mistakes."""
    try:
        return await getattr(tasks, name)(*args)
    except (TypeError, ValueError) as exc:
        lesson = _lesson(name, exc)
        if not lesson:
            raise
        pytest.fail(lesson, pytrace=False)


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


@pytest.mark.task(1)
async def test_breakfast_returns_coffee_then_toast():
    result = await breakfast(timed_job("coffee", 3), timed_job("toast", 2))
    checks.not_coroutine(result, "make_breakfast()'s result")
    checks.equal(
        tuple(result) if isinstance(result, list) else result,
        ("coffee", "toast"),
        "make_breakfast() returned the wrong values",
        lambda got: (
            "It holds a task (or future) instead of its value: a task is a handle on the "
            "running job. `await coffee_task` waits for it and gives the coffee."
            if isinstance(got, tuple) and any(isinstance(item, asyncio.Future) for item in got)
            else "Return the values the two jobs returned, coffee first."
        ),
    )


@pytest.mark.task(1)
async def test_breakfast_takes_as_long_as_the_slower_job(looptime):
    await breakfast(timed_job("coffee", 3), timed_job("toast", 2))
    checks.took(
        looptime,
        3,
        "Breakfast with 3 s of coffee and 2 s of toast",
        {
            5: "That is 3 + 2: the coffee finished brewing before the toasting began. Start it "
            "as a task first, so it brews while you await the toast."
        },
    )


@pytest.mark.task(1)
async def test_breakfast_starts_both_jobs_at_once(looptime):
    log: list[str] = []
    started_at: dict[str, float] = {}

    def stamped(name: str, seconds: float):
        async def job() -> str:
            started_at[name] = float(looptime)
            return await timed_job(name, seconds, log)()

        return job

    await breakfast(stamped("coffee", 1), stamped("toast", 4))
    checks.equal(
        sorted(started_at),
        ["coffee", "toast"],
        "Jobs that ran",
        "Call brew_coffee() and toast_bread() once each.",
    )
    checks.equal(
        started_at,
        {"coffee": 0.0, "toast": 0.0},
        "Loop time at which each job started",
        "Both jobs should start at 0 s: one of them waited for the other to finish.",
    )


# Task 2: fetch_all


@pytest.mark.task(2)
async def test_fetch_all_returns_pages_in_the_order_of_urls():
    fetch = fake_fetch({"slow": (3, "S"), "medium": (2, "M"), "fast": (1, "F")})
    result = await run("fetch_all", fetch, ["slow", "medium", "fast"])
    checks.not_coroutine(result, "fetch_all()'s result")
    checks.equal(
        list(result) if isinstance(result, (list, tuple)) else result,
        ["S", "M", "F"],
        "Pages for urls ['slow', 'medium', 'fast'] (finishing in 3, 2 and 1 s)",
        lambda got: (
            "The pages must follow the order of `urls`, not the order the downloads "
            "finished: asyncio.gather already returns them in the order you passed the awaitables."
            if checks.same_items(got, ["S", "M", "F"])
            else ""
        ),
    )


@pytest.mark.task(2)
async def test_three_one_second_fetches_take_one_second(looptime):
    fetch = fake_fetch({"a": (1, "A"), "b": (1, "B"), "c": (1, "C")})
    await run("fetch_all", fetch, ["a", "b", "c"])
    checks.took(
        looptime,
        1,
        "Three 1 s fetches",
        {
            3: "They ran one after another: awaiting each fetch in a loop waits for it to end "
            "before starting the next. Start them all, then wait for all of them."
        },
    )


@pytest.mark.task(2)
async def test_total_time_is_the_slowest_fetch_not_the_sum(looptime):
    fetch = fake_fetch({"a": (2, "A"), "b": (2, "B"), "c": (1, "C")})
    await run("fetch_all", fetch, ["a", "b", "c"])
    checks.took(
        looptime,
        2,
        "Fetches of 2, 2 and 1 s",
        {5: "That is 2 + 2 + 1: the fetches ran one after another."},
    )


@pytest.mark.task(2)
async def test_all_fetches_are_in_flight_together():
    urls = [f"u{i}" for i in range(5)]
    everyone_started = asyncio.Barrier(len(urls))

    async def fetch(url: str) -> str:
        await everyone_started.wait()  # passes only once all five are waiting at once
        return url.upper()

    result = await checks.within(
        10,
        run("fetch_all", fetch, urls),
        "Five fetches that each wait for the others never finished: they were not all "
        "running at the same time. Start every fetch before awaiting any of them.",
    )
    checks.equal(list(result), [u.upper() for u in urls], "fetch_all() pages")


@pytest.mark.task(2)
async def test_each_url_is_fetched_exactly_once():
    calls: list[str] = []
    fetch = fake_fetch({"a": (1, "A"), "b": (2, "B")}, calls)
    await run("fetch_all", fetch, ["a", "b"])
    checks.equal(
        sorted(calls),
        ["a", "b"],
        "URLs fetched",
        "Call fetch(url) once per URL: each call is a new download.",
    )


@pytest.mark.task(2)
async def test_no_urls_gives_an_empty_list(looptime):
    result = await run("fetch_all", fake_fetch({}), [])
    checks.equal(
        list(result) if isinstance(result, (list, tuple)) else result, [], "fetch_all(fetch, [])"
    )
    checks.took(looptime, 0, "fetch_all() with no URLs")


# Task 3: fetch_report


async def report(fetch, urls: list[str], raised: list[Exception]):
    """Await the learner's fetch_report(); `raised` are the exceptions the fetches raise."""
    try:
        return await run("fetch_report", fetch, urls)
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


@pytest.mark.task(3)
async def test_report_keeps_every_page_when_one_fetch_fails():
    broken = ConnectionError("server down")
    fetch = fake_fetch({"a": (1, "A"), "bad": (2, broken), "c": (3, "C")})
    try:
        pages, errors = await run("fetch_report", fetch, ["a", "bad", "c"])
    except ConnectionError:
        pytest.fail(
            "fetch_report() raised the ConnectionError of one URL: the other pages were lost. "
            "Pass return_exceptions=True to asyncio.gather so a failure comes back as a "
            "result instead of being raised.",
            pytrace=False,
        )
    checks.equal(pages, {"a": "A", "c": "C"}, "Pages of the URLs that worked")
    checks.equal(
        errors,
        {"bad": broken},
        "Errors by URL",
        "Each failed URL maps to the exception object its fetch raised.",
    )


@pytest.mark.task(3)
async def test_report_with_no_failures_has_no_errors():
    fetch = fake_fetch({"a": (1, "A"), "b": (1, "B")})
    pages, errors = await report(fetch, ["a", "b"], [])
    checks.equal((pages, errors), ({"a": "A", "b": "B"}, {}), "fetch_report() of two good URLs")


@pytest.mark.task(3)
async def test_a_failure_does_not_cut_the_others_short(looptime):
    calls: list[str] = []
    boom = ValueError("bad page")
    fetch = fake_fetch({"boom": (1, boom), "slow": (4, "S")}, calls)
    pages, errors = await report(fetch, ["boom", "slow"], [boom])
    checks.equal(
        pages,
        {"slow": "S"},
        "Pages when the quick fetch fails and the slow one works",
        "The slow fetch must still run to the end after the other one failed.",
    )
    checks.equal(list(errors), ["boom"], "URLs that failed")
    checks.took(
        looptime,
        4,
        "fetch_report() with fetches of 1 s (failing) and 4 s",
        {5: "That is 1 + 4: the fetches ran one after another."},
    )


@pytest.mark.task(3)
async def test_every_failure_is_reported():
    failures: list[Exception] = [KeyError("x"), TimeoutError()]
    fetch = fake_fetch({"x": (2, failures[0]), "y": (1, failures[1]), "z": (1, "Z")})
    pages, errors = await report(fetch, ["x", "y", "z"], failures)
    checks.equal(pages, {"z": "Z"}, "Pages")
    checks.equal(
        {url: type(exc).__name__ for url, exc in errors.items()},
        {"x": "KeyError", "y": "TimeoutError"},
        "Errors by URL (exception types)",
    )
