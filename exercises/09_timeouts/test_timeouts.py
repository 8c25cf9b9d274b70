"""Exercise 09 tests. Run them with `pytest exercises/09`."""

import asyncio
from collections.abc import Coroutine

import pytest
from hypothesis import assume
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios

timeouts = exercise_module(__file__)


class Call:
    """A test double for a remote call: `await call(*args)` takes `delay` seconds of loop
    time, then returns `outcome` (or raises it, if it is an exception). Its `finally` block
    stands for its cleanup (closing a connection, rolling back a half-written change).

    It records how often it was called and with what, whether it was cancelled, whether it
    finished its work and whether its cleanup ran."""

    def __init__(self, name: str, delay: float, outcome: object):
        self.name = name
        self.delay = delay
        self.outcome = outcome
        self.calls: list[tuple] = []
        self.cancelled = False
        self.finished = False
        self.closed = False
        self.cancelled_at: float | None = None
        self.ended_at: float | None = None
        self.ran_in: asyncio.Task | None = None  # the task the call's coroutine ran in

    def __call__(self, *args) -> Coroutine:
        self.calls.append(args)
        coro = self._run()
        coro.__name__ = coro.__qualname__ = self.name  # for the kit's reports
        return coro

    async def _run(self):
        self.ran_in = asyncio.current_task()
        try:
            await asyncio.sleep(self.delay)
            self.finished = True
            if isinstance(self.outcome, Exception):
                raise self.outcome
            return self.outcome
        except asyncio.CancelledError:
            self.cancelled = True
            self.cancelled_at = now()
            raise
        finally:
            await asyncio.sleep(0)  # cleaning up takes an await too
            self.closed = True
            self.ended_at = now()


def now() -> float:
    return asyncio.get_running_loop().time()


def raise_if_unwritten(*outcomes: object) -> None:
    """Let a stub's NotImplementedError (from a finished task or a gather result) reach the
    kit, which reports it as "not written yet"."""
    for outcome in outcomes:
        if isinstance(outcome, asyncio.Task):
            outcome = None if outcome.cancelled() else outcome.exception()
        if isinstance(outcome, NotImplementedError):
            raise outcome


async def expect_timeout(awaitable, what: str, returned_hint):
    """Await the learner's call, which must raise TimeoutError. Returns the loop time it
    raised at, relative to the call. `returned_hint` (or `returned_hint(seconds, result)`) explains
    a call that returned instead."""
    start = now()
    try:
        result = await awaitable
    except TimeoutError:
        return now() - start
    checks.not_coroutine(result, f"{what}'s result")
    took = now() - start
    hint = returned_hint(took, result) if callable(returned_hint) else returned_hint
    pytest.fail(
        f"{what} returned {result!r} after {took:g} s of loop time instead of raising "
        f"TimeoutError. {hint}",
        pytrace=False,
    )


# Task 1: price_or_fallback


def escaped_timeout(what: str) -> str:
    return (
        f"{what} let a TimeoutError escape: when the limit passes, return the fallback instead. "
        "Catch TimeoutError (asyncio.TimeoutError is the same class). If you caught "
        "asyncio.CancelledError: that is what the slow call sees inside when it is cut off; "
        "wait_for() and asyncio.timeout() turn it into TimeoutError for you, the caller. And "
        "asyncio.timeout() raises it as the `async with` block ends, so a try/except inside "
        "the block never sees it: put the try around the whole `async with`."
    )


@pytest.mark.task(1)
async def test_a_quick_price_is_returned_as_soon_as_it_arrives(looptime):
    fetch = Call("fetch_price", 1, 101.5)
    result = await timeouts.price_or_fallback(fetch, 99.0)
    checks.not_coroutine(result, "price_or_fallback()'s result")
    checks.equal(
        result,
        101.5,
        "price_or_fallback() when the price arrives after 1 s",
        "The call answered well within the 2 s limit: return its price.",
    )
    checks.took(
        looptime,
        1,
        "price_or_fallback() with a price that takes 1 s",
        {2: "You waited for the whole limit although the price had arrived."},
    )


@pytest.mark.task(1)
async def test_a_slow_call_is_cut_off_at_the_limit_with_the_fallback(looptime):
    fetch = Call("fetch_price", 5, 101.5)
    try:
        result = await timeouts.price_or_fallback(fetch, 99.0)
    except TimeoutError:
        pytest.fail(escaped_timeout("price_or_fallback()"), pytrace=False)
    checks.not_coroutine(result, "price_or_fallback()'s result")
    checks.equal(
        result,
        99.0,
        "price_or_fallback() when the price would take 5 s (limit 2 s)",
        "After 2 s, give up on the call and return the fallback.",
    )
    checks.took(
        looptime,
        2,
        "price_or_fallback() with a 5 s call and the default 2 s limit",
        {5: "You let the slow call run to its end: nothing cut it off at the limit."},
    )


@pytest.mark.task(1)
async def test_the_slow_call_is_cancelled_and_cleaned_up_before_returning():
    fetch = Call("fetch_price", 5, 101.5)
    try:
        await timeouts.price_or_fallback(fetch, 99.0)
    except TimeoutError:
        pytest.fail(escaped_timeout("price_or_fallback()"), pytrace=False)
    if not fetch.closed:
        for _ in range(3):
            await asyncio.sleep(0)
        pytest.fail(
            "price_or_fallback() returned while the slow call "
            + (
                "was cancelled but its cleanup had not run yet: after cancelling it, await it."
                if fetch.cancelled
                else "was still running: it was never cancelled. Giving up on a call means "
                "cancelling it; asyncio.wait_for() and asyncio.timeout() do that for you."
            ),
            pytrace=False,
        )


@pytest.mark.task(1)
async def test_the_limit_is_exact():
    for delay, limit, expected, took in [(1.75, 2.0, 101.5, 1.75), (2.25, 2.0, 99.0, 2.0)]:
        start = now()
        try:
            result = await timeouts.price_or_fallback(Call("fetch_price", delay, 101.5), 99.0)
        except TimeoutError:
            pytest.fail(escaped_timeout("price_or_fallback()"), pytrace=False)
        checks.equal(
            (result, now() - start),
            (expected, took),
            f"(result, loop time) of price_or_fallback() for a {delay:g} s call, limit {limit:g} s",
            lambda got, took=took: (
                "The default limit is exactly 2 s, counted from when you are called: a price at "
                "1.75 s is kept, one that would take 2.25 s is cut off at 2 s."
                if isinstance(got, tuple) and abs(got[1] - took) > 1e-6
                else "You ended at the right time with the wrong value: at the limit, return the "
                "`fallback` you were given (99.0)."
                if took == 2.0
                else ""
            ),
        )
    start = now()
    result = await timeouts.price_or_fallback(Call("fetch_price", 0.875, 101.5), 99.0, 0.75)
    checks.equal(
        (result, now() - start),
        (99.0, 0.75),
        "(result, loop time) of price_or_fallback(..., limit=0.75) for a 0.875 s call",
        "Use the `limit` you are given, not a fixed 2.",
    )


