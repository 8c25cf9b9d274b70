"""Exercise 25 tests. Run them with `pytest exercises/25`."""

import asyncio
import contextlib
import gc
import logging
import threading
import time
import weakref
from collections import Counter
from typing import ClassVar

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import fail, now, raise_unexpected

debugging = exercise_module(__file__)

DAY = 86_400
SLOW_LOAD = 1.5  # real seconds one load takes in the test of a time limit around the thread
ASYNCIO = logging.getLogger("asyncio")
SLOW = "Executing %s took %.3f seconds"  # what asyncio's debug mode logs for a slow step


class Boom(Exception):
    """The error a test's fake raises."""


def how_it_ended(task) -> str:
    if not task.done():
        return "still running"
    if task.cancelled():
        return "cancelled"
    if task.exception() is not None:
        return f"raised {task.exception()!r}"
    return f"returned {task.result()!r}"


# Task 1: ErrorCollector


@contextlib.contextmanager
def kit_handler_kept():
    """The kit installs its own exception handler for every test: keep it, and put it back
    after the test's own handlers have come and gone."""
    loop = asyncio.get_running_loop()
    kept = loop.get_exception_handler()
    passed_on = []

    def before_the_block(loop, context):
        # Installed before the collector: if it is called while another handler is the
        # loop's, that handler passed the context on.
        if loop.get_exception_handler() is not before_the_block:
            passed_on.append(context.get("message"))

    loop.set_exception_handler(before_the_block)
    try:
        yield loop
    finally:
        loop.set_exception_handler(kept)
    if passed_on:
        fail(
            f"The collector passed the contexts on to the handler installed before the block "
            f"as well: it received {passed_on!r} while the collector's handler was the loop's. "
            "Keep each context in errors.contexts instead, and pass nothing on (not to the "
            "previous handler, not to loop.default_exception_handler())."
        )


def summary(contexts) -> list:
    """(message, the exception itself or None) of each context recorded."""
    if not isinstance(contexts, list):
        fail(f"errors.contexts should be a list of the contexts, got {contexts!r}.")
    out = []
    for context in contexts:
        if not isinstance(context, dict):
            fail(
                f"errors.contexts should hold the context dicts asyncio hands the handler, "
                f"got {context!r} among them. Likely: you kept only the message or the "
                "exception; keep the whole context (it says which task or callback failed)."
            )
        out.append((context.get("message"), context.get("exception")))
    return out


def compare_contexts(got: list, expected: list, what: str) -> None:
    """`got` and `expected` are lists of (message, exception): exceptions compared by identity."""
    same = len(got) == len(expected) and all(
        g[0] == e[0] and g[1] is e[1] for g, e in zip(got, expected, strict=False)
    )
    if same:
        return
    likely = ""
    if len(got) < len(expected):
        missing = [e for e in expected if not any(g[0] == e[0] and g[1] is e[1] for g in got)]
        likely = f" Missing: {missing!r}."
        if any(e[1] is None for e in missing):
            likely += " Likely: contexts without an 'exception' were dropped; record them all."
        elif len(set(map(repr, expected))) < len(expected):
            likely += " Likely: the same context given twice was kept once; keep each one."
    elif any(
        g[1] is not e[1] and repr(g[1]) == repr(e[1]) for g, e in zip(got, expected, strict=False)
    ):
        likely = " Likely: a copy or the text of the exception was kept, not the exception itself."
    fail(f"{what}: expected {expected!r}, got {got!r}.{likely}")


class Lost(ValueError):
    """The error of a task nobody awaits."""


@pytest.mark.task(1)
async def test_a_future_error_never_retrieved_is_collected_with_its_exception():
    raised = []  # a weak reference only: the test must not keep the failed future alive

    def drop_a_failed_future(loop):
        error = Lost("lost")
        raised.append(weakref.ref(error))
        future = loop.create_future()
        future.set_exception(error)  # and nobody ever asks for it

    with kit_handler_kept() as loop:
        collector = debugging.ErrorCollector()
        with collector as errors:
            drop_a_failed_future(loop)
            gc.collect()
        if errors is not collector:
            fail(
                f"`with ErrorCollector() as errors:` gave errors = {errors!r}, not the collector: "
                "__enter__ must return the collector itself (`return self`)."
            )
        got = summary(errors.contexts)
    error = raised[0]() if raised else None
    if len(got) != 1:
        fail(
            "A failed future dropped unretrieved: expected 1 context recorded ('Future "
            f"exception was never retrieved'), got {len(got)}: {got!r}. Likely: the handler "
            "was not installed on the running loop (loop.set_exception_handler) or it does "
            "not append to self.contexts."
        )
    message, exception = got[0]
    if exception is not error or error is None:
        fail(
            f"The context's 'exception' should be the very ValueError the task raised, got "
            f"{exception!r}. Likely: the handler kept a copy or the text of it; keep the "
            "context as asyncio gives it."
        )
    if "never retrieved" not in str(message):
        fail(
            "The context's message should be asyncio's, 'Future exception was never retrieved'; "
            f"got {message!r}."
        )
    source = errors.contexts[0].get("future")
    if not isinstance(source, asyncio.Future):
        fail(
            f"The context's 'future' should be the future that failed, got {source!r}. Likely: "
            "the handler built a new dict with only some keys; keep the whole context."
        )


