"""Exercise 13 tests. Run them with `pytest exercises/13`."""

import asyncio
import heapq
import math

import pytest
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import fail, now, raise_unexpected

acm = exercise_module(__file__)

CONNECT = 0.5  # what the fake backend takes to open a connection
RELEASE = 0.25  # ... and to close one
REPORT = 0.25  # what the fake report() takes to send a timing
OPEN = 1  # what a fake resource takes to open
CLOSE = 0.5  # ... and to close
DAY = 86_400


class Boom(Exception):
    """The error a test's block raises."""


class Conn:
    """A fake connection: only its identity matters."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"<connection {self.n}>"


class FakeBackend:
    """A fake database: connect() takes CONNECT s, release() RELEASE s. Records, in loop time
    from when it was made, every connect and release, and how many connections were open at
    once (from the start of a connect to the end of its release)."""

    def __init__(
        self,
        conns: list | None = None,
        fail_connect: BaseException | None = None,
        fail_release: BaseException | None = None,
        connect_time: float = CONNECT,
        release_time: float = RELEASE,
    ):
        self.t0 = now()
        self.connect_time, self.release_time = connect_time, release_time
        self.conns = conns  # what connect() gives, in turn (None: new Conn objects)
        self.fail_connect = fail_connect
        self.fail_release = fail_release  # what release() raises, once it has taken RELEASE s
        self.connects = 0  # connect() calls
        self.release_calls = 0  # release() calls
        self.released: list[tuple[object, float]] = []  # (conn, when its release finished)
        self.given: list[tuple[object, float]] = []  # (conn, when connect() returned it)
        self.open = 0
        self.most = 0

    def since(self) -> float:
        return round(now() - self.t0, 6)

    def connect(self):
        self.connects += 1
        return self.backend_connect()

    async def backend_connect(self) -> object:
        self.open += 1
        self.most = max(self.most, self.open)
        try:
            await asyncio.sleep(self.connect_time)
            if self.fail_connect is not None:
                raise self.fail_connect
        except BaseException:
            self.open -= 1
            raise
        n = len(self.given)
        conn = self.conns[n % len(self.conns)] if self.conns else Conn(n + 1)
        self.given.append((conn, self.since()))
        return conn

    def release(self, conn: object):
        self.release_calls += 1
        return self.backend_release(conn)

    async def backend_release(self, conn: object) -> None:
        await asyncio.sleep(self.release_time)
        self.open -= 1
        if self.fail_release is not None:
            raise self.fail_release
        self.released.append((conn, self.since()))

    def released_objects(self) -> list:
        return [c for c, _ in self.released]


LIMIT_LIKELY = (
    "Likely: the limit counted wrong (one place too many, as in Semaphore(size + 1), or a "
    "counter compared with `>` where `>=` is meant), the place taken after connect() (so "
    "connecting does not wait for it), or the place freed before the release had finished."
)


def check_releases(backend: FakeBackend, what: str, expected: int) -> None:
    """Fail unless `expected` leases were released, each exactly once, by awaiting release()."""
    done = len(backend.released)
    if backend.release_calls > done:
        fail(
            f"{what}: backend.release() was called {checks.count(backend.release_calls, 'time')} "
            f"but only {done} of those releases had finished when the lease's block was over. "
            "Likely: `backend.release(conn)` without `await` (calling a coroutine function "
            "only makes a coroutine, and the connection is never closed), or the release "
            "handed to create_task(). Write `await self.pool.backend.release(conn)`."
        )
    if done != expected:
        fail(
            f"{what}: expected {checks.count(expected, 'release')} of a connection, got {done}"
            + (
                ". Likely: the release is skipped on this path (only on success?). Release in "
                "__aexit__, whatever exc_type is."
                if done < expected
                else ": a connection was released more than once."
            )
        )


async def hold(pool, seconds: float = 1, error: BaseException | None = None, log=None):
    """Lease a connection from `pool`, keep it `seconds`, then end the block (raising
    `error` if given). Logs (when entered, the connection) to `log`."""
    lease = pool.lease()
    checks.not_coroutine(lease, "pool.lease()")
    async with lease as conn:
        if log is not None:
            log.append((now(), conn))
        await asyncio.sleep(seconds)
        if error is not None:
            raise error
    return conn


# Task 1: Pool and Lease


@pytest.mark.task(1)
async def test_a_lease_gives_the_connection_and_releases_it_after_the_block(looptime):
    backend = FakeBackend()
    pool = acm.Pool(backend, 2)
    lease = pool.lease()
    checks.not_coroutine(lease, "pool.lease()")
    if not hasattr(lease, "__aenter__") or not hasattr(lease, "__aexit__"):
        fail(
            f"pool.lease() gave {lease!r}, which has no __aenter__/__aexit__: it cannot be used "
            "in `async with`. Return a Lease(self)."
        )
    if lease is pool.lease():
        fail("pool.lease() gave the same object twice: each call must make a new Lease.")
    async with lease as conn:
        entered = float(looptime)
        checks.not_coroutine(conn, "`async with pool.lease() as conn:` gave conn, which")
        given = [c for c, _ in backend.given]
        if conn is lease or conn is pool:
            fail(
                f"`async with pool.lease() as conn:` gave {conn!r} itself; expected the "
                "connection backend.connect() returned. Return the connection from __aenter__."
            )
        if given and conn is not given[0]:
            fail(
                f"`async with pool.lease() as conn:` gave {conn!r}; expected {given[0]!r}, the "
                "connection backend.connect() returned. Return it from __aenter__."
            )
        if backend.connects != 1:
            fail(
                f"entering the lease called backend.connect() {backend.connects} times; expected "
                "once."
            )
        if backend.released:
            fail("the connection was released before the block had even ended.")
        await asyncio.sleep(2)
    checks.took(entered, CONNECT, "Entering a free lease", {0: "Likely: connect() not awaited."})
    check_releases(backend, "After one lease ended normally", 1)
    if backend.released[0][0] is not conn:
        fail(f"the lease released {backend.released[0][0]!r}; expected its own {conn!r}.")
    checks.took(
        looptime,
        CONNECT + 2 + RELEASE,
        "Connecting, a 2 s block and the release",
        {CONNECT + 2: "The release was not awaited before the block ended: await it in __aexit__."},
    )
    if backend.connects != 1:
        fail(f"one lease called backend.connect() {backend.connects} times; expected once.")


@pytest.mark.task(1)
async def test_a_lease_is_released_when_the_block_raises_and_the_error_goes_on(looptime):
    backend = FakeBackend()
    pool = acm.Pool(backend, 1)
    error = Boom("the query failed")
    try:
        await hold(pool, 1, error)
    except Boom as exc:
        if exc is not error:
            fail(
                f"the block raised {error!r}, and the caller got another {exc!r}: let it go on "
                "unchanged."
            )
    else:
        check_releases(backend, "A block that raised", 1)
        fail(
            f"the block raised {error!r}, but the caller saw no error: the lease hid it. "
            "Likely: __aexit__ returns True (or something true), which tells Python the error "
            "was handled. Return None (or False) so the error goes on."
        )
    check_releases(backend, "After a block that raised Boom", 1)
    checks.took(looptime, CONNECT + 1 + RELEASE, "A lease whose block raised after 1 s")
    log: list = []
    await checks.within(
        10,
        hold(pool, 0, log=log),
        "After a block that raised, the pool's only place was never "
        "freed: a new lease waited forever. Free the place in __aexit__ whatever happened "
        "(in a finally:).",
    )


@pytest.mark.task(1)
async def test_a_lease_is_released_when_its_task_is_cancelled(looptime):
    backend = FakeBackend()
    pool = acm.Pool(backend, 1)
    task = asyncio.create_task(hold(pool, DAY))
    await asyncio.sleep(5)
    task.cancel()
    try:
        await checks.within(10, asyncio.shield(task), "The cancelled lease never ended.")
    except asyncio.CancelledError:
        pass
    except NotImplementedError:
        raise
    except Exception as exc:
        fail(
            f"cancelled inside its block, the lease's task raised {exc!r}; expected it to end "
            "cancelled."
        )
    if not task.cancelled():
        fail(
            f"cancelled inside its block, the lease's task returned {task.result()!r}; expected "
            "it to end cancelled. Likely: __aexit__ returns True, which swallows the "
            "CancelledError. Return None."
        )
    done = len(backend.released)
    if done == 0 and backend.release_calls == 0:
        fail(
            "the task holding a lease was cancelled at 5 s, and its connection was never "
            "released. Likely: __aexit__ releases only for some exceptions (`if exc_type is "
            "None` or `issubclass(exc_type, Exception)`); CancelledError is a BaseException. "
            "Release whatever exc_type is."
        )
    check_releases(backend, "After a cancelled lease", 1)
    checks.took(
        backend.released[0][1],
        5 + RELEASE,
        "Cancelled at 5 s, the release",
    )
    log: list = []
    t = now()
    await checks.within(
        10,
        hold(pool, 0, log=log),
        "After a cancelled lease, the pool's only place was never "
        "freed: a new lease waited forever. Free the place in __aexit__ (in a finally:).",
    )
    checks.took(log[0][0] - t, CONNECT, "After a cancelled lease, the next lease's entry")


def entries_with(size: int, holds: list[float]) -> list[float]:
    """The oracle: when each lease (asked for at 0, in order) enters, first come first served.
    A place is taken from the start of connecting to the end of the release."""
    free = [0.0] * size
    entered = []
    for seconds in holds:
        start = heapq.heappop(free)
        entered.append(start + CONNECT)
        heapq.heappush(free, start + CONNECT + seconds + RELEASE)
    return entered


async def run_leases(pool, holds, errors=None) -> tuple[list, list]:
    """Start one task per lease, in order; return when each entered and how each ended."""
    t0 = now()
    logs = [[] for _ in holds]
    errors = errors or [None] * len(holds)
    tasks = []
    for seconds, error, log in zip(holds, errors, logs, strict=True):
        tasks.append(asyncio.create_task(hold(pool, seconds, error, log)))
        await asyncio.sleep(0)  # asked in this order
    outcomes = await checks.within(
        10 * DAY + 100,
        asyncio.gather(*tasks, return_exceptions=True),
        "Some leases never got a place, though the others had all ended. Likely: a place "
        "was never freed (the count of leases taken wrong, or a release not awaited).",
    )
    for o in outcomes:
        if isinstance(o, TimeoutError) and not any(o is e for e in errors):
            fail(
                f"a lease raised TimeoutError after {now() - t0:g} s of waiting for a place, "
                "though "
                "nothing in the test has a time limit. Likely: a time limit of your own "
                "(wait_for() "
                "or asyncio.timeout() 'to be safe'); wait for a place as long as it takes."
            )
        if isinstance(o, BaseException) and not any(o is e for e in errors):
            raise o
    return [log[0][0] if log else None for log in logs], outcomes


@pytest.mark.task(1)
@pytest.mark.parametrize("size", [1, 3])
async def test_at_most_size_leases_at_once_and_the_next_gets_the_first_free_place(size):
    backend = FakeBackend()
    pool = acm.Pool(backend, size)
    holds = [1, 2, 3, 1, 1, 2][: size + 3]
    t0 = now()
    entered, _ = await run_leases(pool, holds)
    entered = [round(e - t0, 6) if e is not None else None for e in entered]
    expected = entries_with(size, holds)
    if backend.most > size:
        fail(
            f"a Pool of size {size} had {backend.most} connections open at once (from connect to "
            f"the end of release); expected at most {size}. Likely: the limit counted wrong "
            "(one too many places, a check like `>` where `>=` is meant), connect() called "
            "before a place was taken, or the place freed before the release had finished."
        )
    checks.equal(
        entered,
        expected,
        f"A Pool of size {size}, leases held {holds} s asked at once: when each entered",
        lambda got: (
            "Fewer leases than the size ran at once: the limit counted wrong (one place too few?)."
            if backend.most < min(size, len(holds))
            else "A waiting lease must get a place the moment one is free, first come first served."
        ),
    )
    check_releases(backend, f"{len(holds)} leases", len(holds))


@pytest.mark.task(1)
async def test_falsy_and_unhashable_connections_are_each_released():
    conns = [0, "", None, [], {}]
    backend = FakeBackend(conns=conns)
    pool = acm.Pool(backend, 2)
    got = [await hold(pool, 0) for _ in conns]
    for conn, mine in zip(got, conns, strict=True):
        if conn is not mine:
            fail(
                f"backend.connect() gave {mine!r}, but the block got {conn!r}: return the "
                "connection itself."
            )
    done = backend.released_objects()
    if backend.release_calls == len(done) < len(conns):
        fail(
            f"leases of the connections {conns!r} released only {done!r}: each lease releases "
            "its own connection, whatever it is (0, '' and None are connections too). Likely: "
            "`if self.conn:` before the release; keep the connection and release it always."
        )
    check_releases(backend, f"Leases of the connections {conns!r}", len(conns))
    released = backend.released_objects()
    if any(a is not b for a, b in zip(released, conns, strict=True)):
        fail(
            f"the connections {conns!r} were released as {released!r}: each lease releases "
            "its own connection, whatever it is (0, '' and None are connections too)."
        )


def same_connection_hint(got: list, control_ok: bool, most: int) -> str:
    """Only what the entry times of three 1 s leases in a Pool of size 2 show."""
    if control_ok:
        return (
            "With three different connections the same leases entered on time, so the shared "
            "one made the difference: keep count of leases, not of connection objects (one "
            "object can be leased twice)."
        )
    lead = (
        "The same three leases with three different connections went wrong too, so the reused "
        "connection is not the cause."
    )
    if got.count(CONNECT) > 2:
        return (
            f"{lead} All three entered at once: more leases than the pool's size of 2 ran at "
            f"once. {LIMIT_LIKELY}"
        )
    if got[2] == CONNECT + 1 + CONNECT:
        return (
            f"{lead} The third lease began connecting the moment the first's block ended, "
            "before its release had finished: free the place only after `await "
            "backend.release(conn)`."
        )
    if most > 2:
        return (
            f"{lead} {most} connections were open at once (from the start of a connect to the "
            f"end of its release). {LIMIT_LIKELY}"
        )
    return lead


@pytest.mark.task(1)
async def test_the_same_connection_given_twice_is_released_twice():
    expected = [CONNECT, CONNECT, CONNECT + 1 + RELEASE + CONNECT]
    # The same three leases with three different connections first: the hint below blames
    # the shared connection only when that alone made the difference.
    control, _ = await run_leases(acm.Pool(FakeBackend(), 2), [1, 1, 1])
    control_ok = (
        None not in control and [round(e - control[0] + CONNECT, 6) for e in control] == expected
    )
    shared = Conn(7)
    backend = FakeBackend(conns=[shared])
    pool = acm.Pool(backend, 2)
    entered, _ = await run_leases(pool, [1, 1, 1])
    check_releases(backend, "Three leases given the same (reused) connection", 3)
    times = [round(e - entered[0] + CONNECT, 6) if e is not None else None for e in entered]
    checks.equal(
        times,
        expected,
        "A Pool of size 2, three 1 s leases given the same (reused) connection: when each entered",
        lambda got: same_connection_hint(got, control_ok, backend.most),
    )
    if backend.most > 2:
        fail(f"a Pool of size 2 had {backend.most} connections open at once.")


@pytest.mark.task(1)
async def test_a_failed_connect_frees_its_place_and_its_error_goes_on():
    error = OSError("connection refused")
    backend = FakeBackend(fail_connect=error)
    pool = acm.Pool(backend, 1)
    for attempt in (1, 2):
        try:
            await checks.within(
                10,
                hold(pool, 0),
                f"After {attempt - 1} failed connect, the pool's only place "
                "was never freed: the next lease waited forever. Likely: the place is taken "
                "before connect() and freed only in __aexit__, which does not run when "
                "__aenter__ raises. Free it when connect() fails.",
            )
        except OSError as exc:
            if exc is not error:
                fail(f"connect() raised {error!r}; the caller got {exc!r}.")
        else:
            fail(f"backend.connect() raised {error!r}, but entering the lease did not.")
    if backend.release_calls:
        fail(
            f"connect() failed, yet backend.release() was called {backend.release_calls} times: "
            "there was no connection to release."
        )
    checks.equal(backend.connects, 2, "Two leases whose connect failed: connect() calls")


@pytest.mark.task(1)
@pytest.mark.parametrize("block_error", [None, Boom("the query failed")])
async def test_a_failed_release_frees_its_place_and_its_error_goes_on(block_error):
    error = OSError("the connection broke while closing")
    backend = FakeBackend(fail_release=error)
    pool = acm.Pool(backend, 1)
    what = (
        "a block that ended normally" if block_error is None else f"a block raising {block_error!r}"
    )
    try:
        await checks.within(10, hold(pool, 1, block_error), f"A lease of {what} never ended.")
    except (OSError, Boom) as exc:
        if exc is not error:
            fail(
                f"after {what}, backend.release() raised {error!r}, but the caller got {exc!r}. "
                "The release's error must reach the caller: do not catch it in __aexit__ (a "
                "try/finally frees the place and lets it go on)."
            )
    else:
        fail(
            f"after {what}, backend.release() raised {error!r}, but the caller saw no error. "
            "Likely: __aexit__ catches the release's error (`except Exception: pass`, or "
            "contextlib.suppress()); let it go on, and free the place in a finally."
        )
    if backend.release_calls != 1:
        fail(
            f"after {what}, backend.release() was called "
            f"{checks.count(backend.release_calls, 'time')}; expected once."
        )
    backend.fail_release = None
    log: list = []
    t = now()
    await checks.within(
        10,
        hold(pool, 0, log=log),
        f"After {what} whose backend.release() raised, the pool's only place was never freed: "
        "a new lease waited forever. Likely: the place is freed after `await "
        "backend.release(conn)`, a line a failing release never reaches. Free it in a "
        "`finally:` around the release.",
    )
    checks.took(log[0][0] - t, CONNECT, "After a failed release, a new lease's entry")


@pytest.mark.task(1)
async def test_a_task_leasing_again_at_once_waits_behind_the_lease_already_waiting():
    backend = FakeBackend()
    pool = acm.Pool(backend, 1)
    order: list = []

    async def lease(name: str) -> None:
        async with pool.lease():
            order.append((name, round(backend.since(), 6)))
            await asyncio.sleep(1)

    async def twice() -> None:
        await lease("A, first lease")
        await lease("A, second lease")  # asked the moment its first lease has ended

    t0 = now()
    a = asyncio.create_task(twice())
    await asyncio.sleep(CONNECT)  # A holds the only place
    b = asyncio.create_task(lease("B"))
    await checks.within(
        100, asyncio.wait([a, b]), "Two leases after each other and one waiting never ended."
    )
    raise_unexpected(a, b)
    first = CONNECT
    expected = [
        ("A, first lease", first),
        ("B", first + 1 + RELEASE + CONNECT),
        ("A, second lease", first + 2 * (1 + RELEASE + CONNECT)),
    ]
    checks.equal(
        [(name, round(when - (t0 - backend.t0), 6)) for name, when in order],
        expected,
        "A Pool of size 1: task A leases for 1 s, B asks at 0.5 s, and A asks again the moment "
        "its lease ends: (who entered, when)",
        lambda got: (
            "A's second lease took the place ahead of B, which had been waiting since 0.5 s: "
            "first come, first served. Likely: a free place is left for whoever asks first "
            "(an asyncio.Queue of tokens, a Condition or a counter that a newcomer can take "
            "before the woken waiter runs). Hand the freed place straight to the longest "
            "waiting lease, as asyncio.Semaphore does."
            if [n for n, _ in got] == ["A, first lease", "A, second lease", "B"]
            else ""
        ),
    )


@pytest.mark.task(1)
async def test_a_waiter_cancelled_just_as_it_is_given_the_place_gives_it_back():
    backend = FakeBackend()
    pool = acm.Pool(backend, 1)
    waiting: list = []

    async def holder() -> None:
        async with pool.lease():
            await asyncio.sleep(1)
        waiting[0].cancel()  # the place was just freed for it, and it has not run yet

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiting.append(asyncio.create_task(hold(pool, 1)))
    await checks.within(
        100, asyncio.wait([first, waiting[0]]), "A lease and one waiting never ended."
    )
    raise_unexpected(first, waiting[0])
    if not waiting[0].cancelled():
        fail(
            "a waiting lease cancelled the moment the place was freed for it ended with "
            f"{waiting[0].exception() or waiting[0].result()!r}; expected it cancelled: the "
            "cancellation was lost. Likely: the wait for a place is wrapped in something that "
            "can drop a cancellation arriving just as the wait succeeds, such as "
            "asyncio.wait_for() or another time limit of your own around acquire() (wait with a "
            "plain `await`, as long as it takes), or a CancelledError caught and not raised "
            "again."
        )
    log: list = []
    t = now()
    await checks.within(
        10,
        hold(pool, 0, log=log),
        "A waiting lease was cancelled just after the only place had been freed for it (before "
        "it ran again), and the place was lost: a new lease waited forever. Likely: the place "
        "is handed to a waiter (its future's result set), but a waiter cancelled after that "
        "does not give it back. When the wait ends in CancelledError although the place was "
        "already given, pass it on to the next waiter (or use asyncio.Semaphore).",
    )
    checks.took(log[0][0] - t, CONNECT, "After that cancelled waiter, a new lease's entry")


@pytest.mark.task(1)
async def test_a_lease_cancelled_while_connecting_or_waiting_frees_its_place():
    backend = FakeBackend()
    pool = acm.Pool(backend, 1)
    first = asyncio.create_task(hold(pool, 1))
    await asyncio.sleep(CONNECT / 2)  # first is connecting
    waiting = asyncio.create_task(hold(pool, 1))
    await asyncio.sleep(0)
    first.cancel()
    waiting.cancel()
    await asyncio.wait([first, waiting], timeout=10)
    raise_unexpected(first, waiting)
    for name, task in (("connecting", first), ("waiting for a place", waiting)):
        if not task.done():
            fail(f"a lease cancelled while {name} never ended.")
        if not task.cancelled():
            fail(
                f"a lease cancelled while {name} ended with "
                f"{task.exception() or task.result()!r}; expected it cancelled."
            )
    if backend.release_calls:
        fail("a lease cancelled before connect() returned released a connection it never had.")
    log: list = []
    t = now()
    await checks.within(
        10,
        hold(pool, 0, log=log),
        "After leases cancelled while connecting and while waiting, "
        "the pool's only place was never freed: a new lease waited forever. Likely: the place "
        "is taken before connect() and freed only in __aexit__, which never runs when "
        "__aenter__ is cancelled; free it in an except/finally around connect().",
    )
    checks.took(log[0][0] - t, CONNECT, "After two cancelled leases, a new lease's entry")


@pytest.mark.task(1)
async def test_two_pools_keep_their_own_places_and_leases_their_own_connections():
    a, b = FakeBackend(), FakeBackend()
    pool_a, pool_b = acm.Pool(a, 1), acm.Pool(b, 2)
    log_a: list = []
    log_b: list = []
    t0 = now()
    held = asyncio.create_task(hold(pool_a, 10, log=log_a))
    await asyncio.sleep(0)
    try:
        await checks.within(
            5,
            asyncio.gather(hold(pool_b, 1, log=log_b), hold(pool_b, 1, log=log_b)),
            "With pool A's only place leased, leases of pool B (size 2) waited: the two pools "
            "share their count. Likely: the limit (a Semaphore or a counter) is kept at module "
            "level or on the class; make it in Pool.__init__, one for each pool.",
        )
    except BaseException:
        await checks.settle(held)
        raise
    times = sorted(round(t - t0, 6) for t, _ in log_b)
    checks.equal(
        times,
        [CONNECT, CONNECT],
        "Pool B (size 2, while pool A is busy): when its two leases entered",
        "Each pool has its own `size` places.",
    )
    await held
    got = sorted(c.n for _, c in log_b)
    released = sorted(c.n for c in b.released_objects())
    checks.equal(
        released,
        got,
        "Two leases of one pool at once: the connections released",
        "Each Lease must release its own connection: keep it on the Lease (self), not on the "
        "Pool, where the second lease overwrites the first's.",
    )
    check_releases(a, "Pool A's lease", 1)


@pytest.mark.task(1)
@pytest.mark.loop_limit(3 * DAY)
async def test_a_lease_held_for_a_day_makes_the_next_wait_a_day(looptime):
    backend = FakeBackend()
    pool = acm.Pool(backend, 1)
    t0 = now()
    entered, outcomes = await run_leases(pool, [DAY, 0])
    for o in outcomes:
        if isinstance(o, BaseException):
            fail(
                f"a lease held for a day (or waiting one) raised {o!r}. Likely: a time limit of "
                "your own; wait as long as it takes."
            )
    expected = CONNECT + DAY + RELEASE + CONNECT
    second = None if entered[1] is None else round(entered[1] - t0, 6)
    if second is not None and second < expected - 1e-6 and backend.most > 1:
        fail(
            f"a Pool of size 1: the first lease held its place for a day (its release finished "
            f"at {CONNECT + DAY + RELEASE!r} s), and the second lease, asked at 0 s, entered at "
            f"{second!r} s; expected {expected!r} s (the freed place, then {CONNECT:g} s to "
            f"connect). {backend.most} connections were open at once (from the start of a "
            "connect to the end of its release): the second began connecting while the first "
            f"still held the pool's only place. {LIMIT_LIKELY}"
        )
    checks.took(entered[1], expected, "Waiting behind a lease held a day, the next lease's entry")


@pytest.mark.task(1)
@pytest.mark.loop_limit(4 * DAY)
async def test_a_connect_and_a_release_that_each_take_a_day(looptime):
    backend = FakeBackend(connect_time=DAY, release_time=DAY)
    pool = acm.Pool(backend, 1)
    log: list = []
    try:
        await hold(pool, 1, log=log)
    except TimeoutError:
        step = "connect()" if not log else "release()"
        fail(
            f"a {step} that takes a day: the lease raised TimeoutError after {float(looptime):g} "
            "s, though nothing in the test has a time limit. Likely: a time limit of your own "
            f"on {step} (wait_for() or asyncio.timeout() 'to be safe'); connect() and release() "
            "take as long as they take."
        )
    check_releases(backend, "A lease whose connect() and release() each took a day", 1)
    checks.took(log[0][0], DAY, "A connect() that takes a day, the lease's entry")
    checks.took(looptime, 2 * DAY + 1, "A day to connect, a 1 s block and a day to release")


LEASES = st.lists(
    st.tuples(st.sampled_from([0, 1, 2.5, 10_000]), st.booleans()), min_size=1, max_size=6
)


@pytest.mark.task(1)
@pytest.mark.loop_limit(10**7)
@scenarios.given(size=st.integers(1, 3), leases=LEASES)
async def test_pool_in_any_scenario(size, leases):
    holds = [h for h, _ in leases]
    scene = f"A Pool of size {size}, leases held {holds} s" + (
        f" (blocks {[i for i, (_, bad) in enumerate(leases) if bad]} raising)"
        if any(bad for _, bad in leases)
        else ""
    )
    scenarios.describe(scene)
    backend = FakeBackend()
    pool = acm.Pool(backend, size)
    errors = [Boom(f"lease {i}") if bad else None for i, (_, bad) in enumerate(leases)]
    t0 = now()
    entered, outcomes = await run_leases(pool, holds, errors)
    entered = [round(e - t0, 6) if e is not None else None for e in entered]
    if backend.most > size:
        fail(
            f"{scene}: {backend.most} connections were open at once (from the start of a connect "
            f"to the end of its release); expected at most {size}. "
            + (SHARED_LIKELY if await pools_interfere() else LIMIT_LIKELY)
        )
    for i, (got, error) in enumerate(zip(outcomes, errors, strict=True)):
        if error is not None and got is not error:
            fail(f"{scene}: lease {i}'s block raised {error!r}, and its caller got {got!r}.")
        if error is None and isinstance(got, BaseException):
            fail(f"{scene}: lease {i}'s block ended normally, and its caller got {got!r}.")
    check_releases(backend, scene, len(holds))
    checks.equal(backend.connects, len(holds), f"{scene}: connect() calls")
    expected = entries_with(size, holds)
    if entered == expected:
        return
    if await pools_interfere():
        likely = SHARED_LIKELY
    elif backend.most < min(size, len(holds)):
        likely = (
            f"At most {backend.most} of the pool's {size} places were ever used at once: the "
            "limit counted wrong (one place too few?)."
        )
    else:
        likely = "A waiting lease gets a place the moment one is free, first come first served."
    checks.equal(entered, expected, f"{scene}: when each lease entered", likely)


SHARED_LIKELY = (
    "Then two new pools were tried side by side: with a Pool of size 3 full, a lease of another "
    "Pool (size 1) waited for a place, so the pools share their places. Likely: the limit (a "
    "Semaphore or a counter) is kept at module level or on the class, made or sized by an "
    "earlier pool; make it in Pool.__init__, one for each pool."
)


async def pools_interfere() -> bool:
    """Whether a lease of one new pool waits while another new pool is full: places shared
    between pools. Run only once a test has failed, to tell that cause from the others."""
    full = acm.Pool(FakeBackend(), 3)
    holders = [asyncio.create_task(hold(full, 10)) for _ in range(3)]
    await asyncio.sleep(0)
    other = asyncio.create_task(hold(acm.Pool(FakeBackend(), 1), 0))
    await asyncio.wait([other], timeout=5)
    waited = not other.done()
    await asyncio.wait([*holders, other], timeout=100)
    await checks.settle(*holders, other)
    return waited


# Task 2: timed()


class Reports:
    """A fake report(): takes REPORT s to send a Timing; records each one and when the
    sending began and finished (loop time from when it was made)."""

    def __init__(self) -> None:
        self.t0 = now()
        self.calls = 0
        self.sent: list = []  # (timing, began, finished)
        self.began: list = []

    def __call__(self, timing):
        self.calls += 1
        return self.send_report(timing)

    async def send_report(self, timing) -> None:
        began = round(now() - self.t0, 6)
        self.began.append(began)
        await asyncio.sleep(REPORT)
        self.sent.append((timing, began, round(now() - self.t0, 6)))


class Falsy(Exception):
    """An error that is false in an `if`: `if error:` misses it."""

    def __bool__(self) -> bool:
        return False


async def timed_block(label, report, seconds, error=None):
    cm = acm.timed(label, report)
    checks.not_coroutine(cm, f"timed({label!r}, report)")
    async with cm:
        await asyncio.sleep(seconds)
        if error is not None:
            raise error


def the_report(reports: Reports, what: str, ended: float | None = None):
    """The one Timing sent, after checking report() was called and awaited exactly once (and,
    given `ended`, the loop time the block ended at, not before then)."""
    if reports.calls > len(reports.began):
        fail(
            f"{what}: report() was called but never awaited, so nothing was sent. Write "
            "`await report(Timing(...))` in the finally: after the yield."
        )
    if reports.calls != 1:
        fail(
            f"{what}: report() was called {checks.count(reports.calls, 'time')}; expected once"
            + (
                ". Likely: the report is skipped when the block does not end normally: put it in "
                "a `finally:` around the yield (or the code after a bare yield never runs)."
                if reports.calls == 0
                else "."
            )
        )
    if not reports.sent:
        fail(f"{what}: report() began but had not finished when the caller went on: await it.")
    timing = reports.sent[0][0]
    if ended is not None and reports.began[0] < ended:
        fail(
            f"{what}: report() began at {reports.began[0]:g} s, before the block ended at "
            f"{ended:g} s, and reported {timing!r}. Report after the yield (in a finally:), "
            "once the block is over."
        )
    if not isinstance(timing, acm.Timing):
        fail(f"{what}: report() got {timing!r}; expected a Timing(label, seconds, error).")
    if not isinstance(timing.seconds, float):
        fail(
            f"{what}: Timing.seconds was {timing.seconds!r}, a {type(timing.seconds).__name__}; "
            "expected a float, loop.time() differences as they are (not rounded to an int)."
        )
    return timing


def check_seconds(timing, expected: float, what: str) -> None:
    if math.isclose(timing.seconds, expected, abs_tol=1e-6):
        return
    likely = ""
    if expected > 0 and abs(timing.seconds) < 0.05:
        likely = (
            " The clock did not move while the block's asyncio.sleep() did: likely time.time() "
            "or time.monotonic(). Measure asyncio's own clock, "
            "asyncio.get_running_loop().time(), which is what asyncio.sleep() waits on."
        )
    elif math.isclose(timing.seconds, expected + REPORT, abs_tol=1e-6):
        likely = " That includes the report's own time: read the clock before awaiting report()."
    elif timing.seconds == round(expected):
        likely = " It was rounded: keep the float as it is."
    fail(f"{what}: Timing.seconds was {timing.seconds!r}; expected {expected!r}.{likely}")


@pytest.mark.task(2)
async def test_timed_reports_the_loop_time_of_the_block_before_the_caller_goes_on(looptime):
    reports = Reports()
    await timed_block("fetch", reports, 2.5)
    timing = the_report(reports, "A 2.5 s block", 2.5)
    checks.equal(timing.label, "fetch", "Timing.label")
    check_seconds(timing, 2.5, "A 2.5 s block")
    if timing.error is not None:
        fail(
            f"a block that ended normally was reported with error={timing.error!r}; expected None."
        )
    checks.equal(
        reports.began,
        [2.5],
        "A 2.5 s block: when report() began",
        "Report when the block ends, not when it begins.",
    )
    checks.took(
        looptime,
        2.5 + REPORT,
        "A 2.5 s block and its report",
        {2.5: "The report was not awaited before the caller went on."},
    )


@pytest.mark.task(2)
@pytest.mark.parametrize("error", [Boom("the fetch failed"), Falsy(), KeyError("")])
async def test_timed_reports_a_block_that_raised_and_lets_the_error_go_on(error):
    reports = Reports()
    what = f"A 1 s block raising {error!r}"
    try:
        await timed_block("fetch", reports, 1, error)
    except type(error) as exc:
        if exc is not error:
            fail(f"{what}: the caller got another {exc!r}; let the block's error go on unchanged.")
    else:
        fail(
            f"{what}: the caller saw no error: timed() swallowed it. Likely: the yield is inside "
            "an `except:` (or `except Exception:`) that does not raise again. Catch only to "
            "note the error, then `raise`; or use try/finally."
        )
    timing = the_report(reports, what, 1)
    check_seconds(timing, 1.0, what)
    if timing.error is not error:
        fail(
            f"{what}: Timing.error was {timing.error!r}; expected the block's error itself."
            + (
                " Likely: `if error:` or `error or None`, but an exception can be false: compare "
                "with None."
                if timing.error is None and not error
                else ""
            )
        )


@pytest.mark.task(2)
async def test_timed_reports_a_cancelled_block_and_the_task_ends_cancelled():
    reports = Reports()
    task = asyncio.create_task(timed_block("slow", reports, DAY))
    await asyncio.sleep(3)
    task.cancel()
    await asyncio.wait([task], timeout=10)
    raise_unexpected(task)
    if not task.done():
        fail("cancelled inside its block, the task never ended.")
    if not task.cancelled():
        fail(
            "cancelled inside its block, the task ended with "
            f"{task.exception() or task.result()!r}; "
            "expected it to end cancelled: let the CancelledError go on after reporting."
        )
    what = "A block cancelled at 3 s"
    if reports.calls == 0:
        fail(
            f"{what}: report() was never called. Likely: the report comes after a bare yield "
            "(no try/finally) or in an `except Exception:`, and CancelledError is a "
            "BaseException: report in a finally:."
        )
    timing = the_report(reports, what, 3)
    check_seconds(timing, 3.0, what)
    if not isinstance(timing.error, asyncio.CancelledError):
        fail(
            f"{what}: Timing.error was {timing.error!r}; expected the CancelledError that left "
            "the block."
        )
    checks.equal(
        reports.sent[0][2], 3 + REPORT, f"{what}: when the report finished (before the task ended)"
    )


@pytest.mark.task(2)
async def test_timed_of_an_empty_block_with_an_empty_label_reports_zero(looptime):
    reports = Reports()
    async with acm.timed("", reports):
        pass
    timing = the_report(reports, "An empty block labelled ''")
    checks.equal(
        timing.label, "", "Timing.label of timed('', ...)", "Keep the label as given, even ''."
    )
    check_seconds(timing, 0.0, "An empty block")
    checks.equal(timing.error, None, "An empty block: Timing.error")


@pytest.mark.task(2)
@pytest.mark.parametrize("label", ["  fetch user 7 ", "db\t\n"])
async def test_timed_keeps_a_label_with_spaces_exactly_as_given(label):
    reports = Reports()
    await timed_block(label, reports, 1)
    timing = the_report(reports, f"A 1 s block labelled {label!r}", 1)
    checks.equal(
        timing.label,
        label,
        f"Timing.label of timed({label!r}, ...)",
        lambda got: (
            "The label was stripped: keep it exactly as given, spaces and all."
            if isinstance(got, str) and got == label.strip()
            else "Keep the label exactly as given."
        ),
    )
    check_seconds(timing, 1.0, f"A 1 s block labelled {label!r}")


@pytest.mark.task(2)
async def test_nested_and_concurrent_timers_keep_their_own_start():
    reports = Reports()

    async def outer() -> None:
        async with acm.timed("outer", reports):
            await asyncio.sleep(1)
            async with acm.timed("inner", reports):
                await asyncio.sleep(2)
            await asyncio.sleep(1)

    async def beside() -> None:
        await asyncio.sleep(0.5)
        await timed_block("beside", reports, 8)

    both = [asyncio.create_task(outer()), asyncio.create_task(beside())]
    await asyncio.wait(both)
    raise_unexpected(*both)
    got = sorted((t.label, t.seconds) for t, _, _ in reports.sent)
    expected = sorted([("inner", 2.0), ("outer", 4.25), ("beside", 8.0)])
    checks.equal(
        got,
        expected,
        "Nested timers (outer 1 s, inner 2 s + its 0.25 s report, 1 s) beside an 8 s one: "
        "(label, seconds) reported",
        "Each timed() keeps its own start in its own generator; one kept at module level "
        "(or on a shared object) is overwritten by the next block.",
    )


@pytest.mark.task(2)
async def test_the_same_label_twice_is_reported_twice():
    reports = Reports()
    await timed_block("db", reports, 1)
    await timed_block("db", reports, 2)
    got = [(t.label, t.seconds) for t, _, _ in reports.sent]
    checks.equal(
        got,
        [("db", 1.0), ("db", 2.0)],
        "Two blocks labelled 'db'",
        "Every block is reported on its own, even with the same label.",
    )


@pytest.mark.task(2)
@pytest.mark.loop_limit(3 * DAY)
async def test_timed_of_a_day_long_block(looptime):
    reports = Reports()
    try:
        await timed_block("nightly", reports, DAY)
    except TimeoutError:
        fail(
            f"a day-long block raised TimeoutError after {float(looptime):g} s, though nothing in "
            "the "
            "test has a time limit. Likely: a timeout of your own around the yield; a timer "
            "only measures, however long the block takes."
        )
    check_seconds(the_report(reports, "A day-long block", DAY), float(DAY), "A day-long block")


BLOCKS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", ""]),
        st.sampled_from([0, 0.5, 1, 10_000]),
        st.sampled_from(["ok", "error", "cancel"]),
    ),
    max_size=5,
)


@pytest.mark.task(2)
@pytest.mark.loop_limit(10**6)
@scenarios.given(blocks=BLOCKS)
async def test_timed_in_any_scenario(blocks):
    scene = f"Blocks (label, seconds, how) {blocks!r} run at once"
    scenarios.describe(scene)
    reports = Reports()
    errors = [
        Boom(f"block {i}") if how == "error" else None for i, (_, _, how) in enumerate(blocks)
    ]
    tasks = [
        asyncio.create_task(timed_block(label, reports, DAY if how == "cancel" else s, e))
        for (label, s, how), e in zip(blocks, errors, strict=True)
    ]
    await asyncio.sleep(0)
    for (_, s, how), task in zip(blocks, tasks, strict=True):
        if how == "cancel":
            asyncio.get_running_loop().call_later(s, task.cancel)
    if tasks:
        await asyncio.wait(tasks, timeout=DAY)
    raise_unexpected(*tasks, expected=errors)
    checks.equal(
        reports.calls,
        len(blocks),
        f"{scene}: report() calls",
        "Every block is reported once, however it ends: report in a finally:.",
    )
    expected = sorted((label, float(s), how) for label, s, how in blocks)
    got = sorted(
        (
            t.label,
            round(t.seconds, 6) if isinstance(t.seconds, float) else t.seconds,
            "ok"
            if t.error is None
            else "cancel"
            if isinstance(t.error, asyncio.CancelledError)
            else "error",
        )
        for t, _, _ in reports.sent
    )

    def likely(got: object) -> str:
        seconds = sorted(g[1] for g in got)
        real = [x for x in seconds if isinstance(x, float) and 0 < x < 0.05]
        if real and all(isinstance(x, float) and x < 0.05 for x in seconds):
            return (
                f"A block was reported as taking {real[0]:g} s, a little real time, not its "
                "loop time (a 0 s block takes exactly 0 s of loop time, a 10,000 s one "
                "10,000 s): likely time.time() or time.monotonic(). Measure asyncio's clock, "
                "asyncio.get_running_loop().time()."
            )
        return "Report each block once, with its own loop time and how it ended."

    checks.equal(got, expected, f"{scene}: (label, seconds, how) reported", likely)
    for (_, _, how), task, e in zip(blocks, tasks, errors, strict=True):
        if how == "cancel" and not task.cancelled():
            fail(f"{scene}: a cancelled block's task did not end cancelled.")
        if how == "error" and (task.cancelled() or task.exception() is not e):
            fail(f"{scene}: a block raising {e!r} did not pass it on to its caller.")
        if how == "ok" and (task.cancelled() or task.exception() is not None):
            fail(f"{scene}: a block that ended normally raised in its caller.")


# Task 3: open_all()


class Opener:
    """A fake opener: opener(name) gives a resource that takes OPEN s to open and CLOSE s to
    close. Logs ("open", name, at), ("close", name, at, exc_type), in loop time."""

    def __init__(self, values=None, fail_open=(), fail_close=()):
        self.t0 = now()
        self.values = values or {}
        self.fail_open, self.fail_close = set(fail_open), set(fail_close)
        self.calls: list[str] = []
        self.log: list[tuple] = []
        self.errors: dict[str, Exception] = {}

    def since(self) -> float:
        return round(now() - self.t0, 6)

    def __call__(self, name: str):
        self.calls.append(name)
        return Resource(self, name)

    def opened(self) -> list[str]:
        return [e[1] for e in self.log if e[0] == "open"]

    def closed(self) -> list[str]:
        return [e[1] for e in self.log if e[0] == "close"]


class Resource:
    def __init__(self, opener: Opener, name: str) -> None:
        self.opener, self.name = opener, name
        self.entered = self.exited = 0

    async def __aenter__(self):
        self.entered += 1
        await asyncio.sleep(OPEN)
        if self.name in self.opener.fail_open:
            raise self.opener.errors.setdefault(self.name, OSError(f"cannot open {self.name}"))
        self.opener.log.append(("open", self.name, self.opener.since()))
        return self.opener.values.get(self.name, f"<{self.name}>")

    async def __aexit__(self, exc_type, exc, tb):
        self.exited += 1
        await asyncio.sleep(CLOSE)
        kind = None if exc_type is None else exc_type.__name__
        self.opener.log.append(("close", self.name, self.opener.since(), kind))
        if self.name in self.opener.fail_close:
            raise self.opener.errors.setdefault(self.name, OSError(f"cannot close {self.name}"))
        return None

    def __repr__(self) -> str:
        return f"<context manager for {self.name!r}>"


def check_names_unchanged(before, names) -> None:
    """Fail, before any check computed from `names`, if open_all() changed the caller's list."""
    if list(names) == before:
        return
    now_names = list(names)
    if now_names == before[::-1]:
        likely = " Likely: names.reverse(); reversed(names) makes a copy to walk."
    elif len(now_names) < len(before):
        likely = " Likely: names taken off the list (pop(), del, remove()); walk it with a for."
    else:
        likely = ""
    fail(
        f"open_all() changed the caller's names from {before!r} to {now_names!r}; leave it "
        f"unchanged.{likely}"
    )


