"""Exercise 23 tests. Run them with `pytest exercises/23`."""

import asyncio
import contextlib
import os
import time as time_module
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import freezegun.api
import pytest
from freezegun import freeze_time
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import fail, now

wall_clocks = exercise_module(__file__)

UTC = UTC
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
HOUR = 3600
DAY = 86_400


def zname(tz) -> str:
    return getattr(tz, "key", None) or str(tz)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def show(moment: object) -> str:
    """A datetime as a learner reads it: its digits and its offset."""
    if isinstance(moment, datetime):
        return moment.isoformat(sep=" ")
    return repr(moment)


# The wall clock of these tests. freezegun's frozen clock does not follow the loop's clock (a
# sleep(5) leaves datetime.now() where it was), so each test replaces freezegun's frozen time
# with this clock: wall time = start + the loop time since the clock was made + every jump()
# (a clock set by hand or by NTP). It uses freezegun's internals (freeze_factories).
# time.monotonic() and perf_counter(), which freezegun would tie to the wall clock, follow the
# loop's clock: monotonic clocks never jump, whatever the wall clock does.
# A correct answer reads the wall clock a few times per wait; a loop that polls it (every
# second, or with sleep(0)) reads it thousands of times. Past POLL_LIMIT reads the clock raises
# WallClockPolled, so a polling answer fails with a message about polling, in no real time.
POLL_LIMIT = 1000
POLLED_HINT = (
    f"the wall clock was read more than {POLL_LIMIT:,} times: likely a loop that polls it "
    "(`while datetime.now(timezone.utc) < when: await asyncio.sleep(...)`), which is late "
    "and wasteful; work out the delay once and sleep exactly that."
)


class WallClockPolled(Exception):
    """Raised by the tests' wall clock once it has been read more than POLL_LIMIT times."""


class WallClock:
    def __init__(self, start: datetime, loop: asyncio.AbstractEventLoop) -> None:
        self.start = start.astimezone(UTC).replace(tzinfo=None)  # freezegun keeps naive UTC
        self.loop = loop
        self.t0 = loop.time()
        self.jumped = 0.0
        self.reads = 0

    def __call__(self) -> datetime:
        self.reads += 1
        if self.reads > POLL_LIMIT:
            raise WallClockPolled(f"the wall clock was read more than {POLL_LIMIT} times")
        return self.start + timedelta(seconds=self.loop.time() - self.t0 + self.jumped)

    def jump(self, seconds: float) -> None:
        self.jumped += seconds

    def monotonic(self) -> float:
        return 1000.0 + self.loop.time() - self.t0


@contextlib.contextmanager
def wall_clock(start: datetime):
    loop = asyncio.get_running_loop()
    with freeze_time(start, real_asyncio=True):
        clock = WallClock(start, loop)
        freezegun.api.freeze_factories[-1] = clock
        time_module.monotonic = clock.monotonic  # freezegun puts the real ones back on exit
        time_module.perf_counter = clock.monotonic
        yield clock


@contextlib.contextmanager
def local_zone(clock: WallClock, tz: ZoneInfo):
    """Inside wall_clock(): make the naive datetime.now() show the clock face of tz, and the
    process's local zone tz (TZ and tzset), as on a machine whose zone is tz (freezegun's naive
    now is otherwise UTC's face)."""
    fake = freezegun.api.FakeDatetime
    frozen_now = fake.__dict__["now"]

    def now(cls, tz_=None):
        if tz_ is not None:
            return frozen_now.__func__(cls, tz_)
        face = clock().replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)
        return freezegun.api.datetime_to_fakedatetime(face).replace(fold=face.fold)

    def astimezone(self, tz_=None):  # freezegun's uses dateutil's tzlocal, face arithmetic
        return freezegun.api.datetime_to_fakedatetime(
            freezegun.api.real_datetime.astimezone(self, tz_)
        )

    frozen_astimezone = fake.__dict__["astimezone"]
    fake.now = classmethod(now)
    fake.astimezone = astimezone
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = tz.key  # so that naive.astimezone() reads the machine's zone as tz
    time_module.tzset()
    try:
        yield
    finally:
        fake.now = frozen_now
        fake.astimezone = frozen_astimezone
        if old_tz is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old_tz
        time_module.tzset()


class Job:
    """A job double: records the loop time (since it was made) of every call and returns the
    call's number (0 first), after taking `takes` s, or raises on the calls in `fail`."""

    def __init__(self, takes: float = 0, fail: tuple = (), during=None) -> None:
        self.t0 = now()
        self.takes, self.fail, self.during = takes, set(fail), during
        self.calls: list[float] = []
        self.errors: list[Exception] = []

    def __call__(self):
        self.calls.append(round(now() - self.t0, 6))
        return self.job_runs(len(self.calls) - 1)

    async def job_runs(self, n: int):
        if self.during is not None:
            self.during(n)
        await asyncio.sleep(self.takes)
        if n in self.fail:
            error = JobFailed(f"job run {n} failed")
            self.errors.append(error)
            raise error
        return n


class JobFailed(Exception):
    """What the job double raises when a test makes it fail."""


async def run_for(coro, seconds: float, what: str):
    """Run `coro` as a task for up to `seconds` of loop time; fail if it has not ended."""
    task = asyncio.create_task(coro)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        return None, False
    return task, True


def naive_aware_hint(exc: BaseException) -> str:
    if isinstance(exc, TypeError) and "naive" in str(exc):
        return (
            " Likely: a naive datetime (datetime.now() or datetime.combine() without a "
            "tzinfo) compared with or subtracted from an aware one; use "
            "datetime.now(timezone.utc) and give every datetime its zone."
        )
    return ""


def explain(exc: BaseException, what: str) -> None:
    """Fail with a lesson for an error the tests know the cause of; raise any other."""
    if isinstance(exc, WallClockPolled):
        fail(f"{what}: {POLLED_HINT}")
    hint = naive_aware_hint(exc)
    if hint:
        fail(f"{what} raised {exc!r}.{hint}")
    raise exc


def call_it(function, *args, what: str):
    try:
        return function(*args)
    except NotImplementedError:
        raise
    except Exception as exc:
        hint = naive_aware_hint(exc)
        if not hint:
            raise
        fail(f"{what} raised {exc!r}.{hint}")


# Task 1: next_occurrence