@pytest.mark.task(1)
async def test_every_context_is_kept_in_order_even_without_an_exception():
    first, second = KeyError("k"), ZeroDivisionError("by zero")
    note = {"message": "just a note"}

    def callback():
        raise second

    with kit_handler_kept() as loop:
        with debugging.ErrorCollector() as errors:
            loop.call_exception_handler(note)
            loop.call_exception_handler({"message": "", "exception": first})
            loop.call_exception_handler(note)
            loop.call_soon(callback)
            await asyncio.sleep(0)
            loop.call_exception_handler({"message": "", "exception": None})
        got = summary(errors.contexts)
    expected = [("just a note", None), ("", first), ("just a note", None)]
    compare_contexts(
        got[:3], expected, "The first three contexts (a note, a KeyError, the note again)"
    )
    if len(got) < 4 or got[3][1] is not second or "callback" not in str(got[3][0]).lower():
        fail(
            "A callback (loop.call_soon) that raised ZeroDivisionError: expected its context "
            f"('Exception in callback ...') fourth, got {got[3:4]!r}."
        )
    compare_contexts(got[4:], [("", None)], "The last context (empty message, no exception)")
    if errors.contexts[0] is not note or errors.contexts[2] is not note:
        fail(
            "The note's context was given to the handler as one dict, twice, but errors.contexts "
            f"holds a different dict ({errors.contexts[0]!r}): a copy. Keep the dict itself "
            "(`self.contexts.append(context)`), so it is the very object asyncio handed over."
        )


@pytest.mark.task(1)
async def test_the_previous_handler_is_put_back():
    seen = []

    def previous(loop, context):
        seen.append(context["message"])

    def earlier(loop, context):
        seen.append(("earlier", context["message"]))

    with kit_handler_kept() as loop:
        loop.set_exception_handler(earlier)
        collector = debugging.ErrorCollector()  # made while `earlier` is the loop's handler
        loop.set_exception_handler(previous)  # and `previous` when the block begins
        with collector as errors:
            if loop.get_exception_handler() is previous:
                fail(
                    "Inside the `with` block, the loop's handler was still the one before: the "
                    "collector never installed its own."
                )
            loop.call_exception_handler({"message": "inside"})
        after = loop.get_exception_handler()
        loop.call_exception_handler({"message": "after"})
        if after is not previous:
            fail(
                f"After the block, the loop's handler should be the one installed when it began, "
                f"got {after!r}. "
                + (
                    "Likely: __exit__ set None (the default) instead of the handler kept in "
                    "__enter__."
                    if after is None
                    else "That is the handler installed when the collector was made, which was "
                    "replaced before the block began: keep the handler in __enter__, not in "
                    "__init__."
                    if after is earlier
                    else "The collector's own handler was not put back to the one before."
                )
            )
        checks.equal(
            seen,
            ["after"],
            "What the handler installed before the block received",
            "The collector's handler was not put back to the one before on leaving the block "
            "(or the collector passed the contexts on to it as well).",
        )
        checks.equal(summary(errors.contexts), [("inside", None)], "The collector's contexts")
        loop.set_exception_handler(None)
        with debugging.ErrorCollector():
            pass
        if loop.get_exception_handler() is not None:
            fail(
                "With no handler installed before (get_exception_handler() was None), the "
                f"block should leave None, got {loop.get_exception_handler()!r}."
            )


@pytest.mark.task(1)
async def test_the_handler_is_put_back_when_the_block_raises():
    def previous(loop, context):
        pass

    with kit_handler_kept() as loop:
        loop.set_exception_handler(previous)
        error = Boom("in the block")
        try:
            with debugging.ErrorCollector():
                raise error
        except Boom as caught:
            if caught is not error:
                raise
        else:
            fail(
                "An error raised inside the `with` block did not reach the code around it: "
                "__exit__ swallowed it (it returned True). Return None."
            )
        if loop.get_exception_handler() is not previous:
            fail(
                "After a block that raised, the loop's handler should be the one installed "
                f"before, got {loop.get_exception_handler()!r}. Put it back in __exit__, which "
                "runs however the block ends."
            )


@pytest.mark.task(1)
async def test_two_collectors_keep_their_own_contexts():
    with kit_handler_kept() as loop:
        loop.set_exception_handler(None)
        with debugging.ErrorCollector() as outer:
            with debugging.ErrorCollector() as inner:
                loop.call_exception_handler({"message": "A"})
            loop.call_exception_handler({"message": "B"})
        after = loop.get_exception_handler()
        got = (summary(outer.contexts), summary(inner.contexts))
    checks.equal(
        got,
        ([("B", None)], [("A", None)]),
        "One collector inside another, 'A' given in the inner, 'B' after it: (outer, inner)",
        lambda g: (
            "Both collectors hold the same contexts: they share one list (a class attribute "
            "or a module-level list); make it in __init__."
            if g[0] == g[1] and g[0]
            else "'B' reached the inner collector after its block ended: it did not put the "
            "outer one's handler back."
            if ("B", None) in g[1]
            else ""
        ),
    )
    if after is not None:
        fail(f"After both blocks, the handler should be None again, got {after!r}.")


EVENTS = st.lists(
    st.tuples(st.sampled_from(["note", "error", "callback"]), st.sampled_from(["x", "", "x"])),
    max_size=6,
)


@pytest.mark.task(1)
@scenarios.given(events=EVENTS)
async def test_error_collector_in_any_scenario(events):
    scenarios.describe(f"with contexts {events!r}")
    expected = []
    with kit_handler_kept() as loop:
        with debugging.ErrorCollector() as errors:
            for kind, message in events:
                error = Boom(message)
                if kind == "note":
                    loop.call_exception_handler({"message": message})
                    expected.append((message, None))
                elif kind == "error":
                    loop.call_exception_handler({"message": message, "exception": error})
                    expected.append((message, error))
                else:

                    def callback(error=error):
                        raise error

                    loop.call_soon(callback)
                    await asyncio.sleep(0)
                    expected.append(("*", error))
        got = summary(errors.contexts)
    got = [("*" if e is not None and "callback" in str(m) else m, e) for m, e in got]
    compare_contexts(got, expected, f"With contexts {events!r} ('*': a callback's)")


