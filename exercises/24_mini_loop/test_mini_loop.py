"""Exercise 24 tests. Run them with `pytest exercises/24`.

These tests are plain functions: no asyncio loop runs here. The scheduler's clock is the
learner's own, and the tests watch it through what each task sees when it is resumed."""

import contextlib
import heapq
import inspect
import itertools
import signal
import threading
import time
from collections import deque

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import fail

ml = exercise_module(__file__)

DAY = 86_400
YEAR = 365 * DAY


class Boom(Exception):
    """The error a test's task raises."""

    def __repr__(self) -> str:
        return f"Boom({self.args[0]!r})" if self.args else "Boom()"


class Oops(Exception):
    """An error the test throws into a generator."""


def first_send_hint(exc: BaseException, what: str) -> None:
    if isinstance(exc, TypeError) and "just-started" in str(exc):
        fail(
            f"{what} raised TypeError: {exc}. A generator must be started with send(None) "
            "(or next()): the first send cannot carry an answer, because the generator has "
            "not reached a `yield` to receive it yet."
        )


# Task 1: drive


class Asker:
    """A generator double: yields each question, records every value sent in, how often it
    was resumed and whether it was closed, and returns `result`."""

    def __init__(self, questions, result=None, stop_on_none=False, error=None):
        self.questions = list(questions)
        self.result = result
        self.stop_on_none = stop_on_none  # like the README's totals(): returns on None
        self.error = error  # raised instead of returning
        self.received: list = []
        self.resumes = 0
        self.closed = False
        self.gen = self.run()

    def run(self):
        self.resumes += 1
        try:
            for question in self.questions:
                answer = yield question
                self.resumes += 1
                self.received.append(answer)
                if self.stop_on_none and answer is None:
                    return self.result
        except GeneratorExit:
            self.closed = True
            raise
        if self.error is not None:
            raise self.error
        return self.result


def call_drive(asker: Asker, answers):
    try:
        return ml.drive(asker.gen, answers)
    except TypeError as exc:
        first_send_hint(exc, "drive()")
        raise


def check_drive(got, asker: Asker, answers, what: str) -> None:
    """`answers` is the test's own copy, taken before drive() was called."""
    if not (isinstance(got, tuple) and len(got) == 2):
        fail(f"drive() {what}: expected a tuple (yielded, result), got {got!r}.")
    yielded, result = got
    answers = list(answers)
    checks.equal(
        asker.received,
        answers,
        f"drive() {what}: the values the generator received",
        lambda r: (
            "The answers reached it in another order or not at all: send each answer, "
            "in order, with gen.send(answer) (next(gen) sends None)."
            if r != answers
            else ""
        ),
    )
    checks.equal(
        yielded,
        asker.questions,
        f"drive() {what}: the values it yielded",
        "Keep every value send() hands back, the first one (from send(None)) too.",
    )
    if type(yielded) is not list:
        fail(f"drive() {what}: `yielded` should be a list, got a {type(yielded).__name__}.")
    if result is not asker.result and result != asker.result:
        fail(
            f"drive() {what}: expected the result {asker.result!r}, got {result!r}. The result is "
            "StopIteration.value: catch StopIteration and keep its value as it is"
            + (", even when it is falsy (0, '' and None are results)." if not asker.result else ".")
        )
    if type(result) is not type(asker.result):
        fail(
            f"drive() {what}: expected the result {asker.result!r} "
            f"({type(asker.result).__name__}), got {result!r} ({type(result).__name__})."
        )


@pytest.mark.task(1)
def test_drive_primes_the_generator_and_sends_each_answer():
    asker = Asker(["name?", "age?", "town?"], result={"done": True})
    answers = ["Ada", 36, "London"]
    got = call_drive(asker, list(answers))
    check_drive(got, asker, answers, "with three questions")


@pytest.mark.task(1)
def test_drive_keeps_falsy_answers_questions_and_results():
    for result in (0, "", None, False):
        asker = Asker([None, 0, ""], result=result)
        answers = [0, None, ""]
        got = call_drive(asker, list(answers))
        check_drive(got, asker, answers, f"with questions [None, 0, ''] and a result of {result!r}")


@pytest.mark.task(1)
def test_drive_resumes_the_generator_once_per_answer():
    asker = Asker(["a?", "a?", "b?"], result="ok")
    answers = ["x", "x", "y"]
    got = call_drive(asker, list(answers))
    check_drive(got, asker, answers, "with the same question twice")
    checks.equal(
        asker.resumes,
        4,
        "drive() with three answers: times the generator was resumed (send(None), then one "
        "send per answer)",
        "Resume it exactly once to start and once per answer.",
    )


@pytest.mark.task(1)
def test_drive_leaves_the_answers_unchanged():
    asker = Asker(["q1", "q2"], result=3)
    answers = [1, 2]
    got = call_drive(asker, answers)
    checks.equal(
        answers,
        [1, 2],
        "drive(): the caller's answers afterwards",
        "Leave them as given: do not pop() them.",
    )
    check_drive(got, asker, [1, 2], "with two answers")


@pytest.mark.task(1)
def test_drive_a_generator_that_asks_nothing():
    asker = Asker([], result="at once")
    got = call_drive(asker, [])
    check_drive(got, asker, [], "with a generator that returns before its first yield")


@pytest.mark.task(1)
def test_drive_refuses_answers_left_over():
    asker = Asker(["only?"], result=1)
    try:
        got = call_drive(asker, ["a", "b", "c"])
    except ValueError:
        return
    except StopIteration:
        fail(
            "drive() with three answers for a generator that asks one question raised "
            "StopIteration out of drive(). Catch it: the generator finished with answers left, "
            "which is a ValueError."
        )
    fail(
        f"drive() with three answers for a generator that asks one question returned {got!r}; "
        "expected ValueError: the generator returned before every answer was sent."
    )


@pytest.mark.task(1)
def test_drive_closes_a_generator_that_wants_more_answers():
    asker = Asker(["q1", "q2", "q3"], result=1)
    try:
        got = call_drive(asker, ["a"])
    except ValueError:
        checks.equal(
            asker.closed,
            True,
            "drive() with too few answers: the generator was closed",
            "Call gen.close() before raising, so its cleanup (finally) runs now.",
        )
        return
    fail(
        f"drive() with one answer for a generator that asks three questions returned {got!r}; "
        "expected ValueError (after closing the generator): it still wanted answers."
    )


@pytest.mark.task(1)
def test_drive_sends_nothing_after_the_last_answer():
    # Like the README's totals(): this generator returns as soon as it receives None.
    asker = Asker(["0?", "5?", "7?"], result=7, stop_on_none=True)
    what = (
        "drive() with the answers [5, 2] for a generator that asks three questions (and, like "
        "the README's totals(), returns when it receives None)"
    )
    try:
        got = call_drive(asker, [5, 2])
    except ValueError:
        got = None
    extra = asker.received[2:]
    if extra:
        fail(
            f"{what}: after the last answer, drive() sent it {extra!r} as well"
            + (", and on None it returned" if got is not None else "")
            + ". Send nothing after the last answer: if it still yields, close() it and raise "
            "ValueError."
        )
    if got is not None:
        fail(f"{what} returned {got!r}; expected ValueError: it still wanted an answer.")
    checks.equal(
        asker.closed,
        True,
        f"{what}: the generator was closed",
        "Call gen.close() before raising, so its cleanup (finally) runs now.",
    )


@pytest.mark.task(1)
def test_drive_reads_answers_from_any_iterable():
    asker = Asker(["q1", "q2"], result="ok")
    given = ["x", 0]
    try:
        got = call_drive(asker, iter(given))
    except TypeError as exc:
        fail(
            f"drive() with its answers given as an iterator (iter(['x', 0])) raised TypeError: "
            f"{exc}. `answers` may be any iterable, read once: loop over it with `for` (or "
            "make a list of it first) rather than len(answers) or answers[i]."
        )
    check_drive(got, asker, given, "with its answers given as an iterator")


