"""Exercise 15, another right answer: a Semaphore(1) as the account's lock (acquired and
released by hand, in try/finally); a start signal built from a flag and a Future per waiter
(give() skips the cancelled ones); race() with gather, cancelling the rest and grouping the
error itself; get_all() as a TaskGroup whose tasks catch their own errors; a buffer with two
Conditions on one Lock and notify_all(); in_rounds() as a TaskGroup per round, with no Barrier."""

import asyncio
from collections import deque
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
        self.ledger, self.notify, self.balance = ledger, notify, balance
        self.turn = asyncio.Semaphore(1)

    async def change(self, amount: int) -> int:
        await self.turn.acquire()
        try:
            new = self.balance + amount
            if new < 0:
                raise Overdrawn(f"the balance is only {self.balance}")
            await self.ledger(self.balance, new)
            self.balance = new
        finally:
            self.turn.release()
        await self.notify(new)
        return new

    async def deposit(self, amount: int) -> int:
        return await self.change(amount)

    async def withdraw(self, amount: int) -> int:
        return await self.change(-amount)


class StartSignal:
    def __init__(self) -> None:
        self.given = False
        self.waiting: list[asyncio.Future] = []

    async def wait(self) -> None:
        if self.given:
            return
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        try:
            await future
        finally:
            self.waiting.remove(future)

    def give(self) -> None:
        self.given = True
        for future in self.waiting:
            if not future.done():
                future.set_result(None)

    def is_given(self) -> bool:
        return self.given


async def race(signal: StartSignal, runners: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    async def run(runner: Callable[[], Awaitable[Any]]) -> Any:
        await signal.wait()
        return await runner()

    tasks = [asyncio.create_task(run(runner)) for runner in runners]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException as exc:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if isinstance(exc, Exception):
            raise ExceptionGroup("a runner failed", [exc]) from None
        raise


class Downloader:
    def __init__(self, fetch: Callable[[str], Awaitable[Any]], limit: int) -> None:
        self.fetch = fetch
        self.places = asyncio.BoundedSemaphore(limit)

    async def get(self, url: str) -> Any:
        await self.places.acquire()
        try:
            return await self.fetch(url)
        finally:
            self.places.release()

    async def get_all(self, urls: Sequence[str]) -> list[Any]:
        async def one(url: str) -> Any:
            try:
                return await self.get(url)
            except Exception as exc:
                return exc

        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(one(url)) for url in urls]
        return [task.result() for task in tasks]


class BoundedBuffer:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: deque[Any] = deque()
        lock = asyncio.Lock()
        self.not_full = asyncio.Condition(lock)
        self.not_empty = asyncio.Condition(lock)

    async def put(self, item: Any) -> None:
        async with self.not_full:
            while len(self.items) >= self.capacity:
                await self.not_full.wait()
            self.items.append(item)
            self.not_empty.notify_all()

    async def get(self) -> Any:
        async with self.not_empty:
            while not self.items:
                await self.not_empty.wait()
            item = self.items.popleft()
            self.not_full.notify_all()
            return item

    def __len__(self) -> int:
        return len(self.items)


async def in_rounds(
    workers: Sequence[Callable[[int], Awaitable[Any]]], rounds: int
) -> list[list[Any]]:
    results = []
    for r in range(rounds):
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(worker(r)) for worker in workers]
        results.append([task.result() for task in tasks])
    return results
