"""Exercise 02 tests. Run them with `pytest exercises/02`."""

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from aiokata import checks, exercise_module

chaining = exercise_module(__file__)


class Recorder:
    """Test doubles for pipeline phases. Each phase notes the loop time at which it started
    and ended, and the value it was given, so the tests can see the order things ran in."""

    def __init__(self, looptime) -> None:
        self.looptime = looptime
        self.events: list[tuple[float, str, str, Any]] = []  # (time, start/end, phase, value)

    def phase(
        self,
        name: str,
        seconds: float | dict[Any, float],
        output: Callable[[Any], Any] | None = None,
        fails: BaseException | None = None,
    ):
        """`await name(value)`: takes `seconds` (or seconds[value]), returns output(value)
        (by default the text "name(value)"), or raises `fails` at the end."""

        async def run(value: Any) -> Any:
            if inspect.isawaitable(value):
                pytest.fail(
                    f"{name}() was given a {type(value).__name__} object instead of a value: the "
                    "phase before it was called but never awaited. `await` each phase to get "
                    "its result, then pass that result on.",
                    pytrace=False,
                )
            self.events.append((float(self.looptime), "start", name, value))
            delay = seconds.get(value, 1) if isinstance(seconds, dict) else seconds
            await asyncio.sleep(delay)
            self.events.append((float(self.looptime), "end", name, value))
            if fails is not None:
                raise fails
            return output(value) if output is not None else f"{name}({value})"

        run.__name__ = run.__qualname__ = name
        return run

    def calls(self) -> list[tuple[str, Any]]:
        return [(phase, value) for _, what, phase, value in self.events if what == "start"]

    def time(self, what: str, phase: str, value: Any = None) -> float | None:
        for at, kind, name, got in self.events:
            if kind == what and name == phase and (value is None or got == value):
                return at
        return None

    def check_waited(self, first: str, second: str, value: Any = None, why: str = "") -> None:
        """Fail unless phase `second` started only after phase `first` had ended."""
        ended, started = self.time("end", first, value), self.time("start", second, value)
        if started is None or ended is None:
            return  # a missing call is reported by the tests that count calls
        of = f" for {value!r}" if value is not None else ""
        began = self.time("start", first, value)
        if began is not None and started < began:
            pytest.fail(
                f"{second}(){of} started at {started:g} s, before {first}(){of} had even "
                f"begun (at {began:g} s): the phases ran out of order. {why}",
                pytrace=False,
            )
        if started < ended:
            pytest.fail(
                f"{second}(){of} started at {started:g} s, before {first}(){of} had finished "
                f"(at {ended:g} s). {why}",
                pytrace=False,
            )


async def call(name: str, *args: object) -> Any:
    """Await the learner's coroutine function `name` and check it gave a result."""
    function = getattr(chaining, name)
    checks.is_async(function, name)
    result = await function(*args)
    checks.not_coroutine(result, f"{name}()'s result")
    return result


# Task 1: pick_and_pack


def warehouse(looptime) -> tuple[Recorder, Any, Any]:
    record = Recorder(looptime)
    pick = record.phase("pick", 1, lambda order: f"parcel<{order}>")
    pack = record.phase("pack", 2, lambda parcel: f"box<{parcel}>")
    return record, pick, pack


def _box_mistake(got: object) -> str:
    if got == "parcel<A1>":
        return "That is pick()'s parcel: return the box that pack() gave back."
    if got == "box<A1>":
        return "pack() was given the order id: pass it the parcel that pick() returned."
    return "Return what pack(parcel) returned, where parcel is what pick(order_id) returned."


@pytest.mark.task(1)
async def test_pick_and_pack_returns_the_box(looptime):
    _, pick, pack = warehouse(looptime)
    result = await call("pick_and_pack", pick, pack, "A1")
    checks.equal(result, "box<parcel<A1>>", "pick_and_pack(pick, pack, 'A1')", _box_mistake)