@pytest.mark.task(1)
def test_drive_lets_the_generators_own_error_through():
    error = KeyError("town")
    asker = Asker(["name?", "town?"], error=error)
    what = "drive() with two answers for a generator that raises KeyError('town') after the last"
    try:
        got = call_drive(asker, ["Ada", "London"])
    except KeyError as exc:
        checks.equal(exc is error, True, f"{what}: the very KeyError came out of drive()")
        return
    except NotImplementedError:
        raise
    except Exception as exc:
        fail(
            f"{what} raised {exc!r}; expected the generator's own KeyError to come out of "
            "drive() as it is: catch only StopIteration."
        )
    fail(
        f"{what} returned {got!r}; expected the KeyError to come out of drive(): the "
        "generator's own exception was swallowed. Catch only StopIteration; let every other "
        "exception through."
    )


QUESTIONS = st.lists(st.sampled_from(["q", "", 0, None, "r"]), max_size=5)
RESULTS = st.sampled_from([0, "", None, "done", 7])


@pytest.mark.task(1)
@scenarios.given(questions=QUESTIONS, result=RESULTS)
def test_drive_in_any_scenario(questions, result):
    answers = [f"a{i}" if i % 2 else i for i in range(len(questions))]
    scenarios.describe(f"with questions {questions!r} and answers {answers!r}")
    asker = Asker(questions, result=result)
    got = call_drive(asker, list(answers))
    check_drive(got, asker, answers, f"with questions {questions!r} and answers {answers!r}")
    checks.equal(asker.resumes, len(answers) + 1, f"drive() with {len(answers)} answers: resumes")


# Task 2: in_turn


class Sub:
    """A subroutine double: yields its prompts, records what it receives (and throws or
    closes), returns `result`. With `recover`, it catches Oops and yields "recovered"."""

    def __init__(self, name, prompts, result, log, recover=False):
        self.name, self.prompts, self.result, self.log = name, list(prompts), result, log
        self.recover = recover
        self.gen = self.run()

    def run(self):
        self.log.append((self.name, "start"))
        try:
            for prompt in self.prompts:
                try:
                    got = yield prompt
                except Oops:
                    self.log.append((self.name, "caught Oops"))
                    if not self.recover:
                        raise
                    got = yield "recovered"
                self.log.append((self.name, "got", got))
        except GeneratorExit:
            self.log.append((self.name, "closed"))
            raise
        self.log.append((self.name, "return", self.result))
        return self.result


def start_in_turn(gens):
    outer = ml.in_turn(gens)
    if not inspect.isgenerator(outer):
        fail(
            f"in_turn() returned {type(outer).__name__} {outer!r}; expected a generator. Write "
            "it as a generator function: `result = yield from sub` inside it makes it one."
        )
    return outer


def run_in_turn(gens, answer):
    """Drive in_turn by hand (the test's own driver): answer(prompt) is sent back."""
    outer = start_in_turn(gens)
    prompts = []
    try:
        prompt = outer.send(None)
        while True:
            prompts.append(prompt)
            prompt = outer.send(answer(prompt))
    except StopIteration as stop:
        return prompts, stop.value


def shout(prompt):
    return prompt.upper() if isinstance(prompt, str) else prompt


def exclaim(prompt):
    return prompt + "!" if isinstance(prompt, str) else prompt


def extra_yields_hint(prompts, results, expected) -> str:
    """Names the subroutines' return values in_turn() yielded, if the test saw any."""
    extra = list(prompts)
    for p in expected:
        if p in extra:
            extra.remove(p)
    returned = [p for p in extra if any(p is r or p == r for r in results)]
    if returned:
        return (
            f"in_turn() also yielded {returned!r}, which the subroutines returned: keep "
            "return values for the list it returns at the end; yield only what the "
            "subroutines yield (`yield from` does that)."
        )
    return ""


def lost_sends(log) -> str:
    gots = [e[2] for e in log if e[1] == "got"]
    if gots and all(g is None for g in gots):
        return (
            " Every subroutine received None: the values sent into in_turn never reached it. "
            "`for x in sub: yield x` drops what is sent; `yield from sub` passes it through."
        )
    return ""


def check_results(results, expected, log, what):
    if results is None and expected is not None:
        fail(
            f"in_turn() {what}: expected it to return {expected!r}, got None. Keep each "
            "subroutine's return value: `value = yield from sub`, then return the list."
            + lost_sends(log)
        )
    if type(results) is not list:
        fail(f"in_turn() {what}: expected it to return a list, got {results!r}.")
    checks.equal(
        results,
        expected,
        f"in_turn() {what}: the list it returned",
        lambda r: (
            (
                "A falsy return value (0, '', None) is a value: keep it."
                if [x for x in expected if x] == [x for x in r if x] and len(r) < len(expected)
                else "Keep every subroutine's return value, in order: `value = yield from sub`."
            )
            + lost_sends(log)
        ),
    )


@pytest.mark.task(2)
def test_in_turn_passes_values_both_ways_and_returns_every_result():
    log = []
    subs = [Sub("header", ["h1", "h2"], {"h": 2}, log), Sub("body", ["b1"], ["body"], log)]
    prompts, results = run_in_turn([s.gen for s in subs], shout)
    checks.equal(
        prompts,
        ["h1", "h2", "b1"],
        "in_turn(): the values it yielded, in order",
        extra_yields_hint(prompts, [{"h": 2}, ["body"]], ["h1", "h2", "b1"]),
    )
    expected_log = [
        ("header", "start"),
        ("header", "got", "H1"),
        ("header", "got", "H2"),
        ("header", "return", {"h": 2}),
        ("body", "start"),
        ("body", "got", "B1"),
        ("body", "return", ["body"]),
    ]
    checks.equal(
        log,
        expected_log,
        "in_turn(): what the subroutines saw",
        lambda r: (
            lost_sends(log).strip()
            or "Run the subroutines one after the other, each to its end, with `yield from`."
        ),
    )
    check_results(results, [{"h": 2}, ["body"]], log, "with two subroutines")


@pytest.mark.task(2)
def test_in_turn_keeps_falsy_and_repeated_results():
    log = []
    subs = [Sub(f"s{i}", ["p"], r, log) for i, r in enumerate([0, None, "", 0, False])]
    _, results = run_in_turn([s.gen for s in subs], lambda p: p)
    check_results(
        results, [0, None, "", 0, False], log, "with subroutines returning 0, None, '', 0, False"
    )


@pytest.mark.task(2)
def test_in_turn_of_no_subroutines_returns_an_empty_list_at_once():
    prompts, results = run_in_turn([], lambda p: p)
    checks.equal(prompts, [], "in_turn([]): the values it yielded")
    check_results(results, [], [], "of no subroutines")


@pytest.mark.task(2)
def test_in_turn_starts_nothing_until_it_is_resumed_and_leaves_the_list_unchanged():
    log = []
    subs = [Sub("a", ["p"], 1, log), Sub("b", [], 2, log)]
    gens = [s.gen for s in subs]
    given = list(gens)
    outer = start_in_turn(gens)
    checks.equal(
        log,
        [],
        "in_turn() called but not yet resumed: what the subroutines did",
        "Nothing should run until the caller sends None: a generator function's body runs only when resumed.",  # noqa: E501
    )
    checks.equal(outer.send(None), "p", "in_turn(): the first value it yielded")
    checks.equal(log, [("a", "start")], "in_turn() after the first send(None): what ran")
    try:
        outer.send("x")
    except StopIteration as stop:
        check_results(stop.value, [1, 2], log, "with two subroutines")
    else:
        fail("in_turn() yielded again after its last subroutine ended; expected it to return.")
    checks.equal(
        gens,
        given,
        "in_turn(): the caller's list of subroutines afterwards",
        "Leave it as given: iterate over it rather than pop() from it.",
    )


