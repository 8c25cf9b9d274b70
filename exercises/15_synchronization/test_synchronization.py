"""Exercise 15 tests. Run them with `pytest exercises/15`."""

import asyncio
import heapq
import inspect
from collections.abc import Callable

import pytest
from hypothesis import example
from hypothesis import strategies as st

from aiokata import checks, exercise_module, scenarios
from aiokata.checks import fail, now, raise_unexpected

sync = exercise_module(__file__)

DAY = 86_400
LEDGER = 0.5  # what the fake ledger() takes to record a change
NOTIFY = 2  # what the fake notify() takes to send its letter
FETCH = 1  # what a fake fetch() takes, unless a test says otherwise
THIRD = 1 / 3  # a signal given at 5 1/3 s is missed by code that checks a flag every 0.1 s


async def settle(tasks, seconds: float) -> None:
    """Wait up to `seconds` of loop time for `tasks` to end, then cancel (and wait for) the
    ones still running, so that no test leaves a task behind."""
    tasks = list(tasks)
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=10)


async def finish(tasks, seconds: float, what: str) -> None:
    """Wait up to `seconds` for `tasks`, raise what they raised that the test did not cause,
    and fail if some never ended (after cancelling them)."""
    _, pending = await asyncio.wait(tasks, timeout=seconds)
    await settle(tasks, 0)
    raise_unexpected(*tasks)
    if pending:
        fail(
            f"{what}: {len(pending)} of the {len(tasks)} calls never ended (the test waited "
            f"{seconds:g} s of loop time). Likely: a deadlock: a lock or a place taken and "
            "never given back, or taken a second time by the task that already holds it (one "
            "method calling another that takes the same lock)."
        )


def how_it_ended(task) -> str:
    if not task.done():
        return "still waiting"
    if task.cancelled():
        return "cancelled"
    if task.exception() is not None:
        return f"raised {task.exception()!r}"
    return f"returned {task.result()!r}"


def leaves(group: BaseException) -> list[BaseException]:
    """The errors inside an exception group, however deeply nested."""
    if isinstance(group, BaseExceptionGroup):
        return [leaf for inner in group.exceptions for leaf in leaves(inner)]
    return [group]


class Boom(Exception):
    """The error a test's fake raises."""


class LedgerDown(Exception):
    """What the fake ledger() (or notify()) raises when a test makes it fail."""


def check_time_limit(exc: BaseException, what: str) -> None:
    """A TimeoutError nobody in the test asked for: a time limit of the learner's own."""
    if isinstance(exc, TimeoutError):
        fail(
            f"{what} raised TimeoutError, though nothing in the test has a time limit. Likely: "
            "a time limit of your own (asyncio.wait_for() or asyncio.timeout() 'to be safe'); "
            "wait as long as it takes."
        )


# Task 1: Account


class Bank:
    """The fakes an Account is given. ledger(old, new) takes LEDGER s (or the time given for
    that call, or until its gate opens) and notify(balance) NOTIFY s. Both record every call,
    in loop time from when the Bank was made, with the account's balance when each began and
    ended, and how many ledger calls ran at once."""

    def __init__(
        self,
        ledger_time: float = LEDGER,
        notify_time: float = NOTIFY,
        fail_ledger=(),
        fail_notify=(),
        gates=None,
        times=None,
    ) -> None:
        self.t0 = now()
        self.account = None
        self.ledger_time, self.notify_time = ledger_time, notify_time
        self.fail_ledger = set(fail_ledger)  # numbers of the ledger calls that raise (0 first)
        self.fail_notify = set(fail_notify)  # numbers of the notify calls that raise
        self.gates = gates or {}  # ledger call number -> an asyncio.Event it waits for too
        self.times = times or {}  # ledger call number -> how long it takes
        self.errors: dict = {}  # ("ledger" or "notify", number) -> the error it raised
        self.ledger_calls: list[dict] = []
        self.notify_calls: list[dict] = []
        self.recording = 0
        self.most_recording = 0

    def open(self, balance: int = 0):
        self.account = sync.Account(self.ledger, self.notify, balance)
        return self.account

    def since(self) -> float:
        return round(now() - self.t0, 6)

    def balance(self):
        return getattr(self.account, "balance", None)

    def ledger(self, old, new):
        call = {"old": old, "new": new, "began": None, "seen": None, "ended": None, "how": None}
        self.ledger_calls.append(call)
        return self.ledger_record(len(self.ledger_calls) - 1, call)

    async def ledger_record(self, n: int, call: dict) -> None:
        call["began"], call["seen"] = self.since(), self.balance()
        self.recording += 1
        self.most_recording = max(self.most_recording, self.recording)
        try:
            await asyncio.sleep(self.times.get(n, self.ledger_time))
            if n in self.gates:
                await self.gates[n].wait()
            if n in self.fail_ledger:
                raise self.errors.setdefault(("ledger", n), LedgerDown(f"ledger call {n} failed"))
        except BaseException as exc:
            call["ended"], call["how"] = self.since(), type(exc).__name__
            raise
        finally:
            self.recording -= 1
        call["ended"], call["how"], call["seen_after"] = self.since(), "ok", self.balance()

    def notify(self, balance):
        call = {"balance": balance, "began": None, "seen": None, "ended": None}
        self.notify_calls.append(call)
        return self.notify_customer(len(self.notify_calls) - 1, call)

    async def notify_customer(self, n: int, call: dict) -> None:
        call["began"], call["seen"] = self.since(), self.balance()
        await asyncio.sleep(self.notify_time)
        if n in self.fail_notify:
            raise self.errors.setdefault(("notify", n), LedgerDown(f"letter {n} was lost"))
        call["ended"] = self.since()

    def records(self) -> list[tuple]:
        return [(c["old"], c["new"]) for c in self.ledger_calls]

    def notified(self) -> list:
        return [c["balance"] for c in self.notify_calls]


def lost_update_hint(bank: Bank) -> str:
    """What the ledger calls show when changes made at once were not made one at a time."""
    olds = [c["old"] for c in bank.ledger_calls if c["new"] != c["old"]]  # changes of 0 aside
    repeated = sorted({o for o in olds if olds.count(o) > 1}, key=olds.index)
    if bank.most_recording > 1 or repeated:
        seen = (
            f" Several changes started from the same balance ({repeated[0]!r}): each read it "
            "before an earlier one had written its own, and the last write overwrote the others "
            "(a lost update)."
            if repeated
            else ""
        )
        if bank.most_recording == 1:
            return (
                f"The ledger was asked to record {bank.records()}, one record at a time.{seen} "
                "So the records waited for each other, but the balance was read before the "
                "wait. Likely: the balance read (or the new one worked out) before taking the "
                "lock; read it inside `async with self.lock:`, and hold the lock from reading "
                "the balance to writing it."
            )
        return (
            f"The ledger was asked to record {bank.records()}, and {bank.most_recording} "
            f"records ran at the same time.{seen} Likely: no lock around the read, the "
            "`await ledger(...)` and the write, or a new asyncio.Lock made inside the method "
            "(each call then has its own and nothing waits), or deposit() and withdraw() with a "
            "lock each. Make one Lock in __init__, for both, and hold it from reading the "
            "balance to writing it."
        )
    return ""


def check_a_record(bank: Bank, n: int, old, new, what: str) -> None:
    if len(bank.ledger_calls) <= n:
        fail(
            f"{what}: ledger() was called {checks.count(len(bank.ledger_calls), 'time')}; "
            f"expected a call recording ({old!r}, {new!r}). Record every change with "
            "`await ledger(old, new)` before making it"
            + (": every change is recorded, even of 0." if old == new else ".")
        )
    call = bank.ledger_calls[n]
    if call["began"] is None:
        fail(
            f"{what}: ledger({call['old']!r}, {call['new']!r}) was called but never awaited, "
            "so nothing was recorded. Write `await self.ledger(old, new)`."
        )
    checks.equal(
        (call["old"], call["new"]),
        (old, new),
        f"{what}: ledger(old, new) was given",
        "ledger() gets the balance before the change and the balance after it.",
    )
    if call["seen"] != old:
        fail(
            f"{what}: when ledger({old!r}, {new!r}) began, the balance was already "
            f"{call['seen']!r}. Record first, then change: the balance becomes {new!r} only "
            "once `await ledger(...)` has returned."
        )
    if call.get("seen_after", old) != old:
        fail(
            f"{what}: while ledger({old!r}, {new!r}) was recording, the balance changed to "
            f"{call['seen_after']!r}: change it only once `await ledger(...)` has returned."
        )


def check_a_notify(bank: Bank, n: int, balance, what: str) -> None:
    if len(bank.notify_calls) <= n:
        fail(
            f"{what}: notify() was called {checks.count(len(bank.notify_calls), 'time')}; "
            f"expected notify({balance!r}) once the balance had changed. Tell the customer with "
            "`await notify(new)`."
        )
    call = bank.notify_calls[n]
    if call["began"] is None:
        fail(f"{what}: notify({call['balance']!r}) was called but never awaited: await it.")
    checks.equal(call["balance"], balance, f"{what}: notify() was given", "Notify the new balance.")
    if call["seen"] != balance:
        fail(
            f"{what}: notify({balance!r}) began while the balance was still {call['seen']!r}: "
            "notify only once the balance has changed."
        )


def check_an_int(got, what: str, expected) -> None:
    checks.not_coroutine(got, what)
    if got is None:
        fail(f"{what} was None; expected {expected!r}, the new balance: return it.")
    if type(got) is not int:
        fail(f"{what} was {got!r}, a {type(got).__name__}; expected the int {expected!r}.")
    checks.equal(got, expected, what, "Return the balance this change made.")


@pytest.mark.task(1)
async def test_a_deposit_is_recorded_before_the_balance_changes_and_notified_after(looptime):
    checks.equal(Bank().open().balance, 0, "Account(ledger, notify).balance", "It starts at 0.")
    bank = Bank()
    account = bank.open(100)
    checks.equal(account.balance, 100, "Account(ledger, notify, 100).balance", "Keep it as given.")
    got = await account.deposit(25)
    check_a_record(bank, 0, 100, 125, "A deposit of 25 into 100")
    check_a_notify(bank, 0, 125, "A deposit of 25 into 100")
    check_an_int(got, "What deposit(25) into 100 returned", 125)
    checks.equal(account.balance, 125, "After a deposit of 25 into 100, the balance")
    checks.took(
        looptime,
        LEDGER + NOTIFY,
        "A deposit: its record, then its letter",
        {LEDGER: "notify() was not awaited before deposit() returned."},
    )
    got = await account.withdraw(25)
    check_a_record(bank, 1, 125, 100, "A withdrawal of 25 from 125")
    check_a_notify(bank, 1, 100, "A withdrawal of 25 from 125")
    check_an_int(got, "What withdraw(25) from 125 returned", 100)
    checks.equal(account.balance, 100, "After a withdrawal of 25 from 125, the balance")
    checks.equal(
        (len(bank.ledger_calls), len(bank.notify_calls)),
        (2, 2),
        "A deposit and a withdrawal: (ledger calls, notify calls)",
    )
    checks.took(looptime, 2 * (LEDGER + NOTIFY), "A deposit and a withdrawal, one after the other")


@pytest.mark.task(1)
async def test_deposits_made_at_once_are_all_kept():
    bank = Bank()
    account = bank.open(0)
    tasks = [asyncio.create_task(account.deposit(10)) for _ in range(5)]
    await finish(tasks, 100, "Five deposits of 10 made at once")
    if account.balance != 50 or bank.most_recording > 1:
        fail(
            f"five deposits of 10 made at once into 0 left the balance at {account.balance!r}; "
            f"expected 50. {lost_update_hint(bank)}"
        )
    checks.equal(
        bank.records(),
        [(0, 10), (10, 20), (20, 30), (30, 40), (40, 50)],
        "Five deposits of 10 at once: what the ledger recorded",
        "Make the changes one at a time, in the order they were asked.",
    )
    checks.equal(
        [t.result() for t in tasks],
        [10, 20, 30, 40, 50],
        "Five deposits of 10 at once: what each returned, in the order asked",
        "Each returns the balance it made itself (not the balance read later, after another "
        "deposit has changed it).",
    )
    checks.equal(bank.notified(), [10, 20, 30, 40, 50], "Five deposits at once: the letters")


@pytest.mark.task(1)
async def test_the_lock_is_held_only_while_the_balance_changes(looptime):
    bank = Bank()
    account = bank.open(0)
    tasks = [asyncio.create_task(account.deposit(10)), asyncio.create_task(account.deposit(20))]
    await finish(tasks, 100, "Two deposits made at once")
    began = [c["began"] for c in bank.ledger_calls]
    if began == [0, LEDGER + NOTIFY]:
        fail(
            f"two deposits asked at once: the second one's ledger() began at {began[1]:g} s, "
            f"only once the first deposit's letter (notify(), {NOTIFY:g} s) had been sent; "
            f"expected it at {LEDGER:g} s, when the first one's record was done. The lock was "
            "held while notifying: notify() has nothing to do with the balance, so release the "
            "lock first (await notify() after the `async with` block)."
        )
    if bank.most_recording > 1:
        fail(f"two deposits at once recorded at the same time. {lost_update_hint(bank)}")
    checks.equal(
        began,
        [0, LEDGER],
        "Two deposits asked at once: when each ledger() call began",
        "The second change waits for the first one's record and write, and no longer.",
    )
    checks.equal(
        [(c["balance"], c["began"]) for c in bank.notify_calls],
        [(10, LEDGER), (30, 2 * LEDGER)],
        "Two deposits asked at once: (balance notified, when notify() began)",
        "Notify each change as soon as it is made, outside the lock.",
    )
    checks.took(
        looptime,
        2 * LEDGER + NOTIFY,
        "Two deposits asked at once",
        {2 * (LEDGER + NOTIFY): "The lock was held while notifying: release it first."},
    )