@pytest.mark.task(1)
async def test_pack_gets_the_parcel_that_pick_returned(looptime):
    record, pick, pack = warehouse(looptime)
    await call("pick_and_pack", pick, pack, "Z9")
    checks.equal(
        record.calls(),
        [("pick", "Z9"), ("pack", "parcel<Z9>")],
        "Phases called, with what each was given",
        "Call pick(order_id) once, then pack() once with the parcel pick() returned.",
    )


@pytest.mark.task(1)
async def test_pack_starts_only_after_pick_has_finished(looptime):
    record, pick, pack = warehouse(looptime)
    await call("pick_and_pack", pick, pack, "A1")
    record.check_waited(
        "pick",
        "pack",
        why="pack() needs the parcel, which only exists once pick() has finished: await "
        "pick() first, then call pack().",
    )


@pytest.mark.task(1)
async def test_the_two_phases_take_their_sum(looptime):
    _, pick, pack = warehouse(looptime)
    await call("pick_and_pack", pick, pack, "A1")
    checks.took(
        looptime,
        3,
        "pick_and_pack() with a 1 s pick and a 2 s pack",
        {
            2: "That is the longer phase alone: pick and pack ran at the same time, but "
            "pack needs pick's parcel first.",
            1: "That is pick alone: was pack() awaited?",
            0: "Nothing waited: is a phase left without `await`?",
        },
    )


# Task 2: process_order


def shop(looptime, declined: bool = False) -> tuple[Recorder, Any, Any, Any]:
    record = Recorder(looptime)
    reserve = record.phase("reserve", 1, lambda order: f"res-{order}")
    charge = record.phase(
        "charge",
        2,
        lambda reservation: f"paid({reservation})",
        fails=ValueError("card declined") if declined else None,
    )
    ship = record.phase("ship", 1, lambda order: f"track-{order}")
    return record, reserve, charge, ship


def _order_mistake(order: str) -> Callable[[object], str]:
    right = (f"paid(res-{order})", f"track-{order}")

    def likely(got: object) -> str:
        if not isinstance(got, tuple | list) or len(got) != 2:
            return "Return a pair: (receipt, tracking)."
        receipt, tracking = got
        if (tracking, receipt) == right:
            return "The pair is the wrong way round: return (receipt, tracking)."
        if receipt == f"res-{order}":
            return "That is the reservation, not the receipt: return what charge() gave back."
        if receipt == f"paid({order})":
            return "charge() was given the order id: pass it the reservation from reserve()."
        return "Return (what charge(reservation) gave, what ship(order_id) gave)."

    return likely


@pytest.mark.task(2)
async def test_process_order_returns_receipt_and_tracking(looptime):
    _, reserve, charge, ship = shop(looptime)
    result = await call("process_order", reserve, charge, ship, "A1")
    checks.equal(
        tuple(result) if isinstance(result, list) else result,
        ("paid(res-A1)", "track-A1"),
        "process_order(reserve, charge, ship, 'A1')",
        _order_mistake("A1"),
    )


@pytest.mark.task(2)
async def test_each_phase_gets_what_it_needs(looptime):
    record, reserve, charge, ship = shop(looptime)
    result = await call("process_order", reserve, charge, ship, "B7")
    checks.equal(
        sorted(record.calls()),
        sorted([("reserve", "B7"), ("charge", "res-B7"), ("ship", "B7")]),
        "Phases called, with what each was given",
        "reserve(order_id), then charge(reservation) with reserve's result, then "
        "ship(order_id): each once.",
    )
    checks.equal(
        tuple(result) if isinstance(result, list) else result,
        ("paid(res-B7)", "track-B7"),
        "process_order(reserve, charge, ship, 'B7')",
        _order_mistake("B7"),
    )


@pytest.mark.task(2)
async def test_the_phases_run_strictly_in_turn(looptime):
    record, reserve, charge, ship = shop(looptime)
    await call("process_order", reserve, charge, ship, "A1")
    record.check_waited(
        "reserve", "charge", why="charge() needs the reservation: await reserve() first."
    )
    record.check_waited(
        "charge",
        "ship",
        why="ship() needs only the order id, but the goods must not leave before the payment "
        "has gone through: await charge() to the end, then call ship().",
    )