@pytest.mark.task(2)
def test_throw_reaches_the_running_subroutine():
    log = []
    subs = [Sub("a", ["p1"], "A", log), Sub("b", ["p2", "p3"], "B", log, recover=True)]
    outer = start_in_turn([s.gen for s in subs])
    outer.send(None)
    checks.equal(
        outer.send("one"), "p2", "in_turn(): the value yielded after the first subroutine ended"
    )
    try:
        got = outer.throw(Oops())
    except Oops:
        fail(
            "An Oops thrown into in_turn() while subroutine b waited came straight back out, "
            f"and b saw: {[e for e in log if e[0] == 'b']!r}. Likely: the subroutine was driven "
            "with a for loop (or next()), so throw() stopped at in_turn itself; `yield from "
            "sub` passes throw() on to the subroutine."
        )
    checks.equal(
        got,
        "recovered",
        "in_turn().throw(Oops()) while b waited: the value b yielded when it caught it",
    )
    checks.equal(outer.send("two"), "p3", "in_turn(): the next value after b recovered")
    try:
        outer.send("three")
    except StopIteration as stop:
        check_results(stop.value, ["A", "B"], log, "after b caught a thrown Oops")
    else:
        fail("in_turn() yielded again after its last subroutine ended; expected it to return.")


@pytest.mark.task(2)
def test_an_uncaught_throw_ends_in_turn_with_that_error():
    log = []
    subs = [Sub("a", ["p1"], "A", log), Sub("b", ["p2"], "B", log)]
    outer = start_in_turn([s.gen for s in subs])
    outer.send(None)
    error = Oops()
    try:
        outer.throw(error)
    except Oops as exc:
        checks.equal(exc is error, True, "in_turn().throw(error): the very error came back out")
    except StopIteration:
        fail("in_turn().throw(Oops()) ended it normally; expected the Oops to come out.")
    else:
        fail(
            "in_turn().throw(Oops()) yielded a value; expected the Oops the subroutine did not catch to come out."  # noqa: E501
        )
    checks.equal(
        log,
        [("a", "start"), ("a", "caught Oops")],
        "in_turn(): what the subroutines saw",
        "The error thrown in should reach subroutine a and end in_turn: b never starts.",
    )


@pytest.mark.task(2)
def test_close_closes_the_running_subroutine():
    log = []
    subs = [Sub("a", ["p1", "p2"], "A", log), Sub("b", ["p3"], "B", log)]
    outer = start_in_turn([s.gen for s in subs])
    outer.send(None)
    outer.close()
    checks.equal(
        log,
        [("a", "start"), ("a", "closed")],
        "in_turn().close() while subroutine a waited: what the subroutines saw",
        "close() should reach the running subroutine (its cleanup runs now) and no other starts: "
        "`yield from sub` passes close() on.",
    )


SUBS = st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0, None, "", "x", 5])), max_size=4)


@pytest.mark.task(2)
@scenarios.given(specs=SUBS)
def test_in_turn_in_any_scenario(specs):
    scenarios.describe(f"with subroutines (prompts, result) {specs!r}")
    log = []
    subs = [Sub(f"s{i}", [f"s{i}p{j}" for j in range(n)], r, log) for i, (n, r) in enumerate(specs)]
    prompts, results = run_in_turn([s.gen for s in subs], exclaim)
    expected_prompts = [p for s in subs for p in s.prompts]
    what = f"with subroutines (number of prompts, result) {specs!r}"
    checks.equal(
        prompts,
        expected_prompts,
        f"in_turn() {what}: the values it yielded",
        extra_yields_hint(prompts, [r for _, r in specs], expected_prompts),
    )
    got = [e[2] for e in log if e[1] == "got"]
    checks.equal(
        got,
        [p + "!" for p in expected_prompts],
        f"in_turn() {what}: the values the subroutines received",
        lost_sends(log).strip(),
    )
    check_results(results, [r for _, r in specs], log, what)


# Task 3: Scheduler


class Task:
    """A task double for a Scheduler: a generator that logs (now, name, step) each time it is
    resumed, yields each of `steps` (a Sleep, None, or anything), then returns `result` or
    raises `error`."""

    def __init__(self, sched, name, steps, log, result=None, error=None):
        self.sched, self.name, self.steps, self.log = sched, name, list(steps), log
        self.result, self.error = result, error
        self.resumes = 0
        self.closed = False
        self.mistimed: list = []  # (step, fell asleep at, seconds, due, resumed at)
        self.gen = self.run()

    def run(self):
        try:
            for i, step in enumerate(self.steps):
                self.resumes += 1
                asleep_at = getattr(self.sched, "now", None)
                self.log.append((asleep_at, self.name, i))
                got = yield step
                self.check_wake(i, step, asleep_at)
                if got is not None:
                    self.log.append((self.sched.now, self.name, "received", got))
            self.resumes += 1
            self.log.append((self.sched.now, self.name, "end"))
        except GeneratorExit:
            self.closed = True
            raise
        if self.error is not None:
            raise self.error
        return self.result

    def check_wake(self, i, step, asleep_at):
        seconds = getattr(step, "seconds", None)
        if not isinstance(seconds, (int, float)) or seconds <= 0:
            return
        if not isinstance(asleep_at, (int, float)):
            return
        now = getattr(self.sched, "now", None)
        due = asleep_at + seconds
        if now != due:
            self.mistimed.append((i, asleep_at, seconds, due, now))


def timing_hint(tasks) -> str:
    """What the task doubles saw of their wake-ups, when one was resumed off its time."""
    for task in tasks:
        for _i, asleep_at, seconds, due, now in getattr(task, "mistimed", []):
            head = (
                f"Task {task.name} went to sleep for {seconds!r} s at now = {asleep_at!r} (due "
                f"at {due!r}) and was resumed at now = {now!r}"
            )
            if not isinstance(now, (int, float)):
                return f"{head}."
            if asleep_at > 0 and now == seconds:
                return (
                    f"{head}: its wake time was taken as {seconds!r}, the length of the sleep. "
                    "The wake time is now + seconds."
                )
            if now < due:
                return (
                    f"{head}: before its time. Possibly `now` was not set to the wake-up time "
                    "before the task was resumed (set it first, then resume), or tasks not yet "
                    "due were woken with the first one."
                )
            return (
                f"{head}: after its time, so the clock had gone past its wake-up. Possibly the "
                "clock moved in steps, or a later wake-up was taken first: when nothing is "
                "ready, jump to the earliest wake time."
            )
    return ""


class RealSleep(BaseException):
    """Raised by the test's time.sleep: the scheduler slept for real."""


def new_scheduler():
    sched = ml.Scheduler()
    if getattr(sched, "now", None) != 0:
        fail(
            "A new Scheduler's clock `now` should be 0, got "
            f"{getattr(sched, 'now', 'no attribute')!r}."
        )
    return sched


def spawn(sched, *tasks):
    ids = [sched.spawn(t.gen) for t in tasks]
    return ids


class Creeping(BaseException):
    """Raised by the test's real-time alarm: run() was still going."""


ALARM = 1.3  # real seconds before the alarm looks at the clock; a correct run takes ms
SECOND_LOOK = 0.2  # and how long after that it looks again


