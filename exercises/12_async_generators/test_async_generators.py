"""Exercise 12 tests. Run them with `pytest exercises/12`."""

import asyncio
import inspect

import pytest

from aiokata import checks, exercise_module

agen = exercise_module(__file__)


def now() -> float:
    """Loop time, rounded so that 0.1 + 0.2 compares equal to 0.3."""
    return round(asyncio.get_running_loop().time(), 6)


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
    """The test closes what it stops reading, as a good consumer does."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


async def within(awaitable, message: str, seconds: float = 100):
    return await checks.within(seconds, awaitable, message)


# Task 1: ticker


def ticker_mistake(got: list) -> str:
    if not got:
        return ""
    first_at, first_tick = got[0]
    if first_tick == 0:
        return "Number the ticks 1, 2, 3..."
    ticks = [tick for _, tick in got]
    if ticks == list(range(1, len(ticks) + 1)) and all(
        at == round(tick * first_at, 6) for at, tick in got
    ):
        return (
            "The ticks come at the right times, but not the right number of them: yield "
            "1, 2, ..., count, count included (`range(1, count + 1)`)."
        )
    if first_at == 0:
        return "The first tick comes one interval after the start: sleep, then yield."
    if len({at for at, _ in got}) == 1 and len(got) > 1:
        return (
            "The ticks arrived all at once at the end: yield each tick as soon as it is "
            "due, instead of collecting them first."
        )
    return (
        "Each tick comes `interval` seconds after the previous one: "
        "`await asyncio.sleep(interval)` before each `yield`."
    )


async def ticks_with_times(interval: float, count: int, limit: int = 1000) -> list:
    stream = stream_of(agen.ticker(interval, count), f"ticker({interval}, {count})")
    got: list = []
    try:
        async for tick in stream:  # type: ignore[attr-defined]
            got.append((now(), tick))
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
        ticker_mistake,
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
        ticker_mistake,
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


# Task 2: paginate


class FakeApi:
    """A paginated API: `await fetch_page(n)` takes 1 s and returns
    {"items": [...], "next": <number> or None}."""

    def __init__(self, pages: dict[int, tuple[list, int | None]], log: list | None = None):
        self.pages = pages
        self.log: list = log if log is not None else []
        self.fetched: list[int] = []

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
        await asyncio.sleep(1)
        items, next_page = self.pages[number]
        return {"items": list(items), "next": next_page}


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
        f"take(stream, {n}) never returned from an endless stream: stop after {n} item(s) "
        "(break out of the `async for`), do not read the stream to its end.",
    )
    checks.not_coroutine(result, "take()'s result")
    return result


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
        list(got) if isinstance(got, (list, tuple)) else got,
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
        (list(got) if isinstance(got, (list, tuple)) else got, numbers.log[-1:]),
        ([1, 2], ["closed"]),
        "(result, the stream's last event) for take() of 5 from a stream of 2",
    )


@pytest.mark.task(3)
async def test_take_zero_pulls_nothing():
    numbers = Numbers(count=5)
    got = await take_from(numbers, 0)
    checks.equal(
        (list(got) if isinstance(got, (list, tuple)) else got, numbers.made()),
        ([], []),
        "(result, items made) for take(stream, 0)",
        "take(stream, 0) needs nothing from the stream: return [] before asking for an item.",
    )


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
        "When the items divide evenly there is nothing left over: yield the last batch only "
        "if it is not empty.",
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