async def use_all(opener, names, seconds=1, error=None, seen=None):
    before = list(names)
    cm = acm.open_all(opener, names)
    checks.not_coroutine(cm, "open_all(opener, names)")
    try:
        async with cm as values:
            check_names_unchanged(before, names)
            if seen is not None:
                seen.append(values)
            await asyncio.sleep(seconds)
            if error is not None:
                raise error
    finally:
        check_names_unchanged(before, names)
    return values


def expected_log(names, open_fail=None, body_error=None, at=0.0, hold=1.0, close_fail=None):
    """The oracle: each name opened in turn (OPEN s each), then closed last first (CLOSE s each);
    each close gets the exception in flight: the block's, or that of a close that failed."""
    log, t, opened = [], at, []
    for name in names:
        t += OPEN
        if name == open_fail:
            body_error = OSError
            break
        log.append(("open", name, t))
        opened.append(name)
    else:
        t += hold
    for name in reversed(opened):
        t += CLOSE
        log.append(("close", name, t, body_error and body_error.__name__))
        if name == close_fail:
            body_error = OSError
    return log


def order_hint(opener: Opener, expected: list | None = None) -> str:
    opened, closed = opener.opened(), opener.closed()
    times = [e[2] for e in opener.log if e[0] == "open"]
    if len(set(times)) < len(times):
        return (
            "Some were opened at the same moment: open them one after another, awaiting each "
            "enter before the next (the closing order depends on the opening order)."
        )
    if closed == opened and closed != opened[::-1]:
        return (
            "They were closed in the order they were opened; close the last opened first "
            "(an AsyncExitStack does)."
        )
    if expected is not None:
        want = [(e[1], e[3]) for e in expected if e[0] == "close"]
        got = [(e[1], e[3]) for e in opener.log if e[0] == "close"]
        if [n for n, _ in got] == [n for n, _ in want] and got != want:
            return (
                "The right resources were closed, in the right order, but not each with the "
                "exception in flight: pass it to every __aexit__ (the block's, or that of a "
                "close that failed before). enter_async_context() does; calling "
                "__aexit__(None, None, None) yourself does not."
            )
        if len(got) < len(want):
            return "Close every resource that was opened (in a finally:, or an AsyncExitStack)."
    return ""


