"""Exercise 12 tests. Run them with `pytest exercises/12`."""

import asyncio
import contextlib
import copy
import inspect
import threading

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import fail, now

agen = exercise_module(__file__)


def stream_of(result: object, call: str) -> object:
    """The async iterator a streaming function returned; fail if it returned something else."""
    if inspect.iscoroutine(result):
        result.close()
        pytest.fail(
            f"{call} returned a coroutine, not a stream: it is an `async def` that returns "
            "instead of yielding. A function becomes an async generator when its body uses "
            "`yield`: yield each item as soon as you have it, rather than building a list and "
            "returning it.",
            pytrace=False,
        )
    if not hasattr(result, "__aiter__"):
        kind = type(result).__name__
        pytest.fail(
            f"{call} returned a {kind}, which `async for` cannot loop over. Write it as an "
            "async generator: `async def` with `yield` in the body.",
            pytrace=False,
        )
    return result


async def collect(
    stream: object, log: list | None = None, limit: int = 1000, pause: bool = False
) -> list:
    """Everything an async iterator yields (noting each item in `log`), at most `limit`.
    With `pause`, the consumer lets the loop run (sleep(0)) after each item, as a real one
    would, so that work the stream started in the background shows up in `log`."""
    got = []
    try:
        async for item in stream:  # type: ignore[attr-defined]
            if log is not None:
                log.append(f"got {list(item) if isinstance(item, tuple) else item}")
            got.append(item)
            if len(got) >= limit:
                break
            if pause:
                await asyncio.sleep(0)
    finally:
        await close(stream)
    return got


async def close(stream: object) -> None:
    """The test closes what it stops reading, as a good consumer does. A stream that something
    else (a task of the learner's) is still reading cannot be closed: the test's own check
    says what went wrong."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(RuntimeError):
            await aclose()


async def within(awaitable, message: str, seconds: float = 100):
    """Await the learner's code; fail with `message` if it is still waiting after `seconds` of
    loop time. A TimeoutError the learner's code raises itself is named as such."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        async with asyncio.timeout(seconds) as scope:
            return await awaitable
    except TimeoutError:
        if scope.expired():
            pytest.fail(message, pytrace=False)
        after = loop.time() - started
    pytest.fail(
        f"Your code raised TimeoutError after {after:g} s of loop time, although nothing in "
        "this exercise has a time limit: the stream it reads may legally take hours. Remove "
        "the timeout you added (asyncio.wait_for(..., N), asyncio.timeout(N)) and just await.",
        pytrace=False,
    )


# Task 1: ticker


def ticker_mistake(interval: float, count: int):
    """A `likely` function for the (loop time, tick) pairs received from ticker(interval, count)."""

    def likely(got: list) -> str:
        if not got:
            return "No tick came at all." if count else ""
        ticks = [tick for _, tick in got]
        if ticks[0] == 0:
            return "Number the ticks 1, 2, 3..."
        if interval == 0 and ticks == list(range(1, count + 1)):
            return (
                "An interval of 0 is legal: it means no wait between ticks. Do not treat 0 as "
                "missing (`interval or 1`, `if not interval`)."
            )
        on_time = all(at == round(tick * interval, 6) for at, tick in got)
        if ticks == list(range(1, len(ticks) + 1)) and on_time:
            return (
                "The ticks come at the right times, but not the right number of them: yield "
                "1, 2, ..., count, count included (`range(1, count + 1)`)."
            )
        if got[0][0] == 0 and interval:
            return "The first tick comes one interval after the start: sleep, then yield."
        if len({at for at, _ in got}) == 1 and len(got) > 1 and interval:
            return (
                "The ticks arrived all at once at the end: yield each tick as soon as it is "
                "due, instead of collecting them first."
            )
        return (
            "Each tick comes `interval` seconds after the previous one: "
            "`await asyncio.sleep(interval)` before each `yield`."
        )

    return likely


async def ticks_with_times(interval: float, count: int, limit: int = 1000, t0: float = 0.0) -> list:
    """(loop time since t0, tick) for each tick of ticker(interval, count), up to `limit`."""
    stream = stream_of(agen.ticker(interval, count), f"ticker({interval}, {count})")
    got: list = []
    try:
        async for tick in stream:  # type: ignore[attr-defined]
            got.append((round(now() - t0, 6), tick))
            if len(got) >= limit:
                break
    finally:
        await close(stream)
    return got


@pytest.mark.task(1)
async def test_ticker_counts_one_tick_per_interval(looptime):
    got = await within(ticks_with_times(0.5, 3), "ticker(0.5, 3) never finished.")
    checks.equal(
        got,
        [(0.5, 1), (1.0, 2), (1.5, 3)],
        "(loop time, tick) received from ticker(0.5, 3)",
        ticker_mistake(0.5, 3),
    )
    checks.took(
        looptime,
        1.5,
        "Looping over ticker(0.5, 3) to the end",
        {2: "The stream should end right after the last tick, without one more sleep."},
    )


@pytest.mark.task(1)
async def test_ticker_works_tick_by_tick(looptime):
    got = await within(
        ticks_with_times(1, 100, limit=2), "ticker(1, 100) never yielded.", seconds=1000
    )
    checks.equal(
        got,
        [(1.0, 1), (2.0, 2)],
        "The first two ticks of ticker(1, 100), as (loop time, tick)",
        ticker_mistake(1, 2),
    )
    checks.took(
        looptime,
        2,
        "Taking two ticks of ticker(1, 100) and leaving the loop",
        {100: "The ticker ran all 100 ticks before yielding: yield each one as it comes."},
    )


@pytest.mark.task(1)
async def test_ticker_with_count_zero_yields_nothing(looptime):
    got = await within(ticks_with_times(1, 0), "ticker(1, 0) never finished.")
    checks.equal(got, [], "Ticks from ticker(1, 0)")
    checks.took(
        looptime,
        0,
        "ticker(1, 0)",
        {1: "With no tick to give, the stream should end at once, without sleeping."},
    )


def tick_type_mistake(got: list) -> str:
    """Name a tick that is not an int (1.0 for 1, True, a string)."""
    for _, tick in got:
        if type(tick) is not int:
            return (
                f"Tick {tick!r} is a {type(tick).__name__}, not an int: yield the tick "
                "numbers 1, 2, 3... themselves (`for tick in range(1, count + 1)`)."
            )
    return ""


@pytest.mark.task(1)
async def test_ticker_with_interval_zero_yields_every_tick_at_once(looptime):
    got = await within(ticks_with_times(0, 3), "ticker(0, 3) never finished.")
    checks.equal(
        got,
        [(0.0, 1), (0.0, 2), (0.0, 3)],
        "(loop time, tick) received from ticker(0, 3)",
        ticker_mistake(0, 3),
    )


@pytest.mark.task(1)
async def test_ticker_yields_int_ticks():
    got = await within(ticks_with_times(0.5, 2), "ticker(0.5, 2) never finished.")
    mistake = tick_type_mistake(got)
    if mistake:
        pytest.fail(
            f"ticker(0.5, 2) yielded {[tick for _, tick in got]!r}. {mistake}", pytrace=False
        )


