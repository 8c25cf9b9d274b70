"""Exercise 01 tests. Run them with `pytest exercises/01`."""

import asyncio
import gc
import inspect
import math
import threading
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.guards import BlockingCallError

coroutines = exercise_module(__file__)


def _lesson(name: str, exc: BaseException) -> str:
    """The classic coroutine mistakes, told in the learner's words ("" if none fits)."""
    text = str(exc)
    if isinstance(exc, RuntimeError) and "loop" in text and "running" in text:
        return (
            f"{name}() tried to start an event loop while one was already running: "
            f"RuntimeError: {text}. asyncio.run() (or loop.run_until_complete()) starts a loop "
            "and belongs only at the very top of a program, in plain non-async code. Inside an "
            "async function the loop is already running: `await` the coroutine instead."
        )
    if isinstance(exc, RuntimeError) and "cannot reuse already awaited coroutine" in text:
        return (
            f"{name}() awaited the same coroutine object twice (RuntimeError: {text}). A "
            "coroutine object runs once; to do the work again, call the function again. "
            "For example, write `await read_sensor()` inside the loop, not "
            "`reading = read_sensor()` before it."
        )
    if isinstance(exc, TypeError) and "can't be used in 'await' expression" in text:
        return (
            f"{name}() raised TypeError: {text}. `await` needs an awaitable, such as the "
            "coroutine object you get by CALLING an async function. If you awaited the "
            "function itself, add the parentheses: `await fetch_name(user_id)`, "
            "`await read_sensor()`."
        )
    if isinstance(exc, TypeError) and "async_generator" in text:
        return (
            f"{name}() raised TypeError: {text}. `(await read_sensor() for ...)` in "
            "parentheses is an async generator, which sum() cannot read. Use a list, "
            "`[await read_sensor() for _ in range(count)]`, or add the readings up in a loop."
        )
    if isinstance(exc, TypeError) and "'coroutine'" in text:
        return (
            f"{name}() raised TypeError: {text}. One of your values is a coroutine object, not "
            "a number: calling an async function only builds the coroutine. `await` the call "
            "to run it and get its result."
        )
    return ""


def require_async(name: str, *args: object) -> None:
    """Fail unless `name` is an `async def`; a plain `def` calling asyncio.run() inside a
    running loop is told about that first, since it is the mistake to unlearn."""
    function = getattr(coroutines, name)
    if inspect.iscoroutinefunction(function):
        return
    try:
        made = function(*args)
    except RuntimeError as exc:
        lesson = "" if isinstance(exc, BlockingCallError) else _lesson(name, exc)
        if lesson:
            pytest.fail(f"{lesson} Write `async def {name}(...)` and await.", pytrace=False)
        made = None
    except Exception:
        made = None
    if inspect.iscoroutine(made):
        made.close()
    checks.is_async(function, name)


async def call(name: str, *args: object) -> object:
    """Await the learner's coroutine function `name`, explaining the classic mistakes."""
    require_async(name, *args)
    try:
        result = await getattr(coroutines, name)(*args)
    except (RuntimeError, TypeError) as exc:
        lesson = _lesson(name, exc)
        if not lesson:
            raise
        pytest.fail(lesson, pytrace=False)
    checks.not_coroutine(result, f"{name}()'s result")
    return result


def off_the_loop(what: str) -> None:
    pytest.fail(
        f"{what} ran in another thread, in an event loop of its own, instead of in the loop "
        "your code was called from (asyncio.to_thread(asyncio.run, ...), run_in_executor or a "
        "thread pool do that). Inside async def, await it in the loop you are in; in "
        "greet_everyone, call asyncio.run() once, on the calling thread.",
        pytrace=False,
    )


class Names:
    """A fake user directory: `await directory.fetch(user_id)` takes `seconds`, gives a name.
    It notes every id asked for, the loop and thread each lookup ran in, and lookups that were
    cancelled; ids in `missing` raise LookupError (once per call, after the wait)."""

    NAMES: ClassVar[dict[int, str]] = {1: "Ada", 2: "Grace", 3: "Alan", 7: "Barbara", 42: "Edsger"}

    def __init__(
        self,
        seconds: float = 1.0,
        names: dict[int, str] | None = None,
        missing: tuple[int, ...] = (),
    ) -> None:
        self.seconds = seconds
        self.names = dict(self.NAMES if names is None else names)
        self.missing = missing
        self.calls: list[int] = []
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.threads: list[int] = []
        self.cancelled: list[int] = []

        self.home = threading.get_ident()  # the thread the test (and the learner) run on

    async def fetch(self, user_id: int) -> str:
        self.calls.append(user_id)
        self.threads.append(threading.get_ident())
        if self.threads[-1] != self.home:
            off_the_loop("fetch_name()")
        loop = asyncio.get_running_loop()
        if not any(seen is loop for seen in self.loops):
            self.loops.append(loop)
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled.append(user_id)
            raise
        if user_id in self.missing:
            raise LookupError(f"no user {user_id}")
        return self.names[user_id]


class Sensor:
    """A fake sensor: each `await sensor.read()` takes `seconds` (1 s, or seconds[i] for the
    i-th reading) and gives the next value. It notes when each reading started and ended (loop
    time), how many ran at once, the loop and thread of each, and readings cancelled; the
    reading number `fails_at` (0-based) raises OSError instead."""

    def __init__(
        self,
        values: list[float],
        seconds: float | list[float] = 1,
        fails_at: int | None = None,
    ) -> None:
        self.values = values
        self.seconds = seconds
        self.fails_at = fails_at
        self.calls = 0
        self.in_flight = 0
        self.most_at_once = 0
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.threads: list[int] = []
        self.cancelled = 0
        self.home = threading.get_ident()

    async def read(self) -> float:
        if threading.get_ident() != self.home:
            off_the_loop("read_sensor()")
        index = self.calls
        value = self.values[index % len(self.values)]
        self.calls += 1
        loop = asyncio.get_running_loop()
        self.loops.append(loop)
        self.threads.append(threading.get_ident())
        self.starts.append(loop.time())
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        seconds = (
            self.seconds[index % len(self.seconds)]
            if isinstance(self.seconds, list)
            else self.seconds
        )
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
        self.ends.append(loop.time())
        if index == self.fails_at:
            raise OSError("sensor unplugged")
        return value


