"""Exercise 06 tests. Run them with `pytest exercises/06`."""

import asyncio
import concurrent.futures
import contextlib
import time

import pytest

from aiokata import checks, exercise_module

futures = exercise_module(__file__)


# Test doubles


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class JobStillRunning(Exception):
    """Raised in place of a blocking job.result() / job.exception() on the loop's thread."""


class Job(concurrent.futures.Future):
    """A thread-pool job the test completes itself. Asking for its outcome from the event
    loop's thread while it runs would freeze the loop, so it raises instead."""

    def result(self, timeout=None):
        self._refuse_to_block("result")
        return super().result(timeout)

    def exception(self, timeout=None):
        self._refuse_to_block("exception")
        return super().exception(timeout)

    def _refuse_to_block(self, method: str) -> None:
        if not self.done() and _loop_running_here():
            raise JobStillRunning(method)


class Legacy:
    """A callback-style service. `legacy(url, on_done, on_error)` returns at once; the loop
    later calls back as `plan[url]` says: a list of (seconds, "done" or "error", value)."""

    def __init__(self, plan: dict[str, list[tuple[float, str, object]]]):
        self.plan = plan
        self.calls: list[str] = []
        self.callback_errors: list[str] = []

    def __call__(self, url, on_done, on_error) -> None:
        self.calls.append(url)
        loop = asyncio.get_running_loop()
        for seconds, kind, value in self.plan[url]:
            callback = on_done if kind == "done" else on_error
            loop.call_later(seconds, self._deliver, seconds, kind, callback, value)

    def _deliver(self, seconds, kind, callback, value) -> None:
        try:
            callback(value)
        except Exception as exc:
            self.callback_errors.append(
                f"at {seconds:g} s, on_{kind}({value!r}) raised {type(exc).__name__}: {exc}"
            )

    def check_callbacks_did_not_raise(self, situation: str) -> None:
        if not self.callback_errors:
            return
        first = self.callback_errors[0]
        advice = (
            "A future can be settled only once: after its first result, exception or "
            "cancellation, set_result() and set_exception() raise InvalidStateError. In both "
            "callbacks, check `if not future.done():` before settling it."
            if "InvalidStateError" in first
            else "The callbacks you pass to legacy_fetch must not raise."
        )
        pytest.fail(
            f"{situation}, and your callback failed: {first}. {advice}",
            pytrace=False,
        )


def failed_future(error: Exception) -> asyncio.Future:
    future = asyncio.get_running_loop().create_future()
    future.set_exception(error)
    future.exception()  # retrieved here, so asyncio never logs it as lost
    return future


def new_future(outcome: str, value: object = None) -> asyncio.Future:
    future = asyncio.get_running_loop().create_future()
    if outcome == "succeeded":
        future.set_result(value)
    elif outcome == "cancelled":
        future.cancel()
    return future


# Task 1: status and peek

_PENDING_RAISES = (
    "On a pending future, result() and exception() do not wait for the outcome: they raise "
    "InvalidStateError at once. Check future.done() first."
)
_CANCELLED_RAISES = (
    "On a cancelled future, result() and exception() raise CancelledError. A cancelled "
    "future is also done(): ask future.cancelled() before looking at its outcome."
)


def call_status(future: asyncio.Future) -> object:
    try:
        answer = futures.status(future)
    except asyncio.InvalidStateError:
        pytest.fail(f"status() raised InvalidStateError. {_PENDING_RAISES}", pytrace=False)
    except asyncio.CancelledError:
        pytest.fail(f"status() raised CancelledError. {_CANCELLED_RAISES}", pytrace=False)
    checks.not_coroutine(answer, "status()'s result")
    return answer


@pytest.mark.task(1)
async def test_status_of_a_new_future_is_pending():
    future = new_future("pending")
    checks.equal(call_status(future), "pending", "status() of a future nobody has settled yet")
    checks.equal(future.done(), False, "future.done() after status()", "status() must only look.")