@pytest.mark.task(1)
async def test_the_limit_counts_from_when_you_are_called():
    await asyncio.sleep(10)  # the loop clock is at 10 s now, not 0
    start = now()
    result = await timeouts.price_or_fallback(Call("fetch_price", 1.5, 101.5), 99.0)
    checks.equal(
        (result, now() - start),
        (101.5, 1.5),
        "(result, loop time) of a 1.5 s call started when the loop clock read 10 s",
        lambda got: (
            "You gave up at once, as if the deadline had already passed: the limit is 2 s from "
            "now, not the loop clock reading 2 (asyncio.timeout_at() and loop.call_at() take an "
            "absolute loop time). Use asyncio.timeout(limit) or wait_for(..., limit), or add "
            "loop.time()."
            if isinstance(got, tuple) and got[0] == 99.0 and abs(got[1]) < 1e-6
            else ""
        ),
    )


@pytest.mark.task(1)
async def test_other_errors_are_not_replaced_by_the_fallback(looptime):
    down = ConnectionError("price server down")
    try:
        result = await timeouts.price_or_fallback(Call("fetch_price", 1, down), 99.0)
    except ConnectionError as exc:
        checks.equal(exc, down, "The exception price_or_fallback() raised")
    else:
        pytest.fail(
            f"price_or_fallback() returned {result!r} when fetch_price() raised "
            "ConnectionError after 1 s. Only a timeout earns the fallback: catch TimeoutError "
            "alone (not Exception), so that real errors reach the caller.",
            pytrace=False,
        )
    checks.took(looptime, 1, "price_or_fallback() whose call fails after 1 s")


@pytest.mark.task(1)
async def test_a_cancelled_caller_is_not_answered_with_the_fallback():
    fetch = Call("fetch_price", 5, 101.5)
    started = now()
    caller = asyncio.create_task(timeouts.price_or_fallback(fetch, 99.0))
    await asyncio.sleep(1)
    caller.cancel()
    try:
        result = await caller
    except asyncio.CancelledError:
        pass
    except TimeoutError:
        pytest.fail(
            "When price_or_fallback() itself was cancelled at 1 s, it raised TimeoutError. "
            "Nothing timed out: let the CancelledError through.",
            pytrace=False,
        )
    else:
        pytest.fail(
            f"price_or_fallback() was cancelled by its caller at 1 s, but returned {result!r} "
            "instead of ending cancelled: something caught the CancelledError. Catching "
            "asyncio.CancelledError (or BaseException) swallows every cancellation, including "
            "your caller's: catch TimeoutError only, and let CancelledError propagate.",
            pytrace=False,
        )
    if not fetch.closed:
        pytest.fail(
            "price_or_fallback() was cancelled at 1 s and ended cancelled, but the price call "
            + (
                "had been cancelled and was still cleaning up: await it after cancelling it."
                if fetch.cancelled
                else "was still running, never cancelled. When you are cancelled, the call you "
                "are waiting for must stop too. A task you created yourself (or one behind "
                "asyncio.shield) is not cancelled along with you: cancel and await it, or let "
                "asyncio.wait_for() or asyncio.timeout() run the call, which do that for you."
            ),
            pytrace=False,
        )
    checks.equal(
        round(fetch.cancelled_at - started, 6),
        1.0,
        "Loop time at which the price call was cancelled (its caller was cancelled at 1 s)",
    )


@pytest.mark.task(1)
async def test_the_price_is_asked_exactly_once():
    fetch = Call("fetch_price", 1, 101.5)
    await timeouts.price_or_fallback(fetch, 99.0)
    checks.equal(
        len(fetch.calls),
        1,
        "Number of calls to fetch_price()",
        "Call fetch_price() once: each call is a new request.",
    )


@pytest.mark.task(1)
async def test_a_price_of_zero_is_a_price(looptime):
    result = await timeouts.price_or_fallback(Call("fetch_price", 1, 0.0), 99.0)
    checks.equal(
        result,
        0.0,
        "price_or_fallback() when the price 0.0 arrives after 1 s",
        lambda got: (
            "0.0 is a price like any other, and it came in time: return it. A test such as "
            "`price or fallback` or `if price:` treats 0.0 as missing; compare with None, or "
            "return from inside the try."
            if got == 99.0
            else ""
        ),
    )
    start = now()
    result = await timeouts.price_or_fallback(Call("fetch_price", 5, 101.5), 0.0)
    checks.equal(
        (result, now() - start),
        (0.0, 2.0),
        "(result, loop time) of price_or_fallback() with fallback 0.0 and a 5 s call",
        "A fallback of 0.0 is still the fallback: return it at the limit.",
    )


@pytest.mark.task(1)
@pytest.mark.loop_limit(200_000)
async def test_a_long_limit_is_waited_out_in_full():
    start = now()
    result = await timeouts.price_or_fallback(Call("fetch_price", 80_000, 101.5), 99.0, 86_400)
    checks.equal(
        (result, now() - start),
        (101.5, 80_000.0),
        "(result, loop time) of price_or_fallback(..., limit=86400) for a call that takes 80,000 s",
        lambda got: (
            "You gave up before the limit you were given: a fixed timeout of your own (a "
            "wait_for(..., 10) 'to be safe', or min(limit, ...)) cuts off calls the caller "
            "was prepared to wait for. Use `limit`, and only `limit`."
            if isinstance(got, tuple) and got[0] == 99.0 and got[1] < 86_400
            else ""
        ),
    )
    start = now()
    fetch = Call("fetch_price", 100_000, 101.5)
    result = await timeouts.price_or_fallback(fetch, 99.0, 86_400)
    checks.equal(
        (result, now() - start, len(fetch.calls)),
        (99.0, 86_400.0, 1),
        "(result, loop time, calls to fetch_price()) of price_or_fallback(..., limit=86400) "
        "for a call that would take 100,000 s",
    )


@pytest.mark.task(1)
async def test_nothing_is_remembered_between_calls():
    first = await timeouts.price_or_fallback(Call("fetch_price", 1, 101.5), 99.0)
    checks.equal(first, 101.5, "The first price_or_fallback(), whose price came after 1 s")
    second = await timeouts.price_or_fallback(Call("fetch_price", 5, 102.0), 98.0)
    checks.equal(
        second,
        98.0,
        "A second price_or_fallback(fallback=98.0) whose call takes 5 s, after a first call "
        "that returned 101.5",
        lambda got: (
            "You returned the price of an earlier call: a price kept from one call to the next "
            "(a module-level cache) is not this call's fallback. Return the `fallback` you are "
            "given."
            if got == 101.5
            else ""
        ),
    )
    answers = iter([(1, 101.5), (5, 102.0)])

    async def fetch_price() -> float:  # one and the same function, called twice
        delay, price = next(answers)
        await asyncio.sleep(delay)
        return price

    await timeouts.price_or_fallback(fetch_price, 99.0)
    again = await timeouts.price_or_fallback(fetch_price, 98.0)
    checks.equal(
        again,
        98.0,
        "A second price_or_fallback(fetch_price, fallback=98.0) with the same fetch_price, "
        "whose call now takes 5 s, after a first call that returned 101.5",
        lambda got: (
            "You returned the price of an earlier call with the same fetch_price: a price "
            "remembered from one call to the next is not this call's fallback. Return the "
            "`fallback` you are given."
            if got == 101.5
            else ""
        ),
    )
    start = now()
    results = await asyncio.gather(
        timeouts.price_or_fallback(Call("fetch_price", 1, 1.0), 10.0, 2),
        timeouts.price_or_fallback(Call("fetch_price", 3, 2.0), 20.0, 2.5),
        timeouts.price_or_fallback(Call("fetch_price", 0.5, 3.0), 30.0, 0.25),
    )
    checks.equal(
        (results, now() - start),
        ([1.0, 20.0, 30.0], 2.5),
        "([results], loop time) of three price_or_fallback() calls at once: (1 s call, limit "
        "2), (3 s call, limit 2.5), (0.5 s call, limit 0.25)",
        "Each call has its own call, fallback and limit: keep them in local variables.",
    )