@contextlib.contextmanager
def alarm(sched, what):
    """Stops a run() that has not finished after ~1.5 s of real time, and says what its clock
    was doing (the kit itself would only stop it after 3 s, with no word on the clock)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    looks = []

    def ring(signum, frame):
        looks.append(getattr(sched, "now", None))
        if len(looks) == 1:
            signal.setitimer(signal.ITIMER_REAL, SECOND_LOOK)
            return
        raise Creeping()

    before = signal.signal(signal.SIGALRM, ring)
    timer = signal.setitimer(signal.ITIMER_REAL, ALARM)
    try:
        yield
    except Creeping:
        first, last = looks[0], looks[-1]
        if first != last:
            fail(
                f"{what}: run() had not finished after {ALARM + SECOND_LOOK} s of real time (a "
                f"correct run takes milliseconds), and in its last {SECOND_LOOK} s the clock "
                f"`now` crept from {first!r} to {last!r}: it was moving in small steps towards "
                "the next wake-up (`while now < wake: now += tick`). When no task is ready, "
                "set `now` to the earliest wake time at once."
            )
        fail(
            f"{what}: run() had not finished after {ALARM + SECOND_LOOK} s of real time (a "
            f"correct run takes milliseconds), and the clock `now` stood still at {last!r}. "
            "Possibly a loop that waits for the clock without moving it, or tasks resumed "
            "over and over."
        )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)
        if timer[0] > 0 or timer[1] > 0:
            signal.setitimer(signal.ITIMER_REAL, timer[0] or timer[1], timer[1])


def run(sched, what):
    with alarm(sched, what):
        return run_unwatched(sched, what)


def run_unwatched(sched, what):
    try:
        return sched.run()
    except TypeError as exc:
        if "not supported between instances of" in str(exc):
            fail(
                f"{what}: run() raised TypeError: {exc}. Two tasks woke at the same time and the "
                "heap compared what came after the wake time. Put a counter between them: "
                "(wake_time, next(counter), task)."
            )
        first_send_hint(exc, f"{what}: run()")
        raise
    except RealSleep:
        fail(
            f"{what}: run() called time.sleep(): the scheduler slept for real. Its clock is its "
            "own: when no task is ready, set `now` to the next wake-up time instead of waiting."
        )


def raise_stub_errors(sched):
    """Raise the stub's NotImplementedError from a scheduler's task: "not written yet"."""
    for exc in getattr(sched, "errors", {}).values():
        if isinstance(exc, NotImplementedError):
            raise exc


def check_log(log, expected, what, tasks=()):
    if log == expected:
        return
    hint = ""
    times = [e[0] for e in log if isinstance(e[0], (int, float))]
    received = [e for e in log if len(e) == 4 and e[2] == "received"]
    if received:
        _, name, _, got = received[0]
        hint = (
            f" Task {name} was resumed with send({got!r}): it received {got!r} where it "
            "yielded. Resume every task with send(None); it was not an extra resume."
        )
    elif timing_hint(tasks):
        hint = " " + timing_hint(tasks)
    elif any(a > b for a, b in itertools.pairwise(times)):
        hint = " The clock went backwards between resumes."
    elif len(log) > len(expected):
        hint = (
            " Some task was resumed more often than its steps: a sleeping task resumed before "
            "its time (polled) comes back early."
        )
    checks.equal(
        log, expected, f"{what}: the (now, task, step) each task saw when resumed", hint.strip()
    )


@pytest.mark.task(3)
def test_tasks_that_only_yield_take_turns_first_in_first_out():
    sched = new_scheduler()
    log = []
    tasks = [Task(sched, n, [None, None], log, result=n) for n in "abc"]
    ids = spawn(sched, *tasks)
    checks.equal(ids, [0, 1, 2], "spawn() three times: the ids it returned")
    checks.equal(
        log,
        [],
        "after spawn() and before run(): what the tasks did",
        "spawn() only adds a task; run() runs it.",
    )
    results = run(sched, "Three tasks that each yield twice")
    raise_stub_errors(sched)
    expected = [(0, n, i) for i in (0, 1) for n in "abc"] + [(0, n, "end") for n in "abc"]
    if log != expected and sorted(repr(e[1:]) for e in log) == sorted(
        repr(e[1:]) for e in expected
    ):
        fail(
            "Three tasks that each yield None twice ran in the order "
            f"{[(e[1], e[2]) for e in log]!r}; expected {[(e[1], e[2]) for e in expected]!r}. A "
            "task that yields goes to the BACK of the ready line (first in, first out): taking "
            "tasks from the same end they were added to (LIFO) runs the newest first."
        )
    check_log(log, expected, "Three tasks that each yield None twice", tasks)
    checks.equal(results, {0: "a", 1: "b", 2: "c"}, "run(): the results")


@pytest.mark.task(3)
def test_sleeping_tasks_wake_in_order_of_their_wake_time():
    sched = new_scheduler()
    log = []
    S = ml.Sleep
    tasks = [
        Task(sched, "a", [S(3)], log, result="a"),
        Task(sched, "b", [S(1)], log, result="b"),
        Task(sched, "c", [S(2)], log, result="c"),
    ]
    spawn(sched, *tasks)
    results = run(sched, "Tasks sleeping 3, 1 and 2 s")
    raise_stub_errors(sched)
    expected = [
        (0, "a", 0),
        (0, "b", 0),
        (0, "c", 0),
        (1, "b", "end"),
        (2, "c", "end"),
        (3, "a", "end"),
    ]
    ends = [e[1] for e in log if e[2] == "end"]
    check_log(
        log,
        expected,
        "Tasks a, b, c sleeping 3, 1 and 2 s",
        tasks,
    ) if ends != ["a", "b", "c"] else fail(
        "Tasks a, b, c sleeping 3, 1 and 2 s woke in the order a, b, c (the order they were "
        f"spawned), seeing {log!r}; expected b at 1, c at 2, a at 3. Wake sleeping tasks by their "
        "wake time (a heap of (wake_time, ...)), not in spawn order."
    )
    checks.equal(results, {0: "a", 1: "b", 2: "c"}, "run(): the results")
    checks.equal(sched.now, 3, "The clock after run()")


@pytest.mark.task(3)
def test_tasks_due_at_the_same_time_run_in_the_order_they_went_to_sleep():
    sched = new_scheduler()
    log = []
    S = ml.Sleep
    tasks = [
        Task(sched, "a", [S(1), S(2)], log, result=1),  # falls asleep for 3 s at time 1
        Task(sched, "b", [S(3)], log, result=2),  # falls asleep until 3 at time 0: first
        Task(sched, "c", [S(3)], log, result=3),  # falls asleep until 3 at time 0: second
    ]
    spawn(sched, *tasks)
    run(sched, "Three tasks all due at 3 s")
    raise_stub_errors(sched)
    expected = [
        (0, "a", 0),
        (0, "b", 0),
        (0, "c", 0),
        (1, "a", 1),
        (3, "b", "end"),
        (3, "c", "end"),
        (3, "a", "end"),
    ]
    ends = [e[1] for e in log if e[2] == "end"]
    if ends == ["a", "b", "c"] and log[:4] == expected[:4]:
        fail(
            f"Tasks b and c went to sleep at 0 s and a at 1 s, all until 3 s; at 3 s they ran "
            f"in the order {ends!r} (the order they were spawned); expected ['b', 'c', 'a']. "
            "Break ties between equal wake times by the order they went to sleep (a counter "
            "that counts every Sleep), not by task id."
        )
    if ends == ["a", "c", "b"] and log[:4] == expected[:4]:
        fail(
            f"Tasks b and c went to sleep at 0 s and a at 1 s, all until 3 s; at 3 s they ran "
            f"in the order {ends!r}, the last to fall asleep first; expected ['b', 'c', 'a']. "
            "Ties between equal wake times go in the order the tasks went to sleep: possibly "
            "a counter that counts down, or bisect.insort_left (which puts an equal entry "
            "before the others; bisect.insort puts it after)."
        )
    check_log(log, expected, "Tasks b, c asleep from 0 s and a from 1 s, all until 3 s", tasks)


@pytest.mark.task(3)
def test_every_task_due_joins_the_ready_line_when_the_clock_jumps():
    sched = new_scheduler()
    log = []
    tasks = [
        Task(sched, "a", [ml.Sleep(1), None], log),
        Task(sched, "b", [ml.Sleep(1)], log),
    ]
    spawn(sched, *tasks)
    run(sched, "Tasks a and b both due at 1 s, a yielding once more")
    raise_stub_errors(sched)
    check_log(
        log,
        [(0, "a", 0), (0, "b", 0), (1, "a", 1), (1, "b", "end"), (1, "a", "end")],
        "Tasks a and b both due at 1 s, a yielding None once more (b was due first, so it runs "
        "before a's next turn: move every task due into the ready line when the clock jumps)",
        tasks,
    )


@pytest.mark.task(3)
def test_the_clock_jumps_straight_to_each_wake_up():
    sched = new_scheduler()
    log = []
    S = ml.Sleep
    third = 1 / 3
    tasks = [
        Task(sched, "a", [S(third), S(2.5)], log, result="a"),
        Task(sched, "b", [S(DAY)], log, result="b"),
    ]
    spawn(sched, *tasks)
    run(sched, "Tasks sleeping 1/3 s then 2.5 s, and a day")
    raise_stub_errors(sched)
    expected = [
        (0, "a", 0),
        (0, "b", 0),
        (third, "a", 1),
        (third + 2.5, "a", "end"),
        (DAY, "b", "end"),
    ]
    seen = [e[0] for e in log]
    if len(log) == len(expected) and any(
        abs(s - e[0]) > 1e-9 for s, e in zip(seen, expected, strict=True)
    ):
        fail(
            "Tasks sleeping 1/3 s then 2.5 s, and a day, were resumed at the times "
            f"{seen!r}; expected {[e[0] for e in expected]!r}. "
            + (
                timing_hint(tasks)
                or "Possibly the clock moved in small steps and stopped past the wake-up, or a "
                "task was resumed before its time. When no task is ready, set `now` to the "
                "earliest wake time at once."
            )
        )
    check_log(log, expected, "Tasks sleeping 1/3 s then 2.5 s, and a day", tasks)
    checks.equal(
        [t.resumes for t in tasks],
        [3, 2],
        "Times each task was resumed (its steps, plus the end)",
        "A sleeping task is resumed once, when its time comes: never early to check the time.",
    )


@pytest.mark.task(3)
def test_a_year_long_sleep_costs_nothing_and_never_sleeps_for_real(monkeypatch):
    def no_real_sleep(seconds):
        raise RealSleep(seconds)

    monkeypatch.setattr(time, "sleep", no_real_sleep)
    sched = new_scheduler()
    log = []
    task = Task(sched, "sleeper", [ml.Sleep(YEAR), ml.Sleep(YEAR)], log, result="awake")
    spawn(sched, task)
    results = run(sched, "A task sleeping a year, twice")
    raise_stub_errors(sched)
    check_log(
        log,
        [(0, "sleeper", 0), (YEAR, "sleeper", 1), (2 * YEAR, "sleeper", "end")],
        "A task sleeping a year, twice",
        [task],
    )
    checks.equal(task.resumes, 3, "Times the sleeping task was resumed")
    checks.equal(results, {0: "awake"}, "run(): the results")


@pytest.mark.task(3)
def test_every_result_is_kept_falsy_ones_too():
    sched = new_scheduler()
    log = []
    values = [0, None, "", False, "x", 0]
    tasks = [Task(sched, f"t{i}", [ml.Sleep(i % 3)], log, result=v) for i, v in enumerate(values)]
    spawn(sched, *tasks)
    results = run(sched, "Six tasks returning 0, None, '', False, 'x', 0")
    raise_stub_errors(sched)
    expected = dict(enumerate(values))
    if not isinstance(results, dict):
        fail(
            f"run() returned {results!r}; expected a dict {{task id: return value}}: {expected!r}."
        )
    checks.equal(
        results,
        expected,
        "run() for tasks returning 0, None, '', False, 'x', 0: the results",
        lambda r: (
            "A falsy return value is a result: keep StopIteration.value whatever it is."
            if set(r) < set(expected)
            else "Keep each task's StopIteration.value under its id."
            if any(r.get(k) != v for k, v in expected.items() if k in r)
            else ""
        ),
    )
    checks.equal(sched.errors, {}, "Scheduler.errors when no task raised")


@pytest.mark.task(3)
def test_a_failing_task_is_recorded_and_the_others_go_on():
    sched = new_scheduler()
    log = []
    error = Boom("task b broke")
    S = ml.Sleep
    tasks = [
        Task(sched, "a", [S(1), S(1)], log, result="a"),
        Task(sched, "b", [S(1)], log, error=error),
        Task(sched, "c", [S(3)], log, result="c"),
    ]
    spawn(sched, *tasks)
    try:
        with alarm(sched, "Tasks a, c and a failing b"):
            results = sched.run()
    except Boom:
        fail(
            f"Task b raised Boom at 1 s and it came out of run() (the tasks saw {log!r}): one "
            "failing task stopped the scheduler. Catch the task's exception, record it in "
            "`errors`, and go on with the others."
        )
    raise_stub_errors(sched)
    check_log(
        log,
        [
            (0, "a", 0),
            (0, "b", 0),
            (0, "c", 0),
            (1, "a", 1),
            (1, "b", "end"),
            (2, "a", "end"),
            (3, "c", "end"),
        ],
        "Tasks a, c and a failing b",
        tasks,
    )
    errors = getattr(sched, "errors", None)
    if not errors or 1 not in errors:
        fail(
            f"Task 1 (b) raised Boom('task b broke'), and Scheduler.errors is {errors!r}; expected "
            "{1: Boom('task b broke')}. The exception was swallowed with no record."
        )
    checks.equal(
        errors,
        {1: error},
        "Scheduler.errors",
        "Record the very exception the task raised, under its id.",
    )
    checks.equal(
        errors[1] is error, True, "Scheduler.errors[1] is the very exception task b raised"
    )
    checks.equal(results, {0: "a", 2: "c"}, "run(): the results (a failed task has none)")


@pytest.mark.task(3)
def test_a_task_yielding_something_unknown_gets_a_type_error_and_is_closed():
    sched = new_scheduler()
    log = []
    tasks = [
        Task(sched, "a", [ml.Sleep(1)], log, result="a"),
        Task(sched, "odd", ["soon", None], log, result="never"),
        Task(sched, "c", [None, ml.Sleep(2)], log, result="c"),
    ]
    spawn(sched, *tasks)
    try:
        with alarm(sched, "Tasks a, c and one that yields 'soon'"):
            results = sched.run()
    except Exception as exc:
        fail(
            f"A task that yielded 'soon' made run() raise {exc!r}; expected run() to record a "
            "TypeError for that task in `errors`, close it and go on with the others."
        )
    raise_stub_errors(sched)
    errors = getattr(sched, "errors", {})
    if not isinstance(errors.get(1), TypeError):
        fail(
            f"Task 1 yielded 'soon' (neither a Sleep nor None); Scheduler.errors is {errors!r}, "
            f"results {results!r}; expected a TypeError recorded under 1. Likely: an unknown "
            "value treated as a sleep of 0 or ignored."
        )
    checks.equal(
        tasks[1].closed,
        True,
        "The task that yielded 'soon' was closed",
        "Call its close() so its cleanup runs.",
    )
    checks.equal(results, {0: "a", 2: "c"}, "run(): the results")
    check_log(
        log,
        [(0, "a", 0), (0, "odd", 0), (0, "c", 0), (0, "c", 1), (1, "a", "end"), (2, "c", "end")],
        "Tasks a, c and one that yields 'soon'",
        tasks,
    )


class BadCleanup:
    """A task double that yields 'soon' and whose cleanup fails when it is closed: it raises
    `error` (how="raises"), or yields once more, so close() raises RuntimeError
    (how="yields"). It logs (now, "odd", step) as Task does, and "cleanup" when closed."""

    def __init__(self, sched, log, how, error=None):
        self.sched, self.log, self.how, self.error = sched, log, how, error
        self.gen = self.run()

    def run(self):
        self.log.append((self.sched.now, "odd", 0))
        try:
            yield "soon"
        except GeneratorExit:
            self.log.append((self.sched.now, "odd", "cleanup"))
            if self.how == "raises":
                raise self.error from None
            yield "not closing yet"  # close() raises RuntimeError; a second close() ends it
        self.log.append((self.sched.now, "odd", "resumed after close"))
        return "never"


def carries(recorded, wanted, depth=0) -> bool:
    """Whether `recorded` is `wanted`, or holds it as its cause, context or in a group."""
    if depth > 10 or not isinstance(recorded, BaseException):
        return False
    if wanted(recorded):
        return True
    inner = [recorded.__cause__, recorded.__context__]
    inner += list(getattr(recorded, "exceptions", ()))
    return any(carries(e, wanted, depth + 1) for e in inner)


@pytest.mark.task(3)
@pytest.mark.parametrize("how", ["raises", "yields"])
def test_a_task_whose_cleanup_fails_when_closed_is_recorded_and_the_others_go_on(how):
    sched = new_scheduler()
    log = []
    error = ValueError("cleanup failed")
    odd = BadCleanup(sched, log, how, error)
    tasks = [
        Task(sched, "a", [ml.Sleep(1)], log, result="a"),
        Task(sched, "c", [None, ml.Sleep(2)], log, result="c"),
    ]
    ids = [sched.spawn(tasks[0].gen), sched.spawn(odd.gen), sched.spawn(tasks[1].gen)]
    checks.equal(ids, [0, 1, 2], "spawn(): the ids")
    if how == "raises":
        what = (
            "Tasks a, c and one that yields 'soon' and, when closed, raises "
            "ValueError('cleanup failed') from its cleanup"
        )
        close_error = "ValueError('cleanup failed')"

        def is_close_error(e):
            return e is error

    else:
        what = (
            "Tasks a, c and one that yields 'soon' and, when closed, yields again, so close() "
            "raises RuntimeError('generator ignored GeneratorExit')"
        )
        close_error = "RuntimeError('generator ignored GeneratorExit')"

        def is_close_error(e):
            return isinstance(e, RuntimeError) and "GeneratorExit" in str(e)

    try:
        try:
            with alarm(sched, what):
                results = sched.run()
        except Exception as exc:
            if is_close_error(exc):
                unfinished = [t.name for t in tasks if (t.name, "end") not in {e[1:] for e in log}]
                fail(
                    f"{what}: run() raised {exc!r}, the error close() raised, so this one task "
                    "stopped the scheduler"
                    + (f" (task {' and '.join(unfinished)} never finished)" if unfinished else "")
                    + ". Closing a task can fail like any other step of it: call close() inside "
                    "try/except Exception, record what it raised for that task, and go on with "
                    "the others."
                )
            fail(
                f"{what}: run() raised {exc!r}; expected it to record an error for task 1 and "
                "go on with the others."
            )
        raise_stub_errors(sched)
        errors = getattr(sched, "errors", {})
        steps = [e[2] for e in log if e[1] == "odd"]
        if "cleanup" not in steps:
            fail(
                f"{what}: task 1 was never closed (it saw {steps!r}; Scheduler.errors is "
                f"{errors!r}). A task that yields something else is closed: call its close()."
            )
        recorded = errors.get(1)
        if not carries(recorded, is_close_error):
            fail(
                f"{what}: Scheduler.errors[1] is {recorded!r}; expected the {close_error} that "
                "task 1's close() raised, or a TypeError carrying it as its cause "
                "(`raise TypeError(...) from exc`, or `error.__cause__ = exc`). "
                + (
                    "A TypeError was recorded, but the error close() raised is neither its "
                    "__cause__ nor its __context__: possibly an `except: pass` around close(), "
                    "or the TypeError written over what close() raised. A failed cleanup is an "
                    "error of that task: keep it."
                    if isinstance(recorded, TypeError)
                    else ""
                )
            )
        check_log(
            log,
            [
                (0, "a", 0),
                (0, "odd", 0),
                (0, "odd", "cleanup"),
                (0, "c", 0),
                (0, "c", 1),
                (1, "a", "end"),
                (2, "c", "end"),
            ],
            what,
            tasks,
        )
        checks.equal(
            results,
            {0: "a", 2: "c"},
            f"{what}: run()'s results",
            "A task whose close() failed has no result; the others have theirs.",
        )
    finally:
        odd.gen.close()  # a generator that ignored the first close() ends at the second


@pytest.mark.task(3)
def test_two_schedulers_keep_their_own_tasks_ids_and_clocks():
    one, two = new_scheduler(), new_scheduler()
    log = []
    a = Task(one, "one's", [ml.Sleep(5)], log, result=1)
    b = Task(two, "two's", [ml.Sleep(1)], log, result=2)
    checks.equal(one.spawn(a.gen), 0, "The first id of the first scheduler")
    checks.equal(
        two.spawn(b.gen),
        0,
        "The first id of a second scheduler",
        "Count ids per scheduler (in __init__), not in a module-level counter.",
    )
    results = run(two, "The second scheduler's run()")
    if any(e[1] == "one's" for e in log):
        fail(
            f"During the second scheduler's run(), the first scheduler's task ran too: the "
            f"tasks saw {log!r}. The two schedulers share their ready line or sleepers: keep "
            "them in the instance (set them up in __init__), not at module or class level."
        )
    check_log(log, [(0, "two's", 0), (1, "two's", "end")], "The second scheduler's run()", [b])
    checks.equal(
        (one.now, two.now),
        (0, 1),
        "The two clocks after the second ran",
        "Keep `now` on the instance.",
    )
    checks.equal(results, {0: 2}, "The second scheduler's results")
    checks.equal(run(one, "The first scheduler's run()"), {0: 1}, "The first scheduler's results")
    checks.equal(one.now, 5, "The first scheduler's clock after its run()")


@pytest.mark.task(3)
def test_yielding_none_or_sleep_zero_goes_to_the_back_of_the_line():
    sched = new_scheduler()
    log = []
    tasks = [
        Task(sched, "a", [ml.Sleep(0), None], log),
        Task(sched, "b", [None, ml.Sleep(-1)], log),
    ]
    spawn(sched, *tasks)
    run(sched, "Tasks yielding Sleep(0), None and Sleep(-1)")
    raise_stub_errors(sched)
    errors = getattr(sched, "errors", {})
    if errors:
        fail(
            "Task a yielded Sleep(0) then None, and task b None then Sleep(-1); run() recorded "
            f"errors {errors!r}. Sleep(0) and a negative Sleep are legal: like None, the task "
            "goes to the back of the ready line and goes on."
        )
    check_log(
        log,
        [(0, "a", 0), (0, "b", 0), (0, "a", 1), (0, "b", 1), (0, "a", "end"), (0, "b", "end")],
        "Tasks yielding Sleep(0), None and Sleep(-1)",
        tasks,
    )
    checks.equal(
        sched.now,
        0,
        "The clock after tasks that never slept",
        "Sleep(0) and Sleep(-1) cost no time.",
    )


@pytest.mark.task(3)
def test_a_task_spawned_during_run_joins_the_back_of_the_line_with_a_new_id():
    sched = new_scheduler()
    log = []
    ids = []
    first = Task(sched, "a", [None], log, result="a")
    child = Task(sched, "child", [None], log, result="c")

    def parent():
        log.append((sched.now, "parent", 0))
        yield ml.Sleep(1)
        ids.append(sched.spawn(child.gen))
        log.append((sched.now, "parent", "end"))
        return "p"

    checks.equal([sched.spawn(first.gen), sched.spawn(parent())], [0, 1], "spawn(): the ids")
    results = run(sched, "Task a, and a parent that spawns a child at 1 s")
    raise_stub_errors(sched)
    what = "Task a (ended at 0 s) and a parent that spawned a child at 1 s"
    if ids and ids[0] != 2:
        fail(
            f"{what}: spawn() gave the child the id {ids[0]!r}; expected 2 (ids 0 and 1 were "
            "given before). Ids go 0, 1, 2 ... per scheduler and are never reused: possibly "
            "the id was counted from the tasks still waiting (len(...)) rather than from a "
            "counter that only goes up."
        )
    expected = [
        (0, "a", 0),
        (0, "parent", 0),
        (0, "a", "end"),
        (1, "parent", "end"),
        (1, "child", 0),
        (1, "child", "end"),
    ]
    if not any(e[1] == "child" for e in log):
        fail(
            f"{what}: the child never ran (the tasks saw {log!r}; run() returned {results!r}). "
            "spawn() during run() puts a task at the back of the same ready line run() takes "
            "from: possibly run() works on a copy of the line made when it started."
        )
    check_log(log, expected, what, [first, child])
    checks.equal(results, {0: "a", 1: "p", 2: "c"}, f"{what}: run()'s results")


@pytest.mark.task(3)
def test_run_again_after_more_spawns_goes_on_from_where_it_left_off():
    sched = new_scheduler()
    log = []
    first = Task(sched, "first", [ml.Sleep(2)], log, result="one")
    checks.equal(sched.spawn(first.gen), 0, "The first spawn()'s id")
    got = run(sched, "The first run()")
    if not isinstance(got, dict):
        fail(f"run() returned {got!r}; expected a dict {{task id: return value}}.")
    kept = dict(got)
    checks.equal(kept, {0: "one"}, "The first run()'s results")
    second = Task(sched, "second", [ml.Sleep(1)], log, result="two")
    checks.equal(
        sched.spawn(second.gen),
        1,
        "spawn() after a run(): the id it returned",
        "Ids go on counting: they are never reused, even after a run().",
    )
    again = run(sched, "A second run() after one more spawn()")
    raise_stub_errors(sched)
    checks.equal(
        got,
        kept,
        "The dict the first run() returned, after a second run()",
        "run() should return a new dict, the caller's to keep: return a copy (dict(...)), "
        "not the dict the scheduler goes on filling.",
    )
    check_log(
        log,
        [(0, "first", 0), (2, "first", "end"), (2, "second", 0), (3, "second", "end")],
        "Two runs: a 2 s sleep, then after one more spawn() a 1 s sleep (the clock goes on from 2)",
        [first, second],
    )
    if not isinstance(again, dict) or again.get(1) != "two":
        fail(
            f"The second run() returned {again!r}; expected it to hold the new task's result "
            "{1: 'two'} (whether it repeats the first run's results is up to you)."
        )


@pytest.mark.task(3)
def test_errors_are_kept_across_runs():
    sched = new_scheduler()
    log = []
    first_error, second_error = Boom("in the first run"), Boom("in the second run")
    spawn(
        sched,
        Task(sched, "a", [None], log, error=first_error),
        Task(sched, "b", [None], log, result="b"),
    )
    run(sched, "The first run(): task 0 raises, task 1 returns")
    raise_stub_errors(sched)
    checks.equal(
        getattr(sched, "errors", None),
        {0: first_error},
        "Scheduler.errors after the first run() (task 0 raised)",
    )
    spawn(
        sched,
        Task(sched, "c", [ml.Sleep(1)], log, error=second_error),
        Task(sched, "d", [None], log, result="d"),
    )
    run(sched, "A second run() after two more spawns: task 2 raises, task 3 returns")
    raise_stub_errors(sched)
    errors = getattr(sched, "errors", None)
    expected = {0: first_error, 2: second_error}
    if isinstance(errors, dict) and 0 not in errors and errors.get(2) is second_error:
        fail(
            f"After a second run(), Scheduler.errors is {errors!r}; expected {expected!r}: "
            "the error task 0 raised in the first run() is no longer there. `errors` is the "
            "scheduler's record of every task that raised, over all its runs (ids are never "
            "reused, so they cannot clash): possibly it is set to a new dict at the start of "
            "run(); set it up once, in __init__, and only add to it."
        )
    checks.equal(
        errors,
        expected,
        "Scheduler.errors after two runs (task 0 raised in the first, task 2 in the second)",
        "Record each task's own exception under its id, and keep the earlier runs' entries.",
    )


class Halt(BaseException):
    """A BaseException that is not an Exception, like KeyboardInterrupt or SystemExit."""


@pytest.mark.task(3)
def test_a_base_exception_that_is_not_an_exception_comes_out_of_run():
    sched = new_scheduler()
    log = []
    stop = Halt("stop")
    tasks = [Task(sched, "halter", [None], log, error=stop), Task(sched, "b", [None], log)]
    spawn(sched, *tasks)
    try:
        with alarm(sched, "A task raising Halt (a BaseException)"):
            results = sched.run()
    except Halt as exc:
        checks.equal(exc is stop, True, "The very Halt came out of run()")
        return
    fail(
        f"A task raised Halt, a BaseException that is not an Exception (as KeyboardInterrupt "
        f"and SystemExit are), and run() returned {results!r}, with errors "
        f"{getattr(sched, 'errors', None)!r}. Record only an Exception (`except Exception`); "
        "let a BaseException out of run(), so Ctrl-C and exits still stop the program."
    )


@pytest.mark.task(3)
def test_a_scheduler_run_inside_another_schedulers_task_runs_only_its_own():
    one, two = new_scheduler(), new_scheduler()
    log = []
    inner = []
    sleeper = Task(one, "one's sleeper", [ml.Sleep(5)], log, result="slept")
    theirs = Task(two, "two's", [ml.Sleep(1)], log, result="two")

    def runner():
        inner.append(run(two, "The second scheduler's run(), inside a task of the first"))
        log.append((one.now, "runner", "end"))
        return "ran"
        yield  # a generator

    one.spawn(sleeper.gen)
    one.spawn(runner())
    two.spawn(theirs.gen)
    results = run(one, "The first scheduler's run(), whose second task runs the second's")
    raise_stub_errors(one)
    raise_stub_errors(two)
    events = [e[1:] for e in log]
    woke, ran = ("one's sleeper", "end"), ("runner", "end")
    if woke in events and (ran not in events or events.index(woke) < events.index(ran)):
        fail(
            "A task of the first scheduler ran the second scheduler's run(), and during it "
            f"the first scheduler's sleeping task was resumed: the tasks saw {log!r}. The two "
            "schedulers share their sleepers (or ready line): keep them in the instance (set "
            "them up in __init__), not at class or module level."
        )
    check_log(
        log,
        [
            (0, "one's sleeper", 0),
            (0, "two's", 0),
            (1, "two's", "end"),
            (0, "runner", "end"),
            (5, "one's sleeper", "end"),
        ],
        "Two schedulers, the second run from inside a task of the first",
        [sleeper, theirs],
    )
    checks.equal(inner, [{0: "two"}], "The second scheduler's results")
    checks.equal(results, {0: "slept", 1: "ran"}, "The first scheduler's results")


@pytest.mark.task(3)
def test_two_schedulers_keep_their_own_results_and_errors():
    one, two = new_scheduler(), new_scheduler()
    log = []
    error = Boom("one's")
    spawn(one, Task(one, "one's failing", [None], log, error=error))
    spawn(one, Task(one, "one's ok", [None], log, result="one"))
    first = run(one, "The first scheduler's run()")
    spawn(two, Task(two, "two's", [None], log, result="two"))
    second = run(two, "The second scheduler's run()")
    errors = getattr(two, "errors", {})
    checks.equal(
        second,
        {0: "two"},
        "The second scheduler's results (it ran one task, given the id 0)",
        "They hold the first scheduler's result too: results kept at class or module level "
        "are shared by every scheduler. Keep them in the instance."
        if isinstance(second, dict) and "one" in second.values()
        else "",
    )
    checks.equal(
        {k: repr(v) for k, v in errors.items()},
        {},
        "The second scheduler's errors (none of its tasks raised)",
        "They hold the first scheduler's Boom: `errors` at class or module level is shared "
        "by every scheduler. Set self.errors = {} in __init__."
        if any(v is error for v in errors.values())
        else "",
    )
    checks.equal(first, {1: "one"}, "The first scheduler's results")
    checks.equal(one.errors, {0: error}, "The first scheduler's errors")


class Nap:
    """The test's own awaitable: `await Nap(s)` yields Sleep(s) to the scheduler."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __await__(self):
        yield ml.Sleep(self.seconds)