@pytest.mark.task(1)
@pytest.mark.loop_limit(200_000)
async def test_ticker_with_a_day_long_interval(looptime):
    got = await within(
        ticks_with_times(86_400, 2),
        "ticker(86400, 2) never finished.",
        seconds=200_000,
    )
    checks.equal(
        got,
        [(86_400.0, 1), (172_800.0, 2)],
        "(loop time, tick) received from ticker(86400, 2), a tick a day",
        lambda got: (
            "The ticker stopped before its day-long interval was over: a long interval is "
            "legal. Did you add a timeout (asyncio.wait_for, asyncio.timeout) or cap the sleep?"
            if len(got) < 2 or any(at < 86_400 for at, _ in got[:1])
            else ticker_mistake(86_400, 2)(got)
        ),
    )


@pytest.mark.task(1)
async def test_two_tickers_at_once_keep_their_own_count(looptime):
    async def both() -> tuple:
        return await asyncio.gather(ticks_with_times(1, 3), ticks_with_times(1.5, 2))

    fast, slow = await within(both(), "Two tickers looped at once never finished.")
    checks.equal(
        (fast, slow),
        ([(1.0, 1), (2.0, 2), (3.0, 3)], [(1.5, 1), (3.0, 2)]),
        "(loop time, tick) from ticker(1, 3) and ticker(1.5, 2) looped at the same time",
        lambda got: (
            "The two tickers shared their count: each call of ticker() must count its own "
            "ticks from 1, in a local variable, not in a module-level one."
            if sorted(t for _, t in got[0] + got[1]) != [1, 1, 2, 2, 3]
            else ""
        ),
    )
    again = await within(ticks_with_times(1, 2), "A third ticker(1, 2) never finished.")
    checks.equal(
        [tick for _, tick in again],
        [1, 2],
        "Ticks of ticker(1, 2) called after two other tickers had finished",
        "A new ticker starts again at 1: keep the count inside the generator, not in a global.",
    )


def ended_how(task: asyncio.Task) -> str:
    error = task.exception()
    return f"raised {error!r}" if error else "returned normally"


@pytest.mark.task(1)
async def test_cancelling_the_consumer_stops_the_ticker(looptime):
    got: list = []

    async def consumer() -> None:
        stream = stream_of(agen.ticker(1, 5), "ticker(1, 5)")
        async for tick in stream:  # type: ignore[attr-defined]
            got.append((now(), tick))

    task = asyncio.create_task(consumer())
    await asyncio.sleep(2.5)
    task.cancel()
    try:
        await within(task, "The consumer of ticker(1, 5), cancelled at 2.5 s, never ended.")
    except asyncio.CancelledError:
        pass
    if not task.cancelled():
        pytest.fail(
            "The task looping over ticker(1, 5) was cancelled at 2.5 s but did not end "
            f"cancelled (it {ended_how(task)}): "
            "the ticker caught the CancelledError. Let it propagate: do not catch "
            "asyncio.CancelledError (or BaseException) around the sleep.",
            pytrace=False,
        )
    checks.equal(
        got,
        [(1.0, 1), (2.0, 2)],
        "Ticks received by a consumer of ticker(1, 5) cancelled at 2.5 s",
        ticker_mistake(1, 2),
    )


@pytest.mark.task(1)
@pytest.mark.loop_limit(100_000)
@scenarios.given(interval=st.sampled_from([0, 0.1, 0.5, 1, 2.5, 10_000]), count=st.integers(0, 4))
async def test_ticker_in_any_scenario(interval, count):
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    call = f"ticker({interval}, {count})"
    scenarios.describe(f"with {call}")
    got = await within(
        ticks_with_times(interval, count, t0=t0), f"{call} never finished.", 5 * 10_000 + 100
    )
    ended = round(loop.time() - t0, 6)
    expected = [(round(tick * interval, 6), tick) for tick in range(1, count + 1)]
    checks.equal(
        got, expected, f"(loop time, tick) received from {call}", ticker_mistake(interval, count)
    )
    mistake = tick_type_mistake(got)
    if mistake:
        fail(f"{call} yielded {[tick for _, tick in got]!r}. {mistake}")
    checks.took(
        ended,
        round(count * interval, 6),
        f"Looping over {call} to the end",
        {
            round((count + 1) * interval, 6): "The stream should end right after the last "
            "tick, without one more sleep."
        }
        if interval
        else {},
    )


# Task 2: paginate


class FakeApi:
    """A paginated API: `await fetch_page(n)` takes `delays[n]` s (1 s unless given) and
    returns {"items": [...], "next": <number> or None}. It hands out its own page dicts (as a
    real client's cache might), and remembers how they were, to see whether anyone changed them."""

    def __init__(
        self,
        pages: dict[int, tuple[list, int | None]],
        log: list | None = None,
        delays: dict[int, float] | None = None,
    ):
        self.pages = {
            number: {"items": copy.deepcopy(items), "next": next_page}
            for number, (items, next_page) in pages.items()
        }
        self.original = copy.deepcopy(self.pages)
        self.delays = delays or {}
        self.log: list = log if log is not None else []
        self.fetched: list[int] = []
        self.cancelled: list[tuple[int, float]] = []  # (page, loop time) of a cancelled fetch

    async def fetch_page(self, number: int) -> dict:
        if number not in self.pages:
            pytest.fail(
                f"paginate() asked for page {number!r}, which does not exist (pages: "
                f"{sorted(self.pages)}). Start at page 1, then ask for page['next'] until "
                "it is None.",
                pytrace=False,
            )
        self.log.append(f"fetch {number}")
        self.fetched.append(number)
        try:
            await asyncio.sleep(self.delays.get(number, 1))
        except asyncio.CancelledError:
            self.cancelled.append((number, now()))
            raise
        return self.pages[number]

    def changed(self) -> str:
        """How a page handed out was changed afterwards, or ""."""
        for number, page in self.pages.items():
            if page != self.original[number]:
                return (
                    f"page {number} was {self.original[number]!r} when fetch_page returned "
                    f"it and is {page!r} now"
                )
        return ""


MUTATED_PAGE = (
    "paginate() changed a page that fetch_page returned: {change}. The pages belong to the "
    "API (a client may cache them): read them without changing them. Loop over "
    "page['items'] with `for item in ...`, or copy the list before you pop() from it."
)


THREE_PAGES = {1: (["a", "b"], 2), 2: (["c", "d"], 3), 3: (["e"], None)}


def paginated(api: FakeApi) -> object:
    return stream_of(agen.paginate(api.fetch_page), "paginate(fetch_page)")


@pytest.mark.task(2)
async def test_paginate_yields_every_item_of_every_page():
    api = FakeApi(THREE_PAGES)
    got = await within(collect(paginated(api)), "paginate() never finished.")
    checks.equal(
        got,
        ["a", "b", "c", "d", "e"],
        "Items from three pages ['a', 'b'], ['c', 'd'], ['e']",
        lambda got: (
            "Yield the items one by one (`for item in page['items']: yield item`), not whole pages."
            if got and isinstance(got[0], (list, dict))
            else ""
        ),
    )
    checks.equal(api.fetched, [1, 2, 3], "Pages fetched", "Fetch each page once, in order.")


@pytest.mark.task(2)
async def test_paginate_goes_on_past_an_empty_page():
    api = FakeApi({1: (["a"], 2), 2: ([], 3), 3: (["b"], None)})
    got = await within(collect(paginated(api)), "paginate() never finished.")
    checks.equal(
        got,
        ["a", "b"],
        "Items from pages ['a'], [] (next: 3), ['b']",
        "An empty page is not the end of the list: only page['next'] being None is. "
        "Keep following 'next'.",
    )