@pytest.mark.task(1)
async def test_a_failing_call_is_not_retried(looptime):
    fetch = Call("fetch_price", 1, ConnectionError("price server down"))
    with pytest.raises(ConnectionError):
        await timeouts.price_or_fallback(fetch, 99.0)
    checks.equal(
        len(fetch.calls),
        1,
        "Number of calls to fetch_price() when it failed with ConnectionError after 1 s",
        "Call fetch_price() once: its error goes to your caller as it is, with no second try.",
    )
    fetch = Call("fetch_price", 5, 101.5)
    await timeouts.price_or_fallback(fetch, 99.0)
    checks.equal(
        len(fetch.calls),
        1,
        "Number of calls to fetch_price() when it timed out",
        "A timeout earns the fallback at the limit, not a second try.",
    )


PRICE_OUTCOMES = {"101.5": 101.5, "0.0": 0.0, "ConnectionError": "error"}


def outcome_text(delay: float, outcome: str) -> str:
    if outcome == "ConnectionError":
        return f"a call that fails with ConnectionError after {delay:g} s"
    return f"a call that answers {outcome} after {delay:g} s"


@pytest.mark.task(1)
@pytest.mark.loop_limit(200_000)
@scenarios.given(
    delay=st.sampled_from([0, 0.5, 1.75, 3, 10_000]),
    outcome=st.sampled_from(list(PRICE_OUTCOMES)),
    fallback=st.sampled_from([99.0, 0.0]),
    limit=st.sampled_from([None, 0.25, 5_000, 86_400]),
    cancel_at=st.sampled_from([None, 0.125, 1, 4_000]),
)
async def test_price_or_fallback_in_any_scenario(delay, outcome, fallback, limit, cancel_at):
    loop = asyncio.get_running_loop()
    window = 2.0 if limit is None else limit
    ends = min(delay, window)
    assume(delay != window and cancel_at != delay and cancel_at != window)
    cancelled = cancel_at is not None and cancel_at < ends
    scenario = (
        f"with {outcome_text(delay, outcome)}, fallback {fallback!r}, "
        + ("the default limit" if limit is None else f"limit={limit:g}")
        + (f", and the caller cancelling you at {cancel_at:g} s" if cancel_at is not None else "")
    )
    scenarios.describe(scenario)
    error = ConnectionError("price server down")
    fetch = Call("fetch_price", delay, error if outcome == "ConnectionError" else float(outcome))
    args = (fetch, fallback) if limit is None else (fetch, fallback, limit)
    t0 = loop.time()
    at_end: list = []

    async def observed():
        try:
            return await timeouts.price_or_fallback(*args)
        finally:
            at_end.append((round(loop.time() - t0, 6), fetch.closed or not fetch.calls))

    caller = asyncio.create_task(observed())
    if cancel_at is not None:
        loop.call_at(t0 + cancel_at, caller.cancel)
    await asyncio.wait([caller], timeout=200_000)
    if not caller.done():
        caller.cancel()
        await asyncio.wait([caller], timeout=1)
        pytest.fail(f"{scenario}, price_or_fallback() never ended.", pytrace=False)
    raise_if_unwritten(caller)
    if cancelled:
        expected, when = "to end cancelled", cancel_at
    elif delay > window:
        expected, when = f"to return the fallback {fallback!r}", window
    elif outcome == "ConnectionError":
        expected, when = "to raise the ConnectionError", delay
    else:
        expected, when = f"to return the price {outcome}", delay
    if caller.cancelled():
        got = "it ended cancelled"
    elif caller.exception() is not None:
        got = f"it raised {caller.exception()!r}"
    else:
        checks.not_coroutine(caller.result(), "price_or_fallback()'s result")
        got = f"it returned {caller.result()!r}"
    ok = (
        caller.cancelled()
        if cancelled
        else not caller.cancelled() and caller.exception() is error
        if outcome == "ConnectionError" and delay < window
        else not caller.cancelled()
        and caller.exception() is None
        and caller.result() == (fallback if delay > window else float(outcome))
        and type(caller.result()) is float
    )
    if not ok:
        pytest.fail(f"{scenario}, expected you {expected} at {when:g} s, but {got}.", pytrace=False)
    ended, clean = at_end[0]
    if abs(ended - when) > 1e-6:
        pytest.fail(
            f"{scenario}, expected you {expected} at {when:g} s, and {got}, but at {ended:g} s.",
            pytrace=False,
        )
    if not clean:
        pytest.fail(
            f"{scenario}, you ended at {ended:g} s while the price call was still "
            + ("cleaning up after its cancel: await it." if fetch.cancelled else "running.")
            + " A call you give up on, or are cancelled out of, must be cancelled and over "
            "by the time you end.",
            pytrace=False,
        )
    checks.equal(len(fetch.calls), 1, f"{scenario}, calls to fetch_price()")


# Task 2: download


class Source:
    """`read_chunk()`: each call waits the next of `gaps` seconds and returns the next chunk;
    once they are used up it returns b"" at once. Records whether a read was cancelled."""

    def __init__(self, gaps: list[float], chunks: list[bytes] | None = None):
        self.gaps = list(gaps)
        self.chunks = chunks  # what each read returns (default: b"<0>", b"<1>", ...)
        self.sent: list[bytes] = []
        self.reads = 0
        self.cancelled = False
        self.reading = False

    def __call__(self) -> Coroutine:
        self.reads += 1
        coro = self._run()
        coro.__name__ = coro.__qualname__ = "read_chunk"  # for the kit's reports
        return coro

    async def _run(self) -> bytes:
        if len(self.sent) >= len(self.gaps):
            return b""
        self.reading = True
        try:
            await asyncio.sleep(self.gaps[len(self.sent)])
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.reading = False
        chunk = (
            f"<{len(self.sent)}>".encode() if self.chunks is None else self.chunks[len(self.sent)]
        )
        self.sent.append(chunk)
        return chunk

    @property
    def whole(self) -> bytes:
        return b"".join(self.sent)


@pytest.mark.task(2)
async def test_a_small_file_comes_back_whole(looptime):
    source = Source([0.5, 0.5, 0.75])
    try:
        result = await timeouts.download(source, budget=5, bonus=1)
    except TimeoutError:
        pytest.fail(
            f"download(budget=5, bonus=1) raised TimeoutError at {float(looptime):g} s, but the "
            "three chunks arrived at 0.5, 1 and 1.75 s, long before even the first deadline "
            "(5 s). Start the deadline at `budget` seconds, and only ever move it later.",
            pytrace=False,
        )
    checks.not_coroutine(result, "download()'s result")
    checks.equal(
        result,
        b"<0><1><2>",
        "download() of three chunks",
        "Keep calling read_chunk() until it returns b'', and join every chunk in order.",
    )
    checks.took(looptime, 1.75, "download() of chunks arriving after 0.5, 0.5 and 0.75 s")