@pytest.mark.task(3)
def test_async_def_tasks_run_too():
    sched = new_scheduler()
    seen = []

    async def waiter(name, seconds):
        seen.append((sched.now, name, "start"))
        await Nap(seconds)
        seen.append((sched.now, name, "end"))
        return name * 2

    sched.spawn(waiter("x", 2))
    sched.spawn(waiter("y", 1))
    results = run(sched, "Two async def tasks")
    raise_stub_errors(sched)
    expected = [(0, "x", "start"), (0, "y", "start"), (1, "y", "end"), (2, "x", "end")]
    errors = getattr(sched, "errors", {})
    if [e[1:] for e in seen] == [e[1:] for e in expected]:
        hint = (
            "They ran in the right order but saw the wrong times: the clock (`now`) should be "
            "set to each wake-up time before the task is resumed."
        )
    elif errors or len(seen) < len(expected):
        hint = (
            f"(Scheduler.errors: {errors!r}.) A coroutine has send(), throw() and close() just "
            "as a generator does: drive it the same way."
        )
    else:
        hint = ""
    checks.equal(
        seen,
        expected,
        "Two async def tasks awaiting a 2 s and a 1 s sleep: what they saw",
        hint,
    )
    checks.equal(results, {0: "xx", 1: "yy"}, "run(): the results of the async def tasks")


