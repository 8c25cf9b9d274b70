"""Exercise 06 tests. Run them with `pytest exercises/06`."""

import asyncio
import concurrent.futures
import contextlib
import inspect
import threading
import time

import pytest
from hypothesis import example
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import now

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
        # Callbacks due at the same moment are made one after the other, in the plan's order,
        # from one timer (the loop leaves the order of timers due together undefined).
        due: dict[float, list[tuple[str, object]]] = {}
        for seconds, kind, value in self.plan[url]:
            due.setdefault(seconds, []).append((kind, value))
        for seconds, answers in due.items():
            loop.call_later(seconds, self._deliver, seconds, answers, on_done, on_error)

    def _deliver(self, seconds, answers, on_done, on_error) -> None:
        for kind, value in answers:
            callback = on_done if kind == "done" else on_error
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


async def outcome_within(seconds: float, coroutine) -> tuple[str, object]:
    """Run `coroutine` as a task for at most `seconds` of loop time: ("returned", value),
    ("raised", error), ("cancelled", None) or ("waiting", None) (then it is cancelled)."""
    task = asyncio.ensure_future(coroutine)
    await asyncio.wait([task], timeout=seconds)
    if not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=1)
        return "waiting", None
    if task.cancelled():
        return "cancelled", None
    if task.exception() is not None:
        return "raised", task.exception()
    return "returned", task.result()


@contextlib.contextmanager
def loop_calls_counted(loop: asyncio.AbstractEventLoop):
    """Count, while active, the timers scheduled on `loop` (asyncio.sleep makes one each time)
    and the calls of run_in_executor (asyncio.to_thread makes one)."""
    counted: dict[str, int] = {"timers": 0, "executor": 0}
    call_at, run_in_executor = loop.call_at, loop.run_in_executor

    def counting_call_at(when, callback, *args, context=None):
        counted["timers"] += 1
        return call_at(when, callback, *args, context=context)

    def counting_run_in_executor(executor, func, *args):
        counted["executor"] += 1
        return run_in_executor(executor, func, *args)

    loop.call_at = counting_call_at  # type: ignore[method-assign]
    loop.run_in_executor = counting_run_in_executor  # type: ignore[method-assign]
    try:
        yield counted
    finally:
        del loop.call_at, loop.run_in_executor