@pytest.mark.task(1)
@pytest.mark.parametrize("value", ["<html>", None, 0])
async def test_status_after_set_result_is_succeeded(value):
    checks.equal(
        call_status(new_future("succeeded", value)),
        "succeeded",
        f"status() of a future after set_result({value!r})",
        "A future that holds a result succeeded, whatever the value (even None or 0): test "
        "what happened (done, not cancelled, no exception), not the value.",
    )


@pytest.mark.task(1)
async def test_status_after_set_exception_is_failed():
    checks.equal(
        call_status(failed_future(ConnectionError("reset"))),
        "failed",
        "status() of a future after set_exception(ConnectionError(...))",
        "future.exception() returns the exception a done future holds (None if it succeeded).",
    )


@pytest.mark.task(1)
async def test_status_after_cancel_is_cancelled():
    checks.equal(
        call_status(new_future("cancelled")),
        "cancelled",
        "status() of a cancelled future",
        f"{_CANCELLED_RAISES}",
    )


@pytest.mark.task(1)
async def test_status_follows_one_future_through_its_life():
    future = new_future("pending")
    seen = [call_status(future)]
    future.set_result("page")
    seen.append(call_status(future))
    checks.equal(seen, ["pending", "succeeded"], "status() before and after set_result()")


@pytest.mark.task(1)
async def test_peek_at_a_pending_future_returns_the_default_at_once(looptime):
    future = new_future("pending")
    try:
        answer = futures.peek(future, "not yet")
    except asyncio.InvalidStateError:
        pytest.fail(
            "peek() raised InvalidStateError on a pending future. future.result() never "
            "blocks or waits in asyncio: when there is no outcome yet it raises "
            "InvalidStateError immediately. Check future.done() first and return default.",
            pytrace=False,
        )
    checks.not_coroutine(answer, "peek()'s result")
    checks.equal(answer, "not yet", "peek(pending_future, 'not yet')")
    checks.equal(future.done(), False, "future.done() after peek()", "peek() must only look.")
    checks.took(looptime, 0, "peek()")


@pytest.mark.task(1)
async def test_peek_default_is_none():
    try:
        answer = futures.peek(new_future("pending"))
    except asyncio.InvalidStateError:
        pytest.fail(f"peek() raised InvalidStateError. {_PENDING_RAISES}", pytrace=False)
    checks.equal(answer, None, "peek(pending_future) with no default given")


@pytest.mark.task(1)
async def test_peek_returns_the_result_of_a_done_future():
    answer = futures.peek(new_future("succeeded", "<html>"), "not yet")
    checks.not_coroutine(answer, "peek()'s result")
    checks.equal(answer, "<html>", "peek() of a future whose result is '<html>'")


@pytest.mark.task(1)
@pytest.mark.parametrize("value", [None, 0, ""])
async def test_peek_returns_a_falsy_result_not_the_default(value):
    answer = futures.peek(new_future("succeeded", value), "not yet")
    checks.equal(
        answer,
        value,
        f"peek() of a future whose result is {value!r}, with default 'not yet'",
        "The future is done and succeeded, so its result is the answer, even None, 0 or "
        "''. Decide by the future's state (future.done()), not by the value "
        "(`result or default`, `if result is None`).",
    )


@pytest.mark.task(1)
async def test_peek_raises_the_exception_of_a_failed_future():
    error = ConnectionError("reset")
    try:
        answer = futures.peek(failed_future(error), "not yet")
    except ConnectionError as exc:
        checks.equal(exc, error, "The exception peek() raised", "Raise the future's own error.")
        return
    pytest.fail(
        f"peek() of a failed future returned {answer!r} instead of raising its ConnectionError. "
        "A failure must not be hidden behind the default: future.result() raises the "
        "future's exception, let it propagate (catch only InvalidStateError, if anything).",
        pytrace=False,
    )


@pytest.mark.task(1)
async def test_peek_raises_cancelled_error_for_a_cancelled_future():
    try:
        answer = futures.peek(new_future("cancelled"), "not yet")
    except asyncio.CancelledError:
        return
    pytest.fail(
        f"peek() of a cancelled future returned {answer!r}; expected it to raise "
        "asyncio.CancelledError, as future.result() does.",
        pytrace=False,
    )