@pytest.mark.task(2)
async def test_process_order_takes_the_sum_of_its_phases(looptime):
    _, reserve, charge, ship = shop(looptime)
    await call("process_order", reserve, charge, ship, "A1")
    checks.took(
        looptime,
        4,
        "process_order() with phases of 1, 2 and 1 s",
        {
            3: "That is 1 + 2: shipping ran alongside the payment. Ship only after charge() "
            "has finished.",
        },
    )


@pytest.mark.task(2)
async def test_a_declined_payment_is_never_shipped(looptime):
    record, reserve, charge, ship = shop(looptime, declined=True)
    try:
        result = await call("process_order", reserve, charge, ship, "C3")
    except ValueError as exc:
        checks.equal(str(exc), "card declined", "The error process_order() raised")
    else:
        pytest.fail(
            f"charge() raised ValueError('card declined'), but process_order() returned "
            f"{result!r}. Let the error reach the caller: do not catch it.",
            pytrace=False,
        )
    shipped = [value for phase, value in record.calls() if phase == "ship"]
    if shipped:
        pytest.fail(
            "The payment was declined, yet ship() was called: the goods left without being "
            "paid for. Call ship() only after `await charge(...)` has returned.",
            pytrace=False,
        )


# Task 3: run_pipeline


def kitchen(looptime, durations: dict[str, float] | None = None) -> tuple[Recorder, list]:
    record = Recorder(looptime)
    durations = durations or {"wash": 1, "chop": 2, "cook": 1}
    return record, [record.phase(name, seconds) for name, seconds in durations.items()]


def _pipeline_mistake(value: str, names: list[str]) -> Callable[[object], str]:
    def likely(got: object) -> str:
        if got == value:
            return "That is the value you were given: keep the result of each phase."
        if got == f"{names[-1]}({value})":
            return (
                "Every phase got the original value: feed each phase the result of the one "
                "before it (`value = await phase(value)`)."
            )
        if names and got == f"{names[0]}({value})":
            return "That is the first phase's result: the later phases' results were lost."
        if isinstance(got, list | tuple):
            return "Return the last phase's result, not a list of results."
        return ""

    return likely


@pytest.mark.task(3)
async def test_value_flows_through_every_phase(looptime):
    _, phases = kitchen(looptime)
    result = await call("run_pipeline", phases, "rice")
    checks.equal(
        result,
        "cook(chop(wash(rice)))",
        "run_pipeline([wash, chop, cook], 'rice')",
        _pipeline_mistake("rice", ["wash", "chop", "cook"]),
    )


@pytest.mark.task(3)
async def test_each_phase_gets_the_previous_result(looptime):
    record, phases = kitchen(looptime)
    await call("run_pipeline", phases, "beans")
    checks.equal(
        record.calls(),
        [("wash", "beans"), ("chop", "wash(beans)"), ("cook", "chop(wash(beans))")],
        "Phases called, in order, with what each was given",
        "Call the phases in list order, once each, each with the previous phase's result.",
    )


@pytest.mark.task(3)
async def test_each_phase_waits_for_the_one_before(looptime):
    record, phases = kitchen(looptime)
    await call("run_pipeline", phases, "rice")
    why = "A phase needs the previous phase's result: await each phase before the next."
    record.check_waited("wash", "chop", why=why)
    record.check_waited("chop", "cook", why=why)
    checks.took(
        looptime,
        4,
        "run_pipeline() with phases of 1, 2 and 1 s",
        {2: "That is the slowest phase alone: the phases ran at the same time."},
    )


@pytest.mark.task(3)
async def test_a_single_phase(looptime):
    _, phases = kitchen(looptime, {"bake": 3})
    result = await call("run_pipeline", phases, "bread")
    checks.equal(result, "bake(bread)", "run_pipeline([bake], 'bread')")
    checks.took(looptime, 3, "run_pipeline() with one 3 s phase")


