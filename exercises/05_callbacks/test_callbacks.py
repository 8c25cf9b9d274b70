"""Exercise 05 tests. Run them with `pytest exercises/05`."""

import asyncio
import inspect

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import now

callbacks = exercise_module(__file__)


def cancel_all(handles: object) -> None:
    """Cleanup: stop whatever the learner scheduled that has not fired (and could not)."""
    for handle in handles if isinstance(handles, (list, tuple)) else []:
        if hasattr(handle, "cancel"):
            handle.cancel()


def check_handle(handle: object, what: str, kind: type = asyncio.Handle) -> None:
    """Fail unless `handle` is a `kind` (asyncio.Handle, or TimerHandle for call_at)."""
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
    if isinstance(handle, asyncio.Task):
        handle.cancel()
        pytest.fail(
            f"{what} is a Task, not an asyncio.{kind.__name__}: you ran a coroutine as a task "
            "(create_task / ensure_future). The contract promises the handle the loop's "
            "scheduling call returns: loop.call_soon / call_later / call_at schedule a plain "
            "function and give you a handle.",
            pytrace=False,
        )
    if isinstance(handle, asyncio.Future):
        handle.cancel()
        pytest.fail(
            f"{what} is a {type(handle).__name__}, not an asyncio.{kind.__name__}. Schedule "
            "the call with loop.call_soon / call_later / call_at and return the handle it "
            "gives you.",
            pytrace=False,
        )
    if not callable(getattr(handle, "cancel", None)):
        pytest.fail(
            f"{what} is {handle!r}, not a handle. Return what loop.call_soon / call_later / "
            "call_at returned: the caller needs its .cancel().",
            pytrace=False,
        )
    if not isinstance(handle, kind):
        if hasattr(handle, "cancel"):
            handle.cancel()
        pytest.fail(
            f"{what} is a {type(handle).__name__}, not an asyncio.{kind.__name__}. Return the "
            "very handle loop.call_soon / call_later / call_at gave you, not an object of "
            "your own.",
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


def check_list(
    handles: object, what: str, count: int, item: str, short: str = "", long: str = ""
) -> None:
    """Fail unless `handles` is a list of `count` items (the contract's "a list"); `short`
    and `long` explain a list that came back too short or too long."""
    if isinstance(handles, list) and len(handles) == count:
        return
    cancel_all(handles)
    wanted = f"a list of {checks.count(count, 'handle')}, one per {item}, in order"
    if isinstance(handles, list):
        hint = short if len(handles) < count else long
        pytest.fail(
            f"{what} returned a list of {checks.count(len(handles), 'item')}; expected {wanted}."
            + (f" {hint}" if hint else ""),
            pytrace=False,
        )
    if inspect.isgenerator(handles):
        handles.close()
        pytest.fail(
            f"{what} returned a generator, not a list: a generator runs nothing until someone "
            f"iterates over it, so no {item} was ever scheduled. Build the list "
            "(a list comprehension in [...], or append in a loop) and return it.",
            pytrace=False,
        )
    if isinstance(handles, tuple):
        pytest.fail(
            f"{what} returned a tuple of {checks.count(len(handles), 'item')}, not a list; "
            "expected "
            f"{wanted}. Return a list: [...] or list(...).",
            pytrace=False,
        )
    pytest.fail(f"{what} returned {handles!r:.200}; expected {wanted}.", pytrace=False)


def check_distinct(handles: list, item: str) -> None:
    """Fail if one handle object stands for two of the list's entries."""
    seen: dict[int, int] = {}
    for second, handle in enumerate(handles):
        first = seen.setdefault(id(handle), second)
        if first != second:
            cancel_all(handles)
            pytest.fail(
                f"Handles {first + 1} and {second + 1} of the result are the same object: "
                f"two {item}s got one handle, so cancelling one would cancel the other "
                f"(or nothing). Each {item} needs the handle of its own scheduled call; "
                "if you keyed them by a value (a dict), equal values merged.",
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
            else "The call with urgent=False never came: pass urgent=urgent whatever its "
            "value, not only when it is True (notify requires it)."
            if got == [("cy", True)]
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


@pytest.mark.task(1)
async def test_each_call_schedules_its_own_notification():
    notify = Notifier()
    await asyncio.sleep(2)
    handles = [
        call_notify_soon(notify, "ana", True),
        call_notify_soon(notify, "ana", True),
        call_notify_soon(notify, "", False),
        call_notify_soon(notify, "zoë", False),
    ]
    for handle in handles:
        check_handle(handle, "notify_soon()'s result")
    if handles[0] is handles[1]:
        cancel_all(handles)
        pytest.fail(
            "notify_soon(notify, 'ana', urgent=True) called twice returned the same handle "
            "both times. Each call schedules its own notification: return the new handle "
            "call_soon gives you, not one kept from an earlier call.",
            pytrace=False,
        )
    handles[0].cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    expected = [("ana", True, 2.0), ("", False, 2.0), ("zoë", False, 2.0)]

    def likely(got: object) -> str:
        if not isinstance(got, list):
            return ""
        users = [call[0] for call in got]
        if users.count("ana") == 2:
            return "Cancelling the first handle did not stop its call: return that very handle."
        if users.count("ana") == 0:
            return (
                "Cancelling the first call's handle also stopped the second: the two calls "
                "shared one scheduled call. Schedule a new one every time."
            )
        if "" not in users:
            return "The call for user '' never came: an empty name is still a user to notify."
        if sorted(got) == sorted(expected):
            return (
                "The calls came in another order than they were scheduled. call_soon runs "
                "callbacks in the order they were scheduled; timers due at the same moment "
                "(call_later(0, ...)) have no guaranteed order. Use loop.call_soon."
            )
        return ""

    checks.equal(
        notify.calls,
        expected,
        "Calls of notify() (user, urgent, loop time) after notify_soon() for 'ana' (urgent) "
        "twice, '' and 'zoë' at loop time 2, with the first handle cancelled",
        likely,
    )


# Task 2: schedule_reminders


def call_schedule_reminders(
    remind,
    reminders: list[tuple[str, float]],
    fired: list | None = None,
    earlier: tuple | list = (),
) -> list:
    before = list(reminders)
    handles = callbacks.schedule_reminders(remind, reminders)
    if inspect.iscoroutine(handles):
        check_handle(handles, "schedule_reminders()'s result")
    if isinstance(handles, list) and any(h is e for h in handles for e in earlier):
        cancel_all(handles)
        pytest.fail(
            f"The second call of schedule_reminders() (with {reminders!r}) returned "
            f"{checks.count(len(handles), 'handle')}, among them the handles the first call "
            "returned: the "
            "list outlived the call. Build a new list in each call (a module-level list, or "
            "a default argument `handles=[]`, is shared by every call).",
            pytrace=False,
        )
    if reminders != before:
        cancel_all(handles)
        pytest.fail(
            f"schedule_reminders() changed the caller's list: it was {before!r}, and after "
            f"the call it is {reminders!r}. "
            + (
                "It was sorted in place (reminders.sort()): "
                if sorted(before, key=lambda pair: pair[1]) == reminders
                else "Items were taken out of it (pop, remove or del): "
                if len(reminders) < len(before)
                else ""
            )
            + "the contract leaves `reminders` unchanged. Read it, or loop over a copy "
            "(sorted(reminders) makes a new list); the loop puts the reminders in order "
            "of their delays by itself.",
            pytrace=False,
        )
    texts = [text for text, _ in reminders]
    check_list(
        handles,
        "schedule_reminders()",
        len(reminders),
        "reminder",
        f"The reminders were {reminders!r}: "
        + (
            "some share a text. Keep every reminder, even one equal to another: a dict keyed "
            "by text (or a set) keeps only one of them."
            if len(set(texts)) < len(texts)
            else "one handle per reminder, including those with a delay of 0."
        ),
        "Likely: handles kept from an earlier call (a list that outlives the call, at module "
        "level or as a default argument).",
    )
    if fired:
        cancel_all(handles)
        pytest.fail(
            f"remind() was called before schedule_reminders() returned (calls: {fired}). Do "
            "not call remind() yourself: give the loop the function and its argument, "
            "loop.call_later(delay, remind, text), and it calls remind(text) when the time comes.",
            pytrace=False,
        )
    if any(isinstance(handle, asyncio.Future) for handle in handles):
        cancel_all(handles)  # the test fails on the first; none of them may run on
    for handle in handles:
        check_handle(handle, "An item of schedule_reminders()'s result")
    check_distinct(handles, "reminder")
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
        if len(texts) > 1 and len(set(texts)) == 1 and len(set(wanted)) > 1:
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
        wanted_times = [item[1] for item in expected if isinstance(item, tuple)]
        if (
            texts == wanted
            and len(times) == len(wanted_times) == len(got)
            and all(abs(a - b) < 0.1 for a, b in zip(times, wanted_times, strict=True))
        ):
            return (
                "The reminders fired near their times, but not at them: was each delay "
                "changed (rounded)? Hand call_later the delay exactly as given."
            )
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


@pytest.mark.task(2)
async def test_reminders_with_the_same_text_are_kept_apart():
    fired: list[tuple[str, float]] = []
    await asyncio.sleep(4)
    reminders = [("tea", 1), ("tea", 1), ("", 0), ("tea", 2), ("", 0)]
    handles = call_schedule_reminders(lambda text: fired.append((text, now())), reminders, fired)
    handles[0].cancel()
    try:
        await asyncio.sleep(3)
    finally:
        cancel_all(handles)
    expected = [("", 4.0), ("", 4.0), ("tea", 5.0), ("tea", 6.0)]
    checks.equal(
        sorted(fired, key=lambda item: (item[1], item[0])) if fired_pairs(fired) else fired,
        expected,
        f"Reminders (text, loop time) scheduled at loop time 4 as {reminders!r}, with the "
        "first handle cancelled",
        lambda got: (
            reminders_likely(expected, 4.0)(got)
            or "Every reminder counts, even one equal to another or with an empty text."
        ),
    )


@pytest.mark.task(2)
async def test_schedule_reminders_leaves_the_list_unchanged():
    fired: list[str] = []
    reminders = [("stretch", 2), ("water", 1), ("now", 0)]
    handles = call_schedule_reminders(fired.append, reminders)
    try:
        await asyncio.sleep(3)
    finally:
        cancel_all(handles)
    checks.equal(
        reminders,
        [("stretch", 2), ("water", 1), ("now", 0)],
        "The caller's list after the reminders fired",
        "The contract leaves `reminders` unchanged: do not sort it in place or pop from it.",
    )
    checks.equal(fired, ["now", "water", "stretch"], "Reminders fired within 3 s")


@pytest.mark.task(2)
@pytest.mark.loop_limit(100_000)
async def test_reminders_a_day_away_fire_on_time():
    fired: list[tuple[str, float]] = []
    handles = call_schedule_reminders(
        lambda text: fired.append((text, now())), [("backup", 86_400), ("ping", 10_000)], fired
    )
    try:
        await asyncio.sleep(90_000)
    finally:
        cancel_all(handles)
    expected = [("ping", 10_000.0), ("backup", 86_400.0)]
    checks.equal(
        fired,
        expected,
        "Reminders (text, loop time) scheduled at loop time 0 as backup in 86,400 s (a day) "
        "and ping in 10,000 s",
        lambda got: (
            reminders_likely(expected, 0.0)(got)
            or "Long delays are legal: no cap or timeout on them."
        ),
    )


@pytest.mark.task(2)
async def test_two_batches_keep_their_own_handles():
    fired: list[str] = []
    await asyncio.sleep(1)
    first = call_schedule_reminders(fired.append, [("a", 1), ("b", 2)], fired)
    second = call_schedule_reminders(fired.append, [("c", 1.5)], fired, first)
    for handle in first:
        handle.cancel()
    try:
        await asyncio.sleep(3)
    finally:
        cancel_all(first)
        cancel_all(second)
    checks.equal(
        fired,
        ["c"],
        "Reminders fired after schedule_reminders() was called twice (a, b, then c) and "
        "every handle of the first call was cancelled",
        lambda got: (
            "Cancelling the first call's handles also stopped the second call's reminder."
            if got == []
            else ""
        ),
    )


def reminders_scenario_likely(reminders: list, cancelled: list, expected: list):
    base = reminders_likely(expected, 0.0)

    def likely(got: object) -> str:
        if not fired_pairs(got):
            return base(got)
        extra = list(got)
        for item in expected:
            if item in extra:
                extra.remove(item)
        missing = list(expected)
        for item in got:
            if item in missing:
                missing.remove(item)
        stopped = [(reminders[i][0], float(reminders[i][1])) for i in cancelled]
        if extra and all(item in stopped for item in extra) and not missing:
            return (
                "A reminder whose handle was cancelled still fired: return each reminder's "
                "own handle, in the order of `reminders`."
            )
        return base(got) or (
            "Likely: handles not in the order of `reminders`, or reminders that share a "
            "text or a delay merged."
            if missing
            else ""
        )

    return likely


@pytest.mark.task(2)
@pytest.mark.loop_limit(100_000_000)
@scenarios.given(
    reminders=st.lists(
        st.tuples(
            st.sampled_from(["tea", "", "zoë ☕"]), st.sampled_from([0, 0.5, 1, 10_000, 86_400])
        ),
        max_size=5,
    ),
    cancelled=st.sets(st.integers(0, 4), max_size=2),
)
async def test_reminders_in_any_scenario(reminders, cancelled):
    loop = asyncio.get_running_loop()
    start = loop.time()
    cancelled = sorted(i for i in cancelled if i < len(reminders))
    scenarios.describe(
        f"with reminders {reminders!r} and the handles of reminders {cancelled} cancelled"
    )
    fired: list[tuple[str, float]] = []
    handles = call_schedule_reminders(
        lambda text: fired.append((text, round(loop.time() - start, 3))), reminders, fired
    )
    for index in cancelled:
        handles[index].cancel()
    try:
        await asyncio.sleep(max([delay for _, delay in reminders] + [0]) + 1)
    finally:
        cancel_all(handles)
    expected = sorted(
        ((text, float(delay)) for i, (text, delay) in enumerate(reminders) if i not in cancelled),
        key=lambda item: (item[1], item[0]),
    )
    checks.equal(
        sorted(fired, key=lambda item: (item[1], item[0])) if fired_pairs(fired) else fired,
        expected,
        f"With reminders {reminders!r} and the handles at positions {cancelled} (from 0) "
        "cancelled right away, the reminders that fired (text, seconds after scheduling, in "
        "order of time)",
        reminders_scenario_likely(reminders, cancelled, expected),
    )


# Task 3: schedule_on_the_beat


def call_on_the_beat(beat, period: float, count: int) -> list:
    handles = callbacks.schedule_on_the_beat(beat, period, count)
    if inspect.iscoroutine(handles):
        check_handle(handles, "schedule_on_the_beat()'s result")
    check_list(
        handles,
        "schedule_on_the_beat()",
        count,
        "beat",
        long="A count of 0 means no beat at all: was the first beat scheduled before the "
        "count was looked at?"
        if count == 0
        else "",
        short="Every one of the `count` beats gets its own handle, however many there are: "
        "no cap on the count.",
    )
    if any(isinstance(handle, asyncio.Future) for handle in handles):
        cancel_all(handles)  # the test fails on the first; none of them may run on
    for handle in handles:
        check_handle(handle, "An item of schedule_on_the_beat()'s result", asyncio.TimerHandle)
    check_distinct(handles, "beat")
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


@pytest.mark.task(3)
async def test_zero_beats_schedule_nothing():
    fired: list[int] = []
    await asyncio.sleep(1.5)
    handles = call_on_the_beat(fired.append, 1, 0)
    await asyncio.sleep(5)
    checks.equal(
        (handles, fired),
        ([], []),
        "(handles returned, beats fired) for schedule_on_the_beat(beat, 1, 0)",
        lambda got: (
            "A count of 0 means no beat at all: the first beat was scheduled before the "
            "count was looked at."
            if isinstance(got, tuple) and got[1]
            else ""
        ),
    )


@pytest.mark.task(3)
@pytest.mark.loop_limit(300_000)
async def test_a_daily_beat_lands_on_midnights():
    fired: list[tuple[int, float]] = []
    await asyncio.sleep(100)
    handles = call_on_the_beat(lambda n: fired.append((n, now())), 86_400, 2)
    try:
        await asyncio.sleep(200_000)
    finally:
        cancel_all(handles)
    checks.equal(
        fired,
        [(1, 86_400.0), (2, 172_800.0)],
        "Beats (number, loop time) with period 86,400 s (a day) scheduled at loop time 100",
        lambda got: beat_likely(86_400, 100)(got) or "Long periods are legal: no cap on them.",
    )


@pytest.mark.task(3)
async def test_two_metronomes_keep_their_own_beats():
    fired: list[tuple[str, int, float]] = []
    await asyncio.sleep(1)
    fast = call_on_the_beat(lambda n: fired.append(("fast", n, now())), 2, 2)
    slow = call_on_the_beat(lambda n: fired.append(("slow", n, now())), 3, 2)
    fast[0].cancel()
    try:
        await asyncio.sleep(6)
    finally:
        cancel_all(fast)
        cancel_all(slow)
    checks.equal(
        sorted(fired, key=lambda item: (item[2], item[0])),
        [("slow", 1, 3.0), ("fast", 2, 4.0), ("slow", 2, 6.0)],
        "Beats (metronome, number, loop time) of a 2 s and a 3 s metronome, both scheduled "
        "at loop time 1, with the fast one's first beat cancelled",
        "Each call is a metronome of its own: nothing may be shared between calls.",
    )


@pytest.mark.task(3)
async def test_a_long_metronome_keeps_every_beat():
    fired: list[int] = []
    await asyncio.sleep(0.75)
    handles = call_on_the_beat(fired.append, 0.5, 2_000)
    try:
        last = round(handles[-1].when(), 6)
        await asyncio.sleep(1)
    finally:
        cancel_all(handles)
    checks.equal(
        (fired, last),
        ([1, 2], 1_000.5),
        "(beats fired in the first second, loop time of the last beat) for 2,000 beats of "
        "0.5 s scheduled at loop time 0.75",
        "Every one of the `count` beats is scheduled, however many there are.",
    )


def beat_oracle(start: float, period: float, count: int) -> list[tuple[int, float]]:
    first = (start // period + 1) * period
    return [(n, round(first + (n - 1) * period, 3)) for n in range(1, count + 1)]


@pytest.mark.task(3)
@pytest.mark.loop_limit(100_000_000)
@scenarios.given(
    offset=st.sampled_from([0, 0.25, 1, 2.5, 86_400]),
    period=st.sampled_from([0.25, 0.5, 2, 3, 86_400]),
    count=st.integers(0, 4),
)
async def test_beats_in_any_scenario(offset, period, count):
    loop = asyncio.get_running_loop()
    await asyncio.sleep(offset)
    start = loop.time()
    scenarios.describe(f"with period {period:g} and count {count} at loop time {start:g}")
    fired: list[tuple[int, float]] = []
    handles = call_on_the_beat(lambda n: fired.append((n, round(loop.time(), 3))), period, count)
    try:
        await asyncio.sleep(period * (count + 1) + 1)
    finally:
        cancel_all(handles)
    checks.equal(
        fired,
        beat_oracle(start, period, count),
        f"Beats (number, loop time) with period {period:g} s and count {count}, scheduled "
        f"at loop time {start:g}",
        beat_likely(period, start),
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


def cancel(debouncer) -> None:
    result = debouncer.cancel()
    if inspect.iscoroutine(result):
        result.close()
        pytest.fail(
            "cancel() returned a coroutine: write it with a plain `def`. It only cancels the "
            "pending handle and returns at once.",
            pytrace=False,
        )


@pytest.mark.task(4)
async def test_two_debouncers_keep_their_own_countdowns():
    saves: list[float] = []
    searches: list[float] = []
    save = make_debouncer(1, saves)
    search = make_debouncer(2, searches)
    poke(save)
    poke(search)
    await asyncio.sleep(0.5)
    poke(save)  # the save's countdown restarts; the search's must not
    await asyncio.sleep(4)
    poke(search)
    cancel(save)  # nothing pending on the save: the search must still run
    await asyncio.sleep(3)
    checks.equal(
        (saves, searches),
        ([1.5], [2.0, 6.5]),
        "Loop times (save debouncer, search debouncer) of two debouncers alive at once: save "
        "(delay 1 s) poked at 0 and 0.5, search (delay 2 s) poked at 0 and 4.5, save "
        "cancelled at 4.5",
        lambda got: (
            NEVER_RAN
            if got == ([], [])
            else "One debouncer's poke or cancel() stopped the other's call: each Debouncer "
            "keeps its own pending handle, in self, not in a module-level variable or a class "
            "attribute that every instance shares."
            if isinstance(got, tuple)
            and set(got[0]) <= {1.5}
            and set(got[1]) <= {2.0, 6.5}
            and len(got[0]) + len(got[1]) < 3
            else ""
        ),
    )


@pytest.mark.task(4)
async def test_a_zero_delay_runs_the_action_on_the_next_turn():
    fired: list[float] = []
    await asyncio.sleep(3)
    debouncer = make_debouncer(0, fired)
    poke(debouncer)
    checks.equal(
        fired,
        [],
        "Action calls right after poke() with a delay of 0",
        "poke() must not call it itself, even with no delay: the loop calls it on its next turn.",
    )
    await asyncio.sleep(0.1)
    checks.equal(
        fired,
        [3.0],
        "Loop times the action ran at after one poke at 3 (delay 0 s)",
        lambda got: (
            "The action had not run 0.1 s after a poke with a delay of 0, which means on the "
            "loop's next turn. Likely: the 0 was replaced by another value (`delay or "
            "default`), or the call is not scheduled on the loop's clock."
            if got == []
            else ""
        ),
    )


@pytest.mark.task(4)
async def test_two_pokes_in_the_same_instant_run_the_action_once():
    fired: list[float] = []
    debouncer = make_debouncer(1, fired)
    await asyncio.sleep(2)
    poke(debouncer)
    poke(debouncer)
    await asyncio.sleep(3)
    checks.equal(
        fired,
        [3.0],
        "Loop times the action ran at after two pokes at the same instant, loop time 2 (delay 1 s)",
        lambda got: (
            "Both pokes fired: the second poke must cancel the call the first scheduled."
            if got == [3.0, 3.0]
            else ""
        ),
    )


@pytest.mark.task(4)
@pytest.mark.loop_limit(200_000)
async def test_a_day_long_delay_is_honoured():
    fired: list[float] = []
    debouncer = make_debouncer(86_400, fired)
    poke(debouncer)
    await asyncio.sleep(50_000)
    poke(debouncer)
    await asyncio.sleep(100_000)
    checks.equal(
        fired,
        [136_400.0],
        "Loop times the action ran at after pokes at 0 and 50,000 (delay 86,400 s, a day)",
        lambda got: (
            "The action ran early: long delays are legal, with no cap or timeout on them."
            if isinstance(got, list) and got and got[0] < 136_400
            else ""
        ),
    )


@pytest.mark.task(4)
async def test_a_poke_after_cancel_starts_again():
    fired: list[float] = []
    debouncer = make_debouncer(1, fired)
    poke(debouncer)
    await asyncio.sleep(0.5)
    cancel(debouncer)
    cancel(debouncer)
    await asyncio.sleep(1)
    poke(debouncer)
    await asyncio.sleep(2)
    checks.equal(
        fired,
        [2.5],
        "Loop times the action ran at: poked at 0, cancelled twice at 0.5, poked at 1.5 "
        "(delay 1 s)",
        lambda got: (
            "After cancel(), a new poke must start a new countdown. Likely: cancel() left "
            "something behind that stops later pokes (a flag never reset), or the action is "
            "not scheduled on the loop's clock at all."
            if got == []
            else ""
        ),
    )


@pytest.mark.task(4)
async def test_cancel_at_the_moment_the_action_is_due_stops_it():
    loop = asyncio.get_running_loop()
    events: list[tuple[str, float]] = []
    debouncer = callbacks.Debouncer(1, lambda: events.append(("action ran", now())))

    def cancel_now() -> None:
        cancel(debouncer)
        events.append(("cancel() returned", now()))

    loop.call_at(loop.time() + 1, cancel_now)  # due at the same moment as the action
    poke(debouncer)
    await asyncio.sleep(3)
    checks.equal(
        events,
        [("cancel() returned", 1.0)],
        "Events (what, loop time) when cancel() is called at 1, the very moment the action "
        "(poked at 0, delay 1 s) was due",
        lambda got: (
            "The action ran after cancel() had returned: when cancel() returns, the pending "
            "call must already be stopped. Likely: the handle's cancel() was itself "
            "scheduled (loop.call_soon(handle.cancel)) instead of called."
            if got == [("cancel() returned", 1.0), ("action ran", 1.0)]
            else ""
        ),
    )


@pytest.mark.task(4)
async def test_a_poke_at_the_moment_the_action_is_due_restarts_it():
    loop = asyncio.get_running_loop()
    events: list[tuple[str, float]] = []
    debouncer = callbacks.Debouncer(1, lambda: events.append(("action ran", now())))

    def poke_now() -> None:
        poke(debouncer)
        events.append(("poke() returned", now()))

    loop.call_at(loop.time() + 1, poke_now)  # due at the same moment as the action
    poke(debouncer)
    await asyncio.sleep(3)
    checks.equal(
        events,
        [("poke() returned", 1.0), ("action ran", 2.0)],
        "Events (what, loop time), poked at 0 and again at 1, the very moment the first "
        "countdown (delay 1 s) ran out",
        lambda got: (
            "The first countdown still fired after the second poke had returned: a poke must "
            "cancel the pending call before it returns. Likely: the handle's cancel() was "
            "itself scheduled (loop.call_soon(handle.cancel)) instead of called."
            if isinstance(got, list) and got[:2] == [("poke() returned", 1.0), ("action ran", 1.0)]
            else ""
        ),
    )


def debounce_oracle(events: list[tuple[float, str]], delay: float, variant: str) -> list[float]:
    """When the action runs, for `events` of (gap, "poke" or "cancel"), in the right way or
    in one of the usual wrong ones."""
    timers: list[list] = []  # [when, still scheduled]
    pending = None
    now_ = 0.0
    for gap, event in events:
        now_ += gap
        waiting = pending is not None and timers[pending][0] > now_ and timers[pending][1]
        if event == "poke":
            if variant == "first_only" and waiting:
                continue
            if variant != "no_cancel" and waiting:
                timers[pending][1] = False
            timers.append([now_ + delay, True])
            pending = len(timers) - 1
        else:
            if variant != "forget" and waiting:
                timers[pending][1] = False
            pending = None
    return sorted(round(when, 3) for when, live in timers if live)


DEBOUNCE_MISTAKES = {
    "no_cancel": (
        "Earlier pokes' calls still fired: cancel the pending handle before you schedule "
        "the new one."
    ),
    "first_only": "Pokes while a call was pending were ignored: each poke restarts the countdown.",
    "forget": (
        "A call stopped with cancel() still fired: cancel() must call .cancel() on the "
        "pending handle, not only forget it."
    ),
}


def describe_events(events: list[tuple[float, str]]) -> str:
    at, said = 0.0, []
    for gap, event in events:
        at += gap
        said.append(f"{event} at {at:g}")
    return ", ".join(said) or "nothing"


@pytest.mark.task(4)
@pytest.mark.loop_limit(100_000_000)
@scenarios.given(
    delay=st.sampled_from([0.6, 1.3, 10_000.1]),
    events=st.lists(
        st.tuples(st.sampled_from([0, 0.25, 1, 2]), st.sampled_from(["poke", "cancel"])),
        max_size=6,
    ),
)
async def test_debouncer_in_any_scenario(delay, events):
    loop = asyncio.get_running_loop()
    start = loop.time()
    told = describe_events(events)
    scenarios.describe(f"with delay {delay:g} s and {told}")
    fired: list[float] = []
    debouncer = callbacks.Debouncer(delay, lambda: fired.append(round(loop.time() - start, 3)))
    try:
        for gap, event in events:
            await asyncio.sleep(gap)
            poke(debouncer) if event == "poke" else cancel(debouncer)
        await asyncio.sleep(delay + 1)
    finally:
        debouncer.cancel()
    expected = debounce_oracle(events, delay, "right")

    def likely(got: object) -> str:
        if got == []:
            return NEVER_RAN
        for variant, mistake in DEBOUNCE_MISTAKES.items():
            if got == debounce_oracle(events, delay, variant):
                return mistake
        if (
            isinstance(got, list)
            and len(got) == len(expected)
            and all(ran < due for ran, due in zip(got, expected, strict=True))
        ):
            return (
                "The action ran before its delay was over. Likely: a cap or timeout on long "
                "delays, or a countdown that a later poke did not restart."
            )
        return ""

    checks.equal(
        fired,
        expected,
        f"With delay {delay:g} s and {told} (seconds from the start), the times the action ran",
        likely,
    )
