"""Exercise 02 tests. Run them with `pytest exercises/02`."""

import asyncio
import inspect
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios

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
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                self.events.append((float(self.looptime), "cancelled", name, value))
                raise
            self.events.append((float(self.looptime), "end", name, value))
            if fails is not None:
                raise fails
            return output(value) if output is not None else f"{name}({value})"

        run.__name__ = run.__qualname__ = name
        return run

    def calls(self) -> list[tuple[str, Any]]:
        return [(phase, value) for _, what, phase, value in self.events if what == "start"]

    def cancelled(self) -> list[tuple[str, Any]]:
        return [(phase, value) for _, what, phase, value in self.events if what == "cancelled"]

    def most_at_once(self) -> int:
        """The most phases that were running at the same moment."""
        now = most = 0
        order = {"end": 0, "cancelled": 0, "start": 1}  # an end at t comes before a start at t
        for _, what, _, _ in sorted(self.events, key=lambda e: (e[0], order[e[1]])):
            now += 1 if what == "start" else -1
            most = max(most, now)
        return most

    def overlapped(self, first: str, second: str) -> bool:
        """Did phase `second` start before phase `first` had ended?"""
        ended, started = self.time("end", first), self.time("start", second)
        return ended is not None and started is not None and started < ended

    def started_after(self, at: float) -> list[tuple[str, Any]]:
        return [(p, v) for t, what, p, v in self.events if what == "start" and t > at + 1e-9]

    def went_on(self, at: float) -> str:
        """What kept going after a cancel at loop time `at` ("" if nothing did): a phase
        started later, or one that ran to its end instead of being cancelled."""
        for t, what, phase, value in self.events:
            if t > at + 1e-9 and what in ("start", "end"):
                done = "started" if what == "start" else "kept running and finished"
                return f"{phase}({value!r}) {done} at {t:g} s, after the cancel"
        return ""

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
    exc = task.exception()
    if exc is not None:
        return f"it raised {type(exc).__name__}: {exc} instead of ending cancelled"
    return (
        f"it returned {task.result()!r} instead of ending cancelled: the CancelledError was "
        "caught and not raised again"
    )


def _leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, or the error itself."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


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
    if isinstance(got, tuple | list):
        return f"Return only the box that pack() gave back, not a {type(got).__name__}."
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
    if type(result) is not str:
        pytest.fail(
            f"pick_and_pack() returned a {type(result).__name__}; expected the box, a str.",
            pytrace=False,
        )


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
    record, pick, pack = warehouse(looptime)
    await call("pick_and_pack", pick, pack, "A1")
    likely = {}
    if record.overlapped("pick", "pack"):
        likely[2] = (
            "pick and pack ran at the same time (pack started before pick had finished), "
            "but pack needs pick's parcel first."
        )
    if record.time("end", "pack") is None:
        likely[1] = likely[0] = "pack() never finished: was it awaited?"
    checks.took(looptime, 3, "pick_and_pack() with a 1 s pick and a 2 s pack", likely)


@pytest.mark.task(1)
async def test_an_empty_parcel_is_still_packed(looptime):
    record = Recorder(looptime)
    pick = record.phase("pick", 1, lambda order: "")  # a parcel with no label: ""
    pack = record.phase("pack", 1, lambda parcel: f"box<{parcel}>")
    result = await call("pick_and_pack", pick, pack, "Q0")
    checks.equal(
        record.calls(),
        [("pick", "Q0"), ("pack", "")],
        "Phases called for order 'Q0', whose parcel is '', with what each was given",
        'The parcel is the empty string "", which is still a parcel: pass it to pack() as '
        "it is (no `parcel or order_id`, no `if parcel:`).",
    )
    checks.equal(result, "box<>", "pick_and_pack() whose parcel is ''")
    record = Recorder(looptime)
    pick = record.phase("pick", 1, lambda order: f"parcel<{order}>")
    pack = record.phase("pack", 1, lambda parcel: f"box<{parcel}>")
    result = await call("pick_and_pack", pick, pack, "")
    checks.equal(
        record.calls(),
        [("pick", ""), ("pack", "parcel<>")],
        "Phases called for the order id '', with what each was given",
        'The order id "" is still an order id: pick it as it is.',
    )
    checks.equal(result, "box<parcel<>>", "pick_and_pack() for the order id ''")


@pytest.mark.task(1)
async def test_a_failed_pick_is_never_packed(looptime):
    record = Recorder(looptime)
    pick = record.phase("pick", 1, fails=LookupError("out of stock"))
    pack = record.phase("pack", 2)
    try:
        result = await call("pick_and_pack", pick, pack, "A1")
    except LookupError as exc:
        checks.equal(str(exc), "out of stock", "The error pick_and_pack() raised")
    else:
        pytest.fail(
            f"pick() raised LookupError('out of stock'), but pick_and_pack() returned "
            f"{result!r}. Let the error reach your caller: do not catch it.",
            pytrace=False,
        )
    checks.equal(
        record.calls(),
        [("pick", "A1")],
        "Phases called when pick() fails",
        lambda got: (
            "pick() was tried again after it failed: call each phase once."
            if Counter(p for p, _ in got).get("pick", 0) > 1
            else "With no parcel there is nothing to pack: pack() must not be called."
        ),
    )