# Task 2: fetch, a callback API made awaitable


async def fetch_within(service: Legacy, url: str, when: str) -> object:
    errors = service.callback_errors
    return await checks.within(
        30,
        futures.fetch(service, url),
        f"fetch() was still waiting 30 s after legacy_fetch {when}. "
        + (
            f"Your callback failed: {errors[0]}. "
            if errors
            else "The callbacks you passed must settle the future that fetch() awaits: "
            "on_done calls future.set_result(page), on_error calls future.set_exception(error)."
        ),
    )


@pytest.mark.task(2)
async def test_fetch_returns_the_page_when_on_done_is_called(looptime):
    service = Legacy({"a": [(1.25, "done", "<page a>")]})
    page = await fetch_within(service, "a", "called on_done('<page a>') at 1.25 s")
    checks.not_coroutine(page, "fetch()'s result")
    checks.equal(page, "<page a>", "fetch() of a page delivered through on_done")
    if abs(float(looptime) - 1.25) > 1e-6:
        pytest.fail(
            f"fetch() returned at {float(looptime):g} s of loop time; on_done was called at "
            "1.25 s, so it should return at 1.25 s. "
            + (
                "Checking again and again with asyncio.sleep() (polling) always answers late; "
                "`await future` wakes up the moment set_result() is called."
                if looptime > 1.25
                else ""
            ),
            pytrace=False,
        )


@pytest.mark.task(2)
async def test_fetch_calls_legacy_fetch_once_with_the_url():
    service = Legacy({"news": [(1, "done", "N")]})
    await fetch_within(service, "news", "called on_done('N') at 1 s")
    checks.equal(service.calls, ["news"], "URLs passed to legacy_fetch", "Call it exactly once.")


@pytest.mark.task(2)
async def test_on_error_makes_fetch_raise_that_exception(looptime):
    error = ConnectionError("host unreachable")
    service = Legacy({"down": [(2, "error", error)]})
    try:
        got = await fetch_within(service, "down", f"called on_error({error!r}) at 2 s")
    except ConnectionError as exc:
        checks.equal(exc, error, "The exception fetch() raised", "Raise the one on_error got.")
        checks.took(looptime, 2, "fetch() of a download that fails at 2 s")
        return
    likely = (
        "on_error must call future.set_exception(error): set_result(error) makes the error "
        "look like a page."
        if got is error
        else "on_error must call future.set_exception(error), so that awaiting the future "
        "raises it."
    )
    pytest.fail(
        f"fetch() returned {got!r} when legacy_fetch reported an error; expected it to raise "
        f"the ConnectionError. {likely}",
        pytrace=False,
    )


@pytest.mark.task(2)
async def test_two_fetches_wait_at_the_same_time(looptime):
    service = Legacy({"a": [(1, "done", "A")], "b": [(2, "done", "B")]})
    pages = await checks.within(
        30,
        asyncio.gather(futures.fetch(service, "a"), futures.fetch(service, "b")),
        "Two fetch() calls were still waiting 30 s after legacy_fetch answered both. Each "
        "call needs its own future, settled by its own callbacks.",
    )
    checks.equal(pages, ["A", "B"], "gather(fetch('a'), fetch('b'))", "Each call: its own page.")
    checks.took(looptime, 2, "Two fetches answered at 1 s and 2 s, run together")


# Task 3: a sloppy legacy API


@pytest.mark.task(3)
async def test_a_second_on_done_is_ignored(looptime):
    service = Legacy({"a": [(1, "done", "first"), (2, "done", "second")]})
    page = await fetch_within(service, "a", "called on_done('first') at 1 s")
    checks.equal(page, "first", "fetch() when on_done is called twice", "The first call counts.")
    checks.took(looptime, 1, "fetch() answered at 1 s")
    await asyncio.sleep(2)
    service.check_callbacks_did_not_raise("legacy_fetch called on_done a second time at 2 s")


