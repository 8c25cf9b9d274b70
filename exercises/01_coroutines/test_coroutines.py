"""Exercise 01 tests. Run them with `pytest exercises/01`."""

import asyncio
import gc
import inspect
import traceback
import warnings
from pathlib import Path
from typing import ClassVar

import pytest

from aiokata import checks, exercise_module
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


class Names:
    """A fake user directory: `await directory.fetch(user_id)` takes `seconds`, gives a name."""

    NAMES: ClassVar[dict[int, str]] = {1: "Ada", 2: "Grace", 3: "Alan", 7: "Barbara", 42: "Edsger"}

    def __init__(self, seconds: float = 1.0) -> None:
        self.seconds = seconds
        self.calls: list[int] = []
        self.loops: list[asyncio.AbstractEventLoop] = []

    async def fetch(self, user_id: int) -> str:
        self.calls.append(user_id)
        loop = asyncio.get_running_loop()
        if not any(seen is loop for seen in self.loops):
            self.loops.append(loop)
        await asyncio.sleep(self.seconds)
        return self.NAMES[user_id]


class Sensor:
    """A fake sensor: each `await sensor.read()` takes 1 s and gives the next value."""

    def __init__(self, values: list[float]) -> None:
        self.values = values
        self.calls = 0
        self.in_flight = 0
        self.most_at_once = 0

    async def read(self) -> float:
        value = self.values[self.calls % len(self.values)]
        self.calls += 1
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        try:
            await asyncio.sleep(1)
        finally:
            self.in_flight -= 1
        return value


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


@pytest.mark.task(1)
async def test_slow_square_waits_exactly_delay(looptime):
    result = await call("slow_square", 4, 2.5)
    checks.equal(result, 16, "await slow_square(4, 2.5)")
    checks.took(
        looptime,
        2.5,
        "slow_square(4, 2.5)",
        {
            0: "Nothing waited. Calling asyncio.sleep(delay) without `await` only builds a "
            "coroutine object and throws it away: write `await asyncio.sleep(delay)`."
        },
    )


@pytest.mark.task(1)
async def test_slow_square_with_no_delay_returns_at_once(looptime):
    result = await call("slow_square", 3, 0)
    checks.equal(result, 9, "await slow_square(3, 0)")
    checks.took(looptime, 0, "slow_square(3, 0)")


# Task 2: greet_user


def _holds_coroutine(got: object) -> str:
    if "<coroutine object" in str(got) or "<Task" in str(got):
        return (
            "The greeting holds a coroutine object (or a task) instead of the name: "
            "fetch_name(user_id) only builds a coroutine. `name = await fetch_name(user_id)` "
            "runs it and gives the name."
        )
    return 'Return exactly "Hello, <name>!" with the name that fetch_name(user_id) gave.'


@pytest.mark.task(2)
async def test_greeting_uses_the_fetched_name():
    directory = Names()
    result = await call("greet_user", directory.fetch, 1)
    checks.equal(result, "Hello, Ada!", "await greet_user(fetch_name, 1)", _holds_coroutine)


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
    checks.equal(result, "Hello, Barbara!", "await greet_user(fetch_name, 7)", _holds_coroutine)


@pytest.mark.task(2)
async def test_name_is_fetched_once_and_awaited(looptime):
    directory = Names(seconds=1)
    await call("greet_user", directory.fetch, 42)
    checks.took(
        looptime,
        1,
        "greet_user() with a 1 s name lookup",
        {
            0: "The lookup never ran: a coroutine that is not awaited does nothing. "
            "Write `await fetch_name(user_id)`.",
            2: "That is two lookups: call fetch_name(user_id) once and keep the name in a "
            "variable.",
        },
    )
    checks.equal(len(directory.calls), 1, "Number of calls to fetch_name()")


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
            f"read_sensor() was called {sensor.calls} time(s) for 3 readings: each reading "
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


@pytest.mark.task(3)
async def test_the_mean_is_not_rounded():
    sensor = Sensor([1.0, 2.0, 2.0])
    result = await call("average_reading", sensor.read, 3)
    if not isinstance(result, int | float) or abs(result - 5 / 3) > 1e-9:
        checks.equal(
            result,
            5 / 3,
            "Mean of readings 1, 2 and 2",
            lambda got: (
                "Close, but rounded: return the mean itself, (1 + 2 + 2) / 3, without "
                "rounding it or dividing with //."
                if isinstance(got, int | float) and abs(got - 5 / 3) < 0.5
                else "Add up the readings and divide by count, with / (not //)."
            ),
        )


@pytest.mark.task(3)
async def test_a_single_reading_is_its_own_average(looptime):
    sensor = Sensor([4.5])
    result = await call("average_reading", sensor.read, 1)
    checks.equal(result, 4.5, "average_reading(read_sensor, 1) of the reading 4.5")
    checks.equal(sensor.calls, 1, "Calls to read_sensor() for count=1")
    checks.took(looptime, 1, "One 1 s reading")


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


def run_entry_point(directory: Names, user_ids: list[int]) -> object:
    """Call the learner's synchronous entry point the way ordinary code would: with no event
    loop running and none set as current, as at the top of a fresh program."""
    previous = _current_loop()
    asyncio.set_event_loop(None)
    try:
        return _run_entry_point(directory, user_ids)
    finally:
        asyncio.set_event_loop(previous)


def _run_entry_point(directory: Names, user_ids: list[int]) -> object:
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
    if isinstance(result, list) and any(inspect.isawaitable(item) for item in result):
        for item in result:
            if inspect.iscoroutine(item):
                item.close()
        pytest.fail(
            "greet_everyone() returned a list of coroutine objects instead of greetings: "
            "calling greet_user() only builds a coroutine. Await each one inside an async "
            "helper, and run that helper with asyncio.run().",
            pytrace=False,
        )
    if isinstance(result, list) and any("<coroutine object" in str(item) for item in result):
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
    second = run_entry_point(Names(seconds=0), [2, 1])
    checks.equal(
        (first, second),
        (["Hello, Ada!"], ["Hello, Grace!", "Hello, Ada!"]),
        "Two calls of greet_everyone(), for [1] then for [2, 1]",
        "Each call must run its own greetings from start to end.",
    )