@pytest.mark.task(2)
async def test_paginate_fetches_a_page_only_when_its_items_are_needed():
    log: list = []
    api = FakeApi(THREE_PAGES, log)
    await within(collect(paginated(api), log, pause=True), "paginate() never finished.")
    expected = [
        "fetch 1", "got a", "got b", "fetch 2", "got c", "got d", "fetch 3", "got e",
    ]  # fmt: skip

    def likely(got: object) -> str:
        first_item = next((i for i, entry in enumerate(got) if entry.startswith("got")), 0)
        if all(entry.startswith("fetch") for entry in got[:first_item]) and first_item == 3:
            return (
                "paginate() fetched every page before yielding the first item: it collected "
                "everything into a list first. Yield each item as soon as its page has "
                "arrived; the consumer may never need the later pages."
            )
        return (
            "A page was fetched before the consumer had used up the previous one: fetch the "
            "next page only after yielding every item of the current page."
        )

    checks.equal(log, expected, "Order of page fetches and items received", likely)


@pytest.mark.task(2)
async def test_stopping_after_the_first_item_fetches_only_page_one(looptime):
    api = FakeApi(THREE_PAGES)
    got = await within(collect(paginated(api), limit=1), "paginate() never yielded.")
    checks.equal(got, ["a"], "The first item")
    checks.equal(
        api.fetched,
        [1],
        "Pages fetched when the consumer wanted only the first item",
        "Fetch lazily: page 2 is only needed once the items of page 1 are used up.",
    )
    checks.took(looptime, 1, "Getting the first item (each page takes 1 s to fetch)")


@pytest.mark.task(2)
async def test_paginate_follows_next_wherever_it_points():
    api = FakeApi({1: (["a"], 7), 7: (["b", "c"], 3), 3: (["d"], None)})
    got = await within(collect(paginated(api)), "paginate() never finished.")
    checks.equal(
        (got, api.fetched),
        (["a", "b", "c", "d"], [1, 7, 3]),
        "(items, pages fetched) when page 1 says next is 7 and page 7 says next is 3",
        "Page numbers need not follow each other: ask for the page that page['next'] "
        "names, rather than adding 1 to the page number.",
    )


@pytest.mark.task(2)
async def test_paginate_with_a_single_page():
    api = FakeApi({1: (["only"], None)})
    got = await within(collect(paginated(api)), "paginate() never finished.")
    checks.equal((got, api.fetched), (["only"], [1]), "(items, pages fetched) for a single page")


def paginate_mistake(got: object, expected: list, api: FakeApi) -> str:
    """The likely mistake behind a wrong list of items, from what was yielded and fetched."""
    if not isinstance(got, list):
        return ""
    if got and any(isinstance(g, dict) and "items" in g for g in got):
        return "Yield the items of each page one by one, not the page dicts."
    pages = api.original
    last = api.fetched[-1] if api.fetched else None
    if last is not None and pages.get(last, {}).get("next") is not None:
        follow = pages[last]["next"]
        if follow == 0:
            return (
                f"Page {last} said next is 0, and you stopped there: 0 is a page number. Only "
                "None ends the list, so test `is None` (`while number is not None`), not "
                "truthiness (`while number:`, `if not page['next']`)."
            )
        if not pages[last]["items"]:
            return (
                f"You stopped at page {last}, which is empty but says next is {follow}: an "
                "empty page is not the end of the list; only page['next'] being None is."
            )
        return f"You stopped after page {last}, which says next is {follow}: keep following it."
    if api.fetched[:1] != [1]:
        return (
            f"paginate() asked this fetch_page for pages {api.fetched!r}, not for page 1 first: "
            "every call starts at page 1 of the fetch_page it was given. Pages kept from an "
            "earlier call (a module-level cache or page number) belong to another API."
        )
    reprs, wanted = [repr(g) for g in got], [repr(e) for e in expected]
    if len(got) < len(expected):
        if reprs == [repr(e) for e in expected if e]:
            return (
                "The items that are falsy (0, '', None, [], {}) are missing: they are items "
                "too. Yield every item, whatever its value (no `if item:`)."
            )
        if reprs == list(dict.fromkeys(wanted)):
            return (
                "An item that appears twice came out once: yield every item as it is, "
                "without removing repeats (no set or dict of items seen)."
            )
    return ""


@pytest.mark.task(2)
async def test_paginate_follows_next_to_page_zero():
    api = FakeApi({1: (["a"], 0), 0: (["b"], 2), 2: (["c"], None)})
    got = await within(collect(paginated(api)), "paginate() never finished.")
    checks.equal(
        (got, api.fetched),
        (["a", "b", "c"], [1, 0, 2]),
        "(items, pages fetched) when page 1 says next is 0 and page 0 says next is 2",
        lambda got: paginate_mistake(got[0], ["a", "b", "c"], api),
    )


@pytest.mark.task(2)
async def test_paginate_keeps_falsy_and_repeated_items():
    first, second = [0, "", None, "a", "a"], ["a", [], {}, False, 0]
    api = FakeApi({1: (first, 2), 2: (second, None)})
    got = await within(collect(paginated(api)), "paginate() never finished.")
    expected = first + second
    checks.equal(
        [repr(item) for item in got],
        [repr(item) for item in expected],
        f"Items (as repr) from pages {first!r} and {second!r}",
        lambda _: paginate_mistake(got, expected, api),
    )


@pytest.mark.task(2)
async def test_paginate_leaves_the_pages_unchanged():
    api = FakeApi({1: (["a", "b"], 2), 2: (["c"], None)})
    got = await within(collect(paginated(api)), "paginate() never finished.")
    checks.equal(got, ["a", "b", "c"], "Items from pages ['a', 'b'] and ['c']")
    change = api.changed()
    if change:
        fail(MUTATED_PAGE.format(change=change))


@pytest.mark.task(2)
async def test_two_paginations_at_once_follow_their_own_pages(looptime):
    one = FakeApi({1: (["a1"], 2), 2: (["a2"], None)})
    two = FakeApi({1: (["b1", "b2"], 5), 5: (["b3"], 6), 6: (["b4"], None)})

    async def both() -> tuple:
        return await asyncio.gather(collect(paginated(one)), collect(paginated(two)))

    got = await within(both(), "Two paginate() streams read at once never finished.")
    checks.equal(
        (got[0], one.fetched, got[1], two.fetched),
        (["a1", "a2"], [1, 2], ["b1", "b2", "b3", "b4"], [1, 5, 6]),
        "(items, pages fetched) of two paginate() streams over two APIs, read at the same time",
        "Each stream must keep its own page number in a local variable: module-level state "
        "is shared by every call.",
    )
    checks.took(looptime, 3, "Reading both streams at once (pages take 1 s each)")
    three = FakeApi({1: (["c1"], None)})
    got = await within(collect(paginated(three)), "A third paginate() never finished.")
    checks.equal(
        (got, three.fetched),
        (["c1"], [1]),
        "(items, pages fetched) of a third paginate() over a third API, after the other two",
        lambda got: paginate_mistake(got[0], ["c1"], three),
    )


@pytest.mark.task(2)
@pytest.mark.loop_limit(200_000)
async def test_paginate_waits_for_pages_that_take_a_day():
    api = FakeApi({1: (["a"], 2), 2: (["b"], None)}, delays={1: 86_400, 2: 10_000})
    got: list = []
    stream = paginated(api)
    try:

        async def read() -> None:
            async for item in stream:  # type: ignore[attr-defined]
                got.append((now(), item))

        await within(read(), "paginate() never finished.", seconds=200_000)
    finally:
        await close(stream)
    checks.equal(
        got,
        [(86_400.0, "a"), (96_400.0, "b")],
        "(loop time, item) when page 1 takes a day and page 2 takes 10,000 s",
    )