@pytest.mark.task(3)
async def test_no_phases_gives_the_value_back(looptime):
    try:
        result = await call("run_pipeline", [], "raw")
    except (IndexError, TypeError, ValueError) as exc:
        pytest.fail(
            f"run_pipeline([], 'raw') raised {type(exc).__name__}: {exc}. With no phases "
            "there is nothing to do: return the value unchanged (a plain for loop over the "
            "phases handles this by itself).",
            pytrace=False,
        )
    checks.equal(
        result,
        "raw",
        "run_pipeline([], 'raw')",
        "With no phases, return the value you were given, unchanged.",
    )
    checks.took(looptime, 0, "run_pipeline() with no phases")


@pytest.mark.task(3)
async def test_the_phases_list_is_left_as_it_was(looptime):
    _, phases = kitchen(looptime)
    given = list(phases)
    first = await call("run_pipeline", phases, "rice")
    if phases != given:
        pytest.fail(
            f"run_pipeline() changed the list of phases it was given: it held {len(given)} "
            f"phases before the call and {len(phases)} after. The caller still owns that list "
            "(run_pipelines() hands the same list to every chain), so read it without "
            "removing anything: `for phase in phases: value = await phase(value)`.",
            pytrace=False,
        )
    second = await call("run_pipeline", phases, "rice")
    checks.equal(
        (first, second),
        ("cook(chop(wash(rice)))", "cook(chop(wash(rice)))"),
        "Two runs of run_pipeline() with the same list of phases",
        "Each call must run every phase again, from the first one.",
    )


# Task 4: run_pipelines

# Per-value durations: every chain takes 4 s in all, but its phases are uneven.
SPLIT = {"a": {"p": 1, "q": 3, "r": 2}, "b": {"p": 3, "q": 1, "r": 2}}


def lines(looptime, durations: dict[str, dict[str, float]]) -> tuple[Recorder, list]:
    """Phases whose durations are given per original value: {"a": {"p": 1}, "b": {"p": 3}}
    makes a(p) take 1 s and b(a(p)) take 3 s."""
    record = Recorder(looptime)
    phases, made = [], []
    for name, by_value in durations.items():
        seconds = {}
        for value, delay in by_value.items():
            for before in made:
                value = f"{before}({value})"
            seconds[value] = delay
        phases.append(record.phase(name, seconds))
        made.append(name)
    return record, phases


def _results_mistake(values: list[str], expected: list[str]) -> Callable[[object], str]:
    def likely(got: object) -> str:
        if not isinstance(got, list | tuple):
            return "Return a list with one result per value."
        if checks.same_items(got, expected):
            return (
                "The results must follow the order of `values`, not the order the chains finished."
            )
        if len(got) == len(expected) > 1 and len(set(map(repr, got))) == 1:
            return (
                "Every chain worked on the same value. If you define a coroutine inside a "
                "loop, it sees the loop variable's value when it runs, not when it was made: "
                "pass the value in as an argument."
            )
        return (
            "Each value goes through every phase in turn, as in run_pipeline() (if "
            "run_pipelines() uses it, make task 3 pass first)."
        )

    return likely


@pytest.mark.task(4)
async def test_results_follow_the_order_of_values(looptime):
    # The chains take 6, 2 and 4 s: they finish in the order q, r, p.
    _, phases = lines(looptime, {"a": {"p": 3, "q": 1, "r": 2}, "b": {"p": 3, "q": 1, "r": 2}})
    result = await call("run_pipelines", phases, ["p", "q", "r"])
    expected = ["b(a(p))", "b(a(q))", "b(a(r))"]
    checks.equal(
        list(result) if isinstance(result, list | tuple) else result,
        expected,
        "run_pipelines([a, b], ['p', 'q', 'r'])",
        _results_mistake(["p", "q", "r"], expected),
    )