CASES = [
    # (now, at, tz, expected, what the case is about)
    (utc(2024, 5, 1, 8, 59, 59), time(9), UTC, utc(2024, 5, 1, 9), "still ahead today"),
    (utc(2024, 5, 1, 9), time(9), UTC, utc(2024, 5, 2, 9), "exactly at the time: tomorrow"),
    (utc(2024, 5, 1, 9, 0, 1), time(9), UTC, utc(2024, 5, 2, 9), "just past: tomorrow"),
    (
        utc(2024, 5, 1, 6, 59, 59),
        time(9),
        PARIS,
        datetime(2024, 5, 1, 9, tzinfo=PARIS),
        "09:00 in Paris is 07:00 UTC in May",
    ),
    (
        datetime(2024, 5, 1, 23, 30, tzinfo=PARIS),
        time(0, 15),
        PARIS,
        datetime(2024, 5, 2, 0, 15, tzinfo=PARIS),
        "across midnight",
    ),
    (
        utc(2024, 5, 2, 0, 0),
        time(21),
        NEW_YORK,
        datetime(2024, 5, 1, 21, tzinfo=NEW_YORK),
        "UTC is already on 2 May, New York still on 1 May",
    ),
    (
        utc(2024, 12, 31, 18, 29),
        time(0),
        KOLKATA,
        datetime(2025, 1, 1, 0, 0, tzinfo=KOLKATA),
        "midnight into a new year, in a zone half an hour off UTC",
    ),
    (
        utc(2024, 2, 28, 12),
        time(11),
        UTC,
        utc(2024, 2, 29, 11),
        "a leap day",
    ),
    (
        utc(2024, 5, 1, 9, 0, 10),
        time(9, 0, 30),
        UTC,
        utc(2024, 5, 1, 9, 0, 30),
        "the seconds of at count: 09:00:30 is still ahead at 09:00:10",
    ),
    (
        datetime(2024, 5, 1, 9, 0, 0, 500000, tzinfo=PARIS),
        time(9, 0, 0, 750000),
        PARIS,
        datetime(2024, 5, 1, 9, 0, 0, 750000, tzinfo=PARIS),
        "and so do its microseconds",
    ),
]

DST_CASES = [
    (
        utc(2024, 3, 30, 8),
        time(9),
        PARIS,
        datetime(2024, 3, 31, 9, tzinfo=PARIS),
        "from 09:00 on 30 March (CET) to 09:00 on 31 March (CEST), a day of 23 hours",
    ),
    (
        utc(2024, 3, 31, 0),
        time(2, 30),
        PARIS,
        datetime(2024, 3, 31, 3, 30, tzinfo=PARIS),
        "02:30 on 31 March never shows in Paris (02:00 becomes 03:00): it happens at 03:30",
    ),
    (
        utc(2024, 3, 10, 5),
        time(2, 30),
        NEW_YORK,
        datetime(2024, 3, 10, 3, 30, tzinfo=NEW_YORK),
        "02:30 on 10 March never shows in New York: it happens at 03:30 EDT",
    ),
    (
        utc(2024, 10, 26, 22),
        time(2, 30),
        PARIS,
        datetime(2024, 10, 27, 2, 30, tzinfo=PARIS),
        "02:30 on 27 October shows twice in Paris: the first, 02:30+02:00",
    ),
    (
        datetime(2024, 10, 27, 2, 15, fold=1, tzinfo=PARIS),
        time(2, 30),
        PARIS,
        datetime(2024, 10, 28, 2, 30, tzinfo=PARIS),
        "now is the second 02:15 (+01:00), after the first 02:30 (+02:00) has gone: tomorrow",
    ),
]


def check_occurrence(now_: datetime, at: time, tz: ZoneInfo, expected: datetime, about: str):
    what = f"next_occurrence({show(now_)}, {at.isoformat()}, {zname(tz)}) ({about})"
    got = call_it(wall_clocks.next_occurrence, now_, at, tz, what=what)
    if not isinstance(got, datetime):
        fail(f"{what}: expected an aware datetime, got {got!r}.")
    if got.utcoffset() is None:
        fail(
            f"{what}: expected the aware {show(expected.astimezone(tz))}, got the naive "
            f"{show(got)}. Likely: datetime.combine() without tzinfo=tz."
        )
    want = expected.astimezone(UTC)
    if got.astimezone(UTC) != want:
        off = (got.astimezone(UTC) - want).total_seconds()
        face = got.astimezone(tz)
        twin = face.replace(fold=0)
        if face.fold == 1 and twin.astimezone(UTC) != face.astimezone(UTC):
            hint = (
                f" Your {face:%H:%M} is the second one the clocks show that day (fold=1), and "
                f"the first ({show(twin.astimezone(tz))}) counts. Likely: today's time built "
                "with now.replace(hour=..., minute=...), which keeps now's fold=1; build it with "
                "datetime.combine(day, at, tzinfo=tz), or replace(..., fold=0)."
            )
        elif (face.second, face.microsecond) != (at.second, at.microsecond) and (
            face.hour,
            face.minute,
        ) == (expected.astimezone(tz).hour, expected.astimezone(tz).minute):
            hint = (
                f" It shows {face.time().isoformat()} on the clocks of {zname(tz)}, not "
                f"{at.isoformat()}. Likely: the seconds or microseconds of at dropped "
                "(time(at.hour, at.minute)); combine the day with at itself."
            )
        elif got.astimezone(UTC) <= now_.astimezone(UTC):
            hint = (
                " That moment is not after now. Likely: comparing the clock faces of two "
                "datetimes of the same zone (Python then ignores their offsets) instead of "
                "their instants (compare them in UTC), or today's time taken when it was "
                "exactly now."
            )
        elif off % DAY == 0:
            hint = (
                f" That is {abs(off) / DAY:g} day(s) {'late' if off > 0 else 'early'}. Likely: "
                + (
                    "today's time taken when it was exactly now or already past (it must be "
                    "strictly ahead), or "
                    if off < 0
                    else "today taken from the date in UTC (or another zone) instead of the "
                    "date in tz, or a day added when today's time was still ahead, or "
                )
                + "comparing the clock faces of two datetimes instead of their instants."
            )
        elif abs(off) < DAY and off % 900 == 0:
            hint = (
                f" That is {off / HOUR:+g} h. Likely: the wrong offset: the time read in UTC "
                "(or the zone's offset of another day) instead of in tz on that day, a day "
                "added in UTC (24 h) across a change of the clocks, or a clock time the zone "
                "skips or shows twice not resolved by the rule in the docstring."
            )
        else:
            hint = ""
        fail(
            f"{what}: expected {show(expected.astimezone(tz))} "
            f"(= {show(want)}), got {show(got)} (= {show(got.astimezone(UTC))}).{hint}"
        )
    if got.utcoffset() != expected.astimezone(tz).utcoffset():
        if zname(got.tzinfo) == zname(tz):
            likely = (
                f"its tzinfo is {zname(tz)}, but that clock face never shows there (the "
                "clocks skip it): datetime.combine() does not normalise a skipped time, and "
                "neither does .astimezone(tz) on a datetime already in tz; return "
                "wanted.astimezone(timezone.utc).astimezone(tz)."
            )
        else:
            likely = (
                "the result left in UTC (or another zone); return it with "
                ".astimezone(timezone.utc).astimezone(tz)."
            )
        fail(
            f"{what}: the right instant, but given as {show(got)}; expected it in {zname(tz)}, "
            f"{show(expected.astimezone(tz))}. Likely: {likely}"
        )