@pytest.mark.task(2)
async def test_cancelling_the_consumer_cancels_the_page_fetch():
    api = FakeApi({1: (["a"], 2), 2: (["b"], None)}, delays={1: 1, 2: 10})
    got: list = []

    async def consumer() -> None:
        async for item in paginated(api):  # type: ignore[attr-defined]
            got.append(item)

    task = asyncio.create_task(consumer())
    await asyncio.sleep(1.5)  # page 1 came at 1 s; page 2 is being fetched
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await within(task, "The consumer of paginate(), cancelled at 1.5 s, never ended.")
    if not task.cancelled():
        fail(
            "The task reading paginate() was cancelled at 1.5 s, while page 2 was being "
            "fetched, but it did not end cancelled: paginate() caught the CancelledError. "
            "Let it propagate: do not catch asyncio.CancelledError (or BaseException)."
        )
    await asyncio.sleep(20)
    checks.equal(
        (got, api.fetched, api.cancelled),
        (["a"], [1, 2], [(2, 1.5)]),
        "(items received, pages fetched, (page, time) of fetches cancelled) when the consumer "
        "is cancelled at 1.5 s while page 2 (10 s) is being fetched",
        lambda got: (
            "The fetch of page 2 was not cancelled with the consumer: it ran on by itself, in "
            "a task of its own. Await fetch_page(n) inside the generator, so that cancelling "
            "the consumer cancels the fetch."
            if got[2] == []
            else ""
        ),
    )


@pytest.mark.task(2)
async def test_paginate_follows_a_very_long_listing_to_its_end(looptime):
    count = 500  # pages of one item each, each arriving at once
    api = FakeApi(
        {n: ([n], n + 1 if n < count else None) for n in range(1, count + 1)},
        delays=dict.fromkeys(range(1, count + 1), 0),
    )
    got = await within(
        collect(paginated(api), limit=count + 10), "paginate() never finished.", 60_000
    )
    if got != list(range(1, count + 1)):
        last = api.fetched[-1] if api.fetched else None
        fail(
            f"A listing of {count:,} pages (page n says next is n + 1; page {count:,} says "
            f"None): paginate() yielded {checks.count(len(got), 'item')} and stopped after page "
            f"{last!r}"
            + (
                f", whose 'next' is {api.original[last]['next']!r}. Follow 'next' until it is "
                'None, however many pages that takes: a cap on the number of pages ("in '
                'case the API loops forever") cuts a long listing short.'
                if last in api.original and api.original[last]["next"] is not None
                else "."
            )
        )
    checks.took(looptime, 0, f"Reading {count:,} pages that each arrive at once")


ITEMS = st.sampled_from(["a", "b", "", 0, None, ["x"], {"k": 1}])


@pytest.mark.task(2)
@pytest.mark.loop_limit(100_000)
@scenarios.given(
    pages=st.lists(
        st.tuples(st.lists(ITEMS, max_size=3), st.sampled_from([0, 1, 10_000])),
        min_size=1,
        max_size=4,
    ),
    numbers=st.permutations([0, 2, 3, 7, 42]),
)
async def test_paginate_in_any_scenario(pages, numbers):
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    chain = [1, *numbers[: len(pages) - 1]]
    layout = {
        number: (items, chain[i + 1] if i + 1 < len(chain) else None)
        for i, (number, (items, _)) in enumerate(zip(chain, pages, strict=True))
    }
    delays = {number: delay for number, (_, delay) in zip(chain, pages, strict=True)}
    said = ", ".join(
        f"page {n}: {{'items': {items!r}, 'next': {nxt!r}}} ({delays[n]:g} s)"
        for n, (items, nxt) in layout.items()
    )
    scenarios.describe(f"with {said}")
    log: list = []
    api = FakeApi(layout, log, delays)
    timed: list = []
    stream = paginated(api)
    try:

        async def read() -> None:
            async for item in stream:  # type: ignore[attr-defined]
                timed.append((round(now() - t0, 6), item))
                log.append(f"got {item!r}")
                await asyncio.sleep(0)  # a real consumer lets the loop run between items

        await within(read(), f"With {said}, paginate() never finished.", 5 * 10_000 + 100)
    finally:
        await close(stream)
    got = [item for _, item in timed]
    expected, expected_log, expected_timed, at = [], [], [], 0.0
    for number in chain:
        items, _ = layout[number]
        at += delays[number]
        expected_log.append(f"fetch {number}")
        for item in items:
            expected.append(item)
            expected_log.append(f"got {item!r}")
            expected_timed.append((round(at, 6), item))
    if [repr(g) for g in got] != [repr(e) for e in expected]:
        mistake = paginate_mistake(got, expected, api)
        fail(f"With {said}, paginate() yielded {got!r}, expected {expected!r}. {mistake}")
    if api.fetched != chain:
        fail(
            f"With {said}, paginate() fetched pages {api.fetched!r}, expected {chain!r}. "
            + (
                paginate_mistake(got, expected, api)
                or "Fetch each page once, in the order the 'next' numbers give."
            )
        )
    change = api.changed()
    if change:
        fail(f"With {said}: " + MUTATED_PAGE.format(change=change))
    if log != expected_log:
        fail(
            f"With {said}, the fetches and the items received came in the order {log!r}; "
            f"expected {expected_log!r}: fetch the next page only once the consumer has taken "
            "every item of the current one, and yield each item as soon as its page arrived."
        )
    if timed != expected_timed:
        fail(
            f"With {said}, (loop time, item) received was {timed!r}, expected "
            f"{expected_timed!r}: each item comes as soon as its page has arrived."
        )


# Task 3: take


class Numbers:
    """An async generator the test controls: yields 1, 2, 3... (each takes 1 s to make),
    up to `count` if given; its cleanup takes 0.5 s and is noted in `log` as "closed"."""

    def __init__(self, count: int | None = None) -> None:
        self.count = count
        self.log: list[str] = []

    async def stream(self):
        try:
            number = 0
            while self.count is None or number < self.count:
                number += 1
                await asyncio.sleep(1)
                self.log.append(f"make {number}")
                yield number
        finally:
            await asyncio.sleep(0.5)  # closing the connection takes a moment
            self.log.append("closed")

    def made(self) -> list[str]:
        return [entry for entry in self.log if entry.startswith("make")]


async def call_take(stream: object, n: int) -> list:
    result = await within(
        agen.take(stream, n),
        f"take(stream, {n}) never returned from an endless stream: stop after "
        f"{checks.count(n, 'item')} "
        "(break out of the `async for`), do not read the stream to its end.",
    )
    checks.not_coroutine(result, "take()'s result")
    return list_result(result, f"take(stream, {n})")


async def take_from(numbers: Numbers, n: int) -> list:
    """take() from a fresh stream of `numbers`, which the test closes afterwards in case
    take() did not (test_take_closes_the_stream_before_returning checks that it does)."""
    stream = numbers.stream()
    try:
        return await call_take(stream, n)
    finally:
        await close(stream)


@pytest.mark.task(3)
async def test_take_returns_the_first_n_items():
    numbers = Numbers()
    got = await take_from(numbers, 3)
    checks.equal(
        got,
        [1, 2, 3],
        "take(stream of 1, 2, 3..., 3)",
    )