@pytest.mark.task(3)
async def test_open_all_opens_in_order_and_closes_last_first(looptime):
    opener = Opener()
    names = ["db", "cache", "queue"]
    seen: list = []
    await use_all(opener, names, seen=seen)
    values = seen[0]
    if not isinstance(values, list):
        fail(
            f"`async with open_all(...) as resources:` gave {values!r}, a "
            f"{type(values).__name__}; expected a list."
        )
    if values and isinstance(values[0], Resource):
        fail(
            f"the block got {values!r}: the context managers themselves. Expected what entering "
            "each gave: `await stack.enter_async_context(cm)` returns it."
        )
    checks.equal(values, ["<db>", "<cache>", "<queue>"], "The values the block got")
    checks.equal(
        opener.calls, names, "opener() calls", "Call opener(name) once per name, in order."
    )
    checks.equal(
        opener.log,
        expected_log(names),
        "Opening db, cache, queue, a 1 s block: what happened when "
        "(open at 1, 2, 3; close at 4.5, 5, 5.5, last opened first)",
        lambda _: order_hint(opener),
    )
    checks.took(looptime, 3 * OPEN + 1 + 3 * CLOSE, "Opening three, a 1 s block and three closes")


@pytest.mark.task(3)
async def test_the_block_error_reaches_every_close_and_then_the_caller():
    opener = Opener()
    error = Boom("the job failed")
    try:
        await use_all(opener, ["a", "b"], error=error)
    except Boom as exc:
        if exc is not error:
            fail(f"the block raised {error!r}; the caller got another {exc!r}.")
    else:
        fail(f"the block raised {error!r}, but the caller saw no error: open_all() hid it.")
    checks.equal(
        opener.log,
        expected_log(["a", "b"], body_error=Boom),
        "A block raising Boom: what happened when (each close gets the error's type)",
        lambda _: order_hint(opener, expected_log(["a", "b"], body_error=Boom)),
    )