async def cancel_while_waiting(coroutine: Any, after: float) -> str:
    """Run `coroutine` as a task, cancel it `after` seconds in, and wait for it to end.
    Returns "" if it ended cancelled, else what happened instead."""
    task = asyncio.ensure_future(coroutine)
    await asyncio.sleep(after)
    if task.done():
        task.result()  # an error of its own is reported as it is
        return f"it had already finished, returning {task.result()!r}, before the cancel"
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    if not done:
        return "it was still running 5 s after the cancel: the cancellation was swallowed"
    if task.cancelled():
        return ""
    if task.exception() is not None:
        exc = task.exception()
        return f"it raised {type(exc).__name__}: {exc} instead of ending cancelled"
    return (
        f"it returned {task.result()!r} instead of ending cancelled: the CancelledError was "
        "caught and not raised again"
    )


def _executor_threads() -> set[threading.Thread]:
    """Threads of asyncio's default executor (named asyncio_N), alive now."""
    return {t for t in threading.enumerate() if t.name.startswith("asyncio_")}


# Task 1: slow_square


@pytest.mark.task(1)
async def test_slow_square_is_a_coroutine_function():
    checks.is_async(coroutines.slow_square, "slow_square")
    pending = coroutines.slow_square(5, 0)
    checks.equal(
        inspect.iscoroutine(pending),
        True,
        "Calling slow_square(5, 0) should give a coroutine object",
    )
    result = await pending
    checks.not_coroutine(result, "slow_square(5, 0)'s result")
    checks.equal(result, 25, "Awaiting slow_square(5, 0)")


@pytest.mark.task(1)
async def test_slow_square_returns_the_square():
    result = await call("slow_square", 7, 0)
    checks.equal(
        result,
        49,
        "await slow_square(7, 0)",
        lambda got: "" if got is not None else "Did you forget to `return x * x`?",
    )


def _waited_elsewhere(threads_before: set[threading.Thread]) -> bool:
    return bool(_executor_threads() - threads_before)


def _no_loop_wait(threads_before: set[threading.Thread]) -> str:
    if _waited_elsewhere(threads_before):
        return (
            "A worker thread was started during the call (asyncio.to_thread or "
            "run_in_executor): the wait ran there, with time.sleep, which the event loop's "
            "clock never sees. Wait on the loop itself: `await asyncio.sleep(delay)`."
        )
    return (
        "Nothing waited on the loop. Likely: asyncio.sleep(delay) was called without `await` "
        "(that only builds a coroutine object and throws it away): write "
        "`await asyncio.sleep(delay)`."
    )


@pytest.mark.task(1)
async def test_slow_square_waits_exactly_delay(looptime):
    threads_before = _executor_threads()
    result = await call("slow_square", 4, 2.5)
    checks.equal(result, 16, "await slow_square(4, 2.5)")
    checks.took(looptime, 2.5, "slow_square(4, 2.5)", {0: _no_loop_wait(threads_before)})
    started = float(looptime)
    await call("slow_square", 2, 0.37)
    checks.took(
        float(looptime) - started,
        0.37,
        "slow_square(2, 0.37)",
        {
            wait: "That is the first multiple of a polling step past 0.37 s: the code looked "
            "at the clock again and again. Wait once: `await asyncio.sleep(delay)`."
            for wait in (0.4, 0.5, 1.0)
        },
    )


@pytest.mark.task(1)
async def test_slow_square_with_no_delay_returns_at_once(looptime):
    result = await call("slow_square", 3, 0)
    checks.equal(result, 9, "await slow_square(3, 0)")
    checks.took(looptime, 0, "slow_square(3, 0)")


@pytest.mark.task(1)
@pytest.mark.loop_limit(100_000)
async def test_slow_square_waits_a_whole_day(looptime):
    threads_before = _executor_threads()
    result = await call("slow_square", 6, 86_400)
    checks.equal(result, 36, "await slow_square(6, 86_400)")
    checks.took(
        looptime,
        86_400,
        "slow_square(6, 86_400), a wait of one whole day",
        {0: _no_loop_wait(threads_before)}
        | {
            cap: f"The wait stopped after {cap:g} s: is there a cap or a timeout "
            "(wait_for, asyncio.timeout, min(delay, ...)) on it? Wait for the whole `delay`, "
            "however long."
            for cap in (1, 3, 5, 10, 30, 60, 300, 600, 3600)
        },
    )


def _wrong_square(x: int) -> Callable[[object], str]:
    def likely(got: object) -> str:
        if isinstance(got, float) and not isinstance(got, bool):
            return (
                f"That is a float ({got!r}), not an int: math.pow() and `** 2.0` give floats "
                f"(and lose digits of big numbers). `x * x` of an int is an int."
            )
        if isinstance(got, int) and got != x * x and math.isclose(got, x * x, rel_tol=1e-12):
            return (
                "Close, but the last digits are wrong: that is what going through a float "
                "gives (x ** 2.0, math.pow(), int(...) of a float) for a big x. `x * x` of an "
                "int is exact."
            )
        if got == abs(x) or got == x:
            return "That is x itself: return x * x."
        if got == 2 * x:
            return "That is x * 2: return x * x."
        return ""

    return likely


@pytest.mark.task(1)
async def test_slow_square_of_zero_negative_and_huge_numbers(looptime):
    threads_before = _executor_threads()
    for x, delay in [(0, 1), (-4, 0), (10**15 + 7, 0)]:
        result = await call("slow_square", x, delay)
        checks.equal(result, x * x, f"await slow_square({x}, {delay})", _wrong_square(x))
        if not isinstance(result, int):
            pytest.fail(
                f"slow_square({x}, {delay}) returned a {type(result).__name__} ({result!r}); "
                "expected an int. Return `x * x`.",
                pytrace=False,
            )
    checks.took(
        looptime,
        1,
        "slow_square(0, 1), slow_square(-4, 0), slow_square(10**15 + 7, 0)",
        {0: _no_loop_wait(threads_before)},
    )


