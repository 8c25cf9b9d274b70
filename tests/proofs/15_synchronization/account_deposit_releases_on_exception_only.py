"""Exercise 15, a wrong answer: deposit() takes the lock by hand and frees it in `except
Exception:` and after the record: a deposit cancelled while recording (a CancelledError is a
BaseException) never frees it. withdraw() is right."""

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


class Overdrawn(Exception):
    """What Account.withdraw() raises when the account holds less than the amount asked."""


class Account:
    """Task 1. A bank account that many tasks may use at once."""

    def __init__(
        self,
        ledger: Callable[[int, int], Awaitable[None]],
        notify: Callable[[int], Awaitable[None]],
        balance: int = 0,
    ) -> None:
        self.ledger = ledger
        self.notify = notify
        self.balance = balance
        self.lock = asyncio.Lock()  # one per account: two accounts never wait for each other

    async def deposit(self, amount: int) -> int:
        """Add `amount`, record it first, notify after; return the new balance."""
        await self.lock.acquire()
        try:
            new = self.balance + amount
            await self.ledger(self.balance, new)
            self.balance = new
        except Exception:
            self.lock.release()
            raise
        self.lock.release()
        await self.notify(new)
        return new

    async def withdraw(self, amount: int) -> int:
        """Take `amount` out unless that would overdraw; return the new balance."""
        async with self.lock:
            if amount > self.balance:  # checked when this withdrawal holds the lock
                raise Overdrawn(f"cannot take {amount} out of {self.balance}")
            new = self.balance - amount
            await self.ledger(self.balance, new)
            self.balance = new
        await self.notify(new)
        return new


class StartSignal:
    """Task 2. A start signal: one Event that every waiter shares."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def wait(self) -> None:
        """Wait until the signal has been given (at once if it has been)."""
        await self.event.wait()

    def give(self) -> None:
        """Set off every waiter now, and every later one at once."""
        self.event.set()

    def is_given(self) -> bool:
        """Whether the signal has been given yet."""
        return self.event.is_set()


async def race(signal: StartSignal, runners: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Task 2. Every runner in its own task, each called when `signal` is given."""

    async def run(runner: Callable[[], Awaitable[Any]]) -> Any:
        await signal.wait()
        return await runner()

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(run(runner)) for runner in runners]
    return [task.result() for task in tasks]


class Downloader:
    """Task 3. Fetches pages with `fetch`, at most `limit` at a time."""

    def __init__(self, fetch: Callable[[str], Awaitable[Any]], limit: int) -> None:
        self.fetch = fetch
        self.places = asyncio.Semaphore(limit)

    async def get(self, url: str) -> Any:
        """One fetch, once a place is free; the place is freed however the fetch ends."""
        async with self.places:
            return await self.fetch(url)

    async def get_all(self, urls: Sequence[str]) -> list[Any]:
        """Every url at once (each through get()), results or errors in order."""
        return list(await asyncio.gather(*(self.get(url) for url in urls), return_exceptions=True))


class BoundedBuffer:
    """Task 4. A FIFO buffer of at most `capacity` items, guarded by one Condition."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: deque[Any] = deque()
        self.changed = asyncio.Condition()

    async def put(self, item: Any) -> None:
        """Add `item` at the end, waiting while the buffer is full."""
        async with self.changed:
            await self.changed.wait_for(lambda: len(self.items) < self.capacity)
            self.items.append(item)
            self.changed.notify_all()  # wakes getters (and putters, who check and wait on)

    async def get(self) -> Any:
        """Take the first item out, waiting while the buffer is empty."""
        async with self.changed:
            await self.changed.wait_for(lambda: len(self.items) > 0)  # checked again when woken
            item = self.items.popleft()
            self.changed.notify_all()
            return item

    def __len__(self) -> int:
        return len(self.items)


async def in_rounds(
    workers: Sequence[Callable[[int], Awaitable[Any]]], rounds: int
) -> list[list[Any]]:
    """Task 5. Every worker in its own task, meeting at a Barrier after each round."""
    results: list[list[Any]] = [[None] * len(workers) for _ in range(rounds)]
    if not workers:
        return results  # asyncio.Barrier(0) is refused, and no one has anyone to meet
    barrier = asyncio.Barrier(len(workers))

    async def work(i: int, worker: Callable[[int], Awaitable[Any]]) -> None:
        for r in range(rounds):
            results[r][i] = await worker(r)
            await barrier.wait()

    async with asyncio.TaskGroup() as tg:
        for i, worker in enumerate(workers):
            tg.create_task(work(i, worker))
    return results