@pytest.mark.task(3)
async def test_take_pulls_no_more_items_than_it_needs():
    numbers = Numbers()
    await take_from(numbers, 3)
    checks.equal(
        numbers.made(),
        ["make 1", "make 2", "make 3"],
        "Items the stream had to make for take(stream, 3)",
        lambda got: (
            "take() asked for one item too many: stop as soon as you hold n items, before "
            "the `async for` asks for the next one (check the count right after appending)."
            if len(got) == 4
            else ""
        ),
    )


@pytest.mark.task(3)
async def test_take_closes_the_stream_before_returning(looptime):
    numbers = Numbers()
    stream = numbers.stream()
    try:
        await call_take(stream, 2)
        log_at_return = list(numbers.log)
        returned_at = float(looptime)
    finally:
        await close(stream)
    checks.equal(
        log_at_return[-1:],
        ["closed"],
        "The stream's last event when take(stream, 2) returned",
        "The stream's cleanup (its `finally:` block) had not run: breaking out of "
        "`async for` does not close an async generator, it only stops asking. Close it "
        "yourself so the cleanup runs now: `async with contextlib.aclosing(stream):` "
        "around the loop, or `await stream.aclose()`.",
    )
    checks.took(
        returned_at,
        2.5,
        "take(stream, 2): two 1 s items and a 0.5 s cleanup",
        {
            3.5: "take() asked the stream for a third item it did not need (1 s more): "
            "stop as soon as you hold n items."
        },
    )


@pytest.mark.task(3)
async def test_take_of_a_short_stream_returns_what_there_is():
    numbers = Numbers(count=2)
    got = await take_from(numbers, 5)
    checks.equal(
        (got, numbers.log[-1:]),
        ([1, 2], ["closed"]),
        "(result, the stream's last event) for take() of 5 from a stream of 2",
    )


@pytest.mark.task(3)
async def test_take_zero_pulls_nothing():
    numbers = Numbers(count=5)
    got = await take_from(numbers, 0)
    checks.equal(
        (got, numbers.made()),
        ([], []),
        "(result, items made) for take(stream, 0)",
        "take(stream, 0) needs nothing from the stream: return [] before asking for an item.",
    )


class Source:
    """An async generator the test controls: yields `items` in order, item i `delays[i]` s after
    the previous one (1 s unless given); its cleanup takes `cleanup` s. It notes the loop time
    of each item it makes, when its cleanup ended, and whether it was cancelled."""

    def __init__(self, items: list, delays: list | None = None, cleanup: float = 0.5) -> None:
        self.items = list(items)
        self.delays = list(delays) if delays is not None else [1] * len(self.items)
        self.cleanup = cleanup
        self.made_at: list[float] = []
        self.closed_at: float | None = None
        self.cancelled = False
        self.started = False

    async def stream(self):
        self.started = True
        try:
            for item, delay in zip(self.items, self.delays, strict=True):
                await asyncio.sleep(delay)
                self.made_at.append(now())
                yield item
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            await asyncio.sleep(self.cleanup)
            self.closed_at = now()


def list_result(result: object, call: str) -> list:
    """The list take() returned; fail naming the type if it is not a list."""
    if not isinstance(result, list):
        fail(
            f"{call} returned a {type(result).__name__} ({result!r}), not a list: the contract "
            "promises a new list. Append the items to a list and return that list."
        )
    return result  # type: ignore[return-value]


@pytest.mark.task(3)
async def test_take_returns_a_new_list_each_time():
    one, two = Numbers(), Numbers()
    first = list_result(await take_from(one, 2), "take(stream, 2)")
    first_copy = list(first)
    second = list_result(await take_from(two, 3), "take(stream, 3)")
    checks.equal(
        (first, second),
        ([1, 2], [1, 2, 3]),
        "(first result, second result) of take(stream, 2) then take(another stream, 3)",
        lambda got: (
            "The second call's items were added to the first call's list: take() keeps its "
            "list between calls (a module-level list, or a default argument like `taken=[]`). "
            "Start a new list inside each call."
            if (got[1][:2] == [1, 2] and len(got[1]) > 3) or got[0] is got[1]
            else ""
        ),
    )
    if first is second or first != first_copy:
        fail(
            "take()'s second call changed the list its first call returned: start a new list "
            "inside each call (not a module-level list or a default argument `taken=[]`)."
        )


@pytest.mark.task(3)
async def test_take_keeps_none_and_other_falsy_items():
    source = Source([None, 0, "", None, False, "x"], delays=[1] * 6)
    stream = source.stream()
    try:
        got = list_result(await call_take(stream, 5), "take(stream, 5)")
    finally:
        await close(stream)
    checks.equal(
        [repr(item) for item in got],
        [repr(item) for item in [None, 0, "", None, False]],
        "Items (as repr) of take(stream of None, 0, '', None, False, 'x', 5)",
        lambda _: (
            "take() stopped at the first None: None is an item of the stream, not its end. "
            "`await anext(stream, None)` gives None for both; loop with `async for`, or catch "
            "StopAsyncIteration from `await anext(stream)`."
            if got == []
            else "Falsy items (None, 0, '', False) and repeated ones are items too: keep "
            "every item the stream yields, whatever its value."
        ),
    )


@pytest.mark.task(3)
@pytest.mark.loop_limit(200_000)
async def test_take_waits_for_items_that_take_hours(looptime):
    source = Source(["a", "b", "c"], delays=[10_000, 86_400, 1])
    stream = source.stream()
    try:
        got = await within(agen.take(stream, 2), "take(stream, 2) never returned.", 200_000)
        returned_at = float(looptime)
    finally:
        await close(stream)
    checks.equal(list_result(got, "take(stream, 2)"), ["a", "b"], "take(stream, 2)")
    checks.took(
        returned_at,
        96_400.5,
        "take(stream, 2) of items that take 10,000 s and 86,400 s, with a 0.5 s cleanup",
        {
            96_400: "take() returned before the stream's 0.5 s cleanup had run: close the "
            "stream (and await that) before returning.",
            96_401.5: "take() asked the stream for a third item it did not need (1 s more).",
        },
    )


@pytest.mark.task(3)
async def test_cancelling_take_closes_the_stream_and_ends_cancelled():
    source = Source(list(range(1, 6)))
    stream = source.stream()
    task = asyncio.create_task(agen.take(stream, 4))
    try:
        await asyncio.sleep(2.5)  # two items taken, the third on its way
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await within(task, "take(stream, 4), cancelled at 2.5 s, never ended.")
        closed_when_ended = source.closed_at
        cancelled = task.cancelled()
        result = None if cancelled or task.exception() else task.result()
    finally:
        await close(stream)
    if not cancelled:
        fail(
            "take(stream, 4) was cancelled at 2.5 s but did not end cancelled "
            + (f"(it returned {result!r})" if result is not None else "")
            + ": it caught the CancelledError. Let it propagate (do not catch "
            "asyncio.CancelledError or BaseException); the caller asked it to stop."
        )
    checks.equal(
        (len(source.made_at), closed_when_ended),
        (2, 3.0),
        "(items made, loop time the stream's cleanup ended) when take(stream, 4) is "
        "cancelled at 2.5 s, with a 0.5 s cleanup",
        lambda got: (
            "The stream's cleanup had not run when take() ended: the cancelled take() left "
            "the stream open. Read it inside `async with contextlib.aclosing(stream):` (or "
            "try/finally with `await stream.aclose()`), in take() itself."
            if got[1] is None
            else ""
        ),
    )