@pytest.mark.task(1)
async def test_slow_square_gives_an_int():
    result = await call("slow_square", 7, 0)
    if type(result) is not int:
        pytest.fail(
            f"slow_square(7, 0) returned {result!r}, a {type(result).__name__}; expected the "
            f"int 49. {_wrong_square(7)(result)}",
            pytrace=False,
        )


@pytest.mark.task(1)
async def test_the_same_square_twice_waits_twice(looptime):
    threads_before = _executor_threads()
    first = await call("slow_square", 3, 1)
    second = await call("slow_square", 3, 1)
    checks.equal((first, second), (9, 9), "slow_square(3, 1) awaited twice")
    checks.took(
        looptime,
        2,
        "slow_square(3, 1) awaited twice, one after the other",
        {
            0: _no_loop_wait(threads_before),
            1: "The second call returned at once: is the square remembered from the first "
            "call (a cache)? Each call must wait its own `delay` again.",
        },
    )


@pytest.mark.task(1)
async def test_squares_at_once_keep_their_own_numbers(looptime):
    require_async("slow_square", 0, 0)
    results = await asyncio.gather(
        coroutines.slow_square(2, 3), coroutines.slow_square(5, 1), coroutines.slow_square(2, 3)
    )
    checks.equal(
        results,
        [4, 25, 4],
        "gather(slow_square(2, 3), slow_square(5, 1), slow_square(2, 3))",
        "Each call must work only with its own x: keep nothing in a global or module-level "
        "variable that another call could change meanwhile.",
    )
    checks.took(looptime, 3, "Three slow_square() calls of 3, 1 and 3 s run together")


@pytest.mark.task(1)
async def test_cancelling_slow_square_stops_it(looptime):
    require_async("slow_square", 0, 0)
    wrong = await cancel_while_waiting(coroutines.slow_square(8, 10), after=2)
    if wrong:
        pytest.fail(
            f"slow_square(8, 10) was cancelled 2 s into its wait, but {wrong}. A cancelled "
            "coroutine must stop: let the CancelledError from `await asyncio.sleep(delay)` "
            "go up (do not catch it, or raise it again).",
            pytrace=False,
        )
    checks.took(looptime, 2, "slow_square(8, 10) cancelled after 2 s")


# Task 2: greet_user


def _holds_coroutine(got: object) -> str:
    if "<coroutine object" in str(got) or "<Task" in str(got):
        return (
            "The greeting holds a coroutine object (or a task) instead of the name: "
            "fetch_name(user_id) only builds a coroutine. `name = await fetch_name(user_id)` "
            "runs it and gives the name."
        )
    return 'Return exactly "Hello, <name>!" with the name that fetch_name(user_id) gave.'


def _greeting_mistake(name: str) -> Callable[[object], str]:
    def likely(got: object) -> str:
        if not isinstance(got, str):
            return (
                f"greet_user() returned a {type(got).__name__}, expected a str: return the "
                "greeting text itself."
            )
        if "<coroutine object" in got or "<Task" in got:
            return _holds_coroutine(got)
        if name and got.lower() == f"Hello, {name}!".lower():
            return "The name's letters were changed: put the name in exactly as fetch_name gave it."
        if got == f"Hello, {name.strip()}!" or got.strip() == f"Hello, {name}!".strip():
            return (
                "Spaces were stripped: put the name in exactly as fetch_name gave it, "
                "without tidying it."
            )
        if not name:
            return (
                'The name was the empty string "", which is still the name fetch_name gave: '
                "use it as it is (no `name or ...` default, no `if name:`)."
            )
        return 'Return exactly "Hello, <name>!" with the name that fetch_name(user_id) gave.'

    return likely


@pytest.mark.task(2)
async def test_greeting_uses_the_fetched_name():
    directory = Names()
    result = await call("greet_user", directory.fetch, 1)
    checks.equal(result, "Hello, Ada!", "await greet_user(fetch_name, 1)", _greeting_mistake("Ada"))
    if type(result) is not str:
        pytest.fail(
            f"greet_user() returned a {type(result).__name__}, expected a str.", pytrace=False
        )


@pytest.mark.task(2)
async def test_greeting_asks_for_the_right_user():
    directory = Names()
    result = await call("greet_user", directory.fetch, 7)
    checks.equal(
        directory.calls,
        [7],
        "User ids passed to fetch_name() by greet_user(fetch_name, 7)",
        "Call fetch_name(user_id) once, with the user_id you were given.",
    )
    checks.equal(
        result, "Hello, Barbara!", "await greet_user(fetch_name, 7)", _greeting_mistake("Barbara")
    )


@pytest.mark.task(2)
async def test_name_is_fetched_once_and_awaited(looptime):
    directory = Names(seconds=1)
    await call("greet_user", directory.fetch, 42)
    checks.equal(
        len(directory.calls),
        1,
        "Number of calls to fetch_name() for one greeting",
        lambda got: (
            f"fetch_name() was called {got} times: call it once and keep the name in a variable."
            if got
            else "No lookup ever ran: the body of an async function runs only when its "
            "coroutine is awaited. Likely: `fetch_name(user_id)` without `await`."
        ),
    )
    checks.took(
        looptime,
        1,
        "greet_user() with a 1 s name lookup",
        {
            0: "fetch_name() was called, but its 1 s wait never happened. Likely: the "
            "lookup was not awaited (a coroutine that is not awaited does nothing). Write "
            "`await fetch_name(user_id)`."
        },
    )


@pytest.mark.task(2)
async def test_user_zero_with_an_empty_name():
    directory = Names(seconds=0, names={0: ""})
    result = await call("greet_user", directory.fetch, 0)
    checks.equal(
        directory.calls,
        [0],
        "User ids passed to fetch_name() by greet_user(fetch_name, 0)",
        "0 is a user id like any other: look it up (no `if not user_id:` check).",
    )
    checks.equal(
        result, "Hello, !", 'greet_user() for user 0, whose name is ""', _greeting_mistake("")
    )