async def attempt(coro):
    """("returned", value) or ("raised", the Overdrawn/LedgerDown/TimeoutError raised)."""
    try:
        return ("returned", await coro)
    except (sync.Overdrawn, LedgerDown, TimeoutError) as exc:
        return ("raised", exc)


def overdrawn(outcome) -> bool:
    return outcome[0] == "raised" and isinstance(outcome[1], sync.Overdrawn)


async def withdraw_from(balance: int, amount: int):
    bank = Bank()
    account = bank.open(balance)
    t = now()
    try:
        outcome = ("returned", await account.withdraw(amount))
    except NotImplementedError:
        raise
    except Exception as exc:  # Overdrawn, or another error the test names
        outcome = ("raised", exc)
    return bank, account, outcome, round(now() - t, 6)


@pytest.mark.task(1)
async def test_a_withdrawal_larger_than_the_balance_is_refused():
    bank, account, outcome, took = await withdraw_from(50, 80)
    what = "withdraw(80) from a balance of 50"
    if not overdrawn(outcome):
        kind, value = outcome
        fail(
            f"{what} {kind} {value!r} (the balance is now {account.balance!r}); expected it to "
            "raise Overdrawn (the class in synchronization.py)."
            + (
                f" The withdrawal was refused, but with a {type(value).__name__}: raise "
                "Overdrawn itself (`raise Overdrawn(...)`)."
                if kind == "raised" and isinstance(value, Exception) and account.balance == 50
                else " Check the balance before the change, inside the lock, and refuse a "
                "withdrawal larger than it with `raise Overdrawn(...)`."
            )
        )
    if bank.ledger_calls or bank.notify_calls:
        fail(
            f"{what} was refused, yet ledger() recorded {bank.records()} and notify() sent "
            f"{bank.notified()}: a refused withdrawal changes nothing, so there is nothing to "
            "record or tell. Check first, then record."
        )
    checks.equal(account.balance, 50, f"After {what} was refused, the balance")
    checks.took(took, 0, f"Refusing {what}")

    for start, amount, left in ((50, 50, 0), (0, 0, 0)):
        bank, account, outcome, _ = await withdraw_from(start, amount)
        what = f"withdraw({amount}) from a balance of {start}"
        if overdrawn(outcome):
            fail(
                f"{what} raised Overdrawn; expected it to leave {left}: taking out exactly the "
                "balance is allowed. Likely: `>=` where `>` is meant (refuse only when the "
                "amount is more than the balance)"
                + (
                    ", or `if not self.balance:` (a balance of 0 is a balance too)."
                    if not start
                    else "."
                )
            )
        check_an_int(
            outcome[1] if outcome[0] == "returned" else None, f"What {what} returned", left
        )
        check_a_record(bank, 0, start, left, what.capitalize())
        check_a_notify(bank, 0, left, what.capitalize())

    bank = Bank()
    account = bank.open(0)
    got = await account.deposit(0)
    check_a_record(bank, 0, 0, 0, "A deposit of 0 (every change is recorded, even of 0)")
    check_a_notify(bank, 0, 0, "A deposit of 0")
    check_an_int(got, "What deposit(0) into 0 returned", 0)
    bank, account, outcome, _ = await withdraw_from(0, 1)
    if not overdrawn(outcome):
        fail(f"withdraw(1) from a balance of 0 {outcome[0]} {outcome[1]!r}; expected Overdrawn.")


@pytest.mark.task(1)
async def test_two_withdrawals_at_once_cannot_overdraw():
    bank = Bank()
    account = bank.open(100)
    tasks = [asyncio.create_task(attempt(account.withdraw(70))) for _ in range(2)]
    await finish(tasks, 100, "Two withdrawals of 70 made at once")
    first, second = (t.result() for t in tasks)
    what = "Two withdrawals of 70 asked at once from a balance of 100"
    if first[0] == second[0] == "returned":
        records = bank.records()
        if bank.most_recording > 1 or [old for old, _ in records].count(100) > 1:
            fail(
                f"{what}: both were allowed, and the balance is now {account.balance!r}. "
                + lost_update_hint(bank)
            )
        fail(
            f"{what}: both were allowed, and the balance is now {account.balance!r}. The ledger "
            f"recorded {records}: when the second one's turn came, only 30 was left, yet it "
            "went through, so it was checked against a balance read before the first "
            "withdrawal had changed it. Likely: the balance is checked before the lock is taken "
            "(check-then-act across an await): check it inside the lock, just before the change."
        )
    checks.equal(
        [o[1] if o[0] == "returned" else type(o[1]).__name__ for o in (first, second)],
        [30, "Overdrawn"],
        f"{what}: what each gave, in the order asked",
        "The first leaves 30; the second, whose turn comes after it, must be refused.",
    )
    checks.equal(account.balance, 30, f"{what}: the balance afterwards")
    checks.equal(bank.records(), [(100, 30)], f"{what}: what the ledger recorded")


@pytest.mark.task(1)
async def test_deposits_and_withdrawals_take_turns():
    bank = Bank()
    account = bank.open(0)
    refused_at: list = []

    async def withdrawal_of(amount: int):
        outcome = await attempt(account.withdraw(amount))
        refused_at.append(bank.since())
        return outcome

    tasks = [
        asyncio.create_task(attempt(account.deposit(50))),
        asyncio.create_task(withdrawal_of(50)),
    ]
    await finish(tasks, 100, "A deposit and a withdrawal made at once")
    deposit, withdrawal = (t.result() for t in tasks)
    what = "A deposit of 50 into 0 and a withdrawal of 50 asked right after it, at once"
    if overdrawn(withdrawal) and deposit[0] == "returned":
        recorded = bank.ledger_calls[0]["ended"] if bank.ledger_calls else None
        fail(
            f"{what}: the withdrawal raised Overdrawn at {refused_at[0]:g} s, though the deposit "
            "asked before it made 50"
            + (f" (its record was done at {recorded:g} s)" if recorded is not None else "")
            + ": the withdrawal did not wait for its turn. Likely: the balance is checked before "
            "the lock is taken, or deposit() and withdraw() each have their own lock (or one of "
            "them none). One Lock per account guards both, and the check goes inside it."
            + ("" if bank.most_recording < 2 else f" {lost_update_hint(bank)}")
        )
    checks.equal(
        [deposit[1], withdrawal[1]]
        if deposit[0] == withdrawal[0] == "returned"
        else [deposit, withdrawal],
        [50, 0],
        f"{what}: what each returned",
    )
    bank = Bank()
    account = bank.open(100)
    tasks = [asyncio.create_task(account.deposit(10)), asyncio.create_task(account.withdraw(30))]
    await finish(tasks, 100, "A deposit and a withdrawal made at once")
    what = "A deposit of 10 and a withdrawal of 30 asked at once from 100"
    if bank.most_recording > 1 or account.balance != 80:
        fail(
            f"{what} left the balance at {account.balance!r}; expected 80. The ledger recorded "
            f"{bank.records()}, {bank.most_recording} at the same time: the deposit and the "
            "withdrawal changed the balance at once. Likely: deposit() and withdraw() each have "
            "their own lock (or one of them none): one Lock per account guards both."
        )
    checks.equal(bank.records(), [(100, 110), (110, 80)], f"{what}: what the ledger recorded")
    checks.equal([t.result() for t in tasks], [110, 80], f"{what}: what each returned")


@pytest.mark.task(1)
async def test_two_accounts_never_wait_for_each_other():
    gate = asyncio.Event()  # the test holds account A's first record open
    bank_a, bank_b = Bank(gates={0: gate}), Bank()
    a, b = bank_a.open(0), bank_b.open(0)
    held = asyncio.create_task(a.deposit(10))
    try:
        await asyncio.sleep(0)  # A's deposit holds A's lock, recording
        raise_unexpected(held)
        got = await checks.within(
            10,
            b.deposit(5),
            "While a deposit on account A was being recorded (the test kept its ledger() "
            "waiting), a deposit on account B never ended: the two accounts wait for each "
            "other. Likely: one Lock for every account, made at module level or as a class "
            "attribute; make it in __init__, one for each account.",
        )
        check_an_int(got, "What account B's deposit of 5 returned", 5)
        gate.set()
        got = await checks.within(10, held, "Account A's deposit never ended.")
        check_an_int(got, "What account A's deposit of 10 returned", 10)
    finally:
        gate.set()
        await settle([held], 10)
    checks.equal((a.balance, b.balance), (10, 5), "Two accounts: (A's balance, B's balance)")
    checks.equal((bank_a.records(), bank_b.records()), ([(0, 10)], [(0, 5)]), "Their ledgers")


@pytest.mark.task(1)
@pytest.mark.parametrize("how", ["deposit", "withdraw"])
async def test_a_failed_record_changes_nothing_and_the_account_goes_on(how):
    bank = Bank(fail_ledger={0})
    account = bank.open(100)
    change = getattr(account, how)
    what = f"{how}(30) from 100, whose ledger() raised"
    try:
        got = await checks.within(10, change(30), f"A {what} never ended.")
    except LedgerDown as exc:
        if exc is not bank.errors[("ledger", 0)]:
            fail(f"{what}: the caller got another error, {exc!r}; let the ledger's go on.")
    else:
        fail(
            f"{what} returned {got!r}: the ledger's error {bank.errors.get(('ledger', 0))!r} "
            "must reach the caller (the change was not recorded, so it is not made)."
        )
    if account.balance != 100:
        fail(
            f"after {what}, the balance is {account.balance!r}; expected it unchanged, 100. "
            "Change the balance only once `await ledger(...)` has returned (record first, then "
            "change)."
        )
    if bank.notify_calls:
        fail(f"after {what}, notify() was called with {bank.notified()}: nothing changed.")
    got = await checks.within(
        10,
        account.deposit(5),
        f"After {what}, the next deposit never ended: the account's lock was never released. "
        "Likely: lock.acquire() and lock.release() without try/finally (a raising ledger() "
        "skips the release); use `async with self.lock:`.",
    )
    check_an_int(got, f"After {what}, what deposit(5) returned", 105)


@pytest.mark.task(1)
@pytest.mark.parametrize("how", ["deposit", "withdraw"])
async def test_a_change_cancelled_while_recording_leaves_the_balance_and_frees_the_account(how):
    gate = asyncio.Event()  # never set: the first record only ends by being cancelled
    bank = Bank(gates={0: gate})
    account = bank.open(100)
    first = asyncio.create_task(getattr(account, how)(30))
    second = asyncio.create_task(account.deposit(5))  # waits for the first
    third = asyncio.create_task(account.deposit(7))  # waits too, and is cancelled while waiting
    tasks = [first, second, third]
    try:
        await asyncio.sleep(1)
        raise_unexpected(*tasks)
        first.cancel()
        third.cancel()
        await asyncio.wait(tasks, timeout=10)
        raise_unexpected(*tasks)
        if not second.done():
            fail(
                f"{how}(30) was cancelled while ledger() recorded it, and the deposit waiting "
                "behind it never ended: the account's lock was never released. Likely: "
                f"{how}() frees it with lock.acquire() and lock.release() without try/finally "
                "(or in an `except Exception:`: a CancelledError is a BaseException); use "
                "`async with self.lock:`."
            )
    finally:
        await settle(tasks, 0)
    for name, task in (("while recording", first), ("while waiting for its turn", third)):
        if not task.cancelled():
            fail(f"a change cancelled {name} {how_it_ended(task)}; expected it to end cancelled.")
    checks.equal(
        bank.records(),
        [(100, 70 if how == "withdraw" else 130), (100, 105)],
        f"{how}(30) cancelled while recording, then a deposit of 5 (and one of 7 cancelled "
        "while waiting): what the ledger was asked to record",
        "A change cancelled while waiting for its turn never happens; the next one starts "
        "from the balance the cancelled one left unchanged.",
    )
    checks.equal(
        account.balance, 105, "The balance afterwards", "The cancelled change is not made."
    )
    checks.equal(bank.notified(), [105], "The letters sent", "Only the change that was made.")


@pytest.mark.task(1)
async def test_a_failed_notify_reaches_the_caller_and_the_change_stands():
    bank = Bank(fail_notify={0})
    account = bank.open(0)
    try:
        got = await account.deposit(10)
    except LedgerDown as exc:
        if exc is not bank.errors[("notify", 0)]:
            fail(f"notify() raised {bank.errors[('notify', 0)]!r}; the caller got {exc!r}.")
    else:
        fail(
            f"notify() raised {bank.errors.get(('notify', 0))!r}, but deposit(10) returned "
            f"{got!r}: the error must reach the caller (do not catch it)."
        )
    checks.equal(
        account.balance,
        10,
        "After a deposit whose letter failed, the balance",
        "The change was recorded and made: it stands.",
    )
    got = await checks.within(
        10, account.deposit(5), "After a failed notify(), the next deposit never ended."
    )
    check_an_int(got, "After a failed notify(), what deposit(5) returned", 15)
    checks.equal(bank.records(), [(0, 10), (10, 15)], "What the ledger recorded")


@pytest.mark.task(1)
@pytest.mark.loop_limit(3 * DAY)
async def test_a_record_that_takes_a_day_holds_the_next_change_a_day():
    bank = Bank(times={0: DAY})
    account = bank.open(0)
    tasks = [asyncio.create_task(attempt(account.deposit(10))) for _ in range(2)]
    await finish(tasks, 2 * DAY, "Two deposits, the first one's record taking a day")
    for t in tasks:
        if t.done() and not t.cancelled() and t.result()[0] == "raised":
            check_time_limit(t.result()[1], "A deposit waiting behind a day-long record")
    checks.equal(
        [c["began"] for c in bank.ledger_calls],
        [0, DAY],
        "Two deposits at once, the first one's record taking a day: when each record began",
    )
    checks.equal(
        [t.result() for t in tasks],
        [("returned", 10), ("returned", 20)],
        "Two deposits of 10 at once, the first one's record taking a day: what each gave",
    )
    checks.equal(
        [c["ended"] for c in bank.notify_calls],
        [DAY + NOTIFY, DAY + LEDGER + NOTIFY],
        "Two deposits at once, the first one's record taking a day: when each letter was sent",
    )