@pytest.mark.task(2)
async def test_an_empty_file_is_an_empty_result(looptime):
    source = Source([])
    result = await timeouts.download(source, budget=1, bonus=1)
    checks.equal(result, b"", "download() of an empty file (the first read gives b'')")
    checks.equal(source.reads, 1, "Number of reads of an empty file")
    checks.took(looptime, 0, "download() of an empty file")


@pytest.mark.task(2)
async def test_steady_progress_keeps_pushing_the_deadline_back(looptime):
    source = Source([1.5] * 6)
    try:
        result = await timeouts.download(source, budget=3, bonus=2)
    except TimeoutError:
        pytest.fail(
            f"download(budget=3, bonus=2) raised TimeoutError at {float(looptime):g} s, "
            "although a chunk arrived every 1.5 s. Each chunk moves the deadline 2 s later: "
            "after the first one it is at 5 s, then 7 s, and so on. With "
            "`async with asyncio.timeout(budget) as cm:`, move it with "
            "cm.reschedule(cm.when() + bonus) after each chunk.",
            pytrace=False,
        )
    checks.equal(result, source.whole, "download() of six chunks, one every 1.5 s")
    checks.took(looptime, 9, "download() of six chunks arriving every 1.5 s")


@pytest.mark.task(2)
async def test_a_trickle_too_slow_to_keep_up_is_cut_off(looptime):
    source = Source([2] * 10)
    await asyncio.sleep(100)  # the loop clock reads 100 s when download() is called
    took = await expect_timeout(
        timeouts.download(source, budget=3.25, bonus=1.5),
        "download(budget=3.25, bonus=1.5) of ten chunks arriving every 2 s",
        lambda took, result: (
            "Each chunk buys only 1.5 s but takes 2 s to come: the deadline (3.25 s, then 4.75, "
            "6.25, 7.75) overtakes the download at 7.75 s. "
            + (
                "Nothing cut the download off: a timeout per read never fires here (each read "
                "takes 2 s), the deadline is one for the whole download."
                if result == source.whole and len(source.sent) == 10
                else "You returned part of the file: a timeout must propagate, a partial file "
                "is not a result."
                if isinstance(result, bytes | bytearray) and len(source.sent) < 10
                else ""
            )
        ),
    )

    def likely(got: object) -> str:
        if got == 3.25:
            return "That is the first deadline: the chunks did not push it back."
        if isinstance(got, float) and got < 3.25:
            return (
                "That is before the first deadline. Deadlines are loop times: "
                "cm.when() already is one, and a new deadline is cm.when() + bonus, not "
                "budget + bonus (the loop clock read 100 s when download() was called)."
            )
        if got == 3.5:
            return (
                "The deadline moved to `bonus` seconds from the moment each chunk arrived "
                "(2 + 1.5 = 3.5). It must move `bonus` seconds later than it was: "
                "cm.reschedule(cm.when() + bonus)."
            )
        return ""

    checks.equal(
        took,
        7.75,
        "Loop time at which download() raised TimeoutError (deadlines 3.25, 4.75, 6.25, 7.75; "
        "chunks at 2, 4, 6, 8)",
        likely,
    )


@pytest.mark.task(2)
async def test_credit_earned_early_is_kept_for_a_long_pause(looptime):
    source = Source([0.5, 0.5, 0.5, 5])
    try:
        result = await timeouts.download(source, budget=2, bonus=2)
    except TimeoutError:
        pytest.fail(
            f"download(budget=2, bonus=2) raised TimeoutError at {float(looptime):g} s. Three "
            "quick chunks (at 0.5, 1 and 1.5 s) each moved the deadline 2 s later, to 8 s, so "
            "the fourth chunk, after a 5 s pause (at 6.5 s), is in time. "
            + {
                3.5: "The deadline you used was 2 s after the last chunk: the bonus is added "
                "to the deadline, not to the current time, and the limit is on the whole "
                "download, not on each read.",
                2.0: "That is the first deadline: the chunks did not push it back.",
            }.get(float(looptime), ""),
            pytrace=False,
        )
    checks.equal(result, source.whole, "download() of four chunks")
    checks.took(looptime, 6.5, "download() whose last chunk arrives at 6.5 s")


@pytest.mark.task(2)
async def test_the_read_in_progress_is_cancelled_at_the_deadline(looptime):
    source = Source([0.5, 10])
    took = await expect_timeout(
        timeouts.download(source, budget=1, bonus=1),
        "download(budget=1, bonus=1) whose second chunk takes 10 s",
        "The deadline is 1 + 1 = 2 s: raise TimeoutError then.",
    )
    checks.equal(
        took,
        2.0,
        "Loop time at which download(budget=1, bonus=1) raised TimeoutError, after a chunk "
        "at 0.5 s and a read that takes 10 s",
        {
            1.0: "That is the first deadline: the chunk at 0.5 s did not push it back.",
            1.5: "That is 0.5 + 1: the deadline moved to `bonus` seconds after the chunk, but "
            "it must move `bonus` seconds later than it was (1 + 1 = 2).",
            2.5: "That is 0.5 + 2: the clock restarted when the chunk arrived (a fresh timeout "
            "for the next read, or a deadline counted from the chunk). There is one deadline "
            "for the whole download, fixed when you are called (1 s) and moved `bonus` "
            "seconds later by each chunk: cm.reschedule(cm.when() + bonus).",
        }.get,
    )
    checks.equal(
        (source.cancelled, source.reading),
        (True, False),
        "(was the read in progress cancelled?, was it still running?) when TimeoutError "
        "reached the caller",
        "At the deadline the read that was waiting must be cancelled, not left running.",
    )


@pytest.mark.task(2)
async def test_the_file_comes_back_as_bytes():
    source = Source([0.5, 0.5])
    result = await timeouts.download(source, budget=5, bonus=1)
    checks.not_coroutine(result, "download()'s result")
    if not isinstance(result, bytes):
        pytest.fail(
            f"download() returned a {type(result).__name__} ({result!r}), not bytes. The "
            "contract promises bytes: "
            + (
                "a bytearray compares equal but is another, mutable type; return "
                "bytes(buffer), or b''.join(chunks)."
                if isinstance(result, bytearray)
                else "join the chunks with b''.join(chunks)."
            ),
            pytrace=False,
        )
    checks.equal(result, b"<0><1>", "download() of two chunks")


@pytest.mark.task(2)
async def test_every_chunk_is_kept_even_identical_or_odd_ones():
    chunks = [b"ab", b"ab", b"\xe2\x82", b"\xac\r", b"\x00", b"ab", b"\n"]
    source = Source([0.25] * len(chunks), chunks)
    result = await timeouts.download(source, budget=5, bonus=1)
    checks.equal(
        result,
        b"".join(chunks),
        f"download() of the chunks {chunks!r}",
        "Keep every chunk, in order, exactly as it came: the same bytes twice are two chunks, "
        "and a chunk may end in the middle of a UTF-8 character (b'\\xe2\\x82' then "
        "b'\\xac' is one euro sign), so do not decode, strip or de-duplicate them; join "
        "them with b''.join(chunks).",
    )
    checks.equal(source.reads, len(chunks) + 1, "Number of calls to read_chunk()")