POLLS = (
    "{what} scheduled {n} timers in the first 10 s it waited: it checks again and again "
    "with asyncio.sleep() (polling). Await the future instead: it wakes you the moment it "
    "is settled, and never answers late."
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
    plain_def(answer, "status")
    return answer


def plain_def(answer: object, name: str) -> None:
    """Fail if `name`() was written as `async def`: it only looks, it never waits."""
    if inspect.iscoroutine(answer):
        answer.close()
        pytest.fail(
            f"{name}() returned a coroutine: it is written as `async def`. It only looks at "
            "the future and never waits, so write it with a plain `def` (a caller that "
            "cannot await must be able to call it).",
            pytrace=False,
        )
    checks.not_coroutine(answer, f"{name}()'s result")


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
    plain_def(answer, "peek")
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
    plain_def(answer, "peek")
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


@pytest.mark.task(1)
@pytest.mark.parametrize("default", [0, "", False])
async def test_peek_returns_a_falsy_default(default):
    answer = futures.peek(new_future("pending"), default)
    plain_def(answer, "peek")
    checks.equal(
        answer,
        default,
        f"peek(pending_future, {default!r})",
        "Return the default you were given, whatever its value: do not replace a falsy "
        "default (`default or None`).",
    )


@pytest.mark.task(1)
async def test_status_of_four_futures_alive_at_once():
    box = [
        new_future("pending"),
        new_future("succeeded", ""),
        failed_future(ValueError("no")),
        new_future("cancelled"),
    ]
    answers = [call_status(future) for future in box]
    answers.append(call_status(box[0]))  # the same future again: the same answer
    checks.equal(
        answers,
        ["pending", "succeeded", "failed", "cancelled", "pending"],
        "status() of a pending, a succeeded (result ''), a failed and a cancelled future, "
        "then of the pending one again",
        "Each answer depends only on the future you are given, asked each time: no answer "
        "may be remembered between calls.",
    )


# Task 2: fetch, a callback API made awaitable


async def fetch_within(service: Legacy, url: str, when: str, limit: float = 30) -> object:
    errors = service.callback_errors
    return await checks.within(
        limit,
        futures.fetch(service, url),
        f"fetch() was still waiting {limit:g} s after it started, and legacy_fetch {when}. "
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
                "Likely: the outcome was checked again and again with asyncio.sleep() "
                "(polling), which always answers late; `await future` wakes up the moment "
                "set_result() is called."
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
        checks.equal(
            service.calls,
            ["down"],
            "URLs passed to legacy_fetch by one fetch() whose download failed",
            lambda got: (
                "A failed download was fetched again: fetch() calls legacy_fetch once and "
                "raises the error on_error gave it, with no retry."
                if isinstance(got, list) and len(got) > 1
                else ""
            ),
        )
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


@pytest.mark.task(2)
async def test_an_empty_page_is_a_page(looptime):
    service = Legacy({"blank": [(1, "done", "")]})
    page = await fetch_within(service, "blank", "called on_done('') at 1 s")
    checks.equal(
        page,
        "",
        "fetch() of a page delivered as on_done('')",
        "An empty page is still a page: decide by whether a callback came, not by the value.",
    )
    checks.took(looptime, 1, "fetch() of an empty page delivered at 1 s")


@pytest.mark.task(2)
async def test_two_fetches_of_the_same_url_each_ask_legacy_fetch(looptime):
    service = Legacy({"a": [(1, "done", "A")]})
    pages = await checks.within(
        30,
        asyncio.gather(futures.fetch(service, "a"), futures.fetch(service, "a")),
        "Two fetch('a') calls were still waiting 30 s after legacy_fetch answered both.",
    )
    checks.equal(pages, ["A", "A"], "gather(fetch('a'), fetch('a'))")
    checks.equal(
        service.calls,
        ["a", "a"],
        "URLs passed to legacy_fetch by two fetch('a') calls",
        lambda got: (
            "The second fetch('a') did not call legacy_fetch: each call is a download of its "
            "own, even for the same url (no cache, no future shared by url)."
            if got == ["a"]
            else ""
        ),
    )
    checks.took(looptime, 1, "Two fetches of a page answered at 1 s, run together")


@pytest.mark.task(2)
@pytest.mark.loop_limit(100_000)
async def test_a_download_that_takes_a_day(looptime):
    service = Legacy({"huge": [(86_400, "done", "<big>")]})
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(futures.fetch(service, "huge"))
    with loop_calls_counted(loop) as counted:
        await asyncio.sleep(10)
    if counted["timers"] > 4:  # the test's own sleep and legacy_fetch's answer make two
        await outcome_within(0, task)
        pytest.fail(POLLS.format(what="fetch()", n=counted["timers"]), pytrace=False)
    how, got = await outcome_within(90_000, task)
    if how == "raised" and isinstance(got, TimeoutError):
        pytest.fail(
            f"fetch() of a download answered after 86,400 s (a day) raised TimeoutError at "
            f"{float(looptime):g} s. A slow download is legal: fetch() waits as long as the "
            "download takes, with no timeout of its own (the caller can add one with "
            "asyncio.timeout or wait_for).",
            pytrace=False,
        )
    if how == "raised":
        raise got  # type: ignore[misc]
    if how != "returned":
        pytest.fail(
            f"fetch() of a download answered after 86,400 s was still waiting at "
            f"{float(looptime):g} s"
            + (
                f"; your callback failed: {service.callback_errors[0]}."
                if service.callback_errors
                else "."
            ),
            pytrace=False,
        )
    checks.equal(got, "<big>", "fetch() of a download answered after 86,400 s")
    checks.took(looptime, 86_400, "fetch() of a download answered after 86,400 s")


def describe_plan(urls: list[str], plan: dict) -> str:
    said = []
    for url in dict.fromkeys(urls):
        seconds, kind, value = plan[url]
        said.append(f"{url!r} answers on_{kind}({value!r}) at {seconds:g} s")
    return f"with urls {urls!r} ({'; '.join(said) or 'no downloads'})"


ANSWER = st.tuples(
    st.sampled_from([0, 1, 2.5, 10_000]),
    st.sampled_from(["done", "error"]),
    st.sampled_from(["", "<p>", "päge ☕"]),
)


@pytest.mark.task(2)
@pytest.mark.loop_limit(10_000_000)
@scenarios.given(
    urls=st.lists(st.sampled_from(["a", "b", "ü"]), max_size=4),
    plan=st.fixed_dictionaries({"a": ANSWER, "b": ANSWER, "ü": ANSWER}),
)
@example(
    urls=["a", "a", "b", "ü"],
    plan={"a": (10_000, "done", ""), "b": (1, "error", "<p>"), "ü": (0, "done", "päge ☕")},
)
async def test_fetches_in_any_scenario(urls, plan):
    loop = asyncio.get_running_loop()
    start = loop.time()
    told = describe_plan(urls, plan)
    scenarios.describe(told)
    errors = {url: ConnectionError(f"{url} failed: {value}") for url, (_, _, value) in plan.items()}
    service = Legacy(
        {
            url: [(seconds, kind, value if kind == "done" else errors[url])]
            for url, (seconds, kind, value) in plan.items()
        }
    )
    longest = max([plan[url][0] for url in urls] + [0])
    got = await checks.within(
        longest + 30,
        asyncio.gather(*(futures.fetch(service, url) for url in urls), return_exceptions=True),
        f"{told}: fetch() was still waiting 30 s after the last answer. The callbacks you "
        "pass must settle the future that fetch() awaits.",
    )
    took = loop.time() - start
    for item in got:
        if isinstance(item, BaseException) and not isinstance(item, ConnectionError | TimeoutError):
            raise item  # not an answer of legacy_fetch: the kit says where it came from
    expected = [plan[url][2] if plan[url][1] == "done" else errors[url] for url in urls]
    shown = [repr(item) for item in got]
    wanted = [repr(item) for item in expected]
    if shown != wanted or any(a is not b for a, b in zip(got, expected, strict=True)):
        pytest.fail(
            f"{told}: fetch() gave {shown}, expected {wanted} (a page, or the very error "
            "on_error got, raised)."
            + (
                " fetch() raised TimeoutError, which no callback gave it: a timeout of your "
                "own? A slow download is legal; wait as long as it takes."
                if any(isinstance(item, TimeoutError) for item in got)
                else " An error came back as a page: on_error must call set_exception(error)."
                if any(isinstance(item, ConnectionError) for item in got)
                and not any(isinstance(item, BaseException) for item in got if item is not None)
                else ""
            ),
            pytrace=False,
        )
    checks.equal(
        sorted(service.calls),
        sorted(urls),
        f"{told}: the urls passed to legacy_fetch",
        "Call legacy_fetch exactly once per fetch() call, even for a url asked twice, and "
        "never again after an error.",
    )
    if abs(took - longest) > 1e-6:
        pytest.fail(
            f"{told}: the fetches, run together, took {took:g} s of loop time; expected "
            f"{longest:g} s, when the last answer came. Likely: polling with asyncio.sleep() "
            "(late), a timeout of your own (early), or fetches waiting for one another.",
            pytrace=False,
        )


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


def task_names(tasks: list[asyncio.Task]) -> str:
    return ", ".join(f"a task running {t.get_coro().__qualname__}()" for t in tasks)


async def cancel_fetch_at_one_second(service: Legacy, url: str, situation: str) -> None:
    """Run fetch(service, url) as a task, cancel it at 1 s, and check that it ended at once,
    cancelled, with nothing it started still running."""
    before = set(asyncio.all_tasks())
    task = asyncio.create_task(futures.fetch(service, url))
    ended: list[float] = []
    task.add_done_callback(lambda _: ended.append(now()))
    await asyncio.sleep(1)
    started = set(asyncio.all_tasks()) - before - {task}
    task.cancel()
    await asyncio.wait([task], timeout=10)
    if not task.done():
        task.cancel()
        pytest.fail(
            "fetch() was cancelled at 1 s and was still running 10 s later. A cancelled "
            "fetch() must end at once: let the CancelledError raised at your `await` "
            "propagate (do not catch it to wait on).",
            pytrace=False,
        )
    if not task.cancelled():
        error = task.exception()
        if error is not None and not isinstance(error, ConnectionError | TimeoutError):
            raise error  # the kit says which function raised it, and where
        if error is not None:
            pytest.fail(
                f"fetch() was cancelled at 1 s and raised {type(error).__name__}: {error} "
                "instead of ending cancelled. Let the CancelledError raised at your `await` "
                "propagate, unchanged.",
                pytrace=False,
            )
        pytest.fail(
            f"fetch() was cancelled at 1 s but returned {task.result()!r} at {ended[0]:g} s. "
            "Let the CancelledError raised at your `await` propagate: a cancelled fetch() "
            "must stay cancelled.",
            pytrace=False,
        )
    if ended != [1.0]:
        pytest.fail(
            f"fetch() was cancelled at 1 s and ended (cancelled) at {ended[0]:g} s; it should "
            "end at once, at 1 s. Likely: it caught the CancelledError and waited for "
            "legacy_fetch's answer before re-raising.",
            pytrace=False,
        )
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    running = [t for t in started if not t.done()]
    if running:
        for leftover in running:
            leftover.cancel()
        pytest.fail(
            f"fetch() ended cancelled at 1 s, but what it started kept running: "
            f"{task_names(running)}. Cancel the tasks fetch() started when it is cancelled "
            "(or start none: `await future` needs no task of its own).",
            pytrace=False,
        )
    await asyncio.sleep(2)
    service.check_callbacks_did_not_raise(situation)


@pytest.mark.task(3)
async def test_an_answer_after_the_caller_cancelled_is_ignored():
    service = Legacy({"slow": [(2, "done", "late page")]})
    await cancel_fetch_at_one_second(
        service,
        "slow",
        "fetch() was cancelled at 1 s (which cancels the future it awaits); legacy_fetch "
        "then called on_done at 2 s",
    )


@pytest.mark.task(3)
async def test_a_page_in_the_same_instant_as_the_cancel_does_not_undo_it():
    racing: dict[str, asyncio.Task] = {}

    class Racing(Legacy):
        def _deliver(self, seconds, answers, on_done, on_error) -> None:
            super()._deliver(seconds, answers, on_done, on_error)
            racing["task"].cancel()  # the caller gives up in the very same instant

    task = asyncio.create_task(futures.fetch(Racing({"u": [(1, "done", "page")]}), "u"))
    racing["task"] = task
    await asyncio.wait([task], timeout=10)
    if not task.done():
        task.cancel()
        pytest.fail(
            "fetch() was cancelled at 1 s and was still running 10 s later: let the "
            "CancelledError raised at your `await` propagate.",
            pytrace=False,
        )
    if not task.cancelled():
        error = task.exception()
        if error is not None:
            raise error  # the kit says which function raised it, and where
        pytest.fail(
            f"legacy_fetch called on_done('page') at 1 s and the caller cancelled fetch() in "
            f"the same instant, before fetch() had run again; fetch() returned "
            f"{task.result()!r} instead of ending cancelled. Once cancel() has been asked "
            "for, the CancelledError raised at your `await` must reach the caller: do not "
            "catch it to look whether the page came after all.",
            pytrace=False,
        )


@pytest.mark.task(1)
def test_awkward_failures_are_failures_too():
    class Abort(BaseException):
        """Not an Exception: `except Exception` does not catch it."""

    loop = asyncio.new_event_loop()
    try:
        for error in (Abort("stop"),):
            future = loop.create_future()
            future.set_exception(error)
            what = f"a future that failed with {type(error).__name__}({str(error)!r})"
            try:
                got = futures.status(future)
            except NotImplementedError:
                raise  # the stub: the kit says what to write
            except BaseException as exc:  # status() must never raise
                pytest.fail(
                    f"status() of {what} raised {type(exc).__name__} instead of returning "
                    "'failed'. Likely: it called future.result() inside an `except` that "
                    "catches only some exceptions; ask future.exception() instead (for a "
                    "done, not cancelled future it returns the exception, whatever its type).",
                    pytrace=False,
                )
            checks.equal(got, "failed", f"status() of {what}")
            try:
                peeked = futures.peek(future, "default")
            except BaseException as exc:  # the very exception is expected
                if exc is not error:
                    raise
            else:
                pytest.fail(
                    f"peek() of {what} returned {peeked!r} instead of raising that exception.",
                    pytrace=False,
                )
            future.exception()  # retrieved: no "exception was never retrieved" log
    finally:
        loop.close()


@pytest.mark.task(3)
async def test_an_error_after_the_caller_cancelled_is_ignored():
    service = Legacy({"slow": [(2.5, "error", ConnectionError("late")), (2.5, "done", "x")]})
    await cancel_fetch_at_one_second(
        service,
        "slow",
        "fetch() was cancelled at 1 s; legacy_fetch then called on_error and on_done at 2.5 s",
    )


@pytest.mark.task(3)
async def test_an_error_after_a_timeout_is_ignored():
    service = Legacy({"slow": [(3, "error", ConnectionError("gave up"))]})
    try:
        got = await asyncio.wait_for(futures.fetch(service, "slow"), timeout=1)
    except TimeoutError:
        pass
    else:
        at = now()
        pytest.fail(
            f"asyncio.wait_for(fetch(...), timeout=1) returned {got!r} at {at:g} s instead of "
            "raising TimeoutError at 1 s. "
            + (
                "fetch() returned its future instead of awaiting it: `return await future`."
                if isinstance(got, asyncio.Future)
                else "At 1 s wait_for cancelled fetch(), and fetch() returned instead of "
                "ending cancelled: it swallowed that CancelledError. Let the CancelledError "
                "raised at your `await` propagate."
                if at == 1.0
                else "fetch() returned before any callback came: it must wait for one."
                if at < 1.0
                else ""
            ),
            pytrace=False,
        )
    await asyncio.sleep(3)
    service.check_callbacks_did_not_raise(
        "asyncio.wait_for(fetch(...), timeout=1) gave up at 1 s (which cancels the future "
        "fetch() awaits); legacy_fetch then called on_error at 3 s"
    )


@pytest.mark.task(3)
@pytest.mark.parametrize("second", [(1, "done", "late page"), (2, "done", "late page")])
async def test_an_empty_first_page_still_counts(looptime, second):
    service = Legacy({"a": [(1, "done", ""), second]})
    situation = (
        f"legacy_fetch called on_done('') at 1 s and then on_done('late page') at {second[0]} s"
    )
    page = await fetch_within(service, "a", situation)
    checks.equal(
        page,
        "",
        f"fetch() when {situation}",
        lambda got: (
            "The empty page came first, so it is the answer: the second call replaced it. "
            "Decide whether an answer already came by the future's state (future.done()), "
            "not by the value (`if not page`, `box.get('page')`)."
            if got == "late page"
            else ""
        ),
    )
    checks.took(looptime, 1, "fetch() answered at 1 s")
    await asyncio.sleep(2)
    service.check_callbacks_did_not_raise(situation)


@pytest.mark.task(3)
async def test_cancelling_one_fetch_leaves_another_alone():
    service = Legacy({"a": [(2, "done", "A")], "b": [(3, "done", "B")]})
    first = asyncio.create_task(futures.fetch(service, "a"))
    second = asyncio.create_task(futures.fetch(service, "b"))
    await asyncio.sleep(1)
    first.cancel()
    await asyncio.wait([first, second], timeout=10)
    for task in (first, second):
        if not task.done():
            task.cancel()
    checks.equal(
        (first.cancelled(), second.result() if second.done() and not second.cancelled() else None),
        (True, "B"),
        "(fetch('a') cancelled?, fetch('b')'s page) when fetch('a') is cancelled at 1 s and "
        "'b' answers at 3 s",
        lambda got: (
            "Cancelling one fetch() stopped the other: each call needs its own future "
            "(a future kept at module level is shared by every call)."
            if isinstance(got, tuple) and got[1] is None
            else "fetch('a') did not end cancelled: a cancelled fetch() must stay cancelled, "
            "let the CancelledError raised at your `await` propagate."
            if isinstance(got, tuple) and got[0] is False
            else ""
        ),
    )
    await asyncio.sleep(2)
    service.check_callbacks_did_not_raise("fetch('a') was cancelled at 1 s; 'a' answered at 2 s")


CALLBACK = st.tuples(
    st.sampled_from([0.5, 1, 10_000]),
    st.sampled_from(["done", "error"]),
    st.sampled_from(["", "first", "päge ☕"]),
)


@pytest.mark.task(3)
@pytest.mark.loop_limit(10_000_000)
@scenarios.given(
    answers=st.lists(CALLBACK, min_size=1, max_size=3),
    cancel_at=st.sampled_from([None, 0.25, 5_000]),
)
@example(answers=[(10_000, "done", "first")], cancel_at=None)
@example(answers=[(1, "done", ""), (1, "done", "first")], cancel_at=None)
@example(answers=[(0.5, "error", "first"), (1, "done", "päge ☕")], cancel_at=None)
@example(answers=[(10_000, "done", "first")], cancel_at=5_000)
async def test_sloppy_callbacks_in_any_scenario(answers, cancel_at):
    loop = asyncio.get_running_loop()
    start = loop.time()
    plan = [
        (seconds, kind, value if kind == "done" else ConnectionError(f"error {i}: {value}"))
        for i, (seconds, kind, value) in enumerate(answers)
    ]
    calls = "; ".join(f"on_{kind}({value!r}) at {seconds:g} s" for seconds, kind, value in plan)
    told = f"when legacy_fetch calls {calls}" + (
        f" and the caller cancels fetch() at {cancel_at:g} s" if cancel_at is not None else ""
    )
    scenarios.describe(told)
    service = Legacy({"u": plan})
    task = asyncio.create_task(futures.fetch(service, "u"))
    ended: list[float] = []
    task.add_done_callback(lambda _: ended.append(round(loop.time() - start, 6)))
    canceller = loop.call_later(cancel_at, task.cancel) if cancel_at is not None else None
    last = max(seconds for seconds, _, _ in plan)
    await asyncio.wait([task], timeout=max(last, cancel_at or 0) + 30)
    if canceller is not None:
        canceller.cancel()
    if not task.done():
        task.cancel()
        pytest.fail(f"{told}: fetch() was still waiting 30 s after that.", pytrace=False)
    error = None if task.cancelled() else task.exception()
    if error is not None and not isinstance(error, ConnectionError | TimeoutError):
        raise error  # the kit says which function raised it, and where
    first = min(range(len(plan)), key=lambda i: plan[i][0])
    if cancel_at is not None and cancel_at < plan[first][0]:
        expected, expected_end = "ends cancelled", cancel_at
    else:
        seconds, kind, value = plan[first]
        expected = f"returns {value!r}" if kind == "done" else f"raises {value!r}"
        expected_end = seconds
    if task.cancelled():
        got = "ends cancelled"
    elif task.exception() is not None:
        got = f"raises {task.exception()!r}"
        if task.exception() is not plan[first][2] and got == expected:
            got += " (another instance)"
    else:
        got = f"returns {task.result()!r}"
    checks.equal(
        service.calls,
        ["u"],
        f"{told}: the urls passed to legacy_fetch",
        "Call legacy_fetch exactly once per fetch(), with no retry after an error.",
    )
    if got != expected:
        returned = None if task.cancelled() or task.exception() else task.result()
        later = [
            f"returns {value!r}" if kind == "done" else f"raises {value!r}"
            for i, (_, kind, value) in enumerate(plan)
            if i != first
        ]
        pytest.fail(
            f"{told}: expected fetch() {expected}, but it {got}. "
            + (
                "No callback gave it a TimeoutError: a timeout of your own? A slow download "
                "is legal; wait as long as it takes."
                if got.startswith("raises TimeoutError")
                else "A cancelled fetch() must stay cancelled: let the CancelledError raised "
                "at your `await` propagate."
                if expected == "ends cancelled"
                else "An error came back as a page: on_error must call set_exception(error)."
                if any(returned is value for _, _, value in plan if isinstance(value, Exception))
                else "A later call replaced the first: only the first call counts, ignore "
                "every call once the outcome is set (`if not future.done():`)."
                if got in later
                else ""
            ),
            pytrace=False,
        )
    if ended != [expected_end]:
        pytest.fail(
            f"{told}: fetch() {got} at {ended[0]:g} s; expected at {expected_end:g} s."
            + (
                " Likely: polling with asyncio.sleep(), which answers late."
                if ended[0] > expected_end
                else ""
            ),
            pytrace=False,
        )
    await asyncio.sleep(last - (loop.time() - start) + 1)
    service.check_callbacks_did_not_raise(told)


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
    checks.not_coroutine(got, "wait_job()'s result")
    pytest.fail(
        f"wait_job() returned {got!r} for a job that raised ValueError; let it propagate.",
        pytrace=False,
    )


@pytest.mark.task(4)
async def test_cancelling_the_waiter_cancels_the_job():
    job = Job()
    task = asyncio.create_task(futures.wait_job(job))
    ended: list[float] = []
    task.add_done_callback(lambda _: ended.append(now()))
    try:
        await asyncio.sleep(0.5)
        if task.done() and not task.cancelled() and task.exception() is None:
            checks.not_coroutine(task.result(), "wait_job()'s result")
            pytest.fail(
                f"wait_job() returned {task.result()!r} at {ended[0]:g} s, while the job was "
                "still running: it must wait for the job's outcome.",
                pytrace=False,
            )
        task.cancel()
        with explained_job_mistakes():
            await asyncio.wait([task], timeout=10)
            if task.done() and not task.cancelled():
                task.result()  # raises what wait_job raised (a JobStillRunning is explained)
        if not task.done():
            pytest.fail(
                "wait_job() was cancelled at 0.5 s and was still running 10 s later: let the "
                "CancelledError propagate (after cancelling the job), do not wait on.",
                pytrace=False,
            )
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
        if not task.cancelled():
            pytest.fail(
                f"wait_job() was cancelled at 0.5 s and returned {task.result()!r} instead of "
                "ending cancelled: after job.cancel(), re-raise the CancelledError (a bare "
                "`raise`), so the caller sees the cancellation.",
                pytrace=False,
            )
        checks.equal(
            ended,
            [0.5],
            "Loop time wait_job() ended (cancelled at 0.5 s)",
            "A cancelled wait_job() ends at once.",
        )
    finally:
        if not job.done():
            job.set_result(None)  # frees any thread still blocked on it


@pytest.mark.task(4)
@pytest.mark.parametrize("value", [None, 0, ""])
async def test_wait_job_returns_a_falsy_result(looptime, value):
    job = Job()
    asyncio.get_running_loop().call_later(1, job.set_result, value)
    with explained_job_mistakes():
        result = await checks.within(
            30,
            futures.wait_job(job),
            f"wait_job() was still waiting 30 s after the job returned {value!r} at 1 s. A "
            "job's result may be None, 0 or '': it is still a result.",
        )
    checks.not_coroutine(result, "wait_job()'s result")
    checks.equal(result, value, f"wait_job() of a job that returned {value!r}")
    checks.took(looptime, 1, "wait_job() of a job finishing at 1 s")


@pytest.mark.task(4)
@pytest.mark.loop_limit(100_000)
async def test_a_job_that_takes_a_day(looptime):
    job = Job()
    loop = asyncio.get_running_loop()
    finish = loop.call_later(86_400, job.set_result, "done at last")
    try:
        task = asyncio.create_task(futures.wait_job(job))
        with loop_calls_counted(loop) as counted:
            for _ in range(5):
                await asyncio.sleep(0)  # wait_job() starts waiting
            threaded = counted["executor"] > 0
            if not threaded:
                await asyncio.sleep(10)
        if counted["timers"] > 3:  # the test's own sleep makes one
            await outcome_within(0, task)
            pytest.fail(POLLS.format(what="wait_job()", n=counted["timers"]), pytrace=False)
        if threaded:
            # A thread waits for the job: virtual time cannot run ahead of a real thread,
            # so here the job finishes now instead of in a day.
            finish.cancel()
            job.set_result("done at last")
            expected_end = 0
        else:
            expected_end = 86_400
        how, got = await outcome_within(90_000, task)
    finally:
        finish.cancel()
        if not job.done():
            job.set_result(None)
    if how == "raised" and isinstance(got, TimeoutError):
        pytest.fail(
            f"wait_job() of a job that takes 86,400 s (a day) raised TimeoutError at "
            f"{float(looptime):g} s. A slow job is legal: wait as long as it takes, with no "
            "timeout of your own.",
            pytrace=False,
        )
    if how == "raised":
        with explained_job_mistakes():
            raise got  # type: ignore[misc]
    if how != "returned":
        pytest.fail(
            f"wait_job() of a job that finished at 86,400 s was {how} at {float(looptime):g} s.",
            pytrace=False,
        )
    checks.not_coroutine(got, "wait_job()'s result")
    checks.equal(got, "done at last", "wait_job() of a job that took 86,400 s")
    checks.took(looptime, expected_end, f"wait_job() of a job finishing at {expected_end:,} s")


@pytest.mark.task(4)
async def test_two_jobs_awaited_at_once_keep_apart(looptime):
    loop = asyncio.get_running_loop()
    slow, quick, dropped = Job(), Job(), Job()
    loop.call_later(2, slow.set_result, "slow")
    loop.call_later(1, quick.set_result, "quick")
    waiting = asyncio.create_task(futures.wait_job(dropped))
    try:
        with explained_job_mistakes():
            await asyncio.sleep(0.5)
            waiting.cancel()  # only the dropped job's waiter is cancelled
            results = await checks.within(
                30,
                asyncio.gather(futures.wait_job(slow), futures.wait_job(quick)),
                "Two wait_job() calls were still waiting 30 s after their jobs finished.",
            )
        await asyncio.wait([waiting], timeout=1)
    finally:
        for job in (slow, quick, dropped):
            if not job.done():
                job.set_result(None)
    for result in results:
        checks.not_coroutine(result, "wait_job()'s result")
    checks.equal(
        (results, slow.cancelled(), quick.cancelled()),
        (["slow", "quick"], False, False),
        "(results of wait_job(slow), wait_job(quick); slow cancelled?, quick cancelled?) "
        "while a third waiter, for another job, was cancelled",
        "Each wait_job() call follows its own job: nothing shared between calls.",
    )
    checks.took(looptime, 2, "Two wait_job() calls for jobs finishing at 2 s and 1 s")


@pytest.mark.task(4)
@pytest.mark.looptime(False)
async def test_the_outcome_crosses_to_the_loops_thread_safely():
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    foreign: list[str] = []
    call_soon = loop.call_soon

    def call_soon_checked(callback, *args, context=None):
        if threading.get_ident() != loop_thread:
            # Not safe from another thread: note it, and hand it over safely so the test ends.
            foreign.append(getattr(callback, "__qualname__", repr(callback)))
            return loop.call_soon_threadsafe(callback, *args, context=context)
        return call_soon(callback, *args, context=context)

    def brew() -> str:
        time.sleep(0.05)  # in the pool's thread: wait_job() is waiting by now
        return "brewed"

    loop.call_soon = call_soon_checked  # type: ignore[method-assign]
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            with explained_job_mistakes():
                how, result = await outcome_within(2, futures.wait_job(pool.submit(brew)))
    finally:
        del loop.call_soon
    if foreign:
        pytest.fail(
            "When the pool's thread finished the job, the event loop was used from that "
            f"thread: loop.call_soon({foreign[0]}) was called there, which only the loop's own "
            "thread may do (future.set_result() does it for you, to wake whoever awaits). "
            "job.add_done_callback(fn) calls fn on the thread that finishes the job. Hand the "
            "outcome over with loop.call_soon_threadsafe(...), or await "
            "asyncio.wrap_future(job), which does that for you.",
            pytrace=False,
        )
    if how == "raised":
        raise result  # type: ignore[misc]
    if how != "returned":
        pytest.fail(
            f"wait_job() of a pool job that finished after 0.05 s was {how} 2 s later.",
            pytrace=False,
        )
    checks.equal(result, "brewed", "wait_job() of a real thread-pool job")


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
            f"While the 0.2 s job ran, a task ticking every 0.01 s ticked "
            f"{checks.count(len(ticks), 'time')}: the event loop was blocked. Do not call "
            "job.result() from async code; "
            "await asyncio.wrap_future(job).",
            pytrace=False,
        )
