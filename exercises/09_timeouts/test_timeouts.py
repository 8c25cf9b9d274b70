"""Exercise 09 tests. Run them with `pytest exercises/09`."""

import asyncio
from collections.abc import Coroutine

import pytest

from aiokata import checks, exercise_module

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

    def __call__(self, *args) -> Coroutine:
        self.calls.append(args)
        coro = self._run()
        coro.__name__ = coro.__qualname__ = self.name  # for the kit's reports
        return coro

    async def _run(self):
        try:
            await asyncio.sleep(self.delay)
            self.finished = True
            if isinstance(self.outcome, Exception):
                raise self.outcome
            return self.outcome
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            await asyncio.sleep(0)  # cleaning up takes an await too
            self.closed = True


def now() -> float:
    return asyncio.get_running_loop().time()


async def expect_timeout(awaitable, what: str, returned_hint):
    """Await the learner's call, which must raise TimeoutError. Returns the loop time it
    raised at, relative to the call. `returned_hint` (or `returned_hint(seconds)`) explains
    a call that returned instead."""
    start = now()
    try:
        result = await awaitable
    except TimeoutError:
        return now() - start
    checks.not_coroutine(result, f"{what}'s result")
    took = now() - start
    hint = returned_hint(took) if callable(returned_hint) else returned_hint
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
            "The default limit is exactly 2 s, counted from when you are called: a price at "
            "1.75 s is kept, one that would take 2.25 s is cut off at 2 s.",
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
            "The limit is 2 s from now, not the loop clock reading 2: asyncio.timeout_at() and "
            "loop.call_at() take an absolute loop time. Use asyncio.timeout(limit) or "
            "wait_for(..., limit), or add loop.time()."
            if isinstance(got, tuple) and got[0] == 99.0
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
            "as if the call had timed out. Catching asyncio.CancelledError swallows every "
            "cancellation, including your caller's: catch TimeoutError only, and let "
            "CancelledError propagate.",
            pytrace=False,
        )
    checks.equal(
        fetch.closed,
        True,
        "Was the price call stopped and cleaned up when price_or_fallback() was cancelled?",
        "When you are cancelled, the call you are waiting for must stop too. A task you "
        "created yourself is not cancelled along with you: cancel and await it, or let "
        "asyncio.wait_for() or asyncio.timeout() run the call, which do that for you.",
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


# Task 2: download


class Source:
    """`read_chunk()`: each call waits the next of `gaps` seconds and returns the next chunk;
    once they are used up it returns b"" at once. Records whether a read was cancelled."""

    def __init__(self, gaps: list[float]):
        self.gaps = list(gaps)
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
        chunk = f"<{len(self.sent)}>".encode()
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
        "Each chunk buys only 1.5 s but takes 2 s to come: the deadline (3.25 s, then 4.75, "
        "6.25, 7.75) overtakes the download at 7.75 s. A timeout per read never fires here: "
        "the deadline is one for the whole download. And a timeout must propagate: a partial "
        "file is not a result.",
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


# Task 3: save_order


ORDER = {"id": 42, "items": ["tea", "scones"]}


def order_calls(build_delay: float, commit_delay: float) -> tuple[Call, Call]:
    return Call("build", build_delay, ORDER), Call("commit", commit_delay, "order 42 saved")


async def check_commit_completes(commit: Call, when: str) -> None:
    """After the caller gave up, the commit must run on to its end, not be cancelled."""
    if not commit.calls:
        pytest.fail(f"commit() was never called, though {when}.", pytrace=False)
    await asyncio.sleep(commit.delay + 1)  # long enough for a running commit to end
    if commit.cancelled:
        pytest.fail(
            f"The commit was cancelled when {when}, so the order was rolled back half "
            "written. Put the commit under asyncio.shield(...): the caller still gets its "
            "TimeoutError or CancelledError, but the shielded commit is not cancelled and "
            "finishes in the background.",
            pytrace=False,
        )
    checks.equal(commit.finished, True, "Did the commit run to its end?")


@pytest.mark.task(3)
async def test_an_order_in_time_is_built_and_committed(looptime):
    build, commit = order_calls(1, 1.5)
    result = await timeouts.save_order(build, commit, limit=5)
    checks.not_coroutine(result, "save_order()'s result")
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
    took = await expect_timeout(
        timeouts.save_order(build, commit, limit=2.5),
        "save_order(limit=2.5) whose commit would end at 4 s",
        lambda took: (
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
        "The whole call (build and commit together) must end at `limit` seconds after it "
        "started: one deadline for both, not one each, and not waiting for the commit.",
    )
    await check_commit_completes(commit, "the deadline passed during the commit")


@pytest.mark.task(3)
async def test_a_slow_build_is_cut_off_and_nothing_is_committed():
    build, commit = order_calls(5, 1)
    took = await expect_timeout(
        timeouts.save_order(build, commit, limit=2),
        "save_order(limit=2) whose build would take 5 s",
        lambda took: (
            "You caught the TimeoutError: let it reach the caller."
            if took == 2
            else "The build must be cut off at the limit: put it under the same deadline "
            "as the commit."
        ),
    )
    checks.equal(took, 2.0, "Loop time at which save_order() raised TimeoutError")
    build_was_stopped = build.cancelled and build.closed
    await asyncio.sleep(10)  # give anything still running the time to finish
    if not build_was_stopped or commit.calls:
        pytest.fail(
            "save_order() raised TimeoutError at 2 s, but the 5 s build was not cancelled"
            + (", and the order was committed after the deadline" if commit.calls else "")
            + ". The shield covers too much: shield only the commit (`await asyncio.shield("
            "commit(order))`), and keep the build under the timeout, so a build that is too "
            "slow is cut off and never committed.",
            pytrace=False,
        )


@pytest.mark.task(3)
async def test_a_cancelled_caller_does_not_cancel_the_commit():
    build, commit = order_calls(1, 3)
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
    await check_commit_completes(commit, "the caller was cancelled during the commit")


@pytest.mark.task(3)
async def test_a_cancelled_caller_cancels_the_build():
    build, commit = order_calls(3, 1)
    caller = asyncio.create_task(timeouts.save_order(build, commit, limit=10))
    await asyncio.sleep(1)
    caller.cancel()
    try:
        await caller
    except asyncio.CancelledError:
        pass
    await asyncio.sleep(5)
    checks.equal(
        (build.cancelled, bool(commit.calls)),
        (True, False),
        "(was the build cancelled?, was the order committed?) when the caller was cancelled "
        "during the build",
        "Only the commit is protected: a build in progress stops with the caller, and an "
        "order that was never built is never committed.",
    )