@pytest.mark.task(2)
async def test_names_are_used_exactly_as_given():
    earlier: list[str] = []
    for name in ["Zoë Ñúñez-李", "  de la Cruz ", "{0} %s o'Brien"]:
        directory = Names(seconds=0, names={5: name})
        result = await call("greet_user", directory.fetch, 5)
        if result != f"Hello, {name}!" and result in [f"Hello, {e}!" for e in earlier]:
            pytest.fail(
                f"greet_user() for user 5, now named {name!r}, returned {result!r}: the name "
                f"user 5 had in an earlier call (fetch_name was called "
                f"{checks.count(len(directory.calls), 'time')} this time). Nothing may be "
                "remembered between calls: look the name "
                "up afresh every time.",
                pytrace=False,
            )
        checks.equal(
            result,
            f"Hello, {name}!",
            f"greet_user() for a user named {name!r}",
            _greeting_mistake(name),
        )
        earlier.append(name)


@pytest.mark.task(2)
@pytest.mark.loop_limit(100_000)
async def test_a_very_slow_lookup_is_waited_for(looptime):
    directory = Names(seconds=10_000)
    try:
        result = await call("greet_user", directory.fetch, 3)
    except TimeoutError:
        pytest.fail(
            f"greet_user() gave up with TimeoutError after {float(looptime):g} s, but the lookup "
            "takes 10,000 s and was allowed to: there is a timeout (asyncio.wait_for, "
            "asyncio.timeout) around it. Await fetch_name(user_id) for as long as it takes.",
            pytrace=False,
        )
    checks.equal(
        result, "Hello, Alan!", "greet_user() with a 10,000 s lookup", _greeting_mistake("Alan")
    )
    checks.took(looptime, 10_000, "greet_user() with a 10,000 s name lookup")


@pytest.mark.task(2)
async def test_a_failed_lookup_reaches_the_caller(looptime):
    directory = Names(seconds=1, missing=(9,))
    try:
        result = await call("greet_user", directory.fetch, 9)
    except LookupError as exc:
        checks.equal(str(exc), "no user 9", "The error greet_user() raised")
    else:
        pytest.fail(
            f"fetch_name(9) raised LookupError('no user 9'), but greet_user() returned "
            f"{result!r} (fetch_name was called {checks.count(len(directory.calls), 'time')}). "
            "Let the "
            "error reach your caller: do not catch it or make up a greeting.",
            pytrace=False,
        )
    checks.equal(
        directory.calls,
        [9],
        "User ids passed to fetch_name() when the lookup fails",
        "A failed lookup is not retried: call fetch_name(user_id) once and let its error go up.",
    )
    checks.took(looptime, 1, "greet_user() whose 1 s lookup fails")


@pytest.mark.task(2)
async def test_the_same_user_greeted_twice_is_looked_up_twice():
    directory = Names(seconds=1, names={7: "Barbara"})
    first = await call("greet_user", directory.fetch, 7)
    directory.names[7] = "Babs"  # the user renamed themselves meanwhile
    second = await call("greet_user", directory.fetch, 7)
    checks.equal(
        directory.calls,
        [7, 7],
        "User ids passed to fetch_name() by two greet_user(fetch_name, 7) calls",
        lambda got: (
            "The second greeting did not look the name up again: is the name remembered "
            "from the first call (a cache, a global)? Each call looks its user up afresh."
            if got == [7]
            else ""
        ),
    )
    checks.equal(
        (first, second),
        ("Hello, Barbara!", "Hello, Babs!"),
        "Two greetings of user 7, renamed from Barbara to Babs in between",
    )


@pytest.mark.task(2)
async def test_greetings_at_once_keep_their_own_names(looptime):
    require_async("greet_user", Names(seconds=0).fetch, 1)
    slow, quick = Names(seconds=3), Names(seconds=1)
    results = await asyncio.gather(
        coroutines.greet_user(slow.fetch, 1), coroutines.greet_user(quick.fetch, 2)
    )
    checks.equal(
        results,
        ["Hello, Ada!", "Hello, Grace!"],
        "Two greet_user() calls at once (user 1, 3 s lookup; user 2, 1 s lookup)",
        "Each call must use only its own lookup's name: keep it in a local variable, not in "
        "a global another call can change meanwhile.",
    )
    checks.took(looptime, 3, "Two greetings at once with 3 s and 1 s lookups")


@pytest.mark.task(2)
async def test_the_lookup_runs_in_the_callers_loop():
    directory = Names(seconds=0)
    await call("greet_user", directory.fetch, 2)
    here, loop = threading.get_ident(), asyncio.get_running_loop()
    if directory.threads and any(t != here for t in directory.threads):
        pytest.fail(
            "fetch_name() ran in another thread, in an event loop of its own, not in the loop "
            "that awaited greet_user() (asyncio.to_thread(asyncio.run, ...) or "
            "run_in_executor does that). The loop is already running here: simply "
            "`await fetch_name(user_id)`.",
            pytrace=False,
        )
    if directory.loops and any(seen is not loop for seen in directory.loops):
        pytest.fail(
            "fetch_name() ran in a second event loop, not in the one that awaited "
            "greet_user(). Inside async def, `await fetch_name(user_id)`; never start "
            "another loop.",
            pytrace=False,
        )


@pytest.mark.task(2)
async def test_cancelling_greet_user_cancels_the_lookup(looptime):
    require_async("greet_user", Names(seconds=0).fetch, 1)
    directory = Names(seconds=10)
    wrong = await cancel_while_waiting(coroutines.greet_user(directory.fetch, 3), after=2)
    if wrong:
        pytest.fail(
            f"greet_user() was cancelled 2 s into its 10 s lookup, but {wrong}. Let the "
            "CancelledError go up to your caller.",
            pytrace=False,
        )
    if directory.calls and directory.cancelled != directory.calls:
        pytest.fail(
            "greet_user() was cancelled while it waited for fetch_name(), but the lookup was "
            "not cancelled with it and kept running. Await the lookup directly (or cancel "
            "what you started) so that cancelling greet_user() cancels the lookup too.",
            pytrace=False,
        )
    checks.took(looptime, 2, "greet_user() cancelled 2 s into its lookup")


# Task 3: average_reading


@pytest.mark.task(3)
async def test_average_of_three_readings():
    sensor = Sensor([10.0, 20.0, 33.0])
    result = await call("average_reading", sensor.read, 3)
    checks.equal(
        result,
        21.0,
        "Mean of readings 10, 20 and 33",
        lambda got: (
            f"read_sensor() was called {checks.count(sensor.calls, 'time')} for 3 readings: each "
            "reading "
            "needs its own call, `await read_sensor()`, three times."
            if sensor.calls != 3
            else "Add up the three readings and divide by count."
        ),
    )