def oracle(programs):
    """The test's own scheduler: returns the log, results, errors and final clock."""
    now = 0.0
    log, results, errors = [], {}, {}
    ready = deque()
    sleeping = []
    order = itertools.count()
    state = {}
    for i in range(len(programs)):
        ready.append(i)
        state[i] = 0
    while ready or sleeping:
        if not ready:
            wake, _, i = heapq.heappop(sleeping)
            now = wake
            ready.append(i)
            while sleeping and sleeping[0][0] <= now:
                ready.append(heapq.heappop(sleeping)[2])
        i = ready.popleft()
        steps, outcome = programs[i]
        k = state[i]
        state[i] += 1
        if k == len(steps):
            log.append((now, f"t{i}", "end"))
            if outcome == "raise":
                errors[i] = "Boom"
            else:
                results[i] = outcome
            continue
        log.append((now, f"t{i}", k))
        if steps[k] is None or steps[k] <= 0:
            ready.append(i)
        else:
            heapq.heappush(sleeping, (now + steps[k], next(order), i))
    return log, results, errors, now


STEPS = st.lists(st.sampled_from([None, 0, 1 / 8, 1, 2.5, DAY]), max_size=3)
PROGRAMS = st.lists(
    st.tuples(STEPS, st.sampled_from([0, None, "", "r", "raise"])), min_size=1, max_size=4
)