@pytest.mark.task(1)
async def test_next_occurrence_today_if_ahead_else_tomorrow():
    for case in CASES:
        check_occurrence(*case)


@pytest.mark.task(1)
async def test_next_occurrence_on_days_the_clocks_change():
    for case in DST_CASES:
        check_occurrence(*case)


@pytest.mark.task(1)
async def test_next_occurrence_refuses_a_naive_now():
    naive = datetime(2024, 5, 1, 8, 59, 59)
    try:
        got = wall_clocks.next_occurrence(naive, time(9), PARIS)
    except ValueError:
        return
    except TypeError as exc:
        fail(
            f"next_occurrence() with the naive now {naive!r} raised {exc!r}; expected a "
            "ValueError of its own. Likely: the naive now compared with an aware datetime "
            "before checking it: check now.utcoffset() is None first and raise ValueError."
        )
    fail(
        f"next_occurrence() with the naive now {naive!r} gave {show(got)}; expected a "
        "ValueError: a naive datetime says nothing of its zone, so it must not be guessed (as "
        "UTC or as this machine's local time)."
    )


ZONES = [UTC, PARIS, NEW_YORK, KOLKATA]
DAYS = [
    utc(2024, 3, 30, 0),
    utc(2024, 3, 9, 0),
    utc(2024, 10, 26, 0),
    utc(2024, 11, 2, 0),
    utc(2024, 12, 31, 0),
]


@pytest.mark.task(1)
@scenarios.given(
    day=st.sampled_from(DAYS),
    minutes=st.integers(0, 4 * 24 * 4).map(lambda q: q * 15),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
    second=st.sampled_from([0, 30]),
    tz=st.sampled_from(ZONES),
    given_in=st.sampled_from(["UTC", "tz"]),
)
async def test_next_occurrence_in_any_scenario(day, minutes, hour, minute, second, tz, given_in):
    at = time(hour, minute, second)
    now_ = day + timedelta(minutes=minutes)
    if given_in == "tz":
        now_ = now_.astimezone(tz)
    scenarios.describe(f"with now {show(now_)}, at {at.isoformat()} in {zname(tz)}")
    # the oracle: today's, tomorrow's and the day after's `at` (the day as tz sees it), the
    # first whose instant is after now
    local_day = now_.astimezone(tz).date()
    candidates = [
        datetime.combine(local_day + timedelta(days=d), at, tzinfo=tz).astimezone(UTC)
        for d in range(3)
    ]
    expected = min(c for c in candidates if c > now_)
    check_occurrence(now_, at, tz, expected, "a scenario")


# Task 2: run_at


async def check_run_at(start: datetime, when: datetime, expected_delay: float, about: str):
    with wall_clock(start):
        job = Job()
        what = f"run_at({show(when)}, job) with the wall clock at {show(start)} ({about})"
        limit = expected_delay + DAY + HOUR
        task, ended = await run_for(wall_clocks.run_at(when, job), limit, what)
        if not ended:
            fail(
                f"{what}: the job should have run after {expected_delay:g} s of loop time; "
                f"{checks.count(len(job.calls), 'run')} and run_at() still waiting "
                f"{limit:g} s in. Likely: a wall-clock timestamp given to the loop "
                "(loop.call_at(when.timestamp()): the loop's clock is not the wall clock, so "
                "that deadline is decades away), a naive datetime read as the wrong zone, or "
                "a loop that polls the wall clock."
            )
        if task.exception() is not None:
            explain(task.exception(), what)
        checks.equal(task.result(), 0, f"{what}: what run_at() returned", "return job()'s result")
        checks.equal(
            len(job.calls), 1, f"{what}: how many times the job ran", "await job() exactly once"
        )
        ran = job.calls[0]
        if ran != expected_delay:
            off = ran - expected_delay
            signed = when - start  # the delay, negative for a past when
            signed_off = ran - signed.total_seconds()
            if ran == signed.seconds:
                hint = (
                    f"That is (when - now).seconds, {signed.seconds:g}: likely the delay taken "
                    "from timedelta.seconds, which is only the seconds part of a timedelta (0 "
                    "for a whole week, nearly a day for a moment just past); use "
                    "(when - now).total_seconds()."
                )
            elif ran == 0:
                hint = "Likely: no wait at all (a delay worked out as 0 or negative)."
            elif abs(signed_off) % 900 == 0 and abs(signed_off) <= 14 * HOUR:
                off = signed_off
                hint = (
                    f"That is {off / HOUR:+g} h off: likely a naive datetime read as the "
                    "wrong zone (datetime.now() or when.replace(tzinfo=None) compared with "
                    "the clock face of another zone); subtract aware datetimes."
                )
            elif abs(off) % 900 == 0 and abs(off) <= 14 * HOUR:
                hint = (
                    f"That is {off / HOUR:+g} h off: likely a naive datetime read as the "
                    "wrong zone (datetime.now() or when.replace(tzinfo=None) compared with "
                    "the clock face of another zone); subtract aware datetimes."
                )
            elif 0 < off < 1:
                hint = (
                    "Likely: the wall clock polled (a loop of sleep(1) checking datetime.now()): "
                    "work out the delay once and sleep exactly that."
                )
            else:
                hint = "Likely: the delay worked out wrong: (when - now).total_seconds()."
            fail(
                f"{what}: the job should run {expected_delay:g} s of loop time after the call; "
                f"it ran at {ran:g} s. {hint}"
            )