@pytest.mark.task(3)
async def test_each_reading_is_a_new_call():
    sensor = Sensor([1.0, 2.0, 3.0, 4.0, 5.0])
    result = await call("average_reading", sensor.read, 4)
    checks.equal(
        sensor.calls,
        4,
        "Calls to read_sensor() for count=4",
        "Call read_sensor() once per reading: each call builds a fresh coroutine that takes "
        "one new reading.",
    )
    checks.equal(result, 2.5, "Mean of readings 1, 2, 3 and 4")


@pytest.mark.task(3)
async def test_readings_are_taken_one_after_another(looptime):
    sensor = Sensor([5.0, 7.0, 9.0])
    await call("average_reading", sensor.read, 3)
    if sensor.most_at_once > 1:
        pytest.fail(
            f"The sensor was asked for {sensor.most_at_once} readings at the same time, but "
            "it takes one reading at a time. Await each reading before starting the next.",
            pytrace=False,
        )
    checks.took(
        looptime,
        3,
        "Three 1 s readings taken one after another",
        {
            0: "No reading waited: is a read_sensor() call left without `await`?",
            1: "That is a single reading: each of the three needs its own `await read_sensor()`.",
        },
    )


def _mean_mistake(readings: list[float], calls: Callable[[], int]) -> Callable[[object], str]:
    """Explain a wrong mean by the readings it matches (only what the value shows)."""
    count = len(readings)
    mean = sum(readings) / count

    def likely(got: object) -> str:
        made = calls()
        if made != count:
            return (
                f"read_sensor() was called {checks.count(made, 'time')} for {count} readings: "
                "each reading "
                "needs its own call, `await read_sensor()`."
            )
        if not isinstance(got, int | float) or isinstance(got, bool):
            return f"Return the mean as a number (a float), not a {type(got).__name__}."
        distinct = list(dict.fromkeys(readings))
        if len(distinct) < count and math.isclose(got, sum(distinct) / len(distinct)):
            return (
                "That is the mean of the distinct readings: a value read twice must count "
                "twice. Keep the readings in a list (or a running total), not a set or dict."
            )
        nonzero = [r for r in readings if r]
        if nonzero and len(nonzero) < count:
            if math.isclose(got, sum(nonzero) / len(nonzero)) or math.isclose(
                got, sum(nonzero) / count
            ):
                return (
                    "That leaves out the readings of 0.0: a reading of 0 is a real reading "
                    "(no `if reading:` check, no `reading or ...`)."
                )
        total = sum(readings)
        if count > 1 and math.isclose(got, total):
            return "That is the sum of the readings: divide it by count."
        if got == total // count:
            return "That is the mean rounded down: divide with / (not //) and do not round."
        for places in range(4):
            if got == round(mean, places) and not math.isclose(got, mean):
                return (
                    f"That is the mean rounded to {checks.count(places, 'decimal place')}: return "
                    "the mean "
                    "itself, unrounded."
                )
        return (
            "Add up this call's readings and divide by count, with / (not //). Likely: a "
            "reading left out or counted twice, or a total kept from an earlier call."
        )

    return likely


def check_mean(result: object, readings: list[float], what: str, sensor: "Sensor") -> None:
    """Fail unless `result` is the mean of `readings` (to float accuracy), as a float."""
    mean = sum(readings) / len(readings)
    checks.not_coroutine(result, what)
    if (
        isinstance(result, int | float)
        and not isinstance(result, bool)
        and math.isclose(result, mean, rel_tol=1e-9, abs_tol=1e-12)
    ):
        if not isinstance(result, float):
            pytest.fail(
                f"{what}: expected the float {mean!r}, got the {type(result).__name__} "
                f"{result!r}. Return sum / count with `/`, which is a float.",
                pytrace=False,
            )
        return
    checks.equal(result, mean, what, _mean_mistake(readings, lambda: sensor.calls))


@pytest.mark.task(3)
async def test_the_mean_is_not_rounded():
    sensor = Sensor([1.0, 2.0, 2.0])
    result = await call("average_reading", sensor.read, 3)
    check_mean(result, [1.0, 2.0, 2.0], "Mean of readings 1, 2 and 2", sensor)


@pytest.mark.task(3)
async def test_a_single_reading_is_its_own_average(looptime):
    sensor = Sensor([4.5])
    result = await call("average_reading", sensor.read, 1)
    checks.equal(result, 4.5, "average_reading(read_sensor, 1) of the reading 4.5")
    checks.equal(sensor.calls, 1, "Calls to read_sensor() for count=1")
    checks.took(looptime, 1, "One 1 s reading")


@pytest.mark.task(3)
async def test_equal_readings_each_count():
    sensor = Sensor([4.0, 4.0, 1.0])
    result = await call("average_reading", sensor.read, 3)
    check_mean(result, [4.0, 4.0, 1.0], "Mean of readings 4, 4 and 1", sensor)


@pytest.mark.task(3)
async def test_readings_of_zero_count_too():
    sensor = Sensor([0.0, 0.0, 3.0])
    result = await call("average_reading", sensor.read, 3)
    check_mean(result, [0.0, 0.0, 3.0], "Mean of readings 0, 0 and 3", sensor)
    sensor = Sensor([0.0, 0.0])
    result = await call("average_reading", sensor.read, 2)
    check_mean(result, [0.0, 0.0], "Mean of readings 0 and 0", sensor)


@pytest.mark.task(3)
async def test_a_failed_reading_stops_the_average(looptime):
    sensor = Sensor([5.0, 6.0, 7.0], fails_at=1)
    try:
        result = await call("average_reading", sensor.read, 3)
    except OSError as exc:
        checks.equal(str(exc), "sensor unplugged", "The error average_reading() raised")
    else:
        pytest.fail(
            f"The second reading raised OSError('sensor unplugged'), but average_reading() "
            f"returned {result!r} after {checks.count(sensor.calls, 'call')} of read_sensor(). "
            "Let the "
            "error reach your caller: do not catch it, skip the reading or retry it.",
            pytrace=False,
        )
    checks.equal(
        sensor.calls,
        2,
        "Calls to read_sensor() when the second of 3 readings fails",
        lambda got: (
            "A failed reading is not retried and nothing is read after it: let its error go up."
            if isinstance(got, int) and got > 2
            else ""
        ),
    )
    checks.took(looptime, 2, "Two 1 s readings, the second failing")