@pytest.mark.task(3)
async def test_a_falsy_block_error_reaches_every_close_and_then_the_caller():
    opener = Opener()
    error = Falsy("false in an if")
    expected = expected_log(["a", "b"], body_error=Falsy)
    try:
        await use_all(opener, ["a", "b"], error=error)
    except Falsy as exc:
        if exc is not error:
            fail(f"the block raised {error!r}; the caller got another {exc!r}.")
    else:
        fail(
            f"the block raised {error!r}, an exception that is false in an `if`, but the caller "
            "saw no error: open_all() hid it. Likely: `if exc:` (or `exc or None`, `type(exc) "
            "if exc else None`) where `exc is not None` is meant: an exception can be false. "
            "An AsyncExitStack gets this right."
        )

    def likely(_: object) -> str:
        hint = order_hint(opener, expected)
        got = [e[3] for e in opener.log if e[0] == "close"]
        if got and all(kind is None for kind in got):
            hint += (
                " Each close got exc_type None although the block raised: likely `if exc:` "
                "where `exc is not None` is meant, and this exception is false in an `if`."
            )
        return hint.strip()

    checks.equal(
        opener.log,
        expected,
        f"A block raising {error!r} (false in an `if`): what happened when (each close gets "
        "the error's type)",
        likely,
    )