# Task 2: slow_callbacks


def asyncio_logger_state():
    return list(ASYNCIO.handlers), ASYNCIO.level, ASYNCIO.propagate


def check_put_back(loop, debug, duration, logger_state, what: str) -> None:
    problems = []
    if loop.get_debug() != debug:
        problems.append(f"debug mode is {loop.get_debug()} (it was {debug})")
    if loop.slow_callback_duration != duration:
        problems.append(
            f"slow_callback_duration is {loop.slow_callback_duration!r} (it was {duration!r})"
        )
    handlers, level, propagate = asyncio_logger_state()
    if handlers != logger_state[0]:
        extra = [h for h in handlers if h not in logger_state[0]]
        missing = [h for h in logger_state[0] if h not in handlers]
        if extra:
            problems.append(f"the asyncio logger still has the handler {extra!r}")
        if missing:
            problems.append(
                f"the asyncio logger lost the handler {missing!r} it had before (remove only "
                "your own: logger.removeHandler(yours))"
            )
        if not extra and not missing:
            problems.append(f"the asyncio logger's handlers are in another order: {handlers!r}")
    if level != logger_state[1]:
        names = logging.getLevelName
        problems.append(
            f"the asyncio logger's level is {level} ({names(level)}); it was "
            f"{logger_state[1]} ({names(logger_state[1])})"
        )
    if propagate != logger_state[2]:
        problems.append("the asyncio logger's propagate flag changed")
    if problems:
        fail(
            f"After slow_callbacks() {what}, {'; '.join(problems)}."
            + (
                ""
                if any("lost the handler" in p for p in problems)
                else " Likely: the settings are not put back, or not in a `finally:` (which "
                "runs however the coroutine ends): keep each one before changing it and restore "
                "it afterwards."
            )
        )


def check_report(slow, what: str) -> list:
    if not isinstance(slow, list) or not all(
        isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str) and isinstance(s[1], float)
        for s in slow
    ):
        fail(
            f"{what}: slow should be a list of (description: str, seconds: float) tuples, got "
            f"{slow!r}."
        )
    return slow


async def call_slow(coro, threshold, what):
    outcome = await debugging.slow_callbacks(coro, threshold)
    checks.not_coroutine(outcome, "What slow_callbacks() returned")
    if not isinstance(outcome, tuple) or len(outcome) != 2:
        fail(f"slow_callbacks() should return (result, slow), got {outcome!r}.")
    return outcome[0], check_report(outcome[1], what)


@pytest.mark.task(2)
@pytest.mark.looptime(False)
@pytest.mark.allow_blocking
async def test_a_blocking_step_is_reported_in_real_time():
    loop = asyncio.get_running_loop()
    state = (loop.get_debug(), loop.slow_callback_duration, asyncio_logger_state())

    async def blocker():
        await asyncio.sleep(0)
        time.sleep(0.2)  # a step that holds the loop 0.2 s, four times the threshold
        return "done"

    async def program():
        return await asyncio.create_task(blocker())

    result, slow = await call_slow(program(), 0.05, "A step blocking 0.2 s, threshold 0.05 s")
    checks.equal(result, "done", "The result slow_callbacks() gave back")
    found = [(d, s) for d, s in slow if "blocker" in d]
    if not found:
        fail(
            "A step of blocker() held the loop 0.2 s with a threshold of 0.05 s, but the "
            f"report names no step of blocker(): got {slow!r}. Likely: debug mode was not on "
            "(loop.set_debug(True)) while the coroutine ran, the threshold not set "
            "(loop.slow_callback_duration), or the handler was not on the 'asyncio' logger."
        )
    if max(s for _, s in found) < 0.199:
        fail(
            f"The step blocked 0.2 s, but the report says {found!r}: read the seconds asyncio "
            "logged."
        )
    check_put_back(loop, *state, "returned")

    # Blocks on either side of the default 0.1 s: only the threshold given decides.
    _, slow = await call_slow(
        blocking_program(0.08), 0.05, "A step blocking 0.08 s, threshold 0.05 s"
    )
    if not [s for d, s in slow if "blocks" in d]:
        fail(
            "A step held the loop 0.08 s with a threshold of 0.05 s, but it was not reported: "
            f"got {slow!r}. 0.08 s is under asyncio's default of 0.1 s, so the threshold given "
            "was not the one in effect. Likely: slow_callback_duration was not set to the "
            "threshold itself (loop.slow_callback_duration = threshold)."
        )
    _, slow = await call_slow(
        blocking_program(0.12), 0.5, "A step blocking 0.12 s, threshold 0.5 s"
    )
    under = [(d, s) for d, s in slow if s < 0.5]
    if under:
        fail(
            f"With a threshold of 0.5 s, the report holds steps asyncio timed under 0.5 s: "
            f"{under!r}, so the threshold in effect was lower than the one given. Likely: "
            "slow_callback_duration was not set to the threshold (asyncio's default is 0.1 s)."
        )
    check_put_back(loop, *state, "returned")


async def blocks(seconds):
    await asyncio.sleep(0)
    time.sleep(seconds)  # one step that holds the loop


async def blocking_program(seconds):
    return await asyncio.create_task(blocks(seconds))  # the step is blocks()'s own