@pytest.mark.task(1)
@pytest.mark.loop_limit(200_000)
async def test_very_long_phases_are_waited_for(looptime):
    record = Recorder(looptime)
    pick = record.phase("pick", 10_000, lambda order: f"parcel<{order}>")
    pack = record.phase("pack", 86_400, lambda parcel: f"box<{parcel}>")
    try:
        result = await call("pick_and_pack", pick, pack, "A1")
    except TimeoutError:
        pytest.fail(
            f"pick_and_pack() gave up with TimeoutError after {float(looptime):g} s, but its "
            "phases take 10,000 s and 86,400 s and are allowed to: there is a timeout "
            "(asyncio.wait_for, asyncio.timeout) around a phase. Await each phase for as long "
            "as it takes.",
            pytrace=False,
        )
    checks.equal(
        result, "box<parcel<A1>>", "pick_and_pack() with a 10,000 s pick and a day-long pack"
    )
    checks.took(looptime, 96_400, "pick_and_pack() with a 10,000 s pick and an 86,400 s pack")


@pytest.mark.task(1)
async def test_orders_at_once_each_get_their_own_box(looptime):
    record, pick, pack = warehouse(looptime)
    checks.is_async(chaining.pick_and_pack, "pick_and_pack")
    results = await asyncio.gather(
        chaining.pick_and_pack(pick, pack, "A1"),
        chaining.pick_and_pack(pick, pack, "B2"),
        chaining.pick_and_pack(pick, pack, "A1"),
    )
    checks.equal(
        list(results),
        ["box<parcel<A1>>", "box<parcel<B2>>", "box<parcel<A1>>"],
        "Three pick_and_pack() calls at once, for 'A1', 'B2' and 'A1' again",
        "Each call must use only its own parcel: keep it in a local variable (not a global "
        "another call can change meanwhile), and do not reuse a box from an earlier call.",
    )
    checks.equal(
        sorted(record.calls()),
        sorted(
            [
                ("pick", "A1"),
                ("pick", "B2"),
                ("pick", "A1"),
                ("pack", "parcel<A1>"),
                ("pack", "parcel<B2>"),
                ("pack", "parcel<A1>"),
            ]
        ),
        "Phases called by the three calls (in any order)",
        "Every call picks and packs its own order, even the same order id twice.",
    )
    checks.took(looptime, 3, "Three pick_and_pack() calls at once, each 1 s + 2 s")
    again = await call("pick_and_pack", pick, pack, "A1")
    checks.equal(again, "box<parcel<A1>>", "pick_and_pack(pick, pack, 'A1') once more, afterwards")
    checks.equal(
        len(record.calls()),
        8,
        "Phase calls after a fourth pick_and_pack() call, for 'A1' again",
        "The fourth call did not pick and pack: is a box remembered from an earlier call "
        "(a cache)? Every call picks and packs its order afresh.",
    )