@pytest.mark.task(2)
@pytest.mark.loop_limit(10**6)
async def test_run_at_runs_the_job_when_the_wall_clock_shows_when():
    start = datetime(2024, 5, 1, 8, 59, 58, 625000, tzinfo=UTC)
    await check_run_at(start, utc(2024, 5, 1, 9), 1.375, "when in UTC")
    await check_run_at(
        start, datetime(2024, 5, 1, 11, tzinfo=PARIS), 1.375, "when in Paris, 09:00 UTC"
    )
    await check_run_at(
        start, datetime(2024, 5, 1, 5, tzinfo=NEW_YORK), 1.375, "when in New York, 09:00 UTC"
    )


@pytest.mark.task(2)
@pytest.mark.loop_limit(10**6)
async def test_run_at_with_when_now_or_past_runs_at_once():
    start = utc(2024, 5, 1, 9)
    await check_run_at(start, start, 0, "when is now")
    await check_run_at(start, start - timedelta(hours=1), 0, "when was an hour ago")


@pytest.mark.task(2)
@pytest.mark.loop_limit(10**6)
async def test_run_at_waits_a_week_if_need_be():
    start = utc(2024, 5, 1, 9)
    await check_run_at(start, start + timedelta(days=7), 7 * DAY, "a week ahead")


@pytest.mark.task(2)
@pytest.mark.loop_limit(10**6)
async def test_run_at_refuses_a_naive_when():
    naive = datetime(2024, 5, 1, 9)
    with wall_clock(utc(2024, 5, 1, 8)):
        job = Job()
        try:
            task, ended = await run_for(wall_clocks.run_at(naive, job), 2 * HOUR, "run_at")
        except BaseException:
            raise
        if not ended or task.exception() is None:
            fail(
                f"run_at({naive!r}, job) with a naive when: expected a ValueError at once; "
                + (f"the job ran at {job.calls[0]:g} s" if job.calls else "it was still waiting")
                + ". Likely: the naive when taken as UTC or local time; refuse it."
            )
        exc = task.exception()
        if isinstance(exc, TypeError):
            fail(
                f"run_at({naive!r}, job) raised {exc!r}; expected a ValueError of its own. "
                "Likely: the naive when subtracted from an aware now; check "
                "when.utcoffset() is None first."
            )
        if not isinstance(exc, ValueError):
            raise exc
        checks.equal(len(job.calls), 0, "job runs after a naive when", "refuse it before running")


@pytest.mark.task(2)
@pytest.mark.loop_limit(10**6)
async def test_run_at_passes_the_job_error_on_after_one_run():
    with wall_clock(utc(2024, 5, 1, 8, 59)):
        job = Job(takes=2, fail=(0,))
        what = "run_at(09:00, job) with the wall clock at 08:59 and a job that raises JobFailed"
        task, ended = await run_for(wall_clocks.run_at(utc(2024, 5, 1, 9), job), DAY, what)
        if not ended:
            fail(
                f"{what}: the job should have run (and failed) 60 s in; "
                f"{checks.count(len(job.calls), 'run')} and run_at() still waiting a day in. "
                "Likely: a wall-clock timestamp given to the loop (loop.call_at(when.timestamp())"
                ": the loop's clock is not the wall clock, so that deadline is decades away)."
            )
        got = task.exception() if task.exception() is not None else task.result()
        if isinstance(got, BaseException) and not isinstance(got, JobFailed):
            explain(got, what)
        if not isinstance(got, JobFailed):
            fail(
                f"run_at(09:00, job) with a job that raises JobFailed: expected the error to "
                f"reach the caller; run_at() returned {got!r}, the job having run at "
                f"{job.calls} s. Likely: the error caught (and the job retried)."
            )
        checks.equal(job.calls, [60], "loop times the job began", "run it once, at 09:00")


@pytest.mark.task(2)
@pytest.mark.loop_limit(10**6)
async def test_run_at_sleeps_one_delay_whatever_the_wall_clock_does_meanwhile():
    # the contract: one delay, worked out from the wall clock at the call, slept on the loop's
    # clock; a clock set during the wait changes nothing
    loop = asyncio.get_running_loop()
    for jump in (-HOUR, HOUR):
        with wall_clock(utc(2024, 5, 1, 8)) as clock:
            job = Job()
            what = (
                f"run_at(09:00 UTC, job) with the wall clock at 08:00, set {jump / HOUR:+g} h "
                "30 min into the wait"
            )
            handle = loop.call_later(30 * 60, clock.jump, jump)
            task, ended = await run_for(wall_clocks.run_at(utc(2024, 5, 1, 9), job), DAY, what)
            handle.cancel()
        if not ended:
            fail(f"{what}: expected the job to run 3600 s in; run_at() still waiting a day in.")
        if task.exception() is not None:
            explain(task.exception(), what)
        ran = job.calls[0] if job.calls else None
        if ran != HOUR:
            hint = ""
            if ran is not None and (ran == HOUR - jump or (jump > 0 and 1800 <= ran <= 1801)):
                hint = (
                    " That is when the wall clock showed 09:00 after it was set: likely the "
                    "wall clock read again after (or during) the wait, and the wait made longer "
                    "or shorter (a loop re-checking datetime.now(), or sleeping again while "
                    "`when` is still ahead). The contract's wait is one delay, worked out once "
                    "at the call."
                )
            fail(f"{what}: expected the job to run 3600 s in; it ran at {job.calls} s.{hint}")


@pytest.mark.task(2)
@pytest.mark.loop_limit(10**5)
async def test_run_at_cancelled_while_waiting_never_runs_the_job():
    with wall_clock(utc(2024, 5, 1, 8)):
        job = Job()
        task = asyncio.create_task(wall_clocks.run_at(utc(2024, 5, 1, 9), job))
        await asyncio.sleep(5)
        task.cancel()
        await asyncio.wait({task}, timeout=10)
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()
        if not task.done() or not task.cancelled():
            fail(
                "run_at() cancelled 5 s into its 1 h wait: expected it to end cancelled; it "
                f"{'is still running' if not task.done() else 'ended without being cancelled'}."
                " Likely: CancelledError caught and not raised again."
            )
        await asyncio.sleep(2 * HOUR)
        checks.equal(
            job.calls,
            [],
            "loop times the job ran, after run_at() was cancelled",
            "the job must not run: do not start it as a task of its own",
        )