@pytest.mark.task(2)
async def test_steps_under_the_threshold_are_not_reported():
    # Under the kit's virtual clock no step takes any loop time: none is slow.
    loop = asyncio.get_running_loop()
    seen = []

    async def quick():
        for _ in range(3):
            seen.append((loop.get_debug(), loop.slow_callback_duration))
            await asyncio.sleep(1)
        return 7

    result, slow = await call_slow(quick(), 0.05, "Three quick steps")
    checks.equal(result, 7, "The result slow_callbacks() gave back")
    wrong = [(d, t) for d, t in seen if (d, t) != (True, 0.05)]
    if wrong:
        debug, duration = wrong[0]
        fail(
            f"While the coroutine ran, the loop had debug mode {debug} and "
            f"slow_callback_duration {duration!r}; with slow_callbacks(coro, 0.05) it should "
            "have been True and 0.05."
            + (
                " Likely: debug mode was not on (loop.set_debug(True) before awaiting coro)."
                if not debug
                else ""
            )
            + (
                " Likely: slow_callback_duration was not set to the threshold itself "
                "(loop.slow_callback_duration = threshold)."
                if duration != 0.05
                else ""
            )
        )
    checks.equal(
        slow,
        [],
        "Steps that took 0 s of loop time, with a threshold of 0.05 s",
        "Likely: slow_callback_duration was not set to the threshold (0 reports every step).",
    )


@pytest.mark.task(2)
async def test_the_warnings_are_read_as_asyncio_gives_them():
    loop = asyncio.get_running_loop()
    state = (loop.get_debug(), loop.slow_callback_duration, asyncio_logger_state())
    task = "<Task pending name='it took 2 tries' coro=<fetch() running at x.py:3>>"

    async def noisy():
        ASYNCIO.warning(SLOW, task, 0.5)
        ASYNCIO.warning("Unclosed connection %r", "c")
        logging.getLogger("elsewhere").warning(SLOW, "<Handle other()>", 9.0)
        ASYNCIO.warning(SLOW, task, 0.5)
        ASYNCIO.getChild("sub").warning(SLOW, "<Handle child()>", 2.0)
        await asyncio.sleep(0)
        ASYNCIO.warning(SLOW, "<Handle cb() at y.py:9>", 1.25)
        return None

    result, slow = await call_slow(noisy(), 0.05, "Slow-step warnings logged while it ran")
    checks.equal(result, None, "The result slow_callbacks() gave back")
    expected = [(task, 0.5), (task, 0.5), ("<Handle cb() at y.py:9>", 1.25)]
    rounded = [(d, round(s, 3)) for d, s in slow]

    def likely(got):
        if len(got) == 2:
            return "Likely: the same warning twice was kept once; keep each one."
        if any(d != task and task.startswith(d) for d, _ in got):
            return "Likely: the description was cut at the first ' took ' (it can contain one)."
        if any(d == "<Handle child()>" for d, _ in got):
            return (
                "The warning logged on 'asyncio.sub' was kept: keep only records of the "
                "'asyncio' logger itself (record.name == 'asyncio'), not of its children."
            )
        if len(got) > 3:
            return "Likely: other warnings (not 'Executing ... took') or other loggers were kept."
        return ""

    checks.equal(rounded, expected, "The slow steps reported, in order", likely)
    check_put_back(loop, *state, "returned")


@pytest.mark.task(2)
async def test_everything_is_put_back_and_each_call_has_its_own_report():
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 0.75
    theirs = logging.NullHandler()  # a handler and a level someone else set up
    ASYNCIO.addHandler(theirs)
    level = ASYNCIO.level
    ASYNCIO.setLevel(logging.INFO)
    try:
        state = (True, 0.75, asyncio_logger_state())

        async def one(n):
            ASYNCIO.warning(SLOW, f"<Handle step{n}()>", 0.25)
            return n

        _, first = await call_slow(one(1), 0.05, "A first call")
        check_put_back(loop, *state, "returned (debug mode was on before)")
        result, second = await call_slow(one(2), 0.05, "A second call")
        checks.equal(
            (result, second),
            (2, [("<Handle step2()>", 0.25)]),
            "The second call's (result, slow)",
            lambda got: (
                "The second call's report holds the first call's step: one list shared by "
                "every call (a module-level list or a default argument)."
                if any("step1" in str(d) for d, _ in got[1])
                else ""
            ),
        )
        if first and first[0][0] != "<Handle step1()>":
            fail(f"The first call's report changed after the second call: {first!r}.")
        check_put_back(loop, *state, "returned twice (debug mode was on before)")
    finally:
        loop.set_debug(False)
        loop.slow_callback_duration = 0.1
        ASYNCIO.removeHandler(theirs)
        ASYNCIO.setLevel(level)


@pytest.mark.task(2)
async def test_put_back_when_the_coroutine_raises_or_is_cancelled():
    loop = asyncio.get_running_loop()
    state = (loop.get_debug(), loop.slow_callback_duration, asyncio_logger_state())
    error = Boom("inside")

    async def breaks():
        await asyncio.sleep(1)
        raise error

    try:
        await debugging.slow_callbacks(breaks(), 0.05)
    except Boom as caught:
        if caught is not error:
            raise
    else:
        fail(
            "The coroutine raised Boom, but slow_callbacks() returned: its error must reach the "
            "caller."
        )
    check_put_back(loop, *state, "the coroutine raised")

    ended = []

    async def sleeps():
        try:
            await asyncio.sleep(DAY)
        finally:
            ended.append(now())

    t0 = now()
    task = asyncio.create_task(debugging.slow_callbacks(sleeps(), 0.05))
    await asyncio.sleep(2)
    task.cancel()
    await checks.within(5, asyncio.wait([task]), "slow_callbacks() went on after it was cancelled.")
    raise_unexpected(task)
    if not task.cancelled():
        fail(
            f"slow_callbacks() cancelled while its coroutine waited {how_it_ended(task)}; it "
            "should end cancelled."
        )
    if not ended:
        fail(
            "slow_callbacks() was cancelled at 2 s and ended cancelled, but its coroutine did "
            "not stop: it was still waiting. Cancelling slow_callbacks() must cancel coro too: "
            "await it (or a task running it that is cancelled with the call), not under "
            "asyncio.shield() or in a task left running."
        )
    checks.equal([t - t0 for t in ended], [2], "When the coroutine was stopped (loop time)")
    check_put_back(loop, *state, "was cancelled")