@pytest.mark.task(3)
async def test_a_failing_close_does_not_stop_the_others_and_its_error_goes_on():
    opener = Opener(fail_close={"b"})
    names = ["a", "b", "c"]
    try:
        await use_all(opener, names)
    except OSError as exc:
        if exc is not opener.errors["b"]:
            fail(f"closing 'b' raised {opener.errors['b']!r}; the caller got {exc!r}.")
    else:
        fail(
            f"closing 'b' raised {opener.errors['b']!r}, but the caller saw no error: a failed "
            "close must not pass unnoticed."
        )
    closed = opener.closed()
    if closed[:2] == ["c", "b"] and "a" not in closed:
        fail(
            "closing 'b' failed, and 'a' was never closed: one failed close stopped the rest. "
            "Close each in its own try/finally, or let an AsyncExitStack do it."
        )
    got = [(e[1], e[3]) for e in opener.log if e[0] == "close"]
    checks.equal(
        got,
        [("c", None), ("b", None), ("a", "OSError")],
        "Closing a, b, c with b's close failing: (name, exc_type each close got)",
        lambda _: order_hint(opener, expected_log(names, close_fail="b")),
    )


@pytest.mark.task(3)
async def test_a_failing_open_closes_the_ones_already_open():
    opener = Opener(fail_open={"c"})
    names = ["a", "b", "c", "d"]
    try:
        await use_all(opener, names)
    except OSError as exc:
        if exc is not opener.errors["c"]:
            fail(f"opening 'c' raised {opener.errors['c']!r}; the caller got {exc!r}.")
    else:
        fail("opening 'c' raised OSError, but the caller saw no error.")
    if not opener.closed():
        fail(
            "opening 'c' failed, and 'a' and 'b' (already open) were never closed. Likely: every "
            "resource is opened before the stack (or try) that closes them exists. Enter each "
            "one on the stack as you open it."
        )
    if "d" in opener.calls:
        fail(
            "opening 'c' failed, yet opener('d') had been called too: call opener(name) when "
            "it is that name's turn to open, and stop at the first failure."
        )
    checks.equal(
        opener.log,
        expected_log(names, open_fail="c"),
        "Opening a, b, c with c failing: what happened when",
        lambda _: order_hint(opener, expected_log(names, open_fail="c")),
    )