@pytest.mark.task(2)
async def test_a_bonus_of_zero_leaves_the_deadline_where_it_is(looptime):
    source = Source([1, 1, 1, 1])
    took = await expect_timeout(
        timeouts.download(source, budget=3.5, bonus=0),
        "download(budget=3.5, bonus=0) of four chunks, one a second",
        "With bonus=0 the deadline stays at 3.5 s, before the fourth chunk (at 4 s): raise "
        "TimeoutError then. A bonus of 0 is a bonus, not a missing one.",
    )
    checks.equal(took, 3.5, "Loop time at which download(budget=3.5, bonus=0) raised TimeoutError")


@pytest.mark.task(2)
@pytest.mark.loop_limit(200_000)
async def test_very_slow_chunks_within_a_long_budget_are_waited_for():
    source = Source([40_000, 40_000, 6_000])
    start = now()
    try:
        result = await timeouts.download(source, budget=86_400, bonus=10)
    except TimeoutError:
        took = now() - start
        pytest.fail(
            f"download(budget=86400, bonus=10) raised TimeoutError at {took:g} s, but its "
            "chunks came at 40,000, 80,000 and 86,000 s, each before the deadline (86,400 s, "
            "then 86,410 and 86,420 s)."
            + (
                " That is before the first deadline: a fixed timeout of your own (a "
                "wait_for(read_chunk(), 60) 'to be safe') cuts off reads the caller was "
                "prepared to wait for. Use only the deadline you are given."
                if took < 86_400
                else ""
            ),
            pytrace=False,
        )
    checks.equal(
        (result, now() - start),
        (source.whole, 86_000.0),
        "(file, loop time) of download(budget=86400, bonus=10) of chunks at 40,000, 80,000 "
        "and 86,000 s",
    )


@pytest.mark.task(2)
async def test_two_downloads_at_once_keep_their_own_chunks_and_deadlines():
    fast, slow = Source([0.5, 0.5], [b"a1", b"a2"]), Source([1, 1, 1], [b"b1", b"b2", b"b3"])
    start = now()
    results = await asyncio.gather(
        timeouts.download(fast, budget=2, bonus=0.25),
        timeouts.download(slow, budget=1.5, bonus=1),
        return_exceptions=True,
    )
    raise_if_unwritten(*results)
    checks.equal(
        ([r if isinstance(r, bytes | bytearray) else repr(r) for r in results], now() - start),
        ([b"a1a2", b"b1b2b3"], 3.0),
        "([results], loop time) of two downloads at once: (two chunks 0.5 s apart, budget 2), "
        "(three chunks 1 s apart, budget 1.5, bonus 1)",
        "Each download has its own chunks and its own deadline: keep both in local variables, "
        "not at module level.",
    )
    second = await timeouts.download(Source([0.5], [b"c"]), budget=1, bonus=1)
    checks.equal(
        second,
        b"c",
        "A later download() of one chunk b'c'",
        lambda got: (
            "It still holds chunks from an earlier download: nothing may outlive a call."
            if isinstance(got, bytes | bytearray) and len(got) > 1
            else ""
        ),
    )


@pytest.mark.task(2)
async def test_a_cancelled_download_ends_cancelled_and_stops_reading():
    source = Source([0.5, 10])
    start = now()
    caller = asyncio.create_task(timeouts.download(source, budget=20, bonus=1))
    await asyncio.sleep(2)  # the second read is under way
    caller.cancel()
    await asyncio.wait([caller], timeout=100)
    if not caller.done():
        pytest.fail(
            "download() was cancelled by its caller at 2 s, but never ended.", pytrace=False
        )
    raise_if_unwritten(caller)
    if not caller.cancelled():
        outcome = (
            f"raised {caller.exception()!r}"
            if caller.exception() is not None
            else f"returned {caller.result()!r}"
        )
        pytest.fail(
            f"download() was cancelled by its caller at 2 s, but it {outcome} instead of ending "
            "cancelled. Nothing timed out and no file is complete: let the CancelledError "
            "through (catch TimeoutError only outside the download, if anywhere, never "
            "CancelledError)."
            + (
                " Your TimeoutError came at the moment of the cancel: a deadline kept by hand "
                "that turns every CancelledError into TimeoutError cannot tell a deadline from "
                "the caller's cancel()."
                if isinstance(caller.exception(), TimeoutError) and abs(now() - start - 2) < 1e-6
                else ""
            ),
            pytrace=False,
        )
    checks.equal(
        (source.cancelled, source.reading, source.reads),
        (True, False, 2),
        "(was the read in progress cancelled?, was it still running?, reads started) when the "
        "cancelled download() ended",
        "When you are cancelled, the read you are waiting for must stop with you.",
    )


def simulate(gaps: list[float], budget: float, bonus: float, rule: str) -> tuple:
    """What a download does under a deadline `rule`: ("file", end, reads) or ("timeout", end,
    reads). The right rule is "moved"; the others are mistakes learners make."""
    t, deadline = 0.0, budget
    for i, gap in enumerate(gaps):
        if rule == "per read":
            deadline = t + budget
        if t + gap > deadline:
            return ("timeout", deadline, i + 1)
        t += gap
        deadline = {
            "moved": deadline + bonus,
            "fixed": deadline,
            "from now": t + bonus,
            "reset": t + budget,
            "per read": deadline,
        }[rule]
    return ("file", t, len(gaps) + 1)


MISTAKES = {
    "fixed": "a deadline the chunks never move",
    "from now": "a deadline moved to `bonus` seconds after each chunk (it must move `bonus` "
    "seconds later than it was: cm.reschedule(cm.when() + bonus))",
    "reset": "a deadline reset to `budget` seconds after each chunk",
    "per read": "a fresh timeout for each read instead of one deadline for the whole download",
}


def ties(gaps: list[float], budget: float, bonus: float, cancel_at: float | None) -> bool:
    """True if some event falls exactly on a deadline (or on the cancel): the order of two
    things due at the same loop time is not the test's to promise."""
    t, deadline = 0.0, budget
    moments = []
    for gap in gaps:
        if abs(t + gap - deadline) < 1e-6:
            return True
        if t + gap > deadline:
            break
        t += gap
        moments.append(t)
        deadline += bonus
    moments.append(deadline)
    return cancel_at is not None and any(abs(cancel_at - m) < 1e-6 for m in moments)


