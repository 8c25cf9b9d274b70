"""Exercise 05 tests. Run them with `pytest exercises/05`."""

import asyncio
import inspect

import pytest

from aiokata import checks, exercise_module

callbacks = exercise_module(__file__)


def now() -> float:
    return round(asyncio.get_running_loop().time(), 6)


def cancel_all(handles: object) -> None:
    """Cleanup: stop whatever the learner scheduled that has not fired (and could not)."""
    for handle in handles if isinstance(handles, (list, tuple)) else []:
        if hasattr(handle, "cancel"):
            handle.cancel()


def check_handle(handle: object, what: str) -> None:
    if inspect.iscoroutine(handle):
        handle.close()
        pytest.fail(
            f"{what} is a coroutine object: write the function with a plain `def`. Scheduling "
            "a callback does not wait for anything, so it needs no async and no await.",
            pytrace=False,
        )
    if handle is None:
        pytest.fail(
            f"{what} is None: the function returned nothing. Return the handle that "
            "loop.call_soon / call_later / call_at gave you: the caller needs its .cancel().",
            pytrace=False,
        )
    if not callable(getattr(handle, "cancel", None)):
        pytest.fail(
            f"{what} is {handle!r}, not a handle. Return what loop.call_soon / call_later / "
            "call_at returned: the caller needs its .cancel().",
            pytrace=False,
        )


def check_clock(handles: list, what: str, horizon: float) -> None:
    """Fail if a handle is scheduled on another clock: far beyond `horizon` seconds from now.
    A wall-clock time.time() lands about 1.7e9 s away, as the loop's clock starts at 0 here."""
    start = asyncio.get_running_loop().time()
    for number, handle in enumerate(handles, 1):
        when = getattr(handle, "when", None)
        if not callable(when):
            continue  # not a TimerHandle: the firing times will tell
        ahead = when() - start
        if ahead > 1e6:
            cancel_all(handles)
            pytest.fail(
                f"{what} {number} was scheduled for time {when():.6g} on the loop's clock, "
                f"about {ahead / 3.156e7:.0f} years from now (the loop's clock reads "
                f"{start:g}). That is a wall-clock time.time() value: loop.call_at() takes a "
                "time on the loop's own clock, which only loop.time() reads.",
                pytrace=False,
            )
        if ahead > horizon:
            cancel_all(handles)
            pytest.fail(
                f"{what} {number} was scheduled for time {when():.6g}, {ahead:g} s from now "
                f"(the loop's clock reads {start:g}). Those are the numbers of another clock: "
                "loop.call_at() takes a time on the loop's own clock, which only loop.time() "
                "reads (it is neither time.time() nor time.monotonic()).",
                pytrace=False,
            )


# Task 1: notify_soon