@pytest.mark.task(3)
@pytest.mark.loop_limit(100_000)
async def test_very_slow_readings_are_waited_for(looptime):
    sensor = Sensor([1.5, 2.5, 3.5], seconds=10_000)
    try:
        result = await call("average_reading", sensor.read, 3)
    except TimeoutError:
        pytest.fail(
            f"average_reading() gave up with TimeoutError after {float(looptime):g} s, but each "
            "reading takes 10,000 s and is allowed to: there is a timeout (asyncio.wait_for, "
            "asyncio.timeout) around a reading. Await each reading for as long as it takes.",
            pytrace=False,
        )
    check_mean(result, [1.5, 2.5, 3.5], "Mean of three 10,000 s readings 1.5, 2.5, 3.5", sensor)
    checks.took(looptime, 30_000, "Three 10,000 s readings, one after another")


@pytest.mark.task(3)
async def test_two_averages_keep_their_own_readings(looptime):
    first = Sensor([2.0, 4.0])
    result = await call("average_reading", first.read, 2)
    check_mean(result, [2.0, 4.0], "First call: mean of readings 2 and 4", first)
    second = Sensor([10.0])
    result = await call("average_reading", second.read, 1)
    carried = {16.0: "2 + 4 + 10, divided by 1", 16.0 / 3: "(2 + 4 + 10) / 3"}
    for value, sum_shown in carried.items():
        if isinstance(result, int | float) and math.isclose(result, value):
            pytest.fail(
                f"The second call, of the one reading 10, returned {result!r}: that is "
                f"{sum_shown}, with the first call's readings 2 and 4 counted in. They "
                "outlived the first call: keep the readings (or the total) in a local "
                "variable inside average_reading, not a global or module-level one.",
                pytrace=False,
            )

    check_mean(
        result, [10.0], "Second call: mean of the one reading 10 (after a first call)", second
    )
    require_async("average_reading", second.read, 1)
    a, b = Sensor([1.0, 2.0, 3.0]), Sensor([-8.0, 8.0, 30.0])
    results = await asyncio.gather(
        coroutines.average_reading(a.read, 3), coroutines.average_reading(b.read, 3)
    )
    checks.equal(
        [round(r, 9) if isinstance(r, float) else r for r in results],
        [2.0, 10.0],
        "Two average_reading() calls at once, of readings 1, 2, 3 and of -8, 8, 30",
        "Each call must add up only its own readings: keep the total in a local variable, "
        "not a global or module-level one that another call also changes.",
    )


@pytest.mark.task(3)
async def test_cancelling_average_reading_stops_the_readings(looptime):
    require_async("average_reading", Sensor([1.0]).read, 1)
    sensor = Sensor([1.0, 2.0, 3.0], seconds=10)
    wrong = await cancel_while_waiting(coroutines.average_reading(sensor.read, 3), 15)
    if wrong:
        pytest.fail(
            f"average_reading(read_sensor, 3) was cancelled during its second 10 s reading, "
            f"but {wrong}. Let the CancelledError go up: do not catch it to average the "
            "readings taken so far.",
            pytrace=False,
        )
    await asyncio.sleep(30)  # nothing may go on reading after the cancel
    checks.equal(
        sensor.calls,
        2,
        "Readings started by average_reading(read_sensor, 3), cancelled during the second",
        "After the cancel, no further reading may start.",
    )
    checks.equal(
        sensor.cancelled,
        1,
        "Readings cancelled along with average_reading()",
        "The reading in progress must be cancelled with it: await it directly.",
    )


READINGS = st.lists(
    st.tuples(st.sampled_from([0.0, 4.0, -2.5, 0.001, 7.25]), st.sampled_from([0, 1, 10_000])),
    min_size=1,
    max_size=5,
)


@pytest.mark.task(3)
@pytest.mark.loop_limit(100_000)
@scenarios.given(jobs=READINGS)
async def test_average_reading_in_any_scenario(jobs):
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    readings = [value for value, _ in jobs]
    delays = [delay for _, delay in jobs]
    said = f"with readings {readings!r} taking {delays!r} s"
    scenarios.describe(said)
    sensor = Sensor(readings, seconds=delays)
    result = await call("average_reading", sensor.read, len(readings))
    took = loop.time() - t0
    check_mean(result, readings, f"average_reading() {said}", sensor)
    if sensor.most_at_once > 1:
        pytest.fail(
            f"{said}: the sensor was asked for {sensor.most_at_once} readings at the same "
            "time, but it takes one at a time. Await each reading before starting the next.",
            pytrace=False,
        )
    if any(seen is not loop for seen in sensor.loops):
        pytest.fail(
            f"{said}: a reading ran in another event loop (another thread's?), not in the one "
            "that awaited average_reading(): `await read_sensor()` directly.",
            pytrace=False,
        )
    expected_starts = [sum(delays[:i]) for i in range(len(delays))]
    starts = [round(at - t0, 6) for at in sensor.starts]
    checks.equal(
        starts,
        expected_starts,
        f"{said}: loop times at which the readings started",
        "Start each reading as soon as the one before has finished, and no later.",
    )
    checks.took(took, sum(delays), f"average_reading() {said}")


# Task 4: greet_everyone (plain, synchronous tests: no event loop is running here)


def _current_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop the test runner set as current for this thread, if any."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            return None


def _learner_line(exc: BaseException) -> str:
    """ ", at <file>, line N: `<code>`" for the learner's last line in exc's traceback."""
    learner = str(coroutines.path.resolve())
    mine = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if str(Path(frame.filename).resolve()) == learner
    ]
    if not mine:
        return ""
    return f", at {Path(learner).name}, line {mine[-1].lineno}: `{mine[-1].line}`"