def take_mistake(got: object, items: list, n: int) -> str:
    if not isinstance(got, list):
        return ""
    strangers = [g for g in got if repr(g) not in map(repr, items)]
    if strangers:
        return (
            f"The result holds {strangers!r}, which this stream never yielded: take() kept "
            "items from an earlier call (a module-level list, or a default argument like "
            "`taken=[]`). Start a new list inside each call."
        )
    if len(got) < min(n, len(items)) and None in items and items.index(None) == len(got):
        return (
            "take() stopped at a None item: None is an item, not the end of the stream "
            "(`anext(stream, None)` returns None for both). Use `async for`."
        )
    return ""


@pytest.mark.task(3)
@pytest.mark.loop_limit(100_000)
@scenarios.given(
    stream=st.lists(st.tuples(ITEMS, st.sampled_from([0, 1, 10_000])), max_size=5),
    n=st.integers(0, 6),
)
async def test_take_in_any_scenario(stream, n):
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    items = [item for item, _ in stream]
    delays = [delay for _, delay in stream]
    said = f"take(stream, {n}) of a stream of {items!r} (made after {delays!r} s, cleanup 0.5 s)"
    scenarios.describe(f"with {said}")
    source = Source(items, delays)
    generator = source.stream()
    try:
        got = await within(agen.take(generator, n), f"{said} never returned.", 5 * 10_000 + 100)
        returned_at = round(loop.time() - t0, 6)
        closed_at = source.closed_at
    finally:
        await close(generator)
    checks.not_coroutine(got, "take()'s result")
    got = list_result(got, f"take(stream, {n})")
    wanted = min(n, len(items))
    expected = items[:wanted]
    if [repr(g) for g in got] != [repr(e) for e in expected]:
        fail(f"{said} returned {got!r}, expected {expected!r}. {take_mistake(got, items, n)}")
    if n == 0 and source.started:
        fail(
            f"{said}: take() started the stream although it needs nothing from it: with n = 0, "
            "return [] before asking for an item."
        )
    if len(source.made_at) != wanted:
        fail(
            f"{said} made the stream produce {checks.count(len(source.made_at), 'item')}, expected "
            f"{wanted}: ask the stream for no more than n items"
            + (" (none at all for n = 0)." if n == 0 else ".")
        )
    if n > 0 and closed_at is None:
        fail(
            f"{said}: the stream's cleanup had not run when take() returned. Close the stream "
            "before returning: `async with contextlib.aclosing(stream):` around the loop."
        )
    expected_at = round(sum(delays[:wanted]) + (0.5 if n > 0 else 0), 6)
    checks.took(returned_at, expected_at, f"{said}")


# Task 4: keep and batched


STAGE_NEVER_ENDED = "{stage} never finished although its input stream ended."


def stage(result: object, call: str) -> object:
    return stream_of(result, call)


def is_odd(number: int) -> bool:
    return number % 2 == 1


@pytest.mark.task(4)
async def test_keep_yields_the_matching_items_in_order():
    numbers = Numbers(count=6)
    got = await within(
        collect(stage(agen.keep(numbers.stream(), is_odd), "keep(stream, is_odd)")),
        STAGE_NEVER_ENDED.format(stage="keep()"),
    )
    checks.equal(got, [1, 3, 5], "keep(stream of 1..6, is_odd)")


@pytest.mark.task(4)
async def test_keep_passes_each_match_on_at_once():
    numbers = Numbers(count=5)
    out = stage(agen.keep(numbers.stream(), is_odd), "keep(stream, is_odd)")
    await within(collect(out, numbers.log), STAGE_NEVER_ENDED.format(stage="keep()"))
    checks.equal(
        [entry for entry in numbers.log if entry != "closed"],
        ["make 1", "got 1", "make 2", "make 3", "got 3", "make 4", "make 5", "got 5"],
        "Order of items made by the stream and received from keep()",
        lambda got: (
            "keep() held on to items instead of passing each match on as soon as it arrived: "
            "a stage should `yield` inside its `async for`, not collect a list first."
            if got and got[0] == "make 1" and all(e.startswith("make") for e in got[:5])
            else "keep() asked its input for the next item before passing the last match on: "
            "`yield` each match right away, inside the `async for`, without reading ahead."
        ),
    )


@pytest.mark.task(4)
async def test_closing_keep_closes_its_input():
    numbers = Numbers()
    source = numbers.stream()
    try:
        out = stage(agen.keep(source, is_odd), "keep(stream, is_odd)")
        first = await within(anext(out), "keep() over an endless stream never yielded.")  # type: ignore[arg-type]
        await within(out.aclose(), "Closing keep() never finished.")  # type: ignore[attr-defined]
        log_after_close = list(numbers.log)
    finally:
        await close(source)
    checks.equal(first, 1, "The first item of keep(stream of 1, 2, 3..., is_odd)")
    checks.equal(
        log_after_close[-1:],
        ["closed"],
        "The input stream's last event after the consumer closed keep()",
        "Closing keep() did not close the stream it reads from, so that stream's cleanup "
        "never ran. A stage owns its input: loop over it inside "
        "`async with contextlib.aclosing(stream):`, so closing the stage closes the input.",
    )


@pytest.mark.task(4)
async def test_batched_groups_items_and_yields_the_rest_last():
    numbers = Numbers(count=7)
    got = []
    out = stage(agen.batched(numbers.stream(), 3), "batched(stream, 3)")

    async def receive() -> None:
        async for batch in out:  # type: ignore[attr-defined]
            got.append((batch, list(batch)))

    await within(receive(), STAGE_NEVER_ENDED.format(stage="batched()"))
    as_received = [snapshot for _, snapshot in got]
    checks.equal(
        as_received,
        [[1, 2, 3], [4, 5, 6], [7]],
        "Batches from batched(stream of 1..7, 3), as received",
        lambda got: (
            "The last 1 item must still come out, as a shorter batch: yield what is left "
            "after the loop."
            if got == [[1, 2, 3], [4, 5, 6]]
            else ""
        ),
    )
    checks.equal(
        [list(batch) for batch, _ in got],
        as_received,
        "The batches after the consumer had kept them",
        "A batch changed after it was yielded: the consumer keeps it, so start a new list "
        "for the next batch (`batch = []`) rather than emptying the old one (`batch.clear()`).",
    )


@pytest.mark.task(4)
async def test_batched_yields_no_empty_batch():
    numbers = Numbers(count=4)
    out = stage(agen.batched(numbers.stream(), 2), "batched(stream, 2)")
    got = await within(collect(out), STAGE_NEVER_ENDED.format(stage="batched()"))
    checks.equal(
        [list(batch) for batch in got],
        [[1, 2], [3, 4]],
        "Batches from batched(stream of 1..4, 2)",
        lambda got: (
            "When the items divide evenly there is nothing left over: yield the last batch "
            "only if it is not empty."
            if len(got) == 3 and got[-1] == []
            else ""
        ),
    )


def batched_mistake(got: list) -> str:
    if all(entry.startswith("make") for entry in got[:5]):
        return (
            "batched() held on to items: yield each batch the moment it is full, instead of "
            "reading the whole stream first."
        )
    if "got [1, 2]" in got and "make 3" in got and got.index("make 3") < got.index("got [1, 2]"):
        return (
            "batched() asked its input for one more item before yielding a full batch: "
            "check the size right after appending, and yield the batch as soon as it holds "
            "`size` items."
        )
    return ""


