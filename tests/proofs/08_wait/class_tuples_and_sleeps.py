"""Exercise 08, right: a helper class, as_completed, a FIRST_COMPLETED loop, list(...) of
generators, extra sleep(0)s, cleanup in the class's async context manager.
"""

import asyncio
from collections.abc import Awaitable, Callable


class _Race:
    def __init__(self, calls):
        self.tasks = [asyncio.create_task(call()) for call in calls]

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.stop(self.tasks)  # whatever happened: finished, failed or cancelled

    async def stop(self, tasks):
        tasks = [t for t in tasks if not t.done()]
        for t in tasks:
            t.cancel()
        for t in tasks:
            await asyncio.wait([t])


async def fastest_ip(services: list[Callable[[], Awaitable[str]]]) -> str:
    await asyncio.sleep(0)
    async with _Race(services) as race:
        for first in asyncio.as_completed(race.tasks):
            answer = await first
            break
    await asyncio.sleep(0)
    return answer


async def deploy_all(jobs: list[Callable[[], Awaitable[str]]]) -> list[str]:
    async with _Race(jobs) as race:
        remaining = set(race.tasks)
        while remaining:
            done, remaining = await asyncio.wait(remaining, return_when=asyncio.FIRST_COMPLETED)
            failed = [t for t in race.tasks if t in done and t.exception() is not None]
            if failed:
                raise failed[0].exception()
    return list(t.result() for t in race.tasks)


async def poll_services(
    services: dict[str, Callable[[], Awaitable[str]]], timeout: float
) -> tuple[dict[str, str], list[str]]:
    names = list(services)
    async with _Race(services.values()) as race:
        done, pending = await asyncio.wait(set(race.tasks), timeout=timeout)
    by_task = dict(zip(race.tasks, names, strict=True))
    answers = {by_task[t]: t.result() for t in done if not t.exception()}
    return answers, list(sorted(by_task[t] for t in pending))
