"""Exercise 15: synchronization. Read README.md, then replace each NotImplementedError."""

import asyncio  # noqa: F401 - you will need it
from collections import deque  # noqa: F401 - you may need it
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


class Overdrawn(Exception):
    """What Account.withdraw() raises when the account holds less than the amount asked."""


class Account:
    """Task 1. A bank account that many tasks may use at once.

    `balance` (an int attribute, `balance` to begin with) changes only in deposit() and
    withdraw(), and every change is written in the ledger *before* it is made: `await
    ledger(old, new)` (old is the balance the change starts from, new the balance it makes)
    must have returned before `self.balance` becomes `new`. If ledger() raises, or the call is
    cancelled while it waits, the balance stays as it was, nothing is notified, and the error
    goes on to the caller.

    Once the balance has changed, `await notify(new)` tells the customer. It is slow (it sends
    a letter) and has nothing to do with the balance: other deposits and withdrawals of the
    account must not wait for it. If it raises, the change stands and the error goes on.

    Changes are made one at a time, in the order they were asked: each one reads the balance
    the change asked before it has left. Two accounts never wait for each other.
    """

    def __init__(
        self,
        ledger: Callable[[int, int], Awaitable[None]],
        notify: Callable[[int], Awaitable[None]],
        balance: int = 0,
    ) -> None:
        raise NotImplementedError("keep ledger, notify and balance, and make this account's Lock")

    async def deposit(self, amount: int) -> int:
        """Add `amount` (0 or more): record it in the ledger, change the balance, notify the
        customer, and return the new balance this deposit made (an int)."""
        raise NotImplementedError("under the lock: read, await ledger(old, new), write; notify")

    async def withdraw(self, amount: int) -> int:
        """Take `amount` (0 or more) out, like deposit(), and return the new balance.

        If the balance is less than `amount` when this withdrawal's turn comes (after every
        change asked before it), raise Overdrawn: nothing is recorded or notified and the
        balance stays as it was. Taking out exactly the balance is allowed (it leaves 0)."""
        raise NotImplementedError("check the balance inside the lock, then change it as deposit")


class StartSignal:
    """Task 2. A start signal: any number of tasks wait for it, and one give() sets them all off
    at the same moment. Each StartSignal is its own: giving one sets off only its waiters."""

    def __init__(self) -> None:
        raise NotImplementedError("make the one asyncio.Event that every waiter shares")

    async def wait(self) -> None:
        """Wait until the signal has been given, however long that takes; if it already has
        been, return at once. A waiter that is cancelled leaves the others waiting."""
        raise NotImplementedError("wait on the signal's Event")

    def give(self) -> None:
        """Give the signal (a plain method, not async): every task waiting in wait() goes on,
        all at this same loop time, and every later wait() returns at once. Giving it again
        changes nothing."""
        raise NotImplementedError("set the Event (and never clear it)")

    def is_given(self) -> bool:
        """Whether the signal has been given yet."""
        raise NotImplementedError("return whether the Event is set")


async def race(signal: StartSignal, runners: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Task 2. Line the runners up and let them go together when `signal` is given.

    Start a task for every runner at once; each waits for the signal, then awaits `runner()`,
    so that no runner is called before the signal is given and every one is called at the
    moment it is (someone else gives it: race() never does). Return a new list of what each
    runner returned, in the order of `runners`, once all have finished. A runner given twice
    runs twice; with no runners, return [] at once. `runners` is left unchanged.

    If a runner raises, the others are cancelled and race() raises an ExceptionGroup holding
    that error, as asyncio.TaskGroup does. Cancelled, race() cancels every runner's task.
    """
    raise NotImplementedError("a TaskGroup of tasks that each await signal.wait(), then runner()")


class Downloader:
    """Task 3. Fetches pages with `fetch`, at most `limit` (1 or more) at a time.

    The limit is this Downloader's own and counts every fetch it makes, from get() and
    get_all() calls alike; two Downloaders never share their places.
    """

    def __init__(self, fetch: Callable[[str], Awaitable[Any]], limit: int) -> None:
        raise NotImplementedError("keep fetch and make this Downloader's Semaphore(limit)")

    async def get(self, url: str) -> Any:
        """Wait for a free place, `await fetch(url)` once, and return what it gave (anything:
        0, "" and None too). The place is freed the moment the fetch ends, however it ends
        (it returned, raised or was cancelled); an error goes on to the caller. Waiting
        fetches get places first come, first served, however long that takes."""
        raise NotImplementedError("async with the Semaphore: return await fetch(url)")

    async def get_all(self, urls: Sequence[str]) -> list[Any]:
        """get() every url at once and return a new list of their results, in the order of
        `urls`; a fetch that raised gives its exception object in its place, and the others
        go on (like asyncio.gather(..., return_exceptions=True)). A url given twice is
        fetched twice; no urls give []. `urls` is left unchanged. Cancelled, get_all() stops
        every fetch it started."""
        raise NotImplementedError("gather a get() of every url, return_exceptions=True")


class BoundedBuffer:
    """Task 4. A first-in, first-out buffer of at most `capacity` (1 or more) items, shared by
    producer tasks that put() and consumer tasks that get(). Write it with an
    asyncio.Condition. Each buffer keeps its own items."""

    def __init__(self, capacity: int) -> None:
        raise NotImplementedError("keep capacity, a deque of items and an asyncio.Condition")

    async def put(self, item: Any) -> None:
        """Add `item` (anything: 0, None and lists too) at the end. While the buffer is full,
        wait, however long it takes, until a get() makes room. A put() cancelled while it
        waits adds nothing."""
        raise NotImplementedError("with the Condition: wait_for room, append, notify_all()")

    async def get(self) -> Any:
        """Take the first item out and return it. While the buffer is empty, wait, however
        long it takes, until a put() gives one. Every item put is got exactly once, in the
        order put; a waiting get() that finds, once woken, that another took the item waits
        on. A get() cancelled while it waits takes nothing."""
        raise NotImplementedError("with the Condition: wait_for an item, popleft, notify_all()")

    def __len__(self) -> int:
        """How many items the buffer holds now."""
        raise NotImplementedError("return the number of items held")


async def in_rounds(
    workers: Sequence[Callable[[int], Awaitable[Any]]], rounds: int
) -> list[list[Any]]:
    """Task 5. Run every worker at once, each in its own task, in lock step.

    Worker i awaits `workers[i](r)` for round r = 0, 1, ..., rounds - 1, one round after
    another, and no worker begins round r + 1 until every worker has finished round r: they
    meet at an asyncio.Barrier after each round, so every round begins for all of them at the
    same loop time, however long the slowest takes. Return `results`, a new list with one new
    list per round: `results[r][i]` is what `workers[i](r)` returned. No workers give `rounds`
    empty lists; 0 rounds give []. A worker given twice runs twice a round. `workers` is left
    unchanged.

    If a worker raises, the others are cancelled (no one is left waiting at the barrier or
    begins another round) and in_rounds() raises an ExceptionGroup holding that error, as
    asyncio.TaskGroup does. Cancelled, in_rounds() cancels every worker's task.
    """
    raise NotImplementedError("a Barrier(len(workers)) that each worker's task waits at per round")