@pytest.mark.task(2)
@pytest.mark.loop_limit(3 * DAY)
async def test_a_coroutine_that_takes_a_day_is_waited_for(looptime):
    async def long():
        await asyncio.sleep(DAY)
        return 0

    try:
        result, _ = await call_slow(long(), 0.05, "A day-long coroutine")
    except TimeoutError:
        fail(
            "slow_callbacks() raised TimeoutError on a day-long coroutine: a time limit of your "
            "own; wait as long as it takes."
        )
    checks.equal(result, 0, "The result of a coroutine that returned 0")
    checks.took(looptime, DAY, "A coroutine sleeping a day")


# Task 3: load_all


class Loader:
    """A blocking load(key): records the thread each call ran on; gives VALUES[key]."""

    VALUES: ClassVar[dict] = {"a": "A", "b": 0, "": None, 0: "", None: "nothing"}

    def __init__(self, fail_on=(), gate=None, gate_first_only=False, patience=1.0) -> None:
        self.loop_thread = threading.get_ident()
        self.calls: list = []
        self.on_loop: list = []
        self.fail_on = fail_on
        self.errors: dict = {}
        self.gate = gate  # a threading.Event each call waits for (`patience` s at most)
        self.gate_first_only = gate_first_only
        self.patience = patience

    def __call__(self, key):
        self.calls.append(key)
        if threading.get_ident() == self.loop_thread:
            self.on_loop.append(key)
        elif self.gate is not None and (len(self.calls) == 1 or not self.gate_first_only):
            self.gate.wait(self.patience)
        if key in self.fail_on:
            self.errors[key] = Boom(key)
            raise self.errors[key]
        return self.VALUES[key]

    def check_threads(self) -> None:
        if self.on_loop:
            fail(
                f"load({self.on_loop[0]!r}) ran on the event loop's own thread: while a "
                "blocking call runs there, no other task can run, and the program stalls. "
                "Run it in a worker thread: `await asyncio.to_thread(load, key)`. (A time "
                "limit, asyncio.timeout() or wait_for(), around a blocking call cannot "
                "interrupt it: the loop is stuck inside the call and cannot run the timer.)"
            )


async def run_load_all(keys, loader, what):
    results = await debugging.load_all(keys, loader)
    loader.check_threads()
    checks.not_coroutine(results, "What load_all() returned")
    if isinstance(results, list):
        for item in results:
            checks.not_coroutine(item, f"{what}: an item of the list load_all() returned")
    return results


@pytest.mark.task(3)
async def test_load_all_loads_in_a_worker_thread_while_the_loop_runs():
    gate = threading.Event()
    loader = Loader(gate=gate)
    ticks = []

    async def heartbeat():
        ticks.append(now())
        gate.set()  # only the loop running meanwhile lets the loads go on

    beat = asyncio.create_task(heartbeat())
    try:
        results = await run_load_all(["a", "b"], loader, "Two keys")
    finally:
        await checks.settle(beat)
    checks.equal(results, ["A", 0], "load_all(['a', 'b'])")
    if not ticks:
        fail(
            "No other task ran while load() ran: the loop was blocked. Likely: the thread's "
            "result was waited for without await (future.result())."
        )


@pytest.mark.task(3)
async def test_load_all_keeps_duplicates_falsy_results_and_order():
    keys = ["a", "", "a", 0, None, "b"]
    given = list(keys)
    loader = Loader()
    results = await run_load_all(keys, loader, "Six keys")
    checks.equal(
        results,
        ["A", None, "A", "", "nothing", 0],
        f"load_all({given!r})",
        lambda got: (
            "Likely: falsy results (0, '', None) were skipped or replaced."
            if got == ["A", "A", "nothing"]
            else "Likely: results keyed by key (a dict or set) lose duplicates."
            if isinstance(got, list) and len(got) < 6
            else "Likely: falsy results (0, '', None) were skipped or replaced."
            if isinstance(got, list)
            else ""
        ),
    )
    checks.equal(
        Counter(map(repr, loader.calls)),
        Counter(map(repr, given)),
        "How often load() was called with each key",
    )
    checks.equal(
        keys, given, "The keys list after load_all()", "load_all() changed the caller's list."
    )
    checks.equal(await run_load_all([], Loader(), "No keys"), [], "load_all([])")


@pytest.mark.task(3)
async def test_a_load_error_reaches_the_caller():
    loader = Loader(fail_on={"b"})
    try:
        results = await debugging.load_all(["a", "b"], loader)
    except Boom as caught:
        if caught is not loader.errors.get("b"):
            raise
    else:
        fail(
            f"load('b') raised Boom, but load_all() returned {results!r}: the error must reach "
            "the caller."
        )
    loader.check_threads()