@pytest.mark.task(4)
async def test_the_total_is_the_longest_chain(looptime):
    _, phases = lines(looptime, SPLIT)
    await call("run_pipelines", phases, ["p", "q", "r"])
    checks.took(
        looptime,
        4,
        "Three chains of 4 s each (phase a takes 1, 3 and 2 s, phase b 3, 1 and 2 s)",
        {
            12: "That is 4 + 4 + 4: the chains ran one after another. They are independent: "
            "start them all, then wait for all of them.",
            6: "That is 3 + 3, the slowest phase a plus the slowest phase b: you ran the "
            "values stage by stage, waiting for every value's phase a before any phase b "
            "began. Let each chain move on as soon as its own previous phase is done.",
        },
    )


@pytest.mark.task(4)
async def test_a_quick_chain_does_not_wait_for_slow_ones(looptime):
    record, phases = lines(looptime, SPLIT)
    await call("run_pipelines", phases, ["p", "q", "r"])
    began = record.time("start", "b", "a(p)")
    checks.equal(
        began,
        1.0,
        "Loop time at which phase b started for 'p' (its phase a ends at 1 s)",
        lambda got: (
            "Phase b was never given a('p'): each value goes through every phase in turn, "
            "as in run_pipeline()."
            if got is None
            else "It waited for the other values' phase a to finish too: each chain should "
            "run on its own, one run_pipeline() per value, all at the same time."
            if got == 3.0
            else "Start every chain at once; inside a chain, each phase follows the previous."
        ),
    )


@pytest.mark.task(4)
async def test_inside_each_chain_the_phases_stay_in_turn(looptime):
    record, phases = lines(looptime, SPLIT)
    await call("run_pipelines", phases, ["p", "q", "r"])
    checks.equal(
        sorted(record.calls()),
        sorted([("a", "p"), ("a", "q"), ("a", "r"), ("b", "a(p)"), ("b", "a(q)"), ("b", "a(r)")]),
        "Phases called, with what each was given",
        "Each value goes through phase a, then phase b with a's result, once per value.",
    )
    for value in ["p", "q", "r"]:
        ended = record.time("end", "a", value)
        started = record.time("start", "b", f"a({value})")
        if ended is not None and started is not None and started < ended:
            pytest.fail(
                f"Phase b for {value!r} started at {started:g} s, before its phase a ended at "
                f"{ended:g} s. The chains run concurrently with each other, but inside one "
                "chain each phase must wait for the previous one.",
                pytrace=False,
            )


@pytest.mark.task(4)
async def test_all_chains_are_in_flight_together():
    values = [f"v{i}" for i in range(5)]
    everyone_started = asyncio.Barrier(len(values))

    async def first(value: str) -> str:
        await everyone_started.wait()  # passes only once all five chains are here at once
        return value.upper()

    async def second(value: str) -> str:
        await asyncio.sleep(1)
        return value + "!"

    result = await checks.within(
        10,
        call("run_pipelines", [first, second], values),
        "Five chains whose first phase waits for all the others never finished: the chains "
        "were not running at the same time. Start every chain before awaiting any of them.",
    )
    checks.equal(list(result), [v.upper() + "!" for v in values], "run_pipelines() results")


@pytest.mark.task(4)
async def test_no_values_gives_an_empty_list(looptime):
    _, phases = lines(looptime, SPLIT)
    try:
        result = await call("run_pipelines", phases, [])
    except ValueError as exc:
        if "is empty" not in str(exc):
            raise
        pytest.fail(
            f"run_pipelines(phases, []) raised ValueError ({exc}) asyncio.wait() refuses an "
            "empty collection: with no values there is nothing to wait for, so return [] at "
            "once (asyncio.gather() and a TaskGroup accept none).",
            pytrace=False,
        )
    checks.equal(
        list(result) if isinstance(result, list | tuple) else result,
        [],
        "run_pipelines(phases, [])",
    )
    checks.took(looptime, 0, "run_pipelines() with no values")
