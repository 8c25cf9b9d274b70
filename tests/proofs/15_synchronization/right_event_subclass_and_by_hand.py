"""Exercise 15, another right answer: the lock taken by hand in try/finally; StartSignal as a
subclass of asyncio.Event; race() with asyncio.wait(FIRST_EXCEPTION) and the cancelling done
by hand; a plain list and one Condition with `while` loops for the buffer; in_rounds() whose
workers each return their own results, put together by round at the end."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any


class Overdrawn(Exception):
    """What Account.withdraw() raises when the account holds less than the amount asked."""


class Account:
    def __init__(
        self,
        ledger: Callable[[int, int], Awaitable[None]],
        notify: Callable[[int], Awaitable[None]],
        balance: int = 0,
    ) -> None:
        self.ledger = ledger
        self.notify = notify
        self.balance = balance
        self._lock = asyncio.Lock()

    async def _apply(self, new_balance: Callable[[int], int]) -> int:
        await self._lock.acquire()
        try:
            new = new_balance(self.balance)
            await self.ledger(self.balance, new)
            self.balance = new
        finally:
            self._lock.release()
        await self.notify(new)
        return new

    async def deposit(self, amount: int) -> int:
        return await self._apply(lambda balance: balance + amount)

    async def withdraw(self, amount: int) -> int:
        def take(balance: int) -> int:
            if amount > balance:
                raise Overdrawn(amount)
            return balance - amount

        return await self._apply(take)


class StartSignal(asyncio.Event):
    def give(self) -> None:
        self.set()

    def is_given(self) -> bool:
        return self.is_set()


async def race(signal: StartSignal, runners: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    async def run(runner):
        await signal.wait()
        return await runner()

    tasks = [asyncio.ensure_future(run(runner)) for runner in runners]
    if not tasks:
        return []
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
    errors = [t.exception() for t in tasks if not t.cancelled() and t.exception() is not None]
    if errors:
        raise ExceptionGroup("a runner failed", errors)
    return [task.result() for task in tasks]


class Downloader:
    def __init__(self, fetch: Callable[[str], Awaitable[Any]], limit: int) -> None:
        self._fetch = fetch
        self._sem = asyncio.Semaphore(limit)

    async def get(self, url: str) -> Any:
        await self._sem.acquire()
        try:
            page = await self._fetch(url)
        finally:
            self._sem.release()
        return page

    async def get_all(self, urls: Sequence[str]) -> list[Any]:
        jobs = [asyncio.ensure_future(self.get(url)) for url in urls]
        try:
            if jobs:
                await asyncio.wait(jobs)
        finally:
            for job in jobs:
                job.cancel()
        return [job.exception() or job.result() for job in jobs]


class BoundedBuffer:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: list[Any] = []
        self._cond = asyncio.Condition()

    async def put(self, item: Any) -> None:
        async with self._cond:
            while len(self._items) == self._capacity:
                await self._cond.wait()
            self._items.append(item)
            self._cond.notify_all()

    async def get(self) -> Any:
        async with self._cond:
            while len(self._items) == 0:
                await self._cond.wait()
            self._cond.notify_all()
            return self._items.pop(0)

    def __len__(self) -> int:
        return len(self._items)


async def in_rounds(
    workers: Sequence[Callable[[int], Awaitable[Any]]], rounds: int
) -> list[list[Any]]:
    if not workers:
        return [[] for _ in range(rounds)]
    barrier = asyncio.Barrier(len(workers))

    async def work(worker) -> list[Any]:
        mine = []
        for r in range(rounds):
            mine.append(await worker(r))
            await barrier.wait()
        return mine

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(work(worker)) for worker in workers]
    per_worker = [task.result() for task in tasks]
    return [[per_worker[i][r] for i in range(len(workers))] for r in range(rounds)]