def account_oracle(balance: int, ops, ledger_time: float, notify_time: float):
    """The changes made one at a time in the order asked: each one's outcome and when it
    returned, the ledger records (old, new, began), the numbers of the failing records, the
    letters (balance, began) and the balance at the end."""
    t = 0.0
    outcomes, records, failing, letters = [], [], set(), []
    for kind, amount, bad in ops:
        if kind == "withdraw" and amount > balance:
            outcomes.append(("Overdrawn", t))
            continue
        new = balance + amount if kind == "deposit" else balance - amount
        records.append((balance, new, t))
        t += ledger_time
        if bad:
            failing.add(len(records) - 1)
            outcomes.append(("ledger error", t))
            continue
        balance = new
        letters.append((new, t))
        outcomes.append((new, round(t + notify_time, 6)))
    return outcomes, records, failing, letters, balance


OPS = st.lists(
    st.tuples(
        st.sampled_from(["deposit", "withdraw"]),
        st.sampled_from([0, 10, 30, 100]),
        st.sampled_from([False, False, True]),
    ),
    min_size=1,
    max_size=5,
)


@pytest.mark.task(1)
@pytest.mark.loop_limit(10**6)
@scenarios.given(
    start=st.sampled_from([0, 50]),
    ops=OPS,
    ledger_time=st.sampled_from([0, LEDGER]),
    notify_time=st.sampled_from([0, NOTIFY, 10_000]),
)
async def test_account_in_any_scenario(start, ops, ledger_time, notify_time):
    asked = [
        f"{kind}({amount})" + (" (its record failing)" if bad else "") for kind, amount, bad in ops
    ]
    scene = (
        f"From a balance of {start}, {', '.join(asked)} asked at once (records taking "
        f"{ledger_time:g} s, letters {notify_time:g} s)"
    )
    scenarios.describe(scene)
    outcomes, records, failing, letters, balance = account_oracle(
        start, ops, ledger_time, notify_time
    )
    bank = Bank(ledger_time=ledger_time, notify_time=notify_time, fail_ledger=failing)
    account = bank.open(start)

    async def one(kind: str, amount: int):
        outcome = await attempt(getattr(account, kind)(amount))
        return outcome, bank.since()

    tasks = [asyncio.create_task(one(kind, amount)) for kind, amount, _ in ops]
    await settle(tasks, 10**5)
    raise_unexpected(*tasks)
    got = []
    for task in tasks:
        if not task.done() or task.cancelled():
            got.append("never ended")
            continue
        (kind, value), at = task.result()
        if kind == "raised":
            check_time_limit(value, scene)
            value = "Overdrawn" if isinstance(value, sync.Overdrawn) else "ledger error"
        got.append((value, at))
    if bank.most_recording > 1:
        fail(f"{scene}: records ran at the same time. {lost_update_hint(bank)}")
    checks.equal(
        [g[0] if isinstance(g, tuple) else g for g in got],
        [o[0] for o in outcomes],
        f"{scene}: what each gave, in the order asked (a new balance, Overdrawn or the "
        "ledger's error)",
        "Make the changes one at a time, in the order asked, each checked against the balance "
        "the ones before it left.",
    )

    def records_hint() -> str:
        refused = sum(o[0] == "Overdrawn" for o in outcomes)
        if refused and len(bank.ledger_calls) > len(records):
            return (
                f"ledger() was called {checks.count(len(bank.ledger_calls), 'time')}, for "
                f"{checks.count(len(records), 'change')} made and "
                f"{checks.count(refused, 'withdrawal')} refused (Overdrawn): a refused "
                "withdrawal is not recorded. Likely: the record made before the balance is "
                "checked; check first, then record."
            )
        return "Each change waits for the one before it to be recorded and made, and no longer."

    checks.equal(
        [(c["old"], c["new"], c["began"]) for c in bank.ledger_calls],
        records,
        f"{scene}: the ledger records (old, new, when each began)",
        lambda _: lost_update_hint(bank) or records_hint(),
    )
    checks.equal(
        [(c["balance"], c["began"]) for c in bank.notify_calls],
        letters,
        f"{scene}: the letters (balance, when each began)",
        "Notify each change once it is made, outside the lock.",
    )
    checks.equal(
        got,
        outcomes,
        f"{scene}: (what each gave, when it returned)",
        "Hold the lock only from reading the balance to writing it: a refused withdrawal takes "
        "no time, and a letter keeps no one else waiting.",
    )
    checks.equal(account.balance, balance, f"{scene}: the balance at the end")


# Task 2: StartSignal and race()


async def waiter(signal, log: list, name) -> None:
    await signal.wait()
    log.append((name, now()))


def give(signal, what: str = "signal.give()") -> None:
    result = signal.give()
    if inspect.iscoroutine(result):
        result.close()
        fail(
            f"{what} gave a coroutine, so calling it did nothing: give() must be a plain method "
            "(`def give(self)`, not `async def`), which code without `await` can call."
        )


async def start_waiters(signal, log: list, names) -> list:
    tasks = []
    for name in names:
        tasks.append(asyncio.create_task(waiter(signal, log, name)))
        await asyncio.sleep(1)
    return tasks


@pytest.mark.task(2)
async def test_every_waiter_goes_on_the_moment_the_signal_is_given():
    signal = sync.StartSignal()
    given = signal.is_given()
    if given is not False:
        fail(f"a new StartSignal's is_given() gave {given!r}; expected False.")
    log: list = []
    tasks = await start_waiters(signal, log, ["A", "B", "C"])  # waiting since 0, 1 and 2 s
    try:
        await asyncio.sleep(2 + THIRD)
        at = now()  # 5 1/3 s
        raise_unexpected(*tasks)
        if log:
            at_once = sorted(log) == [("A", 0.0), ("B", 1.0), ("C", 2.0)][: len(log)]
            fail(
                f"before the signal was given, waiters went on: {log} (name, when)"
                + (
                    ", each the moment it called wait() (A at 0 s, B at 1 s, C at 2 s): wait() "
                    "returned without waiting. Likely: it checks something that is always "
                    "true, such as `if self.event:` (an Event object is always truthy; ask "
                    "`self.event.is_set()`), or it never awaits the Event (`await "
                    "self.event.wait()`)."
                    if at_once
                    else "."
                )
            )
        give(signal)
        await asyncio.sleep(1)
        raise_unexpected(*tasks)
        checks.equal(
            sorted(log),
            [("A", at), ("B", at), ("C", at)],
            f"Three waiters (since 0, 1 and 2 s), the signal given at {at} s: (who went on, when)",
            lambda got: (
                "Some went on later than the signal: wait on the Event itself (`await "
                "event.wait()`) rather than checking a flag every so often."
                if got and all(t > at for _, t in got)
                else "No waiter went on: give() must set the very Event the waiters wait on (one "
                "made in __init__; a new Event made in give() is one nobody waits on)."
                if not got
                else "Every waiter goes on at the moment the signal is given."
            ),
        )
    finally:
        await settle(tasks, 0)
    given = signal.is_given()
    if given is not True:
        fail(
            f"after give(), is_given() gave {given!r}; expected True, as the signal stays given "
            "(and the waiters did go on). Likely: give() clears the Event right after setting "
            "it (set() then clear()), or is_given() asks something other than the Event "
            "(`return self.event.is_set()`)."
        )


@pytest.mark.task(2)
async def test_a_wait_after_the_signal_returns_at_once():
    signal = sync.StartSignal()
    log: list = []
    tasks = await start_waiters(signal, log, ["early"])
    try:
        give(signal)
        await asyncio.sleep(1)
        t = now()
        await checks.within(
            10,
            signal.wait(),
            "A wait() begun 1 s after give() never returned"
            + (" (the waiter that was already waiting did go on)" if log else "")
            + ": the signal must stay given. Likely: each wait() makes its own asyncio.Event, "
            "so give() only reached the ones made before it and a later waiter waits on an "
            "Event nobody sets, or give() clears the Event right after setting it. Keep one "
            "Event, made in __init__; set it in give() and never clear it.",
        )
        checks.took(now() - t, 0, "A wait() begun after the signal was given")
        checks.equal(log, [("early", 1.0)], "The waiter that was waiting when the signal came")
    finally:
        await settle(tasks, 0)


@pytest.mark.task(2)
async def test_giving_the_signal_twice_changes_nothing():
    signal = sync.StartSignal()
    log: list = []
    tasks = await start_waiters(signal, log, ["A"])
    try:
        give(signal)
        try:
            give(signal, "signal.give() a second time")
        except Exception as exc:
            fail(
                f"giving the signal a second time raised {exc!r}; expected it to change nothing. "
                "Likely: a Future whose result is set twice; an asyncio.Event may be set again."
            )
        await asyncio.sleep(0)
        await checks.within(
            10, signal.wait(), "After giving the signal twice, wait() never returned."
        )
        if signal.is_given() is not True:
            fail("after giving the signal twice, is_given() is not True.")
        await asyncio.sleep(1)
        checks.equal(log, [("A", 1.0)], "Giving the signal twice: the waiter went on (once)")
    finally:
        await settle(tasks, 0)


@pytest.mark.task(2)
async def test_two_signals_set_off_only_their_own_waiters():
    first, second = sync.StartSignal(), sync.StartSignal()
    log: list = []
    tasks = await start_waiters(first, log, ["first's"])
    tasks += await start_waiters(second, log, ["second's"])
    try:
        give(first)
        await asyncio.sleep(1)
        raise_unexpected(*tasks)
        checks.equal(
            log,
            [("first's", 2.0)],
            "Two signals, the first given at 2 s: (who went on, when)",
            "Each StartSignal has its own Event: one at module level or on the class is "
            "shared by every signal, so giving one gives them all.",
        )
        if second.is_given() is not False:
            fail(
                "giving the first of two signals made the second one's is_given() true: each "
                "StartSignal keeps its own Event (made in __init__)."
            )
        give(second)
        await asyncio.sleep(1)
        checks.equal(log, [("first's", 2.0), ("second's", 3.0)], "Then the second, at 3 s")
    finally:
        await settle(tasks, 0)


@pytest.mark.task(2)
async def test_a_cancelled_waiter_leaves_the_others_waiting():
    signal = sync.StartSignal()
    log: list = []
    tasks = await start_waiters(signal, log, ["A", "B", "C"])
    try:
        tasks[1].cancel()
        await asyncio.sleep(1)
        raise_unexpected(*tasks)
        if not tasks[1].cancelled():
            fail(f"a waiter cancelled while waiting {how_it_ended(tasks[1])}; expected cancelled.")
        if log:
            fail(f"cancelling one waiter set others off before the signal: {log}.")
        try:
            give(signal)
        except Exception as exc:
            fail(
                f"with one of three waiters cancelled, give() raised {exc!r}. Likely: a Future "
                "per waiter, and give() sets the result of the one that was cancelled; share "
                "one asyncio.Event, which cancelled waiters simply leave."
            )
        await asyncio.sleep(1)
        raise_unexpected(*tasks)
        others = [tasks[0], tasks[2]]

        def cancelled_hint(got) -> str:
            if all(t.cancelled() for t in others):
                return (
                    "Cancelling B cancelled A and C too: they ended cancelled, though only B "
                    "was. Likely: the waiters await one shared Future directly, and cancelling "
                    "one await of a Future cancels the Future itself, for every waiter; await "
                    "asyncio.shield(future), or share one asyncio.Event (a cancelled wait() "
                    "leaves the others waiting)."
                )
            ended = [f"{n} {how_it_ended(t)}" for n, t in zip("AC", others, strict=True)]
            return f"A cancelled waiter leaves the others waiting ({', '.join(ended)})."

        checks.equal(
            sorted(log),
            [("A", 4.0), ("C", 4.0)],
            "Three waiters, B cancelled, the signal given at 4 s: (who went on, when)",
            cancelled_hint,
        )
    finally:
        await settle(tasks, 0)


@pytest.mark.task(2)
@pytest.mark.loop_limit(3 * DAY)
async def test_a_signal_given_a_day_later_still_sets_the_waiters_off():
    signal = sync.StartSignal()
    log: list = []
    tasks = await start_waiters(signal, log, ["A"])
    try:
        await asyncio.sleep(DAY - 1)
        if tasks[0].done() and not tasks[0].cancelled() and tasks[0].exception() is not None:
            check_time_limit(tasks[0].exception(), "A wait() for a signal given a day later")
        raise_unexpected(*tasks)
        give(signal)
        await asyncio.sleep(1)
        raise_unexpected(*tasks)
        checks.equal(log, [("A", float(DAY))], "A waiter, the signal given after a day")
    finally:
        await settle(tasks, 0)


class Team:
    """Fake runners. Runner k takes seconds[k] (and gives values[k], or raises errors[k]);
    every call is recorded: (runner, when it began, when it ended or was cancelled, how),
    in loop time from when the Team was made."""

    def __init__(self, seconds, values=None, errors=None) -> None:
        self.t0 = now()
        self.seconds = list(seconds)
        self.values = values if values is not None else [f"leg {k}" for k in range(len(seconds))]
        self.errors = errors or {}
        self.calls: list[dict] = []
        self.runners = [self.runner(k) for k in range(len(self.seconds))]

    def since(self) -> float:
        return round(now() - self.t0, 6)

    def runner(self, k: int):
        def run():
            call = {"runner": k, "began": None, "ended": None, "how": None}
            self.calls.append(call)
            return self.runner_runs(k, call)

        run.__name__ = run.__qualname__ = f"runner_{k}"
        return run

    async def runner_runs(self, k: int, call: dict):
        call["began"] = self.since()
        try:
            await asyncio.sleep(self.seconds[k])
            if k in self.errors:
                raise self.errors[k]
        except BaseException as exc:
            call["ended"], call["how"] = self.since(), type(exc).__name__
            raise
        call["ended"], call["how"] = self.since(), "ok"
        value = self.values[k]
        return list(value) if isinstance(value, list) else value  # a new list for each call

    def began(self) -> list:
        """(runner, when it began); "not started" for a runner called but not yet awaited."""
        return [
            (c["runner"], c["began"] if c["began"] is not None else "not started")
            for c in self.calls
        ]