def make(steps):
    return [None if s is None else ml.Sleep(s) for s in steps]


@pytest.mark.task(3)
@scenarios.given(programs=PROGRAMS)
def test_scheduler_in_any_scenario(programs):
    what = f"Tasks with (sleeps, outcome) {programs!r}"
    scenarios.describe(what)
    sched = new_scheduler()
    log = []
    tasks = [
        Task(
            sched,
            f"t{i}",
            make(steps),
            log,
            result=None if o == "raise" else o,
            error=Boom("Boom") if o == "raise" else None,
        )
        for i, (steps, o) in enumerate(programs)
    ]
    spawn(sched, *tasks)
    try:
        results = run(sched, what)
    except Boom:
        fail(
            f"{what}: a task's Boom came out of run(): one failing task stopped the scheduler. Record it in `errors` and go on."  # noqa: E501
        )
    raise_stub_errors(sched)
    exp_log, exp_results, exp_errors, exp_now = oracle(programs)
    check_log(log, exp_log, what, tasks)
    ids = range(len(programs))
    if isinstance(results, dict) and not set(results) <= set(ids):
        fail(
            f"{what}: run()'s results are {results!r}, with ids outside {list(ids)!r}, the ids a "
            "new scheduler gives its tasks. Possibly the ids, or the results, are kept outside "
            "the instance (at module or class level), so one scheduler's carry over to the next."
        )
    checks.equal(
        results,
        exp_results,
        f"{what}: run()'s results",
        "Keep every StopIteration.value, falsy ones too, and no result for a task that raised.",
    )
    got_errors = {k: type(v).__name__ for k, v in sched.errors.items()}
    stray = sorted(set(got_errors) - set(exp_errors), key=repr)
    checks.equal(
        got_errors,
        exp_errors,
        f"{what}: the kinds of Scheduler.errors",
        (
            f"There are errors under {stray!r}, ids this new scheduler never gave out. "
            "Possibly `errors` is kept outside the instance (at module or class level), so it "
            "holds other schedulers' errors."
        )
        if stray and not set(stray) <= set(ids)
        else f"Tasks {stray!r} did not raise, yet errors holds entries for them."
        if stray
        else "Record each task's exception under its id.",
    )
    checks.equal(sched.now, exp_now, f"{what}: the clock after run()")