@pytest.mark.task(4)
async def test_batched_yields_each_batch_as_soon_as_it_is_full():
    numbers = Numbers(count=5)
    out = stage(agen.batched(numbers.stream(), 2), "batched(stream, 2)")
    await within(collect(out, numbers.log), STAGE_NEVER_ENDED.format(stage="batched()"))
    checks.equal(
        [entry for entry in numbers.log if entry != "closed"],
        ["make 1", "make 2", "got [1, 2]", "make 3", "make 4", "got [3, 4]", "make 5", "got [5]"],
        "Order of items made by the stream and batches received from batched()",
        batched_mistake,
    )


@pytest.mark.task(4)
async def test_closing_batched_closes_its_input():
    numbers = Numbers()
    source = numbers.stream()
    try:
        out = stage(agen.batched(source, 2), "batched(stream, 2)")
        first = await within(anext(out), "batched() over an endless stream never yielded.")  # type: ignore[arg-type]
        await within(out.aclose(), "Closing batched() never finished.")  # type: ignore[attr-defined]
        log_after_close = list(numbers.log)
    finally:
        await close(source)
    checks.equal(list(first), [1, 2], "The first batch of batched(stream of 1, 2, 3..., 2)")
    checks.equal(
        log_after_close[-1:],
        ["closed"],
        "The input stream's last event after the consumer closed batched()",
        "Closing batched() did not close the stream it reads from, so that stream's cleanup "
        "never ran. A stage owns its input: loop over it inside "
        "`async with contextlib.aclosing(stream):`, so closing the stage closes the input.",
    )


def batch_type_mistake(batches: list, call: str) -> None:
    """Fail if a batch is not a list, or the same list object came out twice."""
    for batch in batches:
        if not isinstance(batch, list):
            fail(
                f"{call} yielded the batch {batch!r}, a {type(batch).__name__}: each batch "
                "is a new list. Yield a list (`batch = []`, append, yield it, then start a "
                "new one), not a tuple or another kind of sequence."
            )
    ids = [id(batch) for batch in batches]
    if len(set(ids)) != len(ids):
        fail(
            f"{call} yielded the same list object more than once: each batch is a new list. "
            "After `yield batch`, start the next one with `batch = []` rather than reusing "
            "(clearing) the old one."
        )


@pytest.mark.task(4)
async def test_batched_yields_a_new_list_for_each_batch():
    numbers = Numbers(count=5)
    out = stage(agen.batched(numbers.stream(), 2), "batched(stream, 2)")
    got = await within(collect(out), STAGE_NEVER_ENDED.format(stage="batched()"))
    batch_type_mistake(got, "batched(stream of 1..5, 2)")
    checks.equal(got, [[1, 2], [3, 4], [5]], "Batches from batched(stream of 1..5, 2)")


@pytest.mark.task(4)
async def test_keep_calls_the_predicate_on_the_loop_thread():
    source = Source([1, 2, 3], delays=[1, 1, 1])
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def odd(item: int) -> bool:
        threads.append(threading.get_ident())
        return item % 2 == 1

    out = stage(agen.keep(source.stream(), odd), "keep(stream, odd)")
    got = await within(collect(out), STAGE_NEVER_ENDED.format(stage="keep()"))
    checks.equal(got, [1, 3], "Items from keep(stream of [1, 2, 3], odd)")
    away = sum(t != loop_thread for t in threads)
    if away:
        pytest.fail(
            f"keep() called the predicate {checks.count(away, 'time')} on another thread than the "
            "event "
            "loop's (asyncio.to_thread or an executor). The predicate is a quick, plain "
            "function: call it directly, `if predicate(item):`. A predicate may touch the "
            "loop's objects, which is only safe on the loop's own thread.",
            pytrace=False,
        )


@pytest.mark.task(4)
async def test_keep_passes_on_falsy_and_repeated_matches():
    items = [0, None, "", 1, None, "a", False, 0]
    source = Source(items, delays=[1] * len(items))
    asked: list = []

    def is_falsy(item: object) -> bool:
        asked.append(item)
        return not item

    out = stage(agen.keep(source.stream(), is_falsy), "keep(stream, is_falsy)")
    got = await within(collect(out), STAGE_NEVER_ENDED.format(stage="keep()"))
    expected = [0, None, "", None, False, 0]
    checks.equal(
        [repr(item) for item in got],
        [repr(item) for item in expected],
        f"Items (as repr) from keep(stream of {items!r}, lambda item: not item)",
        lambda _: (
            "keep() stopped at the first None: None is an item, not the end of the stream "
            "(`anext(stream, None)` gives None for both). Loop with `async for`."
            if got == [0]
            else "Items that are falsy (0, None, '', False) match too when the predicate says "
            "so: test only `predicate(item)`, not the item itself."
            if len(got) < len(expected)
            else ""
        ),
    )
    checks.equal(
        [repr(item) for item in asked],
        [repr(item) for item in items],
        "Items (as repr) keep() passed to the predicate",
        lambda got: (
            "keep() called the predicate more than once for an item: call it once per item "
            "and keep its answer."
            if len(got) > len(items)
            else "Call the predicate once for every item, in order."
        ),
    )


@pytest.mark.task(4)
async def test_batched_keeps_list_items_and_none_whole():
    items = [["a"], None, [], ["b", "c"], None]
    source = Source(items, delays=[1] * len(items))
    out = stage(agen.batched(source.stream(), 2), "batched(stream, 2)")
    got = await within(collect(out), STAGE_NEVER_ENDED.format(stage="batched()"))
    batch_type_mistake(got, f"batched(stream of {items!r}, 2)")
    checks.equal(
        got,
        [[["a"], None], [[], ["b", "c"]], [None]],
        f"Batches from batched(stream of {items!r}, 2)",
        lambda got: (
            "The items that are lists were spread into the batch (`batch += item` or "
            "`batch.extend(item)`): each item goes into the batch whole, with "
            "`batch.append(item)`."
            if any("a" in b for b in got)
            else ""
        ),
    )


@pytest.mark.task(4)
async def test_batched_of_an_empty_stream_yields_nothing():
    source = Source([])
    out = stage(agen.batched(source.stream(), 3), "batched(stream, 3)")
    got = await within(collect(out), STAGE_NEVER_ENDED.format(stage="batched()"))
    checks.equal(
        got,
        [],
        "Batches from batched() of an empty stream",
        "With no items there is no batch at all: never yield an empty one (`if batch:`).",
    )
    out = stage(agen.batched(Source(["a", "b"]).stream(), 5), "batched(stream, 5)")
    got = await within(collect(out), STAGE_NEVER_ENDED.format(stage="batched()"))
    batch_type_mistake(got, "batched(stream of 'a', 'b', 5)")
    checks.equal(got, [["a", "b"]], "Batches from batched(stream of 'a', 'b', 5)")


@pytest.mark.task(4)
async def test_two_stages_at_once_keep_their_own_state(looptime):
    one, two = Numbers(count=4), Numbers(count=3)

    async def both() -> tuple:
        return await asyncio.gather(
            collect(stage(agen.batched(one.stream(), 3), "batched(stream, 3)")),
            collect(stage(agen.batched(two.stream(), 2), "batched(stream, 2)")),
        )

    got = await within(both(), "Two batched() stages read at once never finished.")
    for batches in got:
        batch_type_mistake(batches, "batched() read at the same time as another batched()")

    def likely(got: list) -> str:
        first = [item for batch in got[0] for item in batch]
        second = [item for batch in got[1] for item in batch]
        if first != [1, 2, 3, 4] or second != [1, 2, 3]:
            return (
                "Items of one stream ended up in the other's batches: the two stages shared "
                "their batch. Keep it in a local variable of the generator, not at module "
                "level or in a default argument."
            )
        return ""

    checks.equal(
        list(got),
        [[[1, 2, 3], [4]], [[1, 2], [3]]],
        "Batches of batched(stream of 1..4, 3) and batched(stream of 1..3, 2), read at once",
        likely,
    )