@pytest.mark.task(3)
async def test_load_all_cancelled_while_loading_ends_cancelled():
    gate = threading.Event()
    loader = Loader(gate=gate, gate_first_only=True)  # only the first load waits for the gate
    task = asyncio.create_task(debugging.load_all(["a", "b", "a"], loader))
    for _ in range(3):
        await asyncio.sleep(0)
    task.cancel()
    try:
        _, _ = await asyncio.wait([task], timeout=5)
    finally:
        gate.set()
    loader.check_threads()
    raise_unexpected(task)
    if not task.cancelled():
        fail(
            f"load_all() cancelled while load('a') ran {how_it_ended(task)}; it should end "
            "cancelled."
        )


@pytest.mark.task(3)
@pytest.mark.looptime(False)
async def test_a_slow_load_is_waited_for_without_a_time_limit():
    # While a thread is busy the loop's clock runs in real time, so "slow" costs real time here.
    loader = Loader(gate=threading.Event(), gate_first_only=True, patience=SLOW_LOAD)
    started = time.monotonic()
    try:
        results = await debugging.load_all(["a", "b"], loader)
    except TimeoutError:
        fail(
            f"load('a') took {SLOW_LOAD} s and load_all() raised TimeoutError after "
            f"{time.monotonic() - started:.1f} s: a time limit of your own (wait_for() or "
            "asyncio.timeout() around the thread). A load may take as long as it takes; await "
            "it without one."
        )
    loader.check_threads()
    checks.equal(results, ["A", 0], f"load_all(['a', 'b']) with a {SLOW_LOAD} s load('a')")


@pytest.mark.task(3)
async def test_two_load_alls_keep_their_own_results():
    first = await run_load_all(["a"], Loader(), "A first call")
    second = await run_load_all(["b"], Loader(), "A second call")
    checks.equal(
        (first, second),
        (["A"], [0]),
        "Two calls' results",
        lambda got: (
            "The second call's results hold the first call's 'A': one results list shared by "
            "every call (module-level)."
            if isinstance(got[1], list) and "A" in got[1]
            else ""
        ),
    )


KEYS = st.lists(st.sampled_from(["a", "b", "", 0, None]), max_size=5)


@pytest.mark.task(3)
@scenarios.given(keys=KEYS, max_examples=15)
async def test_load_all_in_any_scenario(keys):
    scenarios.describe(f"with keys {keys!r}")
    loader = Loader()
    results = await run_load_all(list(keys), loader, f"With keys {keys!r}")
    checks.equal(results, [Loader.VALUES[k] for k in keys], f"load_all({keys!r})")
    checks.equal(len(loader.calls), len(keys), f"With keys {keys!r}: load() calls")


# Task 4: notify_all


class Sender:
    """send(user) takes `times[user]` (1 s unless told) and records when each began and ended."""

    def __init__(self, times=None, fail_on=()) -> None:
        self.t0 = now()
        self.times = times or {}
        self.fail_on = fail_on
        self.log: list = []
        self.errors: dict = {}

    def __call__(self, user):
        return self.send_letter(user)

    async def send_letter(self, user):
        entry = [user, round(now() - self.t0, 6), None]
        self.log.append(entry)
        try:
            await asyncio.sleep(self.times.get(user, 1))
            if user in self.fail_on:
                self.errors[user] = Boom(user)
                raise self.errors[user]
        finally:
            entry[2] = round(now() - self.t0, 6)


def expected_sends(users, times) -> list:
    out, t = [], 0.0
    for user in users:
        d = times.get(user, 1)
        out.append([user, t, t + d])
        t += d
    return out


def check_sends(sender, users, times, count, what) -> None:
    expected = expected_sends(users, times)
    log = [list(e) for e in sender.log]
    skipped = [e[0] for e in log] == [u for u in users if u] and (log or count != len(users))
    if len(log) < len(expected) and skipped:
        fail(f"{what}: the sends made were {log!r}: falsy users were skipped; send to every user.")
    if len(log) < len(expected) and count == len(users):
        fail(
            f"{what}: notify_all() said {checks.count(count, 'send')}, but only {len(log)} "
            f"of them had begun when it returned: {log!r}. Likely: send(user) called without "
            "`await` (it only builds a coroutine, which never runs), or started as a task "
            "nobody awaited."
        )
    if any(e[2] is None for e in log):
        fail(
            f"{what}: notify_all() returned while sends were still running: {log!r} ([user, "
            "began, ended]). Likely: each send was started as a task (create_task) and not "
            "awaited, or the task was not kept; `await send(user)` for each."
        )
    if (
        len(log) == len(expected)
        and len(users) > 1
        and all(e[1] == 0 for e in log)
        and (any(e[1] != 0 for e in expected))
    ):
        fail(
            f"{what}: every send began at 0 s: {log!r}. They must run one after another, in order "
            "(not gather)."
        )
    checks.equal(log, expected, f"{what}: each send as [user, began, ended] in loop time")


@pytest.mark.task(4)
async def test_notify_all_awaits_each_send_in_order(looptime):
    users = ["ann", "bob", "ann"]
    given = list(users)
    sender = Sender()
    count = await debugging.notify_all(users, sender)
    checks.not_coroutine(count, "What notify_all() returned")
    checks.equal(users, given, "The users list after", "notify_all() changed the caller's list.")
    check_sends(sender, given, {}, count, "Three users")
    checks.equal(count, 3, "What notify_all(['ann', 'bob', 'ann']) returned")
    if type(count) is not int:
        fail(f"notify_all() should return an int, got {type(count).__name__}.")
    checks.took(looptime, 3, "Three 1 s sends")


@pytest.mark.task(4)
async def test_notify_all_of_falsy_and_no_users():
    sender = Sender()
    checks.equal(await debugging.notify_all([], sender), 0, "notify_all([])")
    count = await debugging.notify_all([0, "", None], sender)
    check_sends(sender, [0, "", None], {}, count, "Users 0, '' and None")
    checks.equal(count, 3, "notify_all([0, '', None])", "Likely: falsy users were skipped.")