@pytest.mark.task(1)
async def test_cancelling_pick_and_pack_stops_its_phases(looptime):
    checks.is_async(chaining.pick_and_pack, "pick_and_pack")
    for after, during in [(0.5, "pick"), (2, "pack")]:
        record, pick, pack = warehouse(looptime)
        started = float(looptime)
        wrong = await cancel_while_waiting(chaining.pick_and_pack(pick, pack, "A1"), after)
        if wrong:
            pytest.fail(
                f"pick_and_pack() was cancelled {after:g} s in, during {during}(), but {wrong}. "
                "Let the CancelledError go up to your caller.",
                pytrace=False,
            )
        await asyncio.sleep(5)  # anything still going would start or end now
        went_on = record.went_on(started + after)
        if went_on:
            pytest.fail(
                f"pick_and_pack() was cancelled {after:g} s in, during {during}(), but "
                f"{went_on}. Await the phases directly, so that cancelling pick_and_pack() "
                "cancels the phase in progress and starts nothing more.",
                pytrace=False,
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


def check_pair(result: object, what: str) -> None:
    if not isinstance(result, tuple):
        pytest.fail(
            f"{what} returned a {type(result).__name__} ({result!r}); expected a tuple "
            "(receipt, tracking): `return receipt, tracking`.",
            pytrace=False,
        )


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
    check_pair(result, "process_order(reserve, charge, ship, 'A1')")


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
    record, reserve, charge, ship = shop(looptime)
    await call("process_order", reserve, charge, ship, "A1")
    checks.took(
        looptime,
        4,
        "process_order() with phases of 1, 2 and 1 s",
        {
            3: "Shipping ran alongside the payment (ship() started before charge() had "
            "finished). Ship only after charge() has finished."
        }
        if record.overlapped("charge", "ship")
        else {},
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
    checks.equal(
        Counter(phase for phase, _ in record.calls()),
        Counter({"reserve": 1, "charge": 1}),
        "Phases called when the charge is declined",
        lambda got: (
            f"charge() was called {got['charge']} times: a declined charge must not be "
            "retried (the customer could be charged twice). Call it once and let its error go up."
            if isinstance(got, Counter) and got["charge"] > 1
            else "Reserve once, charge once, and stop when the charge fails."
        ),
    )


@pytest.mark.task(2)
async def test_a_failed_reservation_charges_and_ships_nothing(looptime):
    record = Recorder(looptime)
    reserve = record.phase("reserve", 1, fails=LookupError("out of stock"))
    charge = record.phase("charge", 2)
    ship = record.phase("ship", 1)
    try:
        result = await call("process_order", reserve, charge, ship, "D4")
    except LookupError:
        pass
    else:
        pytest.fail(
            f"reserve() raised LookupError('out of stock'), but process_order() returned "
            f"{result!r}. Let the error reach your caller.",
            pytrace=False,
        )
    checks.equal(
        record.calls(),
        [("reserve", "D4")],
        "Phases called when reserve() fails",
        "Nothing was reserved, so nothing may be charged or shipped, and the reservation is "
        "not retried.",
    )


@pytest.mark.task(2)
async def test_empty_values_are_still_values(looptime):
    record = Recorder(looptime)
    reserve = record.phase("reserve", 1, lambda order: "")
    charge = record.phase("charge", 2, lambda reservation: "")  # went through; empty receipt
    ship = record.phase("ship", 1, lambda order: "")
    try:
        result = await call("process_order", reserve, charge, ship, "E5")
    except NotImplementedError:
        raise
    except Exception as exc:  # told to the learner
        pytest.fail(
            f"process_order() raised {type(exc).__name__}: {exc}, though no phase raised: "
            f"the phases called were {record.calls()!r}, and charge() returned the empty "
            'receipt "". An empty receipt (or reservation) is still a value: a charge fails '
            "only by raising, so do not test the receipt with `if not receipt:`.",
            pytrace=False,
        )
    checks.equal(
        record.calls(),
        [("reserve", "E5"), ("charge", ""), ("ship", "E5")],
        "Phases called when the reservation and the receipt are empty strings",
        lambda got: (
            "ship() was never called, though charge() returned (it did not raise): an empty "
            'receipt "" is still a receipt. A charge fails only by raising; do not test '
            "the receipt with `if receipt:`."
            if isinstance(got, list) and ("ship", "E5") not in got
            else 'The reservation "" is still a reservation: pass it to charge() as it '
            "is (no `reservation or order_id`)."
        ),
    )
    checks.equal(result, ("", ""), "process_order() whose receipt and tracking are both ''")


@pytest.mark.task(2)
@pytest.mark.loop_limit(200_000)
async def test_very_long_phases_are_waited_for_in_turn(looptime):
    record = Recorder(looptime)
    reserve = record.phase("reserve", 1, lambda order: f"res-{order}")
    charge = record.phase("charge", 10_000, lambda reservation: f"paid({reservation})")
    ship = record.phase("ship", 86_400, lambda order: f"track-{order}")
    try:
        result = await call("process_order", reserve, charge, ship, "F6")
    except TimeoutError:
        pytest.fail(
            f"process_order() gave up with TimeoutError after {float(looptime):g} s, but a "
            "slow bank (10,000 s) and a day-long shipment are allowed: there is a timeout "
            "(asyncio.wait_for, asyncio.timeout) around a phase. Await each phase for as long "
            "as it takes.",
            pytrace=False,
        )
    checks.equal(
        tuple(result) if isinstance(result, list) else result,
        ("paid(res-F6)", "track-F6"),
        "process_order() with very long phases",
    )
    checks.took(looptime, 96_401, "process_order() with phases of 1, 10,000 and 86,400 s")


@pytest.mark.task(2)
async def test_orders_at_once_each_keep_their_own_results(looptime):
    record, reserve, charge, ship = shop(looptime)
    checks.is_async(chaining.process_order, "process_order")
    results = await asyncio.gather(
        chaining.process_order(reserve, charge, ship, "A1"),
        chaining.process_order(reserve, charge, ship, "B2"),
        chaining.process_order(reserve, charge, ship, "A1"),
    )
    checks.equal(
        [tuple(r) if isinstance(r, list) else r for r in results],
        [("paid(res-A1)", "track-A1"), ("paid(res-B2)", "track-B2"), ("paid(res-A1)", "track-A1")],
        "Three process_order() calls at once, for 'A1', 'B2' and 'A1' again",
        "Each call must use only its own reservation and receipt: keep them in local "
        "variables, not in globals another call can change meanwhile.",
    )
    checks.equal(
        Counter(phase for phase, _ in record.calls()),
        Counter({"reserve": 3, "charge": 3, "ship": 3}),
        "Phases called by three orders (the same order id twice)",
        "Each order is reserved, charged and shipped once, even the same order id twice.",
    )
    checks.took(looptime, 4, "Three orders at once, each 1 s + 2 s + 1 s")


@pytest.mark.task(2)
async def test_cancelling_during_the_charge_ships_nothing(looptime):
    checks.is_async(chaining.process_order, "process_order")
    record, reserve, charge, ship = shop(looptime)
    wrong = await cancel_while_waiting(chaining.process_order(reserve, charge, ship, "G7"), 2)
    if wrong:
        pytest.fail(
            f"process_order() was cancelled 2 s in, during charge(), but {wrong}. Let the "
            "CancelledError go up to your caller.",
            pytrace=False,
        )
    await asyncio.sleep(10)  # anything still going would start or end now
    went_on = record.went_on(2)
    if went_on:
        pytest.fail(
            f"process_order() was cancelled 2 s in, during charge(), but {went_on}. Await "
            "each phase directly, so that a cancel stops the phase in progress and starts "
            "nothing more: an order cancelled before it was paid is never shipped.",
            pytrace=False,
        )


# Scenario doubles (tasks 3 and 4): phases a, b and c each turn one value of POOL into
# another (a different one, so a skipped or repeated phase shows), taking a delay drawn for
# that phase and input. Values include falsy ones, unhashable ones and 1 next to True.

POOL: list[Any] = [0, "", None, "x", [1], (2,), "ü\r\n", 1, True]
SHIFT = {"a": 1, "b": 3, "c": 5}
PHASES = list(SHIFT)
DELAYS = [0, 1, 2.5, 10_000]


def _key(value: Any) -> tuple[str, str]:
    """Tells apart values that compare equal (1 and True) or cannot be hashed ([1])."""
    return type(value).__name__, repr(value)


_INDEX = {_key(v): i for i, v in enumerate(POOL)}


def _fresh(index: int) -> Any:
    value = POOL[index]
    return list(value) if isinstance(value, list) else value


def _show(values: list[Any]) -> str:
    return "[" + ", ".join(repr(v) for v in values) + "]"


class Line:
    """The phases of one scenario, timed in loop time from the scenario's start."""

    def __init__(self, delays: list[float]) -> None:
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self.delays = delays
        self.starts: list[tuple[float, str, int | None]] = []
        self.returned: list[Any] = []

    def delay(self, name: str, index: int) -> float:
        return self.delays[(PHASES.index(name) * len(POOL) + index) % len(self.delays)]

    def phase(self, name: str) -> Any:
        async def run(value: Any) -> Any:
            if inspect.isawaitable(value):
                pytest.fail(
                    f"Phase {name}() was given a {type(value).__name__} object instead of a "
                    "value: the phase before it was called but never awaited.",
                    pytrace=False,
                )
            index = _INDEX.get(_key(value))
            self.starts.append((round(self.loop.time() - self.t0, 6), name, index))
            if index is None:  # not a value any phase gives: tell it apart, take no time
                return f"{name}?({value!r})"
            await asyncio.sleep(self.delay(name, index))
            result = _fresh((index + SHIFT[name]) % len(POOL))
            self.returned.append(result)
            return result

        run.__name__ = run.__qualname__ = name
        return run

    def expect(
        self, names: list[str], index: int
    ) -> tuple[int, list[tuple[float, str, int]], float]:
        """The oracle for one chain: the result's index, each phase's start, the end time."""
        at, starts = 0.0, []
        for name in names:
            starts.append((round(at, 6), name, index))
            at += self.delay(name, index)
            index = (index + SHIFT[name]) % len(POOL)
        return index, starts, at

    def check_starts(self, expected: list[tuple[float, str, int]], said: str) -> None:
        got = sorted(self.starts, key=repr)
        calls = Counter((name, index) for _, name, index in self.starts)
        wanted = Counter((name, index) for _, name, index in expected)
        if calls != wanted:
            extra = calls - wanted
            missing = wanted - calls
            parts = []
            if missing:
                parts.append(
                    "never called: "
                    + ", ".join(f"{name}({POOL[i]!r}) x{n}" for (name, i), n in missing.items())
                )
            if extra:
                parts.append(
                    "called but not expected: "
                    + ", ".join(
                        f"{name}({POOL[i] if i is not None else '?'!r}) x{n}"
                        for (name, i), n in extra.items()
                    )
                )
            pytest.fail(
                f"{said}: the phase calls were wrong ({'; '.join(parts)}). Each value goes "
                "through every phase in turn, once, each phase given the previous phase's "
                "result.",
                pytrace=False,
            )
        for name, index in wanted:
            when = sorted(t for t, n, i in got if (n, i) == (name, index))
            should = sorted(t for t, n, i in expected if (n, i) == (name, index))
            if when != should:
                late = when[0] > should[0] if when and should else True
                pytest.fail(
                    f"{said}: phase {name}({POOL[index]!r}) started at {when[0]:g} s; expected "
                    f"at {should[0]:g} s, as soon as the phase before it in its own chain "
                    "ended. "
                    + (
                        "Likely: it waited for other work it does not depend on (chains run "
                        "one after another, or stage by stage)."
                        if late
                        else "It started before the phase before it had finished: await each phase "
                        "before calling the next."
                    ),
                    pytrace=False,
                )


def _line_mistake(names: list[str], start: int, result: Any) -> str:
    """Explain a chain's wrong result by the shortcut it matches (what the value shows)."""

    def through(steps: list[str]) -> tuple[str, str]:
        index = start
        for name in steps:
            index = (index + SHIFT[name]) % len(POOL)
        return _key(POOL[index])

    got = _key(result)
    index = start
    for name in names:
        after = (index + SHIFT[name]) % len(POOL)
        index = after if POOL[after] else index
    if got == _key(POOL[index]) and got != through(names):
        return (
            "That is what comes out when a phase's falsy result (0, '', None, False) is "
            "replaced by an earlier value. Likely: `await phase(value) or value`, an "
            "`if result:` check, or None taken to mean 'no result yet'. A falsy result is "
            "still the result: pass it on."
        )

    if names and got == _key(POOL[start]):
        return "That is the value you were given: keep each phase's result."
    if len(names) > 1 and got == through(names[-1:]):
        return (
            "That is the last phase applied to the original value: every phase got the "
            "original value. Feed each phase the previous phase's result."
        )
    if len(names) > 1 and got == through(names[:1]):
        return "That is the first phase's result: the later phases' results were lost."
    return "Feed the value through every phase in turn and return the last phase's result."


def _gave_up(said: str, delays: list[float]) -> str:
    return (
        f"{said} gave up with TimeoutError, but its phases take as long as {max(delays):g} s "
        "and are allowed to: there is a timeout (asyncio.wait_for, asyncio.timeout) around "
        "a phase or a chain. Await each phase for as long as it takes."
    )


SCENARIO_DELAYS = st.lists(st.sampled_from(DELAYS), min_size=1, max_size=len(PHASES) * len(POOL))


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


@pytest.mark.task(3)
async def test_a_failing_phase_stops_the_chain(looptime):
    record = Recorder(looptime)
    phases = [
        record.phase("wash", 1),
        record.phase("chop", 2, fails=ValueError("knife broke")),
        record.phase("cook", 1),
    ]
    try:
        result = await call("run_pipeline", phases, "rice")
    except ValueError as exc:
        checks.equal(str(exc), "knife broke", "The error run_pipeline() raised")
    else:
        pytest.fail(
            f"chop() raised ValueError('knife broke'), but run_pipeline() returned {result!r}. "
            "Let the error reach your caller: do not catch it, skip the phase or retry it.",
            pytrace=False,
        )
    checks.equal(
        record.calls(),
        [("wash", "rice"), ("chop", "wash(rice)")],
        "Phases called when chop() fails",
        "Once a phase fails, the chain stops: no retry, and the later phases are never called.",
    )


@pytest.mark.task(3)
async def test_the_last_result_is_returned_as_it_is(looptime):
    made: list[Any] = []

    async def to_list(value: Any) -> list:
        made.append([value])
        return made[-1]

    result = await call("run_pipeline", [to_list], "x")
    if result is not (made[-1] if made else None):
        pytest.fail(
            f"run_pipeline([to_list], 'x') returned {result!r} ({type(result).__name__}); "
            f"expected the very list the last phase returned. Return the last result as it is: "
            "do not copy or convert it.",
            pytrace=False,
        )
    given = {"raw": True}
    result = await call("run_pipeline", [], given)
    if result is not given:
        pytest.fail(
            f"run_pipeline([], value) returned {result!r} ({type(result).__name__}), not the "
            "value it was given: with no phases, return `value` itself, unchanged.",
            pytrace=False,
        )


@pytest.mark.task(3)
async def test_two_pipelines_at_once_keep_their_own_values(looptime):
    record = Recorder(looptime)
    slow = [record.phase("wash", 3), record.phase("cook", 1)]
    quick = [record.phase("peel", 1)]
    checks.is_async(chaining.run_pipeline, "run_pipeline")
    results = await asyncio.gather(
        chaining.run_pipeline(slow, "rice"), chaining.run_pipeline(quick, "egg")
    )
    checks.equal(
        list(results),
        ["cook(wash(rice))", "peel(egg)"],
        "run_pipeline([wash, cook], 'rice') and run_pipeline([peel], 'egg') at once",
        "Each call must carry only its own value: keep it in a local variable, not a global "
        "or module-level one another call can change meanwhile.",
    )
    checks.took(looptime, 4, "Two pipelines at once, of 3 + 1 s and of 1 s")


@pytest.mark.task(3)
async def test_running_the_same_pipeline_again_runs_its_phases_again(looptime):
    record, phases = kitchen(looptime)
    first = await call("run_pipeline", phases, "rice")
    again = await call("run_pipeline", phases, "rice")
    checks.equal(
        (first, again, len(record.calls())),
        ("cook(chop(wash(rice)))", "cook(chop(wash(rice)))", 6),
        "(first result, second result, phase calls) of run_pipeline([wash, chop, cook], "
        "'rice') run twice",
        lambda got: (
            "The second run called no phase or fewer: a result kept from the first run (a "
            "cache or memo) is not a run. Each call runs every phase afresh."
            if isinstance(got, tuple) and len(got) == 3 and got[2] < 6
            else ""
        ),
    )
    checks.took(looptime, 8, "Two runs, one after the other, of phases of 1, 2 and 1 s")


@pytest.mark.task(3)
async def test_cancelling_run_pipeline_stops_the_chain(looptime):
    checks.is_async(chaining.run_pipeline, "run_pipeline")
    record, phases = kitchen(looptime)  # wash 1 s, chop 2 s, cook 1 s
    wrong = await cancel_while_waiting(chaining.run_pipeline(phases, "rice"), 2)
    if wrong:
        pytest.fail(
            f"run_pipeline() was cancelled 2 s in, during chop(), but {wrong}. Let the "
            "CancelledError go up to your caller.",
            pytrace=False,
        )
    await asyncio.sleep(10)  # anything still going would start or end now
    went_on = record.went_on(2)
    if went_on:
        pytest.fail(
            f"run_pipeline() was cancelled 2 s in, during chop(), but {went_on}. Await each "
            "phase directly, so that a cancel stops the phase in progress and starts nothing "
            "more.",
            pytrace=False,
        )


@pytest.mark.task(3)
@pytest.mark.loop_limit(100_000)
@scenarios.given(
    names=st.lists(st.sampled_from(PHASES), max_size=4),
    start=st.integers(0, len(POOL) - 1),
    delays=SCENARIO_DELAYS,
)
async def test_run_pipeline_in_any_scenario(names, start, delays):
    line = Line(delays)
    value = _fresh(start)
    phases = [line.phase(name) for name in names]
    given = list(phases)
    said = f"run_pipeline([{', '.join(names)}], {value!r})"
    scenarios.describe(f"with {said}")
    try:
        result = await call("run_pipeline", phases, value)
    except TimeoutError:
        pytest.fail(_gave_up(said, delays), pytrace=False)
    took = line.loop.time() - line.t0
    if phases != given:
        pytest.fail(
            f"{said} changed the list of phases it was given: {len(given)} phases before the "
            f"call, {len(phases)} after. Read the list without removing anything.",
            pytrace=False,
        )
    end, starts, total = line.expect(names, start)
    checks.equal(
        _key(result),
        _key(POOL[end]),
        f"{said}: the type and value returned",
        _line_mistake(names, start, result),
    )
    wanted = line.returned[-1] if names and line.returned else value
    if result is not wanted:
        pytest.fail(
            f"{said} returned an equal copy, not the very object "
            + ("the last phase returned" if names else "it was given")
            + ": return it as it is.",
            pytrace=False,
        )
    line.check_starts(starts, said)
    checks.took(took, total, said)


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
    record, phases = lines(looptime, SPLIT)
    await call("run_pipelines", phases, ["p", "q", "r"])
    a_ends = [t for t, what, name, _ in record.events if what == "end" and name == "a"]
    b_starts = [t for t, what, name, _ in record.events if what == "start" and name == "b"]
    likely = {}
    if record.most_at_once() == 1:
        likely[12] = (
            "That is 4 + 4 + 4, and no two phases ever ran at the same time: the chains ran "
            "one after another. They are independent: start them all, then wait for all of "
            "them."
        )
    if a_ends and b_starts and min(b_starts) >= max(a_ends):
        likely[6] = (
            "That is 3 + 3, the slowest phase a plus the slowest phase b: no phase b began "
            "before every value's phase a had ended, so the values ran stage by stage. Let "
            "each chain move on as soon as its own previous phase is done."
        )
    checks.took(
        looptime,
        4,
        "Three chains of 4 s each (phase a takes 1, 3 and 2 s, phase b 3, 1 and 2 s)",
        likely,
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
async def test_many_chains_all_run_at_once(looptime):
    values = [f"v{i}" for i in range(200)]
    started: list[float] = []

    async def slow(value: str) -> str:
        started.append(asyncio.get_running_loop().time())
        await asyncio.sleep(1)
        return value + "!"

    t0 = asyncio.get_running_loop().time()
    result = await call("run_pipelines", [slow], values)
    checks.equal(
        list(result) if isinstance(result, list | tuple) else result,
        [v + "!" for v in values],
        "run_pipelines([a 1 s phase], 200 values)",
    )
    late = sorted({round(t - t0, 6) for t in started} - {0.0})
    if late:
        pytest.fail(
            f"200 chains of one 1 s phase took {float(looptime):g} s: only some chains started "
            f"at 0 s, others at {late[:5]} s. Something capped how many chains run at once (a "
            "Semaphore, a batch size or a pool of workers); the contract has no cap: start "
            "every chain at once.",
            pytrace=False,
        )
    checks.took(looptime, 1, "200 chains of one 1 s phase each")


@pytest.mark.task(4)
async def test_the_same_value_twice_gets_two_chains(looptime):
    record, phases = lines(looptime, SPLIT)
    values = ["p", "p", "q"]
    result = await call("run_pipelines", phases, values)
    expected = ["b(a(p))", "b(a(p))", "b(a(q))"]
    checks.equal(
        list(result) if isinstance(result, list | tuple) else result,
        expected,
        "run_pipelines([a, b], ['p', 'p', 'q'])",
        lambda got: (
            f"{len(got)} results for 3 values, 'p' listed twice: likely the chains were kept "
            "in a dict or set keyed by value, which merges equal values. Keep one chain per "
            "entry of values (a list)."
            if isinstance(got, list | tuple) and len(got) < 3
            else _results_mistake(values, expected)(got)
        ),
    )
    checks.equal(
        Counter(record.calls()),
        Counter({("a", "p"): 2, ("a", "q"): 1, ("b", "a(p)"): 2, ("b", "a(q)"): 1}),
        "Phases called for values ['p', 'p', 'q']",
        "Run one whole chain per entry of values, even for a value listed twice.",
    )


@pytest.mark.task(4)
async def test_values_and_phases_are_left_unchanged(looptime):
    _, phases = lines(looptime, SPLIT)
    values = ["p", "q", "r"]
    given_values, given_phases = list(values), list(phases)
    await call("run_pipelines", phases, values)
    for what, before, after in [("values", given_values, values), ("phases", given_phases, phases)]:
        if before != after:
            pytest.fail(
                f"run_pipelines() changed the caller's list of {what}: {len(before)} items "
                f"before the call, {len(after)} after. Read both lists without removing, "
                "adding or reordering anything.",
                pytrace=False,
            )


@pytest.mark.task(4)
async def test_results_come_back_as_a_list(looptime):
    _, phases = lines(looptime, SPLIT)
    result = await call("run_pipelines", phases, ["p", "q"])
    if not isinstance(result, list):
        pytest.fail(
            f"run_pipelines() returned a {type(result).__name__} ({result!r}); expected a "
            "list. gather() gives a list; wrap anything else in list(...).",
            pytrace=False,
        )


@pytest.mark.task(4)
async def test_a_failing_chain_reaches_the_caller(looptime):
    record = Recorder(looptime)
    broken = ValueError("bad value")

    def b_output(value: Any) -> Any:
        if value == "a(bad)":
            raise broken
        return f"b({value})"

    phases = [
        record.phase("a", 1),
        record.phase("b", {"a(p)": 5, "a(bad)": 1, "a(q)": 5}, b_output),
        record.phase("c", 1),
    ]
    try:
        result = await call("run_pipelines", phases, ["p", "bad", "q"])
    except Exception as exc:  # bare, or inside a TaskGroup's ExceptionGroup
        if broken not in _leaves(exc):
            raise
    else:
        pytest.fail(
            f"Phase b raised ValueError('bad value') for 'bad', but run_pipelines() returned "
            f"{result!r}. Let the error reach your caller: do not catch it, and do not put it "
            "among the results.",
            pytrace=False,
        )
    await asyncio.sleep(20)  # let any chain still going finish
    calls = Counter(record.calls())
    checks.equal(
        (calls[("b", "a(bad)")], calls[("c", "b(a(bad))")]),
        (1, 0),
        "Calls of phase b, then of phase c, for the value 'bad' whose phase b fails",
        "A failed phase is not retried, and its chain goes no further.",
    )


@pytest.mark.task(4)
async def test_two_calls_at_once_keep_their_own_results(looptime):
    _, phases = lines(looptime, SPLIT)
    checks.is_async(chaining.run_pipelines, "run_pipelines")
    first, second = await asyncio.gather(
        chaining.run_pipelines(phases, ["p", "q"]), chaining.run_pipelines(phases, ["r"])
    )
    checks.equal(
        (list(first), list(second)),
        (["b(a(p))", "b(a(q))"], ["b(a(r))"]),
        "run_pipelines(phases, ['p', 'q']) and run_pipelines(phases, ['r']) at once",
        "Each call returns only its own chains' results: keep them in a local list, not a "
        "global or module-level one.",
    )
    checks.took(looptime, 4, "Two run_pipelines() calls at once, every chain 4 s")


@pytest.mark.task(4)
async def test_cancelling_run_pipelines_cancels_every_chain(looptime):
    checks.is_async(chaining.run_pipelines, "run_pipelines")
    record, phases = lines(looptime, SPLIT)  # chains p, q, r: phase a takes 1, 3 and 2 s
    wrong = await cancel_while_waiting(chaining.run_pipelines(phases, ["p", "q", "r"]), 1.5)
    if wrong:
        pytest.fail(
            f"run_pipelines() was cancelled 1.5 s in, but {wrong}. Let the CancelledError go "
            "up to your caller.",
            pytrace=False,
        )
    await asyncio.sleep(20)  # anything still going would start or end now
    went_on = record.went_on(1.5)
    if went_on:
        pytest.fail(
            f"run_pipelines() was cancelled 1.5 s in, but its chains went on: {went_on}. "
            "Cancelling run_pipelines() must cancel every chain it started. gather() and "
            "a TaskGroup do that for you; tasks awaited one by one, asyncio.wait() and "
            "as_completed() do not (cancel the tasks yourself in a `finally:`).",
            pytrace=False,
        )


SCENARIO_VALUES = st.lists(st.integers(0, len(POOL) - 1), max_size=5)


@pytest.mark.task(4)
@pytest.mark.loop_limit(100_000)
@scenarios.given(
    names=st.lists(st.sampled_from(PHASES), min_size=1, max_size=3),
    starts=SCENARIO_VALUES,
    delays=SCENARIO_DELAYS,
)
async def test_run_pipelines_in_any_scenario(names, starts, delays):
    line = Line(delays)
    values = [_fresh(i) for i in starts]
    phases = [line.phase(name) for name in names]
    given_phases, given_values = list(phases), [_key(v) for v in values]
    said = f"run_pipelines([{', '.join(names)}], {_show(values)})"
    scenarios.describe(f"with {said}")
    try:
        result = await call("run_pipelines", phases, values)
    except TimeoutError:
        pytest.fail(_gave_up(said, delays), pytrace=False)
    except TypeError as exc:
        if "unhashable" not in str(exc):
            raise
        pytest.fail(
            f"{said} raised TypeError: {exc}. A value can be a list, which cannot be a dict "
            "key or a set member: keep one chain per entry of values in a list, in order, "
            "and never key anything by value.",
            pytrace=False,
        )
    took = line.loop.time() - line.t0
    if phases != given_phases or [_key(v) for v in values] != given_values:
        pytest.fail(
            f"{said} changed the caller's list of "
            + ("phases" if phases != given_phases else "values")
            + ": read both lists without removing, adding or reordering anything.",
            pytrace=False,
        )
    if not isinstance(result, list):
        pytest.fail(f"{said} returned a {type(result).__name__}; expected a list.", pytrace=False)
    oracle = [line.expect(names, i) for i in starts]
    expected = [POOL[end] for end, _, _ in oracle]
    truthy = [_key(e) for e in expected if e]
    if len(result) < len(values) and [_key(r) for r in result] == truthy:
        pytest.fail(
            f"{said}: expected {_show(expected)}, got {_show(result)}: the falsy results "
            "(0, '', None, False) were left out. They are results like any other: no "
            "`if result` filter.",
            pytrace=False,
        )
    if len(result) != len(values):
        pytest.fail(
            f"{said} returned {len(result)} results for {len(values)} values: expected "
            f"{_show(expected)}, got {_show(result)}. "
            + (
                "Likely: the values were used as keys of a dict or set, which merges equal "
                "values (and 1 with True) and cannot hold lists. Keep one chain per entry of "
                "values, in a list."
                if len(result) < len(values)
                else "Likely: results of an earlier call crept in, from a list kept between "
                "calls (a global, or a mutable default argument like `results=[]`)."
            ),
            pytrace=False,
        )
    if [_key(r) for r in result] != [_key(e) for e in expected]:
        wrong = next(
            i for i, (r, e) in enumerate(zip(result, expected, strict=True)) if _key(r) != _key(e)
        )
        in_order = sorted(map(repr, map(_key, result))) == sorted(map(repr, map(_key, expected)))
        pytest.fail(
            f"{said}: expected {_show(expected)}, got {_show(result)}. "
            + (
                "The results must follow the order of values, not the order the chains finished."
                if in_order
                else f"The chain of {values[wrong]!r}: "
                + _line_mistake(names, starts[wrong], result[wrong])
            ),
            pytrace=False,
        )
    line.check_starts([start for _, chain, _ in oracle for start in chain], said)
    checks.took(took, max((end for _, _, end in oracle), default=0), said)


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