@pytest.mark.task(3)
async def test_open_all_of_no_names_and_of_falsy_values():
    opener = Opener()
    seen: list = []
    await use_all(opener, [], seen=seen)
    checks.equal(seen[0], [], "open_all(opener, []) gave the block")
    checks.equal(opener.calls, [], "open_all(opener, []): opener() calls")
    opener = Opener(values={"zero": 0, "none": None, "empty": ""})
    seen = []
    await use_all(opener, ["zero", "none", "empty"], seen=seen)
    checks.equal(
        seen[0],
        [0, None, ""],
        "Resources giving 0, None and '': the values the block got",
        "Every value counts, false ones too: keep what each enter gave.",
    )
    checks.equal(
        opener.closed(), ["empty", "none", "zero"], "Resources giving 0, None and '': closed"
    )


@pytest.mark.task(3)
async def test_a_name_given_twice_is_opened_twice_and_names_are_left_unchanged():
    opener = Opener()
    names = ["db", "db", " db"]
    before = list(names)
    seen: list = []
    await use_all(opener, names, seen=seen)
    check_names_unchanged(before, names)
    checks.equal(
        opener.calls,
        ["db", "db", " db"],
        "names ['db', 'db', ' db']: opener() calls",
        "Open every name as given, duplicates and spaces included.",
    )
    checks.equal(seen[0], ["<db>", "<db>", "< db>"], "names ['db', 'db', ' db']: the values")
    checks.equal(opener.closed(), [" db", "db", "db"], "names ['db', 'db', ' db']: closed")
    await use_all(Opener(), ("x", "y"))  # any sequence: a tuple too