# Task 4: sleep


def start(coro, what):
    try:
        return coro.send(None)
    except TypeError as exc:
        if "can't be used in 'await' expression" in str(exc):
            fail(
                f"{what}: `await sleep(...)` raised TypeError: {exc}. sleep() must give an "
                "awaitable: a generator decorated with @types.coroutine (a plain generator "
                "or an async generator cannot be awaited), or an object with __await__."
            )
        raise
    except RuntimeError as exc:
        if "no running event loop" in str(exc):
            fail(
                f"{what}: `await sleep(...)` raised RuntimeError: {exc}. asyncio.sleep() needs "
                "asyncio's own loop; under your Scheduler, sleep() must yield Sleep(seconds) "
                "to it."
            )
        raise


@pytest.mark.task(4)
def test_awaiting_sleep_yields_a_sleep_to_the_scheduler():
    async def task():
        got = await ml.sleep(2)
        return ("woke", got)

    coro = task()
    try:
        request = start(coro, "An async def task awaiting sleep(2)")
        if not isinstance(request, ml.Sleep) or request.seconds != 2:
            fail(
                f"An async def task awaiting sleep(2) yielded {request!r} to its scheduler; "
                "expected Sleep(2) (Sleep(seconds=2)): that is what the Scheduler reads."
            )
        try:
            more = coro.send(None)
        except StopIteration as stop:
            checks.equal(
                stop.value,
                ("woke", None),
                "The task's return value after sleep(2)",
                "`await sleep(2)` should give None.",
            )
        else:
            fail(
                f"After one resume, `await sleep(2)` yielded again ({more!r}); expected it to end: yield Sleep once."  # noqa: E501
            )
    finally:
        coro.close()


@pytest.mark.task(4)
def test_sleep_of_zero_or_less_still_yields_a_sleep():
    for seconds in (0, -1):

        async def task(s=seconds):
            await ml.sleep(s)
            return "done"

        coro = task()
        what = f"An async def task awaiting sleep({seconds})"
        try:
            try:
                request = start(coro, what)
            except StopIteration:
                fail(
                    f"{what} went straight on without yielding to the scheduler. sleep(s) "
                    f"always yields Sleep(s), 0 and negatives too: Sleep({seconds}) sends the "
                    "task to the back of the ready line, as asyncio.sleep(0) lets others run."
                )
            if request != ml.Sleep(seconds):
                fail(f"{what} yielded {request!r}; expected Sleep({seconds}).")
        finally:
            coro.close()


@pytest.mark.task(4)
def test_sleep_does_nothing_until_awaited():
    made = ml.sleep(5)
    try:
        if not inspect.isawaitable(made):
            fail(f"sleep(5) gave {made!r}; expected an awaitable (something `await` accepts).")
    finally:
        if hasattr(made, "close"):
            made.close()


def run_async(programs):
    """The test's own loop for async def tasks (the same rules as the Scheduler)."""
    now = [0.0]
    log = []

    async def task(i, steps, outcome):
        for k, s in enumerate(steps):
            log.append((now[0], f"t{i}", k))
            await ml.sleep(s)
        log.append((now[0], f"t{i}", "end"))
        return outcome

    ready = deque((i, task(i, s, o)) for i, (s, o) in enumerate(programs))
    sleeping, order, results = [], itertools.count(), {}
    try:
        while ready or sleeping:
            if not ready:
                wake, _, i, c = heapq.heappop(sleeping)
                now[0] = wake
                ready.append((i, c))
            i, c = ready.popleft()
            try:
                request = start(c, f"Task t{i}")
            except StopIteration as stop:
                results[i] = stop.value
                continue
            if not isinstance(request, ml.Sleep):
                fail(f"Task t{i} awaiting sleep(...) yielded {request!r}; expected a Sleep.")
            if request.seconds <= 0:
                ready.append((i, c))
            else:
                heapq.heappush(sleeping, (now[0] + request.seconds, next(order), i, c))
    finally:
        for _, c in ready:
            c.close()
        for *_, c in sleeping:
            c.close()
    return log, results, now[0]


ASYNC_STEPS = st.lists(st.sampled_from([0, 1 / 8, 1, 2.5, DAY, YEAR]), max_size=3)
ASYNC_PROGRAMS = st.lists(
    st.tuples(ASYNC_STEPS, st.sampled_from([0, None, "", "r"])), min_size=1, max_size=3
)


@pytest.mark.task(4)
@scenarios.given(programs=ASYNC_PROGRAMS)
def test_async_tasks_sleep_in_any_scenario(programs):
    what = f"async def tasks awaiting sleep() with (sleeps, result) {programs!r}"
    scenarios.describe(what)
    log, results, now = run_async(programs)
    exp_log, exp_results, _, exp_now = oracle([([s for s in steps], o) for steps, o in programs])
    check_log(log, exp_log, what)
    checks.equal(results, exp_results, f"{what}: the results")
    checks.equal(now, exp_now, f"{what}: the clock at the end")