def run_order_hint(team: Team, at: float) -> str:
    times = [c["began"] for c in team.calls if c["began"] is not None]
    if any(t < at for t in times):
        return (
            f"Some runners began before the signal (given at {at} s): each runner's task "
            "must `await signal.wait()` before it calls its runner."
        )
    if len(set(times)) > 1 and min(times) == at:
        return (
            "The runners began one after another: start a task for every runner at once, "
            "each waiting for the signal (a TaskGroup), not one awaited after the other."
        )
    return "Every runner is called at the moment the signal is given."


@pytest.mark.task(2)
async def test_race_sets_every_runner_off_at_the_signal(looptime):
    signal = sync.StartSignal()
    team = Team([1, 3, 2])
    task = asyncio.create_task(sync.race(signal, team.runners))
    at = round(4 + THIRD, 6)
    try:
        await asyncio.sleep(at)
        raise_unexpected(task)
        if signal.is_given():
            fail("race() gave the signal itself: only the one who starts the race gives it.")
        if team.calls:
            fail(
                f"runners were called at {team.began()} (runner, when), before the signal "
                f"(given at {at} s): each runner's task must wait for the signal before it "
                "calls its runner."
            )
        give(signal)
        results = await checks.within(100, asyncio.shield(task), "race() never ended.")
    finally:
        await settle([task], 0)
    checks.equal(
        sorted(team.began(), key=repr),
        [(0, at), (1, at), (2, at)],
        f"Runners of 1, 3 and 2 s, the signal given at {at} s: (runner, when it was called)",
        lambda _: run_order_hint(team, at),
    )
    if not isinstance(results, list):
        fail(f"race() returned {results!r}, a {type(results).__name__}; expected a list.")
    checks.equal(results, ["leg 0", "leg 1", "leg 2"], "What race() returned, in runners' order")
    checks.took(looptime, at + 3, f"The signal at {at} s, then runners of 1, 3 and 2 s at once")


@pytest.mark.task(2)
async def test_race_with_the_signal_already_given_sets_off_at_once():
    signal = sync.StartSignal()
    give(signal)
    team = Team([2, 1])
    t = now()
    results = await checks.within(100, sync.race(signal, team.runners), "race() never ended.")
    checks.equal(
        sorted(team.began(), key=repr),
        [(0, 0.0), (1, 0.0)],
        "The signal already given: runners began at",
    )
    checks.equal(results, ["leg 0", "leg 1"], "What race() returned")
    checks.took(now() - t, 2, "race() of runners of 2 and 1 s, the signal already given")


@pytest.mark.task(2)
async def test_race_runs_a_runner_given_twice_twice_and_keeps_every_result():
    team = Team([1, 1, 1, 1], values=[[], 0, None, ""])
    runners = [team.runners[0], team.runners[0], *team.runners[1:]]
    before = list(runners)
    signal = sync.StartSignal()
    give(signal)
    results = await checks.within(100, sync.race(signal, runners), "race() never ended.")
    if list(runners) != before or len(runners) != len(before):
        fail(
            f"race() changed the caller's runners list (from {len(before)} runners to "
            f"{len(runners)}); leave it unchanged."
        )
    checks.equal(
        sorted(c["runner"] for c in team.calls),
        [0, 0, 1, 2, 3],
        "Runners [r0, r0, r1, r2, r3]: which runners were called",
        "A runner given twice runs twice (keep a task per place in the list, not per runner).",
    )
    checks.equal(
        results,
        [[], [], 0, None, ""],
        "Runners [r0, r0, r1, r2, r3] giving [], [], 0, None and '': what race() returned",
        "Keep every result, false ones too, in the order of the runners.",
    )
    if results[0] is results[1]:
        fail(
            "runners [r0, r0, r1, r2, r3]: r0 ran twice, and each call gave a new list, yet "
            "race() returned one and the same list in both places: one call's result was lost. "
            "Likely: tasks kept in a dict keyed by runner (the second task replaces the first); "
            "keep a task per place in the list."
        )
    if results is runners:
        fail("race() returned the runners list itself; expected a new list of results.")
    empty = sync.StartSignal()  # never given
    t = now()
    got = await checks.within(
        10,
        sync.race(empty, []),
        "race(signal, []) with no runners waited for the signal (never given): with no "
        "runners, nobody waits; return [] at once.",
    )
    checks.equal(got, [], "race(signal, []) gave")
    checks.took(now() - t, 0, "race(signal, []) with no runners")


@pytest.mark.task(2)
async def test_cancelling_race_cancels_every_runner():
    signal = sync.StartSignal()
    team = Team([5, 5, 5])
    task = asyncio.create_task(sync.race(signal, team.runners))
    try:
        await asyncio.sleep(2)
        raise_unexpected(task)
        task.cancel()
        await asyncio.wait([task], timeout=10)
        raise_unexpected(task)
        if not task.cancelled():
            fail(
                f"race(), cancelled at 2 s before the signal, {how_it_ended(task)}; expected it "
                "to end cancelled."
            )
        if team.calls:
            fail(
                f"race() called runners before the signal was given: {team.began()} (runner, "
                "when it began). Each runner's task waits for the signal, then calls its runner."
            )
        give(signal)
        await asyncio.sleep(10)
        if team.calls:
            fail(
                f"race() was cancelled at 2 s, before the signal, yet when the signal was given "
                f"runners were called: {team.began()} (runner, when). The tasks race() started "
                "outlived it: cancel every one of them when race() is cancelled (a TaskGroup "
                "does)."
            )
    finally:
        await settle([task], 0)
    signal = sync.StartSignal()
    give(signal)
    team = Team([5, 5, 5])
    task = asyncio.create_task(sync.race(signal, team.runners))
    try:
        await asyncio.sleep(1)
        task.cancel()
        await asyncio.wait([task], timeout=10)
        raise_unexpected(task)
        await asyncio.sleep(10)
    finally:
        await settle([task], 0)
    if not task.cancelled():
        fail(
            f"race(), cancelled while its runners ran, {how_it_ended(task)}; expected it cancelled."
        )
    checks.equal(
        [(c["runner"], c["ended"], c["how"]) for c in team.calls],
        [(0, 1.0, "CancelledError"), (1, 1.0, "CancelledError"), (2, 1.0, "CancelledError")],
        "Runners of 5 s, race() cancelled at 1 s: (runner, when it ended, how)",
        "Every runner's task is cancelled with race().",
    )


@pytest.mark.task(2)
async def test_a_failing_runner_cancels_the_others():
    error = Boom("fell at the first hurdle")
    team = Team([5, 1, 3], errors={1: error})
    signal = sync.StartSignal()
    give(signal)
    task = asyncio.create_task(sync.race(signal, team.runners))
    await settle([task], 100)
    if not task.done() or task.cancelled() or task.exception() is None:
        fail(
            f"runner 1 raised {error!r} at 1 s, and race() {how_it_ended(task)}; expected an "
            "ExceptionGroup holding that error."
        )
    exc = task.exception()
    if exc is error:
        fail(
            f"runner 1 raised {error!r} at 1 s, and race() raised it bare"
            + (
                ", while the other runners ran on"
                if any(c["how"] == "ok" and c["ended"] > 1 for c in team.calls)
                else ""
            )
            + ": expected an ExceptionGroup holding it, with the others cancelled, as "
            "asyncio.TaskGroup does (asyncio.gather neither cancels the others nor groups "
            "the error)."
        )
    if not isinstance(exc, BaseExceptionGroup) or not any(e is error for e in leaves(exc)):
        raise exc
    checks.equal(
        [(c["runner"], c["ended"], c["how"]) for c in team.calls],
        [(0, 1.0, "CancelledError"), (1, 1.0, "Boom"), (2, 1.0, "CancelledError")],
        "Runners of 5, 1 (raising) and 3 s: (runner, when it ended, how)",
        "When one runner raises, the others are cancelled at that moment.",
    )


@pytest.mark.task(2)
@pytest.mark.loop_limit(3 * DAY)
async def test_race_waits_a_day_for_the_signal():
    signal = sync.StartSignal()
    team = Team([1])
    task = asyncio.create_task(sync.race(signal, team.runners))
    try:
        await asyncio.sleep(DAY)
        if task.done() and not task.cancelled() and task.exception() is not None:
            check_time_limit(task.exception(), "race() waiting a day for its signal")
        raise_unexpected(task)
        give(signal)
        results = await checks.within(10, asyncio.shield(task), "race() never ended.")
    finally:
        await settle([task], 0)
    checks.equal(results, ["leg 0"], "A race whose signal came after a day")
    checks.equal(team.began(), [(0, float(DAY))], "A race whose signal came after a day: began")


RUNNERS = st.lists(
    st.tuples(st.sampled_from([0, 1, 2.5, 10_000]), st.sampled_from([0, None, "", "x"])),
    max_size=5,
)


@pytest.mark.task(2)
@pytest.mark.loop_limit(10**6)
@scenarios.given(
    runners=RUNNERS, signal_at=st.sampled_from([None, 0, round(2 + THIRD, 6)]), twice=st.booleans()
)
async def test_race_in_any_scenario(runners, signal_at, twice):
    seconds = [s for s, _ in runners]
    values = [v for _, v in runners]
    scene = (
        f"Runners of {seconds} s giving {values!r}"
        + (" (the first given twice)" if twice and runners else "")
        + (
            ", the signal given before the race"
            if signal_at is None
            else f", the signal at {signal_at:g} s"
        )
    )
    scenarios.describe(scene)
    team = Team(seconds, values=values)
    order = list(range(len(runners)))
    if twice and runners:
        order = [0, *order]
    signal = sync.StartSignal()
    if signal_at is None:
        give(signal)

    async def timed_race():
        results = await sync.race(signal, [team.runners[k] for k in order])
        return results, team.since()

    task = asyncio.create_task(timed_race())
    try:
        if signal_at is not None:
            await asyncio.sleep(signal_at)
            if team.calls:
                fail(
                    f"{scene}: runners were called before the signal: {team.began()} (runner, "
                    "when). Each runner's task waits for the signal, then calls its runner."
                )
            give(signal)
        results, ended = await checks.within(
            10**5, asyncio.shield(task), f"{scene}: race() never ended."
        )
    finally:
        await settle([task], 0)
    start = 0.0 if signal_at is None else float(signal_at)
    checks.equal(
        sorted(team.began(), key=repr),
        sorted(((k, start) for k in order), key=repr),
        f"{scene}: (runner, when it was called)",
        lambda _: run_order_hint(team, start),
    )
    checks.equal(results, [values[k] for k in order], f"{scene}: what race() returned")
    checks.equal(
        ended,
        round(start + max(seconds[k] for k in order), 6) if order else 0.0,
        f"{scene}: when race() returned",
        "race() returns once every runner has finished (at once, with no runners).",
    )


# Task 3: Downloader


class Site:
    """A fake fetch(url): takes seconds[url] (FETCH s unless given; until the url's gate
    opens, if it has one), gives pages[url] (f"<{url}>" unless given), raises for urls in
    `fail`. Records every call (url, began, ended, how) in loop time from when the Site was
    made, and the most fetches that ran at once."""

    def __init__(self, seconds=None, pages=None, fail=(), gates=None) -> None:
        self.t0 = now()
        self.seconds = seconds or {}
        self.pages = pages or {}
        self.fail = set(fail)
        self.gates = gates or {}
        self.errors: dict[str, Exception] = {}
        self.calls: list[dict] = []
        self.running = 0
        self.most = 0

    def since(self) -> float:
        return round(now() - self.t0, 6)

    def __call__(self, url: str):
        call = {"url": url, "began": None, "ended": None, "how": None}
        self.calls.append(call)
        return self.fetch_page(url, call)

    async def fetch_page(self, url: str, call: dict):
        call["began"] = self.since()
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.seconds.get(url, FETCH))
            if url in self.gates:
                await self.gates[url].wait()
            if url in self.fail:
                raise self.errors.setdefault(url, Boom(f"{url} is broken"))
        except BaseException as exc:
            call["ended"], call["how"] = self.since(), type(exc).__name__
            raise
        finally:
            self.running -= 1
        call["ended"], call["how"] = self.since(), "ok"
        return self.pages.get(url, f"<{url}>")

    def urls(self) -> list[str]:
        return [c["url"] for c in self.calls]

    def began(self) -> list:
        return [(c["url"], c["began"]) for c in self.calls]


def starts_with(limit: int, seconds: list[float]) -> list[float]:
    """The oracle: when each fetch (asked at 0, in order) begins, first come first served."""
    free = [0.0] * limit
    began = []
    for s in seconds:
        start = heapq.heappop(free)
        began.append(start)
        heapq.heappush(free, start + s)
    return began