@pytest.mark.task(4)
@pytest.mark.loop_limit(200_000)
async def test_stages_wait_for_items_that_take_hours():
    cases = [
        ("keep(stream, is_odd)", lambda s: agen.keep(s, is_odd), [(10_000, 1), (96_401, 3)]),
        ("batched(stream, 2)", lambda s: agen.batched(s, 2), [(96_400, [1, 2]), (96_401.5, [3])]),
    ]
    for call, make, expected in cases:
        t0 = now()
        source = Source([1, 2, 3], delays=[10_000, 86_400, 1])
        out = stage(make(source.stream()), call)
        timed: list = []
        try:

            async def read(out=out, timed=timed, t0=t0) -> None:
                async for item in out:  # type: ignore[attr-defined]
                    timed.append((round(now() - t0, 6), item))

            await within(read(), STAGE_NEVER_ENDED.format(stage=call), 200_000)
        finally:
            await close(out)
        checks.equal(
            timed,
            expected,
            f"(loop time, output) of {call} over items that take 10,000 s, 86,400 s and 1 s "
            "(cleanup 0.5 s)",
        )


async def cancel_stage_consumer(stage_call: str, make_stage, source: Source) -> None:
    """Read `stage` in a task, cancel it at 2.5 s, and check it ended cancelled with its input
    closed."""
    out = stage(make_stage(source.stream()), stage_call)

    async def consumer() -> None:
        async for _ in out:  # type: ignore[attr-defined]
            pass

    task = asyncio.create_task(consumer())
    await asyncio.sleep(2.5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await within(task, f"The consumer of {stage_call}, cancelled at 2.5 s, never ended.")
    closed_when_ended = source.closed_at
    await close(out)
    if not task.cancelled():
        fail(
            f"The task reading {stage_call} was cancelled at 2.5 s but did not end cancelled: "
            "the stage caught the CancelledError. Let it propagate (do not catch "
            "asyncio.CancelledError or BaseException)."
        )
    checks.equal(
        closed_when_ended,
        3.0,
        f"Loop time the input's 0.5 s cleanup ended, when the consumer of {stage_call} was "
        "cancelled at 2.5 s",
        lambda got: (
            "The input was still open when the cancelled consumer ended: the stage read its "
            "input somewhere the cancellation did not reach (a task of its own?). Read the "
            "input inside the generator, `async with contextlib.aclosing(stream):`."
            if got is None
            else ""
        ),
    )


@pytest.mark.task(4)
async def test_cancelling_a_consumer_of_keep_closes_its_input():
    await cancel_stage_consumer(
        "keep(stream, is_odd)", lambda s: agen.keep(s, is_odd), Source(list(range(1, 9)))
    )


@pytest.mark.task(4)
async def test_cancelling_a_consumer_of_batched_closes_its_input():
    await cancel_stage_consumer(
        "batched(stream, 2)", lambda s: agen.batched(s, 2), Source(list(range(1, 9)))
    )


STAGE_STREAM = st.lists(st.tuples(ITEMS, st.sampled_from([0, 1, 10_000])), max_size=6)


@pytest.mark.task(4)
@pytest.mark.loop_limit(100_000)
@scenarios.given(stream=STAGE_STREAM, wanted=st.sets(ITEMS.map(repr)), max_examples=20)
async def test_keep_in_any_scenario(stream, wanted):
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    items = [item for item, _ in stream]
    delays = [delay for _, delay in stream]
    wanted_list = sorted(wanted)
    said = (
        f"keep() of a stream of {items!r} (made after {delays!r} s) with a predicate true "
        f"for {', '.join(wanted_list) or 'nothing'}"
    )
    scenarios.describe(f"with {said}")
    asked: list = []

    def predicate(item: object) -> bool:
        asked.append(item)
        return repr(item) in wanted

    source = Source(items, delays)
    out = stage(agen.keep(source.stream(), predicate), "keep(stream, predicate)")
    timed: list = []
    try:

        async def read() -> None:
            async for item in out:  # type: ignore[attr-defined]
                timed.append((round(now() - t0, 6), item))

        await within(read(), f"With {said}, keep() never finished.", 6 * 10_000 + 100)
    finally:
        await close(out)
    at, expected = 0.0, []
    for item, delay in stream:
        at += delay
        if repr(item) in wanted:
            expected.append((round(at, 6), item))
    got = [item for _, item in timed]
    stopped_at_none = (
        len(asked) < len(items) and items[len(asked)] is None and len(source.made_at) > len(asked)
    )
    none_stop = (
        " keep() stopped at a None item: None is an item, not the end of the stream "
        "(`anext(stream, None)` gives None for both). Loop with `async for`."
        if stopped_at_none
        else ""
    )
    if [repr(g) for g in got] != [repr(e) for _, e in expected]:
        fail(
            f"With {said}, keep() yielded {got!r}, expected {[e for _, e in expected]!r}."
            + none_stop
        )
    if [repr(a) for a in asked] != [repr(i) for i in items]:
        fail(
            f"With {said}, keep() asked the predicate about {asked!r}; expected each item once, "
            f"in order: {items!r}." + none_stop
        )
    if timed != expected:
        fail(
            f"With {said}, (loop time, item) received was {timed!r}, expected {expected!r}: "
            "pass each match on as soon as it arrives."
        )


@pytest.mark.task(4)
@pytest.mark.loop_limit(100_000)
@scenarios.given(stream=STAGE_STREAM, size=st.integers(1, 4), max_examples=20)
async def test_batched_in_any_scenario(stream, size):
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    items = [item for item, _ in stream]
    delays = [delay for _, delay in stream]
    said = (
        f"batched(stream, {size}) of a stream of {items!r} (made after {delays!r} s, cleanup 0.5 s)"
    )
    scenarios.describe(f"with {said}")
    source = Source(items, delays)
    out = stage(agen.batched(source.stream(), size), f"batched(stream, {size})")
    timed: list = []
    try:

        async def read() -> None:
            async for batch in out:  # type: ignore[attr-defined]
                timed.append((round(now() - t0, 6), batch, copy.deepcopy(batch)))

        await within(read(), f"With {said}, batched() never finished.", 6 * 10_000 + 100)
    finally:
        await close(out)
    expected, at, batch = [], 0.0, []
    for item, delay in stream:
        at += delay
        batch.append(item)
        if len(batch) == size:
            expected.append((round(at, 6), batch))
            batch = []
    if batch:
        expected.append((round(at + 0.5, 6), batch))
    batch_type_mistake([b for _, b, _ in timed], f"With {said}, batched()")
    received = [snapshot for _, _, snapshot in timed]
    if received != [b for _, b in expected]:
        fail(f"With {said}, batched() yielded {received!r}, expected {[b for _, b in expected]!r}.")
    kept = [batch for _, batch, _ in timed]
    if kept != received:
        fail(
            f"With {said}, the batches changed after they were yielded: received {received!r}, "
            f"{kept!r} by the end. Start a new list for each batch instead of changing the old one."
        )
    if [(t, b) for t, _, b in timed] != expected:
        fail(
            f"With {said}, (loop time, batch) received was {[(t, b) for t, _, b in timed]!r}, "
            f"expected {expected!r}: yield each batch as soon as it holds "
            f"{checks.count(size, 'item')}, and "
            "the rest once the input has ended."
        )