@pytest.mark.task(4)
async def test_a_failed_send_reaches_the_caller_and_stops_the_rest():
    sender = Sender(fail_on={"bob"})
    try:
        count = await debugging.notify_all(["ann", "bob", "cy"], sender)
    except Boom as caught:
        if caught is not sender.errors.get("bob"):
            raise
    else:
        fail(
            f"send('bob') raised Boom, but notify_all() returned {count!r}: the error must reach "
            "the caller."
        )
    checks.equal(
        [e[0] for e in sender.log],
        ["ann", "bob"],
        "The sends made",
        "No send may start after the one that failed.",
    )


@pytest.mark.task(4)
async def test_notify_all_cancelled_mid_send_stops():
    sender = Sender()
    task = asyncio.create_task(debugging.notify_all(["ann", "bob", "cy"], sender))
    await asyncio.sleep(1.5)
    task.cancel()
    await checks.within(5, asyncio.wait([task]), "notify_all() went on after it was cancelled.")
    raise_unexpected(task)
    if not task.cancelled():
        fail(
            f"notify_all() cancelled during the second send {how_it_ended(task)}; it should end "
            "cancelled."
        )
    checks.equal(
        [list(e) for e in sender.log],
        [["ann", 0, 1], ["bob", 1, 1.5]],
        "The sends as [user, began, ended] after a cancel at 1.5 s",
        "Likely: the sends were tasks that kept running (or started) after the cancel.",
    )


@pytest.mark.task(4)
@pytest.mark.loop_limit(3 * DAY)
async def test_a_send_that_takes_a_day_is_waited_for(looptime):
    sender = Sender(times={"ann": DAY})
    try:
        count = await debugging.notify_all(["ann", "bob"], sender)
    except TimeoutError:
        fail(
            "notify_all() raised TimeoutError on a day-long send: a time limit of your own; wait "
            "as long as it takes."
        )
    check_sends(sender, ["ann", "bob"], {"ann": DAY}, count, "A day-long send, then a 1 s one")
    checks.took(looptime, DAY + 1, "A day-long send, then a 1 s one")


USERS = st.lists(
    st.tuples(st.sampled_from(["a", "b", "", 0]), st.sampled_from([0, 1 / 8, 1, 10])), max_size=5
)


@pytest.mark.task(4)
@scenarios.given(jobs=USERS)
async def test_notify_all_in_any_scenario(jobs):
    users = [u for u, _ in jobs]
    times = dict(jobs)
    users_times = {u: times[u] for u in users}
    scenarios.describe(f"with users {users!r}")
    sender = Sender(times=users_times)
    count = await debugging.notify_all(list(users), sender)
    check_sends(sender, users, users_times, count, f"With users {users!r}")
    checks.equal(count, len(users), f"notify_all({users!r})")


# Task 5: apply_all


class Applier:
    """apply(change) takes `times[change]` (1 s unless told); refuses (InvalidChange, or
    `refusal` if given) the changes in `refuse` and raises Boom for those in `fail_on`; records
    each change's [change, began, ended or how it ended]."""

    def __init__(self, refuse=(), fail_on=(), times=None, refusal=None) -> None:
        self.t0 = now()
        self.refuse, self.fail_on = refuse, fail_on
        self.times = times or {}
        self.refusal = refusal
        self.log: list = []
        self.errors: dict = {}

    def __call__(self, change):
        return self.apply_change(change)

    async def apply_change(self, change):
        entry = [change, round(now() - self.t0, 6), None]
        self.log.append(entry)
        try:
            await asyncio.sleep(self.times.get(change, 1))
        except asyncio.CancelledError:
            entry[2] = "cancelled"
            raise
        entry[2] = round(now() - self.t0, 6)
        if change in self.refuse:
            raise (self.refusal or debugging.InvalidChange)(change)
        if change in self.fail_on:
            self.errors[change] = Boom(change)
            raise self.errors[change]


@pytest.mark.task(5)
async def test_apply_all_skips_refused_changes_and_returns_them(looptime):
    changes = ["a", 0, "a", "", None, "b"]
    given = list(changes)
    applier = Applier(refuse={"a", 0, None})
    refused = await debugging.apply_all(changes, applier)
    checks.not_coroutine(refused, "What apply_all() returned")
    check_one_after_another(applier, "Six changes")
    checks.equal(
        refused,
        ["a", 0, "a", None],
        f"The refused changes of {given!r}, refused: 'a', 0 and None",
        lambda got: (
            "Likely: each change refused was kept once (a set)."
            if isinstance(got, list) and len(got) == 3
            else ""
        ),
    )
    if refused is changes:
        fail("apply_all() returned the caller's own list: return a new list.")
    checks.equal(changes, given, "The changes list after", "apply_all() changed the caller's list.")
    checks.equal([e[0] for e in applier.log], given, "The changes applied, in order")
    checks.took(looptime, 6, "Six 1 s changes, one after another")


def check_one_after_another(applier, what) -> None:
    log = [list(e) for e in applier.log]
    if len(log) > 1 and len({e[1] for e in log}) == 1:
        fail(
            f"{what}: every change began at {log[0][1]:g} s: {log!r} ([change, began, ended]). "
            "They ran at the same time (gather or tasks); apply them one after another, "
            "awaiting each before the next."
        )