class Notifier:
    """A test double with the signature `notify(user, *, urgent)` that records each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool, float]] = []

    def __call__(self, user: str, *, urgent: bool) -> None:
        self.calls.append((user, urgent, now()))


NEVER_CALLED = (
    "notify had not been called by the loop's next turn. If asyncio also logged a TypeError "
    "from the callback, the arguments were wrong: `urgent` is keyword-only, so it must be "
    "bound by name, as in functools.partial(notify, user, urgent=urgent). Otherwise it was "
    "scheduled too late: loop.call_soon runs it on the next turn, a timer (call_later, "
    "call_at) only when its time comes."
)


def call_notify_soon(notify: Notifier, user: str, urgent: bool) -> object:
    try:
        handle = callbacks.notify_soon(notify, user, urgent=urgent)
    except TypeError as exc:
        if "keyword argument" in str(exc):
            pytest.fail(
                f"notify_soon() raised TypeError: {exc}. loop.call_soon(callback, *args) "
                "passes only positional arguments to the callback; its own keyword arguments "
                "are reserved (context=...). Bind the keyword first: "
                "loop.call_soon(functools.partial(notify, user, urgent=urgent)).",
                pytrace=False,
            )
        if "callable" in str(exc):
            pytest.fail(
                f"notify_soon() raised TypeError: {exc}. You called notify(...) yourself and "
                "handed its result (None) to call_soon. Give call_soon the function to call "
                "later, not the result of calling it now.",
                pytrace=False,
            )
        raise
    if notify.calls:
        cancel_all([handle])
        pytest.fail(
            f"notify() was called before notify_soon() returned (calls: {notify.calls}). "
            "notify_soon() must only schedule the call; the loop makes it on its next turn. "
            "Pass the function to loop.call_soon instead of calling it yourself.",
            pytrace=False,
        )
    return handle


@pytest.mark.task(1)
async def test_notify_runs_on_the_next_turn_not_now():
    notify = Notifier()
    await asyncio.sleep(3)  # the test starts at loop time 3
    handle = call_notify_soon(notify, "ana", True)
    check_handle(handle, "notify_soon()'s result")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    checks.equal(
        notify.calls,
        [("ana", True, 3.0)],
        "Calls of notify() (user, urgent, loop time) once the loop had its next turn",
        lambda got: NEVER_CALLED if got == [] else "",
    )


@pytest.mark.task(1)
async def test_urgent_is_passed_by_keyword_both_ways():
    notify = Notifier()
    call_notify_soon(notify, "bo", False)
    call_notify_soon(notify, "cy", True)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    checks.equal(
        [(user, urgent) for user, urgent, _ in notify.calls],
        [("bo", False), ("cy", True)],
        "Calls of notify() (user, urgent), in the order they were scheduled",
        lambda got: (
            NEVER_CALLED
            if got == []
            else "urgent must be the value you were given, passed as urgent=..."
            if isinstance(got, list) and len(got) == 2
            else ""
        ),
    )


@pytest.mark.task(1)
async def test_the_returned_handle_cancels_the_call():
    notify = Notifier()
    handle = call_notify_soon(notify, "dee", True)
    check_handle(handle, "notify_soon()'s result")
    handle.cancel()  # type: ignore[attr-defined]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    checks.equal(
        notify.calls,
        [],
        "Calls of notify() after the returned handle was cancelled",
        "Return the very handle call_soon gave you, so cancelling it stops the call.",
    )


# Task 2: schedule_reminders


def call_schedule_reminders(
    remind, reminders: list[tuple[str, float]], fired: list | None = None
) -> list:
    handles = callbacks.schedule_reminders(remind, reminders)
    if inspect.iscoroutine(handles):
        check_handle(handles, "schedule_reminders()'s result")
    if not isinstance(handles, (list, tuple)) or len(handles) != len(reminders):
        cancel_all(handles)
        pytest.fail(
            f"schedule_reminders() returned {handles!r}; expected a list of "
            f"{len(reminders)} handle(s), one per reminder, in the order given.",
            pytrace=False,
        )
    if fired:
        cancel_all(handles)
        pytest.fail(
            f"remind() was called before schedule_reminders() returned (calls: {fired}). Do "
            "not call remind() yourself: give the loop the function and its argument, "
            "loop.call_later(delay, remind, text), and it calls remind(text) when the time comes.",
            pytrace=False,
        )
    for handle in handles:
        check_handle(handle, "An item of schedule_reminders()'s result")
    check_clock(handles, "Reminder", 100 * max([delay for _, delay in reminders] + [1]))
    return list(handles)


def reminders_likely(expected: list, start: float):
    """Explain a wrong firing log of schedule_reminders(): items are texts or (text, time)."""

    def likely(got: object) -> str:
        if not isinstance(got, list) or not got:
            return "No reminder fired."
        texts = [item[0] if isinstance(item, tuple) else item for item in got]
        wanted = [item[0] if isinstance(item, tuple) else item for item in expected]
        times = [item[1] for item in got if isinstance(item, tuple)]
        if len(set(texts)) == 1 and len(set(wanted)) > 1:
            return (
                f"Every reminder said {texts[0]!r}: a lambda written in a loop looks the "
                "loop variable up when it runs, after the loop has ended. Pass the text as an "
                "argument instead: loop.call_later(delay, remind, text)."
            )
        if sorted(texts) == sorted(wanted) and times and all(w == start for w in times):
            return (
                "They all fired at once, when they were scheduled. loop.call_at() takes an "
                "absolute time on the loop's clock, not a delay: use loop.call_later(delay, "
                "...), or call_at(loop.time() + delay, ...)."
            )
        if texts == wanted[: len(texts)] and len(texts) < len(wanted):
            return "Some reminders never fired."
        return ""

    return likely


@pytest.mark.task(2)
async def test_reminders_fire_in_the_order_of_their_delays():
    fired: list[tuple[str, float]] = []
    await asyncio.sleep(10)  # the test starts at loop time 10
    handles = call_schedule_reminders(
        lambda text: fired.append((text, now())),
        [("tea", 0.2), ("toast", 0.1), ("now", 0)],
        fired,
    )
    try:
        await asyncio.sleep(1)
    finally:
        cancel_all(handles)
    expected = [("now", 10.0), ("toast", 10.1), ("tea", 10.2)]
    checks.equal(
        fired,
        expected,
        "Reminders (text, loop time it fired) scheduled at loop time 10 as tea in 0.2 s, "
        "toast in 0.1 s and now",
        reminders_likely(expected, 10.0),
    )


@pytest.mark.task(2)
async def test_scheduling_returns_at_once_and_calls_nothing_yet(looptime):
    fired: list[str] = []
    handles = call_schedule_reminders(fired.append, [("stretch", 2), ("water", 1)])
    checks.equal(
        fired,
        [],
        "Reminders fired before schedule_reminders() returned",
        "Do not call remind() yourself: the loop calls it when its time comes.",
    )
    checks.took(looptime, 0, "schedule_reminders() itself")
    try:
        await asyncio.sleep(3)
    finally:
        cancel_all(handles)
    checks.equal(
        fired,
        ["water", "stretch"],
        "Reminders fired within 3 s (stretch in 2 s, water in 1 s)",
        reminders_likely(["water", "stretch"], 0.0),
    )


@pytest.mark.task(2)
async def test_each_handle_cancels_its_own_reminder():
    fired: list[str] = []
    await asyncio.sleep(5)
    handles = call_schedule_reminders(
        fired.append, [("a", 0.5), ("b", 1), ("c", 0), ("d", 1.5)], fired
    )
    handles[1].cancel()
    handles[2].cancel()
    try:
        await asyncio.sleep(2)
    finally:
        cancel_all(handles)
    checks.equal(
        fired,
        ["a", "d"],
        "Reminders fired after the handles of 'b' and 'c' were cancelled",
        lambda got: (
            reminders_likely(["a", "d"], 5.0)(got)
            or "Return the handles in the order of `reminders`, each the one that schedules "
            "that reminder."
        ),
    )


@pytest.mark.task(2)
async def test_reminders_with_the_same_delay_fire_together():
    fired: list[tuple[str, float]] = []
    await asyncio.sleep(1)
    handles = call_schedule_reminders(
        lambda text: fired.append((text, now())), [("x", 0.25), ("y", 0.25), ("z", 0.75)], fired
    )
    try:
        await asyncio.sleep(1)
    finally:
        cancel_all(handles)
    expected = [("x", 1.25), ("y", 1.25), ("z", 1.75)]
    # asyncio leaves the order of callbacks due at the very same time undefined: x and y may
    # fire either way round, so compare in order of (time, text).
    checks.equal(
        sorted(fired, key=lambda item: (item[1], item[0])) if fired_pairs(fired) else fired,
        expected,
        "Reminders (text, loop time) scheduled at loop time 1 as x and y in 0.25 s, z in 0.75 s",
        reminders_likely(expected, 1.0),
    )


def fired_pairs(fired: object) -> bool:
    return isinstance(fired, list) and all(
        isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) for item in fired
    )


@pytest.mark.task(2)
async def test_no_reminders_gives_no_handles():
    handles = call_schedule_reminders(lambda text: None, [])
    checks.equal(handles, [], "schedule_reminders(remind, [])")


# Task 3: schedule_on_the_beat


def call_on_the_beat(beat, period: float, count: int) -> list:
    handles = callbacks.schedule_on_the_beat(beat, period, count)
    if inspect.iscoroutine(handles):
        check_handle(handles, "schedule_on_the_beat()'s result")
    if not isinstance(handles, (list, tuple)) or len(handles) != count:
        cancel_all(handles)
        pytest.fail(
            f"schedule_on_the_beat() returned {handles!r}; expected a list of {count} "
            "handles, one per beat, in order.",
            pytrace=False,
        )
    for handle in handles:
        check_handle(handle, "An item of schedule_on_the_beat()'s result")
    check_clock(handles, "Beat", 100 * period * count)
    return list(handles)


SAME_BEAT = (
    "Every beat got the same number: a lambda written in a loop looks the loop variable up "
    "when it runs, after the loop has ended. Pass the number as an argument instead: "
    "loop.call_at(when, beat, n)."
)


def beat_likely(period: float, start: float):
    """Explain wrong beats; `got` holds loop times or (number, loop time) pairs."""

    def likely(got: object) -> str:
        if not isinstance(got, list) or not got:
            return "No beat fired."
        numbers = [item[0] if isinstance(item, tuple) else item for item in got]
        if len(got) > 1 and len(set(numbers)) == 1:
            return SAME_BEAT
        times = [item[1] if isinstance(item, tuple) else item for item in got]
        if all(when <= start for when in times):
            return (
                "Every beat was due at once: their times were already past on the loop's "
                "clock. call_at() wants an absolute time: loop.time() plus some offset."
            )
        if times[0] == start:
            return (
                "The first beat came right away: now is already on a multiple of the "
                "period, and the beats must come strictly after now."
            )
        if any(round(when / period, 6) % 1 for when in times):
            return (
                f"The beats are not on multiples of {period:g} on the loop's clock: counting "
                "from now (call_later, or loop.time() + n * period) keeps the offset of the "
                "moment you scheduled. Round up to the next multiple of the period first."
            )
        if times[0] > start + period:
            return (
                f"The first beat came more than one period after now: it should be the "
                f"first multiple of {period:g} after {start:g}."
            )
        return ""

    return likely


@pytest.mark.task(3)
async def test_beats_land_on_the_loop_clocks_grid():
    fired: list[tuple[int, float]] = []
    await asyncio.sleep(10.25)  # the loop's clock now reads 10.25
    handles = call_on_the_beat(lambda n: fired.append((n, now())), 0.5, 3)
    try:
        await asyncio.sleep(2)
    finally:
        cancel_all(handles)
    checks.equal(
        fired,
        [(1, 10.5), (2, 11.0), (3, 11.5)],
        "Beats (number, loop time) with period 0.5 s scheduled at loop time 10.25",
        beat_likely(0.5, 10.25),
    )


@pytest.mark.task(3)
async def test_beats_come_strictly_after_now():
    fired: list[tuple[int, float]] = []
    await asyncio.sleep(6)  # exactly on a multiple of the period
    handles = call_on_the_beat(lambda n: fired.append((n, now())), 2, 2)
    try:
        await asyncio.sleep(5)
    finally:
        cancel_all(handles)
    checks.equal(
        fired,
        [(1, 8.0), (2, 10.0)],
        "Beats (number, loop time) with period 2 s scheduled at loop time 6",
        beat_likely(2, 6),
    )


@pytest.mark.task(3)
async def test_beats_are_scheduled_for_the_loop_clock_times():
    await asyncio.sleep(3)
    handles = call_on_the_beat(lambda n: None, 2, 3)
    try:
        wanted = [round(h.when(), 6) if hasattr(h, "when") else h for h in handles]
    finally:
        cancel_all(handles)
    checks.equal(
        wanted,
        [4.0, 6.0, 8.0],
        "Times (loop clock) the handles were scheduled for, period 2 s, at loop time 3",
        lambda got: (
            beat_likely(2, 3)(got)
            or "Use loop.call_at(when, beat, n): its handle's .when() is the loop time it fires at."
        ),
    )


@pytest.mark.task(3)
async def test_a_cancelled_beat_is_skipped():
    fired: list[int] = []
    await asyncio.sleep(0.1)
    handles = call_on_the_beat(fired.append, 1, 3)
    handles[1].cancel()
    try:
        await asyncio.sleep(4)
    finally:
        cancel_all(handles)
    checks.equal(
        fired,
        [1, 3],
        "Beats fired after beat 2's handle was cancelled",
        lambda got: (
            SAME_BEAT
            if isinstance(got, list) and len(got) > 1 and len(set(got)) == 1
            else "Return the handles in order, each the one that schedules that beat."
            if got == [1, 2] or got == [2, 3]
            else ""
        ),
    )


# Task 4: Debouncer


def poke(debouncer) -> None:
    result = debouncer.poke()
    if inspect.iscoroutine(result):
        result.close()
        pytest.fail(
            "poke() returned a coroutine: write it with a plain `def`. It only schedules a "
            "call (loop.call_later) and returns at once.",
            pytrace=False,
        )


CALL_AT_DELAY = (
    "The action ran at the very moment of a poke: its time was already past when it was "
    "scheduled. loop.call_at() takes an absolute time on the loop's clock, not a delay: use "
    "loop.call_later(delay, ...), or call_at(loop.time() + delay, ...)."
)


NEVER_RAN = (
    "The action never ran. Schedule it on the loop's own clock: call_later(delay, action), "
    "or call_at(loop.time() + delay, action), never time.time() or time.monotonic()."
)

CALLED_AT_POKE = (
    "The action ran at the moment of the poke: poke() called it. Schedule the function "
    "itself, loop.call_later(delay, action), not the result of calling it, action()."
)


def make_debouncer(delay: float, fired: list[float]):
    return callbacks.Debouncer(delay, lambda: fired.append(now()))


@pytest.mark.task(4)
async def test_one_poke_runs_the_action_once_after_the_delay(looptime):
    fired: list[float] = []
    debouncer = make_debouncer(0.5, fired)
    poke(debouncer)
    checks.equal(fired, [], "Action calls right after poke()", "poke() must not call it itself.")
    checks.took(looptime, 0, "poke()")
    await asyncio.sleep(2)
    checks.equal(
        fired,
        [0.5],
        "Loop times the action ran at after one poke at 0 (delay 0.5 s)",
        lambda got: NEVER_RAN if got == [] else "",
    )


@pytest.mark.task(4)
async def test_pokes_in_quick_succession_run_the_action_once():
    fired: list[float] = []
    debouncer = make_debouncer(0.5, fired)
    for _ in range(3):
        poke(debouncer)
        await asyncio.sleep(0.3)
    await asyncio.sleep(2)
    checks.equal(
        fired,
        [1.1],
        "Loop times the action ran at after pokes at 0, 0.3 and 0.6 (delay 0.5 s)",
        lambda got: (
            "Every poke scheduled its own call and the earlier ones still fired: cancel the "
            "pending handle (handle.cancel()) before you schedule the new one."
            if got == [0.5, 0.8, 1.1]
            else "Only the first poke counted: each poke must restart the countdown."
            if got == [0.5]
            else NEVER_RAN
            if got == []
            else CALLED_AT_POKE
            if isinstance(got, list) and got[:1] == [0.0]
            else CALL_AT_DELAY
            if got == [0.5, 0.6]
            else ""
        ),
    )


@pytest.mark.task(4)
async def test_poking_after_the_action_ran_runs_it_again():
    fired: list[float] = []
    debouncer = make_debouncer(1, fired)
    poke(debouncer)
    await asyncio.sleep(2)
    poke(debouncer)
    await asyncio.sleep(2)
    checks.equal(
        fired,
        [1.0, 3.0],
        "Loop times the action ran at after pokes at 0 and 2 (delay 1 s)",
        lambda got: (
            "The second poke did nothing: after the action has run, a new poke starts a new "
            "countdown."
            if got == [1.0]
            else NEVER_RAN
            if got == []
            else CALLED_AT_POKE
            if isinstance(got, list) and got[:1] == [0.0]
            else CALL_AT_DELAY
            if got == [1.0, 2.0]
            else ""
        ),
    )


@pytest.mark.task(4)
async def test_cancel_stops_the_pending_action():
    fired: list[float] = []
    debouncer = make_debouncer(1, fired)
    poke(debouncer)
    await asyncio.sleep(0.5)
    poke(debouncer)
    await asyncio.sleep(0.5)
    debouncer.cancel()
    await asyncio.sleep(3)
    checks.equal(
        fired,
        [],
        "Loop times the action ran at, poked at 0 and 0.5 then cancelled at 1 (delay 1 s)",
        lambda got: (
            "cancel() must call .cancel() on the handle call_later gave you; forgetting the "
            "handle is not enough, the loop still has it."
            if got == [1.5]
            else "The first poke's call still fired: each poke must cancel the one before."
            if got and got[0] == 1.0
            else CALLED_AT_POKE
            if got and got[0] == 0.0
            else ""
        ),
    )


@pytest.mark.task(4)
async def test_cancel_with_nothing_pending_is_harmless():
    fired: list[float] = []
    debouncer = make_debouncer(1, fired)
    try:
        debouncer.cancel()
    except (AttributeError, TypeError) as exc:
        pytest.fail(
            f"cancel() before any poke raised {type(exc).__name__}: {exc}. With nothing "
            "pending there is no handle yet: check for None before cancelling.",
            pytrace=False,
        )
    poke(debouncer)
    await asyncio.sleep(2)
    debouncer.cancel()
    checks.equal(fired, [1.0], "Loop times the action ran at")