@pytest.mark.task(2)
@pytest.mark.loop_limit(200_000)
@scenarios.given(
    reads=st.lists(
        st.tuples(
            st.sampled_from([0, 0.5, 1.25, 3, 10_000]),
            st.sampled_from([b"ab", b"\xe2\x82", b"\xac", b"\x00", b"\r\n"]),
        ),
        max_size=4,
    ),
    budget=st.sampled_from([0.75, 2, 86_400]),
    bonus=st.sampled_from([0, 1, 2.5, 20_000]),
    cancel_at=st.sampled_from([None, 0.25, 2.25, 5_000]),
)
async def test_download_in_any_scenario(reads, budget, bonus, cancel_at):
    loop = asyncio.get_running_loop()
    gaps = [gap for gap, _ in reads]
    chunks = [chunk for _, chunk in reads]
    assume(not ties(gaps, budget, bonus, cancel_at))
    outcome, end, n_reads = simulate(gaps, budget, bonus, "moved")
    cancelled = cancel_at is not None and cancel_at < end
    scenario = (
        f"with chunks {chunks!r} arriving after gaps of {gaps!r} s, budget={budget:g}, "
        f"bonus={bonus:g}"
        + (f", and the caller cancelling you at {cancel_at:g} s" if cancel_at is not None else "")
    )
    scenarios.describe(scenario)
    source = Source(gaps, chunks)
    t0 = loop.time()
    caller = asyncio.create_task(timeouts.download(source, budget, bonus))
    if cancel_at is not None:
        loop.call_at(t0 + cancel_at, caller.cancel)
    ended: list[float] = []
    caller.add_done_callback(lambda _: ended.append(round(loop.time() - t0, 6)))
    await asyncio.wait([caller], timeout=150_000)
    if not caller.done():
        caller.cancel()
        await asyncio.wait([caller], timeout=1)
        pytest.fail(f"{scenario}, download() never ended.", pytrace=False)
    raise_if_unwritten(caller)
    if cancelled:
        expected, when = "to end cancelled", cancel_at
    elif outcome == "timeout":
        expected, when = "to raise TimeoutError", end
    else:
        expected, when = f"to return {b''.join(chunks)!r}", end
    if caller.cancelled():
        got, got_kind = "it ended cancelled", "cancelled"
    elif caller.exception() is not None:
        exc = caller.exception()
        got, got_kind = f"it raised {exc!r}", "timeout" if isinstance(exc, TimeoutError) else "?"
    else:
        checks.not_coroutine(caller.result(), "download()'s result")
        got, got_kind = f"it returned {caller.result()!r}", "file"
    ok = (
        got_kind == "cancelled"
        if cancelled
        else got_kind == outcome and (outcome != "file" or caller.result() == b"".join(chunks))
    )
    timely = ended and abs(ended[0] - when) < 1e-6
    if not ok or not timely:
        hint = ""
        for rule, mistake in MISTAKES.items():
            wrong_outcome, wrong_end, _ = simulate(gaps, budget, bonus, rule)
            if (
                not cancelled
                and (wrong_outcome, round(wrong_end, 6)) != (outcome, round(end, 6))
                and got_kind == wrong_outcome
                and abs(ended[0] - wrong_end) < 1e-6
            ):
                hint = f" That is what {mistake} gives."
                break
        pytest.fail(
            f"{scenario}, expected you {expected} at {when:g} s, but {got} at {ended[0]:g} s."
            + hint,
            pytrace=False,
        )
    if got_kind == "file" and not isinstance(caller.result(), bytes):
        pytest.fail(
            f"{scenario}, download() returned a {type(caller.result()).__name__}, not bytes.",
            pytrace=False,
        )
    expected_reads = (
        n_reads
        if not cancelled
        else sum(1 for i in range(len(gaps) + 1) if sum(gaps[:i]) <= cancel_at)
    )
    checks.equal(
        (source.reads, source.reading),
        (expected_reads, False),
        f"{scenario}, (calls to read_chunk(), was a read still running when you ended?)",
        lambda got: (
            "A read was still running after you ended: cancel it (a timeout or a cancellation "
            "of yours must stop the read in progress)."
            if got[1]
            else "Call read_chunk() once per chunk, and once more for the b'' that ends the "
            "file; never again after the file is complete or you have given up."
        ),
    )


# Task 3: save_order


ORDER = {"id": 42, "items": ["tea", "scones"]}


def order_calls(build_delay: float, commit_delay: float) -> tuple[Call, Call]:
    return Call("build", build_delay, ORDER), Call("commit", commit_delay, "order 42 saved")


def commit_cancelled(commit: Call, when: str, caller: asyncio.Task | None) -> str:
    """The message for a commit that was cancelled: what the test saw, and what it suggests.
    `caller` is the task that called save_order()."""
    message = (
        f"The commit was cancelled at {commit.cancelled_at:g} s, when {when}, so the order was "
        "rolled back half written."
    )
    if caller is not None and commit.ran_in is caller:
        return message + (
            " The commit ran in save_order()'s own task, so the cancellation that ended "
            "save_order() reached it: nothing shielded it. Put it under asyncio.shield(...): "
            "the caller still gets its TimeoutError or CancelledError, but the shielded commit "
            "is not cancelled and finishes in the background."
        )
    return message + (
        " The commit ran in a task of its own, and that task was cancelled. Likely: nothing "
        "shielded it (asyncio.wait_for() runs what it awaits as a task and cancels it at the "
        "timeout), or something else cancelled it as you gave up: a TaskGroup cancels its "
        "tasks when its block ends with an error, and so does a cancel() of the commit task in "
        "your cleanup. Shield the commit, and let nothing else cancel it."
    )


async def check_commit_completes(
    commit: Call, when: str, caller: asyncio.Task | None, started: float
) -> None:
    """After the caller gave up, the commit must run on to its end, not be cancelled.
    `started` is the loop time at which save_order() was called."""
    if not commit.calls:
        pytest.fail(f"commit() was never called, though {when}.", pytrace=False)
    await asyncio.sleep(commit.delay + 1)  # long enough for a running commit to end
    if commit.cancelled:
        commit.cancelled_at = round(commit.cancelled_at - started, 6)
        pytest.fail(commit_cancelled(commit, when, caller), pytrace=False)
    checks.equal(commit.finished, True, "Did the commit run to its end?")


@pytest.mark.task(3)
async def test_an_order_in_time_is_built_and_committed(looptime):
    build, commit = order_calls(1, 1.5)
    result = await timeouts.save_order(build, commit, limit=5)
    checks.not_coroutine(result, "save_order()'s result")
    if not isinstance(result, str):
        pytest.fail(
            f"save_order() returned a {type(result).__name__} ({result!r}), not the str "
            "confirmation that commit() returned: return what `await commit(order)` gives.",
            pytrace=False,
        )
    checks.equal(result, "order 42 saved", "save_order() when everything is quick")
    checks.equal(
        commit.calls,
        [(ORDER,)],
        "Arguments commit() was called with",
        "Build the order first, then pass it to commit(order).",
    )
    checks.took(looptime, 2.5, "save_order() with a 1 s build and a 1.5 s commit")