def run_entry_point(directory: Names, user_ids: list[int], collect: bool = True) -> object:
    """Call the learner's synchronous entry point the way ordinary code would: with no event
    loop running and none set as current, as at the top of a fresh program. Checks that it
    left no loop open, returned a list of finished greetings, looked every name up on this
    thread and left `user_ids` unchanged."""
    previous = _current_loop()
    asyncio.set_event_loop(None)
    given = list(user_ids)
    try:
        result = _run_entry_point(directory, user_ids, collect)
    finally:
        asyncio.set_event_loop(previous)
    if user_ids != given:
        pytest.fail(
            f"greet_everyone(fetch_name, {given!r}) changed the caller's list of user ids: "
            f"afterwards it held {user_ids!r}. Read user_ids without removing or adding "
            "anything (no pop(), remove() or sort() on it).",
            pytrace=False,
        )
    here = threading.get_ident()
    if any(thread != here for thread in directory.threads):
        off_the_loop("fetch_name()")
    if not isinstance(result, list):
        pytest.fail(
            f"greet_everyone() returned a {type(result).__name__} ({result!r}); expected a "
            "list of greetings. Return a list (gather() gives one; wrap anything else in "
            "list(...)).",
            pytrace=False,
        )
    return result


def _run_entry_point(directory: Names, user_ids: list[int], collect: bool) -> object:
    function = coroutines.greet_everyone
    if inspect.iscoroutinefunction(function):
        pytest.fail(
            "greet_everyone must be a plain `def`, not `async def`: it is called from ordinary "
            "code with no event loop running, where nobody can await it. Keep the async work "
            "in an async helper and run that with asyncio.run() inside greet_everyone.",
            pytrace=False,
        )
    try:
        with warnings.catch_warnings(record=True) as dropped:
            warnings.simplefilter("always", ResourceWarning)
            result = function(directory.fetch, user_ids)
            if collect:
                gc.collect()  # a loop nobody closed warns when it is thrown away
    except RuntimeError as exc:
        if "no current event loop" in str(exc):
            pytest.fail(
                f"greet_everyone() needed an event loop before any was started "
                f"(RuntimeError: {exc}){_learner_line(exc)}. In plain code no loop exists "
                "until asyncio.run() starts one, so asyncio.get_event_loop(), gather() and "
                "create_task() have none to use there. Give asyncio.run() one coroutine "
                "object, an async helper that does the rest inside the loop: "
                "`asyncio.run(greet_all(fetch_name, user_ids))`. It creates the loop, runs the "
                "helper to the end and closes the loop again.",
                pytrace=False,
            )
        lesson = _lesson("greet_everyone", exc)
        if not lesson:
            raise
        pytest.fail(
            f"{lesson} Somewhere inside the loop that greet_everyone() started, your code "
            "called asyncio.run() again.",
            pytrace=False,
        )
    except ValueError as exc:
        if "coroutine was expected" not in str(exc):
            raise
        pytest.fail(
            f"asyncio.run() refused its argument (ValueError: {exc}). It takes one coroutine "
            "object: the result of calling an async function, such as "
            "`asyncio.run(greet_all(fetch_name, user_ids))`. Not the function itself, and not "
            "a gather() or a task.",
            pytrace=False,
        )
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()
        pytest.fail(
            "greet_everyone() returned a coroutine object instead of the greetings: nothing "
            "in it ran. A plain function cannot await; hand the coroutine to asyncio.run(), "
            "which runs it to the end and returns its result.",
            pytrace=False,
        )
    still_open = [loop for loop in directory.loops if not loop.is_closed()]
    for loop in still_open:
        loop.close()
    if still_open or any("unclosed event loop" in str(w.message) for w in dropped):
        pytest.fail(
            "greet_everyone() returned but left its event loop open. asyncio.run() creates "
            "the loop, runs your coroutine and closes the loop for you; a loop you create by "
            "hand (asyncio.new_event_loop(), asyncio.get_event_loop()) must also be closed.",
            pytrace=False,
        )
    if isinstance(result, list | tuple) and any(inspect.isawaitable(item) for item in result):
        for item in result:
            if inspect.iscoroutine(item):
                item.close()
        pytest.fail(
            "greet_everyone() returned a list of coroutine objects instead of greetings: "
            "calling greet_user() only builds a coroutine. Await each one inside an async "
            "helper, and run that helper with asyncio.run().",
            pytrace=False,
        )
    if isinstance(result, list | tuple) and any(
        "<coroutine object" in str(item) for item in result
    ):
        pytest.fail(
            f"greet_everyone() returned {result!r}: the greetings hold coroutine objects "
            "instead of names, so greet_user() does not await fetch_name() yet. Fix task 2 "
            "first; greet_everyone() relies on it.",
            pytrace=False,
        )
    return result


@pytest.mark.task(4)
def test_greets_everyone_in_order():
    directory = Names(seconds=0)
    result = run_entry_point(directory, [1, 2, 3])
    checks.equal(
        result,
        ["Hello, Ada!", "Hello, Grace!", "Hello, Alan!"],
        "greet_everyone(fetch_name, [1, 2, 3])",
        "Return a list with one greeting per user, in the order of user_ids.",
    )


@pytest.mark.task(4)
def test_no_users_gives_an_empty_list():
    result = run_entry_point(Names(seconds=0), [])
    checks.equal(result, [], "greet_everyone(fetch_name, [])")


@pytest.mark.task(4)
def test_all_greetings_run_in_one_event_loop():
    directory = Names(seconds=0)
    result = run_entry_point(directory, [7, 42, 2])
    checks.equal(
        result,
        ["Hello, Barbara!", "Hello, Edsger!", "Hello, Grace!"],
        "greet_everyone(fetch_name, [7, 42, 2])",
    )
    if len(directory.loops) != 1:
        pytest.fail(
            f"The three name lookups ran in {len(directory.loops)} different event loops: "
            "asyncio.run() was called once per user. Each call starts a whole new loop and "
            "closes it again, and anything tied to a loop (a connection, a lock) cannot be "
            "shared between them. Call asyncio.run() once, on an async helper that greets "
            "everyone.",
            pytrace=False,
        )