@pytest.mark.task(2)
@pytest.mark.loop_limit(10**6)
@scenarios.given(
    start_q=st.integers(0, 8 * 60),
    delay_q=st.sampled_from([-80, -1, 0, 1, 3, 8, 20, 8 * HOUR, 8 * DAY]),
    tz=st.sampled_from(ZONES),
)
async def test_run_at_in_any_scenario(start_q, delay_q, tz):
    start = utc(2024, 3, 31, 0) + timedelta(seconds=start_q / 8)
    when = (start + timedelta(seconds=delay_q / 8)).astimezone(tz)
    scenarios.describe(f"with the wall clock at {show(start)} and when {show(when)}")
    await check_run_at(start, when, max(delay_q / 8, 0), "a scenario")


# Task 3: run_daily


async def check_daily(start, at, tz, job, times, expected, about, clock_cb=None, known=None):
    """`known` maps the run times a named mistake would give to the hint that names it."""
    what = f"run_daily({at.isoformat()}, {zname(tz)}, job, {times}) from {show(start)} ({about})"
    with wall_clock(start) as clock:
        if clock_cb is not None:
            job.during = lambda n: clock_cb(clock, n)
        task, ended = await run_for(
            wall_clocks.run_daily(at, tz, job, times),
            expected[-1] + 2 * DAY if expected else DAY,
            what,
        )
    if not ended and not expected:
        fail(
            f"{what}: expected [] at once and no run; the job ran at {job.calls} s and it was "
            "still waiting a day later. For times 0, run nothing and wait for nothing."
        )
    if not ended:
        fail(
            f"{what}: expected runs at {expected} s of loop time; it ran at {job.calls} and "
            "was still waiting two days after the last. Likely: a wall-clock timestamp given "
            "to the loop, or a loop that polls the wall clock."
        )
    if task.exception() is not None:
        explain(task.exception(), what)
    if job.calls != expected:
        hint = ""
        gaps = [b - a for a, b in zip(job.calls, job.calls[1:], strict=False)]
        if known and tuple(job.calls) in known:
            hint = " " + known[tuple(job.calls)]
        elif len(job.calls) > times:
            hint = (
                f" It ran {len(job.calls)} times, {times} asked: likely a loop that runs once "
                "too often (range(times + 1), or the count checked after the run)."
            )
        elif job.calls and job.calls[0] == 0 and expected[0] > 0:
            hint = (
                f" The first run came at once, though the next {at.isoformat()} in "
                f"{zname(tz)} was {expected[0]:g} s away. Likely: the first occurrence looked "
                "for from a moment before now (the start of today in tz, or the wall clock's "
                "UTC face read as tz's: datetime.utcnow().replace(tzinfo=tz)), or today's time "
                "taken when it was exactly now (>=)."
            )
        elif (
            job.calls
            and job.calls[0] != expected[0]
            and abs(job.calls[0] - expected[0]) % 900 == 0
            and abs(job.calls[0] - expected[0]) <= 14 * HOUR
        ):
            hint = (
                f" The first run is {(job.calls[0] - expected[0]) / HOUR:+g} h off. Likely: the "
                "wall clock now or the target read in the wrong zone (a naive datetime, or one "
                "zone's clock face read as another's); subtract aware datetimes."
            )
        elif gaps and all(g == DAY for g in gaps):
            hint = (
                " Runs exactly 24 h apart: likely a delay worked out once and then "
                "sleep(86400), which drifts when a day is not 24 h or the wall clock moves; "
                "work out each wait again from the wall clock (next_occurrence)."
            )
        elif gaps and all(g == DAY + job.takes for g in gaps):
            hint = (
                " Each run came 24 h after the previous one ended: likely sleep(86400) after "
                "the job, so the job's own time pushes every run later."
            )
        elif gaps and 0 in gaps:
            hint = (
                " Two runs at the same moment. Likely: the next occurrence taken as 'now or "
                "later' (>=) right after a run (it must be strictly after), a wall clock now "
                "read hours behind (datetime.utcnow().replace(tzinfo=tz) reads UTC's clock "
                "face as tz's), or the next run counted from the previous run's target "
                "instead of from the wall clock when the job ended."
            )
        fail(f"{what}: expected runs at {expected} s of loop time, got {job.calls}.{hint}")
    checks.equal(
        task.result(),
        list(range(times)),
        f"{what}: what run_daily() returned",
        "a list of every job's result, in the order they ran",
    )


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**6)
async def test_run_daily_runs_at_the_same_time_each_day():
    await check_daily(
        utc(2024, 5, 1, 8), time(9), UTC, Job(), 3, [HOUR, HOUR + DAY, HOUR + 2 * DAY], "UTC"
    )


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**6)
async def test_run_daily_across_a_spring_forward_day():
    # 09:00 in Paris: 08:00 UTC on 30 March, 07:00 UTC on 31 March (23 h later), then 24 h
    await check_daily(
        utc(2024, 3, 30, 7),
        time(9),
        PARIS,
        Job(),
        3,
        [HOUR, HOUR + 23 * HOUR, HOUR + 23 * HOUR + DAY],
        "the clocks go forward on 31 March",
    )


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**6)
async def test_run_daily_across_a_fall_back_day():
    # 09:00 in Paris: 07:00 UTC on 26 October, 08:00 UTC on 27 October (25 h later), then 24 h
    capped = (
        "The second run came 24 h after the first, an hour early: the day the clocks go back "
        "has 25 hours, and the wait to its 09:00 is 25 h. Likely: a wait cut at one day "
        "(min(delay, 86400), a time limit of a day), so the job ran at 08:00, then again at "
        "09:00."
    )
    await check_daily(
        utc(2024, 10, 26, 6),
        time(9),
        PARIS,
        Job(),
        3,
        [HOUR, HOUR + 25 * HOUR, HOUR + 25 * HOUR + DAY],
        "the clocks go back on 27 October",
        known={(HOUR, HOUR + DAY, 2 * HOUR + DAY): capped},
    )


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**6)
async def test_run_daily_after_the_wall_clock_was_set_forward():
    # the first job finds the machine's clock was 30 min slow and sets it right: the next
    # 09:00 comes 30 min sooner in loop time
    def set_clock(clock, n):
        if n == 0:
            clock.jump(30 * 60)

    await check_daily(
        utc(2024, 5, 1, 8),
        time(9),
        UTC,
        Job(),
        2,
        [HOUR, HOUR + DAY - 30 * 60],
        "the wall clock set 30 min forward during the first job",
        clock_cb=set_clock,
    )


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**6)
async def test_run_daily_started_after_or_exactly_at_today_s_time_waits_for_tomorrow():
    await check_daily(
        utc(2024, 5, 1, 10), time(9), UTC, Job(), 2, [23 * HOUR, 47 * HOUR], "started at 10:00"
    )
    await check_daily(utc(2024, 5, 1, 9), time(9), UTC, Job(), 1, [DAY], "started at 09:00")


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**6)
async def test_run_daily_in_a_zone_far_from_utc():
    # 00:00 UTC is 09:00 in Tokyo (no change of the clocks there): today's 08:00 has passed
    await check_daily(
        utc(2024, 5, 1, 0),
        time(8),
        ZoneInfo("Asia/Tokyo"),
        Job(),
        2,
        [23 * HOUR, 47 * HOUR],
        "09:00 in Tokyo, 08:00 asked",
    )