@pytest.mark.task(3)
async def test_on_error_after_on_done_is_ignored():
    late = TimeoutError("too late")
    service = Legacy({"a": [(1, "done", "page"), (1.5, "error", late)]})
    page = await fetch_within(service, "a", "called on_done('page') at 1 s")
    checks.equal(page, "page", "fetch() when on_error follows on_done", "The first call counts.")
    await asyncio.sleep(2)
    service.check_callbacks_did_not_raise("legacy_fetch called on_error after on_done")


@pytest.mark.task(3)
async def test_on_done_after_on_error_is_ignored():
    error = ConnectionError("reset")
    service = Legacy({"a": [(1, "error", error), (2, "done", "late page")]})
    with contextlib.suppress(ConnectionError):  # raising it is task 2's business
        await fetch_within(service, "a", f"called on_error({error!r}) at 1 s")
    await asyncio.sleep(2)
    service.check_callbacks_did_not_raise("legacy_fetch called on_done after on_error")


@pytest.mark.task(3)
@pytest.mark.parametrize(
    "second",
    [("done", "second page"), ("error", ConnectionError("late error"))],
    ids=["on_done-twice", "on_error-after-on_done"],
)
async def test_two_callbacks_in_the_same_instant_first_counts(looptime, second):
    kind, value = second
    service = Legacy({"a": [(1, "done", "first page"), (1, kind, value)]})
    situation = (
        f"legacy_fetch called on_done('first page') and then on_{kind}({value!r}), both at 1 s"
    )
    overwritten = (
        "Both callbacks ran before fetch() woke up, and the second replaced the first. Only "
        "the first call counts: ignore every call once the outcome is set (a future does "
        "that for you: `if not future.done():` before settling it)."
    )
    try:
        page = await fetch_within(service, "a", situation)
    except ConnectionError as exc:
        if exc is not value:
            raise
        pytest.fail(f"{situation}; fetch() raised {exc!r}. {overwritten}", pytrace=False)
    checks.equal(
        page,
        "first page",
        f"fetch() when {situation}",
        lambda got: overwritten if got == value else "",
    )
    checks.took(looptime, 1, "fetch() answered at 1 s")
    service.check_callbacks_did_not_raise(situation)


@pytest.mark.task(3)
async def test_an_answer_after_the_caller_cancelled_is_ignored():
    service = Legacy({"slow": [(2, "done", "late page")]})
    task = asyncio.create_task(futures.fetch(service, "slow"))
    await asyncio.sleep(1)
    task.cancel()
    try:
        got = await task
    except asyncio.CancelledError:
        pass
    else:
        pytest.fail(
            f"fetch() was cancelled at 1 s but returned {got!r}. Let the CancelledError "
            "raised at your `await` propagate.",
            pytrace=False,
        )
    await asyncio.sleep(2)
    service.check_callbacks_did_not_raise(
        "fetch() was cancelled at 1 s (which cancels the future it awaits); legacy_fetch "
        "then called on_done at 2 s"
    )


@pytest.mark.task(3)
async def test_an_error_after_a_timeout_is_ignored():
    service = Legacy({"slow": [(3, "error", ConnectionError("gave up"))]})
    try:
        got = await asyncio.wait_for(futures.fetch(service, "slow"), timeout=1)
    except TimeoutError:
        pass
    else:
        pytest.fail(
            f"asyncio.wait_for(fetch(...), timeout=1) returned {got!r} instead of raising "
            "TimeoutError. "
            + (
                "fetch() returned its future instead of awaiting it: `return await future`."
                if isinstance(got, asyncio.Future)
                else "When wait_for gives up it cancels fetch(); fetch() swallowed that "
                "CancelledError and returned. Let the CancelledError raised at your `await` "
                "propagate."
            ),
            pytrace=False,
        )
    await asyncio.sleep(3)
    service.check_callbacks_did_not_raise(
        "asyncio.wait_for(fetch(...), timeout=1) gave up at 1 s (which cancels the future "
        "fetch() awaits); legacy_fetch then called on_error at 3 s"
    )