@pytest.mark.task(5)
@pytest.mark.loop_limit(3 * DAY)
async def test_a_change_that_takes_a_day_is_waited_for(looptime):
    applier = Applier(refuse={"b"}, times={"a": DAY})
    try:
        refused = await debugging.apply_all(["a", "b"], applier)
    except TimeoutError:
        fail(
            "apply_all() raised TimeoutError on a change that took a day to apply: a time limit "
            "of your own (wait_for() or asyncio.timeout()); wait as long as it takes."
        )
    checks.equal(refused, ["b"], "The refused changes of ['a' (a day long), 'b' (refused)]")
    checks.took(looptime, DAY + 1, "A day-long change, then a 1 s one")


@pytest.mark.task(5)
async def test_a_subclass_of_invalid_change_is_a_refusal_too():
    class StaleChange(debugging.InvalidChange):
        """A kind of InvalidChange: refused because it is out of date."""

    applier = Applier(refuse={"old"}, refusal=StaleChange)
    try:
        refused = await debugging.apply_all(["old", "new"], applier)
    except StaleChange:
        fail(
            "apply('old') raised StaleChange, a subclass of InvalidChange, and apply_all() let "
            "it reach the caller: a subclass is a refusal too. Catch it with "
            "`except InvalidChange:` (or isinstance()), not by comparing type(e) with "
            "InvalidChange."
        )
    checks.equal(refused, ["old"], "The refused changes (apply('old') raised StaleChange)")
    checks.equal([e[0] for e in applier.log], ["old", "new"], "The changes applied")


@pytest.mark.task(5)
async def test_an_unexpected_error_reaches_the_caller_at_once():
    applier = Applier(refuse={"x"}, fail_on={"b"})
    try:
        refused = await debugging.apply_all(["x", "b", "c"], applier)
    except Boom as caught:
        if caught is not applier.errors.get("b"):
            raise
    except debugging.InvalidChange:
        fail(
            "apply_all() raised InvalidChange: a refused change is skipped and returned, not "
            "raised."
        )
    else:
        fail(
            f"apply('b') raised Boom (not InvalidChange), but apply_all() returned {refused!r}: "
            "the error was hidden. Likely: a bare `except:` or `except Exception:` catches "
            "every error; catch only InvalidChange, and let the others reach the caller."
        )
    checks.equal(
        [e[0] for e in applier.log],
        ["x", "b"],
        "The changes applied",
        "No change may be applied after an unexpected error.",
    )


@pytest.mark.task(5)
async def test_apply_all_cancelled_ends_cancelled():
    applier = Applier()
    task = asyncio.create_task(debugging.apply_all(["a", "b", "c"], applier))
    await asyncio.sleep(1.5)
    task.cancel()
    await checks.within(10, asyncio.wait([task]), "apply_all() went on after it was cancelled.")
    raise_unexpected(task)
    check_one_after_another(applier, "Three changes, cancelled at 1.5 s")
    if not task.cancelled():
        went_on = [e[0] for e in applier.log if e[1] >= 1.5]
        fail(
            f"apply_all() cancelled at 1.5 s, while applying 'b', {how_it_ended(task)}, after "
            f"applying {[e[0] for e in applier.log]!r}; it should end cancelled at once. "
            + (
                f"It went on to apply {went_on!r} after the cancel. Likely: a bare `except:` or "
                "`except BaseException:` swallowed the CancelledError; catch only InvalidChange."
                if went_on
                else "The CancelledError did not reach the caller: let it go on (catch only "
                "InvalidChange)."
            )
        )
    checks.equal(
        [list(e) for e in applier.log], [["a", 0, 1], ["b", 1, "cancelled"]], "The changes applied"
    )


@pytest.mark.task(5)
async def test_two_apply_alls_keep_their_own_lists():
    first = await debugging.apply_all(["a"], Applier(refuse={"a"}))
    second = await debugging.apply_all(["b"], Applier(refuse={"b"}))
    checks.equal(
        (first, second),
        (["a"], ["b"]),
        "Two calls' refused changes",
        lambda got: (
            "The second call's list holds the first call's 'a': one list shared by every call "
            "(module-level or a default argument)."
            if isinstance(got[1], list) and "a" in got[1]
            else ""
        ),
    )


CHANGES = st.lists(
    st.tuples(st.sampled_from(["a", "b", "", 0]), st.sampled_from(["ok", "refuse", "fail"])),
    max_size=5,
)


@pytest.mark.task(5)
@scenarios.given(changes=CHANGES)
async def test_apply_all_in_any_scenario(changes):
    names = [f"{c}{i}" if c else c for i, (c, _) in enumerate(changes)]
    outcomes: dict = {}
    for name, (_, outcome) in zip(names, changes, strict=True):
        outcomes.setdefault(name, outcome)  # a falsy change given twice has one outcome
    scenarios.describe(f"with changes {[(n, outcomes[n]) for n in names]!r}")
    applier = Applier(
        refuse={n for n, o in outcomes.items() if o == "refuse"},
        fail_on={n for n, o in outcomes.items() if o == "fail"},
    )
    expected, applied = [], []
    failed = None
    for n in names:
        applied.append(n)
        if outcomes[n] == "refuse":
            expected.append(n)
        elif outcomes[n] == "fail":
            failed = n
            break
    what = f"With changes {[(n, outcomes[n]) for n in names]!r}"
    try:
        refused = await debugging.apply_all(list(names), applier)
    except Boom as caught:
        if failed is None or caught is not applier.errors.get(failed):
            raise
    else:
        if failed is not None:
            fail(
                f"{what}: apply({failed!r}) raised Boom, but apply_all() returned {refused!r}: "
                "the error was hidden (catch only InvalidChange)."
            )
        checks.equal(refused, expected, f"{what}: the refused changes")
    checks.equal([e[0] for e in applier.log], applied, f"{what}: the changes applied")
    raise_unexpected()