FROM_TARGET = (
    "Likely: the next run counted from the previous run's target (next_occurrence(previous "
    "when)) instead of from the wall clock when the job ended; read datetime.now(timezone.utc) "
    "again before each wait."
)


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**6)
async def test_run_daily_counts_each_next_run_from_when_the_job_ended():
    # a 25 h job ends at 10:00 the next day: the next 09:00 is the day after
    await check_daily(
        utc(2024, 5, 1, 8),
        time(9),
        UTC,
        Job(takes=25 * HOUR),
        2,
        [HOUR, 49 * HOUR],
        "a job that takes 25 h",
        known={
            (HOUR, 26 * HOUR): "The second run began the moment the first ended. " + FROM_TARGET
        },
    )
    for jump, expected, late in ((26 * HOUR, 23 * HOUR, HOUR), (-26 * HOUR, 3 * HOUR, 51 * HOUR)):

        def set_clock(clock, n, jump=jump):
            if n == 0:
                clock.jump(jump)

        await check_daily(
            utc(2024, 5, 1, 8),
            time(9),
            UTC,
            Job(),
            2,
            [HOUR, expected],
            f"the wall clock set {jump / HOUR:+g} h during the first job",
            clock_cb=set_clock,
            known={(HOUR, late): FROM_TARGET},
        )


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**6)
async def test_run_daily_a_job_that_takes_hours_does_not_push_the_next():
    await check_daily(
        utc(2024, 5, 1, 8), time(9), UTC, Job(takes=2 * HOUR), 2, [HOUR, HOUR + DAY], "2 h jobs"
    )


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**5)
async def test_run_daily_zero_times_runs_nothing():
    with wall_clock(utc(2024, 5, 1, 8)):
        job = Job()
        task, ended = await run_for(
            wall_clocks.run_daily(time(9), UTC, job, 0), 2 * HOUR, "run_daily"
        )
        if job.calls:
            fail(
                f"run_daily(09:00, UTC, job, 0) from 08:00: expected [] at once and no run; "
                f"the job ran at {job.calls} s. Likely: the job run before the count is "
                "checked (a `while True:` that tests len(results) >= times after each run, "
                "or max(times, 1)); for times 0, run nothing."
            )
        if not ended:
            fail(
                "run_daily(09:00, UTC, job, 0) from 08:00: expected [] at once; it was still "
                "waiting 2 h in, the job not run. Likely: a wait before the count is checked."
            )
        checks.equal(task.result(), [], "run_daily(..., times=0)", "run the job `times` times")
        checks.equal(job.calls, [], "job runs for times=0", "")


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**6)
async def test_run_daily_stops_at_a_job_error():
    with wall_clock(utc(2024, 5, 1, 8)):
        job = Job(fail=(1,))
        try:
            got = await wall_clocks.run_daily(time(9), UTC, job, 3)
        except JobFailed as exc:
            got = exc
        if not isinstance(got, JobFailed):
            fail(
                "run_daily(09:00, UTC, job, 3) with a second run that raises JobFailed: "
                f"expected the error to reach the caller; it returned {got!r}, the job having "
                f"run at {job.calls} s. Likely: the job's error caught and the days gone on."
            )
        checks.equal(job.calls, [HOUR, HOUR + DAY], "loop times the job ran", "stop at the error")


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**6)
async def test_run_daily_cancelled_while_waiting_runs_no_more():
    with wall_clock(utc(2024, 5, 1, 8)):
        job = Job()
        task = asyncio.create_task(wall_clocks.run_daily(time(9), UTC, job, 3))
        await asyncio.sleep(2 * HOUR)
        task.cancel()
        await asyncio.wait({task}, timeout=10)
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()
        if not task.done() or not task.cancelled():
            fail(
                "run_daily() cancelled while waiting for its second run: expected it to end "
                "cancelled. Likely: CancelledError caught and not raised again."
            )
        await asyncio.sleep(3 * DAY)
        checks.equal(job.calls, [HOUR], "loop times the job ran, with a cancel at 2 h", "")


def daily_oracle(start, at, tz, times, takes, jumps):
    """The loop times of the runs: each next `at` (task 1's oracle, strictly after) is looked
    for from the wall clock when the wait begins, which has moved by every jump so far."""
    t, jumped, runs = 0.0, 0.0, []
    for n in range(times):
        wall = start + timedelta(seconds=t + jumped)
        local_day = wall.astimezone(tz).date()
        candidates = [
            datetime.combine(local_day + timedelta(days=d), at, tzinfo=tz).astimezone(UTC)
            for d in range(3)
        ]
        t += (min(c for c in candidates if c > wall) - wall).total_seconds()
        runs.append(round(t, 6))
        jumped += jumps[n]
        t += takes
    return runs


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**6)
@scenarios.given(
    day=st.sampled_from(DAYS),
    minutes=st.integers(0, 2 * 24 * 4).map(lambda q: q * 15),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 30]),
    tz=st.sampled_from(ZONES),
    times=st.integers(0, 4),
    takes=st.sampled_from([0, 30 * 60, 5 * HOUR, 25 * HOUR]),
    jumps=st.lists(
        st.sampled_from([0, 0, 30 * 60, -30 * 60, HOUR, 26 * HOUR, -26 * HOUR]),
        min_size=4,
        max_size=4,
    ),
)
async def test_run_daily_in_any_scenario(day, minutes, hour, minute, tz, times, takes, jumps):
    start = day + timedelta(minutes=minutes)
    at = time(hour, minute)
    moves = [j for j in jumps[:times] if j]
    scenarios.describe(
        f"from {show(start)}, {times} runs at {at.isoformat()} in {zname(tz)}, jobs of "
        f"{takes:g} s, the wall clock set {[f'{j / HOUR:+g} h' for j in jumps[:times]]} "
        "during each job"
    )

    def set_clock(clock, n):
        clock.jump(jumps[n])

    expected = daily_oracle(start, at, tz, times, takes, jumps)
    about = f"jobs of {takes:g} s" + (
        f", the wall clock set during jobs by {moves} s" if moves else ""
    )
    await check_daily(start, at, tz, Job(takes=takes), times, expected, about, clock_cb=set_clock)