@pytest.mark.task(3)
async def test_cancelled_while_opening_or_inside_closes_what_is_open():
    for when, cut in (("while opening the third", 2.5), ("inside the block", 4)):
        opener = Opener()
        task = asyncio.create_task(use_all(opener, ["a", "b", "c"], seconds=DAY))
        await asyncio.sleep(cut)
        task.cancel()
        await asyncio.wait([task], timeout=10)
        raise_unexpected(task)
        if not task.done() or not task.cancelled():
            fail(f"open_all() cancelled {when} did not end cancelled.")
        opened = ["a", "b"] if cut < 3 else ["a", "b", "c"]
        checks.equal(
            opener.closed(),
            opened[::-1],
            f"Cancelled {when}: resources closed",
            "Every resource already open must be closed, last first, even on cancellation.",
        )
        for e in opener.log:
            if e[0] == "close" and e[3] != "CancelledError":
                fail(
                    f"cancelled {when}, {e[1]!r} was closed with exc_type {e[3]!r}; expected "
                    "CancelledError."
                )


@pytest.mark.task(3)
async def test_two_open_alls_at_once_keep_their_own_resources():
    a, b = Opener(), Opener()
    seen: list = []
    await asyncio.gather(use_all(a, ["a1", "a2"], 3, seen=seen), use_all(b, ["b1"], 1, seen=seen))
    checks.equal(
        sorted(map(tuple, seen)),
        [("<a1>", "<a2>"), ("<b1>",)],
        "Two open_all() at once: the values",
        "Each call must have its own list of values: keep the stack (and list) inside each "
        "call, not at module level.",
    )
    checks.equal(
        (a.closed(), b.closed()),
        (["a2", "a1"], ["b1"]),
        "Two open_all() at once: what each closed",
        "Keep the stack (and list) inside each call, not at module level.",
    )