# Task 4: wait_job, a concurrent.futures.Future awaited


@contextlib.contextmanager
def explained_job_mistakes():
    try:
        yield
    except JobStillRunning as exc:
        pytest.fail(
            f"wait_job() called job.{exc}() while the job was still running. On the event "
            "loop's thread that blocks: the whole loop would freeze until the thread pool "
            "finished (here, forever, since the loop is what finishes it). Turn the job into "
            "an asyncio future and await that: `await asyncio.wrap_future(job)`.",
            pytrace=False,
        )
    except TypeError as exc:
        if "await" not in str(exc):
            raise
        pytest.fail(
            f"wait_job() raised TypeError: {exc}. A concurrent.futures.Future is not "
            "awaitable (it belongs to the threading world); asyncio.wrap_future(job) gives "
            "an asyncio future that follows it.",
            pytrace=False,
        )


@pytest.mark.task(4)
async def test_wait_job_returns_the_job_result(looptime):
    job = Job()
    asyncio.get_running_loop().call_later(1, job.set_result, 42)
    with explained_job_mistakes():
        result = await checks.within(
            30,
            futures.wait_job(job),
            "wait_job() was still waiting 30 s after the job finished at 1 s.",
        )
    checks.not_coroutine(result, "wait_job()'s result")
    checks.equal(result, 42, "wait_job() of a job that returned 42")
    checks.took(looptime, 1, "wait_job() of a job finishing at 1 s")


@pytest.mark.task(4)
async def test_wait_job_raises_the_job_exception():
    job = Job()
    error = ValueError("bad input")
    asyncio.get_running_loop().call_later(0.5, job.set_exception, error)
    with explained_job_mistakes():
        try:
            got = await checks.within(
                30, futures.wait_job(job), "wait_job() never returned after the job failed."
            )
        except ValueError as exc:
            checks.equal(exc, error, "The exception wait_job() raised", "Raise the job's own.")
            return
    pytest.fail(
        f"wait_job() returned {got!r} for a job that raised ValueError; let it propagate.",
        pytrace=False,
    )


@pytest.mark.task(4)
async def test_cancelling_the_waiter_cancels_the_job():
    job = Job()
    task = asyncio.create_task(futures.wait_job(job))
    try:
        await asyncio.sleep(0.5)
        task.cancel()
        with explained_job_mistakes():
            try:
                await task
            except asyncio.CancelledError:
                pass
        checks.equal(
            job.cancelled(),
            True,
            "job.cancelled() after the coroutine waiting for it was cancelled",
            "Nobody will read the job's result any more: cancel it too. asyncio.wrap_future "
            "does that for you (cancelling the asyncio future cancels the job), as long as "
            "the cancellation reaches it: `await asyncio.wrap_future(job)` directly, not "
            "through asyncio.shield() or asyncio.wait(), which leave it running. Otherwise "
            "catch asyncio.CancelledError, call job.cancel() and re-raise.",
        )
    finally:
        if not job.done():
            job.set_result(None)  # frees any thread still blocked on it


@pytest.mark.task(4)
@pytest.mark.looptime(False)
async def test_the_loop_keeps_running_while_a_real_thread_works():
    def slow_hash() -> str:
        time.sleep(0.2)  # in the pool's thread: a blocking call is fine there
        return "c0ffee"

    ticks: list[int] = []

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(0.01)
            ticks.append(1)

    beat = asyncio.create_task(heartbeat())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        try:
            with explained_job_mistakes():
                result = await asyncio.wait_for(futures.wait_job(pool.submit(slow_hash)), 2)
        finally:
            beat.cancel()
    checks.equal(result, "c0ffee", "wait_job() of a real thread-pool job")
    if len(ticks) < 3:
        pytest.fail(
            f"While the 0.2 s job ran, a task ticking every 0.01 s ticked {len(ticks)} "
            "time(s): the event loop was blocked. Do not call job.result() from async code; "
            "await asyncio.wrap_future(job).",
            pytrace=False,
        )