# Task 4: TTLCache


@pytest.mark.task(4)
async def test_an_entry_lives_until_exactly_its_ttl():
    with wall_clock(utc(2024, 5, 1, 9)):
        cache = wall_clocks.TTLCache(timedelta(seconds=10))
        value = ["v"]
        cache.put("k", value)
        await asyncio.sleep(9.875)
        got = cache.get("k")
        if got is not value:
            fail(
                f"get('k') 9.875 s after put('k', ['v']) with a 10 s ttl: expected the very "
                f"value put, got {got!r}."
            )
        await asyncio.sleep(0.125)
        checks.equal(
            cache.get("k"),
            None,
            "get('k') exactly 10 s after put('k', ...) with a 10 s ttl",
            "the entry must be gone at its expiry: alive while now < expiry, not <=",
        )
        checks.equal(cache.get("k", "gone"), "gone", "get('k', 'gone') after expiry", "")


@pytest.mark.task(4)
@pytest.mark.loop_limit(10**6)
async def test_a_ttl_counts_its_days_and_its_fractions():
    for ttl, alive, gone in (
        (timedelta(days=2), DAY, 2 * DAY),
        (timedelta(seconds=1.5), 1.375, 1.5),
    ):
        with wall_clock(utc(2024, 5, 1, 9)):
            cache = wall_clocks.TTLCache(ttl)
            cache.put("k", "v")
            await asyncio.sleep(alive)
            got = cache.get("k", "gone")
            if got != "v":
                fail(
                    f"get('k', 'gone') {alive:g} s after put('k', 'v') with a ttl of {ttl!r} "
                    f"({ttl.total_seconds():g} s): expected 'v', got {got!r}. Likely: the ttl "
                    "taken as ttl.seconds (only the seconds part: it drops the days and the "
                    "microseconds) or rounded to whole seconds; add the timedelta itself "
                    "(now + ttl)."
                )
            await asyncio.sleep(gone - alive)
            checks.equal(
                cache.get("k", "gone"),
                "gone",
                f"get('k', 'gone') {gone:g} s after the put, ttl {ttl!r}",
                "the entry must be gone at its expiry",
            )


@pytest.mark.task(4)
async def test_a_ttl_of_zero_or_less_keeps_nothing():
    for ttl in (timedelta(0), timedelta(seconds=-5)):
        with wall_clock(utc(2024, 5, 1, 9)):
            cache = wall_clocks.TTLCache(ttl)
            cache.put("k", "v")
            checks.equal(
                cache.get("k", "gone"),
                "gone",
                f"get('k', 'gone') right after put('k', 'v') with a ttl of {ttl!r}",
                "an entry expires at the put's time + ttl, already reached when the ttl is 0 "
                "or less: likely a ttl <= 0 read as 'for ever'",
            )


@pytest.mark.task(4)
@pytest.mark.loop_limit(10**4)
async def test_entries_live_their_ttl_on_a_machine_whose_clocks_change():
    # a machine in Paris: its local clock face jumps when the clocks change; the ttl does not
    for start, after, expected, about in (
        (utc(2024, 3, 31, 0, 30), 45 * 60, "v", "01:30 local, the clocks go forward at 02:00"),
        (utc(2024, 10, 27, 0, 30), 75 * 60, "gone", "02:30 local, the clocks go back at 03:00"),
    ):
        with wall_clock(start) as clock, local_zone(clock, PARIS):
            cache = wall_clocks.TTLCache(timedelta(hours=1))
            cache.put("k", "v")
            await asyncio.sleep(after)
            checks.equal(
                cache.get("k", "gone"),
                expected,
                f"get('k', 'gone') {after // 60} min after a put with a 1 h ttl, on a machine "
                f"in Europe/Paris, put at {about}",
                "likely entries stamped with the naive datetime.now(), this machine's local "
                "clock face, which jumps an hour when its clocks change; stamp them with "
                "datetime.now(timezone.utc)",
            )


@pytest.mark.task(4)
async def test_a_wall_clock_set_forward_expires_entries():
    with wall_clock(utc(2024, 5, 1, 9)) as clock:
        cache = wall_clocks.TTLCache(timedelta(minutes=10))
        cache.put("k", 1)
        await asyncio.sleep(1)
        clock.jump(HOUR)
        checks.equal(
            cache.get("k"),
            None,
            "get('k') with a 10 min ttl, after the wall clock was set an hour forward",
            "the entry is past its wall-clock expiry though little loop time passed: likely "
            "expiry measured on loop.time() or time.monotonic(); stamp entries with "
            "datetime.now(timezone.utc)",
        )


@pytest.mark.task(4)
@pytest.mark.loop_limit(10**4)
async def test_a_wall_clock_set_back_keeps_entries():
    with wall_clock(utc(2024, 5, 1, 9)) as clock:
        cache = wall_clocks.TTLCache(timedelta(minutes=10))
        cache.put("k", 1)
        clock.jump(-HOUR)
        await asyncio.sleep(15 * 60)
        checks.equal(
            cache.get("k"),
            1,
            "get('k') 15 min of loop time after a put with a 10 min ttl, the wall clock "
            "set an hour back in between (so it is before the expiry by the wall clock)",
            "likely expiry measured on loop.time() or time.monotonic(); the ttl is wall-clock "
            "time: stamp entries with datetime.now(timezone.utc)",
        )


@pytest.mark.task(4)
async def test_putting_a_key_again_replaces_it_and_restarts_its_ttl():
    with wall_clock(utc(2024, 5, 1, 9)):
        cache = wall_clocks.TTLCache(timedelta(seconds=10))
        cache.put("k", "old")
        await asyncio.sleep(5)
        cache.put("k", "new")
        await asyncio.sleep(7)
        checks.equal(
            cache.get("k"),
            "new",
            "get('k') 12 s after put('k', 'old') and 7 s after put('k', 'new'), ttl 10 s",
            "the second put replaces the value and starts the ttl again",
        )
        await asyncio.sleep(3)
        checks.equal(cache.get("k"), None, "get('k') 10 s after the second put", "")


