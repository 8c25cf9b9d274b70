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


# Task 1: make_breakfast


@pytest.mark.task(1)
async def test_breakfast_returns_coffee_then_toast():
    result = await tasks.make_breakfast(timed_job("coffee", 3), timed_job("toast", 2))
    checks.not_coroutine(result, "make_breakfast()'s result")
    checks.equal(
        tuple(result) if isinstance(result, list) else result,
        ("coffee", "toast"),
        "make_breakfast() returned the wrong values",
        "Return the values the two jobs returned, coffee first.",
    )


@pytest.mark.task(1)
async def test_breakfast_takes_as_long_as_the_slower_job(looptime):
    await tasks.make_breakfast(timed_job("coffee", 3), timed_job("toast", 2))
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

    await tasks.make_breakfast(stamped("coffee", 1), stamped("toast", 4))
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
    result = await tasks.fetch_all(fetch, ["slow", "medium", "fast"])
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
    await tasks.fetch_all(fetch, ["a", "b", "c"])
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
    await tasks.fetch_all(fetch, ["a", "b", "c"])
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
        tasks.fetch_all(fetch, urls),
        "Five fetches that each wait for the others never finished: they were not all "
        "running at the same time. Start every fetch before awaiting any of them.",
    )
    checks.equal(list(result), [u.upper() for u in urls], "fetch_all() pages")


@pytest.mark.task(2)
async def test_each_url_is_fetched_exactly_once():
    calls: list[str] = []
    fetch = fake_fetch({"a": (1, "A"), "b": (2, "B")}, calls)
    await tasks.fetch_all(fetch, ["a", "b"])
    checks.equal(
        sorted(calls),
        ["a", "b"],
        "URLs fetched",
        "Call fetch(url) once per URL: each call is a new download.",
    )


@pytest.mark.task(2)
async def test_no_urls_gives_an_empty_list(looptime):
    result = await tasks.fetch_all(fake_fetch({}), [])
    checks.equal(
        list(result) if isinstance(result, (list, tuple)) else result, [], "fetch_all(fetch, [])"
    )
    checks.took(looptime, 0, "fetch_all() with no URLs")


# Task 3: fetch_report


@pytest.mark.task(3)
async def test_report_keeps_every_page_when_one_fetch_fails():
    broken = ConnectionError("server down")
    fetch = fake_fetch({"a": (1, "A"), "bad": (2, broken), "c": (3, "C")})
    try:
        pages, errors = await tasks.fetch_report(fetch, ["a", "bad", "c"])
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
    pages, errors = await tasks.fetch_report(fetch, ["a", "b"])
    checks.equal((pages, errors), ({"a": "A", "b": "B"}, {}), "fetch_report() of two good URLs")


@pytest.mark.task(3)
async def test_a_failure_does_not_cut_the_others_short(looptime):
    calls: list[str] = []
    fetch = fake_fetch({"boom": (1, ValueError("bad page")), "slow": (4, "S")}, calls)
    pages, errors = await tasks.fetch_report(fetch, ["boom", "slow"])
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
    fetch = fake_fetch({"x": (2, KeyError("x")), "y": (1, TimeoutError()), "z": (1, "Z")})
    pages, errors = await tasks.fetch_report(fetch, ["x", "y", "z"])
    checks.equal(pages, {"z": "Z"}, "Pages")
    checks.equal(
        {url: type(exc).__name__ for url, exc in errors.items()},
        {"x": "KeyError", "y": "TimeoutError"},
        "Errors by URL (exception types)",
    )
