"""Exercise 15, another right answer: an asyncio.Condition used as the account's lock; a start
signal as a flag and one shared Future, shielded from cancelled waiters; race() waiting for the
signal itself, then starting every runner; a Downloader that hands each freed place to the
longest waiting get() (a deque of Futures); the buffer as an asyncio.Queue(maxsize) (the tests
check behaviour, not the tool); in_rounds() meeting at the Barrier before each round, aborting
it when a worker fails."""

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
        self.ledger = ledger
        self.notify = notify
        self.balance = balance
        self.guard = asyncio.Condition()

    async def deposit(self, amount: int) -> int:
        async with self.guard:
            old = self.balance
            await self.ledger(old, old + amount)
            self.balance = old + amount
            new = self.balance
        await self.notify(new)
        return new

    async def withdraw(self, amount: int) -> int:
        async with self.guard:
            old = self.balance
            if old - amount < 0:
                raise Overdrawn(amount, old)
            await self.ledger(old, old - amount)
            self.balance = new = old - amount
        await self.notify(new)
        return new


class StartSignal:
    def __init__(self) -> None:
        self.given = False
        self.future: asyncio.Future | None = None

    async def wait(self) -> None:
        if self.given:
            return
        if self.future is None:
            self.future = asyncio.get_running_loop().create_future()
        await asyncio.shield(self.future)  # a cancelled waiter leaves the Future alone

    def give(self) -> None:
        self.given = True
        if self.future is not None and not self.future.done():
            self.future.set_result(None)

    def is_given(self) -> bool:
        return self.given


async def race(signal: StartSignal, runners: Sequence[Callable[[], Awaitable[Any]]]) -> list[Any]:
    if not runners:
        return []
    async with asyncio.TaskGroup() as tg:
        await signal.wait()
        tasks = [tg.create_task(runner()) for runner in runners]
    return [task.result() for task in tasks]


class Downloader:
    def __init__(self, fetch: Callable[[str], Awaitable[Any]], limit: int) -> None:
        self.fetch = fetch
        self.free = limit
        self.waiting: deque[asyncio.Future] = deque()  # first come, first served

    def hand_on(self) -> None:
        """Give a freed place to the longest waiting get(), or keep it free."""
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_result(None)
                return
        self.free += 1

    async def get(self, url: str) -> Any:
        if self.free and not self.waiting:
            self.free -= 1
        else:
            future = asyncio.get_running_loop().create_future()
            self.waiting.append(future)
            try:
                await future
            except asyncio.CancelledError:
                if future.done() and not future.cancelled():
                    self.hand_on()  # given a place, then cancelled: pass it on
                elif future in self.waiting:
                    self.waiting.remove(future)
                raise
        try:
            return await self.fetch(url)
        finally:
            self.hand_on()

    async def get_all(self, urls: Sequence[str]) -> list[Any]:
        return await asyncio.gather(*map(self.get, urls), return_exceptions=True)


class BoundedBuffer:
    def __init__(self, capacity: int) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=capacity)

    async def put(self, item: Any) -> None:
        await self.queue.put(item)

    async def get(self) -> Any:
        return await self.queue.get()

    def __len__(self) -> int:
        return self.queue.qsize()


async def in_rounds(
    workers: Sequence[Callable[[int], Awaitable[Any]]], rounds: int
) -> list[list[Any]]:
    results: list[list[Any]] = [[None for _ in workers] for _ in range(rounds)]
    if len(workers) == 0:
        return results
    barrier = asyncio.Barrier(len(workers))

    async def work(i: int) -> None:
        try:
            for r in range(rounds):
                await barrier.wait()  # everyone begins the round together
                results[r][i] = await workers[i](r)
        except Exception:
            await barrier.abort()  # nobody waits for me any more
            raise

    async with asyncio.TaskGroup() as tg:
        for i in range(len(workers)):
            tg.create_task(work(i))
    return results