@pytest.mark.task(4)
async def test_falsy_values_are_values():
    with wall_clock(utc(2024, 5, 1, 9)):
        cache = wall_clocks.TTLCache(timedelta(seconds=10))
        for key, value in [("zero", 0), ("empty", ""), ("none", None), (0, False), ("", [])]:
            cache.put(key, value)
        for key, value in [("zero", 0), ("empty", ""), ("none", None), (0, False), ("", [])]:
            got = cache.get(key, "DEFAULT")
            if got != value or type(got) is not type(value):
                fail(
                    f"get({key!r}, 'DEFAULT') right after put({key!r}, {value!r}): expected "
                    f"{value!r}, got {got!r}. Likely: `if value:` or `or default`; 0, '', "
                    "None and False are values, and 0 and '' are keys."
                )
        checks.equal(cache.get("missing"), None, "get('missing') with no default", "")
        checks.equal(cache.get("missing", 7), 7, "get('missing', 7)", "")


@pytest.mark.task(4)
async def test_two_caches_keep_their_own_entries_and_ttls():
    with wall_clock(utc(2024, 5, 1, 9)):
        short = wall_clocks.TTLCache(timedelta(seconds=5))
        long = wall_clocks.TTLCache(timedelta(seconds=50))
        short.put("k", "short")
        long.put("k", "long")
        checks.equal(
            (short.get("k"), long.get("k")),
            ("short", "long"),
            "two caches given the same key",
            "the entries are shared between caches: likely a dict at module or class level; "
            "make it in __init__",
        )
        await asyncio.sleep(10)
        checks.equal(
            (short.get("k"), long.get("k")),
            (None, "long"),
            "10 s later, a 5 s cache and a 50 s cache",
            "each cache keeps its own ttl",
        )


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from(["a", "b", ""]), st.integers(0, 2)),
        st.tuples(st.just("get"), st.sampled_from(["a", "b", ""])),
        st.tuples(st.just("sleep"), st.integers(1, 100)),  # eighths of a second
        st.tuples(st.just("jump"), st.sampled_from([-HOUR * 8, -80, 40, HOUR * 8])),
    ),
    max_size=12,
)


@pytest.mark.task(4)
@scenarios.given(ops=OPS)
async def test_ttl_cache_in_any_scenario(ops):
    scenarios.describe(f"with the steps {ops}")
    with wall_clock(utc(2024, 5, 1, 9)) as clock:
        cache = wall_clocks.TTLCache(timedelta(seconds=5))
        oracle: dict = {}
        dropped: set = set()  # keys a get found expired: the cache may have dropped them
        done = []
        for op in ops:
            done.append(op)
            if op[0] == "put":
                cache.put(op[1], op[2])
                oracle[op[1]] = (op[2], clock() + timedelta(seconds=5))
                dropped.discard(op[1])
            elif op[0] == "sleep":
                await asyncio.sleep(op[1] / 8)
            elif op[0] == "jump":
                clock.jump(op[1] / 8)
            else:
                value, expires = oracle.get(op[1], ("MISSING", None))
                expected = value if expires is not None and clock() < expires else "MISSING"
                got = cache.get(op[1], "MISSING")
                if expires is not None and expected == "MISSING":
                    dropped.add(op[1])
                if op[1] in dropped and got == "MISSING":
                    continue  # found expired once, then the clock set back: either is right
                if got != expected:
                    steps = ", ".join(
                        f"{o[0]} {o[1] / 8:g} s" if o[0] in ("sleep", "jump") else f"{o[0]}{o[1:]}"
                        for o in done
                    )
                    fail(
                        f"A cache with a 5 s ttl, after {steps} (jump: the wall clock set "
                        f"forward or back): the last get gave {got!r}, expected {expected!r}. "
                        "Likely: expiry on the loop's clock instead of the wall clock, an entry "
                        "kept at exactly its expiry, or a value taken for missing."
                    )


# Task 5: timed


async def check_timed(job_body, expected_result, expected: float, what: str, jump=None):
    with wall_clock(utc(2024, 5, 1, 9)) as clock:

        async def job_timed():
            return await job_body(clock)

        got = await wall_clocks.timed(job_timed)
    if not isinstance(got, tuple) or len(got) != 2:
        fail(f"timed(job) ({what}): expected a tuple (result, seconds), got {got!r}.")
    result, seconds = got
    checks.equal(result, expected_result, f"timed(job) ({what}): the result", "the job's result")
    if not isinstance(seconds, float):
        hint = ""
        if isinstance(seconds, int):
            hint = (
                " Likely: the duration rounded (round() or int()) or counted in whole "
                "seconds; return loop.time() - started as it is."
            )
        fail(f"timed(job) ({what}): expected the seconds as a float, got {seconds!r}.{hint}")
    if round(seconds, 6) != expected:
        hint = ""
        if jump is not None and round(seconds - expected, 6) == jump:
            hint = (
                f" That is {expected:g} s plus the {jump:+g} s the wall clock was set by: "
                "likely measured with time.time() or datetime.now(); measure with the loop's "
                "clock (asyncio.get_running_loop().time())."
            )
        fail(f"timed(job) ({what}): expected {expected:g} s, got {seconds!r}.{hint}")


@pytest.mark.task(5)
async def test_timed_gives_the_result_and_the_duration():
    async def sleeps(clock):
        await asyncio.sleep(2.5)
        return 0

    await check_timed(sleeps, 0, 2.5, "a job taking 2.5 s and returning 0")

    async def quick(clock):
        return None

    await check_timed(quick, None, 0.0, "a job taking no time")


@pytest.mark.task(5)
async def test_timed_ignores_a_wall_clock_set_back_or_forward():
    for jump in (-HOUR, HOUR):

        async def job(clock, jump=jump):
            await asyncio.sleep(1)
            clock.jump(jump)
            await asyncio.sleep(2)
            return "done"

        await check_timed(
            job, "done", 3.0, f"a 3 s job, the wall clock set {jump:+d} s during it", jump=jump
        )


@pytest.mark.task(5)
async def test_timed_passes_the_job_error_on():
    calls = []

    async def job_fails():
        calls.append(now())
        await asyncio.sleep(1)
        raise JobFailed("the job failed")

    with wall_clock(utc(2024, 5, 1, 9)):
        try:
            got = await wall_clocks.timed(job_fails)
        except JobFailed:
            got = None
        else:
            fail(
                f"timed(job) with a job that raises JobFailed: expected the error to reach the "
                f"caller; timed() returned {got!r}, the job having run {len(calls)} time(s). "
                "Likely: the job's error caught (a try/except around await job()); let it go "
                "on."
            )
    checks.equal(len(calls), 1, "how many times timed() ran the failing job", "once")