@pytest.mark.task(3)
async def test_a_slow_commit_times_out_the_caller_but_still_completes():
    build, commit = order_calls(1, 3)
    await asyncio.sleep(10)  # the loop clock reads 10 s when save_order() is called
    started = now()
    took = await expect_timeout(
        timeouts.save_order(build, commit, limit=2.5),
        "save_order(limit=2.5) whose commit would end at 4 s",
        lambda took, result: (
            "You caught the TimeoutError: let it reach the caller, who must know the order "
            "was not confirmed in time (the shielded commit goes on without you)."
            if took == 2.5
            else "The caller must get its TimeoutError at the limit, 2.5 s, even though the "
            "commit carries on. Do not wait for the commit past the deadline: shield it, "
            "and let the timeout reach the caller."
        ),
    )
    checks.equal(
        took,
        2.5,
        "Loop time at which save_order() raised TimeoutError",
        lambda got: (
            "The whole call (build and commit together) must end at `limit` seconds "
            "after it started"
            + {
                4.0: ", but you raised only when the commit had ended (at 4 s): do not wait for "
                "the commit past the deadline; the shielded commit goes on without you.",
                3.5: ", but you raised at 1 + 2.5 s: one deadline for both, not one each.",
            }.get(got, ": one deadline for both, and no waiting for the commit.")
        ),
    )
    await check_commit_completes(
        commit, "the deadline passed during the commit", asyncio.current_task(), started
    )


@pytest.mark.task(3)
async def test_a_slow_build_is_cut_off_and_nothing_is_committed():
    build, commit = order_calls(5, 1)
    took = await expect_timeout(
        timeouts.save_order(build, commit, limit=2),
        "save_order(limit=2) whose build would take 5 s",
        lambda took, result: (
            "You caught the TimeoutError: let it reach the caller."
            if took == 2
            else "The build must be cut off at the limit: put it under the same deadline "
            "as the commit."
        ),
    )
    checks.equal(took, 2.0, "Loop time at which save_order() raised TimeoutError")
    cancelled, closed = build.cancelled, build.closed  # when TimeoutError reached the caller
    await asyncio.sleep(10)  # give anything still running the time to finish
    if cancelled and not closed and not commit.calls:
        pytest.fail(
            "save_order() raised TimeoutError at 2 s and had cancelled the 5 s build, but the "
            "build's cleanup had not finished yet: after cancelling a task, await it before "
            "you raise (asyncio.timeout() and wait_for() do that for you).",
            pytrace=False,
        )
    if not cancelled or commit.calls:
        pytest.fail(
            "save_order() raised TimeoutError at 2 s, but "
            + ("the 5 s build was not cancelled" if not cancelled else "")
            + (" and " if not cancelled and commit.calls else "")
            + ("the order was committed after the deadline" if commit.calls else "")
            + ". Likely: the shield covers too much (shield only the commit: `await "
            "asyncio.shield(commit(order))`), or the build runs as a task of its own that "
            "nothing cancels. Keep the build under the timeout, so a build that is too slow "
            "is cut off and never committed.",
            pytrace=False,
        )


@pytest.mark.task(3)
async def test_a_cancelled_caller_does_not_cancel_the_commit():
    build, commit = order_calls(1, 3)
    started = now()
    caller = asyncio.create_task(timeouts.save_order(build, commit, limit=10))
    await asyncio.sleep(2)  # the build is done, the commit is halfway
    caller.cancel()
    try:
        result = await caller
    except asyncio.CancelledError:
        pass
    else:
        pytest.fail(
            f"save_order() was cancelled at 2 s, during the commit, yet returned {result!r}: "
            "it must let its caller's cancellation through (the shield keeps only the commit "
            "going, in the background).",
            pytrace=False,
        )
    checks.equal(
        round(now() - started, 6),
        2.0,
        "Loop time at which the cancelled save_order() ended (cancelled at 2 s, during a "
        "commit that ends at 4 s)",
        lambda got: (
            "It ended cancelled, but only once the commit was over: when you are cancelled, "
            "end at once and let the shielded commit finish in the background."
            if got == 4.0
            else ""
        ),
    )
    await check_commit_completes(
        commit, "the caller was cancelled during the commit", caller, started
    )


@pytest.mark.task(3)
async def test_a_cancelled_caller_cancels_the_build():
    build, commit = order_calls(3, 1)
    caller = asyncio.create_task(timeouts.save_order(build, commit, limit=10))
    await asyncio.sleep(1)
    caller.cancel()
    try:
        result = await caller
    except asyncio.CancelledError:
        pass
    else:
        pytest.fail(
            f"save_order() was cancelled at 1 s, during the build, yet returned {result!r}: "
            "it must end cancelled, letting its caller's cancellation through.",
            pytrace=False,
        )
    await asyncio.sleep(5)
    checks.equal(
        (build.cancelled, bool(commit.calls)),
        (True, False),
        "(was the build cancelled?, was the order committed?) when the caller was cancelled "
        "during the build",
        "Only the commit is protected: a build in progress stops with the caller, and an "
        "order that was never built is never committed.",
    )


@pytest.mark.task(3)
async def test_an_empty_order_and_an_empty_confirmation_are_kept(looptime):
    empty: dict = {}
    build, commit = Call("build", 1, empty), Call("commit", 1, "")
    result = await timeouts.save_order(build, commit, limit=5)
    checks.equal(
        (result, len(commit.calls)),
        ("", 1),
        "(result, calls to commit()) of save_order() whose build returns {} and whose commit "
        "returns ''",
        "An empty order is still an order and '' is still the confirmation: commit what build() "
        "returned and return what commit() returned, without truth tests such as `if order:` "
        "or `confirmation or ...`.",
    )
    if commit.calls[0] != ({},) or empty:
        pytest.fail(
            f"commit() was called with {commit.calls[0]!r}, not with the order build() "
            "returned ({}), unchanged: pass it on as it is.",
            pytrace=False,
        )
    checks.took(looptime, 2, "save_order() with a 1 s build and a 1 s commit")


@pytest.mark.task(3)
@pytest.mark.loop_limit(300_000)
async def test_a_long_limit_lets_slow_steps_finish():
    build, commit = order_calls(10_000, 50_000)
    start = now()
    try:
        result = await timeouts.save_order(build, commit, limit=86_400)
    except TimeoutError:
        pytest.fail(
            f"save_order(limit=86400) raised TimeoutError at {now() - start:g} s, though its "
            "build (10,000 s) and commit (50,000 s) end at 60,000 s, well within the limit. "
            "Use only the `limit` you are given: no fixed timeout of your own 'to be safe'.",
            pytrace=False,
        )
    except asyncio.CancelledError:
        pytest.fail(
            "save_order(limit=86400) raised CancelledError, though nobody cancelled it and it "
            "was well within its limit. The commit was cancelled at "
            f"{(commit.cancelled_at or start) - start:g} s: nothing may cut a commit short, not "
            "even a watchdog of your own.",
            pytrace=False,
        )
    checks.equal(
        (result, now() - start),
        ("order 42 saved", 60_000.0),
        "(result, loop time) of save_order(limit=86400) with a 10,000 s build and a 50,000 s "
        "commit",
    )
    build, commit = order_calls(1, 90_000)
    start = now()
    took = await expect_timeout(
        timeouts.save_order(build, commit, limit=86_400),
        "save_order(limit=86400) whose commit would end at 90,001 s",
        "Raise TimeoutError at the limit, and let the commit go on in the background.",
    )
    checks.equal(took, 86_400.0, "Loop time at which save_order(limit=86400) raised TimeoutError")
    await check_commit_completes(
        commit, "the deadline passed during a long commit", asyncio.current_task(), start
    )