@pytest.mark.task(4)
def test_the_event_loop_is_closed_afterwards():
    directory = Names(seconds=0)
    result = run_entry_point(directory, [3])  # fails if the loop is left open
    checks.equal(result, ["Hello, Alan!"], "greet_everyone(fetch_name, [3])")
    checks.equal(
        [loop.is_closed() for loop in directory.loops],
        [True],
        "Was the one event loop closed when greet_everyone() returned?",
    )


@pytest.mark.task(4)
def test_can_be_called_again():
    first = run_entry_point(Names(seconds=0), [1])
    renamed = Names(seconds=0, names={1: "Ada Lovelace", 2: "Grace"})
    second = run_entry_point(renamed, [2, 1])
    checks.equal(
        (first, second),
        (["Hello, Ada!"], ["Hello, Grace!", "Hello, Ada Lovelace!"]),
        "Two calls of greet_everyone(): for [1], then for [2, 1] with user 1 renamed",
        lambda got: (
            "The second call reused a name from the first: nothing may be remembered between "
            "calls (a cache, a module-level list or loop). Each call looks its users up afresh."
            if isinstance(got, tuple) and len(got) == 2 and "Hello, Ada!" in (got[1] or [])
            else "Each call must run its own greetings from start to end."
        ),
    )
    checks.equal(
        renamed.calls and sorted(renamed.calls), [1, 2], "Users looked up by the second call"
    )


def _greetings_mistake(user_ids: list[int], directory: Names) -> Callable[[object], str]:
    expected = [f"Hello, {directory.names[u]}!" for u in user_ids]

    def likely(got: object) -> str:
        if not isinstance(got, list):
            return ""
        if len(got) < len(expected) and len(set(user_ids)) < len(user_ids):
            return (
                f"{len(got)} greetings for {len(user_ids)} user ids, some listed twice: "
                "likely a set() or dict keyed by id merged them. Keep one greeting per entry "
                "of user_ids."
            )
        if len(got) == len(expected) and checks.same_items(got, expected):
            return "The greetings must follow the order of user_ids."
        return "Return one greeting per user id, in the order of user_ids."

    return likely


@pytest.mark.task(4)
def test_a_user_listed_twice_is_greeted_twice():
    directory = Names(seconds=0)
    user_ids = [7, 1, 7]
    result = run_entry_point(directory, user_ids)
    checks.equal(
        result,
        ["Hello, Barbara!", "Hello, Ada!", "Hello, Barbara!"],
        "greet_everyone(fetch_name, [7, 1, 7])",
        _greetings_mistake(user_ids, directory),
    )
    checks.equal(
        sorted(directory.calls),
        [1, 7, 7],
        "User ids looked up (in any order)",
        "Look each entry of user_ids up once: user 7 is listed twice.",
    )


@pytest.mark.task(4)
def test_user_zero_with_an_empty_name_is_greeted():
    directory = Names(seconds=0, names={0: "", 1: "Ada"})
    result = run_entry_point(directory, [0, 1])
    checks.equal(
        result,
        ["Hello, !", "Hello, Ada!"],
        'greet_everyone(fetch_name, [0, 1]), where user 0\'s name is ""',
        "User 0 and the empty name are values like any other: greet them (no `if user_id:`, "
        "no `if greeting:` filter).",
    )


@pytest.mark.task(4)
def test_user_ids_are_left_unchanged():
    user_ids = [3, 1, 2]
    result = run_entry_point(Names(seconds=0), user_ids)  # fails if user_ids changed
    checks.equal(
        result,
        ["Hello, Alan!", "Hello, Ada!", "Hello, Grace!"],
        "greet_everyone(fetch_name, [3, 1, 2])",
    )


@pytest.mark.task(4)
def test_a_failed_lookup_reaches_the_entry_points_caller():
    directory = Names(seconds=0, missing=(9,))
    try:
        result = run_entry_point(directory, [1, 9, 2])
    except* LookupError as group:  # bare, or inside a TaskGroup's ExceptionGroup: both reach
        errors = [str(exc) for exc in _leaves(group)]
        checks.equal(errors, ["no user 9"], "The lookup errors greet_everyone() raised")
    else:
        pytest.fail(
            f"fetch_name(9) raised LookupError('no user 9'), but greet_everyone() returned "
            f"{result!r}. Let the error reach your caller: do not catch it.",
            pytrace=False,
        )
    checks.equal(
        directory.calls.count(9),
        1,
        "Lookups of user 9, whose lookup fails",
        "A failed lookup is not retried.",
    )
    if any(not loop.is_closed() for loop in directory.loops):
        pytest.fail(
            "greet_everyone() raised the lookup's error but left its event loop open: "
            "asyncio.run() closes the loop even when the coroutine fails; a hand-made loop "
            "needs `try: ... finally: loop.close()`.",
            pytrace=False,
        )


def _leaves(group: BaseExceptionGroup) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return found


NAMES = {0: "", 1: "Ada", 7: "Zoë", 42: "李", -3: "o'Brien {0} %s"}


@pytest.mark.task(4)
@scenarios.given(user_ids=st.lists(st.sampled_from(sorted(NAMES)), max_size=5), max_examples=20)
def test_greet_everyone_in_any_scenario(user_ids):
    said = f"with user ids {user_ids!r}"
    scenarios.describe(said)
    directory = Names(seconds=0, names=NAMES)
    result = run_entry_point(directory, user_ids, collect=False)
    checks.equal(
        result,
        [f"Hello, {NAMES[u]}!" for u in user_ids],
        f"greet_everyone() {said}",
        _greetings_mistake(user_ids, directory),
    )
    checks.equal(
        sorted(directory.calls),
        sorted(user_ids),
        f"{said}: the ids looked up (in any order)",
        lambda got: (
            "Fewer lookups than user ids. Likely: an id listed twice was looked up once, or a "
            "name was remembered from an earlier call (a cache). Look every entry up, every call."
            if isinstance(got, list) and len(got) < len(user_ids)
            else "Look every entry of user_ids up exactly once."
        ),
    )
    if len(directory.loops) > 1:
        pytest.fail(
            f"{said}: the lookups ran in {len(directory.loops)} event loops: call "
            "asyncio.run() once, on a helper that greets everyone.",
            pytrace=False,
        )