@pytest.mark.task(3)
async def test_two_open_alls_ending_at_different_times_close_each_when_its_own_block_ends():
    first, second = Opener(), Opener()
    ended: dict = {}

    async def use(opener, names, start, seconds, who):
        await asyncio.sleep(start)
        async with acm.open_all(opener, names):
            await asyncio.sleep(seconds)
            ended[who] = opener.since()

    cause = (
        "Likely: state shared between calls: an AsyncExitStack (or list of what to close) kept "
        "at module or class level, which the first block to end closes for every call. Make the "
        "stack inside each call."
    )
    # Both begin at once; the first's block ends at 3 s, the second's at 12.25 s.
    one = asyncio.create_task(use(first, ["a1", "a2"], 0, 1, "first"))
    two = asyncio.create_task(use(second, ["b1", "b2"], 0.25, 10, "second"))
    try:
        await checks.within(100, asyncio.wait([one]), "The first of two open_all() never ended.")
        raise_unexpected(one)
        early = [(e[1], e[2]) for e in second.log if e[0] == "close"]
        if early:
            fail(
                "two open_all() at once: the first's block ended at "
                f"{ended.get('first', 3):g} s and its open_all() was over at "
                f"{first.since():g} s; by then the second's resources had been closed too, "
                f"(name, when) {early!r}, though its block was still running (until 12.25 s). "
                f"{cause}"
            )
        await checks.within(100, asyncio.wait([two]), "The second of two open_all() never ended.")
        raise_unexpected(two)
        checks.equal(
            (first.log, second.log),
            (
                expected_log(["a1", "a2"], hold=1),
                expected_log(["b1", "b2"], at=0.25, hold=10),
            ),
            "Two open_all() at once, blocks ending at 3 s and 12.25 s: what each did when (each "
            "closed only when its own block ended)",
            lambda _: order_hint(first) or order_hint(second) or cause,
        )
    finally:
        await checks.settle(one, two)


@pytest.mark.task(3)
@pytest.mark.loop_limit(3 * DAY)
async def test_a_resource_held_for_a_day():
    opener = Opener()
    t0 = now()
    try:
        await use_all(opener, ["a"], seconds=DAY)
    except TimeoutError:
        fail(
            f"a day in the block: open_all() raised TimeoutError after {now() - t0:g} s, though "
            "nothing in the test has a time limit. Likely: a time limit of your own "
            "(asyncio.timeout() or wait_for() 'to be safe') around the stack or the block; a "
            "block may last as long as it takes."
        )
    checks.equal(
        opener.log, expected_log(["a"], hold=DAY), "A day in the block: what happened when"
    )


RESOURCES = st.lists(st.sampled_from(["a", "b", ""]), max_size=5)


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**6)
@scenarios.given(names=RESOURCES, data=st.data())
async def test_open_all_in_any_scenario(names, data):
    fails = data.draw(st.sampled_from([None, *sorted(set(names))]))
    close_fails = data.draw(st.sampled_from([None, *sorted(set(names))]))
    if fails is not None:
        close_fails = None
    body = data.draw(st.booleans())
    hold = data.draw(st.sampled_from([0, 1, 10_000]))
    scene = (
        f"names {names!r}, a {hold:g} s block"
        + (f", opening {fails!r} failing" if fails is not None else "")
        + (f", closing {close_fails!r} failing" if close_fails is not None else "")
        + (", the block raising" if body and fails is None else "")
    )
    scenarios.describe(scene)
    opener = Opener(
        fail_open={fails} if fails is not None else (),
        fail_close={close_fails} if close_fails is not None else (),
    )
    error = Boom("body") if body else None
    raised = None
    try:
        await use_all(opener, names, seconds=hold, error=error)
    except (OSError, Boom) as exc:
        if not (exc is error or any(exc is e for e in opener.errors.values())):
            if isinstance(exc, TimeoutError):
                fail(
                    f"{scene}: open_all() raised TimeoutError, though nothing in the test has a "
                    "time limit. Likely: a time limit of your own (asyncio.timeout() or "
                    "wait_for() 'to be safe'); a block may last as long as it takes."
                )
            raise
        raised = exc
    if raised is None and (fails is not None or body or close_fails is not None):
        fail(f"{scene}: open_all() raised nothing.")
    stop = names.index(fails) if fails is not None else len(names)
    expected = expected_log(
        names,
        open_fail=fails,
        body_error=Boom if body and fails is None else None,
        hold=hold,
        close_fail=close_fails,
    )
    checks.equal(
        opener.calls,
        names[: stop + 1] if fails is not None else names,
        f"{scene}: opener() calls",
        "Call opener(name) once per name, in order, and none after one fails to open.",
    )
    checks.equal(
        opener.log, expected, f"{scene}: what happened when", lambda _: order_hint(opener, expected)
    )
    if close_fails is not None and raised is not opener.errors[close_fails]:
        fail(
            f"{scene}: closing {close_fails!r} raised {opener.errors[close_fails]!r}; the caller "
            f"got {raised!r}. A close's error reaches the caller once all are closed."
        )
    if close_fails is None and fails is None and body and raised is not error:
        fail(f"{scene}: the block raised {error!r}; the caller got {raised!r}.")