@pytest.mark.task(3)
async def test_errors_reach_the_caller_and_nothing_is_retried(looptime):
    broken = ValueError("no such product")
    build, commit = Call("build", 1, broken), Call("commit", 1, "saved")
    with pytest.raises(ValueError) as raised:
        await timeouts.save_order(build, commit, limit=5)
    checks.equal(
        (raised.value is broken, len(build.calls), len(commit.calls)),
        (True, 1, 0),
        "(the build's own error raised?, calls to build(), calls to commit()) when build() "
        "failed with ValueError after 1 s",
        "A failed build has no order to commit: let its error reach your caller, and call "
        "neither build() again nor commit().",
    )
    refused = ConnectionError("database refused the order")
    build, commit = Call("build", 1, ORDER), Call("commit", 1, refused)
    with pytest.raises(ConnectionError) as raised:
        await timeouts.save_order(build, commit, limit=5)
    checks.equal(
        (raised.value is refused, len(build.calls), len(commit.calls)),
        (True, 1, 1),
        "(the commit's own error raised?, calls to build(), calls to commit()) when commit() "
        "failed with ConnectionError",
        "Let the commit's error reach your caller as it is: no second try (the first commit "
        "may have half-written the order).",
    )
    checks.took(looptime, 3, "Two save_order() calls that failed after 1 s and after 2 s")


@pytest.mark.task(3)
async def test_two_orders_at_once_each_commit_their_own():
    first, second = {"id": 1}, {"id": 2}
    builds = Call("build", 1, first), Call("build", 2, second)
    commits = Call("commit", 1, "1 saved"), Call("commit", 0.5, "2 saved")
    results = await asyncio.gather(
        timeouts.save_order(builds[0], commits[0], limit=5),
        timeouts.save_order(builds[1], commits[1], limit=5),
    )
    checks.equal(
        (results, commits[0].calls, commits[1].calls),
        (["1 saved", "2 saved"], [(first,)], [(second,)]),
        "(results, first commit's calls, second commit's calls) of two save_order() at once",
        "Each call builds and commits its own order: keep it in a local variable.",
    )


@pytest.mark.task(3)
@pytest.mark.loop_limit(200_000)
@scenarios.given(
    build_delay=st.sampled_from([0, 1, 3, 10_000]),
    commit_delay=st.sampled_from([0, 1.5, 5, 50_000]),
    limit=st.sampled_from([2, 4.25, 86_400]),
    cancel_at=st.sampled_from([None, 0.5, 2.25, 20_000]),
    order=st.sampled_from([{"id": 7}, {}]),
    confirmation=st.sampled_from(["saved", ""]),
    failing=st.sampled_from([None, "build", "commit"]),
)
async def test_save_order_in_any_scenario(
    build_delay, commit_delay, limit, cancel_at, order, confirmation, failing
):
    loop = asyncio.get_running_loop()
    end = build_delay + commit_delay
    moments = [build_delay, end, limit] + ([cancel_at] if cancel_at is not None else [])
    assume(len({round(m, 6) for m in moments}) == len(moments))  # no two things at once
    # a commit that fails after the caller was gone has nobody to tell: not a scenario
    assume(failing != "commit" or end < min(limit, cancel_at or limit))
    error = {"build": ValueError("no such product"), "commit": ConnectionError("refused")}
    build = Call("build", build_delay, error["build"] if failing == "build" else order)
    commit = Call("commit", commit_delay, error["commit"] if failing == "commit" else confirmation)
    scenario = (
        f"with a {build_delay:g} s build"
        + (" that fails" if failing == "build" else f" of {order!r}")
        + f", a {commit_delay:g} s commit"
        + (" that fails" if failing == "commit" else f" confirming {confirmation!r}")
        + f", limit={limit:g}"
        + (f", and the caller cancelling you at {cancel_at:g} s" if cancel_at is not None else "")
    )
    scenarios.describe(scenario)
    first = min(m for m in (cancel_at, limit) if m is not None)
    stop = "cancelled" if cancel_at is not None and cancel_at < limit else "timeout"
    if build_delay > first:
        expected, when, commits = (
            ("to end cancelled" if stop == "cancelled" else "to raise TimeoutError"),
            first,
            0,
        )
    elif failing == "build":
        expected, when, commits = "to raise the build's ValueError", build_delay, 0
    elif end > first:
        expected, when, commits = (
            ("to end cancelled" if stop == "cancelled" else "to raise TimeoutError"),
            first,
            1,
        )
    elif failing == "commit":
        expected, when, commits = "to raise the commit's ConnectionError", end, 1
    else:
        expected, when, commits = f"to return {confirmation!r}", end, 1
    t0 = loop.time()
    caller = asyncio.create_task(timeouts.save_order(build, commit, limit))
    if cancel_at is not None:
        loop.call_at(t0 + cancel_at, caller.cancel)
    ended: list[float] = []
    caller.add_done_callback(lambda _: ended.append(round(loop.time() - t0, 6)))
    await asyncio.wait([caller], timeout=150_000)
    if not caller.done():
        caller.cancel()
        await asyncio.wait([caller], timeout=1)
        pytest.fail(f"{scenario}, save_order() never ended.", pytrace=False)
    raise_if_unwritten(caller)
    if caller.cancelled():
        got = "it ended cancelled"
    elif caller.exception() is not None:
        got = f"it raised {caller.exception()!r}"
    else:
        checks.not_coroutine(caller.result(), "save_order()'s result")
        got = f"it returned {caller.result()!r}"
    ok = {
        "to end cancelled": lambda: caller.cancelled(),
        "to raise TimeoutError": lambda: (
            not caller.cancelled() and isinstance(caller.exception(), TimeoutError)
        ),
        "to raise the build's ValueError": lambda: (
            not caller.cancelled() and caller.exception() is error["build"]
        ),
        "to raise the commit's ConnectionError": lambda: (
            not caller.cancelled() and caller.exception() is error["commit"]
        ),
    }.get(
        expected,
        lambda: (
            not caller.cancelled()
            and caller.exception() is None
            and caller.result() == confirmation
            and type(caller.result()) is str
        ),
    )()
    if not ok or abs(ended[0] - when) > 1e-6:
        pytest.fail(
            f"{scenario}, expected you {expected} at {when:g} s, but {got} at {ended[0]:g} s.",
            pytrace=False,
        )
    await asyncio.sleep(max(0.0, end - ended[0]) + 1)  # a commit left running ends by now
    if commit.cancelled:
        commit.cancelled_at = round(commit.cancelled_at - t0, 6)
        pytest.fail(
            f"{scenario}: " + commit_cancelled(commit, f"you ended at {ended[0]:g} s", caller),
            pytrace=False,
        )
    checks.equal(
        (len(build.calls), len(commit.calls), build.cancelled),
        (1, commits, build_delay > first),
        f"{scenario}, (calls to build(), calls to commit(), was the build cancelled?)",
        lambda got: (
            "The build was still running when the time ran out (or you were cancelled), and it "
            "was not cancelled: only the commit is shielded, the build stays under the deadline."
            if got[2] is False and build_delay > first
            else ""
        ),
    )
    if commit.calls and commit.calls[0] != (order,):
        pytest.fail(
            f"{scenario}, commit() was not given the order build() returned.", pytrace=False
        )