def limit_hint(site: Site, limit: int, n: int):
    def hint(got) -> str:
        if site.most > limit:
            if site.most == n:
                return (
                    "Every fetch ran at once: nothing limited them. Likely: a new Semaphore "
                    "made inside get() (each call has its own, so no one ever waits; make one "
                    "in __init__), or fetch() awaited after the `async with` block, when the "
                    "place has already been given back."
                )
            return (
                f"{site.most} fetches ran at once, more than the limit of {limit}. Likely: "
                "the limit counted wrong (Semaphore(limit + 1), or a count compared with >)."
            )
        if site.most < min(limit, n):
            fewer = (
                "Only one fetch ran at a time"
                if site.most == 1
                else f"At most {site.most} fetches ran at once, though the limit of {limit} "
                "allows more"
            )
            return (
                f"{fewer}. Likely: get_all() awaited each get() in turn (start them all at "
                "once, with asyncio.gather, and let the Semaphore hold back the rest), or "
                "get_all() holds a place itself (the Semaphore taken around the gather), so its "
                "get()s have one fewer, or a Semaphore smaller than `limit`."
            )
        return (
            "A waiting fetch must begin the moment a place is free, first come first served. "
            "Likely: the fetches were made in batches of `limit` (each batch waits for its "
            "slowest); let each one take the first free place instead (a Semaphore around "
            "each fetch)."
        )

    return hint


async def get_all_within(seconds: float, downloader, urls, site: Site, what: str = "get_all()"):
    """downloader.get_all(urls), failing with what the site saw if it never ends."""
    n = len(urls)
    task = asyncio.ensure_future(downloader.get_all(urls))
    await asyncio.wait([task], timeout=seconds)
    if task.done():
        return task.result()
    began, running = len(site.calls), site.running
    raised = sum(c["how"] == "Boom" for c in site.calls)
    task.cancel()
    await settle([task], 10)
    likely = (
        " Nothing was fetching, yet fetches were left to start: the places were held by "
        "something else. Likely: "
        + (
            f"a place kept by each fetch that raised ({raised} did: free it in a finally, or "
            "use `async with`), or "
            if raised
            else ""
        )
        + "get_all() holding a place itself (the Semaphore taken around the gather) while each "
        "get() waits for another."
    )
    fail(
        f"{what} never ended (the test waited {seconds:,.0f} s of loop time): {began} of its "
        f"{n} {'fetch' if n == 1 else 'fetches'} had begun, and {running} "
        f"{'was' if running == 1 else 'were'} still running."
        + (likely if running == 0 and began < n else "")
    )


@pytest.mark.task(3)
async def test_get_fetches_once_and_gives_what_fetch_gave(looptime):
    site = Site(pages={"zero": 0, "none": None, "empty": ""})
    downloader = sync.Downloader(site, 2)
    got = await downloader.get("a")
    checks.not_coroutine(got, "What downloader.get('a') returned")
    checks.equal(got, "<a>", "downloader.get('a')", "Return what fetch(url) gave.")
    checks.equal(site.urls(), ["a"], "downloader.get('a'): the fetches made", "Fetch once.")
    checks.took(looptime, FETCH, "One get() of a 1 s page")
    for url, page in (("zero", 0), ("none", None), ("empty", "")):
        got = await downloader.get(url)
        if got is not page:
            fail(f"fetch({url!r}) gave {page!r}, and get() returned {got!r}: return it as it is.")
    checks.equal(len(site.calls), 4, "Four get() calls: fetches made")


@pytest.mark.task(3)
@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_get_all_runs_at_most_limit_fetches_at_once(limit, looptime):
    site = Site()
    downloader = sync.Downloader(site, limit)
    before = ["a", "b", "c", "d", "e"]
    urls = list(before)
    n = len(before)
    results = await get_all_within(100, downloader, urls, site)
    if urls != before:
        fail(
            f"get_all({before!r}) changed the caller's urls to {urls!r}; leave them unchanged "
            "(read them, do not pop or remove them)."
        )
    checks.equal(
        site.most,
        limit,
        f"A Downloader with limit {limit}, five 1 s pages: the most fetches at once",
        limit_hint(site, limit, n),
    )
    checks.equal(
        [c["began"] for c in site.calls],
        starts_with(limit, [FETCH] * n),
        f"A Downloader with limit {limit}, five 1 s pages: when each fetch began",
        limit_hint(site, limit, n),
    )
    if not isinstance(results, list):
        fail(f"get_all() returned {results!r}, a {type(results).__name__}; expected a list.")
    expected = ["<a>", "<b>", "<c>", "<d>", "<e>"]
    checks.equal(
        results,
        expected,
        "What get_all() returned",
        lambda got: (
            "The right pages, in another order. Likely: the results were kept in the order the "
            "fetches finished (appended as each ended, or asyncio.as_completed / asyncio.wait); "
            "return them in the order of urls, as gather does."
            if isinstance(got, list) and got != expected and sorted(got) == expected
            else "One result per url, in the order of urls."
        ),
    )
    checks.took(looptime, -(-n // limit), f"Five 1 s pages, {limit} at a time")


@pytest.mark.task(3)
async def test_a_free_place_is_taken_at_once():
    site = Site(seconds={"slow": 3})
    downloader = sync.Downloader(site, 2)
    await get_all_within(100, downloader, ["slow", "a", "b", "c"], site)
    checks.equal(
        site.began(),
        [("slow", 0), ("a", 0), ("b", 1), ("c", 2)],
        "Limit 2, a 3 s page then three 1 s pages: (url, when its fetch began)",
        limit_hint(site, 2, 4),
    )


@pytest.mark.task(3)
async def test_a_get_asked_again_at_once_waits_behind_the_one_already_waiting():
    site = Site()
    downloader = sync.Downloader(site, 1)

    async def twice() -> None:
        await downloader.get("A1")
        await downloader.get("A2")  # asked the moment its first fetch has ended

    a = asyncio.create_task(twice())
    await asyncio.sleep(0.5)
    b = asyncio.create_task(downloader.get("B"))  # waiting since 0.5 s
    await finish([a, b], 100, "Two gets after each other and one waiting")
    checks.equal(
        site.began(),
        [("A1", 0), ("B", 1), ("A2", 2)],
        "Limit 1: task A gets 'A1' (1 s), B asks for 'B' at 0.5 s, and A asks for 'A2' the "
        "moment 'A1' is done: (url, when its fetch began)",
        lambda got: (
            "A's second get() took the place ahead of B, which had been waiting since 0.5 s: "
            "first come, first served. Likely: a freed place is left for whoever asks first (a "
            "counter with a Condition, or a Queue of tokens, that a newcomer can take before "
            "the woken waiter runs). asyncio.Semaphore hands it straight to the longest waiting "
            "get()."
            if [u for u, _ in got] == ["A1", "A2", "B"]
            else ""
        ),
    )


@pytest.mark.task(3)
async def test_the_limit_counts_every_fetch_of_the_downloader():
    site = Site()
    downloader = sync.Downloader(site, 2)
    tasks = [
        asyncio.create_task(downloader.get_all(["a", "b", "c"])),
        asyncio.create_task(downloader.get("x")),
        asyncio.create_task(downloader.get_all(["y", "z"])),
    ]
    await finish(tasks, 100, "get_all() and get() made at once on one Downloader")
    if site.most > 2:
        fail(
            f"get_all(['a', 'b', 'c']), get('x') and get_all(['y', 'z']) at once on one "
            f"Downloader with limit 2: {site.most} fetches ran at once. The limit counts every "
            "fetch the Downloader makes: keep one Semaphore on it (made in __init__) and take a "
            "place in get(), which get_all() calls, not a new Semaphore in each get_all()."
        )
    checks.equal(
        [t.result() for t in tasks],
        [["<a>", "<b>", "<c>"], "<x>", ["<y>", "<z>"]],
        "What each call gave",
    )
    checks.equal(site.since(), 3.0, "Six 1 s pages through one Downloader with limit 2: done at")


@pytest.mark.task(3)
@pytest.mark.parametrize("limit_a", [1, 2])
async def test_two_downloaders_keep_their_own_places(limit_a):
    gate = asyncio.Event()
    held_urls = [f"held{n}" for n in range(limit_a)]
    site_a, site_b = Site(gates={url: gate for url in held_urls}), Site()
    a, b = sync.Downloader(site_a, limit_a), sync.Downloader(site_b, 2)
    held = [asyncio.create_task(a.get(url)) for url in held_urls]
    busy = f"downloader A (limit {limit_a}) was fetching {checks.count(limit_a, 'page')}"
    try:
        await asyncio.sleep(0)
        raise_unexpected(*held)
        await checks.within(
            10,
            asyncio.gather(b.get("x"), b.get("y")),
            f"While {busy} (the test kept its fetches waiting), downloader B (limit 2) never "
            "finished two fetches: the two share their places. Likely: the Semaphore is made "
            "at module level, as a class attribute, or kept by its limit (so that Downloaders "
            "of the same limit share one); make it in __init__, one for each Downloader.",
        )
        checks.equal(
            site_b.began(),
            [("x", 0), ("y", 0)],
            f"Downloader B (limit 2) while {busy}: (url, when its fetch began)",
            "Each Downloader has its own `limit` places.",
        )
        gate.set()
        for url, task in zip(held_urls, held, strict=True):
            checks.equal(
                await checks.within(10, task, "A's fetch never ended."),
                f"<{url}>",
                f"Downloader A's get({url!r})",
            )
    finally:
        gate.set()
        await settle(held, 10)


@pytest.mark.task(3)
async def test_a_failed_fetch_frees_its_place_and_its_error_goes_on():
    site = Site(fail={"bad1", "bad2"})
    downloader = sync.Downloader(site, 2)
    for url in ("bad1", "bad2"):
        try:
            got = await checks.within(10, downloader.get(url), f"get({url!r}) never ended.")
        except Boom as exc:
            if exc is not site.errors[url]:
                fail(f"fetch({url!r}) raised {site.errors[url]!r}; get() raised another, {exc!r}.")
        else:
            fail(
                f"fetch({url!r}) raised {site.errors.get(url)!r}, and get() returned {got!r}: "
                "let the error go on to the caller."
            )
    got = await checks.within(
        10,
        downloader.get("ok"),
        "After two fetches that raised, a Downloader with limit 2 had no place left: the next "
        "get() waited forever. Likely: the place is freed on the line after `await "
        "fetch(url)`, which a raising fetch never reaches; use `async with self.places:` (or "
        "release in a finally).",
    )
    checks.equal(got, "<ok>", "After two failed fetches, get('ok')")
    site = Site(fail={"bad1", "bad2"})
    downloader = sync.Downloader(site, 1)
    try:
        results = await get_all_within(
            100, downloader, ["bad1", "a", "bad2", "b"], site, "get_all() with failing fetches"
        )
    except Boom as exc:
        fail(
            f"get_all(['bad1', 'a', 'bad2', 'b']) raised {exc!r}; expected a list with each "
            "error in its place and the other pages fetched: gather(..., return_exceptions=True)."
        )
    if not isinstance(results, list) or len(results) != 4:
        fail(f"get_all() of four urls returned {results!r}; expected a list of four.")
    checks.equal(
        [
            r if not isinstance(r, BaseException) else r is site.errors.get(u)
            for r, u in zip(results, ["bad1", "a", "bad2", "b"], strict=True)
        ],
        [True, "<a>", True, "<b>"],
        "get_all(['bad1', 'a', 'bad2', 'b']), two fetches raising: each result (True where it "
        "is the error that fetch raised)",
        "A failed fetch gives its exception object in its place; the others go on.",
    )
    checks.equal(site.urls(), ["bad1", "a", "bad2", "b"], "The fetches made, in order")


@pytest.mark.task(3)
async def test_get_all_fetches_every_url_as_given_and_leaves_urls_unchanged():
    site = Site(pages={"zero": 0, "none": None, "": ""})
    downloader = sync.Downloader(site, 2)
    urls = ["a", "a", "", " a ", "zero", "none"]
    before = list(urls)
    results = await get_all_within(100, downloader, urls, site)
    if urls != before:
        fail(
            f"get_all() changed the caller's urls from {before!r} to {urls!r}; leave them "
            "unchanged."
        )
    checks.equal(
        sorted(site.urls()),
        sorted(before),
        f"get_all({before!r}): the urls fetched",
        "Fetch every url as given, once each time it is given: duplicates, '' and spaces too.",
    )
    checks.equal(
        results,
        ["<a>", "<a>", "", "< a >", 0, None],
        f"get_all({before!r}): what it returned",
        "Keep every result in the order of urls, false ones too.",
    )
    checks.equal(await downloader.get_all([]), [], "get_all([])")
    got = await downloader.get_all(("x", "y"))
    if type(got) is not list:
        fail(f"get_all(('x', 'y')) returned {got!r}, a {type(got).__name__}; expected a new list.")


@pytest.mark.task(3)
async def test_a_get_cancelled_while_fetching_or_waiting_frees_its_place():
    site = Site(seconds={"slow": DAY})
    downloader = sync.Downloader(site, 1)
    fetching = asyncio.create_task(downloader.get("slow"))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(downloader.get("b"))
    await asyncio.sleep(1)
    fetching.cancel()
    waiting.cancel()
    await settle([fetching, waiting], 10)
    raise_unexpected(fetching, waiting)
    for name, task in (("while fetching", fetching), ("while waiting for a place", waiting)):
        if not task.cancelled():
            fail(f"a get() cancelled {name} {how_it_ended(task)}; expected it to end cancelled.")
    t = now()
    got = await checks.within(
        10,
        downloader.get("c"),
        "After a get() cancelled while fetching (and one while waiting), a Downloader with "
        "limit 1 had no place left: the next get() waited forever. Likely: the place is freed "
        "only when the fetch returns or raises an Exception (`except Exception:`), and a "
        "CancelledError is a BaseException; use `async with self.places:`.",
    )
    checks.equal(got, "<c>", "After the cancelled get()s, get('c')")
    checks.took(now() - t, FETCH, "After the cancelled get()s, get('c')")
    checks.equal(
        site.urls(),
        ["slow", "c"],
        "The fetches made",
        "A get() cancelled while waiting fetches nothing.",
    )
    site = Site()
    downloader = sync.Downloader(site, 2)
    task = asyncio.create_task(downloader.get_all(["a", "b", "c", "d"]))
    await asyncio.sleep(0.5)
    task.cancel()
    await settle([task], 10)
    raise_unexpected(task)
    await asyncio.sleep(10)
    if not task.cancelled():
        fail(f"get_all() cancelled while fetching {how_it_ended(task)}; expected it cancelled.")
    checks.equal(
        [(c["url"], c["ended"], c["how"]) for c in site.calls],
        [("a", 0.5, "CancelledError"), ("b", 0.5, "CancelledError")],
        "get_all() of four urls (limit 2) cancelled at 0.5 s: (url, when its fetch ended, how)",
        "Cancelled, get_all() cancels the fetches it started, and starts no more.",
    )


@pytest.mark.task(3)
@pytest.mark.loop_limit(3 * DAY)
async def test_a_fetch_that_takes_a_day_holds_its_place_a_day():
    site = Site(seconds={"day": DAY})
    downloader = sync.Downloader(site, 1)
    try:
        results = await downloader.get_all(["day", "b"])
    except TimeoutError as exc:
        check_time_limit(exc, "get_all() of a day-long page")
        raise
    if any(isinstance(r, TimeoutError) for r in results):
        check_time_limit(
            next(r for r in results if isinstance(r, TimeoutError)), "A day-long fetch"
        )
    checks.equal(results, ["<day>", "<b>"], "A day-long page, then another: results")
    checks.equal(site.began(), [("day", 0), ("b", DAY)], "Limit 1, a day-long page first: began")


NAMES = ["a", "b", ""]
DELAYS = st.fixed_dictionaries({u: st.sampled_from([0, 1, 2.5, 10_000]) for u in NAMES})


@pytest.mark.task(3)
@pytest.mark.loop_limit(10**7)
@scenarios.given(
    limit=st.integers(1, 3),
    urls=st.lists(st.sampled_from(NAMES), max_size=6),
    seconds=DELAYS,
    failing=st.sets(st.sampled_from(NAMES)),
)
async def test_downloader_in_any_scenario(limit, urls, seconds, failing):
    used = sorted(set(urls))
    scene = (
        f"Limit {limit}, get_all({urls!r}), pages taking "
        f"{ {u: seconds[u] for u in used} } s"
        + (f", {sorted(failing & set(urls))} failing" if failing & set(urls) else "")
    )
    scenarios.describe(scene)
    site = Site(seconds=seconds, fail=failing)
    downloader = sync.Downloader(site, limit)
    before = list(urls)
    results = await get_all_within(10**6, downloader, urls, site, f"{scene}: get_all()")
    checks.equal(urls, before, f"{scene}: the caller's urls afterwards", "Leave them unchanged.")
    if site.most > limit:
        fail(f"{scene}: {site.most} fetches ran at once; expected at most {limit}.")
    checks.equal(
        site.urls(),
        urls,
        f"{scene}: the fetches made, in order",
        "Fetch every url once each time it is given, in order.",
    )
    checks.equal(
        [c["began"] for c in site.calls],
        starts_with(limit, [seconds[u] for u in urls]),
        f"{scene}: when each fetch began",
        limit_hint(site, limit, len(urls)),
    )
    if not isinstance(results, list) or len(results) != len(urls):
        fail(f"{scene}: get_all() returned {results!r}; expected a list of {len(urls)}.")
    checks.equal(
        [
            r if not isinstance(r, BaseException) else (r is site.errors.get(u))
            for r, u in zip(results, urls, strict=True)
        ],
        [True if u in failing else f"<{u}>" for u in urls],
        f"{scene}: what get_all() returned (True where it is the error that fetch raised)",
        "A failed fetch gives its exception object in its place; the others go on.",
    )


# Task 4: BoundedBuffer


def check_len(buffer, expected: int, what: str) -> None:
    got = len(buffer)
    checks.equal(got, expected, f"{what}: len(buffer)")


@pytest.mark.task(4)
async def test_items_come_out_first_in_first_out():
    buffer = sync.BoundedBuffer(3)
    check_len(buffer, 0, "A new BoundedBuffer(3)")
    items = [0, None, ""]
    for item in items:
        await checks.within(
            10, buffer.put(item), f"put({item!r}) into a buffer with room never returned."
        )
    check_len(buffer, 3, "After putting 0, None and ''")
    got = []
    for _ in items:
        held = len(buffer)
        getting = asyncio.ensure_future(buffer.get())
        await asyncio.wait([getting], timeout=10)
        if not getting.done():
            getting.cancel()
            await settle([getting], 1)
            fail(
                f"after putting 0, None and '' into a buffer, a get() (after {got!r}) never "
                "returned"
                + (
                    f", though it had taken an item out (the buffer held {held} before it, "
                    f"{len(buffer)} after). 0, None and '' are items like any other: the get() "
                    "must not wait on because the item it took is false. Likely: the item is "
                    "taken inside wait_for's predicate (`wait_for(lambda: self.items and "
                    "self.items.popleft())`), which keeps waiting while the predicate is false."
                    if len(buffer) < held
                    else "."
                )
            )
        got.append(getting.result())
    checks.equal(
        got,
        [0, None, ""],
        "Putting 0, None, '', then three get()s",
        lambda got: (
            "They came out last in, first out: take the first item (deque.popleft(), or "
            "list.pop(0)), not the last (pop())."
            if got == items[::-1]
            else "0, None and '' are items like any other: give back exactly what was put."
        ),
    )
    check_len(buffer, 0, "After getting all three")
    a, b, c = [1], [], [1]
    await buffer.put(a)
    await buffer.put(b)
    first = await buffer.get()
    await buffer.put(c)
    rest = [await buffer.get(), await buffer.get()]
    if first is not a or rest[0] is not b or rest[1] is not c:
        fail(
            f"put [1], put [], get, put [1], get, get gave {[first, *rest]!r}, not the very "
            "objects put, first in first out."
        )


async def record_get(buffer, log: list, name):
    item = await buffer.get()
    log.append((name, item, now()))
    return item


def herd_hint(tasks) -> str:
    raised = [t.exception() for t in tasks if t.done() and not t.cancelled() and t.exception()]
    if raised:
        who = f" {len(raised)} of them raised {raised[0]!r}:" if len(tasks) > 1 else ""
        return (
            f"{who} Woken up (notify_all() wakes every "
            "waiter, and another task may get there first), a get() must check again that an "
            "item is there before taking it. Use `await cond.wait_for(lambda: self.items)`, or "
            "`while not self.items: await cond.wait()`, not `if`."
        )
    returned = [t.result() for t in tasks if t.done() and not t.cancelled() and not t.exception()]
    if len(returned) > 1:
        return (
            f" get() returned {returned!r}: a get() that found nothing once woken must wait "
            "on, not return. Use `await cond.wait_for(lambda: self.items)`."
        )
    return ""


@pytest.mark.task(4)
async def test_a_get_waits_for_the_next_put():
    buffer = sync.BoundedBuffer(2)
    log: list = []
    task = asyncio.create_task(record_get(buffer, log, "consumer"))
    try:
        await asyncio.sleep(2)
        raise_unexpected(task)
        if task.done():
            fail(
                f"get() on an empty buffer {how_it_ended(task)} before anything was put; "
                "expected it to wait for an item."
            )
        await asyncio.sleep(THIRD)
        at = now()  # 2 1/3 s
        item = ["the item"]
        await buffer.put(item)
        await asyncio.sleep(1)
        raise_unexpected(task)
        checks.equal(
            log,
            [("consumer", item, at)],
            f"A get() waiting since 0 s, one item put at {at} s: (who got, what, when)",
            "Wake the waiting get() when an item is put (notify it), and give it that item.",
        )
    finally:
        await settle([task], 0)


@pytest.mark.task(4)
async def test_a_put_waits_while_the_buffer_is_full():
    buffer = sync.BoundedBuffer(2)
    done: list = []

    async def producer(item):
        await buffer.put(item)
        done.append((item, now()))

    tasks = [asyncio.create_task(producer(x)) for x in ("a", "b", "c")]
    try:
        await asyncio.sleep(5)
        raise_unexpected(*tasks)
        if len(buffer) > 2:
            fail(
                f"three put()s into a BoundedBuffer(2): it holds {len(buffer)} items. While the "
                "buffer is full, put() must wait until a get() makes room."
            )
        checks.equal(
            done, [("a", 0.0), ("b", 0.0)], "Three put()s into a BoundedBuffer(2): returned by 5 s"
        )
        first = await checks.within(10, buffer.get(), "get() from a full buffer never returned.")
        await asyncio.sleep(1)
        raise_unexpected(*tasks)
        checks.equal(
            done,
            [("a", 0.0), ("b", 0.0), ("c", 5.0)],
            "Then a get() at 5 s: (put, when it returned)",
            "A waiting put() goes on the moment a get() makes room: notify it.",
        )
        rest = [await buffer.get(), await buffer.get()]
        checks.equal([first, *rest], ["a", "b", "c"], "The three items got, in order")
    finally:
        await settle(tasks, 0)


@pytest.mark.task(4)
async def test_consumers_woken_for_fewer_items_wait_on():
    buffer = sync.BoundedBuffer(3)
    log: list = []
    tasks = [asyncio.create_task(record_get(buffer, log, f"C{k}")) for k in range(3)]
    try:
        await asyncio.sleep(1)
        raise_unexpected(*tasks)
        await buffer.put("x")
        await asyncio.sleep(1)
        if len(log) != 1 or any(t.done() and (t.cancelled() or t.exception()) for t in tasks):
            fail(
                "three get()s waited on an empty buffer and one item was put: expected one of "
                f"them to get it and the other two to wait on; got {log} (who, what, when), "
                f"and the three ended: {[how_it_ended(t) for t in tasks]}." + herd_hint(tasks)
            )
        await buffer.put("y")
        await buffer.put("z")
        await asyncio.sleep(1)
        raise_unexpected(*tasks)
        checks.equal(
            sorted((item for _, item, _ in log), key=repr),
            ["x", "y", "z"],
            "Three waiting get()s, then three items: what they got",
            "Every item is got exactly once.",
        )
    finally:
        await settle(tasks, 0)


@pytest.mark.task(4)
async def test_an_item_taken_by_a_newcomer_is_not_taken_twice():
    buffer = sync.BoundedBuffer(3)
    log: list = []
    waiting = asyncio.create_task(record_get(buffer, log, "waiting"))

    async def put_later() -> None:  # a second item, for whichever get() is left waiting
        await asyncio.sleep(2)
        await buffer.put("y")

    later = asyncio.create_task(put_later())
    try:
        await asyncio.sleep(1)
        raise_unexpected(waiting)
        await buffer.put("x")
        # Straight after the put, before the woken get() has run again (unless put() let it):
        # this get() finds 'x' there and takes it.
        newcomer = await checks.within(
            10, buffer.get(), "A get() right after a put() (and another at 2 s) never returned."
        )
        log.append(("newcomer", newcomer, now()))
        await asyncio.sleep(2)  # till 3 s
        raise_unexpected(later)
        if waiting.done() and (waiting.cancelled() or waiting.exception() is not None):
            fail(
                "a get() waited on an empty buffer; then 'x' was put and, before the waiting "
                f"get() ran again, another get() took it. The waiting get() "
                f"{how_it_ended(waiting)}; expected it to wait on, as the buffer was empty "
                "again, and to get the next item." + herd_hint([waiting])
            )
        raise_unexpected(waiting)
        checks.equal(
            sorted((item for _, item, _ in log), key=repr),
            ["x", "y"],
            "A get() waiting, put('x') at 1 s, a get() straight after it, put('y') at 2 s: the "
            "items the two get()s got",
            lambda got: herd_hint([waiting]).strip() or "Every item is got exactly once.",
        )
    finally:
        await settle([waiting, later], 0)


@pytest.mark.task(4)
async def test_producers_and_consumers_waiting_together_all_finish():
    buffer = sync.BoundedBuffer(1)
    log: list = []
    consumers = [asyncio.create_task(record_get(buffer, log, f"C{k}")) for k in (1, 2)]
    await asyncio.sleep(0)
    producers = [asyncio.create_task(buffer.put(x)) for x in ("a", "b")]
    tasks = consumers + producers
    try:
        await asyncio.wait(tasks, timeout=10)
        raise_unexpected(*tasks)
        stuck = [
            name
            for name, t in zip(["get() C1", "get() C2", "put('a')", "put('b')"], tasks, strict=True)
            if not t.done()
        ]
        if stuck:
            fail(
                "two get()s waited on an empty BoundedBuffer(1), then put('a') and put('b') "
                f"were called: after 10 s, {', '.join(stuck)} still waited, with the buffer "
                f"holding {len(buffer)} item(s) and got so far {[(n, i) for n, i, _ in log]}. A "
                "wake-up went to a task that could not use it, and the one that could was never "
                "woken. Likely: one Condition for both 'not full' and 'not empty' with notify(), "
                "which wakes one waiter that may be of the wrong kind (a put() woken when only a "
                "get() could go on, or the other way round); use notify_all(), or two Conditions "
                "on one lock, each woken with notify_all()."
            )
        checks.equal(
            sorted((item for _, item, _ in log), key=repr), ["a", "b"], "What the two get()s got"
        )
    finally:
        await settle(tasks, 0)


@pytest.mark.task(4)
async def test_two_buffers_keep_their_own_items():
    first, second = sync.BoundedBuffer(2), sync.BoundedBuffer(2)
    await first.put("mine")
    if len(second) != 0:
        fail(
            f"after a put() into one buffer, another (new) buffer holds {len(second)} item(s): "
            "the two share their items. Likely: the deque (or list) is made at module level or "
            "as a class attribute; make it in __init__, one for each buffer."
        )
    log: list = []
    task = asyncio.create_task(record_get(second, log, "second's"))
    try:
        await asyncio.sleep(1)
        raise_unexpected(task)
        if log:
            fail(
                f"a get() on an empty buffer got {log[0][1]!r}, which was put into another "
                "buffer: the two share their items. Likely: the deque (or list) is made at module "
                "level or as a class attribute; make it in __init__, one for each buffer."
            )
        checks.equal(await first.get(), "mine", "The first buffer's own item")
    finally:
        await settle([task], 0)


@pytest.mark.task(4)
async def test_a_get_or_put_cancelled_while_waiting_leaves_the_buffer_as_it_was():
    buffer = sync.BoundedBuffer(1)
    waiting = asyncio.create_task(buffer.get())
    await asyncio.sleep(1)
    waiting.cancel()
    await settle([waiting], 10)
    raise_unexpected(waiting)
    if not waiting.cancelled():
        fail(f"a get() cancelled while waiting {how_it_ended(waiting)}; expected it cancelled.")
    await checks.within(
        10,
        buffer.put("a"),
        "After a get() was cancelled while waiting, put() into the empty buffer never returned: "
        "the Condition's lock was never released. Likely: cond.acquire() and cond.release() "
        "without try/finally (a cancelled wait() skips the release); use `async with self.cond:`.",
    )
    got = await checks.within(10, buffer.get(), "After a cancelled get(), get() never returned.")
    checks.equal(
        got, "a", "After a cancelled get(), the next get()", "The cancelled one took nothing."
    )
    await buffer.put("b")  # full again
    putting = asyncio.create_task(buffer.put("c"))
    await asyncio.sleep(1)
    putting.cancel()
    await settle([putting], 10)
    raise_unexpected(putting)
    if not putting.cancelled():
        fail(
            f"a put() cancelled while waiting for room {how_it_ended(putting)}; expected cancelled."
        )
    got = await checks.within(
        10, buffer.get(), "After a put() was cancelled while waiting, get() never returned."
    )
    checks.equal(got, "b", "After a cancelled put('c'), get()")
    await asyncio.sleep(1)
    check_len(buffer, 0, "A put('c') cancelled while it waited adds nothing: afterwards")


LOST_WAKE_UP = (
    "Likely: {side} wakes one waiter with notify(), and on Python 3.11 and 3.12 a waiter "
    "cancelled after it was woken, before it ran, does not pass the wake-up on (Python 3.13 "
    "does): the other waiter is never woken. Wake them all with notify_all() (each checks "
    "again, and the ones that cannot go on wait on), with one Condition or with two on one lock."
)


@pytest.mark.task(4)
async def test_a_waiter_woken_then_cancelled_leaves_its_turn_to_the_next():
    buffer = sync.BoundedBuffer(1)
    getters = [asyncio.create_task(buffer.get()) for _ in range(2)]
    try:
        await asyncio.sleep(1)
        raise_unexpected(*getters)
        await checks.within(10, buffer.put("x"), "put('x') into an empty buffer never returned.")
        getters[0].cancel()  # woken by the put, perhaps, but cancelled before it could run
        await asyncio.wait(getters, timeout=10)
        raise_unexpected(*getters)
        got = [t.result() for t in getters if t.done() and not t.cancelled()]
        if not got and len(buffer) == 1:
            fail(
                "two get()s waited on an empty BoundedBuffer(1), put('x') was called and the "
                "first get() was cancelled straight after it: after 10 s the second get() still "
                "waited, though the buffer held 'x'. " + LOST_WAKE_UP.format(side="put()")
            )
        checks.equal(
            (got, len(buffer)),
            (["x"], 0),
            "Two get()s waiting, put('x'), the first get() cancelled at once: (what the get()s "
            "got, len(buffer))",
            "'x' is got exactly once, by the get() that was not cancelled (or by the first, if "
            "it had taken it before it was cancelled).",
        )
    finally:
        await settle(getters, 0)
    await buffer.put("a")  # full again
    putters = [asyncio.create_task(buffer.put(x)) for x in ("b", "c")]
    try:
        await asyncio.sleep(1)
        raise_unexpected(*putters)
        got = await checks.within(10, buffer.get(), "get() from a full buffer never returned.")
        checks.equal(got, "a", "get() from a BoundedBuffer(1) holding 'a'")
        putters[0].cancel()  # woken by the get, perhaps, but cancelled before it could run
        await asyncio.wait(putters, timeout=10)
        raise_unexpected(*putters)
        if not putters[1].done() and len(buffer) == 0:
            fail(
                "two put()s ('b', then 'c') waited on a full BoundedBuffer(1), get() took its "
                "item and put('b') was cancelled straight after it: after 10 s put('c') still "
                "waited, though the buffer was empty. " + LOST_WAKE_UP.format(side="get()")
            )
        expected = ["b"] if not putters[0].cancelled() else ["c"]
        rest = [await checks.within(10, buffer.get(), "get() never returned.")]
        checks.equal(
            rest,
            expected,
            "Two put()s waiting on a full buffer, get(), the first put() cancelled at once: "
            "what the buffer then held",
        )
    finally:
        await settle(putters, 0)


@pytest.mark.task(4)
@pytest.mark.loop_limit(3 * DAY)
async def test_a_get_and_a_put_wait_a_day_if_need_be():
    buffer = sync.BoundedBuffer(1)
    log: list = []
    task = asyncio.create_task(record_get(buffer, log, "consumer"))
    try:
        await asyncio.sleep(DAY)
        if task.done() and not task.cancelled() and task.exception() is not None:
            check_time_limit(task.exception(), "A get() waiting a day for an item")
        raise_unexpected(task)
        await buffer.put("late")
        await buffer.put("full")
        putting = asyncio.create_task(buffer.put("later"))
        await asyncio.sleep(DAY)
        if putting.done() and not putting.cancelled() and putting.exception() is not None:
            check_time_limit(putting.exception(), "A put() waiting a day for room")
        raise_unexpected(task, putting)
        checks.equal(await buffer.get(), "full", "After a day, get()")
        await checks.within(10, putting, "A put() waiting a day for room never returned.")
        checks.equal(log, [("consumer", "late", float(DAY))], "A get() waiting a day")
    finally:
        await settle([task], 0)


def buffer_oracle(capacity: int, puts: list[float], gets: list[float]):
    """When each put() and get() returns (sorted), first come first served. The k-th put is
    accepted once it is asked and the (k - capacity)-th get has made room; the k-th get returns
    once it is asked and the k-th item is in. Puts and gets that can never go on are left out."""
    accepted, got = [], []
    for k, asked in enumerate(puts):
        if k >= capacity:
            if k - capacity >= len(got):
                break
            ready = max(asked, got[k - capacity])
        else:
            ready = asked
        accepted.append(ready)
        if k < len(gets):
            got.append(max(gets[k], ready))
    return accepted, got


EVENTS = st.lists(
    st.tuples(st.sampled_from(["put", "get"]), st.sampled_from([0, 1, 2.5, 10_000])),
    max_size=7,
)


@pytest.mark.task(4)
@pytest.mark.loop_limit(10**6)
# Two get()s waiting, then two put()s: a notify() that wakes a waiter of the wrong kind sticks.
@example(capacity=1, events=[("get", 0), ("get", 0), ("put", 1), ("put", 1)])
@scenarios.given(capacity=st.integers(1, 3), events=EVENTS)
async def test_buffer_in_any_scenario(capacity, events):
    scene = f"A BoundedBuffer({capacity}), calls (what, when) {events!r}"
    scenarios.describe(scene)
    buffer = sync.BoundedBuffer(capacity)
    t0 = now()
    items = {k: ([] if k % 2 else [k]) for k, (what, _) in enumerate(events) if what == "put"}
    puts_done: list = []
    gets_done: list = []
    most = [0]

    async def call(k: int, what: str, at: float):
        await asyncio.sleep(at)
        if what == "put":
            await buffer.put(items[k])
            puts_done.append(round(now() - t0, 6))
        else:
            item = await buffer.get()
            gets_done.append((round(now() - t0, 6), item))
        most[0] = max(most[0], len(buffer))

    order = sorted(range(len(events)), key=lambda k: events[k][1])
    tasks = [asyncio.create_task(call(k, *events[k])) for k in order]
    try:
        await asyncio.wait(
            tasks, timeout=max((at for _, at in events), default=0) + 100
        ) if tasks else None
        raise_unexpected(*tasks)
    finally:
        await settle(tasks, 0)
    if most[0] > capacity:
        fail(f"{scene}: the buffer held {most[0]} items at once; expected at most {capacity}.")
    puts = sorted(at for what, at in events if what == "put")
    gets = sorted(at for what, at in events if what == "get")
    accepted, got = buffer_oracle(capacity, [float(p) for p in puts], [float(g) for g in gets])
    checks.equal(
        sorted(at for at, _ in gets_done),
        got,
        f"{scene}: when the get()s that could go on returned",
        "A get() returns the moment an item is there for it (and waits on when another took it).",
    )
    checks.equal(
        sorted(puts_done),
        accepted,
        f"{scene}: when the put()s that could go on returned",
        "A put() returns at once while there is room, or the moment a get() makes some.",
    )
    taken = [id(item) for _, item in gets_done]
    if len(set(taken)) != len(taken) or not set(taken) <= {id(i) for i in items.values()}:
        fail(
            f"{scene}: the get()s returned {[i for _, i in gets_done]!r}: every item put must "
            "be got exactly once."
        )
    check_len(buffer, len(accepted) - len(got), f"{scene}: at the end")


# Task 5: in_rounds()


class Crew:
    """Fake workers. Worker i takes times[i][r] s in round r and gives values[i][r] (f"w{i}r{r}"
    unless given), or raises the error given for (i, r). Every call is recorded (worker,
    round, began, ended, how) in loop time from when the Crew was made."""

    def __init__(self, times, values=None, errors=None) -> None:
        self.t0 = now()
        self.times = times
        self.values = values
        self.errors = errors or {}
        self.calls: list[dict] = []
        self.workers = [self.worker(i) for i in range(len(times))]

    def since(self) -> float:
        return round(now() - self.t0, 6)

    def worker(self, i: int):
        def work(r):
            call = {"worker": i, "round": r, "began": None, "ended": None, "how": None}
            self.calls.append(call)
            return self.worker_round(i, r, call)

        work.__name__ = work.__qualname__ = f"worker_{i}"
        return work

    async def worker_round(self, i: int, r: int, call: dict):
        call["began"] = self.since()
        try:
            await asyncio.sleep(self.times[i][r])
            if (i, r) in self.errors:
                raise self.errors[(i, r)]
        except BaseException as exc:
            call["ended"], call["how"] = self.since(), type(exc).__name__
            raise
        call["ended"], call["how"] = self.since(), "ok"
        return self.values[i][r] if self.values is not None else f"w{i}r{r}"

    def began(self) -> list:
        return sorted((c["worker"], c["round"], c["began"]) for c in self.calls)


def round_starts(times, rounds: int) -> list[float]:
    """The oracle: round r begins for everyone when the slowest has finished round r - 1."""
    starts, t = [], 0.0
    for r in range(rounds):
        starts.append(t)
        t += max((times[i][r] for i in range(len(times))), default=0)
    return starts


def expected_began(times, rounds: int, upto: int | None = None) -> list:
    starts = round_starts(times, rounds)
    last = rounds if upto is None else upto + 1
    return sorted((i, r, starts[r]) for i in range(len(times)) for r in range(last))


def lockstep_hint(crew: Crew, rounds: int | None = None) -> Callable:
    def hint(got) -> str:
        seen = sorted({c["round"] for c in crew.calls})
        if rounds is not None and seen != list(range(rounds)):
            return (
                f"The workers were called for rounds {seen}; expected rounds 0 to "
                f"{rounds - 1}, {rounds} of them. Likely: the loop over the rounds is off by "
                "one (`range(rounds - 1)`, `range(1, rounds)`); use `for r in range(rounds)`."
            )
        ends = {(c["worker"], c["round"]): c["ended"] for c in crew.calls}
        firsts = sorted((c["began"], c["worker"]) for c in crew.calls if c["round"] == 0)
        if firsts and firsts[0][0] != firsts[-1][0]:
            return (
                f"The workers did not begin at once: worker {firsts[-1][1]} began round 0 at "
                f"{firsts[-1][0]:g} s, worker {firsts[0][1]} at {firsts[0][0]:g} s. Run every "
                "worker in its own task, all started together (a TaskGroup)."
            )
        for c in sorted(crew.calls, key=lambda c: c["began"]):
            r = c["round"]
            if r == 0:
                continue
            later = [
                (i, e)
                for (i, rr), e in ends.items()
                if rr == r - 1 and e is not None and e > c["began"]
            ]
            if later:
                i, e = later[0]
                return (
                    f"Worker {c['worker']} began round {r} at {c['began']:g} s, while worker {i} "
                    f"was still in round {r - 1} until {e:g} s: each worker must wait at the "
                    "barrier (`await barrier.wait()`) until every worker has finished the round."
                )
        return "Every worker begins a round when the slowest has finished the round before."

    return hint


async def run_rounds(crew: Crew, workers, rounds: int, seconds: float = 100):
    """in_rounds(workers, rounds), failing with what the crew shows if it never ends."""
    task = asyncio.ensure_future(sync.in_rounds(workers, rounds))
    await asyncio.wait([task], timeout=seconds)
    if task.done():
        return task.result()
    task.cancel()
    await settle([task], 10)
    last = max((c["round"] for c in crew.calls), default=None)
    ended = [c["ended"] for c in crew.calls if c["round"] == last]
    everyone = {c["worker"] for c in crew.calls if c["round"] == last} == set(
        range(len(crew.times))
    )
    if (
        last is not None
        and everyone
        and all(c["how"] == "ok" for c in crew.calls if c["round"] == last)
    ):
        after = f"none began round {last + 1}" if last + 1 < rounds else "it was the last round"
        fail(
            f"in_rounds() of {len(workers)} workers, {rounds} rounds, never ended: by "
            f"{max(ended):g} s every worker had finished round {last}, {after}, and at "
            f"{seconds:g} s they were all still waiting at the barrier for a party that never "
            "came. Likely: a Barrier with more parties than workers (`Barrier(len(workers) + "
            "1)`), or one made in each worker's task (each then waits alone at its own). Make "
            "one asyncio.Barrier(len(workers)) in in_rounds(), before starting the tasks."
        )
    fail(
        f"in_rounds() of {len(workers)} workers, {rounds} rounds, never ended (after "
        f"{seconds:g} s); the workers' calls were {crew.began()} (worker, round, when it began)."
    )


@pytest.mark.task(5)
async def test_in_rounds_meets_after_every_round(looptime):
    times = [[1, 2, 1], [3, 1, 1], [2, 1, 4]]  # worker i, round r
    crew = Crew(times)
    results = await run_rounds(crew, crew.workers, 3)
    checks.equal(
        crew.began(),
        expected_began(times, 3),
        "Three workers taking [1, 2, 1], [3, 1, 1] and [2, 1, 4] s: (worker, round, when it "
        "began); rounds begin at 0, 3 and 5 s",
        lockstep_hint(crew, 3),
    )
    if not isinstance(results, list) or not all(isinstance(row, list) for row in results):
        fail(f"in_rounds() returned {results!r}; expected a list with one list per round.")
    if len(results) == 3 and len({id(row) for row in results}) < 3:
        fail(
            "in_rounds() returned one and the same list for several rounds, so every round "
            f"shows the same results: {results!r}. Likely: `[[None] * n] * rounds`, which "
            "repeats one list; make a new list per round (`[[None] * n for _ in range(rounds)]`)."
        )
    checks.equal(
        results,
        [["w0r0", "w1r0", "w2r0"], ["w0r1", "w1r1", "w2r1"], ["w0r2", "w1r2", "w2r2"]],
        "What in_rounds() returned: results[r][i] is worker i's result in round r",
        lambda got: (
            "That is results[i][r]: make one list per round, each holding every worker's result."
            if got == [["w0r0", "w0r1", "w0r2"], ["w1r0", "w1r1", "w1r2"], ["w2r0", "w2r1", "w2r2"]]
            else "Each round holds the right results in another order: put each at its worker's "
            "place (results[r][i]), not in the order they finish."
            if isinstance(got, list)
            and len(got) == 3
            and all(
                checks.same_items(row, [f"w{i}r{r}" for i in range(3)]) for r, row in enumerate(got)
            )
            else ""
        ),
    )
    checks.took(looptime, 3 + 2 + 4, "Three rounds whose slowest workers take 3, 2 and 4 s")


@pytest.mark.task(5)
async def test_in_rounds_of_no_workers_or_no_rounds():
    try:
        got = await checks.within(10, sync.in_rounds([], 3), "in_rounds([], 3) never ended.")
    except ValueError as exc:
        fail(
            f"in_rounds([], 3) raised {exc!r}: asyncio.Barrier(0) is refused. With no workers "
            "nobody has anyone to meet: return [[], [], []] before making the barrier."
        )
    checks.equal(got, [[], [], []], "in_rounds([], 3)", "One empty list per round.")
    crew = Crew([[1], [1]])
    got = await checks.within(
        10, sync.in_rounds(crew.workers, 0), "in_rounds(workers, 0) never ended."
    )
    checks.equal(got, [], "in_rounds(workers, 0)", "No rounds: no lists.")
    checks.equal(crew.calls, [], "in_rounds(workers, 0): worker calls", "No rounds: no calls.")


@pytest.mark.task(5)
async def test_in_rounds_runs_a_worker_given_twice_twice_and_leaves_workers_unchanged():
    crew = Crew([[1, 1], [2, 2]], values=[[0, None], ["", []]])
    workers = [crew.workers[0], crew.workers[1], crew.workers[0]]
    before = list(workers)
    results = await run_rounds(crew, workers, 2)
    if workers != before:
        fail("in_rounds() changed the caller's workers list; leave it unchanged.")
    checks.equal(
        sorted((c["worker"], c["round"]) for c in crew.calls),
        [(0, 0), (0, 0), (0, 1), (0, 1), (1, 0), (1, 1)],
        "Workers [w0, w1, w0] for 2 rounds: (worker, round) of each call",
        lambda got: (
            lockstep_hint(crew, 2)(got)
            if sorted({c["round"] for c in crew.calls}) != [0, 1]
            else "A worker given twice runs twice a round: a task per place in the list."
        ),
    )

    def place_hint(got) -> str:
        expected = [[0, "", 0], [None, [], None]]
        if (
            isinstance(got, list)
            and len(got) == 2
            and all(isinstance(row, list) and len(row) == 3 for row in got)
            and all(row[:2] == want[:2] for row, want in zip(got, expected, strict=True))
            and got[0][2] is None
        ):
            return (
                "The third place, w0 given a second time, was left None while w0's first place "
                "has its results. Likely: the place found with workers.index(worker), which "
                "gives a worker given twice its first place both times; number the places with "
                "enumerate(workers) instead."
            )
        return "Keep every result, false ones too, at its worker's place."

    checks.equal(
        results,
        [[0, "", 0], [None, [], None]],
        "Workers [w0, w1, w0] giving 0/None and ''/[]: what in_rounds() returned",
        place_hint,
    )
    checks.equal(crew.since(), 4.0, "Two rounds whose slowest takes 2 s: done at")


@pytest.mark.task(5)
@pytest.mark.parametrize(
    "times_a, times_b",
    [
        ([[1, 1], [2, 2]], [[3, 1], [1, 1], [1, 5]]),  # 2 workers and 3
        ([[1, 1], [3, 3]], [[2, 2], [4, 4]]),  # 2 and 2: a barrier kept by size is shared
    ],
    ids=["2_and_3_workers", "2_and_2_workers"],
)
async def test_two_in_rounds_at_once_keep_their_own_barriers(times_a, times_b):
    a, b = Crew(times_a), Crew(times_b)
    got = await checks.within(
        100,
        asyncio.gather(sync.in_rounds(a.workers, 2), sync.in_rounds(b.workers, 2)),
        f"Two in_rounds() at once ({len(times_a)} workers and {len(times_b)}) never both "
        "ended: their workers waited for each other. Likely: one barrier shared by every call "
        "(made at module level, kept in a global, or kept by its number of workers); make it "
        "inside in_rounds(), one for each call.",
    )
    for crew, times, name in ((a, times_a, "first"), (b, times_b, "second")):
        checks.equal(
            crew.began(),
            expected_began(times, 2),
            f"Two in_rounds() at once, the {name}'s workers: (worker, round, when it began)",
            lambda got, crew=crew: (
                lockstep_hint(crew, 2)(got)
                + (
                    " Each in_rounds() call meets at its own Barrier, made inside it (not one "
                    "kept at module level or by its number of workers)."
                    if sorted({c["round"] for c in crew.calls}) == [0, 1]
                    else ""
                )
            ),
        )
    checks.equal(got[0], [["w0r0", "w1r0"], ["w0r1", "w1r1"]], "The first in_rounds()'s results")


@pytest.mark.task(5)
async def test_in_rounds_stops_the_others_when_a_worker_fails():
    error = Boom("worker 1 fell over")
    times = [[1, 1, 1], [1, 2, 1], [1, 5, 1]]
    crew = Crew(times, errors={(1, 1): error})
    task = asyncio.create_task(sync.in_rounds(crew.workers, 3))
    await settle([task], 100)
    if not task.done() or task.cancelled() or task.exception() is None:
        fail(
            f"worker 1 raised {error!r} in round 1 (at 3 s), and in_rounds() "
            f"{how_it_ended(task)}; expected it to raise an ExceptionGroup holding the error."
            + (
                " Likely: the others were left waiting at the barrier for a worker that will "
                "never come: cancel them (a TaskGroup does)."
                if not task.done()
                else ""
            )
        )
    exc = task.exception()
    if exc is error:
        fail(
            f"worker 1 raised {error!r} in round 1, and in_rounds() raised it bare: expected "
            "an ExceptionGroup holding it, with the other workers cancelled, as "
            "asyncio.TaskGroup does (asyncio.gather leaves the others running, and waiting at "
            "the barrier)."
        )
    if not isinstance(exc, BaseExceptionGroup) or not any(e is error for e in leaves(exc)):
        raise exc
    others = [e for e in leaves(exc) if e is not error]
    if any(not isinstance(e, asyncio.BrokenBarrierError) for e in others):
        raise next(e for e in others if not isinstance(e, asyncio.BrokenBarrierError))
    checks.equal(
        sorted((c["worker"], c["round"], c["ended"], c["how"]) for c in crew.calls),
        [
            (0, 0, 1.0, "ok"),
            (0, 1, 2.0, "ok"),
            (1, 0, 1.0, "ok"),
            (1, 1, 3.0, "Boom"),
            (2, 0, 1.0, "ok"),
            (2, 1, 3.0, "CancelledError"),
        ],
        "Worker 1 raising in round 1 at 3 s: (worker, round, when it ended, how)",
        "When a worker raises, the others are cancelled at that moment, and no one begins "
        "another round.",
    )
    checks.equal(crew.since(), 3.0, "Worker 1 raising at 3 s: in_rounds() raised at")


@pytest.mark.task(5)
async def test_cancelling_in_rounds_cancels_every_worker():
    crew = Crew([[1, 1], [2, 2], [3, 3]])
    task = asyncio.create_task(sync.in_rounds(crew.workers, 2))
    await asyncio.sleep(2.5)
    task.cancel()
    await settle([task], 10)
    raise_unexpected(task)
    await asyncio.sleep(10)
    if not task.cancelled():
        fail(f"in_rounds() cancelled at 2.5 s {how_it_ended(task)}; expected it to end cancelled.")
    checks.equal(
        sorted((c["worker"], c["round"], c["ended"], c["how"]) for c in crew.calls),
        [(0, 0, 1.0, "ok"), (1, 0, 2.0, "ok"), (2, 0, 2.5, "CancelledError")],
        "Workers of 1, 2 and 3 s, in_rounds() cancelled at 2.5 s: (worker, round, when it "
        "ended, how)",
        "Cancelled, in_rounds() cancels every worker's task: none goes on to another round.",
    )


@pytest.mark.task(5)
@pytest.mark.loop_limit(5 * DAY)
async def test_in_rounds_waits_a_day_for_a_slow_round():
    crew = Crew([[DAY, 1], [1, 1]])
    try:
        results = await sync.in_rounds(crew.workers, 2)
    except BaseException as exc:
        for e in leaves(exc):
            check_time_limit(e, "in_rounds() with a day-long round")
        raise
    checks.equal(results, [["w0r0", "w1r0"], ["w0r1", "w1r1"]], "A day-long round: results")
    checks.equal(crew.began(), expected_began([[DAY, 1], [1, 1]], 2), "A day-long round: began")


TIMES = st.sampled_from([0, 1, 2.5, 10_000])


@pytest.mark.task(5)
@pytest.mark.loop_limit(10**6)
@scenarios.given(
    shape=st.tuples(st.integers(0, 3), st.integers(0, 3)).flatmap(
        lambda nr: st.tuples(
            st.just(nr[1]),
            st.lists(
                st.lists(TIMES, min_size=nr[1], max_size=nr[1]), min_size=nr[0], max_size=nr[0]
            ),
        )
    ),
    data=st.data(),
)
async def test_in_rounds_in_any_scenario(shape, data):
    rounds, times = shape
    cells = [(i, r) for i in range(len(times)) for r in range(rounds)]
    failing = data.draw(st.sampled_from([None, *cells]))
    scene = f"Workers taking {times} s (worker, then round), {rounds} round(s)" + (
        f", worker {failing[0]} raising in round {failing[1]}" if failing else ""
    )
    scenarios.describe(scene)
    error = Boom("worker fell over")
    crew = Crew(times, errors={failing: error} if failing else None)
    task = asyncio.create_task(sync.in_rounds(crew.workers, rounds))
    await settle([task], 10**5)
    starts = round_starts(times, rounds)
    if failing is None:
        raise_unexpected(task)
        if not task.done() or task.cancelled():
            fail(f"{scene}: in_rounds() {how_it_ended(task)}; expected it to return.")
        checks.equal(
            crew.began(),
            expected_began(times, rounds),
            f"{scene}: (worker, round, when it began)",
            lockstep_hint(crew, rounds),
        )
        checks.equal(
            task.result(),
            [[f"w{i}r{r}" for i in range(len(times))] for r in range(rounds)],
            f"{scene}: what in_rounds() returned",
        )
        checks.equal(
            crew.since(),
            sum(max((t[r] for t in times), default=0) for r in range(rounds)),
            f"{scene}: done at",
        )
        return
    i, r = failing
    raised_at = starts[r] + times[i][r]
    exc = task.exception() if task.done() and not task.cancelled() else None
    if exc is None or exc is error or not any(e is error for e in leaves(exc)):
        if exc is not None and exc is not error and not isinstance(exc, BaseExceptionGroup):
            raise exc
        fail(
            f"{scene}: in_rounds() {how_it_ended(task)}; expected an ExceptionGroup holding "
            "the worker's error."
        )
    checks.equal(
        crew.began(),
        expected_began(times, rounds, upto=r),
        f"{scene}: (worker, round, when it began)",
        lambda got: lockstep_hint(crew)(got) + " No one begins a round after a worker has raised.",
    )
    still = [c for c in crew.calls if c["ended"] is not None and c["ended"] > raised_at]
    if still:
        fail(f"{scene}: worker calls ran on after the error at {raised_at:g} s: {still}.")
